# config/: TOML parser and the Kata configuration schema.
CONFIG_SRCS := $(sort $(wildcard config/*.c))
CONFIG_OBJS := $(CONFIG_SRCS:%.c=$(O)/%.o)
LIBCONFIG := $(O)/config/libconfig.a

ifneq ($(CONFIG_SRCS),)
PROJECT_LIBS := $(LIBCONFIG) $(PROJECT_LIBS)
endif

$(LIBCONFIG): $(CONFIG_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The parser reads untrusted text.
CFLAGS_config_toml := $(STRICT_WARNINGS)
CFLAGS_config_toml-lex := $(STRICT_WARNINGS)
CFLAGS_config_toml-scalar := $(STRICT_WARNINGS)
CFLAGS_config_toml-value := $(STRICT_WARNINGS)

JSONC_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)

# toml-decode: toml-test's decoder protocol (TOML on stdin, tagged JSON on
# stdout), for running the public conformance suite against the parser.
TOML_DECODE := $(O)/bin/toml-decode
BINS += $(TOML_DECODE)

$(TOML_DECODE): $(O)/config/tools/toml-decode.o $(LIBCONFIG) $(LIBKATA)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBCONFIG) $(LIBKATA)

# The toml-test-layout runner (not a TEST() program: it takes a folder) and
# the comparison code it shares with tests/unit/test_toml.
TOML_COMPARE_OBJ := $(O)/tests/toml/toml_compare.o
TOML_SUITE := $(O)/tests/toml/run_toml_suite
all: $(TOML_SUITE)

$(TOML_SUITE): $(O)/tests/toml/run_toml_suite.o $(TOML_COMPARE_OBJ) $(LIBCONFIG) $(LIBKATA)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(TOML_COMPARE_OBJ) $(LIBCONFIG) $(LIBKATA) $(JSONC_LIBS)

$(O)/tests/unit/test_toml: $(TOML_COMPARE_OBJ) $(TOML_DECODE)
LDLIBS_tests_unit_test_toml := $(TOML_COMPARE_OBJ) $(LIBCONFIG) $(LIBKATA) $(JSONC_LIBS)
CFLAGS_tests_unit_test_toml := -DTOML_CORPUS_DIR='"$(abspath tests/toml/corpus)"' \
	-DTOML_DECODE_PATH='"$(abspath $(TOML_DECODE))"'

# tests/fuzz/fuzz.mk links fuzz targets with lib/ only; the TOML target
# needs this layer too.
$(O)/tests/fuzz/replay_toml $(O)/tests/fuzz/libfuzzer_toml: $(LIBCONFIG)
$(O)/tests/fuzz/replay_toml $(O)/tests/fuzz/libfuzzer_toml: LIBKATA_LINK := $(LIBCONFIG) $(LIBKATA_LINK)

# tests/unit/test_cfg_dropin reads its fixtures from the source tree.
CFLAGS_tests_unit_test_cfg_dropin := -DKATA_TEST_DATA='"$(abspath tests/data/config)"'
