# Makefile - builds, tests and installs asterd (GNU make; hand-written).
#
# A fresh clone needs only `make`: when config.mk is missing it installs the
# missing Debian packages (scripts/deps.sh), runs autoreconf and ./configure,
# then builds (CONFIGURE_FLAGS=... passes options to that first ./configure).
# For other directories run ./configure --prefix=/usr --sysconfdir=/etc
# yourself first. `make help` lists the targets.
#
# Every output goes under $(B) (default build/). The sanitizer and fuzzing
# builds are this same Makefile run again with B=build/asan SAN=address or
# B=build/fuzz SAN=fuzzer, so each has the same tree shape:
#
#   $(B)/asterd  $(B)/asterctl  $(B)/libasterd.a  $(B)/modules/NAME.so
#   $(B)/tests/unit/test_*  $(B)/tests/modules/NAME.so  $(B)/obj/...
#
# Sources are found, never listed: every src/**/*.c except src/main.c and
# src/asterctl.c goes into libasterd.a; every modules/NAME/ and
# tests/providers/NAME/ with .c files is a provider; every
# tests/unit/test_*.c is a unit test program.

.DEFAULT_GOAL := all
SHELL := /bin/sh

B   ?= build
SAN ?=
V   ?=

# --- configuration ---------------------------------------------------------

# Goals that must work without configure (and so without autoconf).
NOCONFIG_GOALS := deps clean distclean help lint-man
ifeq ($(filter-out $(NOCONFIG_GOALS),$(or $(MAKECMDGOALS),all)),)
NEED_CONFIG :=
else
NEED_CONFIG := 1
endif

ifdef NEED_CONFIG
# Missing or stale: make remakes it with the rules below, then restarts.
-include config.mk
endif

config.mk: config.mk.in configure
	@sh scripts/deps.sh
	@if [ -f config.status ] && [ config.status -nt configure ]; then \
		./config.status; \
	elif [ -f config.status ]; then \
		./config.status --recheck && ./config.status; \
	else \
		./configure $(CONFIGURE_FLAGS); \
	fi
	@touch $@

configure: configure.ac
	@sh scripts/deps.sh
	autoreconf -fi

# --- flags -----------------------------------------------------------------

ifeq ($(SAN),address)
SAN_CFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all
SAN_LDFLAGS := $(SAN_CFLAGS)
else ifeq ($(SAN),fuzzer)
SAN_CFLAGS  := -fsanitize=fuzzer-no-link,address,undefined \
               -fno-omit-frame-pointer -fno-sanitize-recover=all
SAN_LDFLAGS := -fsanitize=address,undefined
else ifneq ($(SAN),)
$(error SAN must be empty, address or fuzzer)
endif

# The plain build enforces warnings with both gcc and clang. Instrumented
# builds compile the same code, and gcc reports false positives under
# -fsanitize, so they only warn.
WERROR ?= $(if $(SAN),,-Werror)

DEP_CFLAGS := $(LIBEVENT_CFLAGS) $(YAML_CFLAGS) $(JSONC_CFLAGS) \
              $(LIBPQ_CFLAGS) $(OPENSSL_CFLAGS) $(SQLITE3_CFLAGS) \
              $(PCRE2_CFLAGS)
DEP_LIBS   := $(LIBEVENT_LIBS) $(YAML_LIBS) $(JSONC_LIBS) $(LIBPQ_LIBS) \
              $(OPENSSL_LIBS) $(SQLITE3_LIBS) $(PCRE2_LIBS) $(LIBS) -ldl -lm

# check was missing when configure ran: ask pkg-config again (after deps).
ifneq ($(HAVE_CHECK),yes)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) -MMD -MP -fPIC \
             $(CPPFLAGS) $(CFLAGS) $(SAN_CFLAGS) \
             -DASTER_VERSION="\"$(PACKAGE_VERSION)\"" \
             -DASTER_SYSCONFDIR="\"$(sysconfdir)\"" \
             -DASTER_MODULEDIR="\"$(libdir)/aster/modules\"" \
             $(DEP_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SAN_LDFLAGS)

