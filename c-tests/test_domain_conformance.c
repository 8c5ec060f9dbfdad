/* test_domain_conformance.c: drop-in behaviour of the domain object list, compared with
 * Debian's libvirt 9.0.0.
 *
 * The same operation sequence is built twice from this source: against virtcore
 * (bin/test_domain_conformance, the test) and against libvirt.so.0
 * (bin/domain_conformance_libvirt, -DDOMAIN_USE_LIBVIRT, see domain.mk). Each prints one
 * line per observable result (conflicts refused and their error codes, counts, states,
 * which object a lookup returns, what LoadAllConfigs loads, which malformed documents are
 * refused). The virtcore build runs the libvirt build and fails on the first line that
 * differs. Only functions are used, never struct fields (libvirt's layout differs). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_domain_compat.h"

/* Paths here are short (mkdtemp under /tmp, the build tree); truncation is harmless. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static FILE *out;
static virDomainXMLOption *xmlopt;

#define SAY(...) fprintf(out, __VA_ARGS__)

static const char *uuid_a = "11111111-2222-4333-8444-000000000001";
static const char *uuid_b = "11111111-2222-4333-8444-000000000002";
static const char *uuid_c = "11111111-2222-4333-8444-000000000003";
static const char *uuid_x = "11111111-2222-4333-8444-0000000000ff";

static void uuid_bytes(const char *s, unsigned char u[16])
{
    int k = 0;
    for (const char *p = s; *p && k < 16; p++) {
        if (*p == '-')
            continue;
        unsigned int v;
        sscanf(p, "%2x", &v);
        u[k++] = (unsigned char)v;
        p++;
    }
}

static char *xml_for(const char *name, const char *uuid, int id)
{
    char *xml = NULL;
    char idattr[32] = "";
    if (id > 0)
        snprintf(idattr, sizeof(idattr), " id='%d'", id);
    if (asprintf(&xml,
                 "<domain type='test'%s>\n  <name>%s</name>\n  <uuid>%s</uuid>\n"
                 "  <memory unit='KiB'>65536</memory>\n  <vcpu>1</vcpu>\n"
                 "  <os>\n    <type>hvm</type>\n  </os>\n"
                 "  <devices>\n    <disk type='file' device='disk'>\n"
                 "      <source file='/var/lib/images/%s.img'/>\n"
                 "      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n"
                 "</domain>\n",
                 idattr, name, uuid, name) < 0)
        abort();
    return xml;
}

/* id > 0: a live definition (parsed without the INACTIVE flag, so the id attribute
 * counts); id <= 0: an inactive definition. */
static virDomainDef *parse(const char *name, const char *uuid, int id)
{
    char *xml = xml_for(name, uuid, id);
    virDomainDef *def =
        virDomainDefParseString(xml, xmlopt, NULL, id > 0 ? 0 : VIR_DOMAIN_DEF_PARSE_INACTIVE);
    free(xml);
    return def;
}

/* Adds and reports the outcome: "ok" (and whether an old definition came back) or the
 * error code. Returns the object, still locked and referenced. */
static virDomainObj *add(virDomainObjList *list, const char *what, const char *name,
                         const char *uuid, int id, unsigned int flags)
{
    virDomainDef *def = parse(name, uuid, id);
    virDomainDef *old = NULL;
    if (!def) {
        SAY("%s: parse failed code=%d\n", what, virGetLastErrorCode());
        return NULL;
    }
    virResetLastError();
    virDomainObj *vm = virDomainObjListAdd(list, &def, xmlopt, flags, &old);
    if (vm) {
        SAY("%s: ok def-consumed=%d oldDef=%d\n", what, def == NULL, old != NULL);
    } else {
        SAY("%s: refused code=%d def-kept=%d\n", what, virGetLastErrorCode(), def != NULL);
        fprintf(stderr, "[%s] %s: %s\n", DOMAIN_IMPL, what, virGetLastErrorMessage());
    }
    if (def)
        virDomainDefFree(def);
    if (old)
        virDomainDefFree(old);
    return vm;
}

