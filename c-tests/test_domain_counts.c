/* test_domain_counts.c: the O(1) counts and the listings read from the dense table stay
 * exactly what a locked scan sees, while other threads start, stop, add and remove.
 *
 * STARTERS threads start and stop FIXED domains the way C drivers do: find, write
 * `def->id` directly (or replace `vm->def` with a definition that has another ID), set
 * the state, flip `persistent`/`autostart`, unlock. One churn thread adds and removes
 * other domains (half of them added running). Meanwhile:
 * - a lister checks that every FIXED domain is in each Collect(0) exactly once (a domain
 *   started or stopped meanwhile appears in one state or the other, never twice or not at
 *   all), that no object appears twice, and that Collect(ACTIVE) and Collect(INACTIVE)
 *   never share an object;
 * - a freezer, ROUNDS times, stops the world: ForEach(modify=true) holds the list's write
 *   lock (no add or remove), and its callback locks every domain and keeps it locked (no
 *   start or stop). With everything frozen, the scan of def->id under the locks must equal
 *   NumOfDomains(active and inactive), GetActiveIDs (same IDs), GetInactiveNames (same
 *   count) and Collect with the ACTIVE, INACTIVE, PERSISTENT, AUTOSTART and RUNNING filters.
 * Afterwards, with every thread gone, the same comparisons once more.
 * COUNTS_SECONDS (default 3) bounds the run. Timings are never asserted. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define FIXED 400
#define STARTERS 3
#define CHURN 200
#define MAXDOMS (FIXED + CHURN + 8)

static virDomainObjList *list;
static virDomainXMLOption *xmlopt;
static atomic_int stop;
static atomic_long starts, freezes, listings;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void make_uuid(int i, unsigned char u[16])
{
    memset(u, 0, 16);
    u[0] = 0xc0;
    u[1] = 0x47;
    u[6] = 0x40;
    u[8] = 0x80;
    u[14] = (unsigned char)(i >> 8);
    u[15] = (unsigned char)i;
}

static virDomainDef *make_def(int i, int id)
{
    unsigned char u[16];
    char xml[512], uuid[40];
    make_uuid(i, u);
    snprintf(uuid, sizeof(uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    char idattr[32] = "";
    if (id >= 0)
        snprintf(idattr, sizeof(idattr), " id='%d'", id);
    snprintf(xml, sizeof(xml),
             "<domain type='kvm'%s><name>cnt-%d</name><uuid>%s</uuid>"
             "<memory>1024</memory></domain>",
             idattr, i, uuid);
    virDomainDef *def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    CHECK(def != NULL);
    return def;
}

static virDomainObj *add(int i, int id)
{
    virDomainDef *def = make_def(i, id);
    virDomainObj *vm = virDomainObjListAdd(list, &def, xmlopt, 0, NULL);
    CHECK(vm != NULL);
    return vm; /* locked */
}

static void *starter(void *arg)
{
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uintptr_t)arg + 1;
    while (!atomic_load(&stop)) {
        int i = (int)(next_rand(&rng) % FIXED);
        unsigned char u[16];
        make_uuid(i, u);
        virDomainObj *vm = virDomainObjListFindByUUID(list, u);
        CHECK(vm != NULL);
        uint64_t r = next_rand(&rng);
        if (vm->def->id == -1) {
            if (r & 1) {
                vm->def->id = 1000 + i;
            } else {
                /* a new live definition with an ID, as a driver's start does */
                virDomainDef *live = make_def(i, 5000 + i);
                virDomainDefFree(vm->def);
                vm->def = live;
            }
            virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
        } else {
            vm->def->id = -1;
            virDomainObjSetState(vm, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
        }
        vm->persistent = (r >> 1) & 1;
        vm->autostart = (r >> 2) & 1;
        virDomainObjEndAPI(&vm);
        atomic_fetch_add(&starts, 1);
    }
    return NULL;
}

static void *churn(void *arg)
{
    (void)arg;
    int k = 0;
    while (!atomic_load(&stop)) {
        int i = FIXED + (k % CHURN);
        virDomainObj *vm = add(i, k % 2 ? 7000 + i : -1);
        if (k % 2)
            virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
        virDomainObjEndAPI(&vm);
        if (k % 3 == 0) {
            unsigned char u[16];
            make_uuid(FIXED + ((k / 3) % CHURN), u);
            vm = virDomainObjListFindByUUID(list, u);
            if (vm) {
                virDomainObjListRemove(list, vm);
                virDomainObjEndAPI(&vm);
            }
        }
        k++;
    }
    return NULL;
}

static int fixed_index(virDomainObj *vm)
{
    const unsigned char *u = vm->def->uuid;
    if (u[0] != 0xc0 || u[1] != 0x47)
        return -1;
    int i = u[14] << 8 | u[15];
    return i < FIXED ? i : -1;
}

