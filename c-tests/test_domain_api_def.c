/* test_domain_api_def.c: definitions and persistence from C: virDomainXMLOptionNew,
 * virDomainDefNew/Free/ParseString/ParseFile/Format (the fields C reads and writes
 * directly), virDomainConfigFile, virDomainDefSave / virDomainSaveConfig,
 * virDomainObjSave / virDomainSaveStatus, virDomainDeleteConfig and
 * virDomainObjListLoadAllConfigs (autostart links, live status), each also with NULL
 * arguments, objects of the wrong type and unknown flags. */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define EXPECT_INVALID(expr, needle)                                                 \
    do {                                                                             \
        virResetLastError();                                                         \
        CHECK(expr);                                                                 \
        CHECK_ERROR(VIR_ERR_INVALID_ARG, needle);                                    \
    } while (0)

static const char *full_xml =
    "<domain type='kvm' id='5'>\n"
    "  <name>full</name>\n"
    "  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
    "  <description>kept as it is &amp; untouched</description>\n"
    "  <memory unit='KiB'>219136</memory>\n"
    "  <vcpu placement='static'>2</vcpu>\n"
    "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <driver name='qemu' type='qcow2'/>\n"
    "      <source file='/var/lib/images/full.qcow2'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "      <readonly/>\n"
    "    </disk>\n"
    "    <disk type='block' device='disk'>\n"
    "      <source dev='/dev/vg0/shared'/>\n"
    "      <target dev='sdb' bus='scsi'/>\n"
    "      <shareable/>\n"
    "    </disk>\n"
    "    <disk type='file' device='cdrom'>\n"
    "      <source file='/isos/install.iso'/>\n"
    "      <target dev='hdc' bus='ide'/>\n"
    "      <readonly/>\n"
    "    </disk>\n"
    "    <disk type='network' device='disk'>\n"
    "      <source protocol='rbd' name='pool/image'>\n"
    "        <host name='mon.example.org' port='6789'/>\n"
    "      </source>\n"
    "      <target dev='vdd' bus='virtio'/>\n"
    "    </disk>\n"
    "    <lease>\n"
    "      <lockspace>somearea</lockspace>\n"
    "      <key>somekey</key>\n"
    "      <target path='/some/lease/path' offset='1024'/>\n"
    "    </lease>\n"
    "    <interface type='network'><source network='default'/></interface>\n"
    "  </devices>\n"
    "</domain>\n";

static const unsigned char full_uuid[16] = {0x4d, 0xea, 0x22, 0xb3, 0x1d, 0x52, 0xd8, 0xf3,
                                            0x25, 0x16, 0x78, 0x2e, 0x98, 0xab, 0x3f, 0xa0};

static void test_xmlopt(void)
{
    virDomainXMLOption *x = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK(x != NULL);
    CHECK(x->config == NULL && x->privateData == NULL && x->jobObjConfig == NULL);
    virObjectUnref(x);
    /* libvirt's callback structs are kept for the caller, never called */
    x = virDomainXMLOptionNew((virDomainDefParserConfig *)0x10,
                              (virDomainXMLPrivateDataCallbacks *)0x20,
                              (virXMLNamespace *)0x30, (virDomainABIStability *)0x40,
                              (virSaveCookieCallbacks *)0x50, (virDomainJobObjConfig *)0x60);
    CHECK(x != NULL);
    CHECK(x->config == (void *)0x10 && x->privateData == (void *)0x20 && x->ns == (void *)0x30 &&
          x->abi == (void *)0x40 && x->saveCookie == (void *)0x50 &&
          x->jobObjConfig == (void *)0x60);
    /* parsing with it works the same */
    virDomainDef *def = virDomainDefParseString(full_xml, x, NULL, 0);
    CHECK(def != NULL);
    virDomainDefFree(def);
    CHECK(virObjectRef(x) == x);
    virObjectUnref(x);
    virObjectUnref(x);
}

static void test_def_new(void)
{
    virDomainDef *def = virDomainDefNew(NULL);
    CHECK(def != NULL);
    CHECK(def->id == -1 && def->name == NULL && def->ndisks == 0 && def->nleases == 0);
    virDomainDefFree(def);
    virResetLastError();
    virDomainDefFree(NULL);
    CHECK(virGetLastErrorCode() == VIR_ERR_OK);
    virDomainObjList *l = virDomainObjListNew();
    EXPECT_INVALID(virDomainDefNew((virDomainXMLOption *)l) == NULL, "xmlopt");
    virObjectUnref(l);
}