# Per-directory additions, set as pattern-specific variables below.
INCLUDES     = -Isrc -Iinclude
EXTRA_CFLAGS =

# Providers see only the public headers, export only what they mark, and
# must not leave undefined symbols (they never link against asterd); the
# sanitizer runtimes come from the executable, so -z defs is off there.
SO_LDFLAGS = -shared $(if $(SAN),,-Wl,-z,defs)

# --- sources ---------------------------------------------------------------

find_c = $(sort $(shell find $(1) -name '[!.]*.c' -type f 2>/dev/null))

LIB_SRCS := $(filter-out src/main.c src/asterctl.c,$(call find_c,src))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIBASTERD := $(B)/libasterd.a

PROGRAMS := $(if $(wildcard src/main.c),$(B)/asterd) \
            $(if $(wildcard src/asterctl.c),$(B)/asterctl)

provider_names = $(sort $(shell find $(1) -mindepth 2 -name '[!.]*.c' -type f \
                   2>/dev/null | cut -d/ -f$(2)))
MODULES      := $(call provider_names,modules,2)
MODULE_SOS   := $(MODULES:%=$(B)/modules/%.so)
TEST_MODULES := $(call provider_names,tests/providers,3)
TEST_MODULE_SOS := $(TEST_MODULES:%=$(B)/tests/modules/%.so)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)

