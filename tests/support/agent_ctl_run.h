/* Test support for the end-to-end tests that drive kata-agent-ctl
 * (`connect --vm qemu` boots a guest and talks to its agent): where the
 * build put the tool and the guest, running the tool under a deadline while
 * watching its output, and the state folder it announces. Test-only code
 * that blocks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* $O, or "build": the build's output folder (bin/, guest/). */
const char *actl_out_dir(void);
/* Milliseconds on the monotonic clock. */
long long actl_now_ms(void);

/* Called after each chunk of output: the tool's pid (to signal it) and
 * all output so far, NUL-terminated. */
typedef void (*actl_watch_fn)(pid_t pid, const char *out, void *userdata);

/* Runs `ctl -l debug args...` (args NULL-terminated, at most 40) with
 * TMPDIR set to the test's scratch dir (where the tool keeps its state
 * when /run is not writable), stdout and stderr into out[size]; SIGKILL
 * after timeout_ms. When out fills up, keep_tail starts it over (the tail
 * is kept), otherwise reading stops there. watch may be NULL. Prints the
 * output. Returns the exit status (128+N for a signal), or -1. */
int actl_run(const char *ctl, const char *const *args, int timeout_ms, bool keep_tail, char *out,
             size_t size, actl_watch_fn watch, void *userdata);

/* The folder of the tool's "state folder <path>" line into path[size]:
 * true, or false when out has none (or it does not fit). */
bool actl_state_folder(const char *out, char *path, size_t size);
