# hypervisor/: the driver interface (hv.c), the QEMU, Cloud Hypervisor and
# mock backends, the QMP client and the virtiofsd launcher, in one archive.
HV_SRCS := $(sort $(wildcard hypervisor/*.c))
HV_OBJS := $(HV_SRCS:%.c=$(O)/%.o)
LIBHV := $(O)/hypervisor/libhv.a

ifneq ($(HV_SRCS),)
PROJECT_LIBS := $(LIBHV) $(PROJECT_LIBS)
endif

SYSTEM_LIBS += $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
# libcurl: opened at run time by clh_api.c (dlopen), only for Cloud Hypervisor.
HV_JSON_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)

# The QMP client parses bytes from the VMM, which we trust less than ourselves.
CFLAGS_hypervisor_qmp := $(STRICT_WARNINGS) $(HV_JSON_CFLAGS)
CFLAGS_hypervisor_qemu_argv := $(STRICT_WARNINGS)
CFLAGS_hypervisor_qemu := $(HV_JSON_CFLAGS)
# hv.c dispatches to the Cloud Hypervisor backend once its file exists.
ifneq ($(wildcard hypervisor/clh.c),)
CFLAGS_hypervisor_hv += -DHV_HAVE_CLH
endif

$(LIBHV): $(HV_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^
