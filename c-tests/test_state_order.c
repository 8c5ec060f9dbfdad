/* test_state_order.c: tiers ascending, registration order inside a tier, every init of a
 * tier before its autostarts, cleanup in reverse; the arguments of virStateInitialize
 * (privileged, root, monolithic, inhibit callback, opaque) passed through to every driver;
 * the default autostart run dir for each combination of root / privileged. */
#include "test_state_util.h"

static char tmp[64];

struct inhibit_log {
    int on, off;
};

static void inhibit_cb(bool inhibit, void *opaque)
{
    struct inhibit_log *log = opaque;
    if (inhibit)
        log->on++;
    else
        log->off++;
}

/* Tiers 0, 1, 2 registered interleaved; g has no autostart hook. */
static int tiers_and_args(void)
{
    struct inhibit_log log = {0, 0};
    char root[128], path[256];

    TD_REGISTER(0, "h1", VIR_DRV_STATE_DRV_HYPERVISOR, 0);
    TD_REGISTER(1, "s1", VIR_DRV_STATE_DRV_LIBVIRT, 1);
    TD_REGISTER(2, "x1", 2, 2);
    TD_REGISTER(3, "h2", VIR_DRV_STATE_DRV_HYPERVISOR, 3);
    TD_REGISTER(4, "s2", VIR_DRV_STATE_DRV_LIBVIRT, 4);
    TD_REGISTER(5, "g", VIR_DRV_STATE_DRV_LIBVIRT, 5);
    TD_REGISTER(6, "x0", 7, 6);
    tds[5].ext.stateAutoStart = NULL;
    tds[3].call_inhibit = true;

    snprintf(root, sizeof(root), "%s/root", tmp);
    CHECK(mkdir(root, 0755) == 0);
    CHECK(virStateInitialize(false, true, root, true, inhibit_cb, &log) == 0);
    CHECK_TRACE("init:s1 init:s2 init:g auto:s1 auto:s2 "
                "init:h1 init:h2 auto:h1 auto:h2 "
                "init:x1 auto:x1 init:x0 auto:x0");
    for (int i = 0; i < 7; i++) {
        CHECK(tds[i].drv.initialized);
        CHECK(tds[i].n_init == 1);
        CHECK(!tds[i].seen_privileged);
        CHECK(tds[i].seen_monolithic);
        CHECK(strcmp(tds[i].seen_root, root) == 0);
        CHECK(tds[i].seen_cb == inhibit_cb);
        CHECK(tds[i].seen_opaque == &log);
    }
    /* The callback reached the daemon with its opaque. */
    CHECK(log.on == 1 && log.off == 1);

    /* Default run dir with a root: ROOT/run/virtcore/autostart/NAME holding the boot id. */
    snprintf(path, sizeof(path), "%s/run/virtcore/autostart/s1", root);
    CHECK(file_exists(path));
    CHECK(strcmp(read_line(path), boot_id()) == 0);
    snprintf(path, sizeof(path), "%s/run/virtcore/autostart/g", root);
    CHECK(!file_exists(path)); /* no autostart hook, no marker */

    trace_reset();
    CHECK(virStateCleanup() == 0);
    CHECK_TRACE("cleanup:x0 cleanup:x1 cleanup:h2 cleanup:h1 cleanup:g cleanup:s2 cleanup:s1");
    for (int i = 0; i < 7; i++)
        CHECK(!tds[i].drv.initialized);

    /* Registration is open again; a later driver joins its tier in registration order.
     * Same boot, same run dir: the autostarts are not run again. */
    TD_REGISTER(7, "s3", VIR_DRV_STATE_DRV_LIBVIRT, 7);
    trace_reset();
    CHECK(virStateInitialize(false, true, root, true, inhibit_cb, &log) == 0);
    CHECK_TRACE("init:s1 init:s2 init:g init:s3 auto:s3 init:h1 init:h2 init:x1 init:x0");
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* privileged, no root, monolithic false, no callback: passed through as given. The run
 * dir is set explicitly, so /run is not touched. */
static int other_args(void)
{
    char rundir[128], path[256];
    snprintf(rundir, sizeof(rundir), "%s/explicit", tmp);
    TD_REGISTER(0, "a", 0, 0);
    TD_REGISTER(1, "b", 1, 1);
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
    CHECK(virStateInitialize(true, false, NULL, false, NULL, NULL) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK(tds[i].seen_privileged);
        CHECK(!tds[i].seen_monolithic);
        CHECK(tds[i].seen_root_null);
        CHECK(tds[i].seen_cb == NULL);
        CHECK(tds[i].seen_opaque == NULL);
    }
    snprintf(path, sizeof(path), "%s/autostart/a", rundir);
    CHECK(strcmp(read_line(path), boot_id()) == 0);
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* Unprivileged without root: $XDG_RUNTIME_DIR/virtcore/PROGRAM (the executable's name). */
static int xdg_run_dir(void)
{
    char xdg[128], path[256];
    snprintf(xdg, sizeof(xdg), "%s/xdg", tmp);
    CHECK(mkdir(xdg, 0700) == 0);
    CHECK(setenv("XDG_RUNTIME_DIR", xdg, 1) == 0);
    TD_REGISTER(0, "userdrv", 0, 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == 0);
    CHECK(tds[0].n_auto == 1);
    snprintf(path, sizeof(path), "%s/virtcore/test_state_order/autostart/userdrv", xdg);
    CHECK(strcmp(read_line(path), boot_id()) == 0);
    CHECK(virStateCleanup() == 0);
    return 0;
}

/* The shared directories a default run dir lives in (BASE, BASE/test_state_order,
 * .../autostart): which existed before the test, so that it removes only the ones it
 * created, with rmdir (only when empty: a concurrent user's files stay). */
struct run_dirs {
    char path[3][256];
    int existed[3];
};

static void run_dirs_note(struct run_dirs *d, const char *base)
{
    int i;
    snprintf(d->path[0], sizeof(d->path[0]), "%s", base);
    snprintf(d->path[1], sizeof(d->path[1]), "%s/test_state_order", base);
    snprintf(d->path[2], sizeof(d->path[2]), "%s/test_state_order/autostart", base);
    for (i = 0; i < 3; i++)
        d->existed[i] = access(d->path[i], F_OK) == 0;
}

static void run_dirs_remove_new(const struct run_dirs *d)
{
    int i;
    for (i = 2; i >= 0; i--)
        if (!d->existed[i])
            rmdir(d->path[i]);
}

/* Unprivileged, no root, no XDG_RUNTIME_DIR: /tmp/virtcore-EUID/PROGRAM (a unique driver name, its
 * marker and the directories the test created removed afterwards). */
static int tmp_run_dir(void)
{
    char name[64], path[256];
    struct run_dirs dirs;
    CHECK(unsetenv("XDG_RUNTIME_DIR") == 0);
    snprintf(path, sizeof(path), "/tmp/virtcore-%ld", (long)geteuid());
    run_dirs_note(&dirs, path);
    snprintf(name, sizeof(name), "ordertest-%ld", (long)getpid());
    TD_REGISTER(0, name, 0, 0);
    CHECK(virStateInitialize(false, false, NULL, false, NULL, NULL) == 0);
    CHECK(tds[0].n_auto == 1);
    snprintf(path, sizeof(path), "/tmp/virtcore-%ld/test_state_order/autostart/%s", (long)geteuid(),
             name);
    CHECK(strcmp(read_line(path), boot_id()) == 0);
    unlink(path);
    CHECK(virStateCleanup() == 0);
    run_dirs_remove_new(&dirs);
    return 0;
}

/* Privileged, no root: /run/virtcore/PROGRAM (only checked when we may write there; what
 * the test created is removed afterwards). */
static int privileged_run_dir(void)
{
    char name[64], path[256];
    struct run_dirs dirs;
    run_dirs_note(&dirs, "/run/virtcore");
    snprintf(name, sizeof(name), "ordertest-%ld", (long)getpid());
    TD_REGISTER(0, name, 0, 0);
    CHECK(virStateInitialize(true, false, NULL, false, NULL, NULL) == 0);
    CHECK(tds[0].n_auto == 1);
    snprintf(path, sizeof(path), "/run/virtcore/test_state_order/autostart/%s", name);
    if (geteuid() == 0) {
        CHECK(strcmp(read_line(path), boot_id()) == 0);
        unlink(path);
    }
    CHECK(virStateCleanup() == 0);
    run_dirs_remove_new(&dirs);
    return 0;
}

int main(void)
{
    CHECK(make_tmpdir(tmp, sizeof(tmp)));
    CHECK_FORKED(tiers_and_args);
    CHECK_FORKED(other_args);
    CHECK_FORKED(xdg_run_dir);
    CHECK_FORKED(tmp_run_dir);
    CHECK_FORKED(privileged_run_dir);
    rm_tree(tmp);
    TEST_DONE();
}
