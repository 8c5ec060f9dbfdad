# The real-client suite (tests/libvirtd): Debian's libvirtd + QEMU with lock_manager
# "lockd" (reference) and "lockspace" (this tree's build/lock-driver/lockspace.so), run
# by `make check` before the C tests; it prints one line per scenario x driver. It skips
# (exit 77) without root or the packages scripts/ensure-deps.sh installs.
.PHONY: libvirtd-suite
libvirtd-suite:
	@bash $(TOP)/tests/libvirtd/run.sh $(TOP)/build/lock-driver/lockspace.so; rc=$$?; \
	  [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

check: libvirtd-suite
