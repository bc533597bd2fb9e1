/* Fuzz target: one uevent datagram (agent/uevent.h), as the kernel or
 * anything else could put on the netlink socket, then the block-device
 * matcher of agent/devices.h against what was parsed; and the same bytes
 * as a PCI path. Whatever is accepted
 * must be NUL-terminated within its field and keep the invariants the
 * agent relies on (an absolute DEVPATH without "/../"). */
#include <assert.h>
#include <string.h>

#include "agent/devices.h"
#include "agent/uevent.h"
#include "tests/fuzz/fuzz.h"

/* The same bytes as a PCI path from the host (a Storage source or a
 * Device id): whatever parses stays within the limits. */
static void pci_path(const uint8_t *data, size_t size)
{
    char s[64];
    struct devices_pci_path p;
    if (size >= sizeof(s))
        size = sizeof(s) - 1;
    memcpy(s, data, size);
    s[size] = '\0';
    if (devices_pci_path_parse(s, &p, NULL) == 0) {
        assert(p.n >= 1 && p.n <= DEVICES_PCI_MAX_DEPTH);
        for (unsigned i = 0; i < p.n; i++)
            assert(p.slot[i] <= 0x1f && p.fn[i] <= 7);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct uevent u;
    pci_path(data, size);
    if (uevent_parse(data, size, &u) < 0)
        return 0;
    assert(memchr(u.action, '\0', sizeof(u.action)) && u.action[0]);
    assert(memchr(u.devpath, '\0', sizeof(u.devpath)) && u.devpath[0] == '/');
    assert(!strstr(u.devpath, "/../"));
    assert(memchr(u.subsystem, '\0', sizeof(u.subsystem)));
    assert(memchr(u.devname, '\0', sizeof(u.devname)));
    /* The matcher walks DEVPATH: feed it the parsed event for two paths. */
    struct devices_pci_path one = {1, {2}, {0}}, two = {2, {2, 0}, {0, 0}};
    const char *name = NULL;
    if (devices_blk_devpath_match(&one, u.devpath, &name))
        assert(name && *name && !strchr(name, '/'));
    (void)devices_blk_uevent_match(&two, &u);
    return 0;
}
