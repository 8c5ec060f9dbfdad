/* bench_domain.c: the domain object list benchmark. One source, built twice: against
 * virtcore (bin/bench_domain_vc) and against Debian's libvirt.so.0 9.0.0
 * (bin/bench_domain_lv, -DDOMAIN_USE_LIBVIRT). Only functions are used, never struct
 * fields, so the same code is valid for both layouts.
 *
 *   bench_domain N [ROUNDS]   prints "key value" lines; a key printed once per round
 *
 * Times are ns per operation of the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID):
 * time the thread spent descheduled by other processes on the shared machine is not
 * counted. Each round also prints cpu_share_pct (CPU time / wall time of its lookups): well
 * under 100 means the machine was busy during the round and its figures are suspect.
 * Lookup keys: one sequence drawn from a fixed-seed generator, the same in both builds;
 * round r uses its own slice of it (so no round re-reads what the previous one cached),
 * stored in lookup order so reading the keys costs the same streamed access in both.
 * scripts/bench-domain.sh runs both builds and prints medians, spreads and ratios. This is
 * a program, not a test: it fails only when an operation fails, never on timing. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_domain_compat.h"

#define DIE(...)                                                                     \
    do {                                                                             \
        fprintf(stderr, "bench_domain(%s): ", DOMAIN_IMPL);                          \
        fprintf(stderr, __VA_ARGS__);                                                \
        fprintf(stderr, ": %s\n", virGetLastErrorMessage());                         \
        exit(1);                                                                     \
    } while (0)

#define KEYS_PER_ROUND 32768
#define ROUND_BUDGET_NS 2e8 /* a round of lookups stops early after this much time */
#define NAME_MAX_LEN 24

static double clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}
static double cpu_ns(void) { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
static double wall_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Domain i: name "bench-i", a UUID derived from i, one file disk; even domains are
 * running (id i+1: FindByID looks them up), odd ones defined only (no id), as in a host
 * where half the guests run. */
static void make_uuid(int i, unsigned char uuid[16])
{
    uint64_t a = 0x5eed000000000000ULL ^ (uint64_t)i * 0x9e3779b97f4a7c15ULL;
    uint64_t b = 0xfeedfacecafe0000ULL ^ (uint64_t)i;
    for (int k = 0; k < 8; k++) {
        uuid[k] = (unsigned char)(a >> (8 * k));
        uuid[8 + k] = (unsigned char)(b >> (8 * k));
    }
    uuid[6] = (unsigned char)((uuid[6] & 0x0f) | 0x40);
    uuid[8] = (unsigned char)((uuid[8] & 0x3f) | 0x80);
}

static void format_uuid(const unsigned char u[16], char out[37])
{
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
             u[12], u[13], u[14], u[15]);
}

static char *make_xml_id(int i, int running)
{
    unsigned char uuid[16];
    char uuidstr[37], idattr[24] = "";
    char *xml = NULL;
    make_uuid(i, uuid);
    format_uuid(uuid, uuidstr);
    if (running)
        snprintf(idattr, sizeof(idattr), " id='%d'", i + 1);
    if (asprintf(&xml,
                 "<domain type='test'%s>\n"
                 "  <name>bench-%d</name>\n"
                 "  <uuid>%s</uuid>\n"
                 "  <memory unit='KiB'>131072</memory>\n"
                 "  <vcpu>1</vcpu>\n"
                 "  <os>\n    <type>hvm</type>\n  </os>\n"
                 "  <devices>\n"
                 "    <disk type='file' device='disk'>\n"
                 "      <source file='/var/lib/images/bench-%d.img'/>\n"
                 "      <target dev='vda' bus='virtio'/>\n"
                 "    </disk>\n"
                 "  </devices>\n"
                 "</domain>\n",
                 idattr, i, uuidstr, i) < 0)
        DIE("asprintf");
    return xml;
}

