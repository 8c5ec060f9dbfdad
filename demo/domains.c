/* domains.c: the domain object list, side by side with Debian's libvirt 9.0.
 *
 * The same sequence runs on two implementations of libvirt's internal domain API: virtcore
 * (linked) and libvirt.so.0, whose functions are looked up by version
 * (LIBVIRT_PRIVATE_9.0.0, see libvirt9.c for why dlvsym). libvirt's structs are opaque
 * here, so only functions are used, through a table of pointers with void * objects. The
 * figures are printed, never judged: only refusals and failed lookups fail the demo. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <virtcore.h>

#include "domains.h"
#include "libvirt9.h"

#define NGEN 2000     /* generated domains in the list */
#define NLOOKUP 20000 /* lookups of each kind */
#define MAXDOCS 64

struct dom_api {
    const char *label;
    void *(*xmlopt_new)(void);
    void *(*parse)(const char *xml, void *xmlopt);
    void (*def_free)(void *def);
    void *(*list_new)(void);
    void *(*add)(void *list, void **def, void *xmlopt);
    void *(*by_uuid)(void *list, const unsigned char *uuid);
    void *(*by_name)(void *list, const char *name);
    void *(*by_id)(void *list, int id);
    void (*end_api)(void **vm);
    int (*count)(void *list, int active);
    void (*unref)(void *obj);
    const char *(*last_error)(void);
};

/* ---- virtcore: small wrappers give its typed functions the table's signatures ---------- */

static void *vc_xmlopt_new(void) { return virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL); }
static void *vc_parse(const char *xml, void *o) { return virDomainDefParseString(xml, o, NULL, 0); }
static void vc_def_free(void *d) { virDomainDefFree(d); }
static void *vc_list_new(void) { return virDomainObjListNew(); }
static void *vc_add(void *l, void **d, void *o)
{
    virDomainDef *def = *d;
    virDomainObj *vm = virDomainObjListAdd(l, &def, o, 0, NULL);
    *d = def;
    return vm;
}
static void *vc_by_uuid(void *l, const unsigned char *u) { return virDomainObjListFindByUUID(l, u); }
static void *vc_by_name(void *l, const char *n) { return virDomainObjListFindByName(l, n); }
static void *vc_by_id(void *l, int id) { return virDomainObjListFindByID(l, id); }
static void vc_end_api(void **vm)
{
    virDomainObj *o = *vm;
    virDomainObjEndAPI(&o);
    *vm = NULL;
}
static int vc_count(void *l, int active) { return virDomainObjListNumOfDomains(l, active, NULL, NULL); }

static const struct dom_api virtcore_api = {
    "virtcore", vc_xmlopt_new, vc_parse, vc_def_free, vc_list_new, vc_add, vc_by_uuid,
    vc_by_name, vc_by_id, vc_end_api, vc_count, virObjectUnref, virGetLastErrorMessage,
};

/* ---- libvirt 9.0: the same functions from libvirt.so.0 --------------------------------- */

static void *(*lv_xmlopt_new)(void *, void *, void *, void *, void *, void *);
static void *(*lv_parse)(const char *, void *, void *, unsigned int);
static void *(*lv_add)(void *, void **, void *, unsigned int, void **);
static int (*lv_count)(void *, bool, void *, void *);

static void *lv_xmlopt(void) { return lv_xmlopt_new(NULL, NULL, NULL, NULL, NULL, NULL); }
static void *lv_parse0(const char *xml, void *o) { return lv_parse(xml, o, NULL, 0); }
static void *lv_add0(void *l, void **d, void *o) { return lv_add(l, d, o, 0, NULL); }
static int lv_count0(void *l, int active) { return lv_count(l, active, NULL, NULL); }

static struct dom_api libvirt_api = {"libvirt 9.0", lv_xmlopt, lv_parse0, NULL, NULL, lv_add0,
                                     NULL, NULL, NULL, NULL, lv_count0, NULL, NULL};

/* dlsym returns an object pointer; ISO C has no cast to a function pointer, copy it. */
static int lookup(void *handle, void *fn, size_t size, const char *name, const char *version)
{
    void *p = dlvsym(handle, name, version);
    if (p)
        memcpy(fn, &p, size);
    return p ? 0 : -1;
}

#define LV(fn, name) lookup(h, &(fn), sizeof(fn), name, "LIBVIRT_PRIVATE_9.0.0")

