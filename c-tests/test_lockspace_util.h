/* test_lockspace_util.h: shared by the test_lockspace_*.c programs. Loads the lockspace
 * plugin with dlopen() exactly as a loader does (dlsym "virLockDriverImpl", call the
 * vtable), declares libvirt's plugin ABI under private names (so the test checks the
 * layout independently of any header), and runs "agents": forked processes that take
 * lock commands over a pipe, so a test can play several guests at once. */
#ifndef TEST_LOCKSPACE_UTIL_H
#define TEST_LOCKSPACE_UTIL_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#ifndef LOCKSPACE_SO
#error "LOCKSPACE_SO (path of lockspace.so) must be defined by the Makefile"
#endif

/* libvirt's lock_driver.h, under test-private names. */
typedef struct {
    int type;
    const char *key;
    union {
        int iv;
        long long l;
        unsigned int ui;
        unsigned long long ul;
        double d;
        char *str;
        const char *cstr;
        unsigned char uuid[16];
    } value;
} ls_param;
typedef struct ls_driver ls_driver;
typedef struct {
    ls_driver *driver;
    void *privateData;
} ls_manager;
struct ls_driver {
    unsigned int version;
    unsigned int flags;
    int (*drvInit)(unsigned int version, const char *configFile, unsigned int flags);
    int (*drvDeinit)(void);
    int (*drvNew)(ls_manager *man, unsigned int type, size_t nparams, ls_param *params,
                  unsigned int flags);
    void (*drvFree)(ls_manager *man);
    int (*drvAddResource)(ls_manager *man, unsigned int type, const char *name,
                          size_t nparams, ls_param *params, unsigned int flags);
    int (*drvAcquire)(ls_manager *man, const char *state, unsigned int flags, int action,
                      int *fd);
    int (*drvRelease)(ls_manager *man, char **state, unsigned int flags);
    int (*drvInquire)(ls_manager *man, char **state, unsigned int flags);
};
_Static_assert(sizeof(ls_driver) == 72, "virLockDriver size");
_Static_assert(offsetof(ls_driver, drvInit) == 8, "drvInit offset");
_Static_assert(offsetof(ls_driver, drvInquire) == 64, "drvInquire offset");
_Static_assert(sizeof(ls_manager) == 16, "virLockManager size");
_Static_assert(sizeof(ls_param) == 32, "virLockManagerParam size");
_Static_assert(offsetof(ls_param, value) == 16, "virLockManagerParam value offset");

enum {
    LS_PARAM_STRING, LS_PARAM_CSTRING, LS_PARAM_INT, LS_PARAM_LONG,
    LS_PARAM_UINT, LS_PARAM_ULONG, LS_PARAM_DOUBLE, LS_PARAM_UUID,
};
#define LS_VERSION 1000000u
#define LS_USES_STATE 1u
#define LS_RES_DISK 0u
#define LS_RES_LEASE 1u
#define LS_READONLY 1u
#define LS_SHARED 2u
#define LS_REGISTER_ONLY 1u
#define LS_RESTRICT 2u
#define LS_NEW_STARTED 1u

/* libvirt's virterror.h values. */
#define LS_ERR_INTERNAL 1
#define LS_ERR_INVALID_ARG 8
#define LS_ERR_CONF_SYNTAX 33
#define LS_ERR_SYSTEM 38
#define LS_ERR_OPERATION_INVALID 55
#define LS_ERR_CONFIG_UNSUPPORTED 67
#define LS_ERR_RESOURCE_BUSY 87
#define LS_ERR_OPERATION_DENIED 29
#define LS_ERR_OPERATION_UNSUPPORTED 84
#define LS_FROM_LOCKING 42

static ls_driver *drv;
static char ls_root[64];         /* temporary tree of this test */
static char ls_leases[PATH_MAX]; /* the lockspace directory */
static char ls_conf[PATH_MAX];   /* the driver's config file */