static char *make_xml(int i)
{
    return make_xml_id(i, i % 2 == 0);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        DIE("cannot read /proc/self/statm");
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static virDomainXMLOption *xmlopt;
static virDomainObjList *list;
static int ndoms, rounds;

/* The lookup keys, in lookup order: KEYS_PER_ROUND * rounds of each kind. */
static long nkeys;
static unsigned char (*key_uuid)[16];
static char (*key_name)[NAME_MAX_LEN];
static int *key_id;

static void make_keys(void)
{
    nkeys = (long)KEYS_PER_ROUND * rounds;
    key_uuid = calloc((size_t)nkeys, sizeof(*key_uuid));
    key_name = calloc((size_t)nkeys, sizeof(*key_name));
    key_id = calloc((size_t)nkeys, sizeof(*key_id));
    if (!key_uuid || !key_name || !key_id)
        DIE("out of memory");
    for (long j = 0; j < nkeys; j++) {
        int i = (int)(rng() % (uint64_t)ndoms);
        make_uuid(i, key_uuid[j]);
        snprintf(key_name[j], NAME_MAX_LEN, "bench-%d", i);
        key_id[j] = (i & ~1) + 1; /* a running (even) domain */
    }
}

/* One round of lookups over keys [first, first + KEYS_PER_ROUND), stopping early once
 * ROUND_BUDGET_NS of wall time has passed (libvirt's FindByID scans every domain). The
 * budget is checked on the wall clock (vDSO, no system call); the thread's CPU clock, a
 * system call, is read only at the start and the end. */
#define LOOKUP_ROUND(ns_out, share_out, first, CALL, what)                           \
    do {                                                                             \
        long j_ = (first), end_ = (first) + KEYS_PER_ROUND;                          \
        double c0_ = cpu_ns(), w0_ = wall_ns();                                      \
        for (; j_ < end_;) {                                                         \
            virDomainObj *vm = CALL;                                                 \
            if (!vm)                                                                 \
                DIE("%s (key %ld)", what, j_);                                       \
            virDomainObjEndAPI(&vm);                                                 \
            j_++;                                                                    \
            if ((j_ & 63) == 0 && wall_ns() - w0_ > ROUND_BUDGET_NS)                 \
                break;                                                               \
        }                                                                            \
        double c_ = cpu_ns() - c0_, w_ = wall_ns() - w0_;                            \
        (ns_out) = c_ / (double)(j_ - (first));                                      \
        (share_out) = w_ > 0 ? 100.0 * c_ / w_ : 100.0;                              \
    } while (0)

/* Whole-list operations, with ndoms / 2 running and ndoms / 2 defined only. Each is timed
 * as the CPU time of as many calls as fit in LIST_BUDGET_NS (at least one; batches
 * double, so the clock, a system call, is read rarely), per call. */
#define LIST_BUDGET_NS 2e7
static int nactive;
static int *id_buf;
static char **name_buf, **floor_names;
static volatile long sink;

static void op_count(void)
{
    if (virDomainObjListNumOfDomains(list, true, NULL, NULL) != nactive)
        DIE("NumOfDomains(active) is not %d", nactive);
}
static void op_ids(void)
{
    if (virDomainObjListGetActiveIDs(list, id_buf, ndoms, NULL, NULL) != nactive)
        DIE("GetActiveIDs did not return %d IDs", nactive);
}
static void op_names(void)
{
    int n = virDomainObjListGetInactiveNames(list, name_buf, ndoms, NULL, NULL);
    if (n != ndoms - nactive)
        DIE("GetInactiveNames returned %d of %d", n, ndoms - nactive);
    for (int i = 0; i < n; i++)
        free(name_buf[i]);
}
/* The floor under GetInactiveNames: the same number of names, each malloc'ed, copied and
 * freed by the caller, no library at all. */
static void op_names_floor(void)
{
    int n = ndoms - nactive;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(floor_names[i]) + 1;
        char *p = malloc(len);
        if (!p)
            DIE("out of memory");
        memcpy(p, floor_names[i], len);
        name_buf[i] = p;
    }
    for (int i = 0; i < n; i++)
        free(name_buf[i]);
}
/* The floor under Collect + virObjectListFreeCount: a malloc'ed array of N pointers, one
 * atomic increment of each object's reference count and one decrement, on N blocks laid
 * out like the domains (FLOOR_OBJ_BYTES apart, about the heap one domain takes), no
 * library at all. */
#define FLOOR_OBJ_BYTES 1024
static char *floor_objs;
static void op_collect_floor(void)
{
    void **arr = malloc((size_t)ndoms * sizeof(void *));
    if (!arr)
        DIE("out of memory");
    for (int i = 0; i < ndoms; i++) {
        char *o = floor_objs + (size_t)i * FLOOR_OBJ_BYTES;
        __atomic_fetch_add((int *)(o + 4), 1, __ATOMIC_RELAXED);
        arr[i] = o;
    }
    for (int i = 0; i < ndoms; i++)
        __atomic_fetch_sub((int *)((char *)arr[i] + 4), 1, __ATOMIC_RELEASE);
    free(arr);
}
static void op_collect(void)
{
    virDomainObj **vms = NULL;
    size_t nvms = 0;
    virDomainObjListCollect(list, NULL, &vms, &nvms, NULL, 0);
    if (nvms != (size_t)ndoms)
        DIE("Collect returned %zu of %d", nvms, ndoms);
    virObjectListFreeCount(vms, nvms);
}
static int foreach_cb(virDomainObj *vm, void *opaque)
{
    (void)vm;
    (*(long *)opaque)++;
    return 0;
}
static void op_foreach(void)
{
    long n = 0;
    if (virDomainObjListForEach(list, false, foreach_cb, &n) != 0 || n != ndoms)
        DIE("ForEach visited %ld of %d", n, ndoms);
    sink += n;
}