static int libvirt_open(char *why, size_t len)
{
    void *h;
    if (lv9_open(why, len) < 0) /* loads libvirt.so.0 and calls virInitialize */
        return -1;
    /* The same handle again (reference counted), for our own lookups. */
    if (!(h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND))) {
        snprintf(why, len, "%s", dlerror());
        return -1;
    }
    if (LV(lv_xmlopt_new, "virDomainXMLOptionNew") || LV(lv_parse, "virDomainDefParseString") ||
        LV(libvirt_api.def_free, "virDomainDefFree") || LV(libvirt_api.list_new, "virDomainObjListNew") ||
        LV(lv_add, "virDomainObjListAdd") || LV(libvirt_api.by_uuid, "virDomainObjListFindByUUID") ||
        LV(libvirt_api.by_name, "virDomainObjListFindByName") ||
        LV(libvirt_api.by_id, "virDomainObjListFindByID") ||
        LV(libvirt_api.end_api, "virDomainObjEndAPI") ||
        LV(lv_count, "virDomainObjListNumOfDomains") || LV(libvirt_api.unref, "virObjectUnref") ||
        lookup(h, &libvirt_api.last_error, sizeof(libvirt_api.last_error),
               "virGetLastErrorMessage", "LIBVIRT_1.0.6")) {
        snprintf(why, len, "libvirt.so.0 lacks a LIBVIRT_PRIVATE_9.0.0 domain function");
        return -1;
    }
    return 0;
}

/* ---- input ------------------------------------------------------------------------------ */

struct doc {
    char name[64];
    char *xml;
};
static struct doc docs[MAXDOCS];
static int ndocs;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    long n;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
        buf[n] = '\0';
    else {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    return buf;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* The corpus lives in the repository: ../tests/data/domain-xml next to this program. */
static int load_corpus(char *dir, size_t len)
{
    char self[PATH_MAX], path[PATH_MAX + 320];
    struct dirent **ents;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    int k, m;
    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(dir, len, "%s/../tests/data/domain-xml", dirname(self));
    if ((m = scandir(dir, &ents, NULL, by_name)) < 0)
        return -1;
    for (k = 0; k < m; k++) {
        size_t l = strlen(ents[k]->d_name);
        if (ndocs < MAXDOCS && l > 4 && l < sizeof(docs[0].name) &&
            strcmp(ents[k]->d_name + l - 4, ".xml") == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, ents[k]->d_name);
            if ((docs[ndocs].xml = slurp(path)))
                memcpy(docs[ndocs++].name, ents[k]->d_name, l + 1); /* l < sizeof name */
        }
        free(ents[k]);
    }
    free(ents);
    return ndocs > 0 ? 0 : -1;
}

/* Generated domain i: name "demo-i", a UUID derived from i, id i+1 (running). */
static void gen_uuid(int i, unsigned char u[16])
{
    int k;
    for (k = 0; k < 16; k++)
        u[k] = (unsigned char)((i * 2654435761u) >> (k % 4 * 8)) ^ (unsigned char)(k * 17);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
}

