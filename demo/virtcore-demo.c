/* virtcore-demo: a small daemon, written in C against virtcore.h, that reproduces the
 * start-up race of the original tiered-loading proposal and shows that virtcore's tiers
 * remove it.
 *
 *   virtcore-demo [RESTARTS]     (default 200)
 *
 * Each "restart" is a host boot (the run dir is wiped, so every storage pool is inactive
 * until autostarted) followed by a daemon start in a NEW process, which registers the
 * drivers of drivers.c, calls virStateInitialize, reports what the hypervisor driver did
 * through a pipe, and exits. Guests killed are recorded as running again before the next
 * restart, so every restart faces the same situation. A last section (locks.c) starts
 * guests whose disks are locked through the `lockspace` lock driver. Exit status: 0 when
 * the tiered modes killed no guest and the once-per-boot, parallel and disk-lock checks
 * held, 1 otherwise.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "demo.h"
#include "domains.h"
#include "libvirt9.h"
#include "locks.h"

#define DEFAULT_RESTARTS 200
#define NGUESTS 6

static char root[1024]; /* bounded so that every path built from it fits PATH_MAX */
static const char *const pool_names[] = {"default", "images", "backup"};
#define NPOOLS 3

/* ---- the host's files ---------------------------------------------------------------- */

static void die(const char *what)
{
    fprintf(stderr, "virtcore-demo: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(path);
}

static void make_dir(const char *sub)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, sub);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        die(path);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *guest_pool(int g)
{
    return pool_names[g % NPOOLS];
}

/* Records guest g (vm1..vm6, two per pool) as running or shut off. */
static void guest_record(int g, int running)
{
    char path[PATH_MAX], line[64];
    snprintf(path, sizeof(path), "%s/var/lib/qemu/vm%d.status", root, g + 1);
    snprintf(line, sizeof(line), "%s %d\n", guest_pool(g), running);
    write_text(path, line);
}

