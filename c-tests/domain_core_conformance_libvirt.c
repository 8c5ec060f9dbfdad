/* domain_core_conformance_libvirt.c: the libvirt side of test_domain_core_conformance.
 * Compiled against Debian's libvirt-dev public headers ONLY (not virtcore.h): it exports
 * libvirt 9.0's domain state, reason and listing-flag values. */
#include <stddef.h>
#include <libvirt/libvirt.h>

struct named_value { const char *name; long value; };

const struct named_value libvirt_domain_values[] = {
#define NAME(n) {#n, n},
#include "domain-names.inc"
#undef NAME
    {NULL, 0},
};
