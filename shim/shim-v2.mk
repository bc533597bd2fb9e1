# shim/shim-v2.mk: containerd-shim-kata-v2 (included from shim/shim.mk).
#
# Everything in shim/*.c except main.c goes into $(O)/shim/libshim.a, which
# test programs link too (PROJECT_LIBS). Until hypervisor/ has its driver
# set (hv.c plus the qemu and mock backends it dispatches to), a stand-in
# (shim/hv-stub.c, linked ahead of libhv) makes every VM operation fail with
# ENOTSUP.
SHIM_V2 := $(O)/bin/containerd-shim-kata-v2
SHIM_V2_ALL_SRCS := $(sort $(filter-out shim/main.c shim/hv-stub.c,$(wildcard shim/*.c)))
SHIM_HV_READY := $(and $(wildcard hypervisor/hv.c),$(wildcard hypervisor/qemu.c),$(wildcard hypervisor/mock.c))
ifeq ($(SHIM_HV_READY),)
SHIM_V2_ALL_SRCS += shim/hv-stub.c
endif
SHIM_V2_OBJS := $(SHIM_V2_ALL_SRCS:%.c=$(O)/%.o)
LIBSHIM := $(O)/shim/libshim.a

SHIM_V2_SYSLIBS := $(shell $(PKG_CONFIG) --libs nettle json-c 2>/dev/null || echo -lnettle -ljson-c) -lm
SYSTEM_LIBS += $(SHIM_V2_SYSLIBS)

# Glue that decodes untrusted bytes builds with the stricter warnings.
CFLAGS_shim_agent_client := $(STRICT_WARNINGS)
CFLAGS_shim_args := $(STRICT_WARNINGS)
CFLAGS_shim_address := $(STRICT_WARNINGS)

$(LIBSHIM): $(SHIM_V2_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Link against the layers below the shim as they are at this point of the
# Makefile (config, hypervisor, lib), never the agent.
SHIM_V2_LINK := $(LIBSHIM) $(PROJECT_LIBS) $(PROTOS_LIB) $(PROTOBUF_C_LIBS)
ifeq ($(SHIM_HV_READY),)
SHIM_V2_LINK := $(filter-out $(LIBHV),$(SHIM_V2_LINK))
endif
PROJECT_LIBS := $(LIBSHIM) $(PROJECT_LIBS)

$(SHIM_V2): $(O)/shim/main.o $(SHIM_V2_LINK:-l%=)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(SHIM_V2_LINK) $(SYSTEM_LIBS)

BINS += $(SHIM_V2)

# Test support owned by the shim: the offline busybox image script is found
# through its absolute path.
CFLAGS_tests_support_busybox_image := -DBUSYBOX_IMAGE_SH='"$(abspath tests/support/busybox_image.sh)"'
# Shim tests run the built binary.
TEST_EXTRA_DEPS += $(SHIM_V2)
