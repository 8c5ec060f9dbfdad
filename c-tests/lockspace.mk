# lockspace driver (plugins/lockspace): its C tests load build/lock-driver/lockspace.so
# with dlopen, as a plugin loader does. `make bench` runs bench_lockspace.
LOCKSPACE_SO := $(TOP)/build/lock-driver/lockspace.so
LOCKSPACE_TESTS := $(filter-out $(BIN)/test_lockspace_libvirt,$(patsubst %.c,$(BIN)/%,$(wildcard test_lockspace_*.c)))

$(LOCKSPACE_TESTS): $(BIN)/%: %.c test_lockspace_util.h testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) -DLOCKSPACE_SO='"$(LOCKSPACE_SO)"' $< -o $@ $(VC_LIBS)

# Loaded by Debian's libvirt.so.0 itself: built against libvirt, not virtcore.
$(BIN)/test_lockspace_libvirt: test_lockspace_libvirt.c libvirt_lock_private.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -DLOCKSPACE_DIR='"$(dir $(LOCKSPACE_SO))"' $< -o $@ $(LV_LIBS)

# The bench is built against libvirt.so.0: both plugins are loaded by libvirt's own loader.
$(BIN)/bench_lockspace: bench_lockspace.c libvirt_lock_private.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -DLOCKSPACE_DIR='"$(dir $(LOCKSPACE_SO))"' $< -o $@ $(LV_LIBS)

# lockd.so talks to virtlockd on /run/libvirt/virtlockd-sock (as root). To not disturb
# anything else on the machine, run a private virtlockd in a private mount namespace
# with its own /run/libvirt; without root or unshare, run the bench as is.
.PHONY: bench-lockspace
bench-lockspace: $(BIN)/bench_lockspace
	@if [ "$$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v virtlockd >/dev/null; then \
	  unshare -m --propagation private sh -c ' \
	    mount -t tmpfs none /run/libvirt || exit 1; \
	    mkdir -p /var/log/libvirt; \
	    virtlockd -d -p /run/libvirt/bench-virtlockd.pid || exit 1; \
	    for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/libvirt/virtlockd-sock ] && [ -s /run/libvirt/bench-virtlockd.pid ] && break; sleep 0.2; done; \
	    P=$$(cat /run/libvirt/bench-virtlockd.pid); \
	    $(BIN)/bench_lockspace; rc=$$?; \
	    kill $$P; exit $$rc'; \
	else $(BIN)/bench_lockspace; fi

bench: bench-lockspace

# The README's lock-manager example, extracted from README.md (the ```c block after the
# marker `<!-- readme-lock-example.c`), built like a user would and run by
# readme-lock-example.sh: the README cannot drift from working code.
$(BIN)/readme-lock-example.c: $(TOP)/README.md
	@mkdir -p $(BIN)
	awk '/^<!-- readme-lock-example.c/ {m=1; next} m==1 && /^```c$$/ {m=2; next} m==2 && /^```$$/ {exit} m==2 {print}' $< > $@
	@test -s $@ || { echo "README.md: lock example not found" >&2; rm -f $@; exit 1; }

$(BIN)/readme-lock-example: $(BIN)/readme-lock-example.c $(TOP)/include/virtcore.h
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

EXTRA += $(BIN)/readme-lock-example
EXTRA_RUN += $(CURDIR)/readme-lock-example.sh

# test_lockspace_mailbox runs lockspace_squatter as another user (setpriv): it links
# nothing of virtcore, so a copy runs wherever the checkout is.
$(BIN)/lockspace_squatter: lockspace_squatter.c
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $< -o $@

$(BIN)/test_lockspace_mailbox: $(BIN)/lockspace_squatter
