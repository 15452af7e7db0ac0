# recsys: PostgreSQL extension built with PGXS, linking OpenBLAS.
#
#   make / make install / make installcheck   the PGXS way, for the server pg_config finds
#   make unit        C unit tests of src/core (no server needed)
#   make unit-sanitized   the same under AddressSanitizer and UBSan
#   make fuzz        fuzzes model decoding and scoring (FUZZ_SECONDS=300, clang)
#   make test        installs what is missing, builds, and runs every test
#   make demo        the same set-up, then a running cluster with real data
#   make demo-stop   stops the demo cluster
#   make bench       benchmarks
#   make bench-defaults   the defaults against the best of a grid, on data of many shapes
#   make bench-scale     implicit ALS on 100 million clicks, both model forms (ROWS=, ITERATIONS=)
#   make model-digests   a digest of each kind's trained model, to compare two builds

EXTENSION = recsys
MODULE_big = recsys
DATA = sql/recsys--0.8.0.sql sql/recsys--0.1.0.sql sql/recsys--0.1.0--0.2.0.sql sql/recsys--0.2.0--0.3.0.sql \
	sql/recsys--0.3.0--0.4.0.sql sql/recsys--0.4.0--0.5.0.sql sql/recsys--0.5.0--0.6.0.sql \
	sql/recsys--0.6.0--0.7.0.sql sql/recsys--0.7.0--0.8.0.sql

CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(GLUE_SRCS:.c=.o) $(CORE_SRCS:.c=.o)

REGRESS = setup metrics options planted serving planner corrupt bad_input parallel implicit mlp ncf knn ease hybrid recommend_batch evaluate retrain guardrails fold_in movietweetings movietweetings_implicit movietweetings_hybrid movietweetings_sequence sequence tune defaults
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers
SHLINK_OPENBLAS = -lopenblas -lpthread -lm
SHLIB_LINK = $(SHLINK_OPENBLAS)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# The hybrid model's per-sample loops (sums of a few feature rows, Adagrad's
# per-parameter steps) are short loops over the factors: -O3 vectorises
# them, and without errno sqrtf becomes the vector instruction.
src/core/hybrid.o: CFLAGS += -O3 -fno-math-errno

