/* bench_lock_daemon: libvirt's daemon-side lock cycle, in µs per cycle, for the lockspace
 * plugin and for Debian's lockd.so + virtlockd, both loaded by Debian's libvirt 9.0 loader
 * in one run. One cycle is what libvirt's qemu driver does for a guest started paused and
 * then resumed:
 *   guest process (QEMU before exec): new + add disk + acquire(REGISTER_ONLY) + free
 *   daemon process: new(pid = guest) + add disk + acquire(0) (resume) + release + free
 * The guest process is a child that lives for the whole run (a pipe hands it each cycle;
 * the hand-off costs the same for both drivers). lockd needs a running virtlockd
 * (`make bench` starts a private one in its own mount namespace). A program, not a test:
 * it never fails on timing. */
#include "bench_lock_cycle.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5000;
    if (n <= 0)
        n = 5000;
    char root[64] = "/tmp/lock-daemon-bench-XXXXXX", disk[PATH_MAX];
    if (virInitialize() < 0 || lv_bench_tree(root, disk) < 0)
        return 1;

    struct plugin_runs r;
    run_plugins(&r, root, disk, n);
    print_plugins(&r);
    if (r.ls_cycle > 0 && r.lk_cycle > 0)
        printf("  lockspace is %.1fx faster (goal: 20x); without the hand-off %.1fx\n",
               r.lk_cycle / r.ls_cycle,
               (r.lk_cycle - handoff_us) / (r.ls_cycle - handoff_us));
    unref_plugins(&r);
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) != 0;
}
