/* qemu.c: the guests of the demo's hypervisor driver, with their disk locks.
 *
 * When enabled (demo_qemu_guests_enable), the qemu driver's stateInitialize loads the
 * `lockspace` lock driver (virLockManagerPluginNew("lockspace", "qemu", ROOT/etc/virtcore)
 * reads ROOT/etc/virtcore/qemu-lockspace.conf) and keeps its guests in a virDomainObjList.
 * Starting a guest follows libvirt's qemu driver: it forks the "guest process", which
 * registers with the lock manager as it would right before exec'ing QEMU
 * (virDomainLockProcessStart, paused: REGISTER_ONLY|RESTRICT, no lock yet) and reports
 * through a pipe; the daemon then resumes the guest and takes its locks from the daemon's
 * own process (virDomainLockProcessResume) on the guest's behalf. The locks belong to the
 * guest's process: they go when it dies, and a daemon that exits or restarts keeps them.
 * A refusal is the plugin's error (VIR_ERR_RESOURCE_BUSY naming the holder).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define VIR_FROM_THIS VIR_FROM_QEMU
#define QEMU_URI "qemu:///system"
#define MAX_GUESTS 16

static int enabled;
static virDomainXMLOption *xmlopt;
static virDomainObjList *doms;
static virLockManagerPlugin *plugin;
static char names[MAX_GUESTS][64]; /* every defined guest, for the clean-up */
static int nnames;
static int next_id = 1;
static int lifeline = -1; /* read end of the demo's pipe: EOF when the demo is gone */
static int keep_guests;   /* the daemon exits (restart): its guests keep running */

void demo_qemu_guest_lifeline(int fd)
{
    lifeline = fd;
}

void demo_qemu_guests_keep(int on)
{
    keep_guests = on;
}

void demo_qemu_guests_enable(int on)
{
    enabled = on;
}

int qemu_guests_init(const char *root)
{
    char cfgdir[PATH_MAX];
    if (!enabled)
        return 0;
    snprintf(cfgdir, sizeof(cfgdir), "%s/etc/virtcore", root);
    if (!(xmlopt = virDomainXMLOptionNew(NULL, NULL, NULL, NULL, NULL, NULL)) ||
        !(doms = virDomainObjListNew()) ||
        !(plugin = virLockManagerPluginNew("lockspace", "qemu", cfgdir, 0))) {
        qemu_guests_cleanup();
        return -1;
    }
    return 0;
}

/* Whether process `pid` has exited (gone, or a zombie: its descriptors are closed). */
static int process_gone(pid_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    int gone = 1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r"))) {
        if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
            gone = p[2] == 'Z' || p[2] == 'X';
        fclose(f);
    }
    return gone;
}

/* Kills the guest process of a locked, running `vm` and records it as shut off. A guest
 * started by an earlier daemon is not this process's child: it is waited for by pid. */
