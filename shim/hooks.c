/* Host-side OCI hooks; the contract is in hooks.h.
 *
 * Hooks are started with posix_spawn() from the calling thread rather than
 * lib/spawn.c's spawner thread: a prestart hook must inherit the pod's
 * network namespace, which netns_run() joins on one thread only, and a
 * hook is short-lived, so the death signal spawn.c sets is not wanted. */
#include "shim/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/oci_spec_json.h"
#include "lib/spawn.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "shim/netns.h"

/* How much of a failed hook's output goes into the error. */
#define HOOKS_TAIL 160

struct hooks {
    atomic_int refs;
    Grpc__Spec *spec; /* hooks, ociVersion, annotations */
    char *id;
    char *bundle;
    char *netns; /* "" when the spec names none */
};

static const char *const stage_names[] = {
    [HOOKS_PRESTART] = "prestart",
    [HOOKS_CREATE_RUNTIME] = "createRuntime",
    [HOOKS_POSTSTART] = "poststart",
    [HOOKS_POSTSTOP] = "poststop",
};

/* The OCI state's status while each stage runs. */
static const char *const stage_status[] = {
    [HOOKS_PRESTART] = "creating",
    [HOOKS_CREATE_RUNTIME] = "creating",
    [HOOKS_POSTSTART] = "running",
    [HOOKS_POSTSTOP] = "stopped",
};

const char *hooks_stage_name(enum hooks_stage stage)
{
    return (unsigned)stage <= HOOKS_POSTSTOP ? stage_names[stage] : "?";
}

static Grpc__Hook **stage_list(const Grpc__Hooks *hk, enum hooks_stage stage, size_t *ret_n)
{
    switch (stage) {
    case HOOKS_PRESTART:
        *ret_n = hk->n_prestart;
        return hk->prestart;
    case HOOKS_CREATE_RUNTIME:
        *ret_n = hk->n_createruntime;
        return hk->createruntime;
    case HOOKS_POSTSTART:
        *ret_n = hk->n_poststart;
        return hk->poststart;
    case HOOKS_POSTSTOP:
        *ret_n = hk->n_poststop;
        return hk->poststop;
    }
    *ret_n = 0;
    return NULL;
}

static size_t stage_count(const struct hooks *h, enum hooks_stage stage)
{
    size_t n = 0;
    if (h && h->spec->hooks)
        stage_list(h->spec->hooks, stage, &n);
    return n;
}

struct hooks *hooks_ref(struct hooks *h)
{
    if (h)
        atomic_fetch_add(&h->refs, 1);
    return h;
}

struct hooks *hooks_unref(struct hooks *h)
{
    if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
        return NULL;
    oci_spec_json_free(h->spec);
    free(h->id);
    free(h->bundle);
    free(h->netns);
    free(h);
    return NULL;
}

static const char *spec_netns(const Grpc__Spec *spec)
{
    if (!spec->linux_)
        return "";
    for (size_t i = 0; i < spec->linux_->n_namespaces; i++) {
        const Grpc__LinuxNamespace *ns = spec->linux_->namespaces[i];
        if (ns->type && strcmp(ns->type, "network") == 0 && ns->path)
            return ns->path;
    }
    return "";
}

static int check_stage(const Grpc__Hooks *hk, enum hooks_stage stage, struct err *e)
{
    size_t n;
    Grpc__Hook **list = stage_list(hk, stage, &n);
    for (size_t i = 0; i < n; i++) {
        if (!list[i]->path || list[i]->path[0] != '/')
            return err_set(e, -EINVAL, "hooks.%s[%zu].path: must be an absolute path, got \"%s\"",
                           stage_names[stage], i, list[i]->path ? list[i]->path : "");
        if (list[i]->timeout < 0)
            return err_set(e, -EINVAL, "hooks.%s[%zu].timeout: must be positive, got %lld",
                           stage_names[stage], i, (long long)list[i]->timeout);
    }
    return 0;
}

int hooks_load(const char *config_json, const char *container_id, const char *bundle,
               struct hooks **ret_hooks, struct err *e)
{
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    int r = oci_spec_json_load(config_json, &spec, e);
    if (r < 0)
        return r;
    size_t total = 0;
    for (int s = HOOKS_PRESTART; spec->hooks && s <= HOOKS_POSTSTOP; s++) {
        size_t n;
        stage_list(spec->hooks, (enum hooks_stage)s, &n);
        total += n;
        r = check_stage(spec->hooks, (enum hooks_stage)s, e);
        if (r < 0)
            return err_prefix(e, "%s", config_json);
    }
    if (total == 0) {
        *ret_hooks = NULL;
        return 0;
    }
    struct hooks *h = xnew(struct hooks, 1);
    atomic_init(&h->refs, 1);
    h->netns = xstrdup(spec_netns(spec));
    h->spec = TAKE_PTR(spec);
    h->id = xstrdup(container_id);
    h->bundle = xstrdup(bundle);
    *ret_hooks = h;
    return 0;
}

