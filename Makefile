# virtcore: build, install and test for C users.
#
#   make                 release build of libvirtcore.{so,a}, the lock drivers, the in-tree .pc
#   make install         PREFIX=/usr/local LIBDIR= INCLUDEDIR= LOCKDRIVERDIR= DESTDIR= (library,
#                        SONAME links, header, .pc, CMake package, lock drivers, virtcore-lock
#                        and its man pages: BINDIR= MANDIR=, README.md: DOCDIR=); builds nothing
#   make uninstall       the same variables: removes exactly what install put there
#   make check           every test: cargo tests, lints, C tests, install and symbol checks
#   make demo            build and run the demo daemon (tiered vs flat start-up)
#   make bench           C benchmarks against Debian's libvirt 9.0
#   make deb             Debian packages into build/deb (debian/rules; reuses target/)
#   make fuzz            long run of the domain property test (FUZZ_CASES=, DOMAIN_PROP_SEED=)
#   make header          regenerate include/virtcore.h after changing the Rust API

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LOCKDRIVERDIR ?= $(LIBDIR)/virtcore/lock-driver
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/virtcore
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/virtcore
DESTDIR ?=
CARGO   ?= cargo
STRIP   ?= strip
# sudo's PATH may lack /sbin; LDCONFIG=true skips it.
LDCONFIG ?= $(firstword $(wildcard /sbin/ldconfig /usr/sbin/ldconfig) ldconfig)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
SOVERSION := 0
# Lock drivers this project builds and installs (and uninstall removes: only these).
LOCKDRIVERS := lockspace

TOP     := $(CURDIR)
REL     := $(TOP)/target/release
# The in-tree layout under build/: lib/ (with the SONAME link), lock-driver/, pkgconfig/.
# The in-tree pkg-config file: lets c-tests/ and demo/ link through pkg-config before install.
UNINST  := $(TOP)/build/pkgconfig
# The build-time default of the library's lock-driver directory; `make install` rewrites
# it in the installed copies to that install's LOCKDRIVERDIR (src/locking/builtin_dir.rs).
export VIRTCORE_LOCKDRIVERDIR := $(LOCKDRIVERDIR)

.PHONY: all lib check-rust header install uninstall check check-deps cargo-test lint c-tests \
        symbols install-check demo bench fuzz clean deb deb-check

all: lib $(UNINST)/virtcore.pc

# A clear message instead of cargo's when rustc is older than Cargo.toml's rust-version.
check-rust:
	@bash scripts/check-rust-version.sh

# lib also renders virtcore-lock's man pages from its command-line definition (clap_mangen).
lib: check-rust
	$(CARGO) build --release --workspace
	mkdir -p build/lib build/lock-driver
	ln -sf $(REL)/libvirtcore.so build/lib/libvirtcore.so.$(SOVERSION)
	ln -sf libvirtcore.so.$(SOVERSION) build/lib/libvirtcore.so
	ln -sf $(REL)/libvirtcore.a build/lib/libvirtcore.a
	if [ -f $(REL)/liblockspace.so ]; then cp -f $(REL)/liblockspace.so build/lock-driver/lockspace.so; fi
	rm -rf build/man1 && $(REL)/virtcore-lock man build/man1

header:
	VIRTCORE_UPDATE_HEADER=1 $(CARGO) build
	@git diff --stat -- include/virtcore.h || true

# Substitutes the directories of one layout into a template: $(call fill,PREFIX,LIBDIR,
# INCLUDEDIR,LOCKDRIVERDIR).
fill = sed -e 's|@PREFIX@|$(1)|g' -e 's|@LIBDIR@|$(2)|g' -e 's|@INCLUDEDIR@|$(3)|g' \
            -e 's|@LOCKDRIVERDIR@|$(4)|g' -e 's|@VERSION@|$(VERSION)|g'

$(UNINST)/virtcore.pc: pkgconfig/virtcore.pc.in Cargo.toml Makefile
	mkdir -p $(UNINST)
	$(call fill,$(TOP),$(TOP)/build/lib,$(TOP)/include,$(TOP)/build/lock-driver) $< > $@

# install builds nothing (sudo's PATH may have no cargo): it copies what `make` built and
# writes every file for *this* install's directories: the .pc and CMake files from their
# templates, the built-in lock-driver directory into the library copies. Installed
# binaries are stripped (debug info, and the LLVM bitcode of the static library's objects).
# Each file goes to a temporary name first and is renamed into place.
D       := $(DESTDIR)
BUILT   := $(REL)/libvirtcore.so $(REL)/libvirtcore.a $(LOCKDRIVERS:%=$(REL)/lib%.so) \
           $(REL)/virtcore-lock $(MANPAGES:%=build/man1/%.1)
