# tests/: harness, unit, integration, interop and fuzz programs.
#
# Every tests/{unit,integration,interop}/test_*.c is one test program linked
# with the harness and lib/. `make test` runs them all through
# tests/run-tests.sh, which prints the grand total as its last line.
HARNESS_OBJ := $(O)/tests/harness/harness.o

TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/integration/test_*.c tests/interop/test_*.c))
TEST_BINS := $(TEST_SRCS:%.c=$(O)/%)
TEST_PROGS += $(TEST_BINS)

# Support code shared by test programs (tests/support/*.c), e.g. the Echo
# test service implementation.
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(O)/%.o)

# Test programs link every project archive (top layer first) and the system
# libraries any layer uses; a program can add more with LDLIBS_<path>.
$(O)/tests/%: $(O)/tests/%.o $(HARNESS_OBJ) $(TEST_SUPPORT_OBJS) $(PROJECT_LIBS) $(PROTOS_LIB)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS_OBJ) $(TEST_SUPPORT_OBJS) $(PROJECT_LIBS) $(PROTOS_LIB) $(PROTOBUF_C_LIBS) $(SYSTEM_LIBS) $(LDLIBS_$(subst /,_,$(patsubst $(O)/%,%,$@)))

-include tests/interop/interop.mk
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk

test: all $(TEST_EXTRA_DEPS)
	$(Q)O=$(O) tests/run-tests.sh $(TEST_PROGS)
