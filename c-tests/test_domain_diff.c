/* test_domain_diff.c: the differential test of domain XML against Debian's libvirt 9.0.0.
 *
 * One source, built twice (see domain_diff.mk): against virtcore (bin/test_domain_diff, the
 * test) and against libvirt.so.0 (bin/domain_diff_libvirt, -DDOMAIN_USE_LIBVIRT). Each
 * build reads every document of tests/data/libvirt-9.0/ (libvirt's own test documents) and
 * writes one record per observable result, "DOC<tab>KEY<tab>VALUE":
 *   parse        accepted, or refused with its error code
 *   f.*          the C-visible fields (name, uuid, id, on_lockfailure, each disk's
 *                type/device/bus/target/path/readonly/shareable, each lease)
 *   lock.NN      every call the recording plugin (plugins/recorddrv.c) receives from the
 *                domain lock glue: ProcessStart (paused), Resume, Pause, Resume with the
 *                state Pause returned, Inquire
 *   rt.*         the document virtcore formatted (written by the virtcore build, read by
 *                both): parsed again, its fields, and whether formatting it gives the same
 *                text as formatting the original. In the libvirt build this is
 *                libvirt-format(virtcore-format(doc)) == libvirt-format(doc), the meaning of
 *                "the formatted output agrees" here, since libvirt's formatter adds defaults.
 *   lv.*         the document libvirt formatted (written by a first run of the libvirt
 *                build): parsed by each library, its fields, and whether formatting it
 *                gives libvirt's text back (what libvirtd writes, read by virtcore)
 *   ~*           information shown next to a difference, never compared (error messages)
 * The virtcore build then runs the libvirt build and compares (domain_diff_compare.c):
 * every difference fails unless a rule there explains it with its reason. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain_diff_access.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define DIFF_PID 4242
#define DIFF_URI "qemu:///system"

static FILE *rec;
static const char *cur_doc = "(plugin)";
static int lock_seq;
static virDomainXMLOption *xmlopt;
static virLockManagerPlugin *plugin;

/* Writes a value with tabs, newlines, backslashes and control bytes escaped, so a record
 * stays one line. */
static void put_escaped(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", rec);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(rec, "\\x%02x", *p);
        else
            fputc(*p, rec);
    }
    fputc('\n', rec);
}

static void __attribute__((format(printf, 2, 3))) say(const char *key, const char *fmt, ...)
{
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&v, fmt, ap) < 0)
        abort();
    va_end(ap);
    fprintf(rec, "%s\t%s\t", cur_doc, key);
    put_escaped(v);
    free(v);
}

/* Called by the recording plugin for each driver call (found with dlsym: -rdynamic). */
void domain_diff_record(const char *line);
void domain_diff_record(const char *line)
{
    char key[32];
    snprintf(key, sizeof(key), "lock.%02d", lock_seq++);
    say(key, "%s", line);
}

static const char *nz(const char *s)
{
    return s ? s : "(null)";
}