MAN_PAGES := $(sort $(wildcard man/*.[1-8]))

# --- stamps ----------------------------------------------------------------
# Objects depend on $(B)/.flags, rewritten whenever the compiler or flags
# change (so `make CC=clang` after a gcc build recompiles everything), and
# links on $(B)/.sources, rewritten when a source file appears or goes.

ifdef PACKAGE_VERSION
FLAGS_NOW   := $(CC) $(ALL_CFLAGS) $(INCLUDES) | $(ALL_LDFLAGS) $(DEP_LIBS)
SOURCES_NOW := $(LIB_SRCS) | $(MODULES) | $(TEST_MODULES) | \
               $(foreach m,$(MODULES),$(call find_c,modules/$m)) \
               $(foreach m,$(TEST_MODULES),$(call find_c,tests/providers/$m))
ifneq ($(FLAGS_NOW),$(file <$(B)/.flags))
$(shell mkdir -p $(B))
$(file >$(B)/.flags,$(FLAGS_NOW))
endif
ifneq ($(SOURCES_NOW),$(file <$(B)/.sources))
$(shell mkdir -p $(B))
$(file >$(B)/.sources,$(SOURCES_NOW))
endif
endif
$(B)/.flags $(B)/.sources: ;

# --- output ----------------------------------------------------------------

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# --- build rules -----------------------------------------------------------

.PHONY: all programs modules tests
all: programs modules
programs: $(PROGRAMS)
modules: $(MODULE_SOS)
tests: all $(UNIT_BINS) $(TEST_MODULE_SOS)

$(B)/obj/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(INCLUDES) $(EXTRA_CFLAGS) -c -o $@ $<

# Providers can be unloaded again (a rejected one is dlclose'd): libFuzzer
# would keep reading the coverage counters of an unmapped object, so in
# the fuzzing build they carry no coverage instrumentation.
SO_CFLAGS = -fvisibility=hidden \
            $(if $(filter fuzzer,$(SAN)),-fno-sanitize=fuzzer-no-link)

$(B)/obj/modules/%.o: INCLUDES = -Iinclude
$(B)/obj/modules/%.o: EXTRA_CFLAGS = $(SO_CFLAGS)
$(B)/obj/tests/providers/%.o: INCLUDES = -Iinclude
$(B)/obj/tests/providers/%.o: EXTRA_CFLAGS = $(SO_CFLAGS)
$(B)/obj/tests/unit/%.o: EXTRA_CFLAGS = $(CHECK_CFLAGS)

$(LIBASTERD): $(LIB_OBJS) $(B)/.sources
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(LIB_OBJS)

$(B)/asterd: $(B)/obj/src/main.o $(LIBASTERD) $(B)/.sources
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBASTERD) $(DEP_LIBS)

$(B)/asterctl: $(B)/obj/src/asterctl.o $(LIBASTERD) $(B)/.sources
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBASTERD) $(DEP_LIBS)

# $(call provider_rule,OUTPUT,SOURCES)
define provider_rule
$(1): $(2:%.c=$(B)/obj/%.o) $(B)/.sources
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$$(Q)$$(CC) $$(SO_LDFLAGS) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) \
		-Wl,--as-needed $$(DEP_LIBS)
endef
$(foreach m,$(MODULES),$(eval \
	$(call provider_rule,$(B)/modules/$m.so,$(call find_c,modules/$m))))
$(foreach m,$(TEST_MODULES),$(eval \
	$(call provider_rule,$(B)/tests/modules/$m.so,$(call find_c,tests/providers/$m))))

$(UNIT_BINS): $(B)/tests/unit/%: $(B)/obj/tests/unit/%.o $(LIBASTERD)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBASTERD) $(CHECK_LIBS) $(DEP_LIBS)

# --- test helper library and integration tests -----------------------------
# $(B)/libastertest.a is the library of include/aster/testing.h (SPEC 15),
# built from tests/harness/*.c with the public headers only. Every
# tests/integration/test_*.c is a program linked with it, check and the
# dependency libraries (json-c); `make tests` builds them all and
# tests/integration/run.sh runs them against $(B)/asterd.

HARNESS_SRCS := $(sort $(wildcard tests/harness/*.c))
HARNESS_OBJS := $(HARNESS_SRCS:%.c=$(B)/obj/%.o)
LIBASTERTEST := $(B)/libastertest.a
INTEG_SRCS   := $(sort $(wildcard tests/integration/test_*.c))
INTEG_BINS   := $(INTEG_SRCS:%.c=$(B)/%)

$(B)/obj/tests/harness/%.o: INCLUDES = -Iinclude
$(B)/obj/tests/integration/%.o: INCLUDES = -Iinclude -Itests/unit
$(B)/obj/tests/integration/%.o: EXTRA_CFLAGS = $(CHECK_CFLAGS)

tests: $(LIBASTERTEST) $(INTEG_BINS)

$(LIBASTERTEST): $(HARNESS_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(HARNESS_OBJS)

$(INTEG_BINS): $(B)/tests/integration/%: $(B)/obj/tests/integration/%.o \
		$(LIBASTERTEST)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBASTERTEST) $(CHECK_LIBS) $(DEP_LIBS)

# tests/schema/verdicts.c is asterd's side of the schema differential test
# (tests/schema/run.sh), linked like a unit test without check.
SCHEMA_VERDICTS := $(if $(wildcard tests/schema/verdicts.c),$(B)/tests/schema/verdicts)

tests: $(SCHEMA_VERDICTS)

$(B)/tests/schema/verdicts: $(B)/obj/tests/schema/verdicts.o $(LIBASTERD)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBASTERD) $(DEP_LIBS)

# tests/upstream/upstream.c is the test upstream of the proxy's tests and
# benchmark (tests/upstream/README): one program, libevent's OpenSSL
# bufferevents for TLS.
UPSTREAM := $(if $(wildcard tests/upstream/upstream.c),$(B)/tests/upstream/upstream)

tests: $(UPSTREAM)

$(B)/tests/upstream/upstream: $(B)/obj/tests/upstream/upstream.o
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< -levent_openssl $(DEP_LIBS)

# Runtime processes (SPEC 10) for the tests and bench/runtime.sh: the C
# example runtime, and tests/runtime/testrt.c, a runtime whose behaviour
# its environment chooses (its header comment).
RT_HELLO  := $(if $(wildcard examples/runtimes/c-hello/hello.c),$(B)/examples/runtimes/c-hello/hello)
RT_TESTRT := $(if $(wildcard tests/runtime/testrt.c),$(B)/tests/runtime/testrt)

tests: $(RT_HELLO) $(RT_TESTRT)

$(RT_HELLO) $(RT_TESTRT): $(B)/%: $(B)/obj/%.o
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -pthread -o $@ $< $(DEP_LIBS)

# --- end of test helper block -----------------------------------------------

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# --- tests -----------------------------------------------------------------
# check: unit tests, `asterd --check-config` on the shipped conf.d/, the
# config corpus (tests/configs/run.sh), the schema differential test
# against ajv (tests/schema/run.sh), the layering of the sources
# (scripts/layers.sh), tests/integration/run.sh ASTERD when
# it exists, tests/sdk/run.sh (make install, then examples/providers/hello
# built and tested against the installed tree alone), the OpenAPI
# documents against redocly and TypeScript (tests/openapi/run.sh; npm
# installs its pinned tools on first use), and the man page lint; every
# stage runs, and the failed ones are named at the end.
# The tests read these variables (all absolute):
#   ASTER_TEST_MODULES  $(B)/tests/modules, the test-only providers
#   ASTER_SRCDIR        the source tree
#   ASTER_BUILD_DIR     $(B)
#   ASTERD              $(B)/asterd

ASAN_OPTIONS  ?= detect_leaks=1:check_initialization_order=1
UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: check check-run check-asan check-valgrind deps lint-man
check: deps
	@$(MAKE) --no-print-directory check-run

check-asan: deps
	@$(MAKE) --no-print-directory B=build/asan SAN=address check-run

# The integration tests with asterd under valgrind's memcheck.
check-valgrind: deps tests
	INTEG_VALGRIND=1 bash tests/integration/run.sh $(B)/asterd

deps:
	@sh scripts/deps.sh

check-run: tests
	@fail=; \
	export ASTER_TEST_MODULES='$(abspath $(B)/tests/modules)' \
		ASTER_SRCDIR='$(CURDIR)' ASTER_BUILD_DIR='$(abspath $(B))' \
		ASTERD='$(abspath $(B)/asterd)'; \
	$(if $(SAN),export ASAN_OPTIONS='$(ASAN_OPTIONS)' \
		UBSAN_OPTIONS='$(UBSAN_OPTIONS)' CK_TIMEOUT_MULTIPLIER=4;) \
	for t in $(UNIT_BINS); do \
		echo "unit: $${t##*/}"; \
		$$t || fail="$$fail $${t##*/}"; \
	done; \
	if [ -d conf.d ] && [ -x $(B)/asterd ]; then \
		echo "conf.d: $(B)/asterd --check-config -c conf.d"; \
		$(B)/asterd --check-config -c conf.d --module-path $(B)/modules \
			|| fail="$$fail conf.d"; \
	fi; \
	bash tests/configs/run.sh $(B)/asterd || fail="$$fail corpus"; \
	bash tests/schema/run.sh $(B) || fail="$$fail schema"; \
	sh scripts/layers.sh || fail="$$fail layers"; \
	if [ -f tests/integration/run.sh ]; then \
		echo "integration: tests/integration/run.sh"; \
		bash tests/integration/run.sh $(B)/asterd || fail="$$fail integration"; \
	fi; \
	CC='$(CC)' SAN_LDFLAGS='$(SAN_LDFLAGS)' bash tests/sdk/run.sh $(B) || fail="$$fail sdk"; \
	echo "openapi: tests/openapi/run.sh"; \
	bash tests/openapi/run.sh $(B) || fail="$$fail openapi"; \
	$(if $(MAN_PAGES),$(MAKE) --no-print-directory lint-man || fail="$$fail lint-man";) \
	if [ -n "$$fail" ]; then \
		echo "check ($(B)): FAILED:$$fail"; exit 1; \
	fi; \
	echo "check ($(B)): all passed"

lint-man:
	@if [ -z '$(MAN_PAGES)' ]; then echo "lint-man: no man pages"; exit 0; fi; \
	mandoc -Tlint -W warning $(MAN_PAGES) && echo "lint-man: ok ($(words $(MAN_PAGES)) pages)"

# --- fuzzing ---------------------------------------------------------------
# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="http json"] [FUZZ_ARGS=...]:
# builds build/fuzz with clang (SAN=fuzzer: libFuzzer, ASan, UBSan) and runs
# each target FUZZ_SECONDS, one after the other, with tests/fuzz/run.sh.
#
# Targets are found, never listed: every tests/fuzz/fuzz_NAME.c is a
# program $(B)/fuzz_NAME linked with libasterd.a. Its corpus
# ($(B)/corpus/NAME/, kept between runs) is seeded from
# tests/fuzz/seeds/NAME/ and the files of fuzz_NAME_SEEDS; its dictionary is
# tests/fuzz/NAME.dict when there is one. A target that needs code outside
# libasterd.a names those sources in fuzz_NAME_SRCS: they are compiled again
# into $(B)/obj/fuzzsrc/ with the fuzzing instrumentation (the providers'
# own objects carry none) and linked into that target alone.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_ARGS    ?=
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_TARGETS ?=
FUZZ_NAMES   := $(or $(FUZZ_TARGETS),$(FUZZ_ALL))

fuzz_config_SEEDS = $(shell find tests/configs conf.d -name '*.yaml' -type f 2>/dev/null | LC_ALL=C sort)
fuzz_jwt_SRCS     = $(call find_c,modules/auth)
fuzz_jwks_SRCS    = $(call find_c,modules/auth)

$(B)/obj/tests/fuzz/%.o: INCLUDES = -Isrc -Iinclude -Imodules
$(B)/obj/fuzzsrc/%.o: %.c $(B)/.flags
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Iinclude -c -o $@ $<

# $(call fuzz_rule,NAME)
define fuzz_rule
$(B)/fuzz_$(1): $(B)/obj/tests/fuzz/fuzz_$(1).o \
		$$(fuzz_$(1)_SRCS:%.c=$(B)/obj/fuzzsrc/%.o) $(LIBASTERD)
	$$(call say,LD,$$@)
	$$(Q)$$(CC) $$(LDFLAGS) -fsanitize=fuzzer,address,undefined -o $$@ \
		$$(filter %.o,$$^) $(LIBASTERD) $$(DEP_LIBS)
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_rule,$t)))