static void guest_stop(virDomainObj *vm, int reason)
{
    int status, i;
    if (vm->pid > 0) {
        kill(vm->pid, SIGKILL);
        while (waitpid(vm->pid, &status, 0) < 0 && errno == EINTR)
            ;
        for (i = 0; i < 5000 && !process_gone(vm->pid); i++) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    vm->pid = 0;
    vm->def->id = -1;
    virDomainObjSetState(vm, VIR_DOMAIN_SHUTOFF, reason);
}

void qemu_guests_cleanup(void)
{
    int i;
    /* The demo's guests do not outlive the demo: stop the running ones, unless the
     * daemon is only restarting (then they run on, as QEMU does under libvirtd). */
    for (i = 0; doms && i < nnames; i++) {
        virDomainObj *vm = virDomainObjListFindByName(doms, names[i]);
        if (!vm)
            continue;
        if (virDomainObjIsActive(vm) && !keep_guests)
            guest_stop(vm, VIR_DOMAIN_SHUTOFF_DESTROYED);
        virDomainObjListRemove(doms, vm);
        virDomainObjEndAPI(&vm);
    }
    nnames = 0;
    next_id = 1;
    if (plugin)
        virLockManagerPluginUnref(plugin);
    if (doms)
        virObjectUnref(doms);
    if (xmlopt)
        virObjectUnref(xmlopt);
    plugin = NULL;
    doms = NULL;
    xmlopt = NULL;
}

int demo_guest_define(const char *xml)
{
    virDomainDef *def;
    virDomainObj *vm;
    if (!doms) {
        virReportError(VIR_ERR_OPERATION_INVALID, "%s", "the qemu driver has no guests");
        return -1;
    }
    if (nnames == MAX_GUESTS) {
        virReportError(VIR_ERR_OPERATION_FAILED, "%s", "too many guests for the demo");
        return -1;
    }
    if (!(def = virDomainDefParseString(xml, xmlopt, NULL, 0)))
        return -1;
    if (!(vm = virDomainObjListAdd(doms, &def, xmlopt, 0, NULL))) {
        virDomainDefFree(def); /* still ours on failure */
        return -1;
    }
    vm->persistent = true;
    snprintf(names[nnames++], sizeof(names[0]), "%s", vm->def->name);
    virDomainObjEndAPI(&vm);
    return 0;
}

/* What a guest process tells the daemon. */
struct guest_report {
    int ok;
    int domain, code; /* the error the guest process got */
    char message[1024];
};

/* Raises the guest process's error in the daemon, as libvirt passes a forked child's error
 * on. virReportErrorHelper prefixes the code's text ("resource busy: "), which the child's
 * message already starts with: it is taken off first, so it appears once. */
static void report_guest_error(const struct guest_report *r)
{
    const char *msg = r->message;
    int code = r->code ? r->code : VIR_ERR_INTERNAL_ERROR;
    char prefix[256];
    size_t n;
    virReportErrorHelper(r->domain, code, __FILE__, __func__, __LINE__, "%s", "|");
    snprintf(prefix, sizeof(prefix), "%s", virGetLastErrorMessage());
    n = strlen(prefix);
    if (n > 0 && prefix[n - 1] == '|' && strncmp(msg, prefix, n - 1) == 0)
        msg += n - 1;
    virReportErrorHelper(r->domain, code, __FILE__, __func__, __LINE__, "%s", msg);
}

/* The guest's process: registers with the lock manager (a paused start, as libvirt's
 * child does before exec), reports, then runs until killed. `vm` is the child's copy of
 * the object, locked by the daemon's thread that forked. */
static void guest_process(virDomainObj *vm, int fd, pid_t daemon)
{
    struct guest_report r;
    int null;
    char c;
    memset(&r, 0, sizeof(r));
    /* A guest never outlives the demo (its locks would stay held): it outlives a daemon
     * (a restart) but ends when the demo's lifeline pipe closes; without a lifeline, with
     * the daemon. It does not keep the demo's stdout open (a test harness reading it
     * would wait forever). */
    if (lifeline < 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != daemon))
        _exit(1);
    if ((null = open("/dev/null", O_RDWR)) >= 0) {
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    vm->pid = getpid(); /* the glue passes vm->pid to the lock driver */
    if (virDomainLockProcessStart(plugin, QEMU_URI, vm, true, NULL) == 0) {
        r.ok = 1;
    } else {
        r.domain = virGetLastErrorDomain();
        r.code = virGetLastErrorCode();
        snprintf(r.message, sizeof(r.message), "%s", virGetLastErrorMessage());
    }
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r) || !r.ok)
        _exit(1);
    close(fd);
    /* A QEMU here would exec (RESTRICT passed the registration on to it); this one just
     * lives, holding whatever the daemon locks on its behalf. */
    if (lifeline >= 0) {
        for (;;) {
            ssize_t n = read(lifeline, &c, 1);
            if (n == 0 || (n < 0 && errno != EINTR))
                _exit(0);
        }
    }
    for (;;)
        pause();
}

