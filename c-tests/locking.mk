# Lock manager: purpose-built plugins for the loader tests, the lockd.so test (links
# Debian's libvirt too), and the lock-cycle benchmark.

LOCK_PLUGIN_DIR := $(BIN)/plugins
LOCK_VARIANTS := testdrv: nosym:-DNO_IMPL badver:-DBAD_VERSION nullcb:-DNULL_ACQUIRE \
                 noinquire:-DNO_INQUIRE initfail:-DINIT_FAIL=1 initsilent:-DINIT_FAIL=2 \
                 deinitfail:-DDEINIT_FAIL statedrv:-DUSES_STATE
LOCK_PLUGINS := $(foreach v,$(LOCK_VARIANTS),$(LOCK_PLUGIN_DIR)/$(firstword $(subst :, ,$(v))).so) \
                $(LOCK_PLUGIN_DIR)/notelf.so
# The loader tests find their plugins here (VIRTCORE_LOCK_DRIVER_DIR is set by each test).
LOCK_TEST_CFLAGS := -DTEST_PLUGIN_DIR=\"$(abspath $(LOCK_PLUGIN_DIR))\" \
                    -DTOP_DIR=\"$(TOP)\"

EXTRA += $(LOCK_PLUGINS)

define lock_plugin_rule
$(LOCK_PLUGIN_DIR)/$(1).so: plugins/testdrv.c $(TOP)/include/virtcore.h
	@mkdir -p $(LOCK_PLUGIN_DIR)
	$$(CC) $$(WARN) $$(CFLAGS) -fPIC -shared $$(VC_CFLAGS) $(2) $$< -o $$@
endef
$(foreach v,$(LOCK_VARIANTS),$(eval $(call lock_plugin_rule,$(firstword $(subst :, ,$(v))),$(word 2,$(subst :, ,$(v))))))

$(LOCK_PLUGIN_DIR)/notelf.so:
	@mkdir -p $(LOCK_PLUGIN_DIR)
	for i in 1 2 3 4 5 6 7 8; do echo 'this is a text file, not a shared object'; done > $@

# Tests of the lock manager see where the plugins are.
$(BIN)/test_lock_loader $(BIN)/test_lock_api $(BIN)/test_lock_domain $(BIN)/test_lock_domain_xml: $(BIN)/test_lock_%: test_lock_%.c testutil.h $(TOP)/include/virtcore.h $(LOCK_PLUGINS)
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LOCK_TEST_CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS) -lpthread

# lockd.so through virtcore: links virtcore first, then Debian's libvirt (whose
# virInitialize the plugin needs); symbol versions keep the same-named functions apart.
$(BIN)/test_lock_lockd: test_lock_lockd.c lock_lockd_common.h testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LOCK_TEST_CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS) $(LV_LIBS)

# Lock benchmarks: the same source against virtcore and against Debian's libvirt.
$(BIN)/bench_lock: bench_lock.c lock_lockd_common.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LOCK_TEST_CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS) $(LV_LIBS)

$(BIN)/bench_lock_libvirt: bench_lock.c lock_lockd_common.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LOCK_TEST_CFLAGS) -DBENCH_LIBVIRT $(VC_CFLAGS) $< -o $@ $(LV_LIBS)

.PHONY: bench-lock
bench-lock: $(BIN)/bench_lock $(BIN)/bench_lock_libvirt
	@bash $(TOP)/scripts/virtlockd-bench.sh $(BIN)/bench_lock_libvirt $(BIN)/bench_lock

bench: bench-lock