static void test_parse(void)
{
    virDomainDef *def = virDomainDefParseString(full_xml, NULL, NULL, 0);
    CHECK(def != NULL);
    CHECK(def->virtType == VIR_DOMAIN_VIRT_KVM);
    CHECK(def->id == 5);
    CHECK(strcmp(def->name, "full") == 0);
    CHECK(memcmp(def->uuid, full_uuid, 16) == 0);
    CHECK(def->ndisks == 4);
    virDomainDiskDef *d = def->disks[0];
    CHECK(d->src->type == VIR_STORAGE_TYPE_FILE && d->device == VIR_DOMAIN_DISK_DEVICE_DISK);
    CHECK(strcmp(d->src->path, "/var/lib/images/full.qcow2") == 0);
    CHECK(strcmp(d->dst, "vda") == 0 && d->bus == VIR_DOMAIN_DISK_BUS_VIRTIO);
    CHECK(d->src->readonly && !d->src->shared);
    /* def->disks is in libvirt's order (virDomainDiskInsert): by bus, buses in order of
     * first appearance, then by target index: vda vdd | sdb | hdc. */
    d = def->disks[2];
    CHECK(d->src->type == VIR_STORAGE_TYPE_BLOCK && strcmp(d->src->path, "/dev/vg0/shared") == 0);
    CHECK(!d->src->readonly && d->src->shared && d->bus == VIR_DOMAIN_DISK_BUS_SCSI);
    d = def->disks[3];
    CHECK(d->device == VIR_DOMAIN_DISK_DEVICE_CDROM && d->src->readonly);
    CHECK(d->bus == VIR_DOMAIN_DISK_BUS_IDE && strcmp(d->dst, "hdc") == 0);
    d = def->disks[1];
    CHECK(d->src->type == VIR_STORAGE_TYPE_NETWORK && d->src->path == NULL);
    CHECK(def->nleases == 1);
    virDomainLeaseDef *ls = def->leases[0];
    CHECK(strcmp(ls->lockspace, "somearea") == 0 && strcmp(ls->key, "somekey") == 0);
    CHECK(strcmp(ls->path, "/some/lease/path") == 0 && ls->offset == 1024);
    virDomainDefFree(def);

    /* INACTIVE ignores the id attribute */
    def = virDomainDefParseString(full_xml, NULL, NULL, VIR_DOMAIN_DEF_PARSE_INACTIVE);
    CHECK(def != NULL && def->id == -1);
    virDomainDefFree(def);

    /* a missing UUID is generated (random, version 4) */
    const char *nouuid = "<domain type='qemu'><name>nouuid</name></domain>";
    virDomainDef *a = virDomainDefParseString(nouuid, NULL, NULL, 0);
    virDomainDef *b = virDomainDefParseString(nouuid, NULL, NULL, 0);
    CHECK(a && b);
    static const unsigned char zero[16];
    CHECK(memcmp(a->uuid, zero, 16) != 0 && memcmp(a->uuid, b->uuid, 16) != 0);
    CHECK((a->uuid[6] >> 4) == 4);
    char *xa = virDomainDefFormat(a, NULL, 0);
    CHECK(xa != NULL && strstr(xa, "<uuid>") != NULL);
    virDomainDef *a2 = virDomainDefParseString(xa, NULL, NULL, 0);
    CHECK(a2 != NULL && memcmp(a2->uuid, a->uuid, 16) == 0);
    free(xa);
    virDomainDefFree(a);
    virDomainDefFree(a2);
    virDomainDefFree(b);

    /* bad arguments */
    EXPECT_INVALID(virDomainDefParseString(NULL, NULL, NULL, 0) == NULL, "xmlStr");
    EXPECT_INVALID(virDomainDefParseString(full_xml, NULL, NULL, 1u << 31) == NULL, "flags");
    virDomainObjList *l = virDomainObjListNew();
    EXPECT_INVALID(virDomainDefParseString(full_xml, (virDomainXMLOption *)l, NULL, 0) == NULL,
                   "xmlopt");
    virObjectUnref(l);
}

