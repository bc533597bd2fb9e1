/* Work inside another network namespace; see netns.h. */
#include "shim/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"

struct netns_job {
    const char *path;
    netns_fn fn;
    void *userdata;
    struct err *e;
    int r;
};

static void *netns_thread(void *arg)
{
    struct netns_job *j = arg;
    _cleanup_close_ int fd = -1;

    if (j->path && *j->path) {
        fd = open(j->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            j->r = err_set(j->e, -errno, "network namespace %s: %s", j->path, strerror(errno));
            return NULL;
        }
        /* CLONE_NEWNET also checks that fd really is a network namespace. */
        if (setns(fd, CLONE_NEWNET) < 0) {
            j->r = err_set(j->e, -errno, "network namespace %s: setns: %s", j->path,
                           strerror(errno));
            return NULL;
        }
    }
    j->r = j->fn(j->userdata, j->e);
    return NULL;
}

int netns_run(const char *path, netns_fn fn, void *userdata, struct err *e)
{
    struct netns_job j = {.path = path, .fn = fn, .userdata = userdata, .e = e};
    pthread_t t;
    int r;

    r = pthread_create(&t, NULL, netns_thread, &j);
    if (r != 0)
        return err_set(e, -r, "network namespace %s: cannot start a thread: %s",
                       path && *path ? path : "(own)", strerror(r));
    pthread_join(t, NULL);
    return j.r;
}