/* Which object a lookup returns: "same" (the expected one), "other" or "none". Each
 * result is released before the next lookup (the object comes back locked). */
static const char *lookup_result(virDomainObj *vm, virDomainObj *expect)
{
    const char *r = vm ? (vm == expect ? "same" : "other") : "none";
    if (vm)
        virDomainObjEndAPI(&vm);
    return r;
}

static void lookups(virDomainObjList *list, const char *what, virDomainObj *expect,
                    const char *name, const char *uuid, int id)
{
    unsigned char u[16];
    uuid_bytes(uuid, u);
    const char *a = lookup_result(virDomainObjListFindByUUID(list, u), expect);
    const char *b = lookup_result(virDomainObjListFindByName(list, name), expect);
    const char *c = id != 0 ? lookup_result(virDomainObjListFindByID(list, id), expect) : "-";
    SAY("%s: uuid=%s name=%s id=%s\n", what, a, b, c);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void counts(virDomainObjList *list, const char *what)
{
    int ids[16];
    char *names[16];
    int nids = virDomainObjListGetActiveIDs(list, ids, 16, NULL, NULL);
    int nnames = virDomainObjListGetInactiveNames(list, names, 16, NULL, NULL);
    SAY("%s: active=%d inactive=%d ids=", what, virDomainObjListNumOfDomains(list, true, NULL, NULL),
        virDomainObjListNumOfDomains(list, false, NULL, NULL));
    if (nids > 0)
        qsort(ids, (size_t)nids, sizeof(int), cmp_int);
    for (int i = 0; i < nids; i++)
        SAY("%s%d", i ? "," : "", ids[i]);
    SAY(" names=");
    if (nnames > 0)
        qsort(names, (size_t)nnames, sizeof(char *), cmp_str);
    for (int i = 0; i < nnames; i++) {
        SAY("%s%s", i ? "," : "", names[i]);
        free(names[i]);
    }
    /* maxids / maxnames bound the result */
    int one[1];
    char *onename[1] = {NULL};
    int n1 = virDomainObjListGetActiveIDs(list, one, 1, NULL, NULL);
    int n2 = virDomainObjListGetInactiveNames(list, onename, 1, NULL, NULL);
    free(onename[0]);
    SAY(" max1=%d,%d\n", n1, n2);
}

static void collect(virDomainObjList *list, const char *what, unsigned int flags)
{
    virDomainObj **vms = NULL;
    size_t n = 0;
    virDomainObjListCollect(list, NULL, &vms, &n, NULL, flags);
    SAY("collect %-16s flags=0x%04x: n=%zu\n", what, flags, n);
    virObjectListFreeCount(vms, n);
}

static bool deny_b_filter(virConnectPtr conn, virDomainDef *def)
{
    /* ACL filters see the definition; without field access (libvirt's layout differs),
     * read its name from the formatted XML */
    char *xml = virDomainDefFormat(def, xmlopt, 0);
    bool allow = xml && !strstr(xml, "<name>beta</name>");
    free(xml);
    return allow;
}

static int foreach_count;
static int foreach_cb(virDomainObj *vm, void *opaque)
{
    virObjectLock(vm);
    foreach_count++;
    virObjectUnlock(vm);
    return opaque && foreach_count == 1 ? -1 : 0;
}

static int rename_fail_cb(virDomainObj *vm, const char *new_name, unsigned int flags,
                          void *opaque)
{
    (*(int *)opaque)++;
    return -1;
}

static int notify_new, notify_old;
static void notify_cb(virDomainObj *vm, int newDomain, void *opaque)
{
    if (newDomain)
        notify_new++;
    else
        notify_old++;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void sequence_list(void)
{
    virDomainObjList *list = virDomainObjListNew();
    SAY("list: %s\n", list ? "ok" : "failed");

    /* a: live (id 7), b: inactive, c: live (id 9) */
    virDomainObj *a = add(list, "add a live", "alpha", uuid_a, 7, 0);
    virDomainObj *b = add(list, "add b inactive", "beta", uuid_b, 0, 0);
    virDomainObj *c = add(list, "add c live", "gamma", uuid_c, 9, VIR_DOMAIN_OBJ_LIST_ADD_LIVE);
    if (a)
        virObjectUnlock(a);
    if (b)
        virObjectUnlock(b);
    if (c)
        virObjectUnlock(c);

    /* every conflict libvirt refuses */
    virDomainObj *x;
    x = add(list, "same name, other uuid", "alpha", uuid_x, 0, 0);
    if (x)
        virDomainObjEndAPI(&x);
    x = add(list, "same uuid, other name", "other", uuid_a, 0, 0);
    if (x)
        virDomainObjEndAPI(&x);
    x = add(list, "check-live on active", "alpha", uuid_a, 0, VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE);
    if (x)
        virDomainObjEndAPI(&x);
    x = add(list, "check-live on transient inactive", "beta", uuid_b, 0,
            VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE);
    if (x)
        virDomainObjEndAPI(&x);
    /* redefinition of an existing domain: same object back, old definition returned */
    x = add(list, "redefine inactive b", "beta", uuid_b, 0, 0);
    SAY("redefine b same object: %d\n", x == b);
    if (x)
        virDomainObjEndAPI(&x);
    x = add(list, "redefine active a", "alpha", uuid_a, 0, 0);
    SAY("redefine a same object: %d\n", x == a);
    if (x)
        virDomainObjEndAPI(&x);
    x = add(list, "live def for active c", "gamma", uuid_c, 9, VIR_DOMAIN_OBJ_LIST_ADD_LIVE);
    SAY("live c same object: %d\n", x == c);
    if (x)
        virDomainObjEndAPI(&x);

    lookups(list, "find a", a, "alpha", uuid_a, 7);
    lookups(list, "find b", b, "beta", uuid_b, -1);
    lookups(list, "find c", c, "gamma", uuid_c, 9);
    lookups(list, "find missing", NULL, "nosuch", uuid_x, 12345);
    counts(list, "counts");

    /* states: libvirt's public values */
    if (a) {
        virObjectLock(a);
        int reason = -1;
        int st = virDomainObjGetState(a, &reason);
        SAY("state a initial: %d/%d\n", st, reason);
        virDomainObjSetState(a, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
        st = virDomainObjGetState(a, &reason);
        SAY("state a: %d/%d\n", st, reason);
        SAY("state a (NULL reason): %d\n", virDomainObjGetState(a, NULL));
        virObjectUnlock(a);
    }
    if (c) {
        virObjectLock(c);
        virDomainObjSetState(c, VIR_DOMAIN_PAUSED, VIR_DOMAIN_PAUSED_USER);
        int reason = -1;
        int st = virDomainObjGetState(c, &reason);
        SAY("state c: %d/%d\n", st, reason);
        virObjectUnlock(c);
    }
    if (b) {
        virObjectLock(b);
        virDomainObjSetState(b, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_SHUTDOWN);
        int reason = -1;
        int st = virDomainObjGetState(b, &reason);
        SAY("state b: %d/%d\n", st, reason);
        virObjectUnlock(b);
    }

    static const struct {
        const char *name;
        unsigned int flags;
    } filters[] = {
        {"all", 0},
        {"active", VIR_CONNECT_LIST_DOMAINS_ACTIVE},
        {"inactive", VIR_CONNECT_LIST_DOMAINS_INACTIVE},
        {"active|inactive", VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE},
        {"persistent", VIR_CONNECT_LIST_DOMAINS_PERSISTENT},
        {"transient", VIR_CONNECT_LIST_DOMAINS_TRANSIENT},
        {"running", VIR_CONNECT_LIST_DOMAINS_RUNNING},
        {"paused", VIR_CONNECT_LIST_DOMAINS_PAUSED},
        {"shutoff", VIR_CONNECT_LIST_DOMAINS_SHUTOFF},
        {"other", VIR_CONNECT_LIST_DOMAINS_OTHER},
        {"running|paused", VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED},
        {"managedsave", VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE},
        {"no-managedsave", VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE},
        {"autostart", VIR_CONNECT_LIST_DOMAINS_AUTOSTART},
        {"no-autostart", VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART},
        {"has-snapshot", VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT},
        {"no-snapshot", VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT},
        {"has-checkpoint", VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT},
        {"no-checkpoint", VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT},
        {"active+running", VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_RUNNING},
        {"inactive+running", VIR_CONNECT_LIST_DOMAINS_INACTIVE | VIR_CONNECT_LIST_DOMAINS_RUNNING},
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        collect(list, filters[i].name, filters[i].flags);

    {
        virDomainObj **vms = NULL;
        size_t n = 0;
        virDomainObjListCollect(list, NULL, &vms, &n, deny_b_filter, 0);
        SAY("ACL: active=%d inactive=%d\n",
            virDomainObjListNumOfDomains(list, true, deny_b_filter, NULL),
            virDomainObjListNumOfDomains(list, false, deny_b_filter, NULL));
        SAY("collect with ACL filter hiding beta: n=%zu\n", n);
        virObjectListFreeCount(vms, n);
        virDomainObjListCollectAll(list, &vms, &n);
        SAY("collect all: n=%zu\n", n);
        virObjectListFreeCount(vms, n);
    }

    foreach_count = 0;
    int rc = virDomainObjListForEach(list, false, foreach_cb, NULL);
    SAY("foreach: rc=%d visited=%d\n", rc, foreach_count);
    foreach_count = 0;
    rc = virDomainObjListForEach(list, true, foreach_cb, list);
    SAY("foreach modify, one callback fails: rc=%d visited=%d\n", rc, foreach_count);

    /* rename: refused cases and a failing callback leave everything as it was */
    if (b) {
        int calls = 0;
        virObjectLock(b);
        virResetLastError();
        rc = virDomainObjListRename(list, b, "beta", 0, rename_fail_cb, &calls);
        SAY("rename to itself: rc=%d code=%d calls=%d\n", rc, virGetLastErrorCode(), calls);
        virResetLastError();
        rc = virDomainObjListRename(list, b, "alpha", 0, rename_fail_cb, &calls);
        SAY("rename to taken name: rc=%d code=%d calls=%d\n", rc, virGetLastErrorCode(), calls);
        rc = virDomainObjListRename(list, b, "delta", 0, rename_fail_cb, &calls);
        SAY("rename, callback fails: rc=%d calls=%d\n", rc, calls);
        virObjectUnlock(b);
        lookups(list, "find b after failed renames", b, "beta", uuid_b, 0);
        lookups(list, "find delta", NULL, "delta", uuid_x, 0);
    }

    /* a live definition for a stopped domain starts it (the old one is kept as newDef) */
    x = add(list, "live def for inactive b", "beta", uuid_b, 5, VIR_DOMAIN_OBJ_LIST_ADD_LIVE);
    SAY("live b same object: %d\n", x == b);
    if (x)
        virDomainObjEndAPI(&x);
    lookups(list, "find b started", b, "beta", uuid_b, 5);
    counts(list, "counts after b started");
    lookups(list, "find id 0 and -1", NULL, "nosuch", uuid_x, -1);
    lookups(list, "find id 0", NULL, "nosuch", uuid_x, 0);

    /* removal */
    if (a) {
        unsigned char u[16];
        uuid_bytes(uuid_a, u);
        virDomainObj *vm = virDomainObjListFindByUUID(list, u);
        if (vm) {
            virDomainObjListRemove(list, vm);
            virDomainObjEndAPI(&vm);
        }
        lookups(list, "find a after remove", NULL, "alpha", uuid_a, 7);
        counts(list, "counts after remove");
        x = add(list, "re-add a", "alpha", uuid_a, 7, 0);
        SAY("re-added a is a new object: %d\n", x != NULL && x != a);
        if (x) {
            virDomainObjListRemove(list, x);
            virDomainObjEndAPI(&x);
        }
    }

    if (a)
        virObjectUnref(a);
    if (b)
        virObjectUnref(b);
    if (c)
        virObjectUnref(c);
    virObjectUnref(list);
}

static void sequence_load(void)
{
    char tmpl[] = "/tmp/vc-conf-XXXXXX";
    char *root = mkdtemp(tmpl);
    char cfg[PATH_MAX], aut[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
    if (!root)
        abort();
    snprintf(cfg, sizeof(cfg), "%s/qemu", root);
    snprintf(aut, sizeof(aut), "%s/qemu/autostart", root);
    mkdir(cfg, 0700);
    mkdir(aut, 0700);

    char *xa = xml_for("alpha", uuid_a, 0);
    char *xc = xml_for("gamma", uuid_c, 0);
    write_file(cfg, "alpha.xml", xa);
    write_file(cfg, "beta.xml", "<domain type='test'><name>beta</name><uuid>");
    write_file(cfg, "gamma.xml", xc);
    write_file(cfg, "notes.txt", "not a config: no .xml suffix\n");
    free(xa);
    free(xc);
    snprintf(link, sizeof(link), "%s/alpha.xml", aut);
    snprintf(target, sizeof(target), "%s/alpha.xml", cfg);
    if (symlink(target, link) < 0)
        abort();

    virDomainObjList *list = virDomainObjListNew();
    notify_new = notify_old = 0;
    int rc = virDomainObjListLoadAllConfigs(list, cfg, aut, false, xmlopt, notify_cb, NULL);
    SAY("load: rc=%d notify new=%d old=%d\n", rc, notify_new, notify_old);
    lookups(list, "loaded alpha", NULL, "alpha", uuid_a, 0);
    lookups(list, "loaded beta (malformed)", NULL, "beta", uuid_b, 0);
    counts(list, "loaded counts");
    collect(list, "loaded persistent", VIR_CONNECT_LIST_DOMAINS_PERSISTENT);
    collect(list, "loaded autostart", VIR_CONNECT_LIST_DOMAINS_AUTOSTART);
    collect(list, "loaded no-autostart", VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART);

    /* loading again redefines the same domains */
    rc = virDomainObjListLoadAllConfigs(list, cfg, aut, false, xmlopt, notify_cb, NULL);
    SAY("reload: rc=%d notify new=%d old=%d\n", rc, notify_new, notify_old);
    counts(list, "reloaded counts");

    /* a missing directory is not an error */
    char missing[PATH_MAX];
    snprintf(missing, sizeof(missing), "%s/nosuch", root);
    rc = virDomainObjListLoadAllConfigs(list, missing, aut, false, xmlopt, NULL, NULL);
    SAY("load missing dir: rc=%d\n", rc);

    unsigned char u[16];
    uuid_bytes(uuid_a, u);
    virDomainObj *vm = virDomainObjListFindByUUID(list, u);
    if (vm) {
        rc = virDomainDeleteConfig(cfg, aut, vm);
        SAY("delete config alpha: rc=%d config=%d autostart=%d\n", rc,
            access(target, F_OK) == 0, access(link, F_OK) == 0);
        rc = virDomainDeleteConfig(cfg, aut, vm);
        SAY("delete config alpha again: rc=%d\n", rc);
        virDomainObjEndAPI(&vm);
    }
    virObjectUnref(list);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        abort();
}

/* Which malformed documents are refused (each build's verdict per file). */
static void sequence_bad_corpus(const char *dir)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0) {
        SAY("bad corpus: missing\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        size_t len = strlen(nm);
        if (len > 4 && strcmp(nm + len - 4, ".xml") == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", dir, nm);
            FILE *f = fopen(path, "rb");
            char *buf = calloc(1, 1 << 20);
            size_t got = f ? fread(buf, 1, (1 << 20) - 1, f) : 0;
            if (f)
                fclose(f);
            buf[got] = '\0';
            virResetLastError();
            virDomainDef *def = virDomainDefParseString(buf, xmlopt, NULL, 0);
            SAY("bad %s: %s\n", nm, def ? "accepted" : "refused");
            if (def)
                virDomainDefFree(def);
            free(buf);
        }
        free(ents[i]);
    }
    free(ents);
}

static void sequence(const char *datadir)
{
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    SAY("xmlopt: %s\n", xmlopt ? "ok" : "failed");
    sequence_list();
    sequence_load();
    sequence_bad_corpus(datadir);
    virObjectUnref(xmlopt);
}

/* Differences from libvirt 9.0 that the domain branch has not fixed yet (reported). A
 * differing line whose libvirt text starts with one of these prefixes makes the test end
 * with exit 77 (SKIP, naming them) instead of failing; any other difference fails it.
 * Once virtcore matches, the line is identical and nothing is reported. */
__attribute__((unused)) static const char *known_difference(const char *libvirt_line)
{
    static const struct {
        const char *prefix;
        const char *what;
    } known[] = {
        {"state a initial:",
         "virDomainObjNew leaves the state NOSTATE (libvirt: SHUTOFF/UNKNOWN)"},
        {"rename to itself:",
         "virDomainObjListRename to the current name succeeds (libvirt: OPERATION_INVALID)"},
    };
    if (!libvirt_line)
        return NULL;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strncmp(libvirt_line, known[i].prefix, strlen(known[i].prefix)) == 0)
            return known[i].what;
    return NULL;
}

static void exe_dir(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n < 0)
        abort();
    buf[n] = '\0';
    char *d = dirname(buf);
    memmove(buf, d, strlen(d) + 1);
}

int main(int argc, char **argv)
{
    char dir[PATH_MAX], datadir[PATH_MAX + 32];
    domain_impl_init();
    exe_dir(dir, sizeof(dir));
    snprintf(datadir, sizeof(datadir), "%s/../data/domain-bad", dir);

#ifdef DOMAIN_USE_LIBVIRT
    out = stdout;
    sequence(datadir);
    return 0;
#else
    char *mine = NULL, *theirs = NULL;
    size_t mine_len = 0, theirs_len = 0;
    out = open_memstream(&mine, &mine_len);
    sequence(datadir);
    fclose(out);

    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "'%s/domain_conformance_libvirt' 2>/dev/null", dir);
    FILE *p = popen(cmd, "r");
    FILE *t = open_memstream(&theirs, &theirs_len);
    char line[4096];
    while (p && fgets(line, sizeof(line), p))
        fputs(line, t);
    int st = p ? pclose(p) : -1;
    fclose(t);
    if (st != 0 || theirs_len == 0) {
        printf("%s", mine);
        printf("libvirt build (%s/domain_conformance_libvirt) did not run (status %d)\n",
               dir, st);
        free(mine);
        free(theirs);
        return 1;
    }

    /* compare line by line, report every difference */
    int diffs = 0, unknown = 0, lineno = 0;
    char known_seen[1024] = "";
    char *sm = NULL, *st2 = NULL;
    char *lm = strtok_r(mine, "\n", &sm);
    char *lt = strtok_r(theirs, "\n", &st2);
    while (lm || lt) {
        lineno++;
        if (!lm || !lt || strcmp(lm, lt) != 0) {
            diffs++;
            const char *why = known_difference(lt);
            fprintf(stderr, "line %d differs%s:\n  libvirt:  %s\n  virtcore: %s\n", lineno,
                    why ? " (known)" : "", lt ? lt : "(end)", lm ? lm : "(end)");
            if (why && lm && strncmp(lm, lt, strcspn(lt, ":")) == 0) {
                size_t len = strlen(known_seen);
                snprintf(known_seen + len, sizeof(known_seen) - len, "%s%s", len ? "; " : "",
                         why);
            } else {
                unknown++;
            }
        }
        lm = lm ? strtok_r(NULL, "\n", &sm) : NULL;
        lt = lt ? strtok_r(NULL, "\n", &st2) : NULL;
    }
    free(mine);
    free(theirs);
    if (unknown) {
        fprintf(stderr, "%d of %d lines differ from libvirt 9.0\n", diffs, lineno);
        return 1;
    }
    if (diffs) {
        printf("%d results identical to libvirt 9.0; %d known differences remain\n",
               lineno - diffs, diffs);
        printf("known differences from libvirt 9.0 (domain branch): %s\n", known_seen);
        return 77;
    }
    printf("%d results identical to libvirt 9.0\n", lineno);
    return 0;
#endif
}
