/* drivers.c: the demo daemon's state drivers, written in C against virtcore.h the way
 * libvirt's are: a secret driver, a storage driver whose pools become active only in its
 * autostart, a network driver, and a hypervisor driver ("qemu") that reconnects, in its
 * stateInitialize, to the guests the state directory records as running, and kills every
 * guest whose storage pool is not active (as libvirt's qemuProcessReconnect does when a
 * guest's disk source cannot be translated). The qemu driver's guests proper, with their
 * disk locks, are in qemu.c.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demo.h"

#define VIR_FROM_THIS VIR_FROM_STORAGE

struct demo_stats demo_stats;

static enum demo_style style;

/* Each driver keeps its own copy of the root: in parallel mode the drivers of a tier
 * initialize concurrently, so they must not share writable state. Bounded so that every
 * path built from it fits PATH_MAX. */
typedef char root_buf[1024];
static root_buf secret_root, storage_root, network_root, qemu_root;

/* ---- small file helpers ------------------------------------------------------------ */

static void path_of(char *buf, size_t len, const root_buf root, const char *a, const char *b,
                    const char *c)
{
    snprintf(buf, len, "%s/%s/%s%s", root, a, b, c);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    char *p;
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return (mkdir(tmp, 0755) < 0 && errno != EEXIST) ? -1 : 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Names (without `suffix`) of the files in ROOT/sub ending in `suffix`, sorted. */
static int list_names(const root_buf root, const char *sub, const char *suffix, char names[][32], int max)
{
    char dir[PATH_MAX];
    DIR *d;
    struct dirent *e;
    int n = 0;
    size_t sl = strlen(suffix);

    snprintf(dir, sizeof(dir), "%s/%s", root, sub);
    if (!(d = opendir(dir)))
        return 0;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= sl || l - sl >= 32 ||
            strcmp(e->d_name + l - sl, suffix) != 0)
            continue;
        memset(names[n], 0, sizeof(names[n])); /* names are copied whole later */
        memcpy(names[n], e->d_name, l - sl);
        n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_names);
    return n;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int save_root(root_buf dst, const char *root)
{
    if (!root) {
        virReportError(VIR_ERR_INVALID_ARG, "%s", "the demo drivers need an embedded root");
        return -1;
    }
    snprintf(dst, sizeof(root_buf), "%s", root);
    return 0;
}

/* ---- secret driver ----------------------------------------------------------------- */

static int secrets_loaded;

static virDrvStateInitResult secretInit(bool privileged, const char *root, bool monolithic,
                                        virStateInhibitCallback cb, void *opaque)
{
    char names[16][32];
    (void)privileged; (void)monolithic; (void)cb; (void)opaque;
    if (save_root(secret_root, root) < 0)
        return VIR_DRV_STATE_INIT_ERROR;
    secrets_loaded = list_names(secret_root, "etc/secrets", "", names, 16);
    return VIR_DRV_STATE_INIT_COMPLETE;
}

static int secretCleanup(void)
{
    secrets_loaded = 0;
    return 0;
}

/* ---- storage driver ---------------------------------------------------------------- */

struct pool {
    char name[32];
    int autostart;
    int active;
};

static struct pool pools[DEMO_MAX_POOLS];
static int npools;
static int storage_up;

static int pool_start(struct pool *p)
{
    char path[PATH_MAX], dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/run/storage", storage_root);
    path_of(path, sizeof(path), storage_root, "run/storage", p->name, ".active");
    if (mkdir_p(dir) < 0 || write_file(path, "active\n") < 0) {
        virReportError(VIR_ERR_OPERATION_FAILED, "cannot start storage pool '%s'", p->name);
        return -1;
    }
    p->active = 1;
    return 0;
}

static void storageAutoStart(void)
{
    int i;
    demo_stats.storage_autostart_ran = 1;
    for (i = 0; i < npools; i++)
        if (pools[i].autostart && !pools[i].active)
            pool_start(&pools[i]);
}

