# agent/ctl/: kata-agent-ctl, the low-level tool that calls any agent API
# (included from agent/agent.mk).
#
# It also carries the build settings of what it brought into lib/: the
# descriptor-driven JSON glue lib/pbjson*.c and lib/oci_spec_json.c, which
# need json-c. A static archive only pulls in the objects a program uses, so
# programs that never touch JSON (the static kata-agent) do not need json-c.

JSONC_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
ifeq ($(filter $(JSONC_LIBS),$(SYSTEM_LIBS)),)
SYSTEM_LIBS += $(JSONC_LIBS)
endif

# JSON from files and the command line is untrusted input.
CFLAGS_lib_pbjson := $(STRICT_WARNINGS)
CFLAGS_lib_pbjson_text := $(STRICT_WARNINGS)
CFLAGS_lib_pbjson_write := $(STRICT_WARNINGS)
CFLAGS_lib_oci_spec_json := $(STRICT_WARNINGS)

CTL_SRCS := $(sort $(wildcard agent/ctl/*.c))
CTL_OBJS := $(CTL_SRCS:%.c=$(O)/%.o)
KATA_AGENT_CTL := $(O)/bin/kata-agent-ctl
BINS += $(KATA_AGENT_CTL)

# A host tool: connect --vm boots a VM through hypervisor/ (which needs
# config/ and json-c; libcurl is opened at run time for Cloud Hypervisor),
# unlike the agent it talks to.
$(KATA_AGENT_CTL): $(CTL_OBJS) $(LIBHV) $(LIBCONFIG) $(LIBKATA) $(PROTOS_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(CTL_OBJS) $(LIBHV) $(LIBCONFIG) $(LIBKATA_LINK) \
		$(JSONC_LIBS)

# The fuzz programs link lib/ without SYSTEM_LIBS.
$(O)/tests/fuzz/replay_oci_spec_json $(O)/tests/fuzz/libfuzzer_oci_spec_json: \
	LIBKATA_LINK += $(JSONC_LIBS)

# The integration test runs the built tool, and the real agent when it exists.
CFLAGS_tests_integration_test_agent_ctl := \
	-DKATA_AGENT_CTL_PATH='"$(abspath $(KATA_AGENT_CTL))"' \
	-DKATA_AGENT_PATH='"$(abspath $(O)/bin/kata-agent)"'

# The OCI unit test reads the fuzz seeds as its sample specs.
CFLAGS_tests_unit_test_oci_spec_json := \
	-DOCI_CORPUS_DIR='"$(abspath tests/fuzz/corpus/oci_spec_json)"'
