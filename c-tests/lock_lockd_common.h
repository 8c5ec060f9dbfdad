/* lock_lockd_common.h: shared by the lockd.so test and the lock benchmark: a virtlockd
 * for the duration of the program (started only when none runs, stopped only if we
 * started it), and the domain parameters libvirt's QEMU driver passes to drvNew. */
#ifndef LOCK_LOCKD_COMMON_H
#define LOCK_LOCKD_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#define LOCKD_DIR "/usr/lib/x86_64-linux-gnu/libvirt/lock-driver"

/* libvirt's public initializer (from libvirt.so.0): lockd.so runs on libvirt's runtime. */
int virInitialize(void);

static char lockd_state[256];

static void lockd_stop(void)
{
    char cmd[1024];
    if (!lockd_state[0])
        return;
    snprintf(cmd, sizeof(cmd), "%s/scripts/virtlockd-stop.sh %s >/dev/null", TOP_DIR, lockd_state);
    if (system(cmd) != 0)
        fprintf(stderr, "virtlockd-stop.sh failed\n");
    lockd_state[0] = 0;
}

/* Returns NULL when virtlockd runs (ours or someone's), else why it cannot. */
static const char *lockd_start(void)
{
    char cmd[1024];
    if (geteuid() != 0)
        return "lockd.so talks to the root virtlockd: needs root";
    if (access(LOCKD_DIR "/lockd.so", R_OK) != 0)
        return "Debian's lockd.so (libvirt-daemon) is not installed";
    /* One program at a time uses "our" virtlockd (several worktrees may run make check
     * at once): otherwise one could stop the daemon another is using. Held until exit;
     * close-on-exec so the daemon started below does not inherit it. */
    {
        int lk = open("/run/virtcore-virtlockd.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lk < 0 || flock(lk, LOCK_EX) < 0)
            return "cannot take /run/virtcore-virtlockd.lock";
    }
    snprintf(lockd_state, sizeof(lockd_state), "/run/virtcore-virtlockd.%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "%s/scripts/virtlockd-start.sh %s", TOP_DIR, lockd_state);
    if (system(cmd) != 0) {
        lockd_state[0] = 0;
        return "could not start virtlockd";
    }
    atexit(lockd_stop);
    return NULL;
}

/* The five parameters of a domain, as libvirt's domain_lock.c builds them. */
static void lockd_domain_params(virLockManagerParam p[5], const unsigned char uuid[16],
                                const char *name, unsigned int id, unsigned int pid)
{
    memset(p, 0, 5 * sizeof(*p));
    p[0].type = VIR_LOCK_MANAGER_PARAM_TYPE_UUID;    p[0].key = "uuid";
    memcpy(p[0].value.uuid, uuid, 16);
    p[1].type = VIR_LOCK_MANAGER_PARAM_TYPE_STRING;  p[1].key = "name"; p[1].value.str = (char *)name;
    p[2].type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT;    p[2].key = "id";   p[2].value.iv = (int)id;
    p[3].type = VIR_LOCK_MANAGER_PARAM_TYPE_UINT;    p[3].key = "pid";  p[3].value.iv = (int)pid;
    p[4].type = VIR_LOCK_MANAGER_PARAM_TYPE_CSTRING; p[4].key = "uri";  p[4].value.cstr = "qemu:///system";
}

#endif
