# Every tests/support/*.c goes into the support archive through the wildcard
# in tests/tests.mk, with nothing to add here: containerd and agent harnesses,
# the in-process shim (shim_env.c), ctr in QEMU VMs (vm_ctr.c), and a QEMU
# guest driven through its agent API (vm_agent.c, for tests/e2e/agent-vm/).
# What needs more than the archive is below.
#
# tests/support/fake_clh/: a fake Cloud Hypervisor (Cloud Hypervisor is not
# packaged in Debian 12). fake_clh.c is the API server, linked into the
# tests that run it in-process; main.c makes it the executable
# $(O)/tests/support/fake-cloud-hypervisor that the CLH driver spawns like
# the real binary. They live in a subfolder so that the fake's main() stays
# out of the shared support archive.
FAKE_CLH_OBJ := $(O)/tests/support/fake_clh/fake_clh.o
FAKE_CLH_BIN := $(O)/tests/support/fake-cloud-hypervisor
FAKE_CLH_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)

# Parsers of untrusted bytes: the fake's HTTP parser, the tests and the fuzzer.
CFLAGS_tests_support_fake_clh_fake_clh := $(STRICT_WARNINGS)
CFLAGS_tests_support_fake_clh_main := $(STRICT_WARNINGS)
CFLAGS_tests_unit_test_clh_api := $(STRICT_WARNINGS)
CFLAGS_tests_fuzz_fuzz_clh_response := $(STRICT_WARNINGS)

$(FAKE_CLH_BIN): $(O)/tests/support/fake_clh/main.o $(FAKE_CLH_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(FAKE_CLH_LIBS)

all: $(FAKE_CLH_BIN)
TEST_EXTRA_DEPS += $(FAKE_CLH_BIN)

# Tests that use the fake: the in-process server object, and the binary.
$(O)/tests/unit/test_clh_api: $(FAKE_CLH_OBJ)
LDLIBS_tests_unit_test_clh_api := $(FAKE_CLH_OBJ) $(FAKE_CLH_LIBS)
$(O)/tests/integration/test_clh_driver: $(FAKE_CLH_OBJ) | $(FAKE_CLH_BIN)
LDLIBS_tests_integration_test_clh_driver := $(FAKE_CLH_OBJ) $(FAKE_CLH_LIBS)
