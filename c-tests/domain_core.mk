# Domain subsystem (core engineer): tests made of several translation units.

# virtcore.h and libvirt's headers in separate translation units of one program.
$(BIN)/test_domain_core_conformance: test_domain_core_conformance.c domain_core_conformance_libvirt.c domain-names.inc testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -c domain_core_conformance_libvirt.c -o $(BIN)/domain_core_conformance_libvirt.o
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) test_domain_core_conformance.c $(BIN)/domain_core_conformance_libvirt.o -o $@ $(VC_LIBS)
