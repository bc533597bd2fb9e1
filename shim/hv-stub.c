/* Stand-in for hypervisor/ until its driver set is complete (shim/shim-v2.mk
 * compiles this file only then): every VM operation fails with ENOTSUP and
 * cleanup has nothing to do. */
#include <errno.h>
#include <string.h>

#include "hypervisor/hv.h"
#include "lib/err.h"

int hv_vm_new(const struct hv_config *cfg, const char *state_dir, const char *sandbox_id,
              struct hv_vm **ret_vm, struct err *e)
{
    (void)cfg;
    (void)state_dir;
    (void)sandbox_id;
    (void)ret_vm;
    return err_set(e, -ENOTSUP, "no hypervisor drivers are built into this shim");
}

struct hv_vm *hv_vm_free(struct hv_vm *vm)
{
    (void)vm;
    return NULL;
}

int hv_cleanup(enum hv_kind kind, const char *state_dir, const char *sandbox_id, struct err *e)
{
    (void)kind;
    (void)state_dir;
    (void)sandbox_id;
    (void)e;
    return 0;
}

const char *hv_kind_name(enum hv_kind kind)
{
    static const char *const names[] = {"qemu", "clh", "mock"};
    return (unsigned)kind < 3 ? names[kind] : "unknown";
}
