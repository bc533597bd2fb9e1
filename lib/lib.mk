# lib/: mechanism shared by host and guest binaries, built into one archive.
LIB_SRCS := $(sort $(wildcard lib/*.c lib/ttrpc/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
LIBKATA := $(O)/lib/libkata.a

# Parsers of untrusted bytes build with the stricter conversion warnings.
CFLAGS_lib_ttrpc_frame := $(STRICT_WARNINGS)
CFLAGS_lib_ttrpc_server := $(STRICT_WARNINGS)
CFLAGS_lib_ttrpc_client := $(STRICT_WARNINGS)
CFLAGS_lib_ttrpc_envelope := $(STRICT_WARNINGS)
CFLAGS_lib_transport := $(STRICT_WARNINGS)

$(LIBKATA): $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Link order for programs using lib/: project archive, then generated protos.
LIBKATA_LINK := $(LIBKATA) $(PROTOS_LIB) $(PROTOBUF_C_LIBS)

# Every layer prepends its archive, so PROJECT_LIBS lists them top layer
# first, the order a static link needs; test programs link all of them.
PROJECT_LIBS := $(LIBKATA)
CFLAGS_lib_vport_sync := $(STRICT_WARNINGS)
CFLAGS_lib_mount_options := $(STRICT_WARNINGS)
CFLAGS_lib_netlink := $(STRICT_WARNINGS)
