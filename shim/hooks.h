/* OCI hooks that belong on the host, run by the shim as upstream Kata runs
 * them: prestart and createRuntime during Create (before the container
 * exists in the guest; a failure fails Create), poststart after Start and
 * poststop at Delete or after a Create that failed once the create hooks
 * ran (failures are only logged). The guest
 * never sees host hook paths: agent_spec drops spec.hooks, and
 * createContainer/startContainer hooks are left to the guest's own
 * guest_hook_path, as in Kata.
 *
 * Each hook gets the OCI state on stdin ({ociVersion, id, status, pid,
 * bundle, annotations}; pid is the shim's, as upstream passes its own
 * thread: guest pids mean nothing on the host), exactly its args and env,
 * its own session, and SIGKILL (its whole process group) once its timeout
 * (seconds) passes. Prestart and createRuntime hooks run inside the
 * spec's network namespace when it names one, as upstream does.
 *
 * hooks_run() blocks: call it from a workpool thread, never the loop. A
 * `struct hooks` is immutable once loaded and reference counted, so an
 * asynchronous run may outlive the container. Errors: negative errno with
 * the message in struct err naming the stage, the hook's path and index,
 * and its exit status or signal with the tail of its stderr. */
#pragma once

struct err;
struct hooks;
struct workpool;

enum hooks_stage { HOOKS_PRESTART, HOOKS_CREATE_RUNTIME, HOOKS_POSTSTART, HOOKS_POSTSTOP };

/* Reads the host hooks of a bundle's config.json; *ret_hooks is NULL when
 * the spec has none. A hook whose path is not absolute or whose timeout is
 * negative is -EINVAL, naming the field ("hooks.prestart[1].path"). */
int hooks_load(const char *config_json, const char *container_id, const char *bundle,
               struct hooks **ret_hooks, struct err *e);

/* Runs the stage's hooks in order and stops at the first failure. NULL h
 * runs nothing. */
int hooks_run(const struct hooks *h, enum hooks_stage stage, struct err *e);

/* Prestart, then createRuntime: what Create runs. When one fails, the
 * poststop hooks run before it returns (hooks_run_poststop()), as runc
 * runs them when it destroys a container whose create failed. */
int hooks_run_create(const struct hooks *h, struct err *e);

/* The poststop stage where nothing may fail any more (Delete, or a Create
 * that failed after hooks_run_create() succeeded): a failing hook is
 * logged as a warning and the rest of the stage skipped. NULL-safe. */
void hooks_run_poststop(const struct hooks *h);

/* hooks_run() on a pool thread; a failure is logged as a warning. Nothing
 * is queued when h has no hook for the stage. */
void hooks_run_async(struct workpool *pool, struct hooks *h, enum hooks_stage stage);

struct hooks *hooks_ref(struct hooks *h);
/* Drops a reference; NULL-safe, returns NULL. */
struct hooks *hooks_unref(struct hooks *h);

const char *hooks_stage_name(enum hooks_stage stage);
