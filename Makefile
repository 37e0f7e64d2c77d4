# vigil — build, test and demo entry points.
#
#   make            build everything into build/
#   make check      install dependencies, build, run all tests (also under
#                   the sanitizers) and a short fuzz run
#   make demo       install dependencies, build, run the built-in demo
#   make asan       build with ASan+UBSan into build-asan/, run all tests
#   make fuzz       long libFuzzer runs (fuzz-smoke: short ones, for CI)
#   make install    install into DESTDIR/PREFIX (see below)
#
# Dependencies are Debian 12 packages, found with pkg-config;
# scripts/install-deps.sh installs them.

CC      ?= gcc
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
SCENES  := build/scenes
CFLAGS  ?= -O2 -g
override CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -pthread -MMD -MP -Iplugins $(SAN)
override LDFLAGS += -pthread $(SAN)

# make asan: the project's own programs built with AddressSanitizer and
# UndefinedBehaviorSanitizer (leak detection on) into build-asan/, and the
# whole test suite run against them. camsim, a test fixture on GStreamer,
# is built without them.
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# A small quarantine: freed memory ASan holds back (256 MB by default)
# would otherwise show as growth in the soak test's RSS bound.
export ASAN_OPTIONS  := detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:quarantine_size_mb=32
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS  := suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0

DAEMON_PKGS := libavformat libavcodec libavutil libzmq libconfig json-c sqlite3 libsystemd libmicrohttpd
# The ZooKeeper C client (cluster.zookeeper) has no pkg-config file; its
# synchronous calls are declared only with THREADED, for libzookeeper_mt.
ZK_CFLAGS   := -DTHREADED
ZK_LIBS     := -lzookeeper_mt
CAMSIM_PKGS := gstreamer-rtsp-server-1.0 gstreamer-rtsp-1.0 gstreamer-app-1.0 gstreamer-1.0 libavformat libavcodec libavutil
TAIL_PKGS   := libzmq json-c libconfig
CONSOLE_PKGS := libmicrohttpd libzmq json-c sqlite3 libconfig libsodium

pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs   = $(shell pkg-config --libs $(1))

