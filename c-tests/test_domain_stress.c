/* test_domain_stress.c: the domain object list under concurrent use.
 *
 * Four worker threads (STRESS_WORKERS) each own a range of slots of STRESS_DOMAINS domains
 * and, for STRESS_SECONDS, add, find (by UUID, name and ID), remove, rename and set the
 * state of them; changing the state also starts or stops the domain by writing
 * `def->id` directly or by replacing `vm->def`, as C drivers do. Each worker also looks up random domains of the
 * other workers and checks that whatever comes back is what was asked for. A fifth thread
 * runs Collect (with filters), ForEach (read and modify), NumOfDomains, GetActiveIDs and
 * GetInactiveNames the whole time.
 *
 * Afterwards the exact model each worker kept is checked against the list: every
 * existing domain is found by UUID, name and ID as the same object, removed ones are
 * not found, every count agrees, and every object is freed (counted by its
 * privateDataFreeFunc): the removed ones once nobody holds them, the rest when the list
 * goes. The bounded run is short enough for valgrind (test_domain_valgrind runs it with
 * STRESS_SECONDS=1 STRESS_DOMAINS=400). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* CHECK from several threads: exit(1) from any thread ends the test as failed. */

struct slot {
    unsigned char uuid[16];
    char name[64];
    int gen;
    bool exists;
    bool active;
    virDomainObj *vm; /* valid while exists: the list holds a reference */
};

struct worker {
    pthread_t thread;
    int index;
    int first, count;
    uint64_t rng;
    long ops[8];
};

enum { OP_ADD, OP_FIND, OP_REMOVE, OP_RENAME, OP_STATE, OP_FOREIGN, OP_MAX };

static struct slot *slots;
static int ndomains, nworkers;
static virDomainObjList *list;
static atomic_int stop;
static atomic_long added, removed_count, freed;
static atomic_long collects, foreachs;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void free_priv(void *p)
{
    atomic_fetch_add(&freed, 1);
    free(p);
}

static int id_of(int slot)
{
    return slot + 1;
}

static void make_uuid(int slot, unsigned char u[16])
{
    memset(u, 0, 16);
    u[0] = 0x57;
    u[1] = 0x7e;
    u[6] = 0x40;
    u[8] = 0x80;
    u[12] = (unsigned char)(slot >> 24);
    u[13] = (unsigned char)(slot >> 16);
    u[14] = (unsigned char)(slot >> 8);
    u[15] = (unsigned char)slot;
}