static void test_format(void)
{
    virDomainDef *def = virDomainDefParseString(full_xml, NULL, NULL, 0);
    CHECK(def != NULL);
    char *x1 = virDomainDefFormat(def, NULL, 0);
    CHECK(x1 != NULL);
    CHECK(strstr(x1, "id='5'") != NULL);
    CHECK(strstr(x1, "<description>kept as it is &amp; untouched</description>") != NULL);
    CHECK(strstr(x1, "<interface type='network'><source network='default'/></interface>"));
    char *xi = virDomainDefFormat(def, NULL, VIR_DOMAIN_DEF_FORMAT_INACTIVE);
    CHECK(xi != NULL && strstr(xi, "id='5'") == NULL && strstr(xi, "<name>full</name>"));
    free(xi);

    /* parse -> format -> parse -> format is stable */
    virDomainDef *again = virDomainDefParseString(x1, NULL, NULL, 0);
    CHECK(again != NULL);
    char *x2 = virDomainDefFormat(again, NULL, 0);
    CHECK(x2 != NULL && strcmp(x1, x2) == 0);
    free(x2);
    virDomainDefFree(again);

    /* C writes fields directly (malloc'ed strings it may replace): format shows them */
    free(def->name);
    def->name = strdup("renamed");
    def->id = 9;
    free(def->disks[0]->src->path);
    def->disks[0]->src->path = strdup("/var/lib/images/moved.qcow2");
    char *x3 = virDomainDefFormat(def, NULL, 0);
    CHECK(x3 != NULL);
    CHECK(strstr(x3, "<name>renamed</name>") && !strstr(x3, "<name>full</name>"));
    CHECK(strstr(x3, "id='9'") && strstr(x3, "/var/lib/images/moved.qcow2"));
    CHECK(!strstr(x3, "/var/lib/images/full.qcow2"));
    virDomainDef *back = virDomainDefParseString(x3, NULL, NULL, 0);
    CHECK(back != NULL && strcmp(back->name, "renamed") == 0 && back->id == 9);
    CHECK(strcmp(back->disks[0]->src->path, "/var/lib/images/moved.qcow2") == 0);
    virDomainDefFree(back);
    free(x3);
    free(x1);

    /* C hot-plugs a disk (everything malloc'ed, owned by the def from now on) and unplugs
     * another, as a driver does; format and parse follow */
    virDomainDiskDef *disk = calloc(1, sizeof(*disk));
    CHECK(disk != NULL);
    disk->src = calloc(1, sizeof(*disk->src));
    CHECK(disk->src != NULL);
    disk->src->type = VIR_STORAGE_TYPE_BLOCK;
    disk->src->path = strdup("/dev/mapper/hotplugged");
    disk->src->shared = true;
    disk->device = VIR_DOMAIN_DISK_DEVICE_DISK;
    disk->bus = VIR_DOMAIN_DISK_BUS_VIRTIO;
    disk->dst = strdup("vdz");
    virDomainDiskDef **disks = realloc(def->disks, (def->ndisks + 1) * sizeof(*disks));
    CHECK(disks != NULL);
    def->disks = disks;
    def->disks[def->ndisks++] = disk;
    virDomainDiskDef *gone = def->disks[2]; /* the shared block disk */
    memmove(&def->disks[2], &def->disks[3], (def->ndisks - 3) * sizeof(*def->disks));
    def->ndisks--;
    free(gone->src->path);
    free(gone->src);
    free(gone->dst);
    free(gone);
    char *x4 = virDomainDefFormat(def, NULL, 0);
    CHECK(x4 != NULL && strstr(x4, "/dev/mapper/hotplugged") && !strstr(x4, "/dev/vg0/shared"));
    virDomainDef *hp = virDomainDefParseString(x4, NULL, NULL, 0);
    CHECK(hp != NULL && hp->ndisks == 4);
    /* libvirt's order again: vda vdd vdz | hdc */
    CHECK(strcmp(hp->disks[0]->src->path, "/var/lib/images/moved.qcow2") == 0);
    CHECK(hp->disks[3]->device == VIR_DOMAIN_DISK_DEVICE_CDROM);
    CHECK(hp->disks[1]->src->type == VIR_STORAGE_TYPE_NETWORK);
    virDomainDiskDef *last = hp->disks[2];
    CHECK(last->src->type == VIR_STORAGE_TYPE_BLOCK && last->src->shared && !last->src->readonly);
    CHECK(strcmp(last->src->path, "/dev/mapper/hotplugged") == 0 && strcmp(last->dst, "vdz") == 0);
    CHECK(last->bus == VIR_DOMAIN_DISK_BUS_VIRTIO);
    CHECK(strstr(x4, "<description>kept as it is &amp; untouched</description>") != NULL);
    virDomainDefFree(hp);
    free(x4);

    EXPECT_INVALID(virDomainDefFormat(NULL, NULL, 0) == NULL, "def");
    EXPECT_INVALID(virDomainDefFormat(def, NULL, 1u << 30) == NULL, "flags");
    virDomainDefFree(def);
}