static void quiet_errors(void *data, virErrorPtr err)
{
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* The fields C code reads, under prefix @p ("f" or "rt"). */
static void fields(const char *p, virDomainDef *def)
{
    char key[64];
    const unsigned char *u = def_uuid(def);
    snprintf(key, sizeof(key), "%s.name", p);
    say(key, "%s", nz(def_name(def)));
    snprintf(key, sizeof(key), "%s.uuid", p);
    say(key, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
        u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    snprintf(key, sizeof(key), "%s.id", p);
    say(key, "%d", def_id(def));
#ifdef HAVE_ONLOCKFAILURE
    snprintf(key, sizeof(key), "%s.onlockfailure", p);
    say(key, "%d", (int)def_onlockfailure(def));
#endif
    snprintf(key, sizeof(key), "%s.ndisks", p);
    say(key, "%zu", def_ndisks(def));
    for (size_t i = 0; i < def_ndisks(def); i++) {
        virDomainDiskDef *d = def_disk(def, i);
        virStorageSource *s = disk_src(d);
#ifdef DOMAIN_USE_LIBVIRT
        /* the offsets above, checked against libvirt's own accessors */
        if (virDomainDiskGetSource(d) != src_path(s) || virDomainDiskGetType(d) != src_type(s)) {
            fprintf(stderr, "libvirt struct offsets do not match libvirt.so.0\n");
            exit(1);
        }
#endif
        snprintf(key, sizeof(key), "%s.disk.%03zu", p, i);
        say(key, "type=%d device=%d bus=%d dst=%s path=%s readonly=%d shared=%d", src_type(s),
            disk_device(d), disk_bus(d), nz(disk_dst(d)), nz(src_path(s)), (int)src_readonly(s),
            (int)src_shared(s));
    }
    snprintf(key, sizeof(key), "%s.nleases", p);
    say(key, "%zu", def_nleases(def));
    for (size_t i = 0; i < def_nleases(def); i++) {
        virDomainLeaseDef *l = def_lease(def, i);
        snprintf(key, sizeof(key), "%s.lease.%03zu", p, i);
        say(key, "lockspace=%s key=%s path=%s offset=%llu", nz(lease_lockspace(l)),
            nz(lease_key(l)), nz(lease_path(l)), lease_offset(l));
    }
}

static virDomainDef *parse(const char *what, const char *xml)
{
    virResetLastError();
    virDomainDef *def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    char key[32];
    snprintf(key, sizeof(key), "%sparse", what);
    if (def) {
        say(key, "ok");
    } else {
        say(key, "refused code=%d", virGetLastErrorCode());
        snprintf(key, sizeof(key), "~%sparse", what);
        say(key, "%s", nz(virGetLastErrorMessage()));
    }
    return def;
}

/* The lock glue's calls for a guest with this definition (the object takes @def). */
static void lock_calls(virDomainDef *def)
{
    virDomainObj *vm = virDomainObjNew(xmlopt);
    if (!vm) {
        say("lockobj", "failed code=%d", virGetLastErrorCode());
        virDomainDefFree(def);
        return;
    }
    obj_def(vm) = def;
    obj_pid(vm) = DIFF_PID;
    char *state = NULL, *state2 = NULL;
    int fd = -2;
    lock_seq = 0;
    int r1 = virDomainLockProcessStart(plugin, DIFF_URI, vm, true, &fd);
    int r2 = virDomainLockProcessResume(plugin, DIFF_URI, vm, NULL);
    int r3 = virDomainLockProcessPause(plugin, vm, &state);
    int r4 = virDomainLockProcessResume(plugin, DIFF_URI, vm, state);
    int r5 = virDomainLockProcessInquire(plugin, vm, &state2);
    say("lockrc", "start=%d resume=%d pause=%d resume=%d inquire=%d state=%s,%s fd=%d", r1, r2,
        r3, r4, r5, nz(state), nz(state2), fd);
    free(state);
    free(state2);
    virDomainObjEndAPI(&vm);
}

/* First line where two texts differ, for the information record. */
static void first_diff(const char *a, const char *b, char *out, size_t len)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    snprintf(out, len, "line %d: [%.*s] vs [%.*s]", line, (int)strcspn(la, "\n"), la,
             (int)strcspn(lb, "\n"), lb);
}

/* A copy of @xml with every value libvirt makes up at parse replaced by zeros: a random
 * MAC for an <interface> without one, random interfaceid/instanceid of a virtualport, a
 * random <genid> when asked for one. Two parses of the same document differ there. */
static char *mask_generated(const char *xml)
{
    char *out = strdup(xml);
    static const char *const tags[] = {"<mac address='", "interfaceid='", "instanceid='",
                                       "<genid>"};
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        for (char *p = strstr(out, tags[t]); p; p = strstr(p, tags[t])) {
            p += strlen(tags[t]);
            for (; *p && *p != '\'' && *p != '<'; p++)
                if (*p != ':' && *p != '-')
                    *p = '0';
        }
    }
    return out;
}

/* Where the formatted documents go: virtcore's output (read by both builds) and
 * libvirt's (written by a first run of the libvirt build, read by both). Each build
 * writes its own when @write_own. */
static const char *vcfmt_dir, *lvfmt_dir;
static bool write_own;
#ifdef DOMAIN_USE_LIBVIRT
#define own_dir lvfmt_dir
#else
#define own_dir vcfmt_dir
#endif

/* This library's reading of libvirt's formatted output (what libvirtd writes to
 * /etc/libvirt): fields, and whether formatting it gives libvirt's text back. */
