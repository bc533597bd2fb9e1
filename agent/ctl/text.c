/* kata-agent-ctl: command-line words, durations, signal names, random ids. */
#include "agent/ctl/ctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "lib/err.h"
#include "lib/xalloc.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the JSON object or array starting at p (which is '{' or '['),
 * through its matching close; 0 when it never closes. */
static size_t json_span(const char *p)
{
    size_t depth = 0;
    bool in_string = false;
    for (const char *q = p; *q; q++) {
        if (in_string) {
            if (*q == '\\' && q[1])
                q++;
            else if (*q == '"')
                in_string = false;
        } else if (*q == '"') {
            in_string = true;
        } else if (*q == '{' || *q == '[') {
            depth++;
        } else if ((*q == '}' || *q == ']') && --depth == 0) {
            return (size_t)(q - p) + 1;
        }
    }
    return 0;
}

/* One word at *pp into a new string; advances *pp past it. */
static int split_word(const char **pp, char **ret, struct err *e)
{
    const char *p = *pp;
    _cleanup_free_ char *b = xmalloc(strlen(p) + 1);
    size_t o = 0;
    bool seen_eq = false;

    while (*p && !is_blank(*p)) {
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && *p != q) {
                if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                b[o++] = *p++;
            }
            if (!*p)
                return err_set(e, -EINVAL, "unterminated %c quote", q);
            p++;
        } else if (*p == '\\' && p[1]) {
            b[o++] = p[1];
            p += 2;
        } else if (*p == '=' && !seen_eq && (p[1] == '{' || p[1] == '[')) {
            /* key={...}: the JSON keeps its quotes and blanks. */
            size_t len = json_span(p + 1);
            if (!len)
                return err_set(e, -EINVAL, "unbalanced JSON after \"=\"");
            b[o++] = '=';
            memcpy(b + o, p + 1, len);
            o += len;
            p += 1 + len;
            seen_eq = true;
        } else {
            seen_eq = seen_eq || *p == '=';
            b[o++] = *p++;
        }
    }
    b[o] = '\0';
    *pp = p;
    *ret = TAKE_PTR(b);
    return 0;
}

int ctl_text_split(const char *line, char ***ret_words, size_t *ret_n, struct err *e)
{
    size_t n = 0, cap = 8;
    char **w = xnew(char *, cap);
    const char *p = line;

    for (;;) {
        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        if (n + 2 > cap) {
            cap *= 2;
            w = xrealloc(w, cap * sizeof(*w));
        }
        if (n > 0 && strncmp(p, "json://", 7) == 0) {
            /* The JSON is the rest of the line, quotes and all. */
            size_t len = strlen(p);
            while (len && is_blank(p[len - 1]))
                len--;
            w[n++] = xstrndup(p, len);
            break;
        }
        int r = split_word(&p, &w[n], e);
        if (r < 0) {
            w[n] = NULL;
            ctl_text_free_words(w);
            return r;
        }
        n++;
    }
    w[n] = NULL;
    *ret_words = w;
    *ret_n = n;
    return 0;
}

char **ctl_text_free_words(char **words)
{
    for (char **p = words; p && *p; p++)
        free(*p);
    free(words);
    return NULL;
}

int ctl_text_duration(const char *text, uint64_t bare_unit_ns, uint64_t *ret_ns)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000},
        {"ms", 1000000},
        {"s", 1000000000},
        {"sec", 1000000000},
        {"m", 60000000000},
        {"min", 60000000000},
        {"h", 3600000000000},
        {"d", 86400000000000},
    };
    const char *p = text;
    uint64_t total = 0;
    bool any = false;

    while (*p) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        errno = 0;
        char *end = NULL;
        unsigned long long n = strtoull(p, &end, 10);
        if (errno == ERANGE)
            return -ERANGE;
        p = end;
        size_t ulen = strcspn(p, "0123456789 ");
        uint64_t unit = 0;
        if (ulen == 0 && !any && !*p) {
            unit = bare_unit_ns;
        } else {
            for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strlen(units[i].name) == ulen && strncmp(p, units[i].name, ulen) == 0)
                    unit = units[i].ns;
            if (!unit)
                return -EINVAL;
        }
        if (n && unit > UINT64_MAX / n)
            return -ERANGE;
        if (total > UINT64_MAX - n * unit)
            return -ERANGE;
        total += n * unit;
        any = true;
        p += ulen;
        while (*p == ' ')
            p++;
    }
    if (!any)
        return -EINVAL;
    *ret_ns = total;
    return 0;
}

int ctl_text_signal(const char *text, uint32_t *ret_signo)
{
    static const struct {
        const char *name;
        int signo;
    } signals[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
        {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
        {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
        {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
        {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
        {"PWR", SIGPWR},       {"SYS", SIGSYS},
    };
    if (*text >= '0' && *text <= '9') {
        char *end = NULL;
        errno = 0;
        unsigned long n = strtoul(text, &end, 10);
        if (errno || *end || n == 0 || n > 64)
            return -EINVAL;
        *ret_signo = (uint32_t)n;
        return 0;
    }
    const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (size_t i = 0; i < ELEMENTSOF(signals); i++)
        if (strcasecmp(name, signals[i].name) == 0) {
            *ret_signo = (uint32_t)signals[i].signo;
            return 0;
        }
    return -EINVAL;
}

int ctl_text_random_id(char buf[CTL_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[CTL_ID_LEN / 2];
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        buf[2 * i] = hex[raw[i] >> 4];
        buf[2 * i + 1] = hex[raw[i] & 15];
    }
    buf[CTL_ID_LEN] = '\0';
    return 0;
}