.PHONY: fuzz fuzz-build fuzz-run
fuzz:
	@if [ -z '$(FUZZ_ALL)' ]; then \
		echo "make fuzz: no tests/fuzz/fuzz_*.c; no fuzz target to build" >&2; \
		exit 1; \
	fi
	@for t in $(FUZZ_NAMES); do \
		[ -f "tests/fuzz/fuzz_$$t.c" ] || { \
		echo "make fuzz: no target '$$t' (tests/fuzz/fuzz_$$t.c); the targets are: $(FUZZ_ALL)" >&2; \
		exit 1; }; \
	done
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory B=build/fuzz SAN=fuzzer CC=$(FUZZ_CC) fuzz-build
	@$(MAKE) --no-print-directory B=build/fuzz SAN=fuzzer CC=$(FUZZ_CC) fuzz-run

fuzz-build: $(FUZZ_NAMES:%=$(B)/fuzz_%) $(TEST_MODULE_SOS)

# Every target runs, even after one fails; the failed ones are named last.
fuzz-run:
	@fail=; \
	$(foreach t,$(FUZZ_NAMES),FUZZ_ARGS='$(FUZZ_ARGS)' sh tests/fuzz/run.sh \
		$t $(B) $(FUZZ_SECONDS) $(fuzz_$t_SEEDS) || fail="$$fail $t";) \
	if [ -n "$$fail" ]; then \
		echo "make fuzz: FAILED:$$fail (reproducers in $(B)/findings/)"; \
		exit 1; \
	fi; \
	echo "make fuzz: $(words $(FUZZ_NAMES)) targets, no finding"

