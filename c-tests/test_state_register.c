/* test_state_register.c: virRegisterStateDriver and virtcoreRegisterStateDriverExt (index,
 * NULL, bad names, duplicates: accepted the 9.0 way, refused with the extension; the
 * extension's size; many drivers; late registration and a second virStateInitialize),
 * virtcoreStateDriverSetTier, the argument checks of virStateInitialize and of the
 * virtcoreStateSet* options, bad driver definitions (negative tier, bogus init result) in
 * fresh processes, and the header's type names (all vir/VIR-prefixed). */
#include <ctype.h>
#include <sys/mman.h>
#include "test_state_util.h"

static char rundir[64];

/* Shared by the "many" drivers: counts calls. */
static int many_inits, many_cleanups;
static virDrvStateInitResult many_init(bool p, const char *r, bool m,
                                       virStateInhibitCallback cb, void *o)
{
    __atomic_add_fetch(&many_inits, 1, __ATOMIC_SEQ_CST);
    return VIR_DRV_STATE_INIT_COMPLETE;
}
static int many_cleanup(void)
{
    many_cleanups++;
    return 0;
}

#define NMANY 1000

static int negative_tier(void)
{
    TD_REGISTER(0, "fine", 0, 0);
    /* Refused at registration (libvirt accepts it and misorders start-up)... */
    TD_REGISTER(1, "below-zero", -1, -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "state driver 'below-zero' has invalid tier -1");
    /* ...and a tier the caller makes negative afterwards is still caught before start-up. */
    TD_REGISTER(1, "below-zero", 0, 1);
    tds[1].ext.tier = -1;
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "below-zero");
    CHECK(tds[0].n_init == 0 && tds[1].n_init == 0);
    CHECK(!tds[0].drv.initialized);
    return 0;
}

static int bogus_result(void)
{
    TD_REGISTER(0, "first", 0, 0);
    TD_REGISTER(1, "bogus", 0, 1);
    tds[1].init_result = 7;
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INTERNAL_ERROR, "Initialization of bogus state driver failed");
    CHECK_MSG("returned 7");
    CHECK_TRACE("init:first init:bogus cleanup:first");
    CHECK(!tds[0].drv.initialized && !tds[1].drv.initialized);
    return 0;
}

