# The real-client suite (tests/libvirtd): Debian's libvirtd + QEMU with lock_manager
# "lockd" (reference) and "lockspace" (this tree's build/lock-driver/lockspace.so), run
# by `make check` before the C tests; it prints one line per scenario x driver. It skips
# (exit 77) without root or the packages scripts/ensure-deps.sh installs.
.PHONY: libvirtd-suite
libvirtd-suite:
	@bash $(TOP)/tests/libvirtd/run.sh $(TOP)/build/lock-driver/lockspace.so; rc=$$?; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

check: libvirtd-suite

# Daemon-side lock-cycle benchmarks (`make bench`): built against libvirt.so.0, both plugins
# loaded by libvirt's own loader; a private virtlockd in its own mount namespace for lockd.
# bench_lock_floor adds the floor of the mechanism (raw system calls) to the same run.
$(BIN)/bench_lock_daemon $(BIN)/bench_lock_floor: $(BIN)/%: %.c bench_lock_cycle.h libvirt_lock_private.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -DLOCKSPACE_DIR='"$(TOP)/build/lock-driver/"' $< -o $@ $(LV_LIBS)

# $(call with_private_virtlockd,PROGRAM): runs PROGRAM with a virtlockd of its own (as
# root, in a private mount namespace with its own /run/libvirt), else as it is.
define with_private_virtlockd
	@if [ "$$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v virtlockd >/dev/null; then \
	  unshare -m --propagation private sh -c ' \
	    mount -t tmpfs none /run/libvirt || exit 1; \
	    virtlockd -d -p /run/libvirt/bench-virtlockd.pid || exit 1; \
	    for i in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/libvirt/virtlockd-sock ] && [ -s /run/libvirt/bench-virtlockd.pid ] && break; sleep 0.2; done; \
	    P=$$(cat /run/libvirt/bench-virtlockd.pid); \
	    $(1); rc=$$?; \
	    kill $$P; exit $$rc'; \
	else $(1); fi
endef

.PHONY: bench-lock-daemon bench-lock-floor
bench-lock-daemon: $(BIN)/bench_lock_daemon
	$(call with_private_virtlockd,$(BIN)/bench_lock_daemon)

bench-lock-floor: $(BIN)/bench_lock_floor
	$(call with_private_virtlockd,$(BIN)/bench_lock_floor)

bench: bench-lock-daemon bench-lock-floor
