/* shim/io_uri.c: which strings are log URIs, how file:// and binary://
 * URIs decode (path, argv from the query, env.* pairs), the errors that
 * name a bad URI, and the Create/Exec check of a stdio triplet. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "shim/io_uri.h"
#include "tests/harness/harness.h"

TEST(scheme_or_path)
{
    ASSERT_TRUE(io_uri_has_scheme("file:///x"));
    ASSERT_TRUE(io_uri_has_scheme("binary:///x"));
    ASSERT_TRUE(io_uri_has_scheme("my+sch-e.me1:rest"));
    ASSERT_TRUE(!io_uri_has_scheme("/run/containerd/fifo/1-stdout"));
    ASSERT_TRUE(!io_uri_has_scheme("relative/fifo:x"));
    ASSERT_TRUE(!io_uri_has_scheme("1abc:x"));
    ASSERT_TRUE(!io_uri_has_scheme("noscheme"));
    ASSERT_TRUE(!io_uri_has_scheme(""));
    ASSERT_TRUE(!io_uri_has_scheme(NULL));
    return 0;
}

TEST(file_uris)
{
    struct io_uri u;
    struct err e = ERR_INIT;

    ASSERT_OK(io_uri_parse("file:///var/log/a%20b.log?ignored=1#frag", &u, &e));
    ASSERT_EQ(u.kind, IO_URI_FILE);
    ASSERT_STREQ(u.path, "/var/log/a b.log");
    ASSERT_TRUE(u.argv == NULL && u.envp == NULL);
    io_uri_done(&u);
    ASSERT_OK(io_uri_parse("FILE:/tmp/x+y", &u, &e));
    ASSERT_STREQ(u.path, "/tmp/x+y"); /* '+' is a space only in a query */
    io_uri_done(&u);
    return 0;
}

TEST(binary_uri_query_becomes_argv_and_env)
{
    struct io_uri u;
    struct err e = ERR_INIT;
    const char *want[] = {"/usr/bin/log ger", "foo", "bar", "k", "", "a b", "/c", NULL};

    ASSERT_OK(io_uri_parse("binary:///usr/bin/log%20ger?foo=bar&k&foo=again&&env.A=1%3D2"
                           "&env.CONTAINER_ID=evil&a+b=%2Fc",
                           &u, &e));
    ASSERT_EQ(u.kind, IO_URI_BINARY);
    ASSERT_STREQ(u.path, "/usr/bin/log ger");
    for (size_t i = 0; i < ELEMENTSOF(want); i++) {
        if (!want[i])
            ASSERT_TRUE(u.argv[i] == NULL);
        else
            ASSERT_STREQ(u.argv[i], want[i]);
    }
    ASSERT_STREQ(u.envp[0], "A=1=2");
    ASSERT_TRUE(u.envp[1] == NULL);
    io_uri_done(&u);
    return 0;
}

static int bad(const char *uri, const char *why)
{
    struct io_uri u;
    struct err e = ERR_INIT;

    ASSERT_EQ(io_uri_parse(uri, &u, &e), -EINVAL);
    printf("#   %s -> %s\n", uri, err_msg(&e));
    ASSERT_TRUE(strstr(err_msg(&e), why) != NULL);
    ASSERT_TRUE(u.path == NULL && u.argv == NULL);
    return 0;
}

TEST(bad_uris_are_named)
{
    char many[2048] = "binary:///x?";

    ASSERT_EQ(bad("ftp:///x", "unknown scheme 'ftp'"), 0);
    ASSERT_EQ(bad("file://host/x", "host part 'host'"), 0);
    ASSERT_EQ(bad("binary://relative/logger", "relative path"), 0);
    ASSERT_EQ(bad("file:relative", "must be absolute"), 0);
    ASSERT_EQ(bad("file://", "must be absolute"), 0);
    ASSERT_EQ(bad("file:///a%zz", "%-escape"), 0);
    ASSERT_EQ(bad("file:///a%2", "%-escape"), 0);
    ASSERT_EQ(bad("file:///a%00b", "%-escape"), 0);
    ASSERT_EQ(bad("binary:///x?a=%", "%-escape"), 0);
    ASSERT_EQ(bad("binary:///x?a=1;b=2", "';'"), 0);
    ASSERT_EQ(bad("binary:///x?env.=1", "environment name"), 0);
    for (int i = 0; i <= IO_URI_MAX_ARGS; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d=v&", i);
    ASSERT_EQ(bad(many, "query pairs"), 0);
    return 0;
}

/* io_uri_check_stdio with a fresh error each time. */
static int check(const char *in, const char *out, const char *errp, bool terminal, struct err *e)
{
    err_clear(e);
    return io_uri_check_stdio(in, out, errp, terminal, e);
}

TEST(stdio_check)
{
    char exe[PATH_MAX], plain[PATH_MAX], uri[PATH_MAX + 16];
    struct err e = ERR_INIT;
    int fd;

    /* FIFO paths, empty streams: nothing to check. */
    ASSERT_OK(check("/f/in", "/f/out", "/f/err", false, &e));
    ASSERT_OK(check("", "", "", false, &e));
    ASSERT_OK(check(NULL, "file:///l", "file:///l", false, &e));
    ASSERT_OK(check(NULL, "file:///l", "", false, &e));
    /* With a terminal stderr is not used at all. */
    ASSERT_OK(check(NULL, "file:///l", "/f/err", true, &e));
    ASSERT_EQ(check("file:///in", "/f/out", "", false, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "stdin file:///in") != NULL);
    ASSERT_EQ(check("", "/f/out", "file:///l", false, &e), -EINVAL);
    ASSERT_EQ(check("", "file:///l", "file:///m", false, &e), -EINVAL);
    ASSERT_EQ(check("", "file:///l", "/f/err", false, &e), -EINVAL);
    ASSERT_EQ(check("", "nope:///l", "nope:///l", false, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "nope:///l") != NULL);
    /* The logging binary must be there and executable. */
    snprintf(exe, sizeof(exe), "%s/logger", test_tmpdir());
    snprintf(plain, sizeof(plain), "%s/not-exec", test_tmpdir());
    ASSERT_OK(fd = open(exe, O_WRONLY | O_CREAT | O_CLOEXEC, 0755));
    close(fd);
    ASSERT_OK(fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    close(fd);
    snprintf(uri, sizeof(uri), "binary://%s?a=b", exe);
    ASSERT_OK(check("", uri, uri, false, &e));
    snprintf(uri, sizeof(uri), "binary://%s/missing", test_tmpdir());
    ASSERT_EQ(check("", uri, uri, false, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), uri) && strstr(err_msg(&e), "No such file"));
    snprintf(uri, sizeof(uri), "binary://%s", test_tmpdir());
    ASSERT_EQ(check("", uri, uri, false, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "not a regular file") != NULL);
    /* (root may execute nothing without an x bit either) */
    snprintf(uri, sizeof(uri), "binary://%s", plain);
    ASSERT_EQ(check("", uri, uri, false, &e), -EINVAL);
    ASSERT_TRUE(strstr(err_msg(&e), "not executable") != NULL);
    return 0;
}
