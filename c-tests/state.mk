# State drivers (src/state): the test_state_*.c programs share test_state_util.h, and the
# demo daemon (../demo) runs as one more test with a few restarts: it fails when a tiered
# start-up killed a guest, the once-per-boot autostart did not hold, or the parallel
# autostart order differed from the sequential one.

STATE_TESTS := $(patsubst %.c,$(BIN)/%,$(wildcard test_state_*.c))
$(STATE_TESTS): test_state_util.h

DEMO_DIR := $(TOP)/demo
EXTRA    += state-demo
EXTRA_RUN += $(DEMO_DIR)/check-demo.sh

.PHONY: state-demo
state-demo:
	$(MAKE) -C $(DEMO_DIR) all PKG_CONFIG_PATH=$(PKG_CONFIG_PATH)

# test_state_register reads the header it was compiled against.
$(BIN)/test_state_register: CFLAGS += -DVIRTCORE_HEADER='"$(TOP)/include/virtcore.h"'

# test_state_conformance.c built a second time against Debian's libvirt.so.0 (not
# virtcore): the same scenarios, so each behaviour is checked on both libraries.
$(BIN)/state_conformance_libvirt: test_state_conformance.c
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -DAGAINST_LIBVIRT $< -o $@ $(LV_LIBS)

EXTRA     += $(BIN)/state_conformance_libvirt
EXTRA_RUN += $(CURDIR)/$(BIN)/state_conformance_libvirt

# Debian's libvirtd on virtcore's state core (tests/libvirtd/state): the interposer is a
# test tool, built here and LD_PRELOADed by tests/libvirtd/state/run.sh, never installed.
STATE_SUITE := $(TOP)/tests/libvirtd/state
$(BIN)/state-interposer.so: $(STATE_SUITE)/interposer.c $(STATE_SUITE)/interposer.map
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared -fvisibility=hidden \
	  -DVIRTCORE_SO='"$(TOP)/build/lib/libvirtcore.so.0"' \
	  -Wl,--version-script=$(STATE_SUITE)/interposer.map $< -o $@ -ldl $(LV_LIBS)

# Then some lockspace scenarios of the real-client suite on the same kind of daemon
# (tests/libvirtd/env.sh preloads LIBVIRTD_PRELOAD into libvirtd): locks, restarts and
# saves work with libvirtd's drivers started by virtcore. All of them pass so too (3.7 min
# on a loaded machine); a few keep make check short.
STATE_LOCKSPACE_SCENARIOS ?= exclusive-refused restart-sigterm-keeps \
  hotplug-kept-across-restart managedsave cli-run-refused-by-guest

.PHONY: libvirtd-state-suite
libvirtd-state-suite: $(BIN)/state-interposer.so
	@bash $(STATE_SUITE)/run.sh $(BIN)/state-interposer.so $(TOP)/build/lock-driver/lockspace.so; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]
	@echo "libvirtd-state-suite: lockspace scenarios on libvirtd with the state interposer"
	@LIBVIRTD_PRELOAD=$(CURDIR)/$(BIN)/state-interposer.so VIRTCORE_SUITE_DRIVERS=lockspace \
	  VIRTCORE_SUITE_ONLY="$(STATE_LOCKSPACE_SCENARIOS)" \
	  bash $(TOP)/tests/libvirtd/run.sh $(TOP)/build/lock-driver/lockspace.so; \
	  rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

check: libvirtd-state-suite

# `make bench`: libvirtd's start-up with 20 autostarted pools and networks on libvirt's
# state core, virtcore's, and virtcore's with parallel tiers (tests/libvirtd/state/bench.sh).
.PHONY: bench-libvirtd-state
bench-libvirtd-state: $(BIN)/state-interposer.so
	@bash $(STATE_SUITE)/bench.sh $(CURDIR)/$(BIN)/state-interposer.so $(TOP)/build/lock-driver/lockspace.so 5

bench: bench-libvirtd-state
