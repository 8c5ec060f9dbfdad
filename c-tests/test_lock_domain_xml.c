/* test_lock_domain_xml.c: what the domain glue asks of a lock driver follows libvirt 9.0's
 * reading of the document (issue 9, items 11 and 13): a cdrom is locked READONLY whatever
 * the XML says (libvirt's post-parse forces it read-only; a floppy is not forced), and
 * def->onLockFailure, parsed from <on_lockfailure>, is the action of every acquire (start,
 * resume, hot-plug), as libvirt's domain_lock.c passes it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unistd.h>
#include "testutil.h"

#define CFGDIR "/etc/virtcore-test"

static const char *xml =
    "<domain type='kvm'>\n"
    "  <name>media</name>\n"
    "  <uuid>6f1b0c52-2a3c-4d6e-8f90-1a2b3c4d5e6f</uuid>\n"
    "  <on_lockfailure>pause</on_lockfailure>\n"
    "  <devices>\n"
    "    <disk type='file' device='cdrom'><source file='/iso/install.iso'/><target dev='hdc' bus='ide'/></disk>\n"
    "    <disk type='file' device='floppy'><source file='/img/floppy.img'/><target dev='fda'/></disk>\n"
    "    <disk type='file' device='disk'><source file='/img/root.img'/><target dev='vda' bus='virtio'/></disk>\n"
    "    <lease><lockspace>ls</lockspace><key>k</key><target path='/leases/k'/></lease>\n"
    "  </devices>\n"
    "</domain>\n";

static void *sym(const char *name)
{
    char path[4096];
    void *h, *p;
    snprintf(path, sizeof(path), "%s/testdrv.so", TEST_PLUGIN_DIR);
    h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    CHECK(h != NULL);
    p = dlsym(h, name);
    CHECK(p != NULL);
    dlclose(h); /* the plugin object keeps it loaded */
    return p;
}

#define EXPECT(buf, want)                                                             \
    do {                                                                              \
        char *b_ = (buf);                                                             \
        if (strcmp(b_, (want)) != 0) {                                                \
            fprintf(stderr, "%s:%d:\n  were: %s\n  want: %s\n", __FILE__, __LINE__, b_, \
                    (want));                                                          \
            exit(1);                                                                  \
        }                                                                             \
        memset(b_, 0, strlen(b_));                                                    \
    } while (0)

int main(void)
{
    virDomainXMLOption *xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    virLockManagerPlugin *plugin;
    virDomainObj *vm;
    char *log, *actions, *state = NULL;
    size_t i;

    setenv("VIRTCORE_LOCK_DRIVER_DIR", TEST_PLUGIN_DIR, 1);
    plugin = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
    CHECK(plugin != NULL);
    log = sym("testdrv_log");
    actions = sym("testdrv_actions");
    log[0] = actions[0] = 0;

    vm = virDomainObjNew(xmlopt);
    CHECK(vm != NULL);
    vm->def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    CHECK(vm->def != NULL);
    CHECK(vm->def->onLockFailure == VIR_DOMAIN_LOCK_FAILURE_PAUSE);
    vm->def->id = 4;
    vm->pid = getpid();

    /* Item 11: the cdrom READONLY (1), the floppy and the disk exclusive (0). Order:
     * leases, then def->disks in libvirt's order: grouped by the bus= written (ide, none,
     * virtio, in order of first appearance), so hdc | fda | vda. */
    CHECK(virDomainLockProcessStart(plugin, NULL, vm, true, NULL) == 0);
    EXPECT(log, "new(media,4,self,-,1);add(1,k,0,path=/leases/k,offset=0,lockspace=ls);"
                "add(0,/iso/install.iso,1);add(0,/img/floppy.img,0);add(0,/img/root.img,0);"
                "acquire(3,-);free;");
    /* Even when C code clears the flag of a cdrom (hot-plug of installation media). */
    for (i = 0; i < vm->def->ndisks; i++)
        if (vm->def->disks[i]->device == VIR_DOMAIN_DISK_DEVICE_CDROM) {
            vm->def->disks[i]->src->readonly = false;
            CHECK(virDomainLockDiskAttach(plugin, NULL, vm, vm->def->disks[i]) == 0);
            EXPECT(log, "new(media,4,self,-,0);add(0,/iso/install.iso,1);acquire(0,-);free;");
            CHECK(virDomainLockDiskDetach(plugin, vm, vm->def->disks[i]) == 0);
            EXPECT(log, "new(media,4,self,-,0);add(0,/iso/install.iso,1);release;free;");
        }

    /* Item 13: the action of every acquire is def->onLockFailure (3 = pause) . */
    CHECK(virDomainLockProcessResume(plugin, NULL, vm, NULL) == 0);
    CHECK(virDomainLockProcessPause(plugin, vm, &state) == 0);
    CHECK(virDomainLockProcessResume(plugin, NULL, vm, state) == 0);
    free(state);
    CHECK(virDomainLockImageAttach(plugin, NULL, vm, vm->def->disks[0]->src) == 0);
    CHECK(virDomainLockLeaseAttach(plugin, NULL, vm, vm->def->leases[0]) == 0);
    EXPECT(actions, "333333"); /* start, cdrom attach, resume twice, image, lease */
    log[0] = 0;
    vm->def->onLockFailure = VIR_DOMAIN_LOCK_FAILURE_POWEROFF;
    CHECK(virDomainLockProcessStart(plugin, NULL, vm, false, NULL) == 0);
    EXPECT(actions, "1");
    /* An action out of range is refused before the driver sees it. */
    vm->def->onLockFailure = 42;
    virResetLastError();
    CHECK(virDomainLockProcessStart(plugin, NULL, vm, false, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "invalid onLockFailure action 42");
    CHECK(virDomainLockProcessResume(plugin, NULL, vm, NULL) == -1);
    EXPECT(actions, "");

    virDomainObjEndAPI(&vm);
    virLockManagerPluginUnref(plugin);
    virObjectUnref(xmlopt);
    TEST_DONE();
}
