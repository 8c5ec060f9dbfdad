/* test_domain_xml_libvirt.c: documents are read as libvirt 9.0's generic parser reads
 * them (issue 9, items 11, 13, 14, 15):
 *  - a cdrom is read-only whatever the XML says (virDomainDiskDefPostParse), and the
 *    document still formats back unchanged;
 *  - <on_lockfailure> fills def->onLockFailure (virDomainLockFailureAction values);
 *  - a lease without <lockspace> is refused; a UUID with blanks between byte pairs is
 *    accepted (virUUIDParse); no <name> is VIR_ERR_NO_NAME;
 *  - what virDomainDiskDefParseXML / virDomainDefPostParse / validation refuse in the
 *    modelled fields is refused with libvirt's code: duplicate target, disk without
 *    target (VIR_ERR_NO_TARGET), bad type/device/bus values, floppy not on fdc, ... */
#include "testutil.h"

static virDomainXMLOption *xmlopt;

static virDomainDef *parse(const char *xml)
{
    virDomainDef *def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    CHECK(def != NULL);
    return def;
}

/* `devices` inside a minimal domain is refused with `code` and `needle`. */
static void refused(const char *devices, int code, const char *needle)
{
    char xml[4096];
    snprintf(xml, sizeof(xml), "<domain type='kvm'><name>bad</name><devices>%s</devices></domain>",
             devices);
    virResetLastError();
    if (virDomainDefParseString(xml, xmlopt, NULL, 0) != NULL) {
        fprintf(stderr, "accepted: %s\n", xml);
        exit(1);
    }
    CHECK_ERROR(code, needle);
}

static const char *cdrom_xml =
    "<domain type='kvm'>\n"
    "  <name>media</name>\n"
    "  <uuid>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd10</uuid>\n"
    "  <on_crash>destroy</on_crash>\n"
    "  <on_lockfailure>pause</on_lockfailure>\n"
    "  <devices>\n"
    "    <disk type='file' device='cdrom'>\n"
    "      <source file='/iso/install.iso'/>\n"
    "      <target dev='hdc'/>\n"
    "    </disk>\n"
    "    <disk type='file' device='floppy'>\n"
    "      <source file='/img/floppy.img'/>\n"
    "      <target dev='fda'/>\n"
    "    </disk>\n"
    "  </devices>\n"
    "</domain>\n";