/* Waits until agent process `pid` has exec'ed `sleep` (a guest that registered its locks
 * and then became "QEMU"). */
static inline void wait_exec(pid_t pid)
{
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        CHECK(fgets(comm, sizeof(comm), f) != NULL);
        fclose(f);
        if (strncmp(comm, "sleep", 5) == 0)
            return;
        usleep(10000);
    }
    CHECK(!"the agent did not exec sleep");
}

static inline void ls_cleanup(void)
{
    char cmd[PATH_MAX + 16];
    if (ls_root[0] && getenv("LOCKSPACE_TEST_KEEP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ls_root);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", ls_root);
    }
}

static inline void ls_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

/* Loads the plugin (no drvInit) and makes the temporary tree. */
static inline void ls_load(void)
{
    void *h = dlopen(LOCKSPACE_SO, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", LOCKSPACE_SO, dlerror());
        exit(1);
    }
    drv = dlsym(h, "virLockDriverImpl");
    CHECK(drv != NULL);
    snprintf(ls_root, sizeof(ls_root), "/tmp/lockspace-test-XXXXXX");
    CHECK(mkdtemp(ls_root) != NULL);
    CHECK(chmod(ls_root, 0755) == 0);
    atexit(ls_cleanup);
    CHECK(snprintf(ls_leases, sizeof(ls_leases), "%s/leases", ls_root) < PATH_MAX);
    CHECK(mkdir(ls_leases, 0755) == 0);
    CHECK(snprintf(ls_conf, sizeof(ls_conf), "%s/lockspace.conf", ls_root) < PATH_MAX);
    char text[PATH_MAX + 64];
    snprintf(text, sizeof(text), "# test config\nlockspace_dir = \"%s\"\n", ls_leases);
    ls_write_file(ls_conf, text);
}

/* Loads and initializes the driver with the test's lockspace directory. */
static inline void ls_setup(void)
{
    ls_load();
    CHECK(drv->drvInit(LS_VERSION, ls_conf, 0) == 0);
}

/* A path under the test tree (static buffer rotation: up to 8 live results). */
static inline const char *ls_path(const char *name)
{
    static char bufs[8][PATH_MAX];
    static int next;
    char *b = bufs[next++ % 8];
    CHECK(snprintf(b, PATH_MAX, "%s/%s", ls_root, name) < PATH_MAX);
    return b;
}

/* An empty file (a disk image) under the test tree. */
static inline const char *ls_disk_file(const char *name)
{
    const char *p = ls_path(name);
    ls_write_file(p, "");
    return p;
}

/* A manager for guest `name` whose UUID is 16 times `uuid_byte`, running as process
 * `pid` (this process, or another: the daemon's view of a guest). */
static inline ls_manager *ls_new_pid(const char *name, unsigned char uuid_byte, pid_t pid)
{
    ls_param p[5];
    memset(p, 0, sizeof(p));
    p[0].type = LS_PARAM_UUID; p[0].key = "uuid"; memset(p[0].value.uuid, uuid_byte, 16);
    p[1].type = LS_PARAM_STRING; p[1].key = "name"; p[1].value.cstr = name;
    p[2].type = LS_PARAM_UINT; p[2].key = "id"; p[2].value.ui = 7;
    p[3].type = LS_PARAM_UINT; p[3].key = "pid"; p[3].value.ui = (unsigned)pid;
    p[4].type = LS_PARAM_CSTRING; p[4].key = "uri"; p[4].value.cstr = "test:///default";
    ls_manager *m = calloc(1, sizeof(*m));
    CHECK(m != NULL);
    m->driver = drv;
    if (drv->drvNew(m, 0, 5, p, 0) < 0) {
        free(m);
        return NULL;
    }
    return m;
}

/* A manager for guest `name` in this process. */
static inline ls_manager *ls_new(const char *name, unsigned char uuid_byte)
{
    return ls_new_pid(name, uuid_byte, getpid());
}