# virtcore-lock's man pages, rendered by `make` (lib) from its clap definition.
MANPAGES := virtcore-lock virtcore-lock-status virtcore-lock-who virtcore-lock-run virtcore-lock-gc
# $(call put,SRC,DEST,MODE,STRIP COMMAND,EXTRA COMMAND)
put = t='$(2).tmp'; install -m $(3) '$(1)' "$$t" && $(4) "$$t" $(5) && mv -fT "$$t" '$(2)' \
      || { rm -f "$$t"; exit 1; }
SETDIR  := perl $(TOP)/scripts/set-lockdriverdir.pl
CMAKE_TO_LIBDIR = $(shell realpath -m --relative-to='$(CMAKEDIR)' '$(LIBDIR)')
CMAKE_TO_INCLUDEDIR = $(shell realpath -m --relative-to='$(CMAKEDIR)' '$(INCLUDEDIR)')

install:
	@for f in $(BUILT); do [ -f "$$f" ] || { echo "make install: $$f is missing:" \
	   "run 'make' first (install builds nothing)" >&2; exit 1; }; done
	@for d in '$(PREFIX)' '$(LIBDIR)' '$(INCLUDEDIR)' '$(LOCKDRIVERDIR)' '$(PKGCONFIGDIR)' \
	          '$(CMAKEDIR)' '$(BINDIR)' '$(MANDIR)' '$(DOCDIR)'; do case "$$d" in /*) ;; *) echo "make install: '$$d' is not" \
	   "an absolute path" >&2; exit 1;; esac; case "$$d" in *[\ \|\'\"]*) echo "make install:" \
	   "'$$d': spaces and quotes are not supported in install directories" >&2; exit 1;; esac; done
	install -d '$(D)$(LIBDIR)' '$(D)$(INCLUDEDIR)' '$(D)$(PKGCONFIGDIR)' '$(D)$(CMAKEDIR)' \
	           '$(D)$(LOCKDRIVERDIR)' '$(D)$(BINDIR)' '$(D)$(MANDIR)/man1' '$(D)$(DOCDIR)'
	$(call put,$(REL)/libvirtcore.so,$(D)$(LIBDIR)/libvirtcore.so.$(VERSION),0755,$(STRIP) --strip-unneeded,&& $(SETDIR) "$$t" '$(LOCKDRIVERDIR)')
	ln -sfn libvirtcore.so.$(VERSION) '$(D)$(LIBDIR)/libvirtcore.so.$(SOVERSION)'
	ln -sfn libvirtcore.so.$(SOVERSION) '$(D)$(LIBDIR)/libvirtcore.so'
	$(call put,$(REL)/libvirtcore.a,$(D)$(LIBDIR)/libvirtcore.a,0644,$(STRIP) --strip-debug -R .llvmbc -R .llvmcmd,&& $(SETDIR) "$$t" '$(LOCKDRIVERDIR)')
	$(foreach p,$(LOCKDRIVERS),$(call put,$(REL)/lib$(p).so,$(D)$(LOCKDRIVERDIR)/$(p).so,0755,$(STRIP) --strip-unneeded);)
	$(call put,include/virtcore.h,$(D)$(INCLUDEDIR)/virtcore.h,0644,true)
	$(call put,$(REL)/virtcore-lock,$(D)$(BINDIR)/virtcore-lock,0755,$(STRIP) --strip-unneeded)
	$(foreach m,$(MANPAGES),$(call put,build/man1/$(m).1,$(D)$(MANDIR)/man1/$(m).1,0644,true);)
	$(call put,README.md,$(D)$(DOCDIR)/README.md,0644,true)
	$(call fill,$(PREFIX),$(LIBDIR),$(INCLUDEDIR),$(LOCKDRIVERDIR)) pkgconfig/virtcore.pc.in \
	    > '$(D)$(PKGCONFIGDIR)/virtcore.pc.tmp' && mv -f '$(D)$(PKGCONFIGDIR)/virtcore.pc.tmp' \
	    '$(D)$(PKGCONFIGDIR)/virtcore.pc'
	@# The CMake package finds the library and header relative to itself (works staged too).
	for f in virtcoreConfig virtcoreConfigVersion; do \
	  $(call fill,$(PREFIX),$(CMAKE_TO_LIBDIR),$(CMAKE_TO_INCLUDEDIR),$(LOCKDRIVERDIR)) \
	    cmake/$$f.cmake.in > '$(D)$(CMAKEDIR)/'$$f.cmake.tmp && \
	  mv -f '$(D)$(CMAKEDIR)/'$$f.cmake.tmp '$(D)$(CMAKEDIR)/'$$f.cmake || exit 1; done
	@$(ldconfig)
	@if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" -eq 0 ]; then $(ldknown) || $(ldhint); fi

# Refresh the dynamic linker's cache when installing for real as root; else say so. When
# LIBDIR is not in the linker's path (a PREFIX like /opt/x), programs would fail with
# "cannot open shared object file": say how to fix it (README, "Installing").
LDCONFIG_REAL := $(firstword $(wildcard /sbin/ldconfig /usr/sbin/ldconfig) ldconfig)
ldhint = echo "make install: $(LIBDIR) is not in the dynamic linker's path: programs linked" \
           "with -lvirtcore will fail with \"cannot open shared object file\". Add it to" \
           "/etc/ld.so.conf.d/virtcore.conf and run ldconfig, or link with -Wl,-rpath,$(LIBDIR)"
# Whether the linker's cache has libvirtcore.so.0 in LIBDIR (/lib and /usr/lib are one
# directory on a merged-/usr system: compared by real path).
ldknown = $(LDCONFIG_REAL) -p 2>/dev/null | sed -n 's/^.*libvirtcore\.so\.$(SOVERSION) (.*) => //p' | \
           while read -r p; do [ "$$(realpath -m "$${p%/*}")" = "$$(realpath -m '$(LIBDIR)')" ] && echo y; \
           done | grep -q y
ldconfig = if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" -eq 0 ]; then echo '$(LDCONFIG)'; $(LDCONFIG); \
           elif [ -z '$(DESTDIR)' ]; then echo "make: run ldconfig as root if $(LIBDIR) is in" \
           "the dynamic linker's path (/etc/ld.so.conf)"; fi

# Removes exactly what install put there: our files, and our own directories when empty
# (never an overridden LOCKDRIVERDIR, nor other plugins in it).
uninstall:
	rm -f '$(D)$(LIBDIR)/libvirtcore.so.$(VERSION)' '$(D)$(LIBDIR)/libvirtcore.so.$(SOVERSION)' \
	      '$(D)$(LIBDIR)/libvirtcore.so' '$(D)$(LIBDIR)/libvirtcore.a' \
	      '$(D)$(INCLUDEDIR)/virtcore.h' '$(D)$(PKGCONFIGDIR)/virtcore.pc' \
	      '$(D)$(CMAKEDIR)/virtcoreConfig.cmake' '$(D)$(CMAKEDIR)/virtcoreConfigVersion.cmake' \
	      $(foreach p,$(LOCKDRIVERS),'$(D)$(LOCKDRIVERDIR)/$(p).so') \
	      '$(D)$(BINDIR)/virtcore-lock' $(foreach m,$(MANPAGES),'$(D)$(MANDIR)/man1/$(m).1') \
	      '$(D)$(DOCDIR)/README.md'
	for d in $(if $(filter $(LIBDIR)/virtcore/lock-driver,$(LOCKDRIVERDIR)),'$(D)$(LOCKDRIVERDIR)') \
	         '$(D)$(LIBDIR)/virtcore' '$(D)$(CMAKEDIR)' '$(D)$(DOCDIR)'; do \
	  [ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d" || exit 1; done
	@$(ldconfig)

# Installs (as root, through apt) whatever the tests need and the machine lacks.
check-deps:
	bash scripts/ensure-deps.sh

check: check-deps all
	$(MAKE) lint
	$(MAKE) cargo-test
	$(MAKE) symbols
	$(MAKE) install-check
	$(MAKE) deb-check
	$(MAKE) c-tests

lint:
	bash scripts/check-rust-version.sh --lock
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

# Debian packages (libvirtcore0, libvirtcore-dev, virtcore-lockspace) into build/deb, with
# debhelper (debian/rules, as dpkg-buildpackage -b runs it, minus the clean and the
# .changes; Rules-Requires-Root: no, so no fakeroot); cargo reuses target/. `make all`
# first and a fresh debian/ state, so that the packages always hold the current build.
deb: all
	dpkg-checkbuilddeps
	debian/rules clean
	rm -rf build/deb && mkdir -p build/deb
	debian/rules build
	VIRTCORE_DEB_DIR=$(TOP)/build/deb debian/rules binary
	@ls build/deb/*.deb

# Builds the packages, runs lintian on them, installs them in a throw-away overlay of this
# machine, uses them (pkg-config consumer, libvirtd with lock_manager = "lockspace"),
# purges them and checks nothing is left.
# Skipped (exit 77) without root, namespaces or overlayfs.
deb-check: deb
	@bash scripts/deb-check.sh build/deb; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

# Like check: installs what it needs first (pkg-config, Debian's libvirt to compare with).
demo: check-deps all
	$(MAKE) -C demo run

bench: all
	$(MAKE) -C c-tests bench

fuzz: all
	$(MAKE) -C c-tests fuzz

clean:
	$(CARGO) clean
	rm -rf build
	$(MAKE) -C c-tests clean
	-$(MAKE) -C demo clean
	if command -v dh >/dev/null; then debian/rules clean; fi
