/* test_conformance_virterror.c: every error code, domain and level, and the virError
 * layout, agree between virtcore.h and Debian's libvirt 9.0 headers. The libvirt values
 * come from conformance_virterror_libvirt.c, a separate translation unit that includes
 * only <libvirt/virterror.h>. */
#include <stddef.h>
#include "testutil.h"

struct named_value { const char *name; long value; };

extern const struct named_value libvirt_values[];
extern const size_t libvirt_virError_layout[];

static const struct named_value virtcore_values[] = {
#define NAME(n) {#n, n},
#include "virterror-names.inc"
#undef NAME
    {NULL, 0},
};

static const size_t virtcore_virError_layout[] = {
    sizeof(virError), offsetof(virError, code), offsetof(virError, domain),
    offsetof(virError, message), offsetof(virError, level), offsetof(virError, conn),
    offsetof(virError, dom), offsetof(virError, str1), offsetof(virError, str2),
    offsetof(virError, str3), offsetof(virError, int1), offsetof(virError, int2),
    offsetof(virError, net), sizeof(virErrorLevel),
};

int main(void)
{
    size_t i, n = 0;
    int mismatches = 0;

    for (i = 0; virtcore_values[i].name; i++, n++) {
        CHECK(libvirt_values[i].name != NULL);
        CHECK(strcmp(virtcore_values[i].name, libvirt_values[i].name) == 0);
        if (virtcore_values[i].value != libvirt_values[i].value) {
            fprintf(stderr, "%s: virtcore %ld, libvirt %ld\n", virtcore_values[i].name,
                    virtcore_values[i].value, libvirt_values[i].value);
            mismatches++;
        }
    }
    CHECK(mismatches == 0);
    CHECK(n == 187);
    for (i = 0; i < sizeof(virtcore_virError_layout) / sizeof(size_t); i++)
        CHECK(virtcore_virError_layout[i] == libvirt_virError_layout[i]);
    printf("%zu values and %zu layout facts agree with libvirt 9.0\n", n,
           sizeof(virtcore_virError_layout) / sizeof(size_t));
    TEST_DONE();
}
