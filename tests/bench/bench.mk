# tests/bench/: benchmarks, built by `make` but not run by `make test`.
# Run them with `make bench` or directly (tests/bench/ttrpc); each prints a
# table and "BENCH <name> <value> <unit>" lines (docs/performance.md).

TTRPC_BENCH := $(O)/tests/bench/ttrpc_bench
TTRPC_BENCH_OBJS := $(O)/tests/bench/ttrpc_bench.o $(O)/tests/support/echo_service.o

all: $(TTRPC_BENCH)

$(TTRPC_BENCH): $(TTRPC_BENCH_OBJS) $(LIBKATA) $(PROTOS_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(TTRPC_BENCH_OBJS) $(LIBKATA_LINK)

.PHONY: bench
bench: $(TTRPC_BENCH) $(if $(filter $(TTRPCPEER),$(TEST_EXTRA_DEPS)),$(TTRPCPEER))
	O=$(O) tests/bench/ttrpc
