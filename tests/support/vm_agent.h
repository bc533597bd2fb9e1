/* Test support for the end-to-end tests that boot the real guest image in
 * QEMU through hypervisor/ (TCG here, KVM where it works) and talk to the
 * agent themselves over ttRPC (tests/e2e/agent-vm/, test_vm_bulk_output.c):
 * finding the built guest, booting it and waiting for the agent, dialing
 * the agent channel, one blocking agent call, and reading the guest
 * console. Test-only code that blocks; one VM per struct vma_vm, used from
 * one thread. Functions returning int follow the TEST() convention where
 * they say so (0, 1 after a failure already reported, or a test_skip()
 * value), else 0 or -errno; agent calls return a gRPC code. */
#pragma once

#include <limits.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "hypervisor/hv.h"

struct loop;
struct ttrpc_client;

#define VMA_QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define VMA_VIRTIOFSD_BIN "/usr/lib/qemu/virtiofsd"
#define VMA_SEC 1000000000ull
/* Where the agent mounts the sandbox's shared folder in the guest. */
#define VMA_GUEST_SHARED "/run/kata-containers/shared/containers"

/* The built guest image, as absolute paths. */
struct vma_guest {
    char kernel[PATH_MAX];
    char initrd[PATH_MAX];
};
/* Finds <O>/<flavour>/ ("guest", or "guest-generic" for 9p), O being
 * actl_out_dir() of agent_ctl_run.h (the clock is its actl_now_ms()). TEST()
 * convention: skips when QEMU, virtiofsd (if need_virtiofsd) or the image
 * is missing, naming what to install or build. */
int vma_guest_find(struct vma_guest *g, const char *flavour, bool need_virtiofsd);

/* What differs between the tests' VMs; the rest is fixed: q35, one vCPU,
 * the agent channel the host offers (vsock, else virtio-serial). */
struct vma_opts {
    const char *name;              /* state folder <test_tmpdir()>/<name> */
    const struct vma_guest *guest;
    enum hv_shared_fs shared_fs;   /* a share folder is made unless NONE */
    unsigned memory_mib;           /* 0: 256 */
    unsigned pcie_root_ports;      /* hotplug slots; 0: none */
    const char *kernel_params;     /* appended, may be NULL */
    const char *qemu;              /* NULL: VMA_QEMU_BIN (else a wrapper, to debug) */
    const char *entropy_source;    /* NULL: the driver's default */
    bool mem_prealloc;             /* hv_config's memory knobs */
    bool hugepages;
};

struct vma_vm {
    struct hv_vm *hv;
    char dir[PATH_MAX];    /* the VM's state folder, with console.log */
    char share[PATH_MAX];  /* host side of the shared folder (if any) */
    struct loop *loop;
    struct ttrpc_client *client; /* NULL until vma_dial */
};

/* Creates and starts the VM without waiting for the guest. *v is zeroed
 * first, so vma_done may follow any return. TEST() convention. */
int vma_launch(struct vma_vm *v, const struct vma_opts *o);
/* vma_launch, then waits (up to 120 s) until the agent serves, showing
 * the console if it never does, and dials it. TEST() convention. */
int vma_boot(struct vma_vm *v, const struct vma_opts *o);
/* Connects to the agent, replacing any earlier connection (a host-side
 * reconnect). TEST() convention. */
int vma_dial(struct vma_vm *v);
/* Closes the connection, stops the VM (up to 10 s) and frees it; the
 * state folder goes with it. Returns what hv_vm_stop said (printed). */
int vma_stop(struct vma_vm *v);
/* vma_stop for _cleanup_(): a test that fails midway leaves no QEMU. */
void vma_done(struct vma_vm *v);

/* One call to grpc.AgentService (grpc.Health for "Check"), up to 120 s.
 * resp_type NULL means Empty. The reply goes to *ret_resp when given
 * (freed with protobuf_c_message_free_unpacked). Returns the gRPC code,
 * UNAVAILABLE when the call failed locally; the error text goes to msg
 * ("" on success) when msg is not NULL. */
int vma_call(struct vma_vm *v, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret_resp, char *msg,
             size_t msg_size);

/* Does a line of the console log contain text? */
bool vma_console_has(const struct vma_vm *v, const char *text);
/* Waits for text on the console; -ECHILD when QEMU exited first, or
 * -ETIMEDOUT. */
int vma_console_wait(const struct vma_vm *v, const char *text, int timeout_ms);
/* Up to size-1 bytes from the start of the console log, NUL-terminated;
 * returns the length (0 when there is no log). */
size_t vma_console_read(const struct vma_vm *v, char *buf, size_t size);
/* Prints the last max_lines lines of the console that match the extended
 * regex grep (every line when NULL) as "#   " comments. */
void vma_console_show(const struct vma_vm *v, const char *grep, unsigned max_lines);