/* The runtime spec's state object, as JSON text (malloc'd). */
static char *state_json(const struct hooks *h, enum hooks_stage stage)
{
    json_object *o = json_object_new_object();
    const Grpc__Spec *spec = h->spec;
    json_object_object_add(o, "ociVersion", json_object_new_string(spec->version ? spec->version
                                                                                  : ""));
    json_object_object_add(o, "id", json_object_new_string(h->id));
    json_object_object_add(o, "status", json_object_new_string(stage_status[stage]));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(o, "bundle", json_object_new_string(h->bundle));
    json_object *ann = json_object_new_object();
    for (size_t i = 0; i < spec->n_annotations; i++)
        if (spec->annotations[i]->key)
            json_object_object_add(ann, spec->annotations[i]->key,
                                   json_object_new_string(spec->annotations[i]->value
                                                              ? spec->annotations[i]->value
                                                              : ""));
    json_object_object_add(o, "annotations", ann);
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* A memfd at fd 3 or above (0-2 are remapped in the child). */
static int memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fd < 3) {
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        int r = -errno;
        close(fd);
        return moved < 0 ? r : moved;
    }
    return fd;
}

/* The last HOOKS_TAIL bytes of fd, one line, printable. */
static void output_tail(int fd, char *buf, size_t size)
{
    struct stat st;
    buf[0] = '\0';
    if (fstat(fd, &st) < 0 || st.st_size == 0)
        return;
    size_t want = size - 1 < HOOKS_TAIL ? size - 1 : HOOKS_TAIL;
    off_t from = st.st_size > (off_t)want ? st.st_size - (off_t)want : 0;
    ssize_t n = pread(fd, buf, want, from);
    if (n <= 0)
        return;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
            buf[i] = buf[i] == '\n' ? '|' : '?';
}

static int start_hook(const Grpc__Hook *hk, int in, int out, int errfd, pid_t *ret_pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    /* protobuf-c lists are counted, not NULL-terminated. */
    _cleanup_free_ char **argv = xnew(char *, hk->n_args + 2);
    _cleanup_free_ char **envp = xnew(char *, hk->n_env + 1);
    if (hk->n_args)
        memcpy(argv, hk->args, hk->n_args * sizeof(*argv));
    else
        argv[0] = hk->path;
    if (hk->n_env)
        memcpy(envp, hk->env, hk->n_env * sizeof(*envp));

    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, errfd, 2);
    /* Every fd of ours is close-on-exec; this is a second belt. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    /* Its own session, so that a timeout kills what it started too. */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    int r = posix_spawn(ret_pid, hk->path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return -r;
}

/* Waits for the hook, killing its process group at the timeout. Returns
 * the wait status, or -ETIMEDOUT once the killed hook is reaped. */
static int wait_hook(pid_t pid, int64_t timeout_s)
{
    int status = 0;
    _cleanup_close_ int pidfd = spawn_pidfd_open(pid);
    if (pidfd < 0) {
        /* No pidfds: the pid is our unreaped child, so it cannot be reused. */
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR)
                return -errno;
        return status;
    }
    int ms = timeout_s <= 0 ? -1 : timeout_s > INT32_MAX / 1000 ? INT32_MAX : (int)timeout_s * 1000;
    int r = spawn_wait(pidfd, ms, &status);
    if (r != -ETIMEDOUT)
        return r < 0 ? r : status;
    /* Unreaped, pid is still ours and is the group leader. */
    kill(-pid, SIGKILL);
    spawn_kill(pidfd, SIGKILL);
    spawn_wait(pidfd, -1, NULL);
    return -ETIMEDOUT;
}

