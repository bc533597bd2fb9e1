# shim/kata-runtime/: the kata-runtime tool (check, env, --version), and
# the default configuration files it generates from the schema table.
KATA_RUNTIME := $(O)/bin/kata-runtime
KATA_RUNTIME_SRCS := $(sort $(wildcard shim/kata-runtime/*.c))
KATA_RUNTIME_OBJS := $(KATA_RUNTIME_SRCS:%.c=$(O)/%.o)
KATA_RUNTIME_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
KATA_RUNTIME_VERSION ?= 0.1.0
KATA_RUNTIME_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

CFLAGS_shim_kata-runtime_main := -DKATA_RUNTIME_VERSION='"$(KATA_RUNTIME_VERSION)"' \
	-DKATA_RUNTIME_COMMIT='"$(KATA_RUNTIME_COMMIT)"'
CFLAGS_shim_kata-runtime_env := $(CFLAGS_shim_kata-runtime_main) \
	$(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)

$(KATA_RUNTIME): $(KATA_RUNTIME_OBJS) $(LIBCONFIG) $(LIBKATA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(KATA_RUNTIME_OBJS) $(LIBCONFIG) $(LIBKATA) $(KATA_RUNTIME_LIBS)

BINS += $(KATA_RUNTIME)

# The integration test runs the binary; it also reads env --json with json-c.
TEST_EXTRA_DEPS += $(KATA_RUNTIME)
LDLIBS_tests_integration_test_kata_runtime := $(KATA_RUNTIME_LIBS)
# (recursive: GEN_CONFIG_DIR comes from packaging/config/config.mk, read later)
CFLAGS_tests_integration_test_kata_runtime = \
	-DKATA_RUNTIME_BIN='"$(abspath $(KATA_RUNTIME))"' \
	-DKATA_TEST_DATA='"$(abspath tests/data/config)"' \
	-DKATA_GEN_CONFIG_DIR='"$(abspath $(GEN_CONFIG_DIR))"' \
	$(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
