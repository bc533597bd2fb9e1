# tests/e2e/: real QEMU (TCG here, KVM where it works) with the guest kernel
# from packaging/guest. Every tests/e2e/test_*.c is a test program; they run
# in `make test` (each test skips with a reason when QEMU, the guest kernel or
# a PID-1-capable agent is missing) and alone with `make e2e`.
ifndef E2E_MK_INCLUDED
E2E_MK_INCLUDED := 1

E2E_SRCS := $(sort $(wildcard tests/e2e/test_*.c tests/e2e/*/test_*.c))
E2E_BINS := $(E2E_SRCS:%.c=$(O)/%)
E2E_INIT := $(O)/tests/e2e/e2e_init
E2E_INITRD := $(O)/tests/e2e/e2e-initrd.img
BOOT_BENCH := $(O)/tests/bench/boot_bench
BOOT_BARE_INIT := $(O)/tests/bench/boot_init
BOOT_BARE_INITRD := $(O)/tests/bench/bare-initrd.img

TEST_PROGS += $(E2E_BINS)
ifeq ($(GUEST),1)
all: $(E2E_INITRD) $(BOOT_BARE_INITRD)
endif
all: $(BOOT_BENCH)

# Static stand-in /init (agent/pid1.c + a serial echo) and the bench's
# power-off /init; same kernel and module set as the real initrd.
$(E2E_INIT): $(O)/tests/e2e/e2e_init.o $(O)/agent/pid1.o $(O)/lib/err.o
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -static-pie -o $@ $^
$(BOOT_BARE_INIT): $(O)/tests/bench/boot_init.o
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -static-pie -o $@ $^

$(E2E_INITRD): $(E2E_INIT) $(GUEST_KERNEL) packaging/guest/build-initrd.sh packaging/guest/modules.list
	$(Q)packaging/guest/build-initrd.sh $(GUEST_DIR)/kernel.env $(E2E_INIT) $@ none 2>/dev/null
$(BOOT_BARE_INITRD): $(BOOT_BARE_INIT) $(GUEST_KERNEL) packaging/guest/build-initrd.sh packaging/guest/modules.list
	$(Q)packaging/guest/build-initrd.sh $(GUEST_DIR)/kernel.env $(BOOT_BARE_INIT) $@ $(GUEST_INITRD_COMPRESS) 2>/dev/null

$(BOOT_BENCH): $(O)/tests/bench/boot_bench.o $(LIBHV) $(LIBCONFIG) $(LIBKATA) $(PROTOS_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBHV) $(LIBCONFIG) $(LIBKATA) $(PROTOS_LIB) \
		$(PROTOBUF_C_LIBS) $(SYSTEM_LIBS)

# CRI end to end (tests/e2e/test_cri.c, tests/e2e/cri/): the static pause
# program for the pod sandbox image (plain static C: it goes into an image
# layer on its own, so no project flags or sanitizers), and the Node CRI
# client's modules, installed from the committed package-lock.json with
# `npm ci` into $(O). Without npm or the registry the build goes on and
# test_cri skips, naming the reason.
CRI_OUT := $(O)/tests/e2e/cri
CRI_PAUSE := $(CRI_OUT)/pause
CRI_NODE_STAMP := $(CRI_OUT)/node_modules/.installed
all: $(CRI_PAUSE) $(CRI_NODE_STAMP)

$(CRI_PAUSE): tests/e2e/cri/pause.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) -O2 -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -static -o $@ $<

$(CRI_NODE_STAMP): tests/e2e/cri/package.json tests/e2e/cri/package-lock.json
	@mkdir -p $(CRI_OUT)
	$(Q)cp tests/e2e/cri/package.json tests/e2e/cri/package-lock.json $(CRI_OUT)/
	@echo "  NPM     $(CRI_OUT)/node_modules"
	$(Q)if ! command -v npm >/dev/null 2>&1; then \
		echo "npm is not installed: test_cri will skip (packaging/deps.sh test)"; \
	elif npm ci --prefix $(CRI_OUT) --no-audit --no-fund --ignore-scripts \
			--fetch-retries=1 --fetch-timeout=60000 --loglevel=error >$(CRI_OUT)/npm.log 2>&1; then \
		touch $@; \
	else echo "npm ci failed (see $(CRI_OUT)/npm.log): test_cri will skip"; fi

.PHONY: e2e bench-boot
e2e: all
	$(Q)O=$(O) tests/run-tests.sh $(E2E_BINS)
bench-boot: all
	O=$(O) tests/bench/boot

endif
