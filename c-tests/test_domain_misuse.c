/* test_domain_misuse.c: list and object misuse gets an error that changes nothing, never
 * a crash, a freed object or a hang (issue 9 items 7-10).
 *
 *  7. a rename callback that removes the domain (virDomainObjListRemoveLocked) leaves no
 *     index pointing at it; a rename from inside a rename callback is refused;
 *  8. Remove, RemoveLocked and Rename with an object of another list fail with
 *     VIR_ERR_INVALID_ARG and both lists stay as they were;
 *  9. a second virDomainObjEndAPI on a copy of the pointer drops no reference;
 *     virObjectUnlock from a thread that does not hold the lock fails and the lock stays;
 * 10. Add, Remove and Rename from a ForEach(modify=false) callback fail instead of
 *     deadlocking; a 16-byte virLockManager the library did not create is refused without
 *     reading past it (it sits against a PROT_NONE page).
 * Add of a name or UUID whose domain the calling thread holds locked fails with
 * VIR_ERR_OPERATION_INVALID instead of deadlocking (libvirt hangs holding the list's
 * write lock); the list stays usable and unchanged. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

static virDomainObjList *doms, *other;

static virDomainDef *def_named(const char *name, int n)
{
    char xml[512];
    snprintf(xml, sizeof(xml),
             "<domain type='kvm'><name>%s</name>"
             "<uuid>6d15a5e0-0000-4000-8000-%012d</uuid></domain>",
             name, n);
    virDomainDef *def = virDomainDefParseString(xml, NULL, NULL, 0);
    CHECK(def != NULL);
    return def;
}

static virDomainObj *add(virDomainObjList *l, const char *name, int n)
{
    virDomainDef *def = def_named(name, n);
    virDomainObj *vm = virDomainObjListAdd(l, &def, NULL, 0, NULL);
    CHECK(vm != NULL && def == NULL);
    return vm;
}

static int count(virDomainObjList *l)
{
    return virDomainObjListNumOfDomains(l, false, NULL, NULL) +
           virDomainObjListNumOfDomains(l, true, NULL, NULL);
}

static int set_name(virDomainObj *dom, const char *new_name)
{
    free(dom->def->name);
    dom->def->name = strdup(new_name);
    return dom->def->name ? 0 : -1;
}

/* 7 */
static int rename_and_remove_cb(virDomainObj *dom, const char *new_name, unsigned int flags,
                                void *opaque)
{
    if (set_name(dom, new_name) < 0)
        return -1;
    virDomainObjListRemoveLocked(doms, dom);
    return *(int *)opaque;
}

static int nested_rc = 1;
static int nested_rename_cb(virDomainObj *dom, const char *new_name, unsigned int flags,
                            void *opaque)
{
    nested_rc = virDomainObjListRename(doms, dom, "nested-third", 0, rename_and_remove_cb,
                                       opaque);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "from inside a rename callback");
    return set_name(dom, new_name);
}

static void rename_callback_removes(void)
{
    int rc = 0;
    virDomainObj *vm = add(doms, "ren-old", 1);
    CHECK(virDomainObjListRename(doms, vm, "ren-new", 0, rename_and_remove_cb, &rc) == 0);
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListFindByName(doms, "ren-new") == NULL);
    CHECK_ERROR(VIR_ERR_NO_DOMAIN, "ren-new");
    CHECK(virDomainObjListFindByName(doms, "ren-old") == NULL);
    CHECK(count(doms) == 0);
    /* The name is free again. */
    vm = add(doms, "ren-new", 2);
    virDomainObjEndAPI(&vm);

    /* Removed, then the callback fails: neither name points at the object. */
    rc = -1;
    vm = add(doms, "ren-fail", 3);
    CHECK(virDomainObjListRename(doms, vm, "ren-fail2", 0, rename_and_remove_cb, &rc) == -1);
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListFindByName(doms, "ren-fail2") == NULL);
    CHECK(virDomainObjListFindByName(doms, "ren-fail") == NULL);

    /* A rename inside a rename callback is refused; the outer rename completes. */
    rc = 0;
    vm = add(doms, "outer", 4);
    CHECK(virDomainObjListRename(doms, vm, "outer2", 0, nested_rename_cb, &rc) == 0);
    CHECK(nested_rc == -1);
    virDomainObjEndAPI(&vm);
    CHECK((vm = virDomainObjListFindByName(doms, "outer2")) != NULL);
    CHECK(strcmp(vm->def->name, "outer2") == 0);
    virDomainObjEndAPI(&vm);
    CHECK(virDomainObjListFindByName(doms, "outer") == NULL);
    CHECK(virDomainObjListFindByName(doms, "nested-third") == NULL);
    CHECK(count(doms) == 2);
}

