/* test_lock_domain.c: the domain glue (virDomainLockProcessStart/Pause/Resume/Inquire,
 * virDomainLock{Disk,Image,Lease}{Attach,Detach}) turns a virDomainObj into the calls
 * libvirt's domain_lock.c makes: domain params, one DISK resource per local disk with
 * READONLY/SHARED from the definition (network disks skipped), one LEASE per lease; the
 * recording test plugin shows the exact sequence. With virtcore's lockspace driver built,
 * two processes and one disk: the second guest is refused and the message names the first;
 * after the first guest's process dies the disk is free. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define CFGDIR "/etc/virtcore-test"

static const char *xml_fmt =
    "<domain type='kvm'>\n"
    "  <name>%s</name>\n"
    "  <uuid>%s</uuid>\n"
    "  <memory unit='KiB'>65536</memory>\n"
    "  <vcpu>1</vcpu>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='%s'/><target dev='vda' bus='virtio'/></disk>\n"
    "    <disk type='block' device='disk'><source dev='/dev/vc-shared'/><target dev='vdb' bus='virtio'/><shareable/></disk>\n"
    "    <disk type='file' device='cdrom'><source file='/iso/install.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>\n"
    "    <disk type='network' device='disk'><source protocol='nbd' name='x'><host name='h' port='1'/></source><target dev='vdc' bus='virtio'/></disk>\n"
    "    <lease><lockspace>space1</lockspace><key>key1</key><target path='%s' offset='1024'/></lease>\n"
    "  </devices>\n"
    "</domain>\n";

static virDomainXMLOption *xmlopt;

static const char *lease_path = "/leases/l1";

static virDomainObj *make_vm(const char *name, const char *uuid, const char *disk)
{
    char xml[4096];
    virDomainObj *vm;
    virDomainDef *def;
    snprintf(xml, sizeof(xml), xml_fmt, name, uuid, disk, lease_path);
    def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    CHECK(def != NULL);
    vm = virDomainObjNew(xmlopt); /* locked, as the glue's callers hold it */
    CHECK(vm != NULL);
    vm->def = def;
    vm->def->id = 3;
    vm->pid = getpid();
    return vm;
}

static char *drvlog(void)
{
    char path[4096];
    void *h;
    char *log;
    snprintf(path, sizeof(path), "%s/testdrv.so", TEST_PLUGIN_DIR);
    h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    CHECK(h != NULL);
    log = dlsym(h, "testdrv_log");
    dlclose(h); /* the plugin object keeps it loaded */
    return log;
}

#define EXPECT_LOG(expected)                                                          \
    do {                                                                              \
        char *l_ = drvlog();                                                          \
        if (strcmp(l_, (expected)) != 0) {                                            \
            fprintf(stderr, "%s:%d: plugin calls\n  were: %s\n  want: %s\n", __FILE__, \
                    __LINE__, l_, (expected));                                        \
            exit(1);                                                                  \
        }                                                                             \
        l_[0] = 0;                                                                    \
    } while (0)

#define RES "add(1,key1,0,path=/leases/l1,offset=1024,lockspace=space1);" \
            "add(0,/var/lib/a.img,0);add(0,/dev/vc-shared,2);add(0,/iso/install.iso,1);"

