/* Single-threaded epoll loop with heap timers, signalfd, pidfd children,
 * deferred calls and a thread-safe post queue. See loop.h. */
#include "lib/loop.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/xalloc.h"

enum source_kind { SOURCE_IO, SOURCE_TIMER, SOURCE_SIGNAL, SOURCE_CHILD, SOURCE_DEFER };

struct loop_source {
    enum source_kind kind;
    bool dead;
    struct loop *loop;
    void *userdata;
    union {
        loop_io_fn io;
        loop_time_fn time; /* timers and defers */
        loop_signal_fn signal;
        loop_child_fn child;
    } fn;
    int fd;                  /* io: caller's; signal/child: ours */
    uint32_t events;
    uint64_t deadline;       /* timer: 0 = disarmed */
    size_t heap_index;       /* timer: position in the heap while armed */
    int signo;
    struct loop_source *next; /* defer list while linked */
    struct loop_source *prev;
    bool linked;              /* defer: waiting for the next iteration */
    struct loop_source *dead_next;
};

struct post {
    loop_post_fn fn;
    void *userdata;
    struct post *next;
};

struct loop {
    int epfd;
    int wake_fd; /* eventfd: posts and quit */
    struct loop_source wake_source;

    struct loop_source **heap; /* min-heap of armed timers by deadline */
    size_t heap_len, heap_cap;

    struct loop_source *defers; /* doubly linked */
    struct loop_source *dead;   /* freed at the end of the iteration */
    unsigned n_sources;

    pthread_mutex_t post_lock;
    struct post *post_head, *post_tail;

    atomic_bool quit;
    atomic_int quit_code;
};

uint64_t loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int loop_new(struct loop **ret_loop)
{
    struct loop *l = xzalloc(sizeof(*l));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        int r = -errno;
        free(l);
        return r;
    }
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->wake_fd < 0) {
        int r = -errno;
        close(l->epfd);
        free(l);
        return r;
    }
    l->wake_source.kind = SOURCE_IO;
    l->wake_source.loop = l;
    l->wake_source.fd = l->wake_fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &l->wake_source};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
        int r = -errno;
        close(l->wake_fd);
        close(l->epfd);
        free(l);
        return r;
    }
    pthread_mutex_init(&l->post_lock, NULL);
    *ret_loop = l;
    return 0;
}

static void free_dead(struct loop *l)
{
    while (l->dead) {
        struct loop_source *s = l->dead;
        l->dead = s->dead_next;
        free(s);
    }
}

static void run_posts(struct loop *l);

struct loop *loop_free(struct loop *l)
{
    if (!l)
        return NULL;
    /* Posts still queued belong to work that finished; run them so their
     * owners can release what they carry. */
    run_posts(l);
    free_dead(l);
    assert(l->n_sources == 0);
    close(l->wake_fd);
    close(l->epfd);
    free(l->heap);
    pthread_mutex_destroy(&l->post_lock);
    free(l);
    return NULL;
}

void loop_quit(struct loop *l, int code)
{
    atomic_store(&l->quit_code, code);
    atomic_store(&l->quit, true);
    uint64_t one = 1;
    ssize_t _unused_ n = write(l->wake_fd, &one, sizeof(one));
}

/* ---- timer heap ---- */

static void heap_swap(struct loop *l, size_t a, size_t b)
{
    struct loop_source *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_index = a;
    l->heap[b]->heap_index = b;
}

static void heap_up(struct loop *l, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (l->heap[parent]->deadline <= l->heap[i]->deadline)
            break;
        heap_swap(l, i, parent);
        i = parent;
    }
}

static void heap_down(struct loop *l, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, min = i;
        if (left < l->heap_len && l->heap[left]->deadline < l->heap[min]->deadline)
            min = left;
        if (right < l->heap_len && l->heap[right]->deadline < l->heap[min]->deadline)
            min = right;
        if (min == i)
            break;
        heap_swap(l, i, min);
        i = min;
    }
}

static void heap_insert(struct loop *l, struct loop_source *s)
{
    if (l->heap_len == l->heap_cap) {
        l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 16;
        l->heap = xrealloc(l->heap, l->heap_cap * sizeof(*l->heap));
    }
    s->heap_index = l->heap_len;
    l->heap[l->heap_len++] = s;
    heap_up(l, s->heap_index);
}

