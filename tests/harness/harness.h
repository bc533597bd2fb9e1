/* Self-registering tests. TEST(name) { ... } defines a test that returns 0
 * to pass, 77 (TEST_SKIP) to skip and anything else to fail; the ASSERT_*
 * macros print the failing expression with both values and return 1. Each
 * test binary links harness.c, which provides main(): it runs every test
 * (or those named on the command line), prints one line per test and ends
 * with exactly "N passed, N failed, N skipped". */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TEST_SKIP 77

struct test_case {
    const char *name;
    int (*fn)(void);
    const char *file;
    int line;
};

#define TEST(tname)                                                                                \
    static int test_##tname(void);                                                                 \
    static const struct test_case test_case_##tname = {#tname, test_##tname, __FILE__, __LINE__}; \
    __attribute__((used, section("test_cases"), aligned(sizeof(void *))))                        \
    static const struct test_case *const test_ptr_##tname = &test_case_##tname;                    \
    static int test_##tname(void)

/* Prints a skip reason; use as `return test_skip("no go toolchain");`. */
int test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void test_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ASSERT_TRUE(expr)                                                                          \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            test_fail_at(__FILE__, __LINE__, "ASSERT_TRUE(%s)", #expr);                            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define ASSERT_INT_OP(a, op, b)                                                                    \
    do {                                                                                           \
        intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);                                           \
        if (!(_a op _b)) {                                                                         \
            test_fail_at(__FILE__, __LINE__, "%s %s %s: %jd vs %jd", #a, #op, #b, _a, _b);         \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)
#define ASSERT_OK(expr) ASSERT_INT_OP(expr, >=, 0)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            test_fail_at(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,                 \
                         _a ? _a : "(null)", _b ? _b : "(null)");                                  \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                      \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            test_fail_at(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n);               \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

/* A scratch directory for this test binary, removed at exit. */
const char *test_tmpdir(void);