static void glue_calls(void)
{
    virLockManagerPlugin *plugin = virLockManagerPluginNew("testdrv", "qemu", CFGDIR, 0);
    virDomainObj *vm = make_vm("guest-a", "6f1b0c52-2a3c-4d6e-8f90-1a2b3c4d5e6f", "/var/lib/a.img");
    virDomainObj *empty;
    char *state = NULL;
    int fd = -7;

    CHECK(plugin != NULL);
    drvlog()[0] = 0;

    CHECK(virDomainLockProcessStart(plugin, "qemu:///system", vm, false, &fd) == 0);
    CHECK(fd >= 0);
    close(fd);
    EXPECT_LOG("new(guest-a,3,self,qemu:///system,1);" RES "acquire(2,-);free;");

    CHECK(virDomainLockProcessStart(plugin, "qemu:///system", vm, true, NULL) == 0);
    EXPECT_LOG("new(guest-a,3,self,qemu:///system,1);" RES "acquire(3,-);free;");

    CHECK(virDomainLockProcessPause(plugin, vm, &state) == 0);
    CHECK(state && strcmp(state, "testdrv:0") == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);" RES "release;free;");
    CHECK(virDomainLockProcessResume(plugin, "qemu:///system", vm, state) == 0);
    EXPECT_LOG("new(guest-a,3,self,qemu:///system,0);" RES "acquire(0,testdrv:0);free;");
    free(state);
    state = NULL;
    CHECK(virDomainLockProcessResume(plugin, NULL, vm, NULL) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);" RES "acquire(0,-);free;");

    CHECK(virDomainLockProcessInquire(plugin, vm, &state) == 0);
    CHECK(state && strncmp(state, "testdrv:", 8) == 0);
    free(state);
    EXPECT_LOG("new(guest-a,3,self,-,0);" RES "inquire;free;");

    CHECK(virDomainLockDiskAttach(plugin, "qemu:///system", vm, vm->def->disks[1]) == 0);
    EXPECT_LOG("new(guest-a,3,self,qemu:///system,0);add(0,/dev/vc-shared,2);acquire(0,-);free;");
    /* def->disks is in libvirt's order: vda vdb vdc | hdc */
    CHECK(virDomainLockDiskDetach(plugin, vm, vm->def->disks[3]) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);add(0,/iso/install.iso,1);release;free;");
    CHECK(virDomainLockImageAttach(plugin, NULL, vm, vm->def->disks[0]->src) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);add(0,/var/lib/a.img,0);acquire(0,-);free;");
    CHECK(virDomainLockImageDetach(plugin, vm, vm->def->disks[0]->src) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);add(0,/var/lib/a.img,0);release;free;");
    /* A network disk is not a local resource: nothing to lock. */
    CHECK(virDomainLockDiskAttach(plugin, NULL, vm, vm->def->disks[2]) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);acquire(0,-);free;");
    CHECK(virDomainLockLeaseAttach(plugin, NULL, vm, vm->def->leases[0]) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);add(1,key1,0,path=/leases/l1,offset=1024,lockspace=space1);acquire(0,-);free;");
    CHECK(virDomainLockLeaseDetach(plugin, vm, vm->def->leases[0]) == 0);
    EXPECT_LOG("new(guest-a,3,self,-,0);add(1,key1,0,path=/leases/l1,offset=1024,lockspace=space1);release;free;");

    /* Bad arguments. */
    CHECK(virDomainLockProcessStart(NULL, NULL, vm, false, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "plugin in virDomainLockProcessStart must not be NULL");
    CHECK(virDomainLockProcessStart(plugin, NULL, NULL, false, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "dom in virDomainLockProcessStart must not be NULL");
    CHECK(virDomainLockProcessStart(plugin, NULL, (virDomainObj *)plugin, false, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live virDomainObj");
    empty = virDomainObjNew(xmlopt);
    CHECK(virDomainLockProcessPause(plugin, empty, &state) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "has no definition");
    virDomainObjEndAPI(&empty);
    CHECK(virDomainLockProcessInquire(plugin, vm, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "state in virDomainLockProcessInquire must not be NULL");
    CHECK(virDomainLockProcessResume(plugin, NULL, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "dom in virDomainLockProcessResume must not be NULL");
    CHECK(virDomainLockDiskAttach(plugin, NULL, vm, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "disk in virDomainLockDiskAttach must not be NULL");
    CHECK(virDomainLockDiskDetach(plugin, vm, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "disk in virDomainLockDiskDetach must not be NULL");
    CHECK(virDomainLockImageAttach(plugin, NULL, vm, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "src in virDomainLockImageAttach must not be NULL");
    CHECK(virDomainLockImageDetach(plugin, vm, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "src in virDomainLockImageDetach must not be NULL");
    CHECK(virDomainLockLeaseAttach(plugin, NULL, vm, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "lease in virDomainLockLeaseAttach must not be NULL");
    CHECK(virDomainLockLeaseDetach(NULL, vm, vm->def->leases[0]) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "plugin in virDomainLockLeaseDetach must not be NULL");
    drvlog()[0] = 0;

    /* The plugin's refusal comes back as the plugin's error. */
    {
        virDomainObj *busy = make_vm("guest-b", "6f1b0c52-2a3c-4d6e-8f90-000000000002", "fail-busy");
        CHECK(virDomainLockProcessStart(plugin, NULL, busy, false, NULL) == -1);
        CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "testdrv: 'fail-busy' is held by guest 'other'");
        virDomainObjEndAPI(&busy);
    }
    virDomainObjEndAPI(&vm);
    virLockManagerPluginUnref(plugin);
}

/* Two guests, one disk, virtcore's lockspace driver, each guest its own process. */
static void two_guests_lockspace(void)
{
    char dir[] = "/tmp/vc-lockglue-XXXXXX", conf[4200], disk[4200], lease[4200], cmd[4300];
    virLockManagerPlugin *plugin;
    virDomainObj *b;
    int go[2], ready[2], status;
    char c;
    FILE *f;
    pid_t pid;

    if (access(TOP_DIR "/build/lock-driver/lockspace.so", R_OK) != 0) {
        printf("lockspace.so not built: two-guest check skipped\n");
        return;
    }
    CHECK(mkdtemp(dir) != NULL);
    snprintf(conf, sizeof(conf), "%s/qemu-lockspace.conf", dir);
    snprintf(disk, sizeof(disk), "%s/shared.img", dir);
    CHECK((f = fopen(conf, "w")) != NULL);
    fprintf(f, "lockspace_dir = \"%s\"\n", dir);
    fclose(f);
    CHECK((f = fopen(disk, "w")) != NULL);
    fclose(f);
    snprintf(lease, sizeof(lease), "%s/lease1", dir);
    CHECK((f = fopen(lease, "w")) != NULL);
    fclose(f);
    lease_path = lease;
    setenv("VIRTCORE_LOCK_DRIVER_DIR", TOP_DIR "/build/lock-driver", 1);
    plugin = virLockManagerPluginNew("lockspace", "qemu", dir, 0);
    CHECK(plugin != NULL);
    CHECK(pipe(go) == 0 && pipe(ready) == 0);

    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* guest A's process: takes its locks as it starts, then runs until killed */
        virDomainObj *a = make_vm("guest-a", "6f1b0c52-2a3c-4d6e-8f90-00000000000a", disk);
        int rc = virDomainLockProcessStart(plugin, "qemu:///system", a, false, NULL);
        if (rc < 0)
            fprintf(stderr, "guest A: %s\n", virGetLastErrorMessage());
        c = rc == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(2);
        if (read(go[0], &c, 1) < 0)
            _exit(3);
        _exit(0);
    }
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');

    /* B has a lease of its own: what collides is the disk. */
    snprintf(lease, sizeof(lease), "%s/lease2", dir);
    CHECK((f = fopen(lease, "w")) != NULL);
    fclose(f);
    b = make_vm("guest-b", "6f1b0c52-2a3c-4d6e-8f90-00000000000b", disk);
    CHECK(virDomainLockProcessStart(plugin, "qemu:///system", b, false, NULL) == -1);
    printf("second guest refused: %s\n", virGetLastErrorMessage());
    fflush(stdout);
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, "guest-a");
    CHECK_ERROR(VIR_ERR_RESOURCE_BUSY, disk);
    /* read-only use of the same disk is not refused */
    b->def->disks[0]->src->readonly = true;
    CHECK(virDomainLockDiskAttach(plugin, NULL, b, b->def->disks[0]) == 0);
    b->def->disks[0]->src->readonly = false;

    kill(pid, SIGKILL);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(virDomainLockProcessStart(plugin, "qemu:///system", b, false, NULL) == 0);
    /* The glue started it RESTRICTed: this process may not change its locks any more
     * (in a daemon, pause runs in the daemon, not in the guest's process). */
    CHECK(virDomainLockProcessPause(plugin, b, NULL) == -1);
    CHECK(virGetLastErrorCode() == VIR_ERR_OPERATION_INVALID);
    virDomainObjEndAPI(&b);
    virLockManagerPluginUnref(plugin);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    setenv("VIRTCORE_LOCK_DRIVER_DIR", TEST_PLUGIN_DIR, 1);
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK(xmlopt != NULL);
    glue_calls();
    two_guests_lockspace();
    virObjectUnref(xmlopt);
    TEST_DONE();
}
