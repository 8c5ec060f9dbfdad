/* test_state_register.c: virRegisterStateDriver (index, NULL, bad names, duplicates, many
 * drivers, late registration), the argument checks of virStateInitialize and of the
 * virtcoreStateSet* options, bad driver definitions (negative tier, bogus init result) in
 * fresh processes, and the header's type names (all vir/VIR-prefixed). */
#include <ctype.h>
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
    tds[1].drv.stateType = -1;
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

    /* Indices in registration order; duplicates refused by name. */
    TD_REGISTER(0, "alpha", 0, 0);
    TD_REGISTER(1, "beta", 1, 1);
    CHECK(virRegisterStateDriver(&dup) == -1);
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "'alpha' is already registered");
    CHECK(virRegisterStateDriver(&tds[0].drv) == -1); /* the same struct again */
    CHECK_ERROR(VIR_ERR_INVALID_ARG, "alpha");

    /* No fixed table size. */
    for (int i = 0; i < NMANY; i++) {
        snprintf(many_names[i], sizeof(many_names[i]), "many-%d", i);
        many[i].name = many_names[i];
        many[i].stateInitialize = many_init;
        many[i].stateCleanup = many_cleanup;
        many[i].stateType = i % 5;
        CHECK(virRegisterStateDriver(&many[i]) == 2 + i);
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

    /* Late registration and a second initialize are refused while initialized. */
    virStateDriver late = {.name = "late"};
    CHECK(virRegisterStateDriver(&late) == -1);
    CHECK_ERROR(VIR_ERR_OPERATION_INVALID, "late");
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == -1);
    CHECK(virGetLastErrorCode() == VIR_ERR_OPERATION_INVALID);
    CHECK(tds[0].n_init == 1 && many_inits == NMANY);
    CHECK(virtcoreStateSetParallel(2) == 0); /* options may change: they apply next time */
    CHECK(virtcoreStateSetParallel(0) == 0);

    CHECK(virStateCleanup() == 0);
    CHECK(many_cleanups == NMANY);
    CHECK(!tds[0].drv.initialized && !tds[1].drv.initialized && !many[0].initialized);

    /* After cleanup, registration is open again. */
    CHECK(virRegisterStateDriver(&late) == NMANY + 2);

    header_names();

    rm_tree(rundir);
    TEST_DONE();
}
