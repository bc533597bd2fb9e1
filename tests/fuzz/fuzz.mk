# tests/fuzz/: libFuzzer targets (tests/fuzz/fuzz_<name>.c).
#
# `make test` runs each target's seed corpus (tests/fuzz/corpus/<name>/)
# through a replay program built with the normal compiler and flags, so the
# sanitizer build replays them under ASan/UBSan too. `make fuzz` rebuilds
# everything with clang and -fsanitize=fuzzer-no-link in $(O)-fuzz and runs
# each target for FUZZ_SECONDS, keeping new inputs in $(O)-fuzz/corpus/.

FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(O)/tests/fuzz/replay_%)
FUZZ_LIBFUZZERS := $(FUZZ_NAMES:%=$(O)/tests/fuzz/libfuzzer_%)
TEST_PROGS += $(FUZZ_REPLAYS)

$(O)/tests/fuzz/replay_%.o: tests/fuzz/replay.c | $(PROTO_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(CFLAGS_PROJECT) -DDEFAULT_CORPUS='"$(abspath tests/fuzz/corpus/$*)"' -c -o $@ $<

$(O)/tests/fuzz/replay_%: $(O)/tests/fuzz/replay_%.o $(O)/tests/fuzz/fuzz_%.o $(TEST_LINK_DEPS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(O)/tests/fuzz/fuzz_$*.o $(TEST_LINK)

$(O)/tests/fuzz/libfuzzer_%: $(O)/tests/fuzz/fuzz_%.o $(TEST_LINK_DEPS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(TEST_LINK)

.PHONY: fuzz fuzz-run
fuzz:
	$(MAKE) O=$(O)-fuzz CC=clang SANITIZE=address,undefined,fuzzer-no-link fuzz-run

fuzz-run: $(FUZZ_LIBFUZZERS)
	$(Q)for t in $(FUZZ_NAMES); do \
		mkdir -p $(O)/corpus/$$t $(O)/artifacts/$$t; \
		echo "  FUZZ    $$t for $(FUZZ_SECONDS)s"; \
		if ! $(O)/tests/fuzz/libfuzzer_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
			-timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
			-artifact_prefix=$(O)/artifacts/$$t/ \
			$(O)/corpus/$$t tests/fuzz/corpus/$$t > $(O)/artifacts/$$t/log 2>&1; then \
			tail -n 40 $(O)/artifacts/$$t/log; echo "fuzz target $$t failed"; exit 1; \
		fi; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' $(O)/artifacts/$$t/log || true; \
	done