static virDrvStateInitResult storageInit(bool privileged, const char *root, bool monolithic,
                                         virStateInhibitCallback cb, void *opaque)
{
    char names[DEMO_MAX_POOLS][32];
    int i, n;
    (void)privileged; (void)monolithic; (void)cb; (void)opaque;
    if (save_root(storage_root, root) < 0)
        return VIR_DRV_STATE_INIT_ERROR;
    n = list_names(storage_root, "etc/storage", ".conf", names, DEMO_MAX_POOLS);
    for (i = 0, npools = 0; i < n; i++) {
        char path[PATH_MAX];
        FILE *f;
        struct pool *p = &pools[npools++];
        memset(p, 0, sizeof(*p));
        memcpy(p->name, names[i], sizeof(p->name));
        path_of(path, sizeof(path), storage_root, "etc/storage", p->name, ".conf");
        if ((f = fopen(path, "r"))) {
            if (fscanf(f, "autostart %d", &p->autostart) != 1)
                p->autostart = 0;
            fclose(f);
        }
        /* Reconnect: a pool whose status file is in the run dir is still active. */
        path_of(path, sizeof(path), storage_root, "run/storage", p->name, ".active");
        p->active = file_exists(path);
    }
    storage_up = 1;
    if (style == STYLE_LIBVIRT9)
        storageAutoStart(); /* libvirt 9 has no separate hook: autostart inside init */
    return VIR_DRV_STATE_INIT_COMPLETE;
}

static int storageCleanup(void)
{
    int i;
    /* Pools stay active when the daemon exits; report their state for the demo. */
    demo_stats.npools = npools;
    for (i = 0; i < npools; i++) {
        memcpy(demo_stats.pool_names[i], pools[i].name, sizeof(pools[i].name));
        demo_stats.pool_active[i] = pools[i].active;
    }
    storage_up = 0;
    npools = 0;
    return 0;
}

/* What the hypervisor driver asks when it translates a guest's disk source. Fails when the
 * storage driver is not up yet (libvirt: no storage driver connection) or the pool is
 * not active. */
static int storage_pool_is_active(const char *name)
{
    int i;
    if (!storage_up)
        return 0;
    for (i = 0; i < npools; i++)
        if (strcmp(pools[i].name, name) == 0)
            return pools[i].active;
    return 0;
}

/* ---- network driver ---------------------------------------------------------------- */

static char nets[4][32];
static int nnets;

