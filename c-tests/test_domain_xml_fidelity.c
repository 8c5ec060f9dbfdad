/* test_domain_xml_fidelity.c: what C code does to a parsed definition comes back from
 * virDomainDefFormat, and only that (issue 9, items 1, 2, 3, 12):
 *  - a disk or lease is known by identity, not by address: a disk removed and a new one
 *    put in the same memory never inherits the old one's <serial>, <encryption>, driver
 *    or address; a reordered disk keeps its own;
 *  - every formatted document is well-formed and parses back to the same fields
 *    (attributes holding '>', tabs and newlines in attribute values, control characters
 *    refused at rename as at parse);
 *  - a disk added to a domain whose <devices/> is self-closing, or absent, lands inside
 *    <devices>;
 *  - def->disks is in libvirt's order (by bus, then target index) while the document
 *    formats back unchanged; an added disk goes after its predecessor in def->disks. */
#define _GNU_SOURCE
#include "testutil.h"

static virDomainXMLOption *xmlopt;

static virDomainDef *parse(const char *xml)
{
    virDomainDef *def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    CHECK(def != NULL);
    return def;
}

static char *format(virDomainDef *def)
{
    char *s = virDomainDefFormat(def, xmlopt, 0);
    CHECK(s != NULL);
    return s;
}

/* Format, parse the result back, and format again: both texts are equal. */
static virDomainDef *round_trip(virDomainDef *def, char **text)
{
    char *again;
    virDomainDef *back;
    *text = format(def);
    back = virDomainDefParseString(*text, xmlopt, NULL, 0);
    if (!back)
        fprintf(stderr, "did not parse back:\n%s\n", *text);
    CHECK(back != NULL);
    again = format(back);
    CHECK(strcmp(again, *text) == 0);
    free(again);
    return back;
}

static virDomainDiskDef *new_disk(const char *path, const char *dst, int bus)
{
    virDomainDiskDef *d = calloc(1, sizeof(*d));
    CHECK(d != NULL);
    d->src = calloc(1, sizeof(*d->src));
    d->src->type = VIR_STORAGE_TYPE_FILE;
    d->src->path = strdup(path);
    d->dst = strdup(dst);
    d->bus = bus;
    return d;
}