static void read_libvirt_output(const char *lpath)
{
    char *lvfmt = read_file(lpath);
    if (!lvfmt)
        return;
    virDomainDef *lv = parse("lv.", lvfmt);
    if (lv) {
        fields("lv", lv);
        char *again = virDomainDefFormat(lv, xmlopt, 0);
        if (again && strcmp(again, lvfmt) == 0) {
            say("lv.format", "same");
        } else {
            char where[1024] = "no output";
            if (again)
                first_diff(lvfmt, again, where, sizeof(where));
            say("lv.format", "differs");
            say("~lv.format", "%s", where);
        }
        free(again);
        virDomainDefFree(lv);
    }
    free(lvfmt);
}

static void run_doc(const char *corpus, const char *rel)
{
    char path[4096], fpath[4096], opath[4096], lpath[4096];
    snprintf(path, sizeof(path), "%s/%s", corpus, rel);
    snprintf(fpath, sizeof(fpath), "%s/%s", vcfmt_dir, rel);
    snprintf(opath, sizeof(opath), "%s/%s", own_dir, rel);
    snprintf(lpath, sizeof(lpath), "%s/%s", lvfmt_dir, rel);
    cur_doc = rel;
    char *xml = read_file(path);
    if (!xml) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    virDomainDef *def = parse("", xml);
    free(xml);
    if (!def)
        return;
    fields("f", def);
    virResetLastError();
    char *fmt = virDomainDefFormat(def, xmlopt, 0);
    if (!fmt)
        say("format", "failed code=%d", virGetLastErrorCode());
    if (fmt && write_own)
        write_file(opath, fmt);
    lock_calls(def);
    read_libvirt_output(lpath);

    char *vcfmt = read_file(fpath);
    if (!vcfmt) {
        say("rt.read", "no virtcore output");
        free(fmt);
        return;
    }
    virDomainDef *rt = parse("rt.", vcfmt);
    free(vcfmt);
    if (rt) {
        fields("rt", rt);
        char *fmt2 = virDomainDefFormat(rt, xmlopt, 0);
        char *m1 = fmt ? mask_generated(fmt) : NULL, *m2 = fmt2 ? mask_generated(fmt2) : NULL;
        if (fmt && fmt2 && strcmp(fmt, fmt2) == 0) {
            say("rt.format", "same");
        } else if (m1 && m2 && strcmp(m1, m2) == 0) {
            say("rt.format", "same but for generated MACs and ids");
        } else {
            char where[1024] = "no output";
            if (fmt && fmt2)
                first_diff(fmt, fmt2, where, sizeof(where));
            say("rt.format", "differs");
            say("~rt.format", "%s", where);
        }
        free(m1);
        free(m2);
        free(fmt2);
        virDomainDefFree(rt);
    }
    free(fmt);
}

static int is_xml(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0;
}

static int is_subdir(const struct dirent *e)
{
    return e->d_name[0] != '.' && e->d_type == DT_DIR;
}

/* Every document CORPUS/SUBDIR/NAME.xml, in name order. */
static void run_corpus(const char *corpus, int *ndocs)
{
    struct dirent **subs = NULL;
    int nsubs = scandir(corpus, &subs, is_subdir, alphasort);
    if (nsubs < 0) {
        fprintf(stderr, "cannot read %s: %s\n", corpus, strerror(errno));
        exit(1);
    }
    for (int i = 0; i < nsubs; i++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", corpus, subs[i]->d_name);
        struct dirent **docs = NULL;
        int n = scandir(dir, &docs, is_xml, alphasort);
        if (n >= 0 && write_own) {
            snprintf(dir, sizeof(dir), "%s/%s", own_dir, subs[i]->d_name);
            mkdir(dir, 0700);
        }
        for (int j = 0; j < n; j++) {
            char rel[1024];
            snprintf(rel, sizeof(rel), "%s/%s", subs[i]->d_name, docs[j]->d_name);
            run_doc(corpus, rel);
            (*ndocs)++;
            free(docs[j]);
        }
        free(docs);
        free(subs[i]);
    }
    free(subs);
}