DAEMON_SRC  := $(filter-out %_test.c,$(wildcard daemon/*.c))
DAEMON_LIB  := $(filter-out daemon/vigild.c,$(DAEMON_SRC))
DAEMON_TEST := $(wildcard daemon/*_test.c)

DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ     := $(DAEMON_LIB:%.c=$(BUILD)/%.o)
CONSOLE_TEST := $(wildcard console/*_test.c)
TEST_BIN    := $(DAEMON_TEST:daemon/%.c=$(BUILD)/tests/%) $(CONSOLE_TEST:console/%.c=$(BUILD)/tests/%)

PROGRAMS := $(BUILD)/vigild $(BUILD)/camsim $(BUILD)/vigil-tail $(BUILD)/vigilctl \
            $(BUILD)/detect-bench $(BUILD)/bench-recorder $(BUILD)/vigil-console

# Detector plugins: plugins/<name>/*.c -> build/plugins/<name>.so.
PLUGIN_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c))))
PLUGINS := $(sort $(PLUGIN_NAMES:%=$(BUILD)/plugins/%.so))

# Plugins the host's tests load (daemon/plugin_host_test.c,
# tests/test_plugin_options.py): tests/plugins/testdet.c built once per
# variant, "testdet" correct, each other one breaking one rule of the ABI.
TEST_PLUGIN_NAMES := testdet badabi small misnamed noprocess nosym nokinds badopt
TEST_PLUGINS := $(TEST_PLUGIN_NAMES:%=$(BUILD)/test-plugins/%.so)

.PHONY: all check unit e2e eval asan fuzz fuzz-build fuzz-smoke demo deps scenes clean install
.SECONDARY:
all: $(PROGRAMS) $(PLUGINS) $(TEST_BIN) $(TEST_PLUGINS)

deps:
	@./scripts/install-deps.sh

$(BUILD)/daemon/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call pc_cflags,$(DAEMON_PKGS)) $(ZK_CFLAGS) -c $< -o $@

$(BUILD)/vigild: $(DAEMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) $(ZK_LIBS) -lm -ldl

# The per-pixel loops of the analysis are written to be vectorised.
$(BUILD)/daemon/luma.o $(BUILD)/plugins/%.o: CFLAGS += -O3

$(BUILD)/plugins/%.o: plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

# A plugin exports only its descriptor (vigil_plugin).
.SECONDEXPANSION:
plugin_objs = $(patsubst plugins/%.c,$(BUILD)/plugins/%.o,$(wildcard plugins/$(1)/*.c))
$(BUILD)/plugins/%.so: $$(call plugin_objs,$$*)
	$(CC) $(LDFLAGS) -shared -o $@ $^ -lm

$(BUILD)/test-plugins/%.so: tests/plugins/testdet.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -shared \
		-DTESTDET_$(shell echo $* | tr a-z A-Z) -DTESTDET_NAME='"$*"' -o $@ $< $(LDFLAGS)

$(BUILD)/tests/%_test: $(BUILD)/daemon/%_test.o $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) $(ZK_LIBS) -lm -ldl

$(BUILD)/test-streams/%.o: test-streams/%.c
	@mkdir -p $(@D)
	$(CC) $(filter-out $(SAN),$(CFLAGS)) $(call pc_cflags,$(CAMSIM_PKGS)) -c $< -o $@

CAMSIM_SRC := $(wildcard test-streams/camsim*.c)
$(BUILD)/camsim: $(CAMSIM_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(filter-out $(SAN),$(LDFLAGS)) -o $@ $^ $(call pc_libs,$(CAMSIM_PKGS))

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call pc_cflags,$(TAIL_PKGS)) $(ZK_CFLAGS) -c $< -o $@

TAIL_SRC := tools/vigil-tail.c $(wildcard tools/tail_*.c)
$(BUILD)/vigil-tail: $(TAIL_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(TAIL_PKGS)) $(ZK_LIBS)

# vigilctl: a dispatcher plus one tools/ctl_<name>.c per subcommand; it may
# use the daemon's modules (config, ...).
CTL_SRC := tools/vigilctl.c $(wildcard tools/ctl_*.c)
$(BUILD)/tools/vigilctl.o $(CTL_SRC:%.c=$(BUILD)/%.o): CFLAGS += $(call pc_cflags,$(DAEMON_PKGS) libsodium) $(ZK_CFLAGS) -Idaemon
$(BUILD)/vigilctl: $(CTL_SRC:%.c=$(BUILD)/%.o) $(LIB_OBJ) $(BUILD)/console/userdb.o
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS) libsodium) $(ZK_LIBS) -lm -ldl

# vigil-console: the monitoring room's web console (console/). It follows
# the nodes with vigil-tail's sources (tools/tail_source.c), configured or
# found in ZooKeeper (console/members.c).
CONSOLE_SRC := $(filter-out %_test.c,$(wildcard console/*.c))
CONSOLE_LIB := $(filter-out console/main.c,$(CONSOLE_SRC))
$(BUILD)/console/%.o: console/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call pc_cflags,$(CONSOLE_PKGS)) $(ZK_CFLAGS) -Itools -c $< -o $@
$(BUILD)/vigil-console: $(CONSOLE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tools/tail_source.o
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CONSOLE_PKGS)) $(ZK_LIBS) -lm
$(BUILD)/tests/%_test: $(BUILD)/console/%_test.o $(CONSOLE_LIB:%.c=$(BUILD)/%.o) $(BUILD)/tools/tail_source.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CONSOLE_PKGS)) $(ZK_LIBS) -lm

# detect-bench: decode and detection cost of a file (scripts/bench-detect.sh).
$(BUILD)/tools/detect-bench.o: CFLAGS += $(call pc_cflags,$(DAEMON_PKGS)) $(ZK_CFLAGS) -Idaemon
$(BUILD)/detect-bench: $(BUILD)/tools/detect-bench.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) $(ZK_LIBS) -lm -ldl

# Benchmark of the recorder against decoding (scripts/bench-recording.sh).
$(BUILD)/tools/bench-recorder.o: CFLAGS += $(call pc_cflags,$(DAEMON_PKGS)) $(ZK_CFLAGS) -Idaemon
$(BUILD)/bench-recorder: $(BUILD)/tools/bench-recorder.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) $(ZK_LIBS) -lm

# Synthetic scenes with ground truth (H.264 files + JSON), made once; the
# activity files (weeks in their timestamps) go to $(SCENES)/activity.
scenes: $(SCENES)/.done
$(SCENES)/.done: test-streams/gen_scenes.py test-streams/activity_scene.py
	$(PYTHON) test-streams/gen_scenes.py --out $(SCENES)
	@touch $@

unit: $(TEST_BIN) $(PLUGINS) $(TEST_PLUGINS)
	@./scripts/run-unit.sh $(TEST_BIN)

e2e: $(PROGRAMS) $(PLUGINS) $(TEST_PLUGINS) scenes
	VIGIL_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -v --durations=25 tests/

# Detection accuracy over every scene (a table; exit 1 if a target is missed),
# each scene watched in full and in gated mode, gated compared with full.
eval: $(PROGRAMS) $(PLUGINS) scenes
	VIGIL_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) scripts/eval.py --build $(CURDIR)/$(BUILD) \
		--modes full,gated

asan: deps
	$(MAKE) BUILD=build-asan SAN="$(ASAN_FLAGS)" CFLAGS="-O1 -g" all
	$(MAKE) BUILD=build-asan SAN="$(ASAN_FLAGS)" CFLAGS="-O1 -g" unit e2e

# Everything CI runs: the suite on the normal build, again under the
# sanitizers, then a short fuzz run of every target.
check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) asan
	$(MAKE) fuzz-smoke

demo: deps
	$(MAKE) all scenes
	./scripts/demo.sh

# Installation. PREFIX for programs, plugins, the plugin interface
# (INCLUDEDIR/vigil/vigil_plugin.h and PKGCONFIGDIR/vigil-plugin.pc, for
# building plugins out of the tree) and the unit; the example
# config goes to SYSCONFDIR/vigil (an existing vigil.conf is kept), the
# data directory layout to LOCALSTATEDIR/lib/vigil. DESTDIR for staging.
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
PLUGINDIR     ?= $(PREFIX)/lib/vigil/plugins
INCLUDEDIR    ?= $(PREFIX)/include
PKGCONFIGDIR  ?= $(PREFIX)/lib/pkgconfig
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
INSTALL       ?= install
VIGIL_VERSION := $(shell sed -n 's/^\#define VIGIL_VERSION "\(.*\)"/\1/p' daemon/vigild.c)

WEBDIR        ?= $(PREFIX)/share/vigil/web

install: $(BUILD)/vigild $(BUILD)/vigilctl $(BUILD)/vigil-tail $(BUILD)/vigil-console $(PLUGINS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/vigil
	$(INSTALL) -m 0755 $(BUILD)/vigild $(BUILD)/vigilctl $(BUILD)/vigil-tail \
		$(BUILD)/vigil-console $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR)/vigil $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 0644 plugins/vigil_plugin.h $(DESTDIR)$(INCLUDEDIR)/vigil/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@PLUGINDIR@|$(PLUGINDIR)|' -e 's|@VERSION@|$(VIGIL_VERSION)|' \
		-e "s|@ABI@|$$(sed -n 's/^#define VIGIL_PLUGIN_ABI //p' plugins/vigil_plugin.h)|g" \
		config/vigil-plugin.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/vigil-plugin.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/vigil-plugin.pc
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/vigil/|$(SYSCONFDIR)/vigil/|g' \
		config/vigild.service > $(DESTDIR)$(UNITDIR)/vigild.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vigild.service
	$(INSTALL) -m 0644 config/vigil.sysusers $(DESTDIR)$(SYSUSERSDIR)/vigil.conf
	sed -e 's|/etc/vigil|$(SYSCONFDIR)/vigil|g' -e 's|/var/lib/vigil|$(LOCALSTATEDIR)/lib/vigil|g' \
		config/vigil.tmpfiles > $(DESTDIR)$(TMPFILESDIR)/vigil.conf
	chmod 0644 $(DESTDIR)$(TMPFILESDIR)/vigil.conf
	$(INSTALL) -m 0644 config/vigil.conf $(DESTDIR)$(SYSCONFDIR)/vigil/vigil.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/vigil/vigil.conf ] || \
		$(INSTALL) -m 0640 config/vigil.conf $(DESTDIR)$(SYSCONFDIR)/vigil/vigil.conf
	$(INSTALL) -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/vigil $(DESTDIR)$(LOCALSTATEDIR)/lib/vigil/clips
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/etc/vigil/|$(SYSCONFDIR)/vigil/|g' \
		config/vigil-console.service > $(DESTDIR)$(UNITDIR)/vigil-console.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vigil-console.service
	sed -e 's|/usr/share/vigil/web|$(WEBDIR)|' -e 's|/var/lib/vigil-console|$(LOCALSTATEDIR)/lib/vigil-console|' \
		config/console.conf > $(BUILD)/console.conf.example
	$(INSTALL) -m 0644 $(BUILD)/console.conf.example $(DESTDIR)$(SYSCONFDIR)/vigil/console.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/vigil/console.conf ] || \
		$(INSTALL) -m 0640 $(BUILD)/console.conf.example $(DESTDIR)$(SYSCONFDIR)/vigil/console.conf
	$(INSTALL) -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/vigil-console
	$(INSTALL) -d $(DESTDIR)$(WEBDIR)
	if [ -d web ]; then cp -R web/. $(DESTDIR)$(WEBDIR)/ && \
		find $(DESTDIR)$(WEBDIR) -type d -exec chmod 0755 {} + && \
		find $(DESTDIR)$(WEBDIR) -type f -exec chmod 0644 {} +; fi

# Fuzzing with libFuzzer (clang): one fuzz/<name>_fuzz.c per parser of
# outside input, a seed corpus in fuzz/corpus/<name>/. `make fuzz-smoke`
# runs each target briefly (CI); `make fuzz FUZZ_SECONDS=3600` for long
# runs. New inputs found go to build-fuzz/corpus/<name>/, crashes to
# build-fuzz/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -Wall -Wextra -Werror -pthread -Iplugins $(FUZZ_SAN)
FUZZ_NAMES   := $(patsubst fuzz/%_fuzz.c,%,$(wildcard fuzz/*_fuzz.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=build-fuzz/%_fuzz)
FUZZ_LIB     := $(DAEMON_LIB:daemon/%.c=build-fuzz/daemon/%.o)

build-fuzz/daemon/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(call pc_cflags,$(DAEMON_PKGS)) $(ZK_CFLAGS) -c $< -o $@

build-fuzz/%_fuzz: fuzz/%_fuzz.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Idaemon $(call pc_cflags,$(DAEMON_PKGS)) $(ZK_CFLAGS) \
		-o $@ $(filter %.c %.o,$^) $(call pc_libs,$(DAEMON_PKGS)) $(ZK_LIBS) -lm -ldl

# The plugin fuzz targets link their plugin's sources directly.
build-fuzz/motion_fuzz: $(wildcard plugins/motion/*.c) fuzz/plugin_fuzz.h
build-fuzz/tamper_fuzz: $(wildcard plugins/tamper/*.c) fuzz/plugin_fuzz.h
# The console's parsers of URLs.
build-fuzz/console_fuzz: console/util.c

fuzz-build: $(FUZZ_BINS)

fuzz-smoke: deps fuzz-build
	./scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

fuzz: deps fuzz-build
	./scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
