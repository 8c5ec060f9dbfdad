/* bench_lock.c: lock-manager benchmarks, one source built twice:
 *   bench_lock          against virtcore (its loader and manager)
 *   bench_lock_libvirt  against Debian's libvirt 9.0 (-DBENCH_LIBVIRT; its loader)
 * Cases: plugin load+unload time, and the lock cycle new + add disk + acquire + release +
 * free through nop, Debian's lockd.so (+ virtlockd) and virtcore's lockspace.so.
 * Prints "RESULT case ns_per_op iterations" lines; bench-lock (locking.mk) tabulates
 * them with ratios. Timing is reported, never asserted. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <virtcore.h>
#include "lock_lockd_common.h"

#ifdef BENCH_LIBVIRT
#define LOADER "libvirt"
/* Not exported by libvirt.so.0: its plugin is {char *name; virLockDriver *driver; ...}. */
static virLockDriver *plugin_driver(virLockManagerPlugin *p) { return ((virLockDriver **)p)[1]; }
static const char *last_error(void) { return "(see libvirt's log)"; }
#else
#define LOADER "virtcore"
static virLockDriver *plugin_driver(virLockManagerPlugin *p) { return virLockManagerPluginGetDriver(p); }
static const char *last_error(void) { return virGetLastErrorMessage(); }
#endif

static const unsigned char uuid[16] = {0xbe, 0x4c, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 9};
static char workdir[] = "/tmp/vc-lock-bench-XXXXXX";
static char disk[4096];

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void use_dir(const char *dir)
{
    /* Both loaders read their override per call. */
    setenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR", dir, 1);
    setenv("VIRTCORE_LOCK_DRIVER_DIR", dir, 1);
}

/* Runs @op in 5 rounds of ~0.25 s (at least 10, at most @max calls each) and reports the
 * mean of the fastest round: the machine is shared, and a round disturbed by other work
 * says nothing about the code. */
static void measure(const char *name, int (*op)(virLockManagerPlugin *), virLockManagerPlugin *p, int max)
{
    int round, total = 0;
    double best = -1;
    for (round = 0; round < 5; round++) {
        int i = 0;
        double t0 = now_ns(), t;
        do {
            if (op(p) < 0) {
                fprintf(stderr, "bench %s (%s): operation failed: %s\n", name, LOADER, last_error());
                exit(1);
            }
            i++;
            t = now_ns();
        } while ((i < 10 || t - t0 < 2.5e8) && i < max);
        total += i;
        if (best < 0 || (t - t0) / i < best)
            best = (t - t0) / i;
    }
    printf("RESULT %s/%s %.0f %d\n", name, LOADER, best, total);
    fflush(stdout);
}

static const char *load_name;
static int load_once(virLockManagerPlugin *unused)
{
    (void)unused;
    virLockManagerPlugin *p = virLockManagerPluginNew(load_name, "qemu", workdir, 0);
    if (!p)
        return -1;
    virLockManagerPluginUnref(p);
    return 0;
}

static int cycle(virLockManagerPlugin *plugin)
{
    virLockManagerParam params[5];
    virLockManager *lock;
    int fd = -1, rc = -1;

    lockd_domain_params(params, uuid, "bench-guest", 1, (unsigned)getpid());
    lock = virLockManagerNew(plugin_driver(plugin), VIR_LOCK_MANAGER_OBJECT_TYPE_DOMAIN, 5, params, 0);
    if (!lock)
        return -1;
    if (virLockManagerAddResource(lock, VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK, disk, 0, NULL, 0) == 0 &&
        virLockManagerAcquire(lock, NULL, 0, VIR_DOMAIN_LOCK_FAILURE_DEFAULT, &fd) == 0 &&
        virLockManagerRelease(lock, NULL, 0) == 0)
        rc = 0;
    if (fd >= 0)
        close(fd);
    virLockManagerFree(lock);
    return rc;
}

static void bench_plugin(const char *name, const char *dir)
{
    char label[64];
    virLockManagerPlugin *p;

    use_dir(dir);
    load_name = name;
    snprintf(label, sizeof(label), "load:%s", name);
    measure(label, load_once, NULL, 5000);
    p = virLockManagerPluginNew(name, "qemu", workdir, 0);
    if (!p) {
        fprintf(stderr, "cannot load %s from %s (%s): %s\n", name, dir, LOADER, last_error());
        exit(1);
    }
    snprintf(label, sizeof(label), "cycle:%s", name);
    measure(label, cycle, p, 50000);
    virLockManagerPluginUnref(p);
}

int main(void)
{
    const char *why;
    char conf[4200], lockspace_so[4096];
    FILE *f;
    int fd;

    if (!mkdtemp(workdir))
        return 1;
    snprintf(disk, sizeof(disk), "%s/disk.img", workdir);
    if ((fd = open(disk, O_CREAT | O_WRONLY, 0600)) < 0)
        return 1;
    close(fd);
    /* lockspace's config: CONFIGDIR/DRIVERNAME-lockspace.conf */
    snprintf(conf, sizeof(conf), "%s/qemu-lockspace.conf", workdir);
    if (!(f = fopen(conf, "w")))
        return 1;
    fprintf(f, "lockspace_dir = \"%s\"\n", workdir);
    fclose(f);

    bench_plugin("nop", LOCKD_DIR);
    snprintf(lockspace_so, sizeof(lockspace_so), "%s/build/lock-driver/lockspace.so", TOP_DIR);
    if (access(lockspace_so, R_OK) == 0)
        bench_plugin("lockspace", TOP_DIR "/build/lock-driver");
    else
        printf("SKIPPED lockspace: %s not built\n", lockspace_so);
    if ((why = lockd_start())) {
        printf("SKIPPED lockd: %s\n", why);
    } else {
        if (virInitialize() < 0)
            return 1;
        bench_plugin("lockd", LOCKD_DIR);
    }
    unlink(disk);
    unlink(conf);
    {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