static char tmpdir[] = "/tmp/vc-apidef-XXXXXX";

static void test_files(void)
{
    CHECK(mkdtemp(tmpdir) != NULL);
    char cfg[256], aut[256], st[256], path[512], link[512];
    snprintf(cfg, sizeof(cfg), "%s/qemu", tmpdir);
    snprintf(aut, sizeof(aut), "%s/qemu/autostart", tmpdir);
    snprintf(st, sizeof(st), "%s/run", tmpdir);

    char *cf = virDomainConfigFile("/etc/libvirt/qemu", "vm1");
    CHECK(cf != NULL && strcmp(cf, "/etc/libvirt/qemu/vm1.xml") == 0);
    free(cf);
    EXPECT_INVALID(virDomainConfigFile(NULL, "vm1") == NULL, "dir");
    EXPECT_INVALID(virDomainConfigFile("/etc", NULL) == NULL, "name");

    /* save configs (creates the directory), both names of the function */
    virDomainDef *def = virDomainDefParseString(full_xml, NULL, NULL, 0);
    CHECK(def != NULL);
    CHECK(virDomainDefSave(def, NULL, cfg) == 0);
    snprintf(path, sizeof(path), "%s/full.xml", cfg);
    virDomainDef *rd = virDomainDefParseFile(path, NULL, NULL, 0);
    CHECK(rd != NULL && strcmp(rd->name, "full") == 0 && memcmp(rd->uuid, full_uuid, 16) == 0);
    CHECK(rd->id == -1); /* the config holds the inactive definition */
    CHECK(rd->ndisks == 4 && rd->nleases == 1);
    virDomainDefFree(rd);
    virDomainDef *second = virDomainDefParseString(
        "<domain type='kvm'><name>second</name>"
        "<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa1</uuid></domain>",
        NULL, NULL, 0);
    CHECK(second != NULL);
    CHECK(virDomainSaveConfig(cfg, NULL, second) == 0);
    virDomainDefFree(second);
    CHECK(mkdir(aut, 0700) == 0);
    snprintf(link, sizeof(link), "%s/full.xml", aut);
    CHECK(symlink(path, link) == 0);

    EXPECT_INVALID(virDomainDefSave(NULL, NULL, cfg) == -1, "def");
    EXPECT_INVALID(virDomainDefSave(def, NULL, NULL) == -1, "configDir");
    EXPECT_INVALID(virDomainSaveConfig(NULL, NULL, def) == -1, "configDir");
    EXPECT_INVALID(virDomainSaveConfig(cfg, NULL, NULL) == -1, "def");
    virResetLastError();
    CHECK(virDomainDefSave(def, NULL, "/proc/nonexistent/dir") == -1);
    CHECK(virGetLastErrorCode() != VIR_ERR_OK && strstr(virGetLastErrorMessage(), "/proc"));

    /* ParseFile errors name the file */
    EXPECT_INVALID(virDomainDefParseFile(NULL, NULL, NULL, 0) == NULL, "filename");
    EXPECT_INVALID(virDomainDefParseFile(path, NULL, NULL, 1u << 31) == NULL, "flags");
    virResetLastError();
    CHECK(virDomainDefParseFile("/nonexistent/x.xml", NULL, NULL, 0) == NULL);
    CHECK(strstr(virGetLastErrorMessage(), "/nonexistent/x.xml") != NULL);

    /* load configs: persistent, autostart per link */
    virDomainObjList *l = virDomainObjListNew();
    CHECK(l != NULL);
    CHECK(virDomainObjListLoadAllConfigs(l, cfg, aut, false, NULL, NULL, NULL) == 0);
    CHECK(virDomainObjListNumOfDomains(l, false, NULL, NULL) == 2);
    virDomainObj *vm = virDomainObjListFindByName(l, "full");
    CHECK(vm != NULL && vm->persistent && vm->autostart && !virDomainObjIsActive(vm));
    virDomainObjEndAPI(&vm);
    vm = virDomainObjListFindByName(l, "second");
    CHECK(vm != NULL && vm->persistent && !vm->autostart);

    /* status of a running domain: save, load with liveStatus */
    virDomainDef *live = virDomainDefParseString(full_xml, NULL, NULL, 0);
    CHECK(live != NULL);
    virDomainObj *run = virDomainObjNew(NULL);
    CHECK(run != NULL);
    run->def = live;
    run->pid = 31337;
    virDomainObjSetState(run, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_MIGRATION);
    CHECK(virDomainObjSave(run, NULL, st) == 0);
    EXPECT_INVALID(virDomainObjSave(NULL, NULL, st) == -1, "obj");
    EXPECT_INVALID(virDomainObjSave(run, NULL, NULL) == -1, "statusDir");
    EXPECT_INVALID(virDomainSaveStatus(NULL, st, NULL, NULL) == -1, "obj");
    EXPECT_INVALID(virDomainSaveStatus(NULL, NULL, run, NULL) == -1, "statusDir");
    EXPECT_INVALID(virDomainObjSave((virDomainObj *)l, NULL, st) == -1, "obj");
    virDomainObjList *sl = virDomainObjListNew();
    CHECK(virDomainObjListLoadAllConfigs(sl, st, NULL, true, NULL, NULL, NULL) == 0);
    virDomainObj *back = virDomainObjListFindByID(sl, 5);
    CHECK(back != NULL && strcmp(back->def->name, "full") == 0);
    int reason = 0;
    CHECK(virDomainObjGetState(back, &reason) == VIR_DOMAIN_PAUSED);
    CHECK(reason == VIR_DOMAIN_PAUSED_MIGRATION);
    CHECK(back->pid == 31337 && !back->persistent);
    virDomainObjEndAPI(&back);
    /* virDomainSaveStatus (old name) writes the same place */
    virDomainObjSetState(run, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED);
    CHECK(virDomainSaveStatus(NULL, st, run, NULL) == 0);
    virObjectUnref(sl);
    sl = virDomainObjListNew();
    CHECK(virDomainObjListLoadAllConfigs(sl, st, NULL, true, NULL, NULL, NULL) == 0);
    back = virDomainObjListFindByName(sl, "full");
    CHECK(back != NULL && virDomainObjGetState(back, &reason) == VIR_DOMAIN_RUNNING);
    CHECK(reason == VIR_DOMAIN_RUNNING_UNPAUSED);
    virDomainObjEndAPI(&back);
    virObjectUnref(sl);
    virDomainObjEndAPI(&run);

    EXPECT_INVALID(virDomainObjListLoadAllConfigs(NULL, cfg, aut, false, NULL, NULL, NULL) == -1,
                   "doms");
    EXPECT_INVALID(virDomainObjListLoadAllConfigs(l, NULL, aut, false, NULL, NULL, NULL) == -1,
                   "configDir");

    /* delete: config and autostart link go, autostart cleared; again is not an error */
    CHECK(virDomainDeleteConfig(cfg, aut, vm) == 0); /* "second": no link */
    virDomainObjEndAPI(&vm);
    vm = virDomainObjListFindByName(l, "full");
    CHECK(vm != NULL);
    CHECK(virDomainDeleteConfig(cfg, aut, vm) == 0);
    CHECK(access(path, F_OK) != 0 && access(link, F_OK) != 0 && !vm->autostart);
    CHECK(virDomainDeleteConfig(cfg, aut, vm) == 0);
    EXPECT_INVALID(virDomainDeleteConfig(NULL, aut, vm) == -1, "configDir");
    EXPECT_INVALID(virDomainDeleteConfig(cfg, NULL, vm) == -1, "autostartDir");
    EXPECT_INVALID(virDomainDeleteConfig(cfg, aut, NULL) == -1, "dom");
    virDomainObjEndAPI(&vm);
    virObjectUnref(l);
    virDomainDefFree(def);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_xmlopt();
    test_def_new();
    test_parse();
    test_format();
    test_files();
    TEST_DONE();
}