/* A definition of slot s under its current name, running (id) or not. */
static virDomainDef *slot_def(int s, bool active)
{
    struct slot *sl = &slots[s];
    char xml[1024], uuidstr[37];
    const unsigned char *u = sl->uuid;
    snprintf(uuidstr, sizeof(uuidstr),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
    snprintf(xml, sizeof(xml),
             "<domain type='kvm' id='%d'><name>%s</name><uuid>%s</uuid>"
             "<memory unit='KiB'>65536</memory><devices><disk type='file' device='disk'>"
             "<source file='/images/%s.img'/><target dev='vda' bus='virtio'/></disk>"
             "</devices></domain>",
             id_of(s), sl->name, uuidstr, sl->name);
    virDomainDef *def =
        virDomainDefParseString(xml, NULL, NULL, active ? 0 : VIR_DOMAIN_DEF_PARSE_INACTIVE);
    CHECK(def != NULL);
    CHECK(def->id == (active ? id_of(s) : -1));
    return def;
}

static virDomainObj *add_slot(struct worker *w, int s, bool active)
{
    virDomainDef *def = slot_def(s, active);
    virDomainObj *vm = virDomainObjListAdd(list, &def, NULL, 0, NULL);
    CHECK(vm != NULL);
    CHECK(def == NULL);
    int *priv = malloc(sizeof(int));
    CHECK(priv != NULL);
    *priv = s;
    vm->privateData = priv;
    vm->privateDataFreeFunc = free_priv;
    atomic_fetch_add(&added, 1);
    return vm;
}

static int rename_cb(virDomainObj *vm, const char *new_name, unsigned int flags, void *opaque)
{
    char *copy = strdup(new_name);
    if (!copy)
        return -1;
    free(vm->def->name);
    vm->def->name = copy;
    return 0;
}

static void worker_step(struct worker *w)
{
    int s = w->first + (int)(next_rand(&w->rng) % (uint64_t)w->count);
    struct slot *sl = &slots[s];
    int op = (int)(next_rand(&w->rng) % 100);
    virDomainObj *vm;

    if (!sl->exists) {
        bool active = next_rand(&w->rng) % 2;
        vm = add_slot(w, s, active);
        sl->vm = vm;
        sl->exists = true;
        sl->active = active;
        virDomainObjEndAPI(&vm);
        w->ops[OP_ADD]++;
        return;
    }

    if (op < 30) {
        vm = virDomainObjListFindByUUID(list, sl->uuid);
        CHECK(vm == sl->vm);
        CHECK(memcmp(vm->def->uuid, sl->uuid, 16) == 0);
        virDomainObjEndAPI(&vm);
        vm = virDomainObjListFindByName(list, sl->name);
        CHECK(vm == sl->vm);
        CHECK(strcmp(vm->def->name, sl->name) == 0);
        virDomainObjEndAPI(&vm);
        vm = virDomainObjListFindByID(list, id_of(s));
        if (sl->active) {
            CHECK(vm == sl->vm);
            CHECK(vm->def->id == id_of(s));
            virDomainObjEndAPI(&vm);
        } else {
            CHECK(vm == NULL);
        }
        w->ops[OP_FIND]++;
    } else if (op < 45) {
        vm = virDomainObjListFindByUUID(list, sl->uuid);
        CHECK(vm == sl->vm);
        virDomainObjListRemove(list, vm);
        CHECK(vm->removing);
        virDomainObjEndAPI(&vm);
        sl->exists = false;
        sl->vm = NULL;
        atomic_fetch_add(&removed_count, 1);
        /* gone from every index at once */
        CHECK(virDomainObjListFindByUUID(list, sl->uuid) == NULL);
        CHECK(virDomainObjListFindByName(list, sl->name) == NULL);
        CHECK(virDomainObjListFindByID(list, id_of(s)) == NULL);
        w->ops[OP_REMOVE]++;
    } else if (op < 60) {
        char newname[64];
        snprintf(newname, sizeof(newname), "stress-%d-g%d", s, sl->gen + 1);
        vm = virDomainObjListFindByUUID(list, sl->uuid);
        CHECK(vm == sl->vm);
        CHECK(virDomainObjListRename(list, vm, newname, 0, rename_cb, NULL) == 0);
        CHECK(strcmp(vm->def->name, newname) == 0);
        virDomainObjEndAPI(&vm);
        vm = virDomainObjListFindByName(list, sl->name);
        CHECK(vm == NULL);
        sl->gen++;
        snprintf(sl->name, sizeof(sl->name), "%s", newname);
        vm = virDomainObjListFindByName(list, sl->name);
        CHECK(vm == sl->vm);
        virDomainObjEndAPI(&vm);
        w->ops[OP_RENAME]++;
    } else if (op < 80) {
        /* start or stop, as C drivers do it under the object lock: set the state and
         * either write def->id or replace vm->def with a new definition */
        vm = virDomainObjListFindByUUID(list, sl->uuid);
        CHECK(vm == sl->vm);
        bool replace = next_rand(&w->rng) % 2;
        if (sl->active)
            virDomainObjSetState(vm, VIR_DOMAIN_SHUTOFF, VIR_DOMAIN_SHUTOFF_DESTROYED);
        else
            virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
        if (replace) {
            virDomainDef *old = vm->def;
            vm->def = slot_def(s, !sl->active);
            virDomainDefFree(old);
        } else {
            vm->def->id = sl->active ? -1 : id_of(s);
        }
        sl->active = !sl->active;
        int reason = -1;
        CHECK(virDomainObjGetState(vm, &reason) ==
              (sl->active ? VIR_DOMAIN_RUNNING : VIR_DOMAIN_SHUTOFF));
        CHECK(reason == (sl->active ? VIR_DOMAIN_RUNNING_BOOTED : VIR_DOMAIN_SHUTOFF_DESTROYED));
        CHECK(virDomainObjIsActive(vm) == sl->active);
        virDomainObjEndAPI(&vm);
        vm = virDomainObjListFindByID(list, id_of(s));
        CHECK(vm == (sl->active ? sl->vm : NULL));
        if (vm)
            virDomainObjEndAPI(&vm);
        w->ops[OP_STATE]++;
    } else {
        /* somebody else's domain: whatever comes back must be what was asked for */
        int o = (int)(next_rand(&w->rng) % (uint64_t)ndomains);
        unsigned char u[16];
        make_uuid(o, u);
        vm = virDomainObjListFindByUUID(list, u);
        if (vm) {
            CHECK(memcmp(vm->def->uuid, u, 16) == 0);
            CHECK(!vm->removing);
            virDomainObjEndAPI(&vm);
        }
        vm = virDomainObjListFindByID(list, id_of(o));
        if (vm) {
            CHECK(vm->def->id == id_of(o));
            CHECK(virDomainObjIsActive(vm));
            virDomainObjEndAPI(&vm);
        }
        char nm[64];
        snprintf(nm, sizeof(nm), "stress-%d-g0", o);
        vm = virDomainObjListFindByName(list, nm);
        if (vm) {
            CHECK(strcmp(vm->def->name, nm) == 0);
            virDomainObjEndAPI(&vm);
        }
        w->ops[OP_FOREIGN]++;
    }
}

/* Each worker runs until the time is up and it has done at least min_steps steps (so a
 * slow run, e.g. under valgrind, still exercises everything). */
static long min_steps;
static atomic_int workers_done;

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    long steps = 0;
    while (!atomic_load(&stop) || steps < min_steps) {
        worker_step(w);
        steps++;
    }
    return NULL;
}

