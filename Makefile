# evshim: a flat, boring Makefile. `make help` lists the targets.

CC      ?= gcc
PREFIX  ?= /usr/local
BUILD   := build
WARN    := -Wall -Wextra -Wno-unused-parameter
CFLAGS  ?= -O2 -g
# The shim: hidden by default, only hooks and the public API exported;
# no _FORTIFY_SOURCE (it would redirect the shim's own calls to _chk forms).
# initial-exec TLS: the shim's own __thread data never goes through
# __tls_get_addr, which it interposes (rt/tls.h).
SHIM_CFLAGS := $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden -fno-strict-aliasing -ftls-model=initial-exec \
	-U_FORTIFY_SOURCE -D_GNU_SOURCE -Iinclude -MMD -MP
SHIM_LIBS   := -ldl -lck -lunwind -luring -laio -lpthread
PROG_CFLAGS := $(CFLAGS) $(WARN) -D_GNU_SOURCE -Iinclude -MMD -MP $(PROG_SAN)

SHIM_SRC := $(sort $(wildcard src/*/*.c src/arch/x86_64/*.c src/arch/generic/*.c))
SHIM_ASM := src/arch/x86_64/switch.S src/arch/x86_64/window.S src/hook/vfork_x86_64.S \
	    src/hook/sigsetjmp_x86_64.S
SHIM_OBJ := $(SHIM_SRC:%.c=$(BUILD)/%.o) $(SHIM_ASM:%.S=$(BUILD)/%.o)
LIB      := $(BUILD)/libevshim.so

PROGS      := $(patsubst tests/progs/%.c,$(BUILD)/progs/%,$(filter-out tests/progs/lib%.c,$(wildcard tests/progs/*.c))) \
	      $(patsubst tests/progs/%.c,$(BUILD)/progs/%.so,$(wildcard tests/progs/lib*.c)) \
	      $(patsubst tests/progs/%.cpp,$(BUILD)/progs/%,$(wildcard tests/progs/*.cpp))
UNITS      := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/*.c))
DEMOS      := $(patsubst demo/%.c,$(BUILD)/demo/%,$(wildcard demo/*.c))
BENCHES    := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))

.PHONY: all deps stock-deps run test test-stock bench install uninstall asan clean help
all: deps $(LIB) $(PROGS) $(UNITS) $(DEMOS) $(BENCHES)

help:
	@echo "make            build libevshim.so, demos, test and bench programs"
	@echo "make run        the main job: demo server under the shim, a load, the context-switch report"
	@echo "make test       every test; ends with 'N passed, M failed'"
	@echo "make test-stock stock Debian programs (CPython's and GLib's tests, MariaDB, PostgreSQL, Apache, WEBrick, make, tinyproxy)"
	@echo "                natively and under the shim; installs them as root; ends with 'N passed, M failed'"
	@echo "make bench      benchmarks, native vs shim (figures, never pass/fail)"
	@echo "make install    PREFIX=/usr/local DESTDIR=: library, header, evshim launcher, man page, docs"
	@echo "make uninstall  the same PREFIX and DESTDIR: removes exactly what install put there"
	@echo "make asan       build demos and test programs with AddressSanitizer and run the tests"
	@echo "make deps       check the Debian packages (installs them when run as root)"
	@echo "make stock-deps the same for the packages make test-stock runs"
	@echo "make clean      remove build/"

deps:
	@scripts/deps.sh

# Every object waits for deps (order-only): under make -j a compile must
# not start before deps.sh has installed the headers it needs.
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.S | deps
	@mkdir -p $(dir $@)
	$(CC) -c $< -o $@

# No version script: -fvisibility=hidden already limits the exports to the
# hooks and the public API (tests/config.bats compares them). A named
# version node would also stop programs' read@GLIBC_2.2.5 requests from
# binding to our unversioned definitions.
$(LIB): $(SHIM_OBJ)
	$(CC) -shared -Wl,-z,defs -o $@ $^ $(SHIM_LIBS)

# Unit tests link the runtime's objects directly (no preload), without
# the hook layer: a test's own pthread_create must stay glibc's.
RUNTIME_OBJ := $(filter-out $(BUILD)/src/hook/%,$(SHIM_OBJ))
$(BUILD)/libevs.a: $(RUNTIME_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/libevs.a
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -Isrc -o $@ $< $(BUILD)/libevs.a $(SHIM_LIBS)

$(BUILD)/progs/%: tests/progs/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -o $@ $< -lpthread -ldl -luring

$(BUILD)/progs/lib%.so: tests/progs/lib%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/progs/%: tests/progs/%.cpp | deps
	@mkdir -p $(dir $@)
	$(CXX) -std=gnu++20 $(CFLAGS) $(WARN) -MMD -MP $(PROG_SAN) -o $@ $< -lpthread

$(BUILD)/demo/%: demo/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -o $@ $< -lpthread

# bench-*.c measure the runtime's pieces directly (linked with its
# objects); every other benchmark is an ordinary program run with and
# without the shim.
$(BUILD)/bench/bench-%: tests/bench/bench-%.c $(BUILD)/libevs.a
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -Isrc -o $@ $< $(BUILD)/libevs.a $(SHIM_LIBS)

$(BUILD)/bench/%: tests/bench/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(PROG_CFLAGS) -o $@ $< -lpthread

run: all
	@scripts/run-demo.sh

test: all
	@scripts/run-tests.sh

# Slow (about 20 minutes): not part of make test. docs/compatibility.md.
stock-deps:
	@scripts/stock-deps.sh

test-stock: all stock-deps
	@scripts/run-stock.sh

bench: all
	@scripts/bench.sh

# What install puts where; uninstall removes exactly these files (the
# directories may hold other software's files and stay).
VERSION := $(shell sed -n 's/.*EVSHIM_VERSION "\(.*\)"$$/\1/p' include/evshim.h)
INST_LIB := $(DESTDIR)$(PREFIX)/lib/libevshim.so
INST_H   := $(DESTDIR)$(PREFIX)/include/evshim.h
INST_BIN := $(DESTDIR)$(PREFIX)/bin/evshim
INST_MAN := $(DESTDIR)$(PREFIX)/share/man/man1/evshim.1
INST_DOC := $(DESTDIR)$(PREFIX)/share/doc/evshim/differences.md

# The launcher gets the library's final path (without DESTDIR) and the
# version; in the source tree it finds build/ and include/ itself.
install: all
	install -d $(dir $(INST_LIB) $(INST_H) $(INST_BIN) $(INST_MAN) $(INST_DOC))
	install -m 0755 $(LIB) $(INST_LIB)
	install -m 0644 include/evshim.h $(INST_H)
	sed -e "s|^libdir='@LIBDIR@'$$|libdir='$(PREFIX)/lib'|" \
	    -e "s|^version='@VERSION@'$$|version='$(VERSION)'|" scripts/evshim > $(INST_BIN)
	chmod 0755 $(INST_BIN)
	install -m 0644 docs/evshim.1 $(INST_MAN)
	install -m 0644 docs/differences.md $(INST_DOC)

uninstall:
	rm -f $(INST_LIB) $(INST_H) $(INST_BIN) $(INST_MAN) $(INST_DOC)
	rmdir $(dir $(INST_DOC)) 2>/dev/null || true

# AddressSanitizer on the programs the shim runs (demos, test programs):
# the shim itself stays unsanitised, because ASan's runtime must be the
# first preloaded library and its interceptors would sit between the
# program and the shim's hooks. docs/testing.md says more.
asan:
	$(MAKE) clean
	$(MAKE) all PROG_SAN="-fsanitize=address -fno-omit-frame-pointer"
	EVSHIM_ASAN=1 scripts/run-tests.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