static void gen_xml(int i, char *buf, size_t len)
{
    unsigned char u[16];
    gen_uuid(i, u);
    snprintf(buf, len,
             "<domain type='kvm' id='%d'><name>demo-%d</name>"
             "<uuid>%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x</uuid>"
             "<memory unit='KiB'>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
             "<devices><disk type='file' device='disk'><source file='/var/lib/images/demo-%d.img'/>"
             "<target dev='vda' bus='virtio'/></disk></devices></domain>",
             i + 1, i, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
             u[12], u[13], u[14], u[15], i);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- the run ---------------------------------------------------------------------------- */

struct result {
    int parsed;             /* corpus documents parsed */
    char refused[256];      /* names of those refused */
    double parse_us;        /* per corpus document */
    double add_us;          /* per generated domain: parse + add */
    double uuid_ns, name_ns, id_ns;
    int missed;             /* lookups that did not find their domain */
    char error[200];
};

static void run(const struct dom_api *api, struct result *r)
{
    void *xmlopt = api->xmlopt_new(), *list = api->list_new(), *vm;
    char xml[1024], name[32];
    unsigned char uuid[16];
    double t;
    int i, k;

    memset(r, 0, sizeof(*r));
    if (!xmlopt || !list) {
        snprintf(r->error, sizeof(r->error), "setup failed: %s", api->last_error());
        r->missed = 1;
        return;
    }
    t = now_us();
    for (k = 0; k < ndocs; k++) {
        void *def = api->parse(docs[k].xml, xmlopt);
        if (def) {
            r->parsed++;
            api->def_free(def);
        } else {
            size_t l = strlen(r->refused);
            snprintf(r->refused + l, sizeof(r->refused) - l, "%s%s", l ? ", " : "", docs[k].name);
        }
    }
    r->parse_us = (now_us() - t) / ndocs;

    t = now_us();
    for (i = 0; i < NGEN; i++) {
        void *def;
        gen_xml(i, xml, sizeof(xml));
        if (!(def = api->parse(xml, xmlopt)) || !(vm = api->add(list, &def, xmlopt))) {
            snprintf(r->error, sizeof(r->error), "domain demo-%d: %s", i, api->last_error());
            r->missed = 1;
            return;
        }
        api->end_api(&vm);
    }
    r->add_us = (now_us() - t) / NGEN;
    if (api->count(list, 1) != NGEN)
        r->missed++;

#define TIME_LOOKUPS(out, call)                                                              \
    t = now_us();                                                                            \
    for (k = 0; k < NLOOKUP; k++) {                                                          \
        i = (int)((unsigned)k * 7919u % NGEN);                                               \
        if ((vm = (call)))                                                                   \
            api->end_api(&vm);                                                               \
        else                                                                                 \
            r->missed++;                                                                     \
    }                                                                                        \
    out = (now_us() - t) * 1e3 / NLOOKUP
    TIME_LOOKUPS(r->uuid_ns, (gen_uuid(i, uuid), api->by_uuid(list, uuid)));
    TIME_LOOKUPS(r->name_ns, (snprintf(name, sizeof(name), "demo-%d", i), api->by_name(list, name)));
    TIME_LOOKUPS(r->id_ns, api->by_id(list, i + 1));
    api->unref(list);
    api->unref(xmlopt);
}

int demo_domains(void)
{
    char dir[PATH_MAX + 32], why[256];
    struct result vc, lv;
    int have_lv, ok;

    printf("\nDomain object list (virDomainObjList*, domain XML): the same calls of libvirt's\n"
           "internal API on virtcore and on Debian's libvirt 9.0 (libvirt.so.0)\n");
    if (load_corpus(dir, sizeof(dir)) < 0) {
        printf("  UNEXPECTED: cannot read the domain XML corpus in %s\n", dir);
        return -1;
    }
    run(&virtcore_api, &vc);
    have_lv = libvirt_open(why, sizeof(why)) == 0;
    if (have_lv)
        run(&libvirt_api, &lv);

    printf("  %-46s %12s %12s\n", "", "virtcore", have_lv ? "libvirt 9.0" : "");
#define ROW(label, fmt, field)                                                               \
    do {                                                                                     \
        printf("  %-46s " fmt, label, vc.field);                                             \
        if (have_lv)                                                                         \
            printf(" " fmt, lv.field);                                                       \
        printf("\n");                                                                        \
    } while (0)
    printf("  %-46s %9d/%-2d", "real domain XML parsed (tests/data/domain-xml)", vc.parsed, ndocs);
    if (have_lv)
        printf(" %9d/%-2d", lv.parsed, ndocs);
    printf("\n");
    ROW("  parse, per document (us)", "%12.1f", parse_us);
    ROW("2000 running domains: parse + add, each (us)", "%12.1f", add_us);
    ROW("lookup by UUID (ns)", "%12.0f", uuid_ns);
    ROW("lookup by name (ns)", "%12.0f", name_ns);
    ROW("lookup by ID (ns)", "%12.0f", id_ns);
    if (!have_lv)
        printf("  libvirt 9.0 not available here: %s\n", why);
    else if (lv.error[0])
        printf("  libvirt 9.0: %s\n", lv.error);
    else if (lv.refused[0])
        printf("  libvirt 9.0 (empty virDomainXMLOption) refuses %d:\n    %s\n", ndocs - lv.parsed,
               lv.refused);
    printf("  libvirt finds a domain by ID by scanning the whole list; virtcore keeps an index.\n");

    ok = vc.parsed == ndocs && vc.missed == 0 && !vc.error[0];
    if (!ok)
        printf("  UNEXPECTED: virtcore %s%s%s (%d lookups missed)\n",
               vc.refused[0] ? "refused " : "", vc.refused, vc.error, vc.missed);
    else
        printf("  virtcore parsed every document and found every domain: as expected.\n");
    return ok ? 0 : -1;
}