/* ForEach callback: reads the domain under its lock, then looks up another domain while
 * the list is still held by ForEach (read or write), as libvirt's callbacks may; the
 * workers' adds and removes wait for the list meanwhile. */
static int foreach_cb(virDomainObj *vm, void *opaque)
{
    long *n = opaque;
    virObjectLock(vm);
    if (vm->def && vm->def->name)
        (*n)++;
    int other = (int)(((uintptr_t)vm >> 4) % (uintptr_t)ndomains);
    virObjectUnlock(vm);
    if (*n % 16 == 0) {
        unsigned char u[16];
        make_uuid(other, u);
        virDomainObj *o = virDomainObjListFindByUUID(list, u);
        if (o) {
            CHECK(memcmp(o->def->uuid, u, 16) == 0);
            virDomainObjEndAPI(&o);
        }
    }
    return 0;
}

static void *collector_main(void *arg)
{
    uint64_t rng = 0xc0ffee;
    int *ids = calloc((size_t)ndomains, sizeof(int));
    char **names = calloc((size_t)ndomains, sizeof(char *));
    CHECK(ids && names);
    while (!atomic_load(&workers_done) || atomic_load(&collects) == 0) {
        sched_yield();
        static const unsigned int flagsets[] = {
            0,
            VIR_CONNECT_LIST_DOMAINS_ACTIVE,
            VIR_CONNECT_LIST_DOMAINS_INACTIVE,
            VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_SHUTOFF,
            VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
        };
        unsigned int flags = flagsets[next_rand(&rng) % 5];
        virDomainObj **vms = NULL;
        size_t n = 0;
        virDomainObjListCollect(list, NULL, &vms, &n, NULL, flags);
        CHECK(n <= (size_t)ndomains);
        for (size_t i = 0; i < n; i++) {
            virObjectLock(vms[i]);
            CHECK(vms[i]->def != NULL && vms[i]->def->name != NULL);
            virObjectUnlock(vms[i]);
        }
        virObjectListFreeCount(vms, n);
        atomic_fetch_add(&collects, 1);

        long visited = 0;
        CHECK(virDomainObjListForEach(list, next_rand(&rng) % 2, foreach_cb, &visited) == 0);
        CHECK(visited <= ndomains);
        atomic_fetch_add(&foreachs, 1);

        int na = virDomainObjListNumOfDomains(list, true, NULL, NULL);
        int ni = virDomainObjListNumOfDomains(list, false, NULL, NULL);
        /* two calls, two moments: a domain may stop in between and count twice */
        CHECK(na >= 0 && ni >= 0 && na <= ndomains && ni <= ndomains);
        int nids = virDomainObjListGetActiveIDs(list, ids, ndomains, NULL, NULL);
        CHECK(nids >= 0 && nids <= ndomains);
        for (int i = 0; i < nids; i++)
            CHECK(ids[i] >= 1 && ids[i] <= ndomains);
        int nn = virDomainObjListGetInactiveNames(list, names, ndomains, NULL, NULL);
        CHECK(nn >= 0 && nn <= ndomains);
        for (int i = 0; i < nn; i++) {
            CHECK(strncmp(names[i], "stress-", 7) == 0);
            free(names[i]);
        }
    }
    free(ids);
    free(names);
    return NULL;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : dflt;
}