/* 8 */
static int called;
static int count_cb(virDomainObj *dom, const char *new_name, unsigned int flags, void *opaque)
{
    called++;
    return set_name(dom, new_name);
}

static void foreign_objects(void)
{
    /* (count() locks every object: never call it while holding one.) */
    int before = count(doms) + 1, before_other = count(other) + 1;
    virDomainObj *a = add(doms, "mine", 10);
    virDomainObj *b = add(other, "theirs", 11);

    virDomainObjListRemove(other, a);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "belongs to another domain list");
    CHECK(!a->removing);
    virDomainObjListRemoveLocked(other, a);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "belongs to another domain list");
    CHECK(virDomainObjListRename(other, a, "mine2", 0, count_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "belongs to another domain list");
    CHECK(virDomainObjListRename(doms, b, "theirs2", 0, count_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "theirs");
    CHECK(called == 0);
    CHECK(strcmp(a->def->name, "mine") == 0 && strcmp(b->def->name, "theirs") == 0);
    virDomainObjEndAPI(&a);
    virDomainObjEndAPI(&b);
    CHECK(count(doms) == before && count(other) == before_other);
    CHECK((a = virDomainObjListFindByName(doms, "mine")) != NULL);
    CHECK((b = virDomainObjListFindByName(other, "theirs")) != NULL);
    CHECK(virDomainObjListFindByName(other, "mine") == NULL);
    /* The right list still works. */
    CHECK(virDomainObjListRename(doms, a, "mine2", 0, count_cb, NULL) == 0 && called == 1);
    virDomainObjListRemove(other, b);
    CHECK(b->removing);
    virDomainObjEndAPI(&a);
    virDomainObjEndAPI(&b);
    CHECK(count(other) == 0);
    virDomainObj *m = virDomainObjListFindByName(doms, "mine2");
    CHECK(m != NULL);
    virDomainObjListRemove(doms, m);
    virDomainObjEndAPI(&m);
    /* An object in no list: removing it is harmless, renaming it is refused. */
    virDomainObj *lone = virDomainObjNew(NULL);
    CHECK(virDomainObjListRename(doms, lone, "x", 0, count_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "not in this domain list");
    virDomainObjEndAPI(&lone);
}

/* 9 */
static virDomainObj *shared_vm;
static int unlock_code;
static char unlock_msg[512];
static void *foreign_unlock(void *arg)
{
    virObjectUnlock(shared_vm);
    unlock_code = virGetLastErrorCode();
    snprintf(unlock_msg, sizeof(unlock_msg), "%s", virGetLastErrorMessage());
    virDomainObj *copy = shared_vm;
    virDomainObjEndAPI(&copy);
    CHECK(copy == shared_vm);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "locked by another thread");
    return NULL;
}

static void end_api_and_unlock(void)
{
    virDomainObj *vm = add(doms, "refs", 20);
    virDomainObjEndAPI(&vm);
    vm = virDomainObjListFindByName(doms, "refs");
    CHECK(vm != NULL);
    virDomainObj *copy = vm;
    int refs = vm->parent.parent.refs;
    CHECK(refs == 2);
    virDomainObjEndAPI(&vm);
    CHECK(vm == NULL && copy->parent.parent.refs == 1);
    virDomainObjEndAPI(&copy);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "is not locked");
    CHECK(copy != NULL && copy->parent.parent.refs == 1);

    /* Another thread cannot unlock (or EndAPI) what this one holds. */
    shared_vm = virDomainObjListFindByName(doms, "refs");
    CHECK(shared_vm != NULL);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, foreign_unlock, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(unlock_code == VIR_ERR_OPERATION_INVALID);
    CHECK(strstr(unlock_msg, "locked by another thread") != NULL);
    CHECK(shared_vm->parent.parent.refs == 2);
    virDomainObjEndAPI(&shared_vm); /* still ours: succeeds */
    CHECK(shared_vm == NULL);
    vm = virDomainObjListFindByName(doms, "refs");
    CHECK(vm != NULL && vm->parent.parent.refs == 2);
    virDomainObjListRemove(doms, vm);
    virDomainObjEndAPI(&vm);
}

