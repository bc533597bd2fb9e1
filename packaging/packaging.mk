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
# Measured: no boot-time difference between none, gzip and lz4 for a few MB
# (guest-boot.md §1.3; docs/performance.md "Boot"), so the default skips the
# decompression step and keeps the build simple.
GUEST_INITRD_COMPRESS ?= none
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
	$(Q)packaging/guest/build-initrd.sh $(GUEST_DIR)/kernel.env $(KATA_AGENT) $@ $(GUEST_INITRD_COMPRESS)

install: install-guest
install-guest:
	install -d $(DESTDIR)$(KATA_SHARE_DIR)
	@if [ -f $(GUEST_KERNEL) ]; then \
		install -m 0644 $(GUEST_KERNEL) $(DESTDIR)$(KATA_SHARE_DIR)/vmlinuz.container && \
		ln -sf vmlinuz.container $(DESTDIR)$(KATA_SHARE_DIR)/vmlinux.container; \
	else echo "install: no guest kernel built (see make output)"; fi
	@if [ -f $(GUEST_INITRD) ]; then \
		install -m 0644 $(GUEST_INITRD) $(DESTDIR)$(KATA_SHARE_DIR)/kata-containers-initrd.img; \
	else echo "install: no guest initrd built (see make output)"; fi


# Default configuration files, generated from the schema by kata-runtime.
-include packaging/config/config.mk