static double time_op(void (*op)(void))
{
    long batch = 1, total = 0;
    double c0 = cpu_ns(), c;
    for (;;) {
        for (long k = 0; k < batch; k++)
            op();
        total += batch;
        c = cpu_ns() - c0;
        if (c >= LIST_BUDGET_NS)
            break;
        if (batch < (1L << 20))
            batch *= 2;
    }
    return c / (double)total;
}

static void bench_list_ops(void)
{
    if (!id_buf) {
        id_buf = calloc((size_t)ndoms, sizeof(*id_buf));
        name_buf = calloc((size_t)ndoms, sizeof(*name_buf));
        floor_names = calloc((size_t)ndoms, sizeof(*floor_names));
        if (!id_buf || !name_buf || !floor_names)
            DIE("out of memory");
        floor_objs = calloc((size_t)ndoms, FLOOR_OBJ_BYTES);
        if (!floor_objs)
            DIE("out of memory");
        /* Every page touched now (a volatile write: a memset after calloc is optimized
         * out): the first timed round must not pay the page faults (the domains' own
         * memory was touched when they were built). */
        for (size_t k = 0; k < (size_t)ndoms * FLOOR_OBJ_BYTES; k += 4096)
            ((volatile char *)floor_objs)[k] = 0;
        for (int i = 1, k = 0; i < ndoms; i += 2)
            if (asprintf(&floor_names[k++], "bench-%d", i) < 0)
                DIE("asprintf");
    }
    printf("count_active_ns %.1f\n", time_op(op_count));
    printf("active_ids_ns %.1f\n", time_op(op_ids));
    printf("inactive_names_ns %.1f\n", time_op(op_names));
    printf("inactive_names_floor_ns %.1f\n", time_op(op_names_floor));
    printf("collect_ns %.1f\n", time_op(op_collect));
    printf("collect_floor_ns %.1f\n", time_op(op_collect_floor));
    printf("foreach_ns %.1f\n", time_op(op_foreach));
}

/* LoadAllConfigs of ndoms config files, then of ndoms status files (liveStatus), each
 * into a new list; wall time per domain (the load does file system calls, and may use
 * more than the calling thread). Both builds read the same files. */
static void write_file(const char *path, const char *a, const char *b, const char *c)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(a, f) < 0 || fputs(b, f) < 0 || fputs(c, f) < 0 || fclose(f) != 0)
        DIE("cannot write %s", path);
}

static double load_dir(const char *dir, const char *autodir, bool live, int want)
{
    virDomainObjList *l2 = virDomainObjListNew();
    if (!l2)
        DIE("virDomainObjListNew");
    double w0 = wall_ns();
    if (virDomainObjListLoadAllConfigs(l2, dir, autodir, live, xmlopt, NULL, NULL) < 0)
        DIE("LoadAllConfigs %s", dir);
    double w = wall_ns() - w0;
    int got = virDomainObjListNumOfDomains(l2, live, NULL, NULL);
    if (got != want)
        DIE("LoadAllConfigs(%s) loaded %d of %d", dir, got, want);
    virObjectUnref(l2);
    return w / want;
}

static void bench_load(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char top[512], cfg[600], st[600], aut[600], path[700];
    snprintf(top, sizeof(top), "%s/bench-load-XXXXXX", base);
    if (!mkdtemp(top))
        DIE("mkdtemp %s", top);
    snprintf(cfg, sizeof(cfg), "%s/config", top);
    snprintf(st, sizeof(st), "%s/status", top);
    snprintf(aut, sizeof(aut), "%s/autostart", top);
    if (mkdir(cfg, 0700) || mkdir(st, 0700) || mkdir(aut, 0700))
        DIE("mkdir in %s", top);
    for (int i = 0; i < ndoms; i++) {
        char *inactive = make_xml_id(i, 0), *live = make_xml_id(i, 1), head[96];
        snprintf(path, sizeof(path), "%s/bench-%d.xml", cfg, i);
        write_file(path, inactive, "", "");
        snprintf(head, sizeof(head), "<domstatus state='running' reason='booted' pid='%d'>\n",
                 1000 + i);
        snprintf(path, sizeof(path), "%s/bench-%d.xml", st, i);
        write_file(path, head, live, "</domstatus>\n");
        free(inactive);
        free(live);
    }
    printf("load_configs_ns %.1f\n", load_dir(cfg, aut, false, ndoms));
    printf("load_status_ns %.1f\n", load_dir(st, NULL, true, ndoms));
    for (int i = 0; i < ndoms; i++) {
        snprintf(path, sizeof(path), "%s/bench-%d.xml", cfg, i);
        unlink(path);
        snprintf(path, sizeof(path), "%s/bench-%d.xml", st, i);
        unlink(path);
    }
    rmdir(cfg);
    rmdir(st);
    rmdir(aut);
    rmdir(top);
}