static void append_disk(virDomainDef *def, virDomainDiskDef *d)
{
    def->disks = realloc(def->disks, (def->ndisks + 1) * sizeof(*def->disks));
    def->disks[def->ndisks++] = d;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

static void set_str(char **field, const char *v)
{
    free(*field);
    *field = strdup(v);
}

static const char *secret_xml =
    "<domain type='kvm'>\n"
    "  <name>sec</name>\n"
    "  <uuid>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd10</uuid>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <driver name='qemu' type='qcow2'/>\n"
    "      <source file='/var/lib/secret.qcow2'>\n"
    "        <encryption format='luks'><secret type='passphrase' uuid='0a81f5b2-8403-7b23-c8d6-21ccc2f80d6f'/></encryption>\n"
    "      </source>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "      <serial>SERIAL-OLD</serial>\n"
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0'/>\n"
    "    </disk>\n"
    "    <disk type='file' device='disk'>\n"
    "      <source file='/var/lib/plain.img'/>\n"
    "      <target dev='vdb' bus='virtio'/>\n"
    "      <serial>SERIAL-B</serial>\n"
    "    </disk>\n"
    "    <lease>\n"
    "      <lockspace>space</lockspace>\n"
    "      <key>old-key</key>\n"
    "      <target path='/leases/old' offset='1024'/>\n"
    "    </lease>\n"
    "  </devices>\n"
    "</domain>\n";

/* Item 1. */
static void identity_not_address(void)
{
    virDomainDef *def = parse(secret_xml), *back;
    virDomainDiskDef *d = def->disks[0];
    virDomainLeaseDef *l = def->leases[0];
    char *out;

    CHECK(def->ndisks == 2 && strcmp(d->dst, "vda") == 0);
    /* Remove vda and put a new disk in the very same memory, as malloc usually does. */
    free(d->src->path);
    free(d->src);
    free(d->dst);
    memset(d, 0, sizeof(*d));
    d->src = calloc(1, sizeof(*d->src));
    d->src->type = VIR_STORAGE_TYPE_FILE;
    d->src->path = strdup("/var/lib/fresh.img");
    d->dst = strdup("vdc");
    d->bus = VIR_DOMAIN_DISK_BUS_VIRTIO;
    /* Same for the lease. */
    free(l->lockspace);
    free(l->key);
    free(l->path);
    memset(l, 0, sizeof(*l));
    l->lockspace = strdup("space");
    l->key = strdup("new-key");
    l->path = strdup("/leases/new");

    back = round_trip(def, &out);
    CHECK(strstr(out, "SERIAL-OLD") == NULL);
    CHECK(strstr(out, "encryption") == NULL);
    CHECK(strstr(out, "qcow2") == NULL);
    CHECK(strstr(out, "slot='0x07'") == NULL);
    CHECK(strstr(out, "old-key") == NULL && strstr(out, "/leases/old") == NULL);
    CHECK(strstr(out, "offset='1024'") == NULL);
    CHECK(strstr(out, "SERIAL-B") != NULL); /* the other disk keeps its own */
    CHECK(back->ndisks == 2 && back->nleases == 1);
    CHECK(strcmp(back->leases[0]->key, "new-key") == 0 && back->leases[0]->offset == 0);
    free(out);
    virDomainDefFree(back);
    virDomainDefFree(def);

    /* Reordering def->disks moves nothing: each disk keeps its own elements. */
    def = parse(secret_xml);
    d = def->disks[0];
    def->disks[0] = def->disks[1];
    def->disks[1] = d;
    out = format(def);
    {
        virDomainDef *fresh = parse(secret_xml);
        char *again = format(fresh);
        CHECK(strcmp(out, again) == 0);
        free(again);
        virDomainDefFree(fresh);
    }
    free(out);
    /* A struct copied from another disk is a new disk: formatted without the original's
     * unmodelled parts, and the original stays as it was. */
    {
        virDomainDiskDef *copy = malloc(sizeof(*copy));
        *copy = *def->disks[1];
        copy->dst = strdup("vdd");
        copy->src = calloc(1, sizeof(*copy->src));
        copy->src->type = VIR_STORAGE_TYPE_FILE;
        copy->src->path = strdup("/var/lib/copy.img");
        append_disk(def, copy);
        back = round_trip(def, &out);
        CHECK(back->ndisks == 3);
        CHECK(count(out, "SERIAL-OLD") == 1 && count(out, "<encryption") == 1);
        CHECK(strstr(out, "<source file='/var/lib/copy.img'/>") != NULL);
        free(out);
        virDomainDefFree(back);
    }
    virDomainDefFree(def);
}

/* Rename callback as a driver writes it. */
static int rename_cb(virDomainObj *dom, const char *new_name, unsigned int flags, void *opaque)
{
    (void)flags;
    (void)opaque;
    set_str(&dom->def->name, new_name);
    return 0;
}

/* Item 2. */
static void well_formed_always(void)
{
    virDomainDef *def, *back;
    char *out;

    def = parse("<domain type='kvm'>\n"
                "  <name note='x>y'>tricky</name>\n"
                "  <uuid note='a>b'>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd10</uuid>\n"
                "  <devices>\n"
                "    <disk type='file'><source file='/a'/><target dev='vda'/></disk>\n"
                "    <lease><lockspace note='>'>ls</lockspace><key note='>'>k</key>"
                "<target path='/l'/></lease>\n"
                "  </devices>\n"
                "</domain>");
    set_str(&def->name, "re<named> & 'quoted'\ttab");
    def->uuid[15] ^= 0x55;
    set_str(&def->leases[0]->key, "key>&<");
    set_str(&def->leases[0]->lockspace, "space\nline");
    set_str(&def->disks[0]->src->path, "/images/tab\there\nnewline 'q' \"dq\" <&>");
    set_str(&def->disks[0]->dst, "vdb");
    set_str(&def->leases[0]->path, "/leases/\t\r\n");
    back = round_trip(def, &out);
    CHECK(strstr(out, "note='x>y'") != NULL); /* the attribute itself is kept */
    CHECK(strcmp(back->name, def->name) == 0);
    CHECK(memcmp(back->uuid, def->uuid, 16) == 0);
    CHECK(strcmp(back->leases[0]->key, "key>&<") == 0);
    CHECK(strcmp(back->leases[0]->lockspace, "space\nline") == 0);
    CHECK(strcmp(back->disks[0]->src->path, def->disks[0]->src->path) == 0);
    CHECK(strcmp(back->disks[0]->dst, "vdb") == 0);
    CHECK(strcmp(back->leases[0]->path, "/leases/\t\r\n") == 0);
    CHECK(strstr(out, "&#9;") != NULL && strstr(out, "&#10;") != NULL);
    free(out);
    virDomainDefFree(back);

    /* A character XML cannot carry is refused, never written. */
    set_str(&def->leases[0]->key, "bad\001key");
    virResetLastError();
    CHECK(virDomainDefFormat(def, xmlopt, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "cannot be written in XML");
    set_str(&def->leases[0]->key, "k");
    set_str(&def->name, "bad\033name");
    CHECK(virDomainDefFormat(def, xmlopt, 0) == NULL);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "cannot be written in XML");
    virDomainDefFree(def);

    /* Rename refuses what parse refuses. */
    {
        virDomainObjList *doms = virDomainObjListNew();
        virDomainDef *d = parse("<domain type='kvm'><name>ren</name></domain>");
        virDomainObj *vm = virDomainObjListAdd(doms, &d, xmlopt, 0, NULL);
        CHECK(vm != NULL);
        virResetLastError();
        CHECK(virDomainObjListRename(doms, vm, "ctl\001char", 0, rename_cb, NULL) == -1);
        CHECK_ERROR(VIR_ERR_INVALID_ARG, "invalid char in name"); /* list.rs reports bad names as INVALID_ARG */
        CHECK(strcmp(vm->def->name, "ren") == 0);
        CHECK(virDomainObjListRename(doms, vm, "tab\tand\nnewline", 0, rename_cb, NULL) == 0);
        back = round_trip(vm->def, &out);
        CHECK(strcmp(back->name, "tab\tand\nnewline") == 0);
        free(out);
        virDomainDefFree(back);
        virDomainObjEndAPI(&vm);
        virObjectUnref(doms);
    }
}

/* Item 3. */
static void disk_lands_in_devices(void)
{
    const char *docs[] = {
        "<domain type='kvm'>\n  <name>sc</name>\n  <uuid>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd10</uuid>\n  <devices/>\n</domain>\n",
        "<domain type='kvm'>\n  <name>sc</name>\n  <devices />\n  <on_crash>destroy</on_crash>\n</domain>\n",
        "<domain type='kvm'>\n  <name>sc</name>\n  <devices></devices>\n</domain>\n",
        "<domain type='kvm'>\n  <name>sc</name>\n  <memory>1</memory>\n</domain>\n",
        "<domain type='kvm'><name>sc</name></domain>",
    };
    size_t i;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        virDomainDef *def = parse(docs[i]), *back;
        virDomainLeaseDef *l = calloc(1, sizeof(*l));
        char *out;
        append_disk(def, new_disk("/var/lib/new.img", "vda", VIR_DOMAIN_DISK_BUS_VIRTIO));
        l->lockspace = strdup("ls");
        l->key = strdup("k");
        l->path = strdup("/l");
        def->leases = calloc(1, sizeof(*def->leases));
        def->leases[0] = l;
        def->nleases = 1;
        back = round_trip(def, &out);
        CHECK(back->ndisks == 1 && back->nleases == 1);
        CHECK(strcmp(back->disks[0]->src->path, "/var/lib/new.img") == 0);
        CHECK(strstr(out, "<devices") != NULL && strstr(out, "</devices>") > strstr(out, "</lease>"));
        free(out);
        virDomainDefFree(back);
        virDomainDefFree(def);
    }
}

