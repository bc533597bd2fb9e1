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
