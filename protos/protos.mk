# protos/: .proto files written in this repo, wire-compatible with upstream.
# protoc-c generates C into $(O)/protos at build time; nothing generated is
# committed. Imports are written relative to protos/ (or /usr/include for
# Google's well-known types), so generated code is included as
# "kata/agent.pb-c.h", "google/protobuf/empty.pb-c.h", ...

# Well-known types come from Debian's libprotobuf-dev.
PROTO_SYSTEM_INCLUDE ?= /usr/include
PROTO_WELL_KNOWN := google/protobuf/any.proto google/protobuf/empty.proto \
	google/protobuf/timestamp.proto google/protobuf/wrappers.proto

# Our own files, relative to protos/.
PROTO_OWN := $(patsubst protos/%,%,$(sort $(shell find protos -name '*.proto')))

PROTO_ALL := $(PROTO_OWN) $(PROTO_WELL_KNOWN)
PROTO_SRCS := $(addprefix $(O)/protos/,$(PROTO_ALL:.proto=.pb-c.c))
PROTO_HDRS := $(PROTO_SRCS:.c=.h)
PROTO_OBJS := $(PROTO_SRCS:.c=.o)
PROTOS_LIB := $(O)/protos/libprotos.a

# One protoc-c run per file; each output pair depends on its own .proto only,
# plus every .proto so a changed import regenerates dependants.
$(O)/protos/%.pb-c.c $(O)/protos/%.pb-c.h: protos/%.proto $(addprefix protos/,$(PROTO_OWN))
	@mkdir -p $(O)/protos
	@echo "  PROTOC  $<"
	$(Q)$(PROTOC_C) -Iprotos -I$(PROTO_SYSTEM_INCLUDE) --c_out=$(O)/protos $<

$(O)/protos/google/protobuf/%.pb-c.c $(O)/protos/google/protobuf/%.pb-c.h: $(PROTO_SYSTEM_INCLUDE)/google/protobuf/%.proto
	@mkdir -p $(O)/protos
	@echo "  PROTOC  $<"
	$(Q)$(PROTOC_C) -I$(PROTO_SYSTEM_INCLUDE) --c_out=$(O)/protos $<

$(O)/protos/%.pb-c.o: $(O)/protos/%.pb-c.c | $(PROTO_HDRS)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_GENERATED) -c -o $@ $<

$(PROTOS_LIB): $(PROTO_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

