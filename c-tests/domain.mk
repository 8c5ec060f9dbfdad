# Domain subsystem: programs built from one source against both virtcore and Debian's
# libvirt.so.0 9.0.0 (-DDOMAIN_USE_LIBVIRT; prototypes in bench_domain_compat.h), the
# valgrind run of the stress test, and the benchmark (`make bench`, never `make check`).

DOMAIN_COMPAT := bench_domain_compat.h

# Conformance: bin/test_domain_conformance (virtcore) runs this libvirt build of the
# same source and compares every result line.
# (`all:` in the Makefile is read before this fragment, so name the prerequisite here too.)
EXTRA += $(BIN)/domain_conformance_libvirt
all: $(BIN)/domain_conformance_libvirt
$(BIN)/test_domain_conformance: $(DOMAIN_COMPAT)
$(BIN)/domain_conformance_libvirt: test_domain_conformance.c $(DOMAIN_COMPAT)
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) -DDOMAIN_USE_LIBVIRT $(LV_CFLAGS) $< -o $@ $(LV_LIBS)

# Benchmark: the same source against each library; scripts/bench-domain.sh prints the one
# table of ratios (with the lock cycle of bench_lock, built in locking.mk) and draws the
# chart with target/release/bench-chart (tools/bench-chart, built by `make all`).
.PHONY: bench-domain
bench: bench-domain
bench-domain: $(BIN)/bench_domain_vc $(BIN)/bench_domain_lv $(BIN)/bench_lock $(BIN)/bench_lock_libvirt
	bash $(TOP)/scripts/bench-domain.sh $(abspath $(BIN)) $(BENCH_DOMAIN_COUNTS)

$(BIN)/bench_domain_vc: bench_domain.c $(DOMAIN_COMPAT) $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

$(BIN)/bench_domain_lv: bench_domain.c $(DOMAIN_COMPAT)
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) -DDOMAIN_USE_LIBVIRT $(LV_CFLAGS) $< -o $@ $(LV_LIBS) -lpthread

# Parse/format speed over real documents and with many disks (scripts/bench-domain-xml.sh;
# BENCH_DOMAIN_XML_DIRS names the directories, by default libvirt 9.0's test documents in
# tests/data/libvirt-9.0).
.PHONY: bench-domain-xml
bench: bench-domain-xml
bench-domain-xml: $(BIN)/bench_domain_xml_vc $(BIN)/bench_domain_xml_lv
	bash $(TOP)/scripts/bench-domain-xml.sh $(abspath $(BIN)) $(BENCH_DOMAIN_XML_DIRS)

$(BIN)/bench_domain_xml_vc: bench_domain_xml.c $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

$(BIN)/bench_domain_xml_lv: bench_domain_xml.c $(DOMAIN_COMPAT)
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) -DDOMAIN_USE_LIBVIRT $(LV_CFLAGS) $< -o $@ $(LV_LIBS)

# The floor under the lookup rows (BENCHMARKS.md): the atomic operations a Find* +
# virDomainObjEndAPI must do, timed alone in C on this machine, no library.
.PHONY: bench-floor
bench: bench-floor
bench-floor: $(BIN)/bench_floor
	@for n in 1000 10000 100000; do $(BIN)/bench_floor $$n; done

$(BIN)/bench_floor: bench_floor.c
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $< -o $@