static void *lister(void *arg)
{
    (void)arg;
    static int seen[FIXED];
    while (!atomic_load(&stop)) {
        virDomainObj **all = NULL, **act = NULL, **ina = NULL;
        size_t n = 0, na = 0, ni = 0;
        virDomainObjListCollect(list, NULL, &all, &n, NULL, 0);
        memset(seen, 0, sizeof(seen));
        for (size_t j = 0; j < n; j++) {
            virObjectLock(all[j]);
            int i = fixed_index(all[j]);
            virObjectUnlock(all[j]);
            if (i >= 0)
                seen[i]++;
        }
        for (int i = 0; i < FIXED; i++)
            CHECK(seen[i] == 1);
        virObjectListFreeCount(all, n);
        virDomainObjListCollect(list, NULL, &act, &na, NULL, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
        virDomainObjListCollect(list, NULL, &ina, &ni, NULL,
                                VIR_CONNECT_LIST_DOMAINS_INACTIVE);
        for (size_t a = 0; a < na; a++)
            for (size_t b = a + 1; b < na; b++)
                CHECK(act[a] != act[b]);
        virObjectListFreeCount(act, na);
        virObjectListFreeCount(ina, ni);
        atomic_fetch_add(&listings, 1);
    }
    return NULL;
}

/* The frozen world: every listed domain, locked by the freezer. */
static virDomainObj *held[MAXDOMS];
static int nheld;

static int hold(virDomainObj *vm, void *opaque)
{
    (void)opaque;
    CHECK(nheld < MAXDOMS);
    virObjectLock(vm);
    held[nheld++] = vm;
    return 0;
}

static size_t collect_count(unsigned int flags)
{
    virDomainObj **vms = NULL;
    size_t n = 0;
    virDomainObjListCollect(list, NULL, &vms, &n, NULL, flags);
    virObjectListFreeCount(vms, n);
    return n;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Compares every answer with the scan of the held (locked) domains. */
static void compare_with_scan(void)
{
    int active = 0, inactive = 0, persistent = 0, autostart = 0, running = 0;
    int listed = 0, listed_active = 0; /* Collect leaves out domains being removed */
    static int ids[MAXDOMS], got[MAXDOMS];
    static char *names[MAXDOMS];
    for (int k = 0; k < nheld; k++) {
        virDomainObj *vm = held[k];
        bool on = vm->def->id != -1;
        if (on)
            ids[active++] = vm->def->id;
        else
            inactive++;
        if (vm->removing)
            continue;
        listed++;
        listed_active += on;
        persistent += vm->persistent;
        autostart += vm->autostart;
        running += virDomainObjGetState(vm, NULL) == VIR_DOMAIN_RUNNING;
    }
    CHECK(virDomainObjListNumOfDomains(list, true, NULL, NULL) == active);
    CHECK(virDomainObjListNumOfDomains(list, false, NULL, NULL) == inactive);
    CHECK(virDomainObjListGetActiveIDs(list, got, MAXDOMS, NULL, NULL) == active);
    qsort(ids, (size_t)active, sizeof(int), cmp_int);
    qsort(got, (size_t)active, sizeof(int), cmp_int);
    CHECK(memcmp(ids, got, (size_t)active * sizeof(int)) == 0);
    int nn = virDomainObjListGetInactiveNames(list, names, MAXDOMS, NULL, NULL);
    CHECK(nn == inactive);
    for (int k = 0; k < nn; k++)
        free(names[k]);
    CHECK(collect_count(0) == (size_t)listed);
    CHECK(collect_count(VIR_CONNECT_LIST_DOMAINS_ACTIVE) == (size_t)listed_active);
    CHECK(collect_count(VIR_CONNECT_LIST_DOMAINS_INACTIVE) == (size_t)(listed - listed_active));
    CHECK(collect_count(VIR_CONNECT_LIST_DOMAINS_PERSISTENT) == (size_t)persistent);
    CHECK(collect_count(VIR_CONNECT_LIST_DOMAINS_AUTOSTART) == (size_t)autostart);
    CHECK(collect_count(VIR_CONNECT_LIST_DOMAINS_RUNNING) == (size_t)running);
}

static int freeze_and_compare(virDomainObj *first, void *opaque)
{
    (void)opaque;
    /* Called for the first domain only: the rest of this ForEach's walk is ours. */
    if (nheld)
        return 0;
    CHECK(first != NULL);
    virDomainObjListForEach(list, true, hold, NULL); /* re-entrant: we hold the write lock */
    compare_with_scan();
    for (int k = 0; k < nheld; k++)
        virObjectUnlock(held[k]);
    return 0;
}

int main(void)
{
    const char *env = getenv("COUNTS_SECONDS");
    int seconds = env ? atoi(env) : 3;
    CHECK((xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL)) != NULL);
    CHECK((list = virDomainObjListNew()) != NULL);
    for (int i = 0; i < FIXED; i++) {
        virDomainObj *vm = add(i, i % 2 ? 1000 + i : -1);
        virDomainObjEndAPI(&vm);
    }
    CHECK(virDomainObjListNumOfDomains(list, true, NULL, NULL) == FIXED / 2);

    pthread_t st[STARTERS], ch, ls;
    for (uintptr_t k = 0; k < STARTERS; k++)
        CHECK(pthread_create(&st[k], NULL, starter, (void *)k) == 0);
    CHECK(pthread_create(&ch, NULL, churn, NULL) == 0);
    CHECK(pthread_create(&ls, NULL, lister, NULL) == 0);

    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        nheld = 0;
        CHECK(virDomainObjListForEach(list, true, freeze_and_compare, NULL) == 0);
        atomic_fetch_add(&freezes, 1);
        usleep(2000);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < seconds);

    atomic_store(&stop, 1);
    for (int k = 0; k < STARTERS; k++)
        pthread_join(st[k], NULL);
    pthread_join(ch, NULL);
    pthread_join(ls, NULL);

    nheld = 0;
    CHECK(virDomainObjListForEach(list, true, freeze_and_compare, NULL) == 0);
    CHECK(atomic_load(&starts) > 0 && atomic_load(&listings) > 0);
    printf("starts/stops %ld, frozen comparisons %ld, listings %ld\n", atomic_load(&starts),
           atomic_load(&freezes), atomic_load(&listings));
    virObjectUnref(list);
    virObjectUnref(xmlopt);
    TEST_DONE();
}