/* Items 11 and 13 (fields). */
static void cdrom_and_on_lockfailure(void)
{
    virDomainDef *def = parse(cdrom_xml), *back;
    char *out;
    CHECK(def->ndisks == 2);
    /* Both had no bus= when virDomainDiskInsert sorted them, so fda (index 0) comes
     * before hdc (index 2); the buses are filled in after (post-parse). */
    CHECK(def->disks[1]->device == VIR_DOMAIN_DISK_DEVICE_CDROM);
    CHECK(def->disks[1]->src->readonly);
    CHECK(def->disks[1]->bus == VIR_DOMAIN_DISK_BUS_IDE);
    /* libvirt forces only the cdrom: a floppy stays writable. */
    CHECK(def->disks[0]->device == VIR_DOMAIN_DISK_DEVICE_FLOPPY);
    CHECK(!def->disks[0]->src->readonly);
    CHECK(def->disks[0]->bus == VIR_DOMAIN_DISK_BUS_FDC);
    CHECK(def->onLockFailure == VIR_DOMAIN_LOCK_FAILURE_PAUSE);
    out = virDomainDefFormat(def, xmlopt, 0);
    CHECK(out && strcmp(out, cdrom_xml) == 0);
    free(out);

    /* Changing the action is formatted and read back; back to default removes it. */
    def->onLockFailure = VIR_DOMAIN_LOCK_FAILURE_POWEROFF;
    out = virDomainDefFormat(def, xmlopt, 0);
    CHECK(out && strstr(out, "<on_lockfailure>poweroff</on_lockfailure>"));
    back = parse(out);
    CHECK(back->onLockFailure == VIR_DOMAIN_LOCK_FAILURE_POWEROFF);
    free(out);
    virDomainDefFree(back);
    def->onLockFailure = VIR_DOMAIN_LOCK_FAILURE_DEFAULT;
    out = virDomainDefFormat(def, xmlopt, 0);
    CHECK(out && !strstr(out, "on_lockfailure"));
    free(out);
    def->onLockFailure = 99;
    virResetLastError();
    CHECK(virDomainDefFormat(def, xmlopt, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "invalid on_lockfailure action 99");
    virDomainDefFree(def);

    /* Added to a document without one: after the other <on_*> events. */
    def = parse("<domain type='kvm'>\n  <name>e</name>\n  <on_poweroff>destroy</on_poweroff>\n"
                "  <on_reboot>restart</on_reboot>\n  <memory>1</memory>\n</domain>\n");
    CHECK(def->onLockFailure == VIR_DOMAIN_LOCK_FAILURE_DEFAULT);
    def->onLockFailure = VIR_DOMAIN_LOCK_FAILURE_IGNORE;
    out = virDomainDefFormat(def, xmlopt, 0);
    CHECK(out && strstr(out, "<on_reboot>restart</on_reboot>\n  <on_lockfailure>ignore</on_lockfailure>\n  <memory>"));
    free(out);
    virDomainDefFree(def);

    def = parse("<domain type='kvm'><name>d</name><on_lockfailure>default</on_lockfailure></domain>");
    CHECK(def->onLockFailure == VIR_DOMAIN_LOCK_FAILURE_DEFAULT);
    virDomainDefFree(def);
    virResetLastError();
    CHECK(virDomainDefParseString("<domain type='kvm'><name>d</name><on_lockfailure>explode</on_lockfailure></domain>",
                                  xmlopt, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_CONFIG_UNSUPPORTED, "unknown on_lockfailure action: explode");
}

/* Item 14. */
static void leases_uuids_names(void)
{
    virDomainDef *def;
    static const unsigned char want[16] = {0x3b, 0xa0, 0xbd, 0x1a, 0x7b, 0xd0, 0x4c, 0x4b,
                                           0x9a, 0x39, 0xf4, 0xb7, 0xb6, 0xb8, 0xfd, 0x10};
    refused("<lease><key>k</key><target path='/l'/></lease>", VIR_ERR_XML_ERROR,
            "Missing 'lockspace' element for lease 'k'");
    refused("<lease><lockspace></lockspace><key>k</key><target path='/l'/></lease>",
            VIR_ERR_XML_ERROR, "Missing 'lockspace' element for lease");
    refused("<lease><lockspace>s</lockspace><target path='/l'/></lease>", VIR_ERR_XML_ERROR,
            "Missing 'key' element for lease");
    refused("<lease><lockspace>s</lockspace><key>k</key></lease>", VIR_ERR_XML_ERROR,
            "Missing 'target' element for lease");
    refused("<lease><lockspace>s</lockspace><key>k</key><target/></lease>", VIR_ERR_XML_ERROR,
            "Missing 'path' attribute to 'target' element for lease");
    refused("<lease><lockspace>s</lockspace><key>k</key><target path='/l' offset='-1'/></lease>",
            VIR_ERR_XML_ERROR, "Invalid value for attribute 'offset' in element 'target': '-1'");

    /* virUUIDParse: blanks or dashes between byte pairs, blanks around. */
    def = parse("<domain type='kvm'><name>u</name>"
                "<uuid> 3b a0 bd 1a 7b d0 4c 4b 9a 39 f4 b7 b6 b8 fd 10\n</uuid></domain>");
    CHECK(memcmp(def->uuid, want, 16) == 0);
    virDomainDefFree(def);
    def = parse("<domain type='kvm'><name>u</name><uuid>3ba0bd1a 7bd0-4c4b - 9a39f4b7b6b8fd10</uuid></domain>");
    CHECK(memcmp(def->uuid, want, 16) == 0);
    virDomainDefFree(def);
    virResetLastError();
    CHECK(virDomainDefParseString("<domain type='kvm'><name>u</name><uuid>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd1 0</uuid></domain>",
                                  xmlopt, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "malformed uuid element");

    /* No name, or an empty one: VIR_ERR_NO_NAME as in libvirt. */
    virResetLastError();
    CHECK(virDomainDefParseString("<domain type='kvm'><uuid>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd10</uuid></domain>",
                                  xmlopt, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_NO_NAME, "missing name information");
    CHECK(virDomainDefParseString("<domain type='kvm'><name/></domain>", xmlopt, NULL, 0) == NULL);
    CHECK(virGetLastErrorCode() == VIR_ERR_NO_NAME);
    /* Missing and unknown domain types, a negative id. */
    CHECK(virDomainDefParseString("<domain><name>t</name></domain>", xmlopt, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "missing domain type attribute");
    CHECK(virDomainDefParseString("<domain type='zz'><name>t</name></domain>", xmlopt, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_CONFIG_UNSUPPORTED, "invalid domain type zz");
    CHECK(virDomainDefParseString("<domain type='kvm' id='-1'><name>t</name></domain>", xmlopt, NULL, 0) == NULL);
    CHECK_ERROR(VIR_ERR_XML_ERROR, "Expected non-negative value");
    def = virDomainDefParseString("<domain type='kvm' id='-1'><name>t</name></domain>", xmlopt, NULL,
                                  VIR_DOMAIN_DEF_PARSE_INACTIVE);
    CHECK(def != NULL && def->id == -1);
    virDomainDefFree(def);
}

/* Item 15. */
static void disk_refusals(void)
{
    virDomainDef *def;
    refused("<disk type='file'><source file='/a'/><target dev='vda'/></disk>"
            "<disk type='file'><source file='/b'/><target dev='vda'/></disk>",
            VIR_ERR_XML_ERROR, "target 'vda' duplicated for disk sources '/a' and '/b'");
    refused("<disk type='file'><source file='/a'/></disk>", VIR_ERR_NO_TARGET,
            "missing target information for device /a");
    refused("<disk type='file'><source file='/a'/><target bus='virtio'/></disk>", VIR_ERR_NO_TARGET,
            "/a");
    refused("<disk type='none'><target dev='vda'/></disk>", VIR_ERR_XML_ERROR,
            "Invalid value for attribute 'type' in element 'disk': 'none'");
    refused("<disk type='odd'><target dev='vda'/></disk>", VIR_ERR_XML_ERROR,
            "Invalid value for attribute 'type' in element 'disk': 'odd'");
    refused("<disk device='tape'><target dev='vda'/></disk>", VIR_ERR_XML_ERROR,
            "Invalid value for attribute 'device' in element 'disk': 'tape'");
    refused("<disk device='disk'><source file='/x'/><target dev='nvme0' bus='virtio'/>"
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></disk>",
            VIR_ERR_INTERNAL_ERROR, "Invalid harddisk device name: nvme0");
    refused("<disk device='floppy'><source file='/x'/><target dev='hda' bus='fdc'/></disk>",
            VIR_ERR_INTERNAL_ERROR, "Invalid floppy device name: hda");
    refused("<disk type='file' device='disk'><target dev='vda'/></disk>", VIR_ERR_NO_SOURCE,
            "missing source information for device vda");
    refused("<disk><target dev='vda' bus='none'/></disk>", VIR_ERR_XML_ERROR,
            "Invalid value for attribute 'bus' in element 'target': 'none'");
    refused("<disk><target dev='vda' bus='pci'/></disk>", VIR_ERR_XML_ERROR,
            "Invalid value for attribute 'bus' in element 'target': 'pci'");
    refused("<disk device='floppy'><target dev='fda' bus='ide'/></disk>", VIR_ERR_INTERNAL_ERROR,
            "Invalid bus type 'ide' for floppy disk");
    refused("<disk device='disk'><target dev='hda' bus='fdc'/></disk>", VIR_ERR_INTERNAL_ERROR,
            "Invalid bus type 'fdc' for disk");

    /* With VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE, libvirt keeps a disk without target
     * (dst NULL) and duplicate targets. */
    def = virDomainDefParseString(
        "<domain type='kvm'><name>s</name><devices>"
        "<disk type='file'><source file='/a'/></disk>"
        "<disk type='file'><source file='/b'/><target dev='vda'/></disk>"
        "<disk type='file'><source file='/c'/><target dev='vda'/></disk>"
        "</devices></domain>",
        xmlopt, NULL, VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE);
    CHECK(def != NULL && def->ndisks == 3);
    CHECK(def->disks[0]->dst == NULL);
    virDomainDefFree(def);

    /* A target name that is no disk name needs an <address> (post-parse assigns one). */
    refused("<disk type='file'><source file='/x'/><target dev=''/></disk>", VIR_ERR_XML_ERROR,
            "Unknown disk name '' and no address specified");
    refused("<disk type='file'><source file='/x'/><target dev='nvme0' bus='virtio'/></disk>",
            VIR_ERR_XML_ERROR, "Unknown disk name 'nvme0' and no address specified");

    /* What libvirt accepts is accepted: a <disk> without <source> is a file disk with
     * no path, whatever its type says; "ioemu:" is dropped; a cdrom may have any
     * target name when it has an address. */
    def = parse("<domain type='kvm'><name>ok</name><devices>"
                "<disk type='block' device='cdrom'><target dev='ioemu:hdc'/></disk>"
                "<disk type='file' device='cdrom'><source file='/x'/><target dev='nvme0' bus='virtio'/>"
                "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></disk>"
                "</devices></domain>");
    CHECK(def->ndisks == 2);
    CHECK(strcmp(def->disks[0]->dst, "hdc") == 0);
    CHECK(def->disks[0]->src->type == VIR_STORAGE_TYPE_FILE && def->disks[0]->src->path == NULL);
    CHECK(def->disks[0]->src->readonly);
    CHECK(strcmp(def->disks[1]->dst, "nvme0") == 0);
    virDomainDefFree(def);
}

int main(void)
{
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK(xmlopt != NULL);
    cdrom_and_on_lockfailure();
    leases_uuids_names();
    disk_refusals();
    virObjectUnref(xmlopt);
    TEST_DONE();
}