static inline void ls_free(ls_manager *m)
{
    drv->drvFree(m);
    free(m);
}

static inline int ls_add_disk(ls_manager *m, const char *path, unsigned int flags)
{
    return drv->drvAddResource(m, LS_RES_DISK, path, 0, NULL, flags);
}

/* A LEASE resource: `path` may be NULL (then it lives in the lockspace directory). */
static inline int ls_add_lease(ls_manager *m, const char *key, const char *lockspace,
                        const char *path, unsigned long long offset, unsigned int flags)
{
    ls_param p[3];
    size_t n = 0;
    memset(p, 0, sizeof(p));
    p[n].type = LS_PARAM_STRING; p[n].key = "path"; p[n].value.cstr = path; n++;
    p[n].type = LS_PARAM_ULONG; p[n].key = "offset"; p[n].value.ul = offset; n++;
    if (lockspace) {
        p[n].type = LS_PARAM_STRING; p[n].key = "lockspace"; p[n].value.cstr = lockspace; n++;
    }
    return drv->drvAddResource(m, LS_RES_LEASE, key, n, p, flags);
}

/* "UUID" text of a 16-byte UUID filled with `b`. */
static inline const char *ls_uuid_text(unsigned char b)
{
    static char s[37];
    snprintf(s, sizeof(s), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b, b, b, b, b, b, b, b, b, b, b, b, b, b, b, b);
    return s;
}

/* ---- agents: forked processes running lock commands sent over a pipe. ----
 * Commands (one line each): "new NAME UUIDBYTE", "newpid NAME UUIDBYTE PID" (a manager
 * for a guest running as process PID), "disk PATH FLAGS",
 * "lease KEY LOCKSPACE|- PATH|- OFFSET FLAGS", "acquire FLAGS [STATE]", "release",
 * "inquire", "free", "exec" (exec sleep, keeping what survives exec), "exec-incoming"
 * (the same with "-incoming" in its command line), "setuid UID" (drop
 * root), "nopidfd" (pidfd_getfd fails with ENOSYS from now on, as on Linux < 5.6),
 * "kept" (replies "ok N": the agent's descriptors on the lockspace directory's files and
 * pidfds), "deinit" (drvDeinit), "quit".
 * Replies: "ok [STATE]" or "err CODE MESSAGE". */
typedef struct {
    pid_t pid;
    int to, from;
    char reply[4096];
} ls_agent;

static inline void ls_agent_reply(int fd, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n > (int)sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    if (write(fd, buf, n) != n)
        _exit(3);
}

static inline int ls_read_line(int fd, char *buf, size_t len)
{
    size_t i = 0;
    while (i + 1 < len) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        buf[i++] = c;
    }
    buf[i] = '\0';
    return 0;
}

static inline void ls_agent_result(int out, int rc, const char *state)
{
    if (rc < 0)
        ls_agent_reply(out, "err %d %s", virGetLastErrorCode(), virGetLastErrorMessage());
    else
        ls_agent_reply(out, "ok%s%s", state ? " " : "", state ? state : "");
}

/* How many of this process's descriptors are pidfds or files of the lockspace directory. */
static inline int ls_kept_fds(void)
{
    int n = 0;
    char link[PATH_MAX], path[64];
    for (int fd = 0; fd < 1024; fd++) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        ssize_t k = readlink(path, link, sizeof(link) - 1);
        if (k < 0)
            continue;
        link[k] = 0;
        if (strcmp(link, "anon_inode:[pidfd]") == 0 ||
            (strncmp(link, ls_leases, strlen(ls_leases)) == 0 && link[strlen(ls_leases)] == '/'))
            n++;
    }
    return n;
}

