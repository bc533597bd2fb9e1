/* Running a piece of work inside another network namespace.
 *
 * setns(CLONE_NEWNET) changes only the calling thread, so netns_run()
 * starts a short-lived thread, joins the namespace at `path` (a bind mount
 * such as /var/run/netns/X or /proc/PID/ns/net) there, runs fn and ends
 * the thread: the caller's thread never leaves its own namespace, whatever
 * fn does. Sockets and tap fds opened by fn stay bound to the pod's
 * namespace after the thread is gone. Blocking: call from a worker. */
#pragma once

struct err;

typedef int (*netns_fn)(void *userdata, struct err *e);

/* Returns fn's result, or a negative errno (with a message naming path)
 * when the namespace cannot be opened or joined. path NULL or "": fn runs
 * on the new thread in the caller's own namespace. */
int netns_run(const char *path, netns_fn fn, void *userdata, struct err *e);