static void host_create(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[PATH_MAX];
    int i;

    snprintf(root, sizeof(root), "%s/virtcore-demo-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
    if (!mkdtemp(root))
        die("mkdtemp");
    make_dir("etc");
    make_dir("etc/storage");
    make_dir("etc/network");
    make_dir("etc/secrets");
    make_dir("var");
    make_dir("var/lib");
    make_dir("var/lib/qemu");
    make_dir("run");
    for (i = 0; i < NPOOLS; i++) {
        snprintf(path, sizeof(path), "%s/etc/storage/%s.conf", root, pool_names[i]);
        write_text(path, "autostart 1\n");
    }
    snprintf(path, sizeof(path), "%s/etc/network/default.conf", root);
    write_text(path, "autostart 1\n");
    snprintf(path, sizeof(path), "%s/etc/secrets/iscsi-chap", root);
    write_text(path, "secret\n");
    for (i = 0; i < NGUESTS; i++)
        guest_record(i, 1);
}

/* A host boot: the tmpfs run dir is empty again (pools, networks, autostart markers). */
static void host_boot(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/run", root);
    rm_tree(path);
    make_dir("run");
}

/* ---- one daemon start, in its own process ------------------------------------------ */

struct start_result {
    int rc;
    char error[256];
    double init_ms;
    struct demo_stats stats;
};

static unsigned int rng_next(unsigned int *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* How a daemon process drives the drivers: through virtcore, or through Debian's real
 * libvirt 9.0 (libvirt.so.0, loaded in the daemon process only). */
enum engine { ENGINE_VIRTCORE, ENGINE_LIBVIRT9 };

static void daemon_child(enum demo_style style, enum engine engine, unsigned int seed,
                         unsigned int parallel, int fd)
{
    virStateDriver *drv[DEMO_NDRIVERS];
    struct start_result r;
    struct timespec t0, t1;
    int i;

    memset(&r, 0, sizeof(r));
    memset(&t0, 0, sizeof(t0));
    t1 = t0;
    demo_drivers_setup(style, drv);
    /* Module load order of this start: shuffled (Fisher-Yates), seeded per restart. */
    if (seed) {
        for (i = DEMO_NDRIVERS - 1; i > 0; i--) {
            int j = (int)(rng_next(&seed) % (unsigned int)(i + 1));
            virStateDriver *t = drv[i];
            drv[i] = drv[j];
            drv[j] = t;
        }
    }
    if (engine == ENGINE_LIBVIRT9) {
        if (lv9_open(r.error, sizeof(r.error)) < 0) {
            r.rc = -2; /* not available on this machine */
        } else {
            for (i = 0; i < DEMO_NDRIVERS && r.rc == 0; i++)
                if (lv9_register(drv[i]) < 0)
                    r.rc = -1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            if (r.rc == 0)
                r.rc = lv9_state_initialize(false, true, root, true);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (r.rc < 0)
                snprintf(r.error, sizeof(r.error), "libvirt: %s", lv9_last_error());
            if (r.rc == 0 && lv9_state_cleanup() < 0)
                r.rc = -1;
        }
    } else {
        for (i = 0; i < DEMO_NDRIVERS && r.rc == 0; i++)
            if (demo_register_driver(drv[i]) < 0)
                r.rc = -1;
        if (r.rc == 0 && virtcoreStateSetParallel(parallel) < 0)
            r.rc = -1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (r.rc == 0)
            r.rc = virStateInitialize(false, true, root, true, NULL, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (r.rc < 0)
            snprintf(r.error, sizeof(r.error), "%s", virGetLastErrorMessage());
        if (r.rc == 0 && virStateCleanup() < 0) /* the daemon exits; pools stay active */
            r.rc = -1;
    }
    r.init_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    memcpy(&r.stats, &demo_stats, sizeof(r.stats)); /* with padding: no stray bytes */
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(1);
    _exit(0);
}

static void daemon_start(enum demo_style style, enum engine engine, unsigned int seed,
                         unsigned int parallel, struct start_result *r)
{
    int fds[2], status;
    pid_t pid;

    if (pipe(fds) < 0)
        die("pipe");
    fflush(stdout);
    if ((pid = fork()) < 0)
        die("fork");
    if (pid == 0) {
        close(fds[0]);
        daemon_child(style, engine, seed, parallel, fds[1]);
    }
    close(fds[1]);
    if (read(fds[0], r, sizeof(*r)) != (ssize_t)sizeof(*r)) {
        memset(r, 0, sizeof(*r));
        r->rc = -1;
        snprintf(r->error, sizeof(r->error), "daemon process died");
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
}

/* ---- restarts per mode ------------------------------------------------------------- */

struct mode {
    const char *label;
    enum demo_style style;
    enum engine engine;
    unsigned int parallel;
    int restarts, with_kills, killed, reconnected, failed, unavailable;
    char why[256];
    double sum_ms, max_ms;
};

static void run_mode(struct mode *m, int restarts)
{
    int i, g;
    for (i = 0; i < restarts; i++) {
        struct start_result r;
        host_boot();
        for (g = 0; g < NGUESTS; g++) /* guests killed last time run again */
            guest_record(g, 1);
        daemon_start(m->style, m->engine, (unsigned int)i + 1, m->parallel, &r);
        if (r.rc == -2) { /* this engine is not available here */
            m->unavailable = 1;
            snprintf(m->why, sizeof(m->why), "%s", r.error);
            return;
        }
        m->restarts++;
        if (r.rc < 0) {
            if (!m->failed)
                fprintf(stderr, "%s: start-up failed: %s\n", m->label, r.error);
            m->failed++;
            continue;
        }
        m->killed += r.stats.guests_killed;
        m->reconnected += r.stats.guests_reconnected;
        m->with_kills += r.stats.guests_killed > 0;
        m->sum_ms += r.init_ms;
        if (r.init_ms > m->max_ms)
            m->max_ms = r.init_ms;
    }
}

/* ---- once per boot ----------------------------------------------------------------- */

static int pool_state(const struct start_result *r, const char *pool)
{
    int i;
    for (i = 0; i < r->stats.npools; i++)
        if (strcmp(r->stats.pool_names[i], pool) == 0)
            return r->stats.pool_active[i];
    return -1;
}

static void print_start(const char *label, const char *autostart, const struct start_result *r)
{
    int i;
    if (r->rc < 0) {
        printf("  %-28s start-up FAILED: %s\n", label, r->error);
        return;
    }
    printf("  %-28s %-18s", label, r->stats.storage_autostart_ran ? autostart : "skipped (marker)");
    for (i = 0; i < r->stats.npools; i++)
        printf(" %-8s", r->stats.pool_active[i] ? "on" : "OFF");
    printf(" %11d %7d\n", r->stats.guests_reconnected, r->stats.guests_killed);
}

static int once_per_boot(void)
{
    struct start_result a, b, c;
    char path[PATH_MAX];
    int g, ok;

    printf("\nOnce-per-boot autostart (tiered mode; one host boot, so the run dir with the\n"
           "autostart markers survives daemon restarts):\n\n");
    host_boot();
    for (g = 0; g < NGUESTS; g++)
        guest_record(g, 1);
    daemon_start(STYLE_TIERED, ENGINE_VIRTCORE, 7, 0, &a);
    printf("  %-28s %-18s %-8s %-8s %-8s %11s %7s\n", "", "storage autostart", "backup",
           "default", "images", "reconnected", "killed");
    print_start("start 1 (after the boot)", "ran", &a);

    /* The user shuts down the two guests on 'backup' and stops the pool (virsh
     * pool-destroy removes its status file from the run dir). */
    for (g = 0; g < NGUESTS; g++)
        if (strcmp(guest_pool(g), "backup") == 0)
            guest_record(g, 0);
    snprintf(path, sizeof(path), "%s/run/storage/backup.active", root);
    if (remove(path) < 0)
        die(path);
    printf("  %-28s shuts down the 2 guests on pool 'backup', stops the pool\n", "the user");

    daemon_start(STYLE_TIERED, ENGINE_VIRTCORE, 8, 0, &b);
    print_start("start 2 (same boot)", "ran", &b);
    daemon_start(STYLE_LIBVIRT9, ENGINE_VIRTCORE, 8, 0, &c);
    print_start("libvirt-9 style (same boot)", "ran (inside init)", &c);

    ok = a.rc == 0 && a.stats.storage_autostart_ran && a.stats.guests_killed == 0 &&
         a.stats.guests_reconnected == NGUESTS && b.rc == 0 &&
         !b.stats.storage_autostart_ran && pool_state(&b, "backup") == 0 &&
         pool_state(&b, "default") == 1 && pool_state(&b, "images") == 1 &&
         b.stats.guests_killed == 0 && b.stats.guests_reconnected == NGUESTS - 2;
    printf("\n  start 2 reconnected the pools recorded active in the run dir and the guests on\n"
           "  them; its autostart was skipped (marker run/virtcore/autostart/storage from\n"
           "  start 1), so 'backup' stays stopped as the user wanted: %s.\n",
           ok ? "as expected" : "UNEXPECTED");
    if (c.rc == 0)
        printf("  Without the marker (libvirt-9 style, autostart inside init) the restart starts\n"
               "  'backup' again (%s): the user's stop is undone (libvirt BZ 1755303).\n",
               pool_state(&c, "backup") == 1 ? "backup=on" : "backup=OFF");
    return ok ? 0 : -1;
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct mode modes[] = {
        {.label = "real libvirt 9.0 (Debian libvirt.so.0)", .style = STYLE_LIBVIRT9, .engine = ENGINE_LIBVIRT9, .parallel = 0},
        {.label = "flat, libvirt-9 style, autostart in init", .style = STYLE_LIBVIRT9, .engine = ENGINE_VIRTCORE, .parallel = 0},
        {.label = "flat, one tier with autostart hooks", .style = STYLE_FLAT_HOOKS, .engine = ENGINE_VIRTCORE, .parallel = 0},
        {.label = "tiered (needs declared)", .style = STYLE_TIERED, .engine = ENGINE_VIRTCORE, .parallel = 0},
        {.label = "tiered, parallel within tier (2 threads)", .style = STYLE_TIERED, .engine = ENGINE_VIRTCORE, .parallel = 2},
    };
    const int nmodes = (int)(sizeof(modes) / sizeof(modes[0]));
    int restarts = DEFAULT_RESTARTS, i, fail = 0;

    if (argc > 2 || (argc == 2 && (restarts = atoi(argv[1])) < 1) || restarts > 100000) {
        fprintf(stderr, "usage: %s [RESTARTS]   (1..100000, default %d)\n", argv[0],
                DEFAULT_RESTARTS);
        return 2;
    }
    host_create();

    printf("virtcore: a memory-safe library with libvirt 9.0's C ABI for virtualization daemons "
           "(tiered state drivers, domain object list, lock manager).\n\n");
    printf("virtcore demo daemon: %d restarts per mode\n\n"
           "Host: storage pools default, images, backup (all autostart), network 'default',\n"
           "one secret, and %d guests recorded as running, two on each pool. Each restart is\n"
           "a host boot (empty run dir: every pool inactive until autostarted) followed by a\n"
           "daemon start in a new process. Drivers: secret, storage, network, qemu; qemu\n"
           "reconnects to the running guests in its init and kills every guest whose pool is\n"
           "not active. Module load order is shuffled on every restart (fixed seeds).\n\n",
           restarts, NGUESTS);
    printf("%-44s %8s %12s %7s %7s %15s\n", "mode", "restarts", "restarts", "guests",
           "guests", "start-up ms");
    printf("%-44s %8s %12s %7s %7s %15s\n", "", "", "with kills", "killed", "reconn.",
           "mean     max");
    for (i = 0; i < nmodes; i++) {
        struct mode *m = &modes[i];
        int ok;
        run_mode(m, restarts);
        if (m->unavailable) {
            printf("%-44s not available here: %s\n", m->label, m->why);
            continue;
        }
        ok = m->restarts - m->failed;
        printf("%-44s %8d %5d (%3d%%) %7d %7d %7.2f %7.2f\n", m->label, m->restarts,
               m->with_kills, m->restarts ? 100 * m->with_kills / m->restarts : 0, m->killed,
               m->reconnected, ok ? m->sum_ms / ok : 0.0, m->max_ms);
        if (m->failed) {
            printf("%-44s %d start-up(s) FAILED\n", "", m->failed);
            fail = 1;
        }
        if (m->style == STYLE_TIERED && m->killed != 0)
            fail = 1;
    }
    printf("\n"
           "- real libvirt 9.0: the same C drivers (autostart inside init) registered with\n"
           "  Debian's libvirt.so.0 (its virRegisterStateDriver / virStateInitialize,\n"
           "  LIBVIRT_PRIVATE_9.0.0), in the shuffled order: the status quo.\n"
           "- flat, libvirt-9 style: libvirt 9 has no autostart hook; each driver autostarts\n"
           "  in its own stateInitialize, all in one tier. Whether qemu reconnects before or\n"
           "  after storage started the pools depends on the module load order: about half\n"
           "  of the restarts kill guests.\n"
           "- flat, one tier with autostart hooks: virtcore runs every init of a tier before\n"
           "  its autostarts, so with a single tier qemu reconnects before any pool is\n"
           "  started: every restart kills every guest. Hooks alone are not enough.\n"
           "- tiered: secret, storage, network in tier 0 (VIR_DRV_STATE_DRV_LIBVIRT), qemu in\n"
           "  tier 1 (VIR_DRV_STATE_DRV_HYPERVISOR) with needs = secret, storage,\n"
           "  network: tier 0 is initialized and autostarted before qemu starts, whatever\n"
           "  the load order. No guest is killed.\n");

    if (once_per_boot() < 0)
        fail = 1;
    if (demo_domains() < 0)
        fail = 1;
    if (demo_bench(root) < 0)
        fail = 1;
    if (demo_locks(root) < 0)
        fail = 1;

    rm_tree(root);
    printf("\n%s\n", fail ? "virtcore-demo: UNEXPECTED RESULTS (see above)"
                          : "virtcore-demo: all expectations held");
    return fail;
}
