/* test_domain_core_threads.c: two threads look domains up by UUID, name and ID while a
 * third removes, re-adds and restarts them (writing def->id directly, as a driver does).
 * Every object found is the one asked for and not being removed; nothing deadlocks. */
#include <pthread.h>
#include <stdbool.h>
#include "testutil.h"

#define NDOMS 64
#define ROUNDS 40

static virDomainObjList *doms;
static virDomainXMLOption *xmlopt;
static volatile int stop;
static unsigned char uuids[NDOMS][VIR_UUID_BUFLEN];

static void mkxml(char *buf, size_t len, int i)
{
    snprintf(buf, len,
             "<domain type='kvm'><name>t%02d</name>"
             "<uuid>00000000-0000-4000-8000-0000000000%02x</uuid>"
             "<devices><disk type='file'><source file='/img/t%02d'/><target dev='vda'/></disk></devices>"
             "</domain>", i, i, i);
}

static void add(int i, int id)
{
    char xml[512];
    mkxml(xml, sizeof(xml), i);
    virDomainDef *def = virDomainDefParseString(xml, xmlopt, NULL, 0);
    CHECK(def != NULL);
    virDomainObj *vm = virDomainObjListAdd(doms, &def, xmlopt, 0, NULL);
    CHECK(vm != NULL);
    vm->def->id = id; /* started by the "driver": written directly */
    virDomainObjEndAPI(&vm);
}

static void *finder(void *arg)
{
    long t = (long)arg, found = 0;
    unsigned int k = 0;
    while (!stop || k < 3000) {
        int i = (int)((k * 7 + t) % NDOMS);
        virDomainObj *vm = NULL;
        char name[16];
        switch (k++ % 3) {
        case 0:
            vm = virDomainObjListFindByUUID(doms, uuids[i]);
            break;
        case 1:
            snprintf(name, sizeof(name), "t%02d", i);
            vm = virDomainObjListFindByName(doms, name);
            break;
        default:
            vm = virDomainObjListFindByID(doms, 1000 + i);
            if (vm)
                CHECK(vm->def->id == 1000 + i);
            break;
        }
        if (vm) {
            CHECK(!vm->removing);
            CHECK(memcmp(vm->def->uuid, uuids[i], VIR_UUID_BUFLEN) == 0);
            found++;
            virDomainObjEndAPI(&vm);
        }
    }
    return (void *)found;
}

int main(void)
{
    int i, r;
    pthread_t th[2];
    xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL);
    doms = virDomainObjListNew();
    for (i = 0; i < NDOMS; i++) {
        memset(uuids[i], 0, VIR_UUID_BUFLEN);
        uuids[i][6] = 0x40;
        uuids[i][8] = 0x80;
        uuids[i][15] = (unsigned char)i;
        add(i, 1000 + i);
    }
    for (i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, finder, (void *)(long)i) == 0);
    for (r = 0; r < ROUNDS; r++) {
        for (i = NDOMS / 2; i < NDOMS; i++) {
            virDomainObj *vm = virDomainObjListFindByUUID(doms, uuids[i]);
            if (!vm)
                continue;
            if (r % 2) {
                virDomainObjListRemove(doms, vm);
                virDomainObjEndAPI(&vm);
                add(i, (r % 4 == 1) ? 1000 + i : -1);
            } else {
                vm->def->id = vm->def->id == -1 ? 1000 + i : -1; /* start / stop */
                virDomainObjEndAPI(&vm);
            }
        }
    }
    stop = 1;
    long total = 0;
    for (i = 0; i < 2; i++) {
        void *ret;
        CHECK(pthread_join(th[i], &ret) == 0);
        total += (long)ret;
    }
    CHECK(total > 0);
    CHECK(virDomainObjListNumOfDomains(doms, true, NULL, NULL) +
          virDomainObjListNumOfDomains(doms, false, NULL, NULL) == NDOMS);
    /* The lower half never changed: all of them are found by ID. */
    for (i = 0; i < NDOMS / 2; i++) {
        virDomainObj *vm = virDomainObjListFindByID(doms, 1000 + i);
        CHECK(vm != NULL && vm->def->id == 1000 + i);
        virDomainObjEndAPI(&vm);
    }
    virObjectUnref(doms);
    virObjectUnref(xmlopt);
    TEST_DONE();
}