# --- running ---------------------------------------------------------------

.PHONY: run bench soak
run: all
	exec $(B)/asterd -c conf.d $(RUN_ARGS)

bench: all $(TEST_MODULE_SOS) $(RT_HELLO)
	@sh scripts/deps.sh bench
	@if [ -f bench/run.sh ]; then \
		exec bash bench/run.sh $(B)/asterd; \
	else \
		echo "make bench: bench/run.sh does not exist; nothing to run"; \
	fi

# Ten minutes of mixed traffic (SOAK_SECONDS): not part of `make bench`.
soak: all
	exec bash bench/soak.sh $(B)/asterd

# --- installing ------------------------------------------------------------

# The SDK for provider authors (SPEC 4, 15, 18): the headers, libastertest.a
# and two pkg-config files, aster.pc (Cflags, and moduledir: where providers
# go) and aster-testing.pc (libastertest's link line). The .pc files are
# written at every install from pkgconfig/*.pc.in, as the directories may
# come from the command line (make install prefix=/opt/aster; that
# rebuilds, as the default config dir and module path are compiled in).
# Directories under $(prefix) are written relative to ${prefix}.

PC_FILES := $(B)/pkgconfig/aster.pc $(B)/pkgconfig/aster-testing.pc
pc_dir = $(if $(filter $(prefix),$(1)),$${prefix},$(if \
         $(filter $(prefix)/%,$(1)),$${prefix}/$(patsubst $(prefix)/%,%,$(1)),$(1)))

