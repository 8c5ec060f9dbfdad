# Special builds: tests made of several translation units.

# virtcore.h and libvirt's headers in separate translation units of one program.
$(BIN)/test_conformance_virterror: test_conformance_virterror.c conformance_virterror_libvirt.c testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -c conformance_virterror_libvirt.c -o $(BIN)/conformance_virterror_libvirt.o
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) test_conformance_virterror.c $(BIN)/conformance_virterror_libvirt.o -o $@ $(VC_LIBS)