int demo_guest_start(const char *name)
{
    struct guest_report r;
    virDomainObj *vm;
    int fds[2], status, rc = -1;
    pid_t pid, self;

    if (!doms || !(vm = virDomainObjListFindByName(doms, name)))
        return -1;
    if (virDomainObjIsActive(vm)) {
        virReportError(VIR_ERR_OPERATION_INVALID, "domain '%s' is already running", name);
        goto out;
    }
    if (pipe(fds) < 0) {
        virReportError(VIR_ERR_SYSTEM_ERROR, "pipe: %s", strerror(errno));
        goto out;
    }
    fflush(NULL);
    self = getpid();
    if ((pid = fork()) < 0) {
        virReportError(VIR_ERR_SYSTEM_ERROR, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        goto out;
    }
    if (pid == 0) {
        close(fds[0]);
        guest_process(vm, fds[1], self);
    }
    close(fds[1]);
    if (read(fds[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
        memset(&r, 0, sizeof(r));
        r.domain = VIR_FROM_THIS;
        r.code = VIR_ERR_INTERNAL_ERROR;
        snprintf(r.message, sizeof(r.message), "the guest process of '%s' died", name);
    }
    close(fds[0]);
    if (!r.ok) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        report_guest_error(&r);
        goto out;
    }
    /* The guest runs paused; resuming takes its locks from the daemon's process on the
     * guest's behalf (virDomainLockProcessResume, as qemuProcessStartCPUs). */
    vm->pid = pid;
    if (virDomainLockProcessResume(plugin, QEMU_URI, vm, NULL) < 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        vm->pid = 0;
        goto out;
    }
    vm->def->id = next_id++;
    virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_BOOTED);
    rc = 0;
out:
    virDomainObjEndAPI(&vm);
    return rc;
}

int demo_guest_adopt(const char *name, pid_t pid, int id)
{
    virDomainObj *vm;
    if (!doms || !(vm = virDomainObjListFindByName(doms, name)))
        return -1;
    if (process_gone(pid)) { /* it died while no daemon watched it */
        virDomainObjEndAPI(&vm);
        return 0;
    }
    vm->pid = pid;
    vm->def->id = id;
    if (id >= next_id)
        next_id = id + 1;
    virDomainObjSetState(vm, VIR_DOMAIN_RUNNING, VIR_DOMAIN_RUNNING_UNPAUSED);
    virDomainObjEndAPI(&vm);
    return 1;
}

int demo_guest_crash(const char *name)
{
    virDomainObj *vm;
    int rc = -1;
    if (!doms || !(vm = virDomainObjListFindByName(doms, name)))
        return -1;
    if (!virDomainObjIsActive(vm)) {
        virReportError(VIR_ERR_OPERATION_INVALID, "domain '%s' is not running", name);
    } else {
        /* SIGKILL: the guest gets no chance to release anything; the daemon reaps it as
         * libvirt does when the monitor hits EOF. */
        guest_stop(vm, VIR_DOMAIN_SHUTOFF_CRASHED);
        rc = 0;
    }
    virDomainObjEndAPI(&vm);
    return rc;
}

int demo_guest_info(const char *name, struct demo_guest_info *info)
{
    virDomainObj *vm;
    if (!doms || !(vm = virDomainObjListFindByName(doms, name)))
        return -1;
    memset(info, 0, sizeof(*info));
    info->running = virDomainObjIsActive(vm);
    info->pid = vm->pid;
    info->id = vm->def->id;
    memcpy(info->uuid, vm->def->uuid, sizeof(info->uuid));
    virDomainObjEndAPI(&vm);
    return 0;
}

int demo_guest_ids(int *ids, int maxids, int *inactive)
{
    if (!doms)
        return -1;
    *inactive = virDomainObjListNumOfDomains(doms, false, NULL, NULL);
    return virDomainObjListGetActiveIDs(doms, ids, maxids, NULL, NULL);
}
