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
