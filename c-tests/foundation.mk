# Special builds of the foundation tests.

# virtcore.h and libvirt's headers in separate translation units of one program.
$(BIN)/test_conformance_virterror: test_conformance_virterror.c conformance_virterror_libvirt.c virterror-names.inc testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) $(CFLAGS) $(LV_CFLAGS) -c conformance_virterror_libvirt.c -o $(BIN)/conformance_virterror_libvirt.o
	$(CC) $(WARN) $(CFLAGS) $(VC_CFLAGS) test_conformance_virterror.c $(BIN)/conformance_virterror_libvirt.o -o $@ $(VC_LIBS)

# The header as strict C99 (as C89 it stops with an #error: header-c89.sh below).
$(BIN)/test_header_strict: test_header_strict.c testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror $(CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

# The header as C++.
CXX ?= g++
$(BIN)/header_cxx: header_cxx.cc $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CXX) -std=c++11 -pedantic -Wall -Wextra -Werror $(CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

EXTRA += $(BIN)/header_cxx
EXTRA_RUN += $(BIN)/header_cxx

# The header included twice, with -Wredundant-decls: every declaration is inside the guard.
$(BIN)/test_header_twice: test_header_twice.c testutil.h $(TOP)/include/virtcore.h
	@mkdir -p $(BIN)
	$(CC) $(WARN) -Wredundant-decls $(CFLAGS) $(VC_CFLAGS) $< -o $@ $(VC_LIBS)

# The header as C89: a clear #error (it needs C99), checked by a script at run time.
EXTRA_RUN += ./header-c89.sh
