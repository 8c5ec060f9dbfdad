/* test_domain_atomic_write.c: config and status files are replaced atomically.
 *
 * A child process rewrites one large config (virDomainSaveConfig) or status file
 * (virDomainSaveStatus) in a loop, alternating two versions; the parent kills it with
 * SIGKILL at a random moment, many times. After every kill the file must be exactly one
 * of the two versions (byte for byte as a lone write produces it) and parse; never torn,
 * never missing. Temporary files a killed writer leaves behind must not look like
 * configs: LoadAllConfigs on the directory afterwards loads exactly the one domain. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define KILLS 40

static char *make_xml(const char *tag, int ndisks)
{
    size_t cap = 256 + (size_t)ndisks * 256;
    char *xml = malloc(cap);
    CHECK(xml != NULL);
    int n = snprintf(xml, cap,
                     "<domain type='kvm'>\n  <name>atomic</name>\n"
                     "  <uuid>0a7011c0-0000-4000-8000-00000000a70c</uuid>\n"
                     "  <memory unit='KiB'>1048576</memory>\n  <vcpu>2</vcpu>\n"
                     "  <devices>\n");
    for (int i = 0; i < ndisks; i++)
        n += snprintf(xml + n, cap - (size_t)n,
                      "    <disk type='file' device='disk'>\n"
                      "      <source file='/var/lib/images/%s-%04d.qcow2'/>\n"
                      "      <target dev='vd%c%c' bus='virtio'/>\n    </disk>\n",
                      tag, i, 'a' + i / 26 % 26, 'a' + i % 26);
    snprintf(xml + n, cap - (size_t)n, "  </devices>\n</domain>\n");
    return xml;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    CHECK(buf != NULL);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            CHECK(buf != NULL);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* status = false: virDomainSaveConfig(dir, NULL, def); true: virDomainSaveStatus of an
 * object holding def. */
static int save(bool status, const char *dir, virDomainDef *def, virDomainObj *vm)
{
    if (!status)
        return virDomainSaveConfig(dir, NULL, def);
    vm->def = def;
    return virDomainSaveStatus(NULL, dir, vm, NULL);
}

static void run(bool status, virDomainDef *a, virDomainDef *b)
{
    const char *what = status ? "status" : "config";
    char dir[] = "/var/tmp/vc-atomic-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[4200];
    snprintf(path, sizeof(path), "%s/atomic.xml", dir);

    virDomainObj *vm = NULL;
    if (status) {
        vm = virDomainObjNew(NULL);
        CHECK(vm != NULL);
        virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
        vm->pid = 4242;
    }

    /* the two versions, exactly as one uninterrupted write leaves them */
    size_t la = 0, lb = 0;
    CHECK(save(status, dir, b, vm) == 0);
    char *ref_b = read_all(path, &lb);
    CHECK(save(status, dir, a, vm) == 0);
    char *ref_a = read_all(path, &la);
    CHECK(ref_a && ref_b && la > 20000 && lb > 20000);
    CHECK(la != lb || memcmp(ref_a, ref_b, la) != 0);

    int seen_a = 0, seen_b = 0;
    uint64_t rng = (uint64_t)time(NULL) ^ 0x5bd1e995;
    for (int k = 0; k < KILLS; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            for (;;) {
                if (save(status, dir, b, vm) < 0 || save(status, dir, a, vm) < 0)
                    _exit(2);
            }
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        usleep((useconds_t)(200 + rng % 20000));
        CHECK(kill(pid, SIGKILL) == 0);
        int st = 0;
        CHECK(waitpid(pid, &st, 0) == pid);
        /* killed by us, not failed on its own */
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

        size_t len = 0;
        char *got = read_all(path, &len);
        if (!got)
            fprintf(stderr, "%s: %s missing after kill %d\n", what, path, k);
        CHECK(got != NULL);
        bool is_a = len == la && memcmp(got, ref_a, la) == 0;
        bool is_b = len == lb && memcmp(got, ref_b, lb) == 0;
        if (!is_a && !is_b)
            fprintf(stderr, "%s: torn file after kill %d: %zu bytes (versions: %zu, %zu)\n",
                    what, k, len, la, lb);
        CHECK(is_a || is_b);
        seen_a += is_a;
        seen_b += is_b;
        free(got);
    }

    /* what a killed writer leaves behind is not a config */
    int leftovers = 0, xmls = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' && (n == 1 || strcmp(e->d_name, "..") == 0))
            continue;
        if (n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0)
            xmls++;
        else
            leftovers++;
    }
    closedir(d);
    CHECK(xmls == 1);

    /* the final file parses and loads; leftovers are ignored */
    size_t len = 0;
    char *text = read_all(path, &len);
    CHECK(text != NULL);
    virDomainObjList *list = virDomainObjListNew();
    CHECK(list != NULL);
    CHECK(virDomainObjListLoadAllConfigs(list, dir, dir, status, NULL, NULL, NULL) == 0);
    CHECK(virDomainObjListNumOfDomains(list, status, NULL, NULL) == 1);
    CHECK(virDomainObjListNumOfDomains(list, !status, NULL, NULL) == 0);
    virDomainObj *got = virDomainObjListFindByName(list, "atomic");
    CHECK(got != NULL);
    CHECK(got->def->ndisks == 300 || got->def->ndisks == 301);
    virDomainObjEndAPI(&got);
    virObjectUnref(list);
    if (!status) {
        virDomainDef *def = virDomainDefParseString(text, NULL, NULL, 0);
        CHECK(def != NULL);
        virDomainDefFree(def);
    }

    printf("%s: %d kills: old/new version %d/%d times, never torn; %d temporary files left\n",
           what, KILLS, seen_a, seen_b, leftovers);
    free(text);
    free(ref_a);
    free(ref_b);
    if (vm) {
        vm->def = NULL;
        virDomainObjEndAPI(&vm);
    }
    rm_rf(dir);
}

int main(void)
{
    char *xa = make_xml("A", 300);
    char *xb = make_xml("B", 301);
    virDomainDef *a = virDomainDefParseString(xa, NULL, NULL, VIR_DOMAIN_DEF_PARSE_INACTIVE);
    virDomainDef *b = virDomainDefParseString(xb, NULL, NULL, VIR_DOMAIN_DEF_PARSE_INACTIVE);
    CHECK(a != NULL && b != NULL);
    CHECK(a->ndisks == 300 && b->ndisks == 301);

    run(false, a, b);
    /* a status file holds a running domain's live definition */
    a->id = 7;
    b->id = 7;
    run(true, a, b);

    virDomainDefFree(a);
    virDomainDefFree(b);
    free(xa);
    free(xb);
    TEST_DONE();
}