static void heap_remove(struct loop *l, struct loop_source *s)
{
    size_t i = s->heap_index;
    assert(i < l->heap_len && l->heap[i] == s);
    l->heap_len--;
    if (i != l->heap_len) {
        l->heap[i] = l->heap[l->heap_len];
        l->heap[i]->heap_index = i;
        heap_down(l, i);
        heap_up(l, i);
    }
}

/* ---- sources ---- */

static struct loop_source *source_new(struct loop *l, enum source_kind kind, void *userdata)
{
    struct loop_source *s = xzalloc(sizeof(*s));
    s->kind = kind;
    s->loop = l;
    s->userdata = userdata;
    s->fd = -1;
    l->n_sources++;
    return s;
}

static int source_watch(struct loop_source *s, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (epoll_ctl(s->loop->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
        return -errno;
    s->events = events;
    return 0;
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
                struct loop_source **ret_source)
{
    struct loop_source *s = source_new(l, SOURCE_IO, userdata);
    s->fn.io = fn;
    s->fd = fd;
    int r = source_watch(s, events);
    if (r < 0) {
        l->n_sources--;
        free(s);
        return r;
    }
    *ret_source = s;
    return 0;
}

int loop_io_set_events(struct loop_source *s, uint32_t events)
{
    assert(s->kind == SOURCE_IO);
    if (s->events == events)
        return 0;
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
        return -errno;
    s->events = events;
    return 0;
}

int loop_add_timer(struct loop *l, uint64_t deadline_ns, loop_time_fn fn, void *userdata,
                   struct loop_source **ret_source)
{
    struct loop_source *s = source_new(l, SOURCE_TIMER, userdata);
    s->fn.time = fn;
    loop_timer_set(s, deadline_ns);
    *ret_source = s;
    return 0;
}

int loop_timer_set(struct loop_source *s, uint64_t deadline_ns)
{
    assert(s->kind == SOURCE_TIMER);
    if (s->dead)
        return -ESTALE;
    if (s->deadline)
        heap_remove(s->loop, s);
    s->deadline = deadline_ns;
    if (deadline_ns)
        heap_insert(s->loop, s);
    return 0;
}

int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *userdata,
                    struct loop_source **ret_source)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, signo);
    /* Blocked process-wide so the signalfd, not a handler, receives it. */
    int r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
    if (r)
        return -r;
    int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct loop_source *s = source_new(l, SOURCE_SIGNAL, userdata);
    s->fn.signal = fn;
    s->fd = fd;
    s->signo = signo;
    r = source_watch(s, EPOLLIN);
    if (r < 0) {
        close(fd);
        l->n_sources--;
        free(s);
        return r;
    }
    *ret_source = s;
    return 0;
}

int loop_add_child(struct loop *l, int pidfd, loop_child_fn fn, void *userdata,
                   struct loop_source **ret_source)
{
    struct loop_source *s = source_new(l, SOURCE_CHILD, userdata);
    s->fn.child = fn;
    s->fd = pidfd;
    int r = source_watch(s, EPOLLIN);
    if (r < 0) {
        l->n_sources--;
        free(s);
        return r;
    }
    *ret_source = s;
    return 0;
}

int loop_add_defer(struct loop *l, loop_time_fn fn, void *userdata,
                   struct loop_source **ret_source)
{
    struct loop_source *s = source_new(l, SOURCE_DEFER, userdata);
    s->fn.time = fn;
    s->next = l->defers;
    if (l->defers)
        l->defers->prev = s;
    l->defers = s;
    s->linked = true;
    *ret_source = s;
    return 0;
}

void loop_source_set_userdata(struct loop_source *s, void *userdata)
{
    s->userdata = userdata;
}

struct loop_source *loop_source_free(struct loop_source *s)
{
    if (!s || s->dead)
        return NULL;
    struct loop *l = s->loop;
    s->dead = true;
    switch (s->kind) {
    case SOURCE_IO:
        /* Failing here means the fd was closed (EBADF) or closed and its
         * number reused (ENOENT) while still watched: an ownership bug
         * that silently takes another file's watch away, so say so. */
        if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL) < 0)
            log_errno(LOG_WARN, -errno, "loop: fd %d was closed while watched", s->fd);
        break;
    case SOURCE_SIGNAL:
    case SOURCE_CHILD:
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        s->fd = fd_close(s->fd);
        break;
    case SOURCE_TIMER:
        if (s->deadline)
            heap_remove(l, s);
        s->deadline = 0;
        break;
    case SOURCE_DEFER:
        if (s->linked) {
            if (s->prev)
                s->prev->next = s->next;
            else
                l->defers = s->next;
            if (s->next)
                s->next->prev = s->prev;
            s->linked = false;
        }
        break;
    }
    /* Released after the current dispatch: an epoll batch may still hold it. */
    s->dead_next = l->dead;
    l->dead = s;
    l->n_sources--;
    return NULL;
}

