# packaging/: dependency installer, install rules. Guest image rules come later.

# ---- Guest kernel and initrd (packaging/guest/, DESIGN.md decision 6) ----
# `make` builds them unless GUEST=0; when apt cannot deliver the kernel
# package the scripts print why and make carries on without them. The .deb
# is cached in $(GUEST_CACHE) (kept until `make clean`), so CI downloads it
# once per run. GUEST_KERNEL_PKG= picks another linux-image package.
GUEST ?= 1
GUEST_DIR := $(O)/guest
GUEST_CACHE ?= $(O)/guest-cache
GUEST_KERNEL := $(GUEST_DIR)/vmlinuz.container
GUEST_INITRD := $(GUEST_DIR)/kata-containers-initrd.img
# gzip: no measurable boot-time cost against none or lz4 at this size
# (guest-boot.md §1.3), and each VM then holds ~2 MB less of the initrd in
# guest RAM and ~2 MB less mapped file (docs/performance.md, "Memory").
GUEST_INITRD_COMPRESS ?= gzip
KATA_SHARE_DIR := /usr/share/kata-containers

.PHONY: guest install-guest
ifeq ($(GUEST),1)
all: guest
endif
guest: $(GUEST_KERNEL) $(GUEST_INITRD)

$(GUEST_KERNEL): packaging/guest/build-kernel.sh
	@mkdir -p $(GUEST_DIR)
	$(Q)packaging/guest/build-kernel.sh $(GUEST_CACHE) $(GUEST_DIR)

$(GUEST_INITRD): $(KATA_AGENT) $(GUEST_KERNEL) packaging/guest/build-initrd.sh packaging/guest/modules.list
	$(Q)GUEST_FS_MANIFEST=$(GUEST_KERNEL).filesystems \
		packaging/guest/build-initrd.sh $(GUEST_DIR)/kernel.env $(KATA_AGENT) $@ $(GUEST_INITRD_COMPRESS)

# The same guest on Debian's generic kernel flavour (linux-image-*-amd64),
# which has 9p (shared_fs = "virtio-9p"); the cloud flavour does not. Each
# guest writes <kernel>.filesystems, the file systems it can mount. The
# generic .deb is ~107 MB (cloud: ~34 MB), cached in $(GUEST_CACHE) like the
# other; `make test` builds this guest too (its 9p test), unless
# GUEST_GENERIC=0.
GUEST_GENERIC ?= 1
GUEST_GENERIC_DIR := $(O)/guest-generic
GUEST_GENERIC_KERNEL := $(GUEST_GENERIC_DIR)/vmlinuz.container
GUEST_GENERIC_INITRD := $(GUEST_GENERIC_DIR)/kata-containers-initrd.img
.PHONY: guest-generic
guest-generic: $(GUEST_GENERIC_KERNEL) $(GUEST_GENERIC_INITRD)
ifeq ($(GUEST)$(GUEST_GENERIC),11)
TEST_EXTRA_DEPS += guest-generic
endif

$(GUEST_GENERIC_KERNEL): packaging/guest/build-kernel.sh
	@mkdir -p $(GUEST_GENERIC_DIR)
	$(Q)GUEST_KERNEL_FLAVOUR=generic packaging/guest/build-kernel.sh $(GUEST_CACHE) $(GUEST_GENERIC_DIR)

$(GUEST_GENERIC_INITRD): $(KATA_AGENT) $(GUEST_GENERIC_KERNEL) packaging/guest/build-initrd.sh packaging/guest/modules.list
	$(Q)GUEST_FS_MANIFEST=$(GUEST_GENERIC_KERNEL).filesystems \
		packaging/guest/build-initrd.sh $(GUEST_GENERIC_DIR)/kernel.env $(KATA_AGENT) $@ $(GUEST_INITRD_COMPRESS)

install: install-guest
install-guest:
	install -d $(DESTDIR)$(KATA_SHARE_DIR)
	@if [ -f $(GUEST_KERNEL) ]; then \
		install -m 0644 $(GUEST_KERNEL) $(DESTDIR)$(KATA_SHARE_DIR)/vmlinuz.container && \
		ln -sf vmlinuz.container $(DESTDIR)$(KATA_SHARE_DIR)/vmlinux.container; \
	else echo "install: no guest kernel built (see make output)"; fi
	@if [ -f $(GUEST_KERNEL).filesystems ]; then \
		install -m 0644 $(GUEST_KERNEL).filesystems $(DESTDIR)$(KATA_SHARE_DIR)/vmlinuz.container.filesystems; \
	fi
	@if [ -f $(GUEST_INITRD) ]; then \
		install -m 0644 $(GUEST_INITRD) $(DESTDIR)$(KATA_SHARE_DIR)/kata-containers-initrd.img; \
	else echo "install: no guest initrd built (see make output)"; fi


# Default configuration files, generated from the schema by kata-runtime.
-include packaging/config/config.mk