static inline void ls_agent_main(int in, int out)
{
    ls_manager *m = NULL;
    char line[4096];
    while (ls_read_line(in, line, sizeof(line)) == 0) {
        char a[2048] = "", b[1024] = "", c[1024] = "";
        unsigned long long off = 0;
        unsigned int flags = 0;
        char *state = NULL;
        int rc;
        virResetLastError();
        int gpid = 0;
        if (sscanf(line, "newpid %1023s %u %d", b, &flags, &gpid) == 3) {
            m = ls_new_pid(b, (unsigned char)flags, gpid);
            ls_agent_result(out, m ? 0 : -1, NULL);
        } else if (sscanf(line, "new %1023s %u", b, &flags) == 2) {
            m = ls_new(b, (unsigned char)flags);
            ls_agent_result(out, m ? 0 : -1, NULL);
        } else if (sscanf(line, "disk %2047s %u", a, &flags) == 2) {
            ls_agent_result(out, ls_add_disk(m, a, flags), NULL);
        } else if (sscanf(line, "lease %2047s %1023s %1023s %llu %u", a, b, c, &off, &flags) == 5) {
            rc = ls_add_lease(m, a, strcmp(b, "-") ? b : NULL, strcmp(c, "-") ? c : NULL, off, flags);
            ls_agent_result(out, rc, NULL);
        } else if (sscanf(line, "acquire %u %2047s", &flags, a) >= 1) {
            ls_agent_result(out, drv->drvAcquire(m, a[0] ? a : NULL, flags, 0, NULL), NULL);
        } else if (strcmp(line, "release") == 0) {
            rc = drv->drvRelease(m, &state, 0);
            ls_agent_result(out, rc, state);
            free(state);
        } else if (strcmp(line, "inquire") == 0) {
            rc = drv->drvInquire(m, &state, 0);
            ls_agent_result(out, rc, state);
            free(state);
        } else if (strcmp(line, "free") == 0) {
            ls_free(m);
            m = NULL;
            ls_agent_result(out, 0, NULL);
        } else if (sscanf(line, "setuid %u", &flags) == 1) {
            ls_agent_result(out, setresuid(flags, flags, flags), NULL);
        } else if (strcmp(line, "nopidfd") == 0) {
            /* seccomp: pidfd_getfd returns ENOSYS, everything else runs. */
            struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_getfd, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};
            rc = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            if (rc == 0)
                rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
            ls_agent_result(out, rc, NULL);
        } else if (strcmp(line, "kept") == 0) {
            ls_agent_reply(out, "ok %d", ls_kept_fds());
        } else if (strcmp(line, "deinit") == 0) {
            ls_agent_result(out, drv->drvDeinit(), NULL);
        } else if (strcmp(line, "quit") == 0) {
            if (m)
                ls_free(m);
            _exit(0);
        } else if (strcmp(line, "exec") == 0) {
            ls_agent_result(out, 0, NULL);
            execl("/bin/sleep", "sleep", "300", (char *)NULL);
            _exit(4);
        } else if (strcmp(line, "exec-incoming") == 0) {
            /* A guest that receives a migration: "-incoming" in its command line, as
             * QEMU's. A shell named sleep (a symlink, so wait_exec sees it) that waits
             * reading a FIFO it opened itself (no child process shares its locks). */
            char link[PATH_MAX], fifo[PATH_MAX];
            snprintf(link, sizeof(link), "%s/sleep", ls_root);
            snprintf(fifo, sizeof(fifo), "%s/incoming.fifo", ls_root);
            if ((symlink("/bin/sh", link) != 0 && errno != EEXIST) ||
                (mkfifo(fifo, 0600) != 0 && errno != EEXIST))
                _exit(4);
            ls_agent_result(out, 0, NULL);
            execl(link, "sleep", "-c", "read x <> \"$0\"", fifo, "-incoming", (char *)NULL);
            _exit(4);
        } else {
            ls_agent_reply(out, "err 0 unknown command '%s'", line);
        }
    }
    _exit(0);
}

/* clone3(2)'s arguments (linux/sched.h's struct clone_args, up to set_tid_size). */
struct ls_clone_args {
    unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack,
        stack_size, tls, set_tid, set_tid_size;
};

