/* bench_lock_cycle.h: the daemon-side lock cycle of libvirt's qemu driver, shared by
 * bench_lock_daemon.c and bench_lock_floor.c (a guest process that lives for the whole
 * run, a pipe that hands it each cycle, fastest of several rounds). One cycle is what
 * libvirt does for a guest started paused and then resumed:
 *   guest process (QEMU before exec): new + add disk + acquire(REGISTER_ONLY) + free
 *   daemon process: new(pid = guest) + add disk + acquire(0) (resume) + release + free
 * Programs, not tests: they never fail on timing. */
#ifndef VIRTCORE_BENCH_LOCK_CYCLE_H
#define VIRTCORE_BENCH_LOCK_CYCLE_H

#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt_lock_private.h"

#define REGISTER_ONLY 1 /* VIR_LOCK_MANAGER_ACQUIRE_REGISTER_ONLY */

static void params(lvParam *p, pid_t pid)
{
    memset(p, 0, 4 * sizeof(*p));
    p[0].type = 7; p[0].key = "uuid";
    for (int i = 0; i < 16; i++) /* libvirt rejects UUIDs of one repeated byte */
        p[0].value.uuid[i] = (unsigned char)(0x42 + i);
    p[1].type = 0; p[1].key = "name"; p[1].value.cstr = "bench";
    p[2].type = 4; p[2].key = "id"; p[2].value.ui = 1;
    p[3].type = 4; p[3].key = "pid"; p[3].value.ui = (unsigned)pid;
}

struct guest {
    pid_t pid;
    int cmd, reply; /* pipes: daemon -> guest, guest -> daemon */
};

/* The guest process: on each 'r' it registers the disk as libvirt's child does before
 * exec'ing QEMU, keeping the descriptor lockd hands back (QEMU inherits it) until the
 * next cycle; replies 'k' or 'e'. Exits on EOF. */
static void guest_loop(void *driver, const char *disk, int cmd, int reply)
{
    lvParam p[4];
    char c;
    int keep = -1;
    params(p, getpid());
    while (read(cmd, &c, 1) == 1) {
        if (c == 'n') { /* the hand-off alone */
            if (write(reply, &c, 1) != 1)
                break;
            continue;
        }
        int fd = -1;
        void *lock = virLockManagerNew(driver, 0, 4, p, 0);
        bool ok = lock && virLockManagerAddResource(lock, 0, disk, 0, NULL, 0) == 0 &&
                  virLockManagerAcquire(lock, NULL, REGISTER_ONLY, 0, &fd) == 0;
        if (!ok)
            fprintf(stderr, "  (guest side failed: %s)\n", lasterr());
        virLockManagerFree(lock);
        if (keep >= 0)
            close(keep);
        keep = fd;
        c = ok ? 'k' : 'e';
        if (write(reply, &c, 1) != 1)
            break;
    }
    _exit(0);
}

static int guest_start(struct guest *g, void *driver, const char *disk)
{
    int a[2], b[2];
    if (pipe(a) < 0 || pipe(b) < 0)
        return -1;
    fflush(NULL);
    if ((g->pid = fork()) < 0)
        return -1;
    if (g->pid == 0) {
        close(a[1]);
        close(b[0]);
        guest_loop(driver, disk, a[0], b[1]);
    }
    close(a[0]);
    close(b[1]);
    g->cmd = a[1];
    g->reply = b[0];
    return 0;
}

