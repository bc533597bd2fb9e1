# Top-level, non-recursive build. Each folder contributes a .mk fragment;
# everything is written under $(O) (default build/). See README.md.
#
#   make                  build everything (binaries in $(O)/bin)
#   make test             unit + integration + interop tests (plain Debian 12 host)
#   make check-sanitize   the same suite built with ASan + UBSan + LSan in $(O)-sanitize
#   make fuzz             run every libFuzzer target for FUZZ_SECONDS each
#   make install          PREFIX=/usr/local DESTDIR=
#   make clean
# Knobs: O=dir, CC=gcc|clang, SANITIZE=address,undefined, WERROR=0, V=1.

O ?= build
PREFIX ?= /usr/local
DESTDIR ?=
WERROR ?= 1
SANITIZE ?=
FUZZ_SECONDS ?= 30
V ?= 0

ifeq ($(V),1)
Q :=
else
Q := @
endif

PROTOC_C ?= protoc-c
PKG_CONFIG ?= pkg-config

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wold-style-definition -Wpointer-arith -Wcast-align \
	-Wwrite-strings -Wundef -Wvla -Wimplicit-fallthrough -Wnull-dereference \
	-Wredundant-decls -fno-common
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# Parsers of untrusted bytes add these through their own per-target CFLAGS.
STRICT_WARNINGS := -Wconversion -Wsign-conversion

BASE_CFLAGS := -std=gnu11 -g -D_GNU_SOURCE -fPIE -MMD -MP -I. -I$(O)/protos -pthread
ifeq ($(SANITIZE),)
BASE_CFLAGS += -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
else
BASE_CFLAGS += -O1 -fno-omit-frame-pointer -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
BASE_LDFLAGS_SAN := -fsanitize=$(SANITIZE)
endif
BASE_LDFLAGS := -pie -pthread -Wl,-z,relro,-z,now $(BASE_LDFLAGS_SAN)

PROTOBUF_C_LIBS := $(shell $(PKG_CONFIG) --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)
# System libraries used by some layer (json-c, libcurl, libseccomp, libcap-ng);
# layers append to it.
SYSTEM_LIBS :=

# Compile flags for project code, and for generated code (which we do not
# hold to our own warning set).
CFLAGS_PROJECT := $(BASE_CFLAGS) $(WARNINGS) $(CFLAGS)
CFLAGS_GENERATED := $(BASE_CFLAGS) -w $(CFLAGS)
LDFLAGS_ALL := $(BASE_LDFLAGS) $(LDFLAGS)

# Lists the fragments append to.
BINS :=           # installed programs, $(O)/bin/...
TEST_PROGS :=     # test programs run by tests/run-tests.sh
FUZZ_TARGETS :=   # libFuzzer binaries, $(O)/fuzz/fuzz_<name>
CLEAN_EXTRA :=

.PHONY: all test check check-sanitize fuzz install clean check-layers demo
all:

include protos/protos.mk
include lib/lib.mk
include config/config.mk
include hypervisor/hypervisor.mk
include shim/shim.mk
include agent/agent.mk
include packaging/packaging.mk
include tests/tests.mk

all: $(BINS) $(TEST_PROGS)

# Project objects: every C file builds with the full warning set. Objects wait
# for the generated protobuf headers because any of them may include one.
$(O)/%.o: %.c | $(PROTO_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_PROJECT) $(CFLAGS_$(subst /,_,$(basename $<))) -c -o $@ $<

# Host programs only: kata-agent belongs in the guest initrd (installed by
# install-guest) and toml-decode is the toml-test adapter, as upstream Kata
# installs neither on the host. tests/integration/test_install checks the
# layout.
INSTALL_BINS = $(filter-out %/kata-agent %/toml-decode,$(BINS))
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	$(if $(INSTALL_BINS),install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/)

clean:
	rm -rf $(O) $(O)-sanitize $(CLEAN_EXTRA)

check: test

# The main job until the shim exists: our ttRPC client talks to real peers,
# a Go ttRPC 1.1.1 server and a private containerd 1.6 (an event published
# through Events.Forward shows up in `ctr events`).
# The main job: a private containerd runs `ctr run ... echo hi` in a QEMU VM
# through our shim (tests/e2e/demo.sh prints each step).
demo: all
	$(Q)O=$(O) tests/e2e/demo.sh

# The guest image needs the static agent, which a sanitizer build cannot
# link; without it the QEMU end-to-end tests skip there (they run in `test`).
check-sanitize:
	$(MAKE) O=$(O)-sanitize CC=clang SANITIZE=address,undefined GUEST=0 test

# Layers never reach upward (DESIGN.md): lib/ includes only lib/ and generated
# protos; config/ adds nothing above lib; hypervisor/ never includes shim/ or agent/.
# The guest agent (agent/) depends on lib/ and protos only; agent/ctl/ is a
# host tool whose connect --vm boots a VM, so it may use config/ and
# hypervisor/ (never shim/).
check-layers:
	@! grep -rnE '#include "(config|hypervisor|shim|agent)/' lib/ || { echo "lib/ reaches upward"; exit 1; }
	@! grep -rnE '#include "(hypervisor|shim|agent)/' config/ || { echo "config/ reaches upward"; exit 1; }
	@! grep -rnE '#include "(shim|agent)/' hypervisor/ || { echo "hypervisor/ reaches upward"; exit 1; }
	@! grep -rnE '#include "shim/' agent/ || { echo "agent/ includes shim/"; exit 1; }
	@! grep -rnE --exclude-dir=ctl '#include "(config|hypervisor)/' agent/ || { echo "agent/ (the guest agent) reaches host layers"; exit 1; }
	@echo "check-layers: ok"

# Keep intermediate objects (pattern chains would otherwise delete them).
.SECONDARY:

# Dependency files are written by the compiler, never made by a rule (without
# this, make would try the test-program pattern rules on them).
$(O)/%.d: ;
-include $(shell find $(O) -name '*.d' 2>/dev/null)
