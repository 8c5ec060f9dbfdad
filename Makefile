# virtcore: build, install and test for C users.
#
#   make                 release build of libvirtcore.{so,a}, the lock drivers and virtcore.pc
#   make install         PREFIX=/usr/local DESTDIR= (library, SONAME links, header, .pc, plugins)
#   make check           every test: cargo tests, lints, C tests, install and symbol checks
#   make demo            build and run the demo daemon (tiered vs flat start-up)
#   make bench           C benchmarks against Debian's libvirt 9.0
#   make fuzz            long run of the domain property test (FUZZ_CASES=, DOMAIN_PROP_SEED=)
#   make header          regenerate include/virtcore.h after changing the Rust API

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LOCKDRIVERDIR ?= $(LIBDIR)/virtcore/lock-driver
DESTDIR ?=
CARGO   ?= cargo
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
SOVERSION := 0

TOP     := $(CURDIR)
REL     := $(TOP)/target/release
# The in-tree layout under build/: lib/ (with the SONAME link), lock-driver/, pkgconfig/.
# The in-tree pkg-config file: lets c-tests/ and demo/ link through pkg-config before install.
UNINST  := $(TOP)/build/pkgconfig
export VIRTCORE_LOCKDRIVERDIR := $(LOCKDRIVERDIR)

.PHONY: all lib header install uninstall check check-deps cargo-test lint c-tests \
        symbols install-check demo bench fuzz clean

all: lib virtcore.pc $(UNINST)/virtcore.pc

lib:
	$(CARGO) build --release --workspace
	mkdir -p build/lib build/lock-driver
	ln -sf $(REL)/libvirtcore.so build/lib/libvirtcore.so.$(SOVERSION)
	ln -sf libvirtcore.so.$(SOVERSION) build/lib/libvirtcore.so
	ln -sf $(REL)/libvirtcore.a build/lib/libvirtcore.a
	if [ -f $(REL)/liblockspace.so ]; then cp -f $(REL)/liblockspace.so build/lock-driver/lockspace.so; fi

header:
	VIRTCORE_UPDATE_HEADER=1 $(CARGO) build
	@git diff --stat -- include/virtcore.h || true

virtcore.pc: pkgconfig/virtcore.pc.in Cargo.toml Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

$(UNINST)/virtcore.pc: pkgconfig/virtcore.pc.in Cargo.toml Makefile
	mkdir -p $(UNINST)
	sed -e 's|@PREFIX@|$(TOP)|' -e 's|@LIBDIR@|$(TOP)/build/lib|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|^lockdriverdir=.*|lockdriverdir=$(TOP)/build/lock-driver|' $< > $@

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
	           $(DESTDIR)$(LOCKDRIVERDIR)
	install -m 0755 $(REL)/libvirtcore.so $(DESTDIR)$(LIBDIR)/libvirtcore.so.$(VERSION)
	ln -sf libvirtcore.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libvirtcore.so.$(SOVERSION)
	ln -sf libvirtcore.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libvirtcore.so
	install -m 0644 $(REL)/libvirtcore.a $(DESTDIR)$(LIBDIR)/libvirtcore.a
	install -m 0644 include/virtcore.h $(DESTDIR)$(INCLUDEDIR)/virtcore.h
	install -m 0644 virtcore.pc $(DESTDIR)$(LIBDIR)/pkgconfig/virtcore.pc
	for p in build/lock-driver/*.so; do [ -f "$$p" ] && install -m 0755 "$$p" $(DESTDIR)$(LOCKDRIVERDIR)/ || true; done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libvirtcore.so* $(DESTDIR)$(LIBDIR)/libvirtcore.a \
	      $(DESTDIR)$(INCLUDEDIR)/virtcore.h $(DESTDIR)$(LIBDIR)/pkgconfig/virtcore.pc
	rm -rf $(DESTDIR)$(LIBDIR)/virtcore

# Installs (as root, through apt) whatever the tests need and the machine lacks.
check-deps:
	bash scripts/ensure-deps.sh

check: check-deps all
	$(MAKE) lint
	$(MAKE) cargo-test
	$(MAKE) symbols
	$(MAKE) install-check
	$(MAKE) c-tests

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

cargo-test:
	$(CARGO) test --workspace

c-tests: all
	$(MAKE) -C c-tests check

symbols: lib
	bash scripts/check-symbols.sh $(REL)/libvirtcore.so

install-check: all
	bash scripts/install-check.sh

demo: all
	$(MAKE) -C demo run

bench: all
	$(MAKE) -C c-tests bench

fuzz: all
	$(MAKE) -C c-tests fuzz

clean:
	$(CARGO) clean
	rm -rf build virtcore.pc
	$(MAKE) -C c-tests clean
	-$(MAKE) -C demo clean
