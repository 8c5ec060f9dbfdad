/* test_state_rundir.c: the autostart run directory against a hostile local user.
 * Runs as root and makes "someone else" real with chown to spare uids and setuid in forked
 * children. Each attack must leave the victim's files alone, never skip an autostart on a
 * planted marker, never block, and be logged (checked through the log callback):
 * - a run dir owned by someone else (fake marker, planted symlink): refused;
 * - a run dir or its autostart/ writable by group/others: refused;
 * - /tmp/virtcore-UID created first by another user: refused; created by us: mode 0700;
 * - a FIFO or a symlink as marker in our own dir: not followed, not blocking, replaced;
 * - a marker that cannot be written: a warning;
 * - two daemons (different executables) with a `storage` driver: separate markers. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#include "test_state_util.h"

static uid_t spare, spare2; /* "another user" and "the victim" */
static char logbuf[16384];
static int warnings;

static void log_cb(int priority, const char *source, const char *message, void *opaque)
{
    (void)source;
    (void)opaque;
    if (priority >= VIR_LOG_WARN) {
        size_t len = strlen(logbuf);
        snprintf(logbuf + len, sizeof(logbuf) - len, "%s\n", message);
        warnings++;
    }
}

#define CHECK_LOG(needle)                                                             \
    do {                                                                              \
        testutil_checks++;                                                            \
        if (!strstr(logbuf, (needle))) {                                              \
            fprintf(stderr, "%s:%d: log lacks \"%s\":\n%s", __FILE__, __LINE__,        \
                    (needle), logbuf);                                                \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static const char *victim(void)
{
    static char p[128];
    snprintf(p, sizeof(p), "%s/victim", td_base);
    return p;
}

/* Registers storage and network (tier 0, with autostart), logs warnings into logbuf. */
static void setup(const char *rundir)
{
    alarm(120); /* a blocked open (FIFO) fails the test instead of hanging it */
    virtcoreLogSetCallback(log_cb, NULL);
    CHECK(virtcoreLogSetLevel(VIR_LOG_WARN) == 0);
    TD_REGISTER(0, "storage", 0, 0);
    TD_REGISTER(1, "network", 0, 1);
    if (rundir)
        CHECK(virtcoreStateSetRunDir(rundir) == 0);
}

static void start_expect_autostart(void)
{
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(tds[0].n_auto == 1 && tds[1].n_auto == 1);
    CHECK(virStateCleanup() == 0);
    CHECK(strcmp(read_line(victim()), "precious") == 0);
}

/* A run dir with autostart/storage = a fake current marker and autostart/network = a
 * symlink to the victim. */
static void plant(const char *dir, uid_t owner, mode_t mode, mode_t automode)
{
    char p[256];
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(p, sizeof(p), "%s/autostart", dir);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/autostart/storage", dir);
    write_file(p, boot_id());
    snprintf(p, sizeof(p), "%s/autostart/network", dir);
    CHECK(symlink(victim(), p) == 0);
    snprintf(p, sizeof(p), "%s/autostart", dir);
    CHECK(chown(p, owner, owner) == 0 && chmod(p, automode) == 0);
    CHECK(chown(dir, owner, owner) == 0 && chmod(dir, mode) == 0);
}

static char dir_foreign[128], dir_open[128], dir_open_sub[128], dir_own[128], dir_new[128];

static int foreign_owned(void)
{
    setup(dir_foreign);
    start_expect_autostart();
    char msg[256];
    snprintf(msg, sizeof(msg), "is owned by uid %ld, not by this process", (long)spare);
    CHECK_LOG(msg);
    CHECK_LOG("autostart run directory refused");
    CHECK_LOG("cannot record autostart of 'storage'");
    return 0;
}

static int others_writable(void)
{
    setup(dir_open);
    start_expect_autostart();
    CHECK_LOG("is writable by group or others (mode 0777)");
    return 0;
}

static int autostart_subdir_writable(void)
{
    setup(dir_open_sub);
    start_expect_autostart();
    CHECK_LOG("/autostart' is writable by group or others (mode 0757)");
    return 0;
}

/* Our own 0700 dir holding a FIFO and a symlink where the markers go. */
static int fifo_and_symlink(void)
{
    char p[256];
    setup(dir_own);
    start_expect_autostart();
    CHECK_LOG("autostart marker '");
    CHECK_LOG("/autostart/storage' is not a regular file");
    /* Both replaced by real markers (the symlink itself, not its target). */
    struct stat st;
    snprintf(p, sizeof(p), "%s/autostart/storage", dir_own);
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(strcmp(read_line(p), boot_id()) == 0);
    snprintf(p, sizeof(p), "%s/autostart/network", dir_own);
    CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    return 0;
}

/* A run dir that does not exist yet is created 0700, its autostart/ too. */
static int created_private(void)
{
    char p[256];
    struct stat st;
    setup(dir_new);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(virStateCleanup() == 0);
    CHECK(stat(dir_new, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(p, sizeof(p), "%s/autostart", dir_new);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(warnings == 0);
    return 0;
}

/* A marker that cannot be written (a non-empty directory in its place): a warning. */
static char dir_blocked[128];
static int unwritable_marker(void)
{
    setup(dir_blocked);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(tds[0].n_auto == 1 && tds[1].n_auto == 1);
    CHECK(virStateCleanup() == 0);
    CHECK_LOG("cannot record autostart of 'storage' in '");
    return 0;
}

/* The victim (spare2) without XDG_RUNTIME_DIR: /tmp/virtcore-SPARE2/PROGRAM. */
static char tmpdir_victim[64];
static int as_victim(void)
{
    CHECK(unsetenv("XDG_RUNTIME_DIR") == 0);
    setup(NULL);
    CHECK(setgid(spare2) == 0 && setuid(spare2) == 0);
    start_expect_autostart();
    return 0;
}

static int victim_again_skips(void)
{
    CHECK(unsetenv("XDG_RUNTIME_DIR") == 0);
    setup(NULL);
    CHECK(setgid(spare2) == 0 && setuid(spare2) == 0);
    CHECK(virStateInitialize(false, true, NULL, false, NULL, NULL) == 0);
    CHECK(tds[0].n_auto == 0 && tds[1].n_auto == 0);
    CHECK(virStateCleanup() == 0);
    return 0;
}

static void tmp_run_dir_attacks(void)
{
    char p[256], cmd[300];
    struct stat st;
    snprintf(tmpdir_victim, sizeof(tmpdir_victim), "/tmp/virtcore-%ld", (long)spare2);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir_victim);
    CHECK(system(cmd) == 0);
    /* Another user got there first and planted a fake marker and a symlink. */
    CHECK(mkdir(tmpdir_victim, 0755) == 0);
    snprintf(p, sizeof(p), "%s/test_state_rundir", tmpdir_victim);
    plant(p, spare, 0755, 0755);
    CHECK(chown(tmpdir_victim, spare, spare) == 0);
    CHECK(chown(victim(), spare2, spare2) == 0); /* the victim's own file */
    CHECK_FORKED(as_victim);
    CHECK(strcmp(read_line(victim()), "precious") == 0);
    CHECK(system(cmd) == 0);
    /* Created by the victim itself: private, and its marker holds across a restart. */
    CHECK_FORKED(as_victim);
    CHECK(stat(tmpdir_victim, &st) == 0 && (st.st_mode & 0777) == 0700 &&
          st.st_uid == spare2);
    snprintf(p, sizeof(p), "%s/test_state_rundir/autostart/storage", tmpdir_victim);
    CHECK(strcmp(read_line(p), boot_id()) == 0);
    CHECK_FORKED(victim_again_skips);
    CHECK(system(cmd) == 0);
}

/* Two daemons: copies of this program under two names, same XDG_RUNTIME_DIR. */
static int daemon_main(void)
{
    TD_REGISTER(0, "storage", 0, 0);
    if (virStateInitialize(false, true, NULL, false, NULL, NULL) != 0)
        return 1;
    int ran = tds[0].n_auto;
    virStateCleanup();
    return ran ? 10 : 11;
}

static void copy_self(const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_WRONLY | O_CREAT, 0755);
    CHECK(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        CHECK(write(out, buf, (size_t)n) == n);
    CHECK(n == 0 && close(in) == 0 && close(out) == 0);
}

static int run_daemon(const char *exe)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(exe, exe, "--daemon", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void two_daemons(void)
{
    char a[PATH_MAX + 64], b[PATH_MAX + 64], bindir[PATH_MAX], xdg[128], p[256];
    /* Next to this program (its directory allows exec; /tmp may be noexec). */
    ssize_t n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
    CHECK(n > 0);
    bindir[n] = '\0';
    *strrchr(bindir, '/') = '\0';
    snprintf(a, sizeof(a), "%s/daemon-a-%ld", bindir, (long)getpid());
    snprintf(b, sizeof(b), "%s/daemon-b-%ld", bindir, (long)getpid());
    snprintf(xdg, sizeof(xdg), "%s/xdg", td_base);
    copy_self(a);
    copy_self(b);
    CHECK(mkdir(xdg, 0700) == 0 && setenv("XDG_RUNTIME_DIR", xdg, 1) == 0);
    CHECK(run_daemon(a) == 10);
    CHECK(run_daemon(b) == 10); /* not skipped because daemon-a's storage autostarted */
    CHECK(run_daemon(a) == 11);
    CHECK(run_daemon(b) == 11);
    CHECK(unlink(a) == 0 && unlink(b) == 0);
    snprintf(p, sizeof(p), "%s/virtcore/daemon-a-%ld/autostart/storage", xdg, (long)getpid());
    CHECK(strcmp(read_line(p), boot_id()) == 0);
    snprintf(p, sizeof(p), "%s/virtcore/daemon-b-%ld/autostart/storage", xdg, (long)getpid());
    CHECK(strcmp(read_line(p), boot_id()) == 0);
    CHECK(unsetenv("XDG_RUNTIME_DIR") == 0);
}

int main(int argc, char **argv)
{
    char p[256];
    if (argc == 2 && strcmp(argv[1], "--daemon") == 0)
        return daemon_main();
    if (geteuid() != 0)
        SKIP("needs root (chown to spare uids, setuid)");
    spare = 60000 + (uid_t)(getpid() % 2000) * 2;
    spare2 = spare + 1;
    CHECK(make_tmpdir(td_base, sizeof(td_base)));
    CHECK(chmod(td_base, 0711) == 0); /* the setuid children reach the victim file */
    write_file(victim(), "precious\n");

    snprintf(dir_foreign, sizeof(dir_foreign), "%s/foreign", td_base);
    plant(dir_foreign, spare, 0700, 0700);
    CHECK_FORKED(foreign_owned);

    snprintf(dir_open, sizeof(dir_open), "%s/open", td_base);
    plant(dir_open, 0, 0777, 0700);
    CHECK_FORKED(others_writable);
    snprintf(dir_open_sub, sizeof(dir_open_sub), "%s/open-sub", td_base);
    plant(dir_open_sub, 0, 0700, 0757);
    CHECK_FORKED(autostart_subdir_writable);

    snprintf(dir_own, sizeof(dir_own), "%s/own", td_base);
    plant(dir_own, 0, 0700, 0700);
    snprintf(p, sizeof(p), "%s/autostart/storage", dir_own);
    CHECK(unlink(p) == 0 && mkfifo(p, 0600) == 0);
    CHECK_FORKED(fifo_and_symlink);

    snprintf(dir_new, sizeof(dir_new), "%s/new", td_base);
    CHECK_FORKED(created_private);

    snprintf(dir_blocked, sizeof(dir_blocked), "%s/blocked", td_base);
    CHECK(mkdir(dir_blocked, 0700) == 0);
    snprintf(p, sizeof(p), "%s/autostart", dir_blocked);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/autostart/storage", dir_blocked);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof(p), "%s/autostart/storage/keep", dir_blocked);
    write_file(p, "x\n");
    CHECK_FORKED(unwritable_marker);

    tmp_run_dir_attacks();
    two_daemons();

    rm_tree(td_base);
    TEST_DONE();
}