static void bench_lookups(void)
{
    for (int r = 0; r < rounds; r++) {
        long first = (long)r * KEYS_PER_ROUND;
        double ns, share, s2, s3;
        LOOKUP_ROUND(ns, share, first, virDomainObjListFindByUUID(list, key_uuid[j_]),
                     "FindByUUID");
        printf("find_uuid_ns %.1f\n", ns);
        LOOKUP_ROUND(ns, s2, first, virDomainObjListFindByName(list, key_name[j_]),
                     "FindByName");
        printf("find_name_ns %.1f\n", ns);
        LOOKUP_ROUND(ns, s3, first, virDomainObjListFindByID(list, key_id[j_]), "FindByID");
        printf("find_id_ns %.1f\n", ns);
        double worst = share < s2 ? share : s2;
        printf("cpu_share_pct %.0f\n", worst < s3 ? worst : s3);
        /* BENCH_NO_LISTS=1: lookup rounds back to back, so that an A/B run of two
         * libraries compares lookups alone (no listing between rounds, whose effect on the
         * caches differs from one library to the other). */
        if (!getenv("BENCH_NO_LISTS"))
            bench_list_ops();
    }
}

/* Readers doing FindByUUID (each from its own offset in the key sequence), with or
 * without a writer adding and removing other domains. Wall time: this measures how
 * readers share the list, so waiting for each other must count. */
static volatile int stop_threads;
/* One cache line each, counted in a local: the readers' own bookkeeping must not make
 * them share a line (that would be the benchmark serializing them, not the list). */
struct reader_arg {
    long first, ops;
} __attribute__((aligned(64)));

static void *reader(void *arg)
{
    struct reader_arg *r = arg;
    long j = r->first, ops = 0;
    while (!stop_threads) {
        virDomainObj *vm = virDomainObjListFindByUUID(list, key_uuid[j]);
        if (!vm)
            DIE("concurrent FindByUUID (key %ld)", j);
        virDomainObjEndAPI(&vm);
        ops++;
        if (++j == nkeys)
            j = 0;
    }
    r->ops = ops;
    return NULL;
}

static void *writer(void *arg)
{
    long *ops = arg;
    int k = 0;
    while (!stop_threads) {
        int i = ndoms + (k++ % 1000);
        char *xml = make_xml(i);
        virDomainDef *def = virDomainDefParseString(xml, xmlopt, NULL, 0);
        free(xml);
        if (!def)
            DIE("concurrent parse %d", i);
        virDomainObj *vm = virDomainObjListAdd(list, &def, xmlopt, 0, NULL);
        if (!vm)
            DIE("concurrent add %d", i);
        virDomainObjListRemove(list, vm);
        virDomainObjEndAPI(&vm);
        (*ops)++;
    }
    return NULL;
}

static void bench_threads(void)
{
    static const int counts[] = {1, 2, 4};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        for (int w = 0; w <= 1; w++) {
            int n = counts[c];
            pthread_t rt[4], wt;
            struct reader_arg ra[4];
            long wops = 0;
            stop_threads = 0;
            for (int k = 0; k < n; k++) {
                ra[k] = (struct reader_arg){nkeys / n * k, 0};
                pthread_create(&rt[k], NULL, reader, &ra[k]);
            }
            if (w)
                pthread_create(&wt, NULL, writer, &wops);
            double t0 = wall_ns();
            usleep(300 * 1000);
            stop_threads = 1;
            long ops = 0;
            for (int k = 0; k < n; k++) {
                pthread_join(rt[k], NULL);
                ops += ra[k].ops;
            }
            if (w)
                pthread_join(wt, NULL);
            double el = wall_ns() - t0;
            /* lookups per microsecond, all readers together */
            printf("threads_%d%s_mops %.3f\n", n, w ? "_writer" : "", ops * 1e3 / el);
            if (w)
                printf("threads_%d_writer_cycles_per_s %.0f\n", n, wops * 1e9 / el);
        }
    }
}

