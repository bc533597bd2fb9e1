# tests/: harness, unit, integration, interop and fuzz programs.
#
# Every tests/{unit,integration,interop}/test_*.c is one test program linked
# with the harness and lib/. `make test` runs them all through
# tests/run-tests.sh, which prints the grand total as its last line.
HARNESS_OBJ := $(O)/tests/harness/harness.o

TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/integration/test_*.c tests/interop/test_*.c))
TEST_BINS := $(TEST_SRCS:%.c=$(O)/%)
TEST_PROGS += $(TEST_BINS)

# Support code shared by test programs (tests/support/*.c: the Echo test
# service, containerd and agent harnesses, ...) is an archive, so a program
# pulls in only the objects it uses.
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(O)/%.o)
TEST_SUPPORT_LIB := $(O)/tests/support/libsupport.a

$(TEST_SUPPORT_LIB): $(TEST_SUPPORT_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# What every test, replay and fuzz program links after its own objects:
# support, every project archive (top layer first), generated protos, and the
# system libraries any layer uses.
TEST_LINK_DEPS := $(TEST_SUPPORT_LIB) $(PROJECT_LIBS) $(PROTOS_LIB)
TEST_LINK := $(TEST_SUPPORT_LIB) $(PROJECT_LIBS) $(PROTOS_LIB) $(PROTOBUF_C_LIBS) $(SYSTEM_LIBS)

# A program can add objects or libraries with LDLIBS_<path with underscores>.
$(O)/tests/%: $(O)/tests/%.o $(HARNESS_OBJ) $(TEST_LINK_DEPS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(HARNESS_OBJ) $(LDLIBS_$(subst /,_,$(patsubst $(O)/%,%,$@))) $(TEST_LINK)

-include tests/interop/interop.mk
-include tests/fuzz/fuzz.mk
-include tests/bench/bench.mk
-include tests/e2e/e2e.mk

test: all $(TEST_EXTRA_DEPS)
	$(Q)O=$(O) tests/run-tests.sh $(TEST_PROGS)
-include tests/support/support.mk
