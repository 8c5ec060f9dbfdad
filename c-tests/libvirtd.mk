# The real-client suite (tests/libvirtd): Debian's libvirtd + QEMU with lock_manager
# "lockd" (reference) and "lockspace" (this tree's build/lock-driver/lockspace.so), run
# by `make check` before the C tests; it prints one line per scenario x driver. It skips
# (exit 77) without root or the packages scripts/ensure-deps.sh installs.
.PHONY: libvirtd-suite
libvirtd-suite:
	@bash $(TOP)/tests/libvirtd/run.sh $(TOP)/build/lock-driver/lockspace.so; rc=$$?; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

check: libvirtd-suite

# Daemon-side lock-cycle benchmark (`make bench`): built against libvirt.so.0, both plugins
# loaded by libvirt's own loader; a private virtlockd in its own mount namespace for lockd.
$(BIN)/bench_lock_daemon: bench_lock_daemon.c libvirt_lock_private.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -DLOCKSPACE_DIR='"$(TOP)/build/lock-driver/"' $< -o $@ $(LV_LIBS)

.PHONY: bench-lock-daemon
bench-lock-daemon: $(BIN)/bench_lock_daemon
	@if [ "$$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v virtlockd >/dev/null; then \
	  unshare -m --propagation private sh -c ' \
	    mount -t tmpfs none /run/libvirt || exit 1; \
	    virtlockd -d -p /run/libvirt/bench-virtlockd.pid || exit 1; \
	    for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/libvirt/virtlockd-sock ] && [ -s /run/libvirt/bench-virtlockd.pid ] && break; sleep 0.2; done; \
	    P=$$(cat /run/libvirt/bench-virtlockd.pid); \
	    $(BIN)/bench_lock_daemon; rc=$$?; \
	    kill $$P; exit $$rc'; \
	else $(BIN)/bench_lock_daemon; fi

bench: bench-lock-daemon