/* The pipe round trip to the guest process alone, µs (fastest of 5 rounds of n). */
static double handoff(struct guest *g, int n)
{
    double best = -1;
    for (int r = 0; r < 5; r++) {
        double t0 = now_us();
        for (int i = 0; i < n; i++) {
            char c = 'n';
            if (write(g->cmd, &c, 1) != 1 || read(g->reply, &c, 1) != 1)
                return -1;
        }
        double t = (now_us() - t0) / n;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

static double handoff_us = -1;

static void guest_stop(struct guest *g)
{
    int st;
    close(g->cmd);
    close(g->reply);
    waitpid(g->pid, &st, 0);
}

/* Time of the last round spent waiting for the guest's side (hand-off included), µs per
 * cycle. */
static double guest_part;

/* n daemon-side cycles; -1 on failure (message printed). */
/* 0: the daemon resumes and pauses through one manager (the cycle of issue 8 item 8);
 * 1: the pause through a manager of its own, as libvirt's qemu driver does it
 * (virDomainLockProcessResume and virDomainLockProcessPause each make and free one). */
static int pause_own_manager;

/* The daemon's manager for the guest's disk; NULL on failure. */
static void *daemon_manager(void *driver, lvParam *p, const char *disk)
{
    void *lock = virLockManagerNew(driver, 0, 4, p, 0);
    if (lock && virLockManagerAddResource(lock, 0, disk, 0, NULL, 0) < 0) {
        virLockManagerFree(lock);
        return NULL;
    }
    return lock;
}

static double cycles(struct guest *g, void *driver, const char *disk, int n)
{
    lvParam p[4];
    char c = 'r';
    params(p, g->pid);
    double t0 = now_us(), tg = 0;
    for (int i = 0; i < n; i++) {
        double t1 = now_us();
        if (write(g->cmd, &c, 1) != 1 || read(g->reply, &c, 1) != 1 || c != 'k')
            return -1;
        tg += now_us() - t1;
        c = 'r';
        int fd = -1;
        void *lock = daemon_manager(driver, p, disk);
        bool ok = lock && virLockManagerAcquire(lock, NULL, 0, 0, &fd) == 0;
        if (ok && pause_own_manager) {
            virLockManagerFree(lock);
            ok = (lock = daemon_manager(driver, p, disk)) != NULL;
        }
        if (!ok || virLockManagerRelease(lock, NULL, 0) < 0) {
            printf("  (daemon side failed: %s)\n", lasterr());
            if (lock)
                virLockManagerFree(lock);
            return -1;
        }
        virLockManagerFree(lock);
        if (fd >= 0)
            close(fd);
    }
    guest_part = tg / n;
    return (now_us() - t0) / n;
}

/* Fastest of `rounds` rounds of n cycles (the 2-core machine is shared with builds). */
static double run(lvPlugin *plugin, const char *disk, int n, int warm, int rounds,
                  double *guest_best)
{
    struct guest g;
    double best = -1;
    if (guest_start(&g, plugin->driver, disk) < 0)
        return -1;
    if (handoff_us < 0)
        handoff_us = handoff(&g, n);
    if (cycles(&g, plugin->driver, disk, warm) >= 0) {
        for (int r = 0; r < rounds; r++) {
            double t = cycles(&g, plugin->driver, disk, n);
            if (t < 0) {
                best = -1;
                break;
            }
            if (best < 0 || t < best) {
                best = t;
                *guest_best = guest_part;
            }
        }
    }
    guest_stop(&g);
    return best;
}


/* lockspace and lockd.so + virtlockd through libvirt's loader, one after the other. */
struct plugin_runs {
    lvPlugin *ls, *lk;
    int n, nl;
    double ls_cycle, lk_cycle, ls_guest, lk_guest;
};

static void run_plugins(struct plugin_runs *r, const char *root, const char *disk, int n)
{
    memset(r, 0, sizeof(*r));
    r->ls_cycle = r->lk_cycle = -1;
    r->n = n;
    setenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR", LOCKSPACE_DIR, 1);
    r->ls = virLockManagerPluginNew("lockspace", "qemu", root, 0);
    if (r->ls)
        r->ls_cycle = run(r->ls, disk, n, 200, 5, &r->ls_guest);
    else
        printf("lockspace: cannot load: %s\n", lasterr());

    unsetenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR"); /* Debian's lockd.so, default directory */
    r->nl = n / 20 > 0 ? n / 20 : 1;
    r->lk = virLockManagerPluginNew("lockd", "qemu", root, 0);
    if (r->lk)
        r->lk_cycle = run(r->lk, disk, r->nl, 20, 5, &r->lk_guest);
    else
        printf("lockd: cannot load: %s\n", lasterr());
}

static void print_plugins(const struct plugin_runs *r)
{
    printf("daemon-side lock cycle (guest: new + add + acquire(REGISTER_ONLY) + free;\n"
           "daemon: new(pid=guest) + add + acquire (resume) + release + free), via libvirt\n"
           "9.0's loader, fastest of 5 rounds:\n");
    if (r->ls_cycle > 0)
        printf("  %-30s %10.2f us/cycle (guest side + hand-off %.2f; rounds of %d)\n",
               "lockspace.so (virtcore)", r->ls_cycle, r->ls_guest, r->n);
    else
        printf("  %-30s %10s (failed)\n", "lockspace.so (virtcore)", "-");
    if (r->lk_cycle > 0)
        printf("  %-30s %10.2f us/cycle (guest side + hand-off %.2f; rounds of %d)\n",
               "lockd.so + virtlockd (Debian)", r->lk_cycle, r->lk_guest, r->nl);
    else
        printf("  %-30s %10s (failed or no virtlockd reachable)\n",
               "lockd.so + virtlockd (Debian)", "-");
    printf("  %-30s %10.2f us (pipe round trip to the guest process, in both)\n",
           "hand-off alone", handoff_us);
}

static void unref_plugins(struct plugin_runs *r)
{
    if (r->lk)
        virLockManagerPluginUnref(r->lk);
    if (r->ls)
        virLockManagerPluginUnref(r->ls);
}

#endif
