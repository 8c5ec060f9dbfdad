/* locks.c: the demo's disk-lock section. A daemon start (tiered, in a new process) whose
 * qemu driver loads the `lockspace` lock driver and starts guests as libvirt does (paused
 * in their own process, then resumed by the daemon); guests defined on one disk cannot
 * both run; the daemon restarts with guests running and their locks stay; a crashed
 * guest frees its disks; guests sharing a <shareable/> disk both run.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"
#include "locks.h"

#ifndef DEMO_LOCKDRIVERDIR
#define DEMO_LOCKDRIVERDIR "/usr/local/lib/virtcore/lock-driver"
#endif

struct guest {
    const char *name;
    const char *uuid;
    const char *disk;  /* file under ROOT/images */
    int shareable;
};

static const struct guest guests[] = {
    {"web1", "5a1f9c1e-0b7e-4c8a-9d3e-000000000001", "shared.img", 0},
    {"web2", "5a1f9c1e-0b7e-4c8a-9d3e-000000000002", "shared.img", 0},
    {"db", "5a1f9c1e-0b7e-4c8a-9d3e-000000000003", "db.img", 0},
    {"node1", "5a1f9c1e-0b7e-4c8a-9d3e-000000000004", "quorum.img", 1},
    {"node2", "5a1f9c1e-0b7e-4c8a-9d3e-000000000005", "quorum.img", 1},
};
#define NGUESTS (int)(sizeof(guests) / sizeof(guests[0]))

/* Every guest also has the same ISO as a <readonly/> CD-ROM: read-only disks take no lock. */
static const char *xml_fmt =
    "<domain type='kvm'>\n"
    "  <name>%s</name>\n"
    "  <uuid>%s</uuid>\n"
    "  <memory unit='KiB'>65536</memory>\n"
    "  <vcpu>1</vcpu>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'><source file='%s/images/%s'/>"
    "<target dev='vda' bus='virtio'/>%s</disk>\n"
    "    <disk type='file' device='cdrom'><source file='%s/images/tools.iso'/>"
    "<target dev='hdc' bus='ide'/><readonly/></disk>\n"
    "  </devices>\n"
    "</domain>\n";

static int make_file(const char *root, const char *sub, const char *text)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", root, sub);
    if (!text)
        return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
    if (!(f = fopen(path, "w")))
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void uuid_format(const unsigned char *u, char *out)
{
    static const char hex[] = "0123456789abcdef";
    int i, n = 0;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[n++] = '-';
        out[n++] = hex[u[i] >> 4];
        out[n++] = hex[u[i] & 15];
    }
    out[n] = '\0';
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static const struct guest *guest_named(const char *name)
{
    int i;
    for (i = 0; i < NGUESTS; i++)
        if (strcmp(guests[i].name, name) == 0)
            return &guests[i];
    return NULL;
}

/* Prints one line for "start NAME"; returns 1 when it ran, 0 when refused. `msg` gets the
 * refusal's message, `code` its error code. */
static int start(const char *name, char *msg, size_t len, int *code)
{
    struct demo_guest_info info;
    char action[32];
    snprintf(action, sizeof(action), "start %s", name);
    msg[0] = '\0';
    *code = 0;
    if (demo_guest_start(name) == 0 && demo_guest_info(name, &info) == 0) {
        printf("  %-20s running, id %d, pid %ld\n", action, info.id, (long)info.pid);
        return 1;
    }
    *code = virGetLastErrorCode();
    snprintf(msg, len, "%s", virGetLastErrorMessage());
    printf("  %-20s REFUSED (%s):\n  %-20s   %s\n", action,
           *code == VIR_ERR_RESOURCE_BUSY ? "VIR_ERR_RESOURCE_BUSY" : "other error", "", msg);
    return 0;
}

/* Brings a daemon up: drivers registered, the qemu driver's lock manager loaded, the
 * guests defined. */
static int daemon_up(const char *root)
{
    virStateDriver *drv[DEMO_NDRIVERS];
    char xml[4096];
    int i;

    demo_drivers_setup(STYLE_TIERED, drv);
    demo_qemu_guests_enable(1);
    for (i = 0; i < DEMO_NDRIVERS; i++)
        if (demo_register_driver(drv[i]) < 0)
            goto fail;
    if (virStateInitialize(false, true, root, true, NULL, NULL) < 0)
        goto fail;
    for (i = 0; i < NGUESTS; i++) {
        snprintf(xml, sizeof(xml), xml_fmt, guests[i].name, guests[i].uuid, root,
                 guests[i].disk, guests[i].shareable ? "<shareable/>" : "", root);
        if (demo_guest_define(xml) < 0) {
            fprintf(stderr, "virtcore-demo: define %s: %s\n", guests[i].name,
                    virGetLastErrorMessage());
            virStateCleanup();
            return -1;
        }
    }
    return 0;

fail:
    fprintf(stderr, "virtcore-demo: daemon start failed: %s\n", virGetLastErrorMessage());
    return -1;
}

