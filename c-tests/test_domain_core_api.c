/* test_domain_core_api.c: every exported domain function from C, with the libvirt 9.0
 * signatures, the C-visible fields (vm->def->disks[i]->src->path ...), NULL arguments and
 * unknown flags. The tests engineer's suites go deeper; this is the core engineer's proof
 * that the API is usable from C as documented in README.md. */
#include <stdbool.h>
#include <unistd.h>
#include <sys/stat.h>
#include "testutil.h"

static const char *XML1 =
    "<domain type='kvm'>\n"
    "  <name>alpha</name>\n"
    "  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1801</uuid>\n"
    "  <memory unit='KiB'>219200</memory>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <source file='/var/lib/images/alpha.img'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "    </disk>\n"
    "    <disk type='block' device='cdrom'>\n"
    "      <source dev='/dev/sr0'/>\n"
    "      <target dev='hdc' bus='ide'/>\n"
    "      <readonly/>\n"
    "      <shareable/>\n"
    "    </disk>\n"
    "    <lease>\n"
    "      <lockspace>space</lockspace>\n"
    "      <key>k1</key>\n"
    "      <target path='/leases/k1' offset='512'/>\n"
    "    </lease>\n"
    "  </devices>\n"
    "</domain>\n";

static const char *XML2 =
    "<domain type='qemu' id='4'>\n"
    "  <name>beta</name>\n"
    "  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1802</uuid>\n"
    "</domain>\n";

static const unsigned char UUID1[VIR_UUID_BUFLEN] = {
    0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x94, 0x55,
    0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x01};

static int rename_cb(virDomainObj *dom, const char *new_name, unsigned int flags, void *opaque)
{
    (void)flags; (void)opaque;
    free(dom->def->name);
    dom->def->name = strdup(new_name);
    return 0;
}

static int count_cb(virDomainObj *dom, void *opaque)
{
    virObjectLock(dom);
    if (virDomainObjIsActive(dom))
        (*(int *)opaque)++;
    virObjectUnlock(dom);
    return 0;
}

static int remove_inactive_cb(virDomainObj *dom, void *opaque)
{
    virObjectLock(dom);
    if (!virDomainObjIsActive(dom))
        virDomainObjListRemoveLocked(opaque, dom);
    virObjectUnlock(dom);
    return 0;
}

static bool hide_beta(virConnectPtr conn, virDomainDef *def)
{
    (void)conn;
    return strcmp(def->name, "beta") != 0;
}

static int notified;
static void notify_cb(virDomainObj *dom, int newDomain, void *opaque)
{
    (void)dom; (void)opaque;
    if (newDomain)
        notified++;
}