/* ---- posts ---- */

void loop_post(struct loop *l, loop_post_fn fn, void *userdata)
{
    struct post *p = xmalloc(sizeof(*p));
    p->fn = fn;
    p->userdata = userdata;
    p->next = NULL;
    pthread_mutex_lock(&l->post_lock);
    bool was_empty = l->post_head == NULL;
    if (l->post_tail)
        l->post_tail->next = p;
    else
        l->post_head = p;
    l->post_tail = p;
    pthread_mutex_unlock(&l->post_lock);
    if (was_empty) {
        uint64_t one = 1;
        ssize_t _unused_ n = write(l->wake_fd, &one, sizeof(one));
    }
}

static void run_posts(struct loop *l)
{
    pthread_mutex_lock(&l->post_lock);
    struct post *p = l->post_head;
    l->post_head = l->post_tail = NULL;
    pthread_mutex_unlock(&l->post_lock);
    while (p) {
        struct post *next = p->next;
        p->fn(p->userdata);
        free(p);
        p = next;
    }
}

/* ---- dispatch ---- */

static void dispatch_signal(struct loop_source *s)
{
    struct signalfd_siginfo si;
    while (!s->dead && read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        s->fn.signal(s, &si, s->userdata);
}

static void dispatch_child(struct loop_source *s)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PIDFD, (id_t)s->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
        return;
    /* Exactly once: stop watching before the callback, which may free us. */
    epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->fn.child(s, &si, s->userdata);
}

static void dispatch_io(struct loop *l, struct loop_source *s, uint32_t revents)
{
    if (s == &l->wake_source) {
        uint64_t v;
        ssize_t _unused_ n = read(l->wake_fd, &v, sizeof(v));
        run_posts(l);
        return;
    }
    switch (s->kind) {
    case SOURCE_IO:
        s->fn.io(s, s->fd, revents, s->userdata);
        break;
    case SOURCE_SIGNAL:
        dispatch_signal(s);
        break;
    case SOURCE_CHILD:
        dispatch_child(s);
        break;
    default:
        break;
    }
}

static void run_timers(struct loop *l)
{
    uint64_t now = loop_now();
    while (l->heap_len && l->heap[0]->deadline <= now) {
        struct loop_source *s = l->heap[0];
        heap_remove(l, s);
        s->deadline = 0;
        s->fn.time(s, s->userdata);
    }
}

static void run_defers(struct loop *l)
{
    /* One-shot: unlink each before its callback, which may free any defer
     * or add new ones (those wait for the next iteration). */
    struct loop_source *pending = l->defers;
    l->defers = NULL;
    for (struct loop_source *s = pending; s; s = s->next)
        s->linked = false;
    for (struct loop_source *s = pending; s;) {
        struct loop_source *next = s->next;
        if (!s->dead)
            s->fn.time(s, s->userdata);
        s = next;
    }
}

static int compute_timeout(struct loop *l, int timeout_ms)
{
    if (l->defers || atomic_load(&l->quit))
        return 0;
    if (!l->heap_len)
        return timeout_ms;
    uint64_t now = loop_now(), deadline = l->heap[0]->deadline;
    if (deadline <= now)
        return 0;
    /* Round up so a timer never fires a little early and spins. */
    uint64_t ms = (deadline - now + 999999) / 1000000;
    if (ms > INT32_MAX)
        ms = INT32_MAX;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < ms)
        return timeout_ms;
    return (int)ms;
}

int loop_run_once(struct loop *l, int timeout_ms)
{
    struct epoll_event events[64];

    run_defers(l);
    int n = epoll_wait(l->epfd, events, (int)ELEMENTSOF(events), compute_timeout(l, timeout_ms));
    if (n < 0 && errno != EINTR)
        return -errno;
    for (int i = 0; i < n; i++) {
        struct loop_source *s = events[i].data.ptr;
        if (!s->dead)
            dispatch_io(l, s, events[i].events);
    }
    run_timers(l);
    free_dead(l);
    return n < 0 ? 0 : n;
}

int loop_run(struct loop *l)
{
    while (!atomic_load(&l->quit)) {
        int r = loop_run_once(l, -1);
        if (r < 0)
            return r;
    }
    atomic_store(&l->quit, false);
    return atomic_load(&l->quit_code);
}