/* One library's records for the whole corpus into @out_path. */
static int produce(const char *corpus, const char *out_path, const char *plugin_dir,
                   const char *cfg_dir)
{
    domain_impl_init();
    virSetErrorFunc(NULL, quiet_errors);
    setenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR", plugin_dir, 1);
    setenv("VIRTCORE_LOCK_DRIVER_DIR", plugin_dir, 1);
    rec = fopen(out_path, "w");
    if (!rec) {
        fprintf(stderr, "cannot write %s\n", out_path);
        return 1;
    }
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    plugin = virLockManagerPluginNew("recorddrv", "qemu", cfg_dir, 0);
    if (!xmlopt || !plugin) {
        fprintf(stderr, "[%s] setup failed: %s\n", DOMAIN_IMPL, virGetLastErrorMessage());
        return 1;
    }
    int ndocs = 0;
    /* @corpus: one or more roots separated by ':' */
    char *roots = strdup(corpus), *save = NULL;
    for (char *r = strtok_r(roots, ":", &save); r; r = strtok_r(NULL, ":", &save))
        run_corpus(r, &ndocs);
    free(roots);
    cur_doc = "(end)";
    virLockManagerPluginUnref(plugin);
    virObjectUnref(xmlopt);
    fclose(rec);
    return 0;
}

#ifdef DOMAIN_USE_LIBVIRT
/* domain_diff_libvirt write|read CORPUS VCFMT_DIR LVFMT_DIR OUT PLUGIN_DIR CFG_DIR
 * "write" makes libvirt's formatted documents (its records are not used), "read" the
 * records compared with virtcore's. */
int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s write|read CORPUS VCFMT_DIR LVFMT_DIR OUT PLUGIN_DIR CFG_DIR\n",
                argv[0]);
        return 2;
    }
    unsigned long ver = 0;
    if (virGetVersion(&ver, NULL, NULL) < 0 || ver / 1000 != 9000) {
        /* the struct offsets are libvirt 9.0's */
        printf("libvirt.so.0 is %lu, not 9.0.x\n", ver);
        return 77;
    }
    write_own = strcmp(argv[1], "write") == 0;
    vcfmt_dir = argv[3];
    lvfmt_dir = argv[4];
    return produce(argv[2], argv[5], argv[6], argv[7]);
}
#else
#include "domain_diff_compare.h"

static void remove_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(int argc, char **argv)
{
    const char *corpus = argc > 1 ? argv[1] : DIFF_CORPUS;
    char tmp[] = "/tmp/domain-diff-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char vcfmt[4200], lvfmt[4200], vcout[4200], lvout[4200], cmd[16384];
    snprintf(vcfmt, sizeof(vcfmt), "%s/vcfmt", tmp);
    snprintf(lvfmt, sizeof(lvfmt), "%s/lvfmt", tmp);
    snprintf(vcout, sizeof(vcout), "%s/virtcore.rec", tmp);
    snprintf(lvout, sizeof(lvout), "%s/libvirt.rec", tmp);
    mkdir(vcfmt, 0700);
    mkdir(lvfmt, 0700);
    vcfmt_dir = vcfmt;
    lvfmt_dir = lvfmt;
    write_own = true;
    /* libvirt runs in its own process (the two libraries export the same names): first to
     * write its formatted documents, then, after virtcore's run, for the records */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && produce(corpus, vcout, DIFF_PLUGIN_DIR, tmp) != 0) {
            remove_tree(tmp);
            return 1;
        }
        snprintf(cmd, sizeof(cmd), "'%s' %s '%s' '%s' '%s' '%s/%s' '%s' '%s'", DIFF_LIBVIRT_PROG,
                 pass ? "read" : "write", corpus, vcfmt, lvfmt, tmp,
                 pass ? "libvirt.rec" : "libvirt-write.rec", DIFF_PLUGIN_DIR, tmp);
        int rc = system(cmd);
        if (rc != 0) {
            bool skip = WIFEXITED(rc) && WEXITSTATUS(rc) == 77; /* not libvirt 9.0: said why */
            if (!skip)
                fprintf(stderr, "%s failed (status %d)\n", DIFF_LIBVIRT_PROG, rc);
            remove_tree(tmp);
            return skip ? 77 : 1;
        }
    }
    int ret = domain_diff_compare(lvout, vcout, DIFF_REPORT);
    remove_tree(tmp);
    return ret;
}
#endif