int main(void)
{
    int seconds = env_int("STRESS_SECONDS", 3);
    ndomains = env_int("STRESS_DOMAINS", 4000);
    nworkers = env_int("STRESS_WORKERS", 4);
    min_steps = env_int("STRESS_MIN_STEPS", 2000);
    /* a deadlock or a starved thread fails the test instead of hanging it */
    alarm((unsigned int)(seconds * 20 + 120));
    if (ndomains < nworkers)
        ndomains = nworkers;

    slots = calloc((size_t)ndomains, sizeof(*slots));
    CHECK(slots != NULL);
    for (int s = 0; s < ndomains; s++) {
        make_uuid(s, slots[s].uuid);
        snprintf(slots[s].name, sizeof(slots[s].name), "stress-%d-g0", s);
    }
    list = virDomainObjListNew();
    CHECK(list != NULL);

    struct worker *workers = calloc((size_t)nworkers, sizeof(*workers));
    CHECK(workers != NULL);
    int per = ndomains / nworkers;
    for (int i = 0; i < nworkers; i++) {
        workers[i].index = i;
        workers[i].first = i * per;
        workers[i].count = i == nworkers - 1 ? ndomains - i * per : per;
        workers[i].rng = 0x1234567ULL * (uint64_t)(i + 1) + 99;
        CHECK(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) == 0);
    }
    pthread_t collector;
    CHECK(pthread_create(&collector, NULL, collector_main, NULL) == 0);

    sleep((unsigned int)seconds);
    atomic_store(&stop, 1);
    for (int i = 0; i < nworkers; i++)
        CHECK(pthread_join(workers[i].thread, NULL) == 0);
    atomic_store(&workers_done, 1);
    CHECK(pthread_join(collector, NULL) == 0);

    long ops[OP_MAX] = {0};
    for (int i = 0; i < nworkers; i++)
        for (int k = 0; k < OP_MAX; k++)
            ops[k] += workers[i].ops[k];
    printf("%d workers, %d domains, %ds: add %ld find %ld remove %ld rename %ld state %ld "
           "foreign %ld; collect %ld foreach %ld\n",
           nworkers, ndomains, seconds, ops[OP_ADD], ops[OP_FIND], ops[OP_REMOVE],
           ops[OP_RENAME], ops[OP_STATE], ops[OP_FOREIGN], atomic_load(&collects),
           atomic_load(&foreachs));
    /* the run did all kinds of work (not a timing assertion: a few of each suffice) */
    for (int k = 0; k < OP_MAX; k++)
        CHECK(ops[k] > 0);
    CHECK(atomic_load(&collects) > 0 && atomic_load(&foreachs) > 0);

    /* every index agrees with the model */
    int nexist = 0, nactive = 0;
    int *want_ids = calloc((size_t)ndomains, sizeof(int));
    char **want_names = calloc((size_t)ndomains, sizeof(char *));
    CHECK(want_ids && want_names);
    int nwant_names = 0;
    for (int s = 0; s < ndomains; s++) {
        struct slot *sl = &slots[s];
        virDomainObj *vm;
        if (sl->exists) {
            nexist++;
            vm = virDomainObjListFindByUUID(list, sl->uuid);
            CHECK(vm == sl->vm);
            CHECK(strcmp(vm->def->name, sl->name) == 0);
            CHECK(virDomainObjIsActive(vm) == sl->active);
            CHECK(*(int *)vm->privateData == s);
            virDomainObjEndAPI(&vm);
            vm = virDomainObjListFindByName(list, sl->name);
            CHECK(vm == sl->vm);
            virDomainObjEndAPI(&vm);
            vm = virDomainObjListFindByID(list, id_of(s));
            CHECK(vm == (sl->active ? sl->vm : NULL));
            if (vm)
                virDomainObjEndAPI(&vm);
            if (sl->active)
                want_ids[nactive++] = id_of(s);
            else
                want_names[nwant_names++] = sl->name;
        } else {
            CHECK(virDomainObjListFindByUUID(list, sl->uuid) == NULL);
            CHECK(virDomainObjListFindByName(list, sl->name) == NULL);
            CHECK(virDomainObjListFindByID(list, id_of(s)) == NULL);
        }
    }
    CHECK(virDomainObjListNumOfDomains(list, true, NULL, NULL) == nactive);
    CHECK(virDomainObjListNumOfDomains(list, false, NULL, NULL) == nexist - nactive);

    int *ids = calloc((size_t)ndomains + 1, sizeof(int));
    char **names = calloc((size_t)ndomains + 1, sizeof(char *));
    CHECK(ids && names);
    CHECK(virDomainObjListGetActiveIDs(list, ids, ndomains + 1, NULL, NULL) == nactive);
    qsort(ids, (size_t)nactive, sizeof(int), cmp_int);
    qsort(want_ids, (size_t)nactive, sizeof(int), cmp_int);
    CHECK(memcmp(ids, want_ids, (size_t)nactive * sizeof(int)) == 0);
    CHECK(virDomainObjListGetInactiveNames(list, names, ndomains + 1, NULL, NULL) ==
          nexist - nactive);
    qsort(names, (size_t)nwant_names, sizeof(char *), cmp_str);
    qsort(want_names, (size_t)nwant_names, sizeof(char *), cmp_str);
    for (int i = 0; i < nwant_names; i++) {
        CHECK(strcmp(names[i], want_names[i]) == 0);
        free(names[i]);
    }

    virDomainObj **vms = NULL;
    size_t nvms = 0;
    virDomainObjListCollect(list, NULL, &vms, &nvms, NULL, 0);
    CHECK(nvms == (size_t)nexist);
    virObjectListFreeCount(vms, nvms);
    virDomainObjListCollectAll(list, &vms, &nvms);
    CHECK(nvms == (size_t)nexist);
    virObjectListFreeCount(vms, nvms);
    virDomainObjListCollect(list, NULL, &vms, &nvms, NULL, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    CHECK(nvms == (size_t)nactive);
    virObjectListFreeCount(vms, nvms);
    long visited = 0;
    CHECK(virDomainObjListForEach(list, false, foreach_cb, &visited) == 0);
    CHECK(visited == nexist);

    /* objects freed: removed ones now, the rest with the list */
    CHECK(atomic_load(&added) == atomic_load(&removed_count) + nexist);
    CHECK(atomic_load(&freed) == atomic_load(&removed_count));
    virObjectUnref(list);
    CHECK(atomic_load(&freed) == atomic_load(&added));
    printf("%ld objects created, %ld removed, %d left in the list, all %ld freed\n",
           atomic_load(&added), atomic_load(&removed_count), nexist, atomic_load(&freed));

    free(ids);
    free(names);
    free(want_ids);
    free(want_names);
    free(workers);
    free(slots);
    TEST_DONE();
}
