# agent/: the guest agent kata-agent (agent/ctl/ brings kata-agent-ctl).
#
# The agent is linked statically so it can be the initrd's /init: glibc's
# libc.a, libseccomp.a, libcap-ng.a and libprotobuf-c.a, with -static-pie.
# Sanitizer builds (SANITIZE set) link it dynamically, because the ASan
# runtime cannot be linked into a static binary.
AGENT_SRCS := $(filter-out agent/ctl/%,$(sort $(wildcard agent/*.c)))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(O)/%.o)
KATA_AGENT := $(O)/bin/kata-agent
AGENT_SYSTEM_LIBS := -lseccomp -lcap-ng

ifeq ($(SANITIZE),)
AGENT_LINK_MODE := -static-pie
else
AGENT_LINK_MODE :=
endif

# The glue decodes peer-controlled protobuf: stricter conversions there.
CFLAGS_agent_oci_glue := $(STRICT_WARNINGS)

BINS += $(KATA_AGENT)

$(KATA_AGENT): $(AGENT_OBJS) $(LIBKATA) $(PROTOS_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) $(AGENT_LINK_MODE) -o $@ $(AGENT_OBJS) $(LIBKATA) $(PROTOS_LIB) \
		$(PROTOBUF_C_LIBS) $(AGENT_SYSTEM_LIBS)

-include agent/ctl/ctl.mk

# tests/bench/agent's helper (run by `tests/bench/agent`, not by make test).
AGENT_BENCH := $(O)/tests/bench/agent_bench
AGENT_BENCH_OBJS := $(O)/tests/bench/agent_bench.o $(O)/tests/support/agent_harness.o
all: $(AGENT_BENCH)
$(AGENT_BENCH): $(AGENT_BENCH_OBJS) $(LIBKATA) $(PROTOS_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(AGENT_BENCH_OBJS) $(LIBKATA_LINK)

# uevents come from a socket: parsed with the stricter conversions too. Their
# unit test and fuzz target link the two objects they exercise.
CFLAGS_agent_uevent := $(STRICT_WARNINGS)
CFLAGS_agent_devices := $(STRICT_WARNINGS)
CFLAGS_agent_agent_service_devices := $(STRICT_WARNINGS)
CFLAGS_agent_oci_devices := $(STRICT_WARNINGS)
AGENT_DEVICE_OBJS := $(O)/agent/devices.o $(O)/agent/uevent.o
LDLIBS_tests_unit_test_agent_devices := $(AGENT_DEVICE_OBJS) $(O)/agent/oci_devices.o
$(O)/tests/unit/test_agent_devices: $(AGENT_DEVICE_OBJS) $(O)/agent/oci_devices.o
$(O)/tests/fuzz/replay_uevent $(O)/tests/fuzz/libfuzzer_uevent: $(AGENT_DEVICE_OBJS)
$(O)/tests/fuzz/replay_uevent $(O)/tests/fuzz/libfuzzer_uevent: TEST_LINK += $(AGENT_DEVICE_OBJS) $(LIBKATA)

# agent/cmdline.c parses the kernel command line: strict conversions, and
# its unit test and fuzz target link the object itself.
CFLAGS_agent_cmdline := $(STRICT_WARNINGS)
LDLIBS_tests_unit_test_agent_cmdline := $(O)/agent/cmdline.o
$(O)/tests/unit/test_agent_cmdline: $(O)/agent/cmdline.o
$(O)/tests/fuzz/replay_agent_cmdline $(O)/tests/fuzz/libfuzzer_agent_cmdline: $(O)/agent/cmdline.o
$(O)/tests/fuzz/replay_agent_cmdline $(O)/tests/fuzz/libfuzzer_agent_cmdline: \
	LDFLAGS_ALL += $(O)/agent/cmdline.o
# The resource RPCs take sizes and addresses from the peer: strict too;
# agent/guest.c is unit-tested on a fake sysfs tree.
CFLAGS_agent_agent_service_resource := $(STRICT_WARNINGS)
CFLAGS_agent_guest := $(STRICT_WARNINGS)
LDLIBS_tests_unit_test_agent_guest := $(O)/agent/guest.o
$(O)/tests/unit/test_agent_guest: $(O)/agent/guest.o

# The network RPCs parse addresses, masks and MACs a peer sent: strict too.
CFLAGS_agent_network := $(STRICT_WARNINGS)
CFLAGS_agent_network-route := $(STRICT_WARNINGS)
CFLAGS_agent_network-dns := $(STRICT_WARNINGS)
CFLAGS_agent_agent_service_network := $(STRICT_WARNINGS)
# tests/integration/test_agent_loopback calls agent/network.c directly.
AGENT_NETWORK_OBJS := $(O)/agent/network.o $(O)/agent/network-route.o $(O)/agent/network-dns.o
LDLIBS_tests_integration_test_agent_loopback := $(AGENT_NETWORK_OBJS)
$(O)/tests/integration/test_agent_loopback: $(AGENT_NETWORK_OBJS)

# The RPC gate held while kernel modules load after serving (agent/kmod.h),
# with a real ttRPC server and worker pool.
AGENT_KMOD_OBJS := $(O)/agent/kmod.o $(O)/agent/pid1.o
LDLIBS_tests_unit_test_agent_kmod := $(AGENT_KMOD_OBJS)
$(O)/tests/unit/test_agent_kmod: $(AGENT_KMOD_OBJS)

# The cgroup device rules and their BPF program, without a kernel.
AGENT_CGROUP_OBJS := $(O)/agent/cgroups.o $(O)/agent/cgroups-v1.o $(O)/agent/cgroups-v2.o \
	$(O)/agent/cgroups-devices-bpf.o
LDLIBS_tests_unit_test_agent_cgroups := $(AGENT_CGROUP_OBJS)
$(O)/tests/unit/test_agent_cgroups: $(AGENT_CGROUP_OBJS)

# Process stdio on real ptys and pipes, with a real loop.
LDLIBS_tests_unit_test_agent_stdio := $(O)/agent/stdio.o
$(O)/tests/unit/test_agent_stdio: $(O)/agent/stdio.o
