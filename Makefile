# vigil — build, test and demo entry points.
#
#   make            build everything into build/
#   make check      install dependencies, build, run all tests
#   make demo       install dependencies, build, run the built-in demo
#
# Dependencies are Debian 12 packages, found with pkg-config;
# scripts/install-deps.sh installs them.

CC      ?= gcc
PYTHON  ?= /usr/bin/python3
BUILD   ?= build
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -pthread -MMD -MP
LDFLAGS += -pthread

DAEMON_PKGS := libavformat libavcodec libavutil libzmq libconfig json-c sqlite3
CAMSIM_PKGS := gstreamer-rtsp-server-1.0 gstreamer-rtsp-1.0 gstreamer-app-1.0 gstreamer-1.0 libavformat libavcodec libavutil
TAIL_PKGS   := libzmq json-c libconfig

pc_cflags = $(shell pkg-config --cflags $(1))
pc_libs   = $(shell pkg-config --libs $(1))

DAEMON_SRC  := $(filter-out %_test.c,$(wildcard daemon/*.c))
DAEMON_LIB  := $(filter-out daemon/vigild.c,$(DAEMON_SRC))
DAEMON_TEST := $(wildcard daemon/*_test.c)

DAEMON_OBJ  := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ     := $(DAEMON_LIB:%.c=$(BUILD)/%.o)
TEST_BIN    := $(DAEMON_TEST:daemon/%.c=$(BUILD)/tests/%)

PROGRAMS := $(BUILD)/vigild $(BUILD)/camsim $(BUILD)/vigil-tail $(BUILD)/vigilctl

.PHONY: all check unit e2e demo deps scenes clean
.SECONDARY:
all: $(PROGRAMS) $(TEST_BIN)

deps:
	@./scripts/install-deps.sh

$(BUILD)/daemon/%.o: daemon/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call pc_cflags,$(DAEMON_PKGS)) -c $< -o $@

$(BUILD)/vigild: $(DAEMON_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) -lm

$(BUILD)/tests/%_test: $(BUILD)/daemon/%_test.o $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) -lm

$(BUILD)/test-streams/%.o: test-streams/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call pc_cflags,$(CAMSIM_PKGS)) -c $< -o $@

$(BUILD)/camsim: $(BUILD)/test-streams/camsim.o
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(CAMSIM_PKGS))

$(BUILD)/tools/%.o: tools/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(call pc_cflags,$(TAIL_PKGS)) -c $< -o $@

TAIL_SRC := tools/vigil-tail.c $(wildcard tools/tail_*.c)
$(BUILD)/vigil-tail: $(TAIL_SRC:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(TAIL_PKGS))

# vigilctl: a dispatcher plus one tools/ctl_<name>.c per subcommand; it may
# use the daemon's modules (config, ...).
CTL_SRC := tools/vigilctl.c $(wildcard tools/ctl_*.c)
$(BUILD)/tools/vigilctl.o $(CTL_SRC:%.c=$(BUILD)/%.o): CFLAGS += $(call pc_cflags,$(DAEMON_PKGS)) -Idaemon
$(BUILD)/vigilctl: $(CTL_SRC:%.c=$(BUILD)/%.o) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pc_libs,$(DAEMON_PKGS)) -lm

# Synthetic scenes with ground truth (H.264 files + JSON), made once.
scenes: $(BUILD)/scenes/.done
$(BUILD)/scenes/.done: test-streams/gen_scenes.py
	$(PYTHON) test-streams/gen_scenes.py --out $(BUILD)/scenes
	@touch $@

unit: $(TEST_BIN)
	@./scripts/run-unit.sh $(TEST_BIN)

e2e: $(PROGRAMS) scenes
	$(PYTHON) -m pytest -v tests/

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) e2e

demo: deps
	$(MAKE) all scenes
	./scripts/demo.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