/* An agent; with `want` > 0, in a process whose pid is `want` (clone3 with set_tid:
 * root only, and the pid must be free). NULL when that pid cannot be had. */
static inline ls_agent *ls_agent_start_as(pid_t want)
{
    int down[2], up[2];
    CHECK(pipe2(down, O_CLOEXEC) == 0 && pipe2(up, O_CLOEXEC) == 0);
    ls_agent *ag = calloc(1, sizeof(*ag));
    CHECK(ag != NULL);
    fflush(NULL);
    if (want > 0) {
        pid_t tid = want;
        struct ls_clone_args ca = {.exit_signal = SIGCHLD,
                                   .set_tid = (unsigned long long)(uintptr_t)&tid,
                                   .set_tid_size = 1};
        ag->pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
        if (ag->pid < 0) {
            close(down[0]), close(down[1]), close(up[0]), close(up[1]);
            free(ag);
            return NULL;
        }
    } else {
        ag->pid = fork();
    }
    CHECK(ag->pid >= 0);
    if (ag->pid == 0) {
        close(down[1]);
        close(up[0]);
        ls_agent_main(down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    ag->to = down[1];
    ag->from = up[0];
    return ag;
}

static inline ls_agent *ls_agent_start(void)
{
    return ls_agent_start_as(0);
}

/* Sends one command; returns the reply ("ok …" / "err …"). */
static inline const char *ls_agent_cmd(ls_agent *ag, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    buf[n++] = '\n';
    CHECK(write(ag->to, buf, n) == n);
    if (ls_read_line(ag->from, ag->reply, sizeof(ag->reply)) < 0)
        snprintf(ag->reply, sizeof(ag->reply), "dead");
    return ag->reply;
}

/* The command must succeed; returns what follows "ok" (state or ""). */
#define AGENT_OK(ag, ...)                                                            \
    ({                                                                               \
        const char *r_ = ls_agent_cmd((ag), __VA_ARGS__);                            \
        if (strncmp(r_, "ok", 2) != 0) {                                             \
            fprintf(stderr, "%s:%d: agent command failed: %s\n", __FILE__, __LINE__, \
                    r_);                                                             \
            exit(1);                                                                 \
        }                                                                            \
        testutil_checks++;                                                           \
        r_[2] ? r_ + 3 : r_ + 2;                                                     \
    })

/* The command must fail with `code`; returns the message. */
#define AGENT_ERR(ag, code, ...)                                                     \
    ({                                                                               \
        const char *r_ = ls_agent_cmd((ag), __VA_ARGS__);                            \
        int c_ = -1, o_ = 0;                                                         \
        if (sscanf(r_, "err %d %n", &c_, &o_) < 1 || c_ != (code)) {                 \
            fprintf(stderr, "%s:%d: expected error %d, got: %s\n", __FILE__,         \
                    __LINE__, (code), r_);                                           \
            exit(1);                                                                 \
        }                                                                            \
        testutil_checks++;                                                           \
        r_ + o_;                                                                     \
    })

/* Ends an agent: tells it to quit or, with `sig`, kills it; reaps it. (Closing the pipe
 * is not enough: agents forked later hold copies of its write end.) */
static inline void ls_agent_stop(ls_agent *ag, int sig)
{
    int status;
    if (sig)
        kill(ag->pid, sig);
    else if (write(ag->to, "quit\n", 5) != 5)
        kill(ag->pid, SIGKILL);
    close(ag->to);
    close(ag->from);
    CHECK(waitpid(ag->pid, &status, 0) == ag->pid);
    free(ag);
}

#define CHECK_CONTAINS(hay, needle)                                                  \
    do {                                                                             \
        testutil_checks++;                                                           \
        if (strstr((hay), (needle)) == NULL) {                                       \
            fprintf(stderr, "%s:%d: \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,      \
                    (hay), (needle));                                                \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#endif
