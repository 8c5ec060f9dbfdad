# Differential test of domain XML against Debian's libvirt 9.0.0 (issue 9 item 16): one
# source built against each library, the libvirt build run by the virtcore one, over the
# corpus tests/data/libvirt-9.0; a recording lock plugin shared by both builds.

DIFF_PLUGIN_DIR := $(BIN)/diff-plugins
DIFF_PLUGIN := $(DIFF_PLUGIN_DIR)/recorddrv.so
DIFF_DEPS := test_domain_diff.c domain_diff_access.h $(DOMAIN_COMPAT) bench_domain_compat.h
# Whether virtcore's virDomainDef has onLockFailure yet (issue 9 item 13).
DIFF_VC_FLAGS := $(shell grep -q onLockFailure $(TOP)/include/virtcore.h && echo -DVC_HAS_ONLOCKFAILURE)
DIFF_DEFS := -DDIFF_CORPUS=\"$(TOP)/tests/data/libvirt-9.0:$(TOP)/tests/data/domain-diff\" \
             -DDIFF_PLUGIN_DIR=\"$(abspath $(DIFF_PLUGIN_DIR))\" \
             -DDIFF_LIBVIRT_PROG=\"$(abspath $(BIN))/domain_diff_libvirt\" \
             -DDIFF_REPORT=\"$(abspath $(BIN))/domain_diff-report.txt\"

EXTRA += $(BIN)/domain_diff_libvirt $(DIFF_PLUGIN)
all: $(BIN)/domain_diff_libvirt $(DIFF_PLUGIN)

$(DIFF_PLUGIN): plugins/recorddrv.c
	@mkdir -p $(DIFF_PLUGIN_DIR)
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared $< -o $@ -ldl

$(BIN)/domain_diff_libvirt: $(DIFF_DEPS) $(DIFF_PLUGIN)
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) -rdynamic -DDOMAIN_USE_LIBVIRT $(DIFF_DEFS) $(LV_CFLAGS) $< -o $@ $(LV_LIBS) -ldl

$(BIN)/test_domain_diff: $(DIFF_DEPS) domain_diff_compare.c domain_diff_compare.h domain_diff_known.inc $(TOP)/include/virtcore.h $(BIN)/domain_diff_libvirt $(DIFF_PLUGIN)
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) -rdynamic $(DIFF_VC_FLAGS) $(DIFF_DEFS) $(VC_CFLAGS) $< domain_diff_compare.c -o $@ $(VC_LIBS)

# Property test (issue 9 item 17): a bounded run in `make check`, a long one in `make fuzz`.
PROP_DEFS := -DPROP_TOP=\"$(TOP)\" -DPROP_FAIL_FILE=\"$(abspath $(BIN))/domain_prop-fail.xml\"
FUZZ_CASES ?= 2000000
$(BIN)/test_domain_prop: test_domain_prop.c domain_prop_check.h testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(PROP_DEFS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

.PHONY: fuzz
fuzz: $(BIN)/test_domain_prop
	DOMAIN_PROP_SEED=$${DOMAIN_PROP_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')} \
	DOMAIN_PROP_CASES=$(FUZZ_CASES) $(BIN)/test_domain_prop
