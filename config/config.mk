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