/* 10 */
static int foreach_checks;
static int readonly_cb(virDomainObj *dom, void *opaque)
{
    virDomainDef *def = def_named("from-foreach", 30);
    CHECK(virDomainObjListAdd(doms, &def, NULL, 0, NULL) == NULL);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "modify=false");
    CHECK(def != NULL);
    virDomainDefFree(def);

    virObjectLock(dom);
    virDomainObjListRemove(doms, dom);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "modify=false");
    CHECK(!dom->removing);
    virDomainObjListRemoveLocked(doms, dom);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "modify=false");
    CHECK(virDomainObjListRename(doms, dom, "renamed-in-foreach", 0, count_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "modify=false");
    CHECK(virDomainObjListForEach(doms, true, readonly_cb, NULL) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "modify=false");
    virObjectUnlock(dom);
    /* Reading is fine. */
    virDomainObj *vm = virDomainObjListFindByName(doms, dom->def->name);
    CHECK(vm == dom);
    virDomainObjEndAPI(&vm);
    foreach_checks++;
    return 0;
}

static void readonly_foreach(void)
{
    int n = count(doms);
    CHECK(n > 0);
    CHECK(virDomainObjListForEach(doms, false, readonly_cb, NULL) == 0);
    CHECK(foreach_checks == n && count(doms) == n);
    CHECK(virDomainObjListFindByName(doms, "from-foreach") == NULL);
    /* After it, the list can be changed again. */
    virDomainObj *vm = add(doms, "after-foreach", 31);
    virDomainObjListRemove(doms, vm);
    virDomainObjEndAPI(&vm);
}

static void foreign_lock_context(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    CHECK(mprotect(mem + page, (size_t)page, PROT_NONE) == 0);
    virLockManager *fake = (virLockManager *)(mem + page - sizeof(virLockManager));
    CHECK(sizeof(virLockManager) == 16);
    char *state = NULL;
    int fd = -1;
    CHECK(virLockManagerAddResource(fake, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, "/d", 0, NULL,
                                    0) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live lock manager");
    CHECK(virLockManagerAcquire(fake, NULL, 0, 0, &fd) == -1);
    CHECK(virLockManagerRelease(fake, &state, 0) == -1);
    CHECK(virLockManagerInquire(fake, &state, 0) == -1);
    CHECK(virLockManagerFree(fake) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not a live lock manager");

    /* A real context is still accepted, and refused once freed. */
    virLockManagerPlugin *plugin = virLockManagerPluginNew("nop", "qemu", "/etc/virtcore-test", 0);
    CHECK(plugin != NULL);
    unsigned char uuid[16] = {1, 2, 3};
    virLockManagerParam p[2];
    memset(p, 0, sizeof(p));
    p[0].type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID;
    p[0].key = "uuid";
    memcpy(p[0].value.uuid, uuid, 16);
    p[1].type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING;
    p[1].key = "name";
    p[1].value.str = (char *)"ctx";
    virLockManager *lock = virLockManagerNew(virLockManagerPluginGetDriver(plugin),
                                             VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 2, p, 0);
    CHECK(lock != NULL);
    CHECK(virLockManagerInquire(lock, &state, 0) == 0);
    free(state);
    CHECK(virLockManagerFree(lock) == 0);
    virLockManagerPluginUnref(plugin);
    munmap(mem, (size_t)page * 2);
}

/* Add with the existing domain locked by this very thread: refused, not a deadlock. */
static void add_while_holding(void)
{
    int before = count(doms);
    virDomainObj *held = add(doms, "held", 900);
    struct { const char *name; int n; } tries[] = {
        {"held", 900},  /* same name and UUID: would update the held object */
        {"held", 901},  /* same name, another UUID */
        {"held-2", 900} /* another name, same UUID */
    };
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        virDomainDef *def = def_named(tries[i].name, tries[i].n);
        virResetLastError();
        CHECK(virDomainObjListAdd(doms, &def, NULL, 0, NULL) == NULL);
        CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "domain 'held' is locked by the calling thread");
        CHECK(def != NULL); /* not taken */
        virDomainDefFree(def);
    }
    /* The list's lock was released (a lookup takes it) and nothing changed. */
    CHECK(virDomainObjListFindByName(doms, "held-2") == NULL);
    CHECK(held->def != NULL && strcmp(held->def->name, "held") == 0);
    virDomainObjEndAPI(&held);
    CHECK(count(doms) == before + 1);
    /* Unlocked, the same Add updates the domain as usual. */
    held = add(doms, "held", 900);
    virDomainObjListRemove(doms, held);
    virDomainObjEndAPI(&held);
    CHECK(count(doms) == before);
}

int main(void)
{
    /* A deadlock would hang the test run: make it a failure instead. */
    alarm(120);
    doms = virDomainObjListNew();
    other = virDomainObjListNew();
    CHECK(doms && other);
    rename_callback_removes();
    foreign_objects();
    end_api_and_unlock();
    readonly_foreach();
    foreign_lock_context();
    add_while_holding();
    virObjectUnref(doms);
    virObjectUnref(other);
    TEST_DONE();
}