static void networkAutoStart(void)
{
    int i;
    char dir[PATH_MAX], path[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/run/network", network_root);
    if (mkdir_p(dir) < 0)
        return;
    for (i = 0; i < nnets; i++) {
        path_of(path, sizeof(path), network_root, "run/network", nets[i], ".active");
        if (!file_exists(path))
            write_file(path, "active\n");
    }
}

static virDrvStateInitResult networkInit(bool privileged, const char *root, bool monolithic,
                                         virStateInhibitCallback cb, void *opaque)
{
    (void)privileged; (void)monolithic; (void)cb; (void)opaque;
    if (save_root(network_root, root) < 0)
        return VIR_DRV_STATE_INIT_ERROR;
    nnets = list_names(network_root, "etc/network", ".conf", nets, 4);
    if (style == STYLE_LIBVIRT9)
        networkAutoStart();
    return VIR_DRV_STATE_INIT_COMPLETE;
}

static int networkCleanup(void)
{
    nnets = 0;
    return 0;
}

/* ---- hypervisor driver ------------------------------------------------------------- */

static virDrvStateInitResult qemuInit(bool privileged, const char *root, bool monolithic,
                                      virStateInhibitCallback cb, void *opaque)
{
    char names[32][32];
    int i, n;
    (void)privileged; (void)monolithic; (void)cb; (void)opaque;
    if (save_root(qemu_root, root) < 0)
        return VIR_DRV_STATE_INIT_ERROR;
    n = list_names(qemu_root, "var/lib/qemu", ".status", names, 32);
    for (i = 0; i < n; i++) {
        char path[PATH_MAX], pool[32], line[80];
        int running = 0;
        FILE *f;
        path_of(path, sizeof(path), qemu_root, "var/lib/qemu", names[i], ".status");
        if (!(f = fopen(path, "r")))
            continue;
        if (fscanf(f, "%31s %d", pool, &running) != 2)
            running = 0;
        fclose(f);
        if (!running)
            continue;
        /* Reconnect to the running guest: its disk lives in `pool`. */
        if (storage_pool_is_active(pool)) {
            demo_stats.guests_reconnected++;
        } else {
            /* libvirt: qemuProcessReconnect fails, the guest is stopped (killed). */
            demo_stats.guests_killed++;
            snprintf(line, sizeof(line), "%s 0\n", pool);
            write_file(path, line);
        }
    }
    /* Guests started by this daemon take their disk locks through the lock manager. */
    if (qemu_guests_init(qemu_root) < 0)
        return VIR_DRV_STATE_INIT_ERROR;
    return VIR_DRV_STATE_INIT_COMPLETE;
}

static int qemuCleanup(void)
{
    qemu_guests_cleanup();
    return 0;
}

/* ---- the driver tables ------------------------------------------------------------- */

static const char *const qemu_needs[] = {"secret", "storage", "network", NULL};

static virStateDriver secretDriver = {
    .name = "secret", .stateInitialize = secretInit, .stateCleanup = secretCleanup,
};
static virStateDriver storageDriver = {
    .name = "storage", .stateInitialize = storageInit, .stateCleanup = storageCleanup,
};
static virStateDriver networkDriver = {
    .name = "network", .stateInitialize = networkInit, .stateCleanup = networkCleanup,
};
static virStateDriver qemuDriver = {
    .name = "qemu", .stateInitialize = qemuInit, .stateCleanup = qemuCleanup,
};

/* virtcore's extension of each driver (tier, needs, autostart hook), registered with it
 * by demo_register_driver; libvirt 9.0's struct above stays as libvirt has it. */
static virtcoreStateDriverExt secretExt = {.size = sizeof(virtcoreStateDriverExt)};
static virtcoreStateDriverExt storageExt = {.size = sizeof(virtcoreStateDriverExt)};
static virtcoreStateDriverExt networkExt = {.size = sizeof(virtcoreStateDriverExt)};
static virtcoreStateDriverExt qemuExt = {.size = sizeof(virtcoreStateDriverExt)};

void demo_drivers_setup(enum demo_style s, virStateDriver *out[DEMO_NDRIVERS])
{
    int hooks = s != STYLE_LIBVIRT9;
    style = s;
    memset(&demo_stats, 0, sizeof(demo_stats));
    storageExt.stateAutoStart = hooks ? storageAutoStart : NULL;
    networkExt.stateAutoStart = hooks ? networkAutoStart : NULL;
    secretExt.tier = VIR_DRV_STATE_DRV_LIBVIRT;
    storageExt.tier = VIR_DRV_STATE_DRV_LIBVIRT;
    networkExt.tier = VIR_DRV_STATE_DRV_LIBVIRT;
    qemuExt.tier = s == STYLE_TIERED ? VIR_DRV_STATE_DRV_HYPERVISOR : VIR_DRV_STATE_DRV_LIBVIRT;
    qemuExt.needs = s == STYLE_TIERED ? qemu_needs : NULL;
    out[0] = &secretDriver;
    out[1] = &storageDriver;
    out[2] = &networkDriver;
    out[3] = &qemuDriver;
}

int demo_register_driver(virStateDriver *drv)
{
    virStateDriver *const drivers[] = {&secretDriver, &storageDriver, &networkDriver,
                                       &qemuDriver};
    virtcoreStateDriverExt *const exts[] = {&secretExt, &storageExt, &networkExt, &qemuExt};
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (drivers[i] == drv)
            return virtcoreRegisterStateDriverExt(drv, exts[i]);
    return virRegisterStateDriver(drv);
}
