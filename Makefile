# recsys: PostgreSQL extension built with PGXS, linking OpenBLAS.
#
#   make / make install / make installcheck   the PGXS way, for the server pg_config finds
#   make unit        C unit tests of src/core (no server needed)
#   make test        installs what is missing, builds, and runs every test
#   make demo        the same set-up, then a running cluster with real data
#   make demo-stop   stops the demo cluster
#   make bench       benchmarks

EXTENSION = recsys
MODULE_big = recsys
DATA = sql/recsys--0.1.0.sql sql/recsys--0.1.0--0.2.0.sql sql/recsys--0.2.0--0.3.0.sql

CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/*.c))
OBJS = $(GLUE_SRCS:.c=.o) $(CORE_SRCS:.c=.o)

REGRESS = setup metrics options planted serving corrupt bad_input parallel implicit mlp ncf knn ease movietweetings movietweetings_implicit
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

# Rebuild everything when a header changes (PGXS tracks no header dependencies).
$(OBJS): $(wildcard src/*.h src/core/*.h)

# PGXS only defines the recipe; give it a target so TAP tests run on their own.
prove_installcheck:
	$(prove_installcheck)

# C unit tests of the engine: plain C, no PostgreSQL.
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -Isrc -fno-strict-aliasing
UNIT_TESTS = $(patsubst %.c,%,$(sort $(wildcard test/unit/test_*.c)))

UNIT_OBJS = $(patsubst src/core/%.c,test/unit/obj/%.o,$(CORE_SRCS))

# The engine is compiled once for all unit tests, with the tests' flags.
test/unit/obj/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p test/unit/obj
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

test/unit/test_%: test/unit/test_%.c test/unit/unit.h test/unit/planted.h $(UNIT_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_OBJS) $(SHLINK_OPENBLAS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; ./$$t; done

test:
	bash test/scripts/test.sh

demo:
	bash test/scripts/demo.sh

demo-stop:
	bash test/scripts/demo-stop.sh

bench:
	bash test/scripts/bench.sh

EXTRA_CLEAN = $(UNIT_TESTS) test/unit/obj results regression.diffs regression.out tmp_check

.PHONY: unit test demo demo-stop bench prove_installcheck