static int run_one(const struct hooks *h, enum hooks_stage stage, size_t idx,
                   const Grpc__Hook *hk, struct err *e)
{
    _cleanup_free_ char *state = state_json(h, stage);
    _cleanup_close_ int in = memfd("hook-state");
    _cleanup_close_ int out = memfd("hook-stdout");
    _cleanup_close_ int errfd = memfd("hook-stderr");
    const char *name = stage_names[stage];
    char tail[HOOKS_TAIL + 1];
    pid_t pid;

    if (in < 0 || out < 0 || errfd < 0)
        return err_set(e, -EMFILE, "%s hook %s: cannot create its stdio", name, hk->path);
    size_t len = strlen(state);
    /* A memfd never blocks, whatever the size of the annotations. */
    if (write(in, state, len) != (ssize_t)len || lseek(in, 0, SEEK_SET) != 0)
        return err_set(e, -EIO, "%s hook %s: cannot write its state", name, hk->path);
    int r = start_hook(hk, in, out, errfd, &pid);
    if (r < 0)
        return err_set(e, -EIO, "%s hook #%zu %s: cannot run: %s", name, idx, hk->path,
                       strerror(-r));
    log_debug("container %s: %s hook #%zu %s started (pid %d)", h->id, name, idx, hk->path,
              (int)pid);
    int status = wait_hook(pid, hk->timeout);
    output_tail(errfd, tail, sizeof(tail));
    if (!tail[0])
        output_tail(out, tail, sizeof(tail));
    if (status == -ETIMEDOUT)
        return err_set(e, -ETIMEDOUT, "%s hook #%zu %s: timed out after %llds and was killed%s%s",
                       name, idx, hk->path, (long long)hk->timeout, tail[0] ? ": " : "", tail);
    if (status < 0)
        return err_set(e, status, "%s hook #%zu %s: wait: %s", name, idx, hk->path,
                       strerror(-status));
    if (WIFSIGNALED(status))
        return err_set(e, -EIO, "%s hook #%zu %s: killed by signal %d%s%s", name, idx, hk->path,
                       WTERMSIG(status), tail[0] ? ": " : "", tail);
    if (WEXITSTATUS(status) != 0)
        return err_set(e, -EIO, "%s hook #%zu %s: exit status %d%s%s", name, idx, hk->path,
                       WEXITSTATUS(status), tail[0] ? ": " : "", tail);
    return 0;
}

int hooks_run(const struct hooks *h, enum hooks_stage stage, struct err *e)
{
    size_t n = stage_count(h, stage);
    if (n == 0)
        return 0;
    Grpc__Hook **list = stage_list(h->spec->hooks, stage, &n);
    for (size_t i = 0; i < n; i++) {
        int r = run_one(h, stage, i, list[i], e);
        if (r < 0)
            return r;
    }
    return 0;
}

static int create_stages(void *ud, struct err *e)
{
    const struct hooks *h = ud;
    int r = hooks_run(h, HOOKS_PRESTART, e);
    return r < 0 ? r : hooks_run(h, HOOKS_CREATE_RUNTIME, e);
}

void hooks_run_poststop(const struct hooks *h)
{
    struct err e = ERR_INIT;
    if (hooks_run(h, HOOKS_POSTSTOP, &e) < 0)
        log_warn("container %s: %s (ignored)", h->id, err_msg(&e));
}

int hooks_run_create(const struct hooks *h, struct err *e)
{
    if (stage_count(h, HOOKS_PRESTART) + stage_count(h, HOOKS_CREATE_RUNTIME) == 0)
        return 0;
    /* In the pod's namespace, so that a hook setting up networking sees it;
     * joining our own one is skipped (it may not even be open to us). */
    struct stat ns, own;
    int r;
    if (!h->netns[0] ||
        (stat(h->netns, &ns) == 0 && stat("/proc/thread-self/ns/net", &own) == 0 &&
         ns.st_dev == own.st_dev && ns.st_ino == own.st_ino))
        r = create_stages((void *)h, e);
    else
        r = netns_run(h->netns, create_stages, (void *)h, e);
    /* The container will never run, but what the hooks that did run set
     * up must be undone: poststop, as runc's destroy does after a failed
     * create. In our own namespace, as at Delete. */
    if (r < 0)
        hooks_run_poststop(h);
    return r;
}

struct async_job {
    struct hooks *h;
    enum hooks_stage stage;
};

static void async_work(void *ud)
{
    struct async_job *j = ud;
    struct err e = ERR_INIT;
    if (hooks_run(j->h, j->stage, &e) < 0)
        log_warn("container %s: %s (ignored)", j->h->id, err_msg(&e));
}

static void async_done(void *ud)
{
    struct async_job *j = ud;
    hooks_unref(j->h);
    free(j);
}

void hooks_run_async(struct workpool *pool, struct hooks *h, enum hooks_stage stage)
{
    if (stage_count(h, stage) == 0)
        return;
    struct async_job *j = xnew(struct async_job, 1);
    j->h = hooks_ref(h);
    j->stage = stage;
    if (workpool_submit(pool, async_work, async_done, j) < 0) {
        log_warn("container %s: %s hooks not run: the work queue is full", h->id,
                 stage_names[stage]);
        async_done(j);
    }
}