/* web2's refusal must name the holder: web1, its UUID and the pid of web1's own process
 * (not the daemon's, which only took the lock on web1's behalf). */
static int names_web1(const char *msg, int code)
{
    struct demo_guest_info web1;
    char uuid[VIR_UUID_STRING_BUFLEN], pid[64];
    if (demo_guest_info("web1", &web1) < 0 || !web1.running)
        return 0;
    uuid_format(web1.uuid, uuid);
    snprintf(pid, sizeof(pid), "pid %ld", (long)web1.pid);
    return code == VIR_ERR_RESOURCE_BUSY && strstr(msg, "'web1'") && strstr(msg, uuid) &&
           strstr(msg, pid) && strstr(msg, "shared.img") && web1.pid != getpid() &&
           strcmp(uuid, guest_named("web1")->uuid) == 0;
}

/* The first daemon: starts the guests, then exits as for a restart (guests keep running),
 * recording them in ROOT/run/qemu-guests as libvirt keeps its status XML under /run. */
static int first_daemon(const char *root)
{
    char msg[1024], path[PATH_MAX];
    struct demo_guest_info info;
    int i, code, busy_code, ok, ran[5];
    FILE *f;

    if (daemon_up(root) < 0)
        return 1;
    printf("  %-20s %s\n", "guest", "disk (+ tools.iso <readonly/> on every guest)");
    for (i = 0; i < NGUESTS; i++)
        printf("  %-20s %s%s\n", guests[i].name, guests[i].disk,
               guests[i].shareable ? " <shareable/>" : "");
    printf("\n  daemon pid %ld\n", (long)getpid());
    ran[0] = start("web1", msg, sizeof(msg), &code);
    ran[1] = start("web2", msg, sizeof(msg), &busy_code);
    ok = ran[0] && !ran[1] && names_web1(msg, busy_code);
    ran[2] = start("db", msg, sizeof(msg), &code);
    ran[3] = start("node1", msg, sizeof(msg), &code);
    ran[4] = start("node2", msg, sizeof(msg), &code);
    ok = ok && ran[2] && ran[3] && ran[4];

    snprintf(path, sizeof(path), "%s/run/qemu-guests", root);
    if (!(f = fopen(path, "w")))
        ok = 0;
    for (i = 0; f && i < NGUESTS; i++)
        if (demo_guest_info(guests[i].name, &info) == 0 && info.running)
            fprintf(f, "%s %ld %d\n", guests[i].name, (long)info.pid, info.id);
    if (f && fclose(f) != 0)
        ok = 0;
    printf("  %-20s the daemon exits; its guests run on\n", "restart daemon");
    demo_qemu_guests_keep(1);
    virStateCleanup();
    return ok ? 0 : 1;
}

/* The restarted daemon: reconnects to the running guests; web1 still holds its disk;
 * once web1's process is killed its disk is free. */