static const char *order_xml =
    "<domain type='kvm'>\n"
    "  <name>order</name>\n"
    "  <uuid>3ba0bd1a-7bd0-4c4b-9a39-f4b7b6b8fd10</uuid>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='/b'/><target dev='vdb' bus='virtio'/></disk>\n"
    "    <disk type='file' device='cdrom'><source file='/iso'/><target dev='hdc' bus='ide'/></disk>\n"
    "    <disk type='file' device='disk'><source file='/a'/><target dev='vda' bus='virtio'/></disk>\n"
    "    <disk type='file' device='disk'><source file='/s'/><target dev='sdaa'/></disk>\n"
    "    <disk type='file' device='disk'><source file='/h'/><target dev='hda' bus='ide'/></disk>\n"
    "    <disk type='file' device='disk'><source file='/s2'/><target dev='sdb'/></disk>\n"
    "    <interface type='network'><source network='default'/></interface>\n"
    "  </devices>\n"
    "</domain>\n";

/* Item 12. */
static void libvirt_order(void)
{
    const char *want[] = {"vda", "vdb", "hda", "hdc", "sdb", "sdaa"};
    virDomainDef *def = parse(order_xml), *back;
    char *out;
    size_t i;
    CHECK(def->ndisks == 6);
    for (i = 0; i < 6; i++)
        CHECK(strcmp(def->disks[i]->dst, want[i]) == 0);
    /* The bus libvirt's post-parse gives a disk without bus=. */
    CHECK(def->disks[4]->bus == VIR_DOMAIN_DISK_BUS_SCSI);
    out = format(def);
    CHECK(strcmp(out, order_xml) == 0); /* the document's own order */
    free(out);
    /* An added disk follows its predecessor in def->disks (vdb), before the cdrom. */
    append_disk(def, new_disk("/c", "vdc", VIR_DOMAIN_DISK_BUS_VIRTIO));
    {
        virDomainDiskDef *t = def->disks[6];
        memmove(def->disks + 3, def->disks + 2, 4 * sizeof(*def->disks));
        def->disks[2] = t;
    }
    back = round_trip(def, &out);
    CHECK(strstr(out, "dev='vdb'") < strstr(out, "dev='vdc'"));
    CHECK(strstr(out, "dev='vdc'") < strstr(out, "dev='hdc'"));
    CHECK(back->ndisks == 7 && strcmp(back->disks[2]->dst, "vdc") == 0);
    free(out);
    virDomainDefFree(back);
    /* A disk put first in def->disks goes just before the element of the disk that
     * follows it there (vda, the third disk of the document). */
    {
        virDomainDiskDef *f = new_disk("/first", "vde", VIR_DOMAIN_DISK_BUS_VIRTIO);
        append_disk(def, f);
        memmove(def->disks + 1, def->disks, 7 * sizeof(*def->disks));
        def->disks[0] = f;
        out = format(def);
        CHECK(strstr(out, "dev='vde'") < strstr(out, "dev='vda'"));
        CHECK(strstr(out, "dev='hdc'") < strstr(out, "dev='vde'"));
        free(out);
    }
    virDomainDefFree(def);
}

int main(void)
{
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    CHECK(xmlopt != NULL);
    identity_not_address();
    well_formed_always();
    disk_lands_in_devices();
    libvirt_order();
    virObjectUnref(xmlopt);
    TEST_DONE();
}