.PHONY: FORCE
FORCE:
$(B)/pkgconfig/%.pc: pkgconfig/%.pc.in FORCE
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q)abi=$$(sed -n 's/^#define ASTER_PROVIDER_ABI \([0-9][0-9]*\)$$/\1/p' \
		include/aster/provider.h) && \
	sed -e 's|@prefix@|$(prefix)|g' \
	    -e 's|@exec_prefix@|$(call pc_dir,$(exec_prefix))|g' \
	    -e 's|@libdir@|$(call pc_dir,$(libdir))|g' \
	    -e 's|@includedir@|$(call pc_dir,$(includedir))|g' \
	    -e 's|@sbindir@|$(call pc_dir,$(sbindir))|g' \
	    -e 's|@version@|$(PACKAGE_VERSION)|g' -e "s|@abi@|$$abi|g" \
	    $< >$@.tmp && mv $@.tmp $@

.PHONY: install uninstall
install: all $(LIBASTERTEST) $(PC_FILES)
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(libdir)/aster/modules \
		$(DESTDIR)$(includedir)/aster $(DESTDIR)$(libdir)/pkgconfig
	install -m 0644 $(LIBASTERTEST) $(DESTDIR)$(libdir)/libastertest.a
	install -m 0644 $(PC_FILES) $(DESTDIR)$(libdir)/pkgconfig/
	install -m 0755 $(B)/asterd $(DESTDIR)$(sbindir)/asterd
	$(if $(filter %/asterctl,$(PROGRAMS)),install -d $(DESTDIR)$(bindir) && \
		install -m 0755 $(B)/asterctl $(DESTDIR)$(bindir)/asterctl)
	$(if $(MODULE_SOS),install -m 0644 $(MODULE_SOS) $(DESTDIR)$(libdir)/aster/modules/)
	$(if $(wildcard include/aster/*.h),install -m 0644 $(wildcard include/aster/*.h) \
		$(DESTDIR)$(includedir)/aster/)
	@if [ -d conf.d ]; then \
		find conf.d -type f ! -name '.*' ! -name '*~' | LC_ALL=C sort | \
		while read -r f; do \
			echo "install -D -m 0644 $$f $(DESTDIR)$(sysconfdir)/aster/$$f"; \
			install -D -m 0644 "$$f" "$(DESTDIR)$(sysconfdir)/aster/$$f" || exit 1; \
		done; \
	fi
	@for f in $(MAN_PAGES); do \
		d="$(DESTDIR)$(mandir)/man$${f##*.}"; \
		echo "install -m 0644 $$f $$d/"; \
		install -d "$$d" && install -m 0644 "$$f" "$$d/" || exit 1; \
	done
	$(if $(wildcard systemd/asterd.service),install -d $(DESTDIR)$(prefix)/lib/systemd/system && \
		sed -e 's|/usr/sbin/asterd|$(sbindir)/asterd|g' \
		    -e 's|/etc/aster/|$(sysconfdir)/aster/|g' systemd/asterd.service \
		    > $(DESTDIR)$(prefix)/lib/systemd/system/asterd.service && \
		chmod 0644 $(DESTDIR)$(prefix)/lib/systemd/system/asterd.service)

# Leaves the configuration in $(sysconfdir)/aster alone, and providers
# installed by others in the module directory.
uninstall:
	rm -f $(DESTDIR)$(sbindir)/asterd $(DESTDIR)$(bindir)/asterctl \
		$(DESTDIR)$(prefix)/lib/systemd/system/asterd.service
	rm -rf $(DESTDIR)$(includedir)/aster
	rm -f $(MODULES:%=$(DESTDIR)$(libdir)/aster/modules/%.so) \
		$(DESTDIR)$(libdir)/libastertest.a \
		$(PC_FILES:$(B)/pkgconfig/%=$(DESTDIR)$(libdir)/pkgconfig/%)
	@rmdir $(DESTDIR)$(libdir)/aster/modules $(DESTDIR)$(libdir)/aster \
		2>/dev/null || :
	@for f in $(MAN_PAGES); do \
		rm -f "$(DESTDIR)$(mandir)/man$${f##*.}/$${f##*/}"; \
	done

# --- cleaning --------------------------------------------------------------

.PHONY: clean distclean help
clean:
	rm -rf build

distclean: clean
	rm -rf config.mk config.log config.status configure configure~ \
		autom4te.cache aclocal.m4 tests/openapi/node_modules \
		tests/schema/node_modules

help:
	@echo "make [all]      build asterd, asterctl and the providers into $(B)/"
	@echo "make check      install missing packages, build, run unit tests, the"
	@echo "                config corpus, integration tests, the OpenAPI checks"
	@echo "                (npm installs their pinned tools) and the man page lint"
	@echo "make check-asan the same under ASan+UBSan, in build/asan/"
	@echo "make check-valgrind  the integration tests with asterd under valgrind"
	@echo "make fuzz       every tests/fuzz/fuzz_*.c under libFuzzer+ASan+UBSan,"
	@echo "                FUZZ_SECONDS=60 each (FUZZ_TARGETS=\"http json\" picks some)"
	@echo "make bench      run bench/run.sh against $(B)/asterd"
	@echo "make soak       10 minutes of mixed traffic (bench/soak.sh)"
	@echo "make run        build, then run asterd -c conf.d (RUN_ARGS=...)"
	@echo "make install    install under DESTDIR/prefix; uninstall removes it"
	@echo "make lint-man   mandoc -Tlint over man/"
	@echo "make deps       install missing Debian packages (scripts/deps.sh)"
	@echo "make clean | distclean"
	@echo "Variables: CC, CFLAGS, V=1 (show commands), WERROR=, B=build dir"