/* A driver without any hook: initialize treats it as complete, nothing else is called. */
static int no_hooks(void)
{
    static virStateDriver bare = {.name = "bare"};
    CHECK(virRegisterStateDriver(&bare) == 0);
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(virStateReload() == 0);
    CHECK(virStateStop() == 0);
    CHECK(virStateShutdownPrepare() == 0);
    CHECK(virStateShutdownWait() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK(!bare.initialized);
    return 0;
}

/* The extension's size: too small for `tier`, or larger with bytes this library does not
 * know set, is refused; an older (shorter) extension has no needs and no autostart; a
 * newer one whose unknown bytes are zero is accepted. */
static int ext_sizes(void)
{
    static struct {
        virtcoreStateDriverExt ext;
        char newer[16];
    } big;
    virStateDriver *d = td_make(0, "sized", 0);
    tds[0].ext.size = 0;
    CHECK(virtcoreRegisterStateDriverExt(d, &tds[0].ext) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "extension of state driver 'sized' has size 0");
    tds[0].ext.size = offsetof(virtcoreStateDriverExt, tier) + 2;
    CHECK(virtcoreRegisterStateDriverExt(d, &tds[0].ext) == -1);
    tds[0].ext.size = 5000;
    CHECK(virtcoreRegisterStateDriverExt(d, &tds[0].ext) == -1);
    CHECK(virtcoreRegisterStateDriverExt(d, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "ext");
    CHECK(virtcoreRegisterStateDriverExt(NULL, &tds[0].ext) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "driver");
    big.ext = tds[0].ext;
    big.ext.size = sizeof(big);
    big.newer[3] = 1;
    CHECK(virtcoreRegisterStateDriverExt(d, &big.ext) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "does not know");
    big.newer[3] = 0;
    big.ext.tier = 1;
    CHECK(virtcoreRegisterStateDriverExt(d, &big.ext) == 0);
    /* An older caller's extension: only `size` and `tier`; its autostart is not read. */
    virStateDriver *old = td_make(1, "older", 0);
    tds[1].ext.size = offsetof(virtcoreStateDriverExt, needs);
    static const char *const bogus[] = {"missing", NULL};
    tds[1].ext.needs = bogus; /* past its size: never read */
    CHECK(virtcoreRegisterStateDriverExt(old, &tds[1].ext) == 1);
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:older init:sized auto:sized");
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* virtcoreStateDriverSetTier: by name, before or after registration, overriding the
 * extension's tier and the default; every driver of a repeated name moves. */
static int set_tier(void)
{
    static virStateDriver udev1 = {.name = "udev"}, udev2 = {.name = "udev"};
    CHECK(virtcoreStateDriverSetTier(NULL, 1) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "name");
    CHECK(virtcoreStateDriverSetTier("a/b", 1) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "a/b");
    CHECK(virtcoreStateDriverSetTier("x", -2) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "tier -2 for state driver 'x'");
    CHECK(virtcoreStateDriverSetTier("storage", 2) == 0); /* before it registers */
    TD_REGISTER(0, "storage", 0, 0);
    td_make(1, "QEMU", 0); /* the 9.0 way: default tier 1 */
    CHECK(virRegisterStateDriver(&tds[1].drv) == 1);
    td_make(2, "net", 0);
    CHECK(virRegisterStateDriver(&tds[2].drv) == 2); /* default tier 0 */
    CHECK(virRegisterStateDriver(&udev1) == 3);
    CHECK(virRegisterStateDriver(&udev2) == 4); /* names repeat, as in libvirt */
    CHECK(virtcoreStateDriverSetTier("net", 5) == 0);
    CHECK(virtcoreStateDriverSetTier("net", 1) == 0); /* the last call counts */
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == 0);
    /* 9.0-registered drivers have no autostart hook. */
    CHECK_TRACE("init:QEMU init:net init:storage auto:storage");
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("init:QEMU init:net init:storage auto:storage cleanup:storage cleanup:net "
                "cleanup:QEMU");
    return 0;
}

/* A libvirt 9.0 driver's struct is 64 bytes and nothing after it may be read: placed at
 * the very end of a page followed by an inaccessible one, every call works (a read past
 * it would crash: 0.1.0 read 24 bytes more). */
static int nothing_read_past_64_bytes(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    CHECK(mprotect(map + page, page, PROT_NONE) == 0);
    CHECK(sizeof(virStateDriver) == 64);
    virStateDriver *edge = (virStateDriver *)(map + page - sizeof(virStateDriver));
    virStateDriver *model = td_make(0, "edge", 0);
    memcpy(edge, model, sizeof(*edge));
    CHECK(virRegisterStateDriver(edge) == 0);
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(edge->initialized);
    CHECK(virStateReload() == 0 && virStateStop() == 0);
    CHECK(virStateShutdownPrepare() == 0 && virStateShutdownWait() == 0);
    CHECK(virStateCleanup() == 0);
    CHECK(!edge->initialized);
    /* No autostart: a 9.0 driver has none (the extension's stays unread). */
    CHECK_TRACE("init:edge reload:edge stop:edge prepare:edge wait:edge cleanup:edge");
    return 0;
}

/* Several threads register at once: every index is handed out exactly once. */
#define REG_THREADS 8
#define REG_EACH 50
static virStateDriver reg_drv[REG_THREADS][REG_EACH];
static char reg_names[REG_THREADS][REG_EACH][16];
static int reg_index[REG_THREADS][REG_EACH];

static void *reg_thread(void *arg)
{
    int t = (int)(long)arg;
    for (int k = 0; k < REG_EACH; k++)
        reg_index[t][k] = virRegisterStateDriver(&reg_drv[t][k]);
    return NULL;
}

static int concurrent_registration(void)
{
    pthread_t th[REG_THREADS];
    static bool seen[REG_THREADS * REG_EACH];
    for (int t = 0; t < REG_THREADS; t++)
        for (int k = 0; k < REG_EACH; k++) {
            snprintf(reg_names[t][k], sizeof(reg_names[t][k]), "t%d-%d", t, k);
            reg_drv[t][k].name = reg_names[t][k];
        }
    for (int t = 0; t < REG_THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, reg_thread, (void *)(long)t) == 0);
    for (int t = 0; t < REG_THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < REG_THREADS; t++)
        for (int k = 0; k < REG_EACH; k++) {
            int i = reg_index[t][k];
            CHECK(i >= 0 && i < REG_THREADS * REG_EACH);
            CHECK(!seen[i]);
            seen[i] = true;
        }
    return 0;
}

/* Every type virtcore.h declares carries libvirt's or virtcore's prefix, so it cannot clash
 * with a C program's own names (an earlier header leaked Rust's "InitOptions"). */
static void header_names(void)
{
    FILE *f = fopen(VIRTCORE_HEADER, "r");
    char line[1024];
    CHECK(f);
    while (fgets(line, sizeof(line), f)) {
        char name[256];
        const char *p;
        if (strncmp(line, "typedef ", 8) != 0 || !strchr(line, ';'))
            continue;
        /* The declared name: after "(*" for function pointers, else the last identifier. */
        if ((p = strstr(line, "(*"))) {
            p += 2;
        } else {
            p = strchr(line, ';');
            while (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
                p--;
        }
        size_t n = 0;
        while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n < sizeof(name) - 1)
            n++;
        memcpy(name, p, n);
        name[n] = '\0';
        if (strncmp(name, "vir", 3) != 0 && strncmp(name, "VIR", 3) != 0)
            fprintf(stderr, "virtcore.h declares type '%s' without the vir/VIR prefix\n", name);
        CHECK(strncmp(name, "vir", 3) == 0 || strncmp(name, "VIR", 3) == 0);
    }
    fclose(f);
}

int main(void)
{
    static virStateDriver many[NMANY];
    static char many_names[NMANY][16];
    virStateDriver noname = {0};
    virStateDriver empty = {.name = ""};
    virStateDriver slash = {.name = "a/b"};
    virStateDriver dotdot = {.name = ".."};
    char longname[5000];
    virStateDriver toolong = {.name = longname};
    virStateDriver dup = {.name = "alpha"};

    CHECK(make_tmpdir(rundir, sizeof(rundir)));

    /* Fresh-registry scenarios first, in children, before this process registers. */
    CHECK_FORKED(negative_tier);
    CHECK_FORKED(bogus_result);
    CHECK_FORKED(no_hooks);
    CHECK_FORKED(concurrent_registration);
    CHECK_FORKED(ext_sizes);
    CHECK_FORKED(nothing_read_past_64_bytes);
    CHECK_FORKED(set_tier);


    /* Bad drivers are refused with VIR_ERR_INVALID_ARG, naming the problem. */
    CHECK(virRegisterStateDriver(NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "driver");
    CHECK(virRegisterStateDriver(&noname) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "name");
    CHECK(virRegisterStateDriver(&empty) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "name");
    CHECK(virRegisterStateDriver(&slash) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "a/b");
    CHECK(virRegisterStateDriver(&dotdot) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "..");
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(virRegisterStateDriver(&toolong) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "is not valid");
    /* The message shows the name's first 64 bytes, not all 5000. */
    CHECK_MSG("'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'");
    CHECK(strlen(virGetLastError()->message) < 200);

    /* Indices in registration order; with the extension, names are unique... */
    TD_REGISTER(0, "alpha", 0, 0);
    TD_REGISTER(1, "beta", 1, 1);
    static virtcoreStateDriverExt dup_ext = {.size = sizeof(dup_ext)};
    CHECK(virtcoreRegisterStateDriverExt(&dup, &dup_ext) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "'alpha' is already registered");
    /* ...registered the 9.0 way they may repeat, as in libvirt 9.0. */
    CHECK(virRegisterStateDriver(&dup) == 2);

    /* No fixed table size. */
    for (int i = 0; i < NMANY; i++) {
        snprintf(many_names[i], sizeof(many_names[i]), "many-%d", i);
        many[i].name = many_names[i];
        many[i].stateInitialize = many_init;
        many[i].stateCleanup = many_cleanup;
        CHECK(virtcoreStateDriverSetTier(many_names[i], i % 5) == 0);
        CHECK(virRegisterStateDriver(&many[i]) == 3 + i);
    }

    /* Option checks. */
    CHECK(virtcoreStateSetParallel(65) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "65");
    CHECK(virtcoreStateSetParallel(64) == 0);
    CHECK(virtcoreStateSetParallel(1) == 0);
    CHECK(virtcoreStateSetParallel(0) == 0);
    CHECK(virtcoreStateSetRunDir("relative/dir") == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "relative/dir");
    CHECK(virtcoreStateSetRunDir(NULL) == 0);
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(false, true, "relative/root", false, NULL, NULL) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "relative/root");
    CHECK(tds[0].n_init == 0 && many_inits == 0);

    /* Nothing initialized: the lifecycle calls succeed and call nothing. */
    CHECK(virStateCleanup() == 0);
    CHECK(virStateReload() == 0);
    CHECK(virStateStop() == 0);
    CHECK(virStateShutdownPrepare() == 0);
    CHECK(virStateShutdownWait() == 0);
    CHECK_TRACE("");

    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(many_inits == NMANY);
    CHECK(tds[0].drv.initialized && tds[1].drv.initialized);
    for (int i = 0; i < NMANY; i++)
        CHECK(many[i].initialized);

    /* Late registration is accepted; a second initialize starts only the new driver (as
     * libvirt 9.0 does). */
    trace_reset();
    TD_REGISTER(2, "late", 0, NMANY + 3);
    CHECK(!tds[2].drv.initialized);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:late auto:late");
    CHECK(tds[0].n_init == 1 && many_inits == NMANY && tds[2].drv.initialized);
    CHECK(virtcoreStateSetParallel(2) == 0); /* options may change: they apply next time */
    CHECK(virtcoreStateSetParallel(0) == 0);

    CHECK(virStateCleanup() == 0);
    CHECK(many_cleanups == NMANY);
    CHECK(!tds[0].drv.initialized && !tds[1].drv.initialized && !many[0].initialized);
    CHECK(!tds[2].drv.initialized && tds[2].n_hook[H_CLEANUP] == 1);

    /* After cleanup, registration goes on. */
    virStateDriver later = {.name = "later"};
    CHECK(virRegisterStateDriver(&later) == NMANY + 4);

    header_names();

    rm_tree(rundir);
    TEST_DONE();
}
