# tests/bench/: benchmarks, built by `make` but not run by `make test`.
# Run them with `make bench` or directly (tests/bench/ttrpc); each prints a
# table and "BENCH <name> <value> <unit>" lines (docs/performance.md).

TTRPC_BENCH := $(O)/tests/bench/ttrpc_bench

all: $(TTRPC_BENCH)

$(TTRPC_BENCH): $(O)/tests/bench/ttrpc_bench.o $(TEST_LINK_DEPS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(TEST_LINK)

.PHONY: bench
bench: $(TTRPC_BENCH) $(if $(filter $(TTRPCPEER),$(TEST_EXTRA_DEPS)),$(TTRPCPEER))
	O=$(O) tests/bench/ttrpc

# Shim: ctr run against a bare VM boot and runc, shim RSS, pod PSS, and 20
# pods leaving nothing behind (root, containerd, QEMU; docs/performance.md).
.PHONY: bench-shim
bench-shim: all
	O=$(O) tests/bench/shim

# Pod network: iperf3 host <-> pod, kata (tcfilter) against runc on one CNI
# bridge, same run (root, containerd, QEMU, CNI plugins; docs/performance.md).
.PHONY: bench-net
bench-net: all
	O=$(O) tests/bench/net
