/* conformance_virterror_libvirt.c: the libvirt side of test_conformance_virterror.
 * Compiled against Debian's libvirt-dev public headers ONLY (not virtcore.h): it exports
 * libvirt's values and the layout of its virError so the test can compare them with
 * virtcore's, which live in a different translation unit. */
#include <stddef.h>
/* conn, dom and net are deprecated in libvirt; their offsets are still ABI. */
#define VIR_DEPRECATED
#include <libvirt/virterror.h>

struct named_value { const char *name; long value; };

const struct named_value libvirt_values[] = {
#define NAME(n) {#n, n},
#include "virterror-names.inc"
#undef NAME
    {NULL, 0},
};

const size_t libvirt_virError_layout[] = {
    sizeof(virError), offsetof(virError, code), offsetof(virError, domain),
    offsetof(virError, message), offsetof(virError, level), offsetof(virError, conn),
    offsetof(virError, dom), offsetof(virError, str1), offsetof(virError, str2),
    offsetof(virError, str3), offsetof(virError, int1), offsetof(virError, int2),
    offsetof(virError, net), sizeof(virErrorLevel),
};
