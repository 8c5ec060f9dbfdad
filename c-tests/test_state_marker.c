/* test_state_marker.c: autostart runs once per boot. After a driver's stateAutoStart ran,
 * RUNDIR/autostart/NAME holds the boot id; a daemon restart (a new process) with the same
 * run dir skips that autostart, a different run dir does not, a marker from another boot
 * does not count, and an unusable run dir never fails the start (autostart then runs). */
#include "test_state_util.h"

static char dir1[128], dir2[128], dir3[128];
static const char *rundir;

static void setup(void)
{
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "network", 0, 1);
    TD_REGISTER(2, "plain", 0, 2);
    TD_REGISTER(3, "qemu", 1, 3);
    tds[2].ext.stateAutoStart = NULL;
    CHECK(virtcoreStateSetRunDir(rundir) == 0);
}

static int daemon_autostarts(void)
{
    setup();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:storage init:network init:plain auto:storage auto:network "
                "init:qemu auto:qemu");
    CHECK(virStateCleanup() == 0);
    return 0;
}

static int daemon_skips(void)
{
    setup();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_TRACE("init:storage init:network init:plain init:qemu");
    CHECK(tds[0].drv.initialized && tds[3].drv.initialized);
    CHECK(virStateCleanup() == 0);
    /* Also within one process: a second start after cleanup is still the same boot. */
    trace_reset();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_STR(trace_only("auto:"), "");
    CHECK(virStateCleanup() == 0);
    return 0;
}

static int daemon_stale(void)
{
    setup();
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK_STR(trace_only("auto:"), "auto:storage auto:qemu");
    CHECK(virStateCleanup() == 0);
    return 0;
}

static void marker(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/autostart/%s", dir, name);
}

int main(void)
{
    char path[300];
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    snprintf(dir1, sizeof(dir1), "%s/run1", td_base);
    snprintf(dir2, sizeof(dir2), "%s/run2", td_base);
    snprintf(dir3, sizeof(dir3), "%s/run3", td_base);

    /* First daemon start of the boot: autostarts run, markers written. */
    rundir = dir1;
    CHECK_FORKED(daemon_autostarts);
    marker(path, sizeof(path), dir1, "storage");
    CHECK(strcmp(read_line(path), boot_id()) == 0);
    marker(path, sizeof(path), dir1, "qemu");
    CHECK(strcmp(read_line(path), boot_id()) == 0);
    marker(path, sizeof(path), dir1, "plain");
    CHECK(!file_exists(path));

    /* Restart in the same boot, same run dir: no autostart. */
    CHECK_FORKED(daemon_skips);

    /* Another run dir (e.g. a new boot's empty tmpfs): autostarts run again. */
    rundir = dir2;
    CHECK_FORKED(daemon_autostarts);

    /* A marker from another boot is stale: autostart runs and the marker is renewed.
     * Only storage's marker is stale; network's is current, so network is skipped. */
    rundir = dir3;
    CHECK(mkdir(dir3, 0755) == 0);
    snprintf(path, sizeof(path), "%s/autostart", dir3);
    CHECK(mkdir(path, 0755) == 0);
    marker(path, sizeof(path), dir3, "storage");
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("00000000-0000-0000-0000-000000000000\n", f) >= 0 && fclose(f) == 0);
    marker(path, sizeof(path), dir3, "network");
    f = fopen(path, "w");
    CHECK(f && fprintf(f, "%s\n", boot_id()) > 0 && fclose(f) == 0);
    CHECK_FORKED(daemon_stale);
    marker(path, sizeof(path), dir3, "storage");
    CHECK(strcmp(read_line(path), boot_id()) == 0);

    /* An unusable run dir (a regular file in the way): start-up works, autostart runs
     * every time. */
    snprintf(path, sizeof(path), "%s/file", td_base);
    f = fopen(path, "w");
    CHECK(f && fclose(f) == 0);
    static char blocked[320];
    snprintf(blocked, sizeof(blocked), "%s/sub", path);
    rundir = blocked;
    CHECK_FORKED(daemon_autostarts);
    CHECK_FORKED(daemon_autostarts);

    rm_tree(td_base);
    TEST_DONE();
}