# Rebuild everything when a header changes (PGXS tracks no header dependencies).
$(OBJS): $(wildcard src/*.h src/core/*.h)

# PGXS only defines the recipe; give it a target so TAP tests run on their own.
prove_installcheck:
	$(prove_installcheck)

# C unit tests of the engine: plain C, no PostgreSQL.
# A kind's operations share one signature, so some leave a parameter unused;
# option tables give only the fields an option needs.
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror -Isrc -fno-strict-aliasing
UNIT_TESTS = $(patsubst %.c,%,$(sort $(wildcard test/unit/test_*.c)))

UNIT_OBJS = $(patsubst src/core/%.c,test/unit/obj/%.o,$(CORE_SRCS))

# The engine is compiled once for all unit tests, with the tests' flags.
test/unit/obj/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p test/unit/obj
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

test/unit/test_%: test/unit/test_%.c test/unit/unit.h test/unit/planted.h $(UNIT_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_OBJS) $(SHLINK_OPENBLAS)

unit-build: $(UNIT_TESTS)

# The benchmarks' C tools (make bench runs them; make test builds them so that
# they keep compiling): optimised, linked with the unit tests' engine objects.
BENCH_TOOLS = $(patsubst test/bench/%.c,test/bench/obj/%,$(wildcard test/bench/*.c))

test/bench/obj/%: test/bench/%.c $(UNIT_OBJS)
	@mkdir -p test/bench/obj
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_OBJS) $(SHLINK_OPENBLAS) -lpthread -lm

bench-tools: $(BENCH_TOOLS)

unit: unit-build
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

# The unit tests again under AddressSanitizer, LeakSanitizer and UBSan, built
# apart from the plain ones.
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_CFLAGS = $(UNIT_CFLAGS) $(SAN_FLAGS)
SAN_OBJS = $(patsubst src/core/%.c,test/unit/san-obj/%.o,$(CORE_SRCS))
SAN_TESTS = $(patsubst test/unit/%,test/unit/san-obj/%,$(UNIT_TESTS))
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

test/unit/san-obj/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p test/unit/san-obj
	$(CC) $(SAN_CFLAGS) -c -o $@ $<

test/unit/san-obj/test_%: test/unit/test_%.c test/unit/unit.h test/unit/planted.h $(SAN_OBJS)
	$(CC) $(SAN_CFLAGS) -o $@ $< $(SAN_OBJS) $(SHLINK_OPENBLAS)

unit-sanitized-build: $(SAN_TESTS)

unit-sanitized: unit-sanitized-build
	@set -e; for t in $(SAN_TESTS); do echo "== $$t"; $(SAN_ENV) ./$$t; done

# libFuzzer on the model codec and every scorer: clang, objects of its own.
# Seeds are regenerated each run and join a copy of the committed corpus,
# which the run then grows; `make fuzz-merge` folds what it found back in.
FUZZ_CC = clang
FUZZ_SECONDS = 300
FUZZ_CFLAGS = -std=gnu11 -O1 -g -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror -Isrc -fno-strict-aliasing \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_OBJS = $(patsubst src/core/%.c,test/fuzz/obj/%.o,$(CORE_SRCS))
FUZZ_FLAGS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -malloc_limit_mb=512 \
	-max_len=16384 -timeout=60 -print_final_stats=1 -artifact_prefix=test/fuzz/obj/

test/fuzz/obj/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/obj
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

test/fuzz/obj/fuzz_model: test/fuzz/fuzz_model.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) \
		$(SHLINK_OPENBLAS)

test/fuzz/obj/make_seeds: test/fuzz/make_seeds.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -o $@ $< \
		$(FUZZ_OBJS) $(SHLINK_OPENBLAS)

fuzz-seeds: test/fuzz/obj/make_seeds
	rm -rf test/fuzz/obj/seeds && mkdir -p test/fuzz/obj/seeds
	OPENBLAS_NUM_THREADS=1 ./test/fuzz/obj/make_seeds test/fuzz/obj/seeds

fuzz: test/fuzz/obj/fuzz_model fuzz-seeds
	rm -rf test/fuzz/obj/run && mkdir -p test/fuzz/obj/run
	cp -r test/fuzz/corpus/. test/fuzz/obj/seeds/. test/fuzz/obj/run/
	OPENBLAS_NUM_THREADS=1 ./test/fuzz/obj/fuzz_model $(FUZZ_FLAGS) test/fuzz/obj/run

# Replaces the committed corpus by a minimal one covering the last run's.
fuzz-merge: test/fuzz/obj/fuzz_model
	rm -rf test/fuzz/obj/merged && mkdir -p test/fuzz/obj/merged
	OPENBLAS_NUM_THREADS=1 ./test/fuzz/obj/fuzz_model -merge=1 -max_len=16384 \
		test/fuzz/obj/merged test/fuzz/obj/seeds test/fuzz/obj/run test/fuzz/corpus
	rm -rf test/fuzz/corpus && mv test/fuzz/obj/merged test/fuzz/corpus

test:
	bash test/scripts/test.sh

demo:
	bash test/scripts/demo.sh

demo-stop:
	bash test/scripts/demo-stop.sh

bench:
	bash test/scripts/bench.sh

bench-defaults:
	bash test/scripts/bench_defaults.sh

bench-scale:
	bash test/scripts/bench_scale.sh

model-digests:
	@bash test/scripts/model_digests.sh

EXTRA_CLEAN = $(UNIT_TESTS) test/bench/obj test/unit/obj test/unit/san-obj test/fuzz/obj results regression.diffs regression.out tmp_check

.PHONY: unit unit-build bench-tools unit-sanitized unit-sanitized-build fuzz fuzz-seeds fuzz-merge test demo demo-stop bench bench-defaults bench-scale model-digests prove_installcheck