int main(int argc, char **argv)
{
    ndoms = argc > 1 ? atoi(argv[1]) : 10000;
    rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (ndoms < 1 || rounds < 1)
        DIE("usage: bench_domain N [ROUNDS]");
    domain_impl_init();

    char **xmls = calloc((size_t)ndoms, sizeof(*xmls));
    virDomainDef **defs = calloc((size_t)ndoms, sizeof(*defs));
    unsigned char(*uuids)[16] = calloc((size_t)ndoms, sizeof(*uuids));
    if (!xmls || !defs || !uuids)
        DIE("out of memory");
    for (int i = 0; i < ndoms; i++) {
        xmls[i] = make_xml(i);
        make_uuid(i, uuids[i]);
    }
    make_keys();

    if (!(xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL)))
        DIE("virDomainXMLOptionNew");
    if (!(list = virDomainObjListNew()))
        DIE("virDomainObjListNew");

    malloc_trim(0);
    long rss0 = rss_kib();
    size_t heap0 = heap_bytes();

    double t0 = cpu_ns();
    for (int i = 0; i < ndoms; i++) {
        if (!(defs[i] = virDomainDefParseString(xmls[i], xmlopt, NULL, 0)))
            DIE("parse domain %d", i);
    }
    double parse_ns = (cpu_ns() - t0) / ndoms;

    t0 = cpu_ns();
    for (int i = 0; i < ndoms; i++) {
        virDomainObj *vm = virDomainObjListAdd(list, &defs[i], xmlopt, 0, NULL);
        if (!vm)
            DIE("add domain %d", i);
        virDomainObjEndAPI(&vm);
    }
    double add_ns = (cpu_ns() - t0) / ndoms;

    long rss1 = rss_kib();
    size_t heap1 = heap_bytes();

    /* Format: definitions parsed again (after the memory figures), at most 10k of them. */
    int nfmt = ndoms < 10000 ? ndoms : 10000;
    double fmt_ns = 0;
    for (int i = 0; i < nfmt; i++) {
        virDomainDef *def = virDomainDefParseString(xmls[i], xmlopt, NULL, 0);
        if (!def)
            DIE("parse domain %d for format", i);
        double f0 = cpu_ns();
        char *out = virDomainDefFormat(def, xmlopt, 0);
        fmt_ns += cpu_ns() - f0;
        if (!out)
            DIE("format domain %d", i);
        free(out);
        virDomainDefFree(def);
    }

    printf("impl %s\n", DOMAIN_IMPL);
    printf("domains %d\n", ndoms);
    printf("parse_ns %.1f\n", parse_ns);
    printf("format_ns %.1f\n", fmt_ns / nfmt);
    printf("add_ns %.1f\n", add_ns);
    printf("mem_rss_bytes_per_domain %.0f\n", (double)(rss1 - rss0) * 1024.0 / ndoms);
    printf("mem_heap_bytes_per_domain %.0f\n", ((double)heap1 - (double)heap0) / ndoms);
    nactive = (ndoms + 1) / 2;
    if (virDomainObjListNumOfDomains(list, true, NULL, NULL) != nactive)
        DIE("NumOfDomains is not %d", nactive);
    fflush(stdout);

    bench_lookups();
    fflush(stdout);
    bench_threads();
    fflush(stdout);
    if (!getenv("BENCH_NO_LOAD"))
        bench_load();
    fflush(stdout);

    t0 = cpu_ns();
    for (int i = 0; i < ndoms; i++) {
        virDomainObj *vm = virDomainObjListFindByUUID(list, uuids[i]);
        if (!vm)
            DIE("find for remove %d", i);
        virDomainObjListRemove(list, vm);
        virDomainObjEndAPI(&vm);
    }
    printf("find_remove_ns %.1f\n", (cpu_ns() - t0) / ndoms);
    if (virDomainObjListNumOfDomains(list, true, NULL, NULL) != 0 ||
        virDomainObjListNumOfDomains(list, false, NULL, NULL) != 0)
        DIE("list not empty after removing every domain");

    virObjectUnref(list);
    virObjectUnref(xmlopt);
    for (int i = 0; i < ndoms; i++)
        free(xmls[i]);
    free(xmls);
    free(defs);
    free(uuids);
    free(key_uuid);
    free(key_name);
    free(key_id);
    return 0;
}