int main(void)
{
    virDomainXMLOption *xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK(xmlopt != NULL);

    /* Parse: fields as libvirt names them. */
    virDomainDef *def = virDomainDefParseString(XML1, xmlopt, NULL, 0);
    CHECK(def != NULL);
    CHECK(strcmp(def->name, "alpha") == 0);
    CHECK(def->virtType == VIR_DOMAIN_VIRT_KVM && def->id == -1);
    CHECK(memcmp(def->uuid, UUID1, VIR_UUID_BUFLEN) == 0);
    CHECK(def->ndisks == 2 && def->nleases == 1);
    CHECK(def->disks[0]->src->type == VIR_STORAGE_TYPE_FILE);
    CHECK(strcmp(def->disks[0]->src->path, "/var/lib/images/alpha.img") == 0);
    CHECK(strcmp(def->disks[0]->dst, "vda") == 0);
    CHECK(def->disks[0]->bus == VIR_DOMAIN_DISK_BUS_VIRTIO);
    CHECK(def->disks[1]->device == VIR_DOMAIN_DISK_DEVICE_CDROM);
    CHECK(def->disks[1]->src->readonly && def->disks[1]->src->shared);
    CHECK(strcmp(def->leases[0]->key, "k1") == 0 && def->leases[0]->offset == 512);

    /* Format: unchanged; then with a field changed from C. */
    char *xml = virDomainDefFormat(def, xmlopt, 0);
    CHECK(xml && strcmp(xml, XML1) == 0);
    free(xml);
    free(def->disks[0]->src->path);
    def->disks[0]->src->path = strdup("/srv/alpha.qcow2");
    xml = virDomainDefFormat(def, xmlopt, VIR_DOMAIN_DEF_FORMAT_INACTIVE);
    CHECK(xml && strstr(xml, "<source file='/srv/alpha.qcow2'/>"));
    free(xml);
    CHECK(virDomainDefFormat(def, xmlopt, 1u << 30) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags");
    CHECK(virDomainDefFormat(NULL, xmlopt, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "def");

    /* Parse errors. */
    CHECK(virDomainDefParseString("<domain type='kvm'><name>x</name>", NULL, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "line 1");
    CHECK(virDomainDefParseString("<domain type='kvm'><name>a/b</name></domain>", NULL, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "cannot contain '/'");
    CHECK(virDomainDefParseString(NULL, NULL, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "xmlStr");
    CHECK(virDomainDefParseString(XML2, NULL, NULL, 1u << 31) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags");
    CHECK(virDomainDefParseFile("/nonexistent/x.xml", NULL, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_SYSTEM_ERROR, "/nonexistent/x.xml");
    CHECK(virDomainDefParseFile(NULL, NULL, NULL, 0) == NULL);
    CHECK(virDomainDefParseFile("/dev/null", NULL, NULL, 1u << 31) == NULL);

    /* The list. */
    virDomainObjList *doms = virDomainObjListNew();
    CHECK(doms != NULL);
    virDomainObj *vm = virDomainObjListAdd(doms, &def, xmlopt, 0, NULL);
    CHECK(vm != NULL && def == NULL);
    vm->persistent = true;
    virDomainObjEndAPI(&vm);
    CHECK(vm == NULL);
    virDomainDef *def2 = virDomainDefParseString(XML2, xmlopt, NULL, 0);
    CHECK(def2 && def2->id == 4);
    virDomainDef *old = NULL;
    vm = virDomainObjListAdd(doms, &def2, xmlopt, VIR_DOMAIN_OBJ_LIST_ADD_LIVE, &old);
    CHECK(vm && old == NULL && virDomainObjIsActive(vm));
    virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    virDomainObjEndAPI(&vm);

    vm = virDomainObjListFindByUUID(doms, UUID1);
    CHECK(vm && strcmp(vm->def->disks[0]->src->path, "/srv/alpha.qcow2") == 0);
    virDomainObjEndAPI(&vm);
    vm = virDomainObjListFindByID(doms, 4);
    CHECK(vm && strcmp(vm->def->name, "beta") == 0);
    int reason = -1;
    CHECK(virDomainObjGetState(vm, &reason) == VIR_DOMAIN_RUNNING && reason == VIR_DOMAIN_RUNNING_BOOTED);
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListFindByID(doms, 5) == NULL);
    CHECK_ERROR(VIR_ERR_NO_DOMAIN, "5");
    vm = virDomainObjListFindByName(doms, "alpha");
    CHECK(vm != NULL);
    CHECK(virDomainObjListRename(doms, vm, "gamma", 0, rename_cb, NULL) == 0);
    CHECK(strcmp(vm->def->name, "gamma") == 0);
    CHECK(virDomainObjListRename(doms, vm, "beta", 0, rename_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "beta");
    CHECK(virDomainObjListRename(doms, vm, "x", 0, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "callback");
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListFindByName(doms, "alpha") == NULL);
    CHECK_ERROR(VIR_ERR_NO_DOMAIN, "alpha");

    /* Conflicts. */
    virDomainDef *dup = virDomainDefParseString(XML2, xmlopt, NULL, 0);
    free(dup->name);
    dup->name = strdup("other");
    CHECK(virDomainObjListAdd(doms, &dup, xmlopt, 0, NULL) == NULL);
    CHECK_ERROR(VIR_ERR_OPERATION_FAILED, "domain 'beta' is already defined with uuid");
    CHECK(virDomainObjListAdd(doms, &dup, xmlopt, 4, NULL) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags");
    CHECK(virDomainObjListAdd(NULL, &dup, xmlopt, 0, NULL) == NULL);
    CHECK(virDomainObjListAdd(doms, NULL, xmlopt, 0, NULL) == NULL);
    virDomainDefFree(dup);
    virDomainDefFree(NULL);

    /* Listing. */
    CHECK(virDomainObjListNumOfDomains(doms, true, NULL, NULL) == 1);
    CHECK(virDomainObjListNumOfDomains(doms, false, NULL, NULL) == 1);
    CHECK(virDomainObjListNumOfDomains(doms, true, hide_beta, NULL) == 0);
    CHECK(virDomainObjListNumOfDomains(NULL, true, NULL, NULL) == -1);
    int ids[4];
    CHECK(virDomainObjListGetActiveIDs(doms, ids, 4, NULL, NULL) == 1 && ids[0] == 4);
    CHECK(virDomainObjListGetActiveIDs(doms, NULL, 4, NULL, NULL) == -1);
    char *names[4];
    CHECK(virDomainObjListGetInactiveNames(doms, names, 4, NULL, NULL) == 1);
    CHECK(strcmp(names[0], "gamma") == 0);
    free(names[0]);
    CHECK(virDomainObjListGetInactiveNames(doms, names, -1, NULL, NULL) == -1);
    virDomainObj **vms = NULL;
    size_t nvms = 0;
    virDomainObjListCollect(doms, NULL, &vms, &nvms, NULL,
                            VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_RUNNING);
    CHECK(nvms == 1 && strcmp(vms[0]->def->name, "beta") == 0);
    virObjectListFreeCount(vms, nvms);
    virDomainObjListCollect(doms, NULL, &vms, &nvms, NULL, VIR_CONNECT_LIST_DOMAINS_PERSISTENT);
    CHECK(nvms == 1);
    virObjectListFreeCount(vms, nvms);
    virDomainObjListCollectAll(doms, &vms, &nvms);
    CHECK(nvms == 2 && vms[0] != vms[1]); /* in no particular order, as in libvirt */
    virObjectListFreeCount(vms, nvms);
    virDomainObjListCollect(doms, NULL, &vms, &nvms, NULL, 1u << 20);
    CHECK(vms == NULL && nvms == 0);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "unsupported flags");
    virDomainObjListCollect(doms, NULL, NULL, &nvms, NULL, 0);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "vms");
    virDomainObjListCollectAll(NULL, &vms, &nvms);
    CHECK(vms == NULL && nvms == 0);
    virObjectListFreeCount(NULL, 0);
    int active = 0;
    CHECK(virDomainObjListForEach(doms, false, count_cb, &active) == 0 && active == 1);
    CHECK(virDomainObjListForEach(doms, false, NULL, NULL) == -1);

    /* Persistence: save, load (with one malformed file), status, delete. */
    char dir[] = "/tmp/virtcore-domain-core-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char cfg[256], autostart[256], run[256], path[512];
    snprintf(cfg, sizeof(cfg), "%s/qemu", dir);
    snprintf(autostart, sizeof(autostart), "%s/qemu/autostart", dir);
    snprintf(run, sizeof(run), "%s/run", dir);
    vm = virDomainObjListFindByName(doms, "gamma");
    CHECK(virDomainDefSave(vm->def, xmlopt, cfg) == 0);
    CHECK(virDomainSaveConfig(cfg, NULL, vm->def) == 0);
    CHECK(virDomainDefSave(NULL, xmlopt, cfg) == -1);
    CHECK(virDomainDefSave(vm->def, xmlopt, NULL) == -1);
    virDomainObjEndAPI(&vm);
    vm = virDomainObjListFindByName(doms, "beta");
    CHECK(virDomainObjSave(vm, xmlopt, run) == 0);
    CHECK(virDomainSaveStatus(xmlopt, run, vm, NULL) == 0);
    CHECK(virDomainObjSave(NULL, xmlopt, run) == -1);
    CHECK(virDomainDefSave(vm->def, xmlopt, cfg) == 0);
    virDomainObjEndAPI(&vm);
    mkdir(autostart, 0755);
    snprintf(path, sizeof(path), "%s/gamma.xml", autostart);
    char target[512];
    snprintf(target, sizeof(target), "%s/gamma.xml", cfg);
    CHECK(symlink(target, path) == 0);
    snprintf(path, sizeof(path), "%s/zz-broken.xml", cfg);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("<domain type='kvm'><name>zz-broken</name>", f);
    fclose(f);

    virDomainObjList *doms2 = virDomainObjListNew();
    CHECK(virDomainObjListLoadAllConfigs(doms2, run, NULL, true, xmlopt, notify_cb, NULL) == 0);
    CHECK(notified == 1);
    vm = virDomainObjListFindByID(doms2, 4);
    CHECK(vm && vm->persistent == false);
    virDomainObjEndAPI(&vm);
    virResetLastError();
    CHECK(virDomainObjListLoadAllConfigs(doms2, cfg, autostart, false, xmlopt, notify_cb, NULL) == 0);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "zz-broken.xml");
    /* gamma is new; beta had no persistent def before, so (as in libvirt, which passes
     * oldDef == NULL) it is reported as new too. */
    CHECK(notified == 3);
    vm = virDomainObjListFindByName(doms2, "gamma");
    CHECK(vm && vm->autostart && vm->persistent);
    CHECK(virDomainDeleteConfig(cfg, autostart, vm) == 0);
    CHECK(!vm->autostart);
    CHECK(virDomainDeleteConfig(NULL, autostart, vm) == -1);
    virDomainObjEndAPI(&vm);
    vm = virDomainObjListFindByName(doms2, "beta");
    CHECK(vm && vm->persistent && vm->newDef != NULL && virDomainObjIsActive(vm));
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListLoadAllConfigs(doms2, NULL, NULL, false, xmlopt, NULL, NULL) == -1);
    char *cf = virDomainConfigFile(cfg, "gamma");
    CHECK(cf && strcmp(cf, target) == 0);
    free(cf);
    CHECK(virDomainConfigFile(NULL, "x") == NULL);
    virObjectUnref(doms2);

    /* Removal. */
    vm = virDomainObjListFindByName(doms, "beta");
    virDomainObjListRemove(doms, vm);
    CHECK(vm->removing);
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListFindByID(doms, 4) == NULL);
    CHECK(virDomainObjListForEach(doms, true, remove_inactive_cb, doms) == 0);
    CHECK(virDomainObjListNumOfDomains(doms, false, NULL, NULL) == 0);
    virDomainObjListRemove(doms, NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "dom");
    virDomainObjListRemoveLocked(NULL, NULL);
    CHECK(virDomainObjListFindByUUID(doms, NULL) == NULL);
    CHECK(virDomainObjListFindByName(doms, NULL) == NULL);
    CHECK(virDomainObjListFindByID(NULL, 1) == NULL);

    /* Objects on their own. */
    vm = virDomainObjNew(xmlopt);
    CHECK(vm != NULL && vm->def == NULL);
    vm->def = virDomainDefNew(xmlopt);
    CHECK(vm->def->id == -1 && !virDomainObjIsActive(vm));
    virDomainObjSetState(vm, VIR_DOMAIN_PAUSED, 1000);
    CHECK(virDomainObjGetState(vm, NULL) == VIR_DOMAIN_PAUSED);
    virDomainObjSetState(vm, 77, 0);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "invalid domain state");
    virDomainObjSetState(NULL, VIR_DOMAIN_RUNNING, 0);
    CHECK(virDomainObjGetState(NULL, NULL) == -1);
    CHECK(!virDomainObjIsActive(NULL));
    virDomainObjEndAPI(&vm);
    virDomainObjEndAPI(&vm); /* *vm == NULL: no-op */
    virDomainObjEndAPI(NULL);
    CHECK(virDomainObjNew((virDomainXMLOption *)doms) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "xmlopt");
    CHECK(virDomainDefNew((virDomainXMLOption *)doms) == NULL);

    virObjectUnref(doms);
    virObjectUnref(xmlopt);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
