/* test_domain_core_conformance.c: virtcore.h's domain state, reason and
 * VIR_CONNECT_LIST_DOMAINS_* values equal Debian's libvirt 9.0 public headers (read in the
 * separate translation unit domain_core_conformance_libvirt.c). */
#include "testutil.h"

struct named_value { const char *name; long value; };
extern const struct named_value libvirt_domain_values[];

static const struct named_value virtcore_values[] = {
#define NAME(n) {#n, n},
#include "domain-names.inc"
#undef NAME
    {NULL, 0},
};

int main(void)
{
    size_t i;
    for (i = 0; virtcore_values[i].name; i++) {
        CHECK(libvirt_domain_values[i].name != NULL);
        CHECK(strcmp(virtcore_values[i].name, libvirt_domain_values[i].name) == 0);
        if (virtcore_values[i].value != libvirt_domain_values[i].value) {
            fprintf(stderr, "%s: virtcore %ld, libvirt %ld\n", virtcore_values[i].name,
                    virtcore_values[i].value, libvirt_domain_values[i].value);
            return 1;
        }
        CHECK(1);
    }
    CHECK(libvirt_domain_values[i].name == NULL);
    TEST_DONE();
}
