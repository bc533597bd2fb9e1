# packaging/config/: the default configuration files. They are generated
# from the schema table (config/cfg-schema.c) by kata-runtime, so defaults
# are written down in one place; tests/integration/test_kata_runtime checks
# that the generated files load back to exactly the built-in defaults.
KATA_DEFAULTS_DIR := /usr/share/defaults/kata-containers
GEN_CONFIG_DIR := $(O)/share/defaults/kata-containers
GEN_CONFIGS := $(GEN_CONFIG_DIR)/configuration-qemu.toml $(GEN_CONFIG_DIR)/configuration-clh.toml

all: $(GEN_CONFIGS)
TEST_EXTRA_DEPS += $(GEN_CONFIGS)

$(GEN_CONFIG_DIR)/configuration-%.toml: $(KATA_RUNTIME)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(KATA_RUNTIME) generate-config $* > $@.tmp && mv $@.tmp $@

# configuration.toml points at QEMU, as upstream's does.
.PHONY: install-config
install: install-config
install-config: $(GEN_CONFIGS)
	install -d $(DESTDIR)$(KATA_DEFAULTS_DIR)
	install -m 0644 $(GEN_CONFIGS) $(DESTDIR)$(KATA_DEFAULTS_DIR)/
	ln -sf configuration-qemu.toml $(DESTDIR)$(KATA_DEFAULTS_DIR)/configuration.toml
