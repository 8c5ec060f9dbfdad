# lockspace driver (plugins/lockspace): its C tests load build/lock-driver/lockspace.so
# with dlopen, as a plugin loader does. `make bench` runs bench_lockspace.
LOCKSPACE_SO := $(TOP)/build/lock-driver/lockspace.so
LOCKSPACE_TESTS := $(filter-out $(BIN)/test_lockspace_libvirt,$(patsubst %.c,$(BIN)/%,$(wildcard test_lockspace_*.c)))

$(LOCKSPACE_TESTS): $(BIN)/%: %.c test_lockspace_util.h testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) -DLOCKSPACE_SO='"$(LOCKSPACE_SO)"' $< -o $@ $(VC_LIBS)

# Loaded by Debian's libvirt.so.0 itself: built against libvirt, not virtcore.
$(BIN)/test_lockspace_libvirt: test_lockspace_libvirt.c
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -DLOCKSPACE_DIR='"$(dir $(LOCKSPACE_SO))"' $< -o $@ $(LV_LIBS)

$(BIN)/bench_lockspace: bench_lockspace.c test_lockspace_util.h testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) -DLOCKSPACE_SO='"$(LOCKSPACE_SO)"' $< -o $@ $(VC_LIBS)

.PHONY: bench-lockspace
bench-lockspace: $(BIN)/bench_lockspace
	$(BIN)/bench_lockspace

bench: bench-lockspace