static int second_daemon(const char *root)
{
    char msg[1024], path[PATH_MAX], name[64];
    long pid;
    int i, id, code, busy_code, ok = 1, adopted = 0, ids[8], nids, inactive;
    FILE *f;

    if (daemon_up(root) < 0)
        return 1;
    snprintf(path, sizeof(path), "%s/run/qemu-guests", root);
    if (!(f = fopen(path, "r")))
        return 1;
    while (fscanf(f, "%63s %ld %d", name, &pid, &id) == 3)
        adopted += demo_guest_adopt(name, (pid_t)pid, id) == 1;
    fclose(f);
    printf("  %-20s daemon pid %ld, %d running guests reconnected\n", "", (long)getpid(),
           adopted);
    ok = adopted == 4;

    ok = !start("web2", msg, sizeof(msg), &busy_code) && names_web1(msg, busy_code) && ok;
    if (demo_guest_crash("web1") == 0)
        printf("  %-20s web1's process killed (a crashed guest); web1 shut off\n",
               "kill -9 web1");
    else
        ok = 0;
    ok = start("web2", msg, sizeof(msg), &code) && ok;

    /* What the domain list says now: web1 shut off, the four others running. */
    nids = demo_guest_ids(ids, 8, &inactive);
    qsort(ids, nids > 0 ? (size_t)nids : 0, sizeof(ids[0]), cmp_int);
    printf("  %-20s %d running (IDs", "domain list", nids);
    for (i = 0; i < nids; i++)
        printf(" %d", ids[i]);
    printf("), %d shut off\n", inactive);
    ok = ok && nids == NGUESTS - 1 && inactive == 1 && ids[0] == 2;

    printf("\n  Each guest started paused in its own process and the daemon took its locks on\n"
           "  resume. web2 was refused while web1 ran (the refusal names web1, its UUID and\n"
           "  the pid of web1's own process), before and after the daemon restarted; db and\n"
           "  both guests of the <shareable/> disk ran; once web1's process was killed its\n"
           "  lock went with it and web2 ran: %s.\n",
           ok ? "as expected" : "UNEXPECTED");
    if (virStateCleanup() < 0) /* stops the running guests */
        ok = 0;
    return ok ? 0 : 1;
}

/* Runs one daemon process; its exit status (0: every expectation held). */
static int run_daemon(int (*daemon)(const char *), const char *root, int lifeline_w)
{
    int status;
    pid_t pid;
    fflush(NULL);
    if ((pid = fork()) < 0) {
        perror("virtcore-demo: fork");
        return -1;
    }
    if (pid == 0) {
        int rc;
        close(lifeline_w); /* only the demo holds it: guests end when the demo does */
        rc = daemon(root);
        fflush(NULL);
        _exit(rc);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int demo_locks(const char *root)
{
    char plugin[PATH_MAX];
    const char *dir;
    char conf[PATH_MAX + 32];
    int life[2], rc;

    /* Where the lock drivers are: the environment (the library's own order), or the
     * library's pkg-config `lockdriverdir` (build/lock-driver when built in tree). */
    if ((!(dir = getenv("VIRTCORE_LOCK_DRIVER_DIR")) || !*dir) &&
        (!(dir = getenv("LIBVIRT_LOCK_MANAGER_PLUGIN_DIR")) || !*dir)) {
        dir = DEMO_LOCKDRIVERDIR;
        setenv("VIRTCORE_LOCK_DRIVER_DIR", dir, 1);
    }
    snprintf(plugin, sizeof(plugin), "%s/lockspace.so", dir);

    printf("\nDisk locks: the qemu driver loads the lockspace lock driver\n"
           "(virLockManagerPluginNew(\"lockspace\", \"qemu\", ROOT/etc/virtcore)). As in libvirt,\n"
           "a guest starts paused in its own process (virDomainLockProcessStart: registered,\n"
           "no lock) and the daemon takes its locks as it resumes it\n"
           "(virDomainLockProcessResume); the locks belong to the guest's process:\n\n");
    if (access(plugin, R_OK) != 0) {
        printf("  not available here: %s: %s\n", plugin, strerror(errno));
        return 0;
    }
    snprintf(conf, sizeof(conf), "lockspace_dir = \"%s/var/lib/virtcore/lockspace\"\n", root);
    if (make_file(root, "etc/virtcore", NULL) < 0 ||
        make_file(root, "etc/virtcore/qemu-lockspace.conf", conf) < 0 ||
        make_file(root, "var/lib/virtcore", NULL) < 0 ||
        make_file(root, "var/lib/virtcore/lockspace", NULL) < 0 ||
        make_file(root, "images", NULL) < 0 || make_file(root, "images/shared.img", "") < 0 ||
        make_file(root, "images/db.img", "") < 0 || make_file(root, "images/quorum.img", "") < 0 ||
        make_file(root, "images/tools.iso", "") < 0) {
        fprintf(stderr, "virtcore-demo: cannot set up %s: %s\n", root, strerror(errno));
        return -1;
    }

    /* The guests outlive a daemon restart but never the demo: they wait on this pipe. */
    if (make_file(root, "run", NULL) < 0 || pipe(life) < 0) {
        perror("virtcore-demo: lifeline");
        return -1;
    }
    demo_qemu_guest_lifeline(life[0]);
    rc = run_daemon(first_daemon, root, life[1]);
    if (run_daemon(second_daemon, root, life[1]) < 0)
        rc = -1;
    close(life[1]);
    close(life[0]);
    demo_qemu_guest_lifeline(-1);
    return rc;
}
