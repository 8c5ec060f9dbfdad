/* bench_domain.c: the domain object list benchmark. One source, built twice: against
 * virtcore (bin/bench_domain_vc) and against Debian's libvirt.so.0 9.0.0
 * (bin/bench_domain_lv, -DDOMAIN_USE_LIBVIRT). Only functions are used, never struct
 * fields, so the same code is valid for both layouts.
 *
 *   bench_domain N        prints "key value" lines (times in ns per operation)
 *
 * scripts/bench-domain.sh runs both builds at several N and prints the ratios. This is a
 * program, not a test: it fails only when an operation fails, never on timing. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Domain i: name "bench-i", a UUID derived from i, id i+1 (so every domain is active
 * and FindByID has something to find), one file disk. */
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

static char *make_xml(int i)
{
    unsigned char uuid[16];
    char uuidstr[37];
    char *xml = NULL;
    make_uuid(i, uuid);
    format_uuid(uuid, uuidstr);
    if (asprintf(&xml,
                 "<domain type='test' id='%d'>\n"
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
                 i + 1, i, uuidstr, i) < 0)
        DIE("asprintf");
    return xml;
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
static int ndoms;
static char **names;
static unsigned char (*uuids)[16];

/* Repeats `body` (one operation) until at least min_iter runs and budget_ns elapsed. */
#define TIMED(result_ns, min_iter, budget_ns, body)                                  \
    do {                                                                             \
        long iters_ = 0;                                                             \
        double t0_ = now_ns(), el_;                                                  \
        do {                                                                         \
            for (int rep_ = 0; rep_ < 64; rep_++) {                                  \
                body;                                                                \
                iters_++;                                                            \
                if (iters_ >= (min_iter) && now_ns() - t0_ >= (budget_ns))           \
                    break;                                                           \
            }                                                                        \
            el_ = now_ns() - t0_;                                                    \
        } while (iters_ < (min_iter) || el_ < (budget_ns));                          \
        (result_ns) = el_ / (double)iters_;                                          \
    } while (0)

static void bench_find(void)
{
    double ns;
    TIMED(ns, 1000, 3e8, {
        int i = (int)(rng() % (uint64_t)ndoms);
        virDomainObj *vm = virDomainObjListFindByUUID(list, uuids[i]);
        if (!vm)
            DIE("FindByUUID(%d)", i);
        virDomainObjEndAPI(&vm);
    });
    printf("find_uuid_ns %.1f\n", ns);

    TIMED(ns, 1000, 3e8, {
        int i = (int)(rng() % (uint64_t)ndoms);
        virDomainObj *vm = virDomainObjListFindByName(list, names[i]);
        if (!vm)
            DIE("FindByName(%s)", names[i]);
        virDomainObjEndAPI(&vm);
    });
    printf("find_name_ns %.1f\n", ns);

    /* libvirt scans the whole list for an ID: few iterations, bounded by time. */
    TIMED(ns, 20, 5e8, {
        int i = (int)(rng() % (uint64_t)ndoms);
        virDomainObj *vm = virDomainObjListFindByID(list, i + 1);
        if (!vm)
            DIE("FindByID(%d)", i + 1);
        virDomainObjEndAPI(&vm);
    });
    printf("find_id_ns %.1f\n", ns);

    TIMED(ns, 5, 5e8, {
        virDomainObj **vms = NULL;
        size_t nvms = 0;
        virDomainObjListCollect(list, NULL, &vms, &nvms, NULL, 0);
        if (nvms != (size_t)ndoms)
            DIE("Collect returned %zu of %d", nvms, ndoms);
        virObjectListFreeCount(vms, nvms);
    });
    printf("collect_ns %.1f\n", ns);
    printf("collect_per_domain_ns %.2f\n", ns / ndoms);
}

/* Lookups on two threads while a third adds and removes domains (not the ones looked
 * up). Reports the lookup rate seen by the readers and the writer's rate. */
static volatile int stop_threads;
struct reader_result {
    long ops;
};

static void *reader(void *arg)
{
    struct reader_result *r = arg;
    uint64_t s = (uint64_t)(uintptr_t)arg | 1;
    while (!stop_threads) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        int i = (int)(s % (uint64_t)ndoms);
        virDomainObj *vm = virDomainObjListFindByUUID(list, uuids[i]);
        if (!vm)
            DIE("concurrent FindByUUID(%d)", i);
        virDomainObjEndAPI(&vm);
        r->ops++;
    }
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

static void bench_concurrent(void)
{
    pthread_t rt[2], wt;
    struct reader_result rr[2] = {{0}, {0}};
    long wops = 0;
    stop_threads = 0;
    double t0 = now_ns();
    for (int k = 0; k < 2; k++)
        pthread_create(&rt[k], NULL, reader, &rr[k]);
    pthread_create(&wt, NULL, writer, &wops);
    usleep(1000 * 1000);
    stop_threads = 1;
    for (int k = 0; k < 2; k++)
        pthread_join(rt[k], NULL);
    pthread_join(wt, NULL);
    double el = now_ns() - t0;
    printf("concurrent_lookup_ns %.1f\n", el / (double)(rr[0].ops + rr[1].ops));
    printf("concurrent_addremove_ns %.1f\n", el / (double)(wops ? wops : 1));
}

int main(int argc, char **argv)
{
    ndoms = argc > 1 ? atoi(argv[1]) : 10000;
    if (ndoms < 1)
        DIE("bad domain count '%s'", argv[1]);
    domain_impl_init();

    char **xmls = calloc((size_t)ndoms, sizeof(*xmls));
    virDomainDef **defs = calloc((size_t)ndoms, sizeof(*defs));
    names = calloc((size_t)ndoms, sizeof(*names));
    uuids = calloc((size_t)ndoms, sizeof(*uuids));
    if (!xmls || !defs || !names || !uuids)
        DIE("out of memory");
    for (int i = 0; i < ndoms; i++) {
        xmls[i] = make_xml(i);
        if (asprintf(&names[i], "bench-%d", i) < 0)
            DIE("asprintf");
        make_uuid(i, uuids[i]);
    }

    if (!(xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL)))
        DIE("virDomainXMLOptionNew");
    if (!(list = virDomainObjListNew()))
        DIE("virDomainObjListNew");

    malloc_trim(0);
    long rss0 = rss_kib();
    size_t heap0 = heap_bytes();

    double t0 = now_ns();
    for (int i = 0; i < ndoms; i++) {
        if (!(defs[i] = virDomainDefParseString(xmls[i], xmlopt, NULL, 0)))
            DIE("parse domain %d", i);
    }
    double parse_ns = (now_ns() - t0) / ndoms;

    t0 = now_ns();
    for (int i = 0; i < ndoms; i++) {
        virDomainObj *vm = virDomainObjListAdd(list, &defs[i], xmlopt, 0, NULL);
        if (!vm)
            DIE("add domain %d", i);
        virDomainObjEndAPI(&vm);
    }
    double add_ns = (now_ns() - t0) / ndoms;

    long rss1 = rss_kib();
    size_t heap1 = heap_bytes();

    printf("impl %s\n", DOMAIN_IMPL);
    printf("domains %d\n", ndoms);
    printf("parse_ns %.1f\n", parse_ns);
    printf("add_ns %.1f\n", add_ns);
    printf("parse_add_ns %.1f\n", parse_ns + add_ns);
    printf("mem_rss_bytes_per_domain %.0f\n", (double)(rss1 - rss0) * 1024.0 / ndoms);
    printf("mem_heap_bytes_per_domain %.0f\n", ((double)heap1 - (double)heap0) / ndoms);
    if (virDomainObjListNumOfDomains(list, true, NULL, NULL) != ndoms)
        DIE("NumOfDomains is not %d", ndoms);
    fflush(stdout);

    bench_find();
    fflush(stdout);
    bench_concurrent();
    fflush(stdout);

    t0 = now_ns();
    for (int i = 0; i < ndoms; i++) {
        virDomainObj *vm = virDomainObjListFindByUUID(list, uuids[i]);
        if (!vm)
            DIE("find for remove %d", i);
        virDomainObjListRemove(list, vm);
        virDomainObjEndAPI(&vm);
    }
    printf("find_remove_ns %.1f\n", (now_ns() - t0) / ndoms);
    if (virDomainObjListNumOfDomains(list, true, NULL, NULL) != 0 ||
        virDomainObjListNumOfDomains(list, false, NULL, NULL) != 0)
        DIE("list not empty after removing every domain");

    virObjectUnref(list);
    virObjectUnref(xmlopt);
    for (int i = 0; i < ndoms; i++) {
        free(xmls[i]);
        free(names[i]);
    }
    free(xmls);
    free(defs);
    free(names);
    free(uuids);
    return 0;
}
