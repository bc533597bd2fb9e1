/* QMP client (QEMU Machine Protocol) on json-c.
 *
 * Blocking and single-threaded per connection, as hv.h asks of driver
 * operations: every call waits on the socket with poll() for at most its
 * timeout, on the worker thread running the operation. Commands carry ids
 * ("hv-<n>"); a reply whose id is not the one awaited (a late reply to a
 * command that timed out) is dropped. Asynchronous events read meanwhile are
 * queued (bounded: QMP_EVENT_QUEUE_MAX, oldest dropped and counted) and
 * taken with qmp_next_event()/qmp_wait_event().
 *
 * QEMU is trusted less than we are: lines are bounded (QMP_LINE_MAX),
 * nesting is bounded, every field read is type-checked, and a protocol
 * violation poisons the connection (-EPROTO from then on). Errors are
 * negative errno plus a message in struct err: a QMP error reply is -EIO
 * with "<command>: <class>: <desc>"; -ETIMEDOUT; -ECONNRESET on EOF. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct json_object;
struct qmp;

#define QMP_LINE_MAX (4u << 20)
#define QMP_EVENT_QUEUE_MAX 64u

struct qmp_event {
    char name[48];
    struct json_object *data; /* owned reference (may be NULL); qmp_event_done() puts it */
    int64_t seconds, microseconds;
};

/* Takes ownership of a connected stream socket fd (closed on failure too),
 * reads the greeting and negotiates capabilities within timeout_ns. */
int qmp_connect_fd(int fd, uint64_t timeout_ns, struct qmp **ret_qmp, struct err *e);
/* Connects to a unix socket path (retrying until it accepts or timeout_ns). */
int qmp_connect_path(const char *path, uint64_t timeout_ns, struct qmp **ret_qmp, struct err *e);
struct qmp *qmp_free(struct qmp *q);

/* QEMU version from the greeting, e.g. 7.2.22. */
void qmp_version(const struct qmp *q, int *major, int *minor, int *micro);

/* Runs `command` with `args` (a JSON object or NULL; the reference is taken
 * in every case). On success *ret_return (may be NULL) gets a reference to
 * the "return" value. pass_fd >= 0 is sent with the command (SCM_RIGHTS),
 * as getfd/add-fd need. */
int qmp_execute(struct qmp *q, const char *command, struct json_object *args, int pass_fd,
                uint64_t timeout_ns, struct json_object **ret_return, struct err *e);

/* Events. next_event takes the oldest queued event, reading from the socket
 * up to timeout_ns when the queue is empty (-ETIMEDOUT). wait_event waits
 * for one named event whose data has string field `key` equal to `value`
 * (key NULL: any); other events read meanwhile stay queued. */
int qmp_next_event(struct qmp *q, uint64_t timeout_ns, struct qmp_event *ret_ev, struct err *e);
int qmp_wait_event(struct qmp *q, const char *name, const char *key, const char *value,
                   uint64_t timeout_ns, struct qmp_event *ret_ev, struct err *e);
void qmp_event_done(struct qmp_event *ev);
/* Events dropped because the queue was full. */
unsigned qmp_events_dropped(const struct qmp *q);

/* The commands the drivers use. */
int qmp_query_status(struct qmp *q, uint64_t timeout_ns, char *status, size_t size,
                     bool *ret_running, struct err *e);
int qmp_stop(struct qmp *q, uint64_t timeout_ns, struct err *e);
int qmp_cont(struct qmp *q, uint64_t timeout_ns, struct err *e);
/* Sends quit; QEMU may close the socket before or after answering. */
int qmp_quit(struct qmp *q, uint64_t timeout_ns, struct err *e);
int qmp_blockdev_add(struct qmp *q, const char *node_name, const char *path, bool readonly,
                     bool host_device, uint64_t timeout_ns, struct err *e);
int qmp_blockdev_del(struct qmp *q, const char *node_name, uint64_t timeout_ns, struct err *e);
/* device_add with the driver, id and extra string properties (NULL-ended
 * key, value pairs; may be NULL). */
int qmp_device_add(struct qmp *q, const char *driver, const char *id,
                   const char *const *props, uint64_t timeout_ns, struct err *e);
/* device_del, then waits for DEVICE_DELETED with data.device == id (QEMU
 * sends a second one for the virtio backend path, which is skipped). */
int qmp_device_del(struct qmp *q, const char *id, uint64_t timeout_ns, struct err *e);
int qmp_getfd(struct qmp *q, int fd, const char *name, uint64_t timeout_ns, struct err *e);
int qmp_closefd(struct qmp *q, const char *name, uint64_t timeout_ns, struct err *e);
/* netdev_add type=tap with fds "fd0:fd1..." (names given to getfd) and vhost. */
int qmp_netdev_add_tap(struct qmp *q, const char *id, const char *const *fd_names, size_t n,
                       bool vhost, uint64_t timeout_ns, struct err *e);
int qmp_netdev_del(struct qmp *q, const char *id, uint64_t timeout_ns, struct err *e);
/* CPU hotplug: query-hotpluggable-cpus (reference returned), then device_add
 * of the first slot without a qom-path, with id `id`. */
int qmp_query_hotpluggable_cpus(struct qmp *q, uint64_t timeout_ns, struct json_object **ret,
                                struct err *e);
int qmp_cpu_add(struct qmp *q, const char *id, uint64_t timeout_ns, struct err *e);
/* Memory hotplug: object-add memory-backend-ram mem<id> + device_add pc-dimm. */
int qmp_memory_add(struct qmp *q, const char *id, uint64_t size_mib, bool shared,
                   uint64_t timeout_ns, struct err *e);
