/* demo.h: the demo daemon's four state drivers (drivers.c) and what they report back.
 *
 * The "host" lives under one root directory, laid out like an embedded libvirt root:
 *   ROOT/etc/storage/POOL.conf      pool definitions ("autostart 1")
 *   ROOT/etc/network/NET.conf       network definitions
 *   ROOT/etc/secrets/NAME           secrets
 *   ROOT/var/lib/qemu/GUEST.status  guests: "POOL RUNNING" (1 = recorded as running)
 *   ROOT/run/...                    tmpfs of the host: wiped at every simulated boot
 *     run/storage/POOL.active       status file of an active pool (as libvirt's run dir)
 *     run/network/NET.active        status file of an active network
 *     run/virtcore/autostart/NAME   virtcore's once-per-boot autostart markers
 */
#ifndef VIRTCORE_DEMO_H
#define VIRTCORE_DEMO_H

#include <virtcore.h>

/* How the drivers are wired, i.e. which kind of daemon is being simulated. */
enum demo_style {
    /* libvirt 9: no autostart hook; each driver autostarts inside its stateInitialize;
     * every driver in one tier. */
    STYLE_LIBVIRT9 = 0,
    /* One tier, but with virtcore's stateAutoStart hooks (init all, then autostart all). */
    STYLE_FLAT_HOOKS = 1,
    /* virtcore's tiers: secret/storage/network tier 0, qemu tier 1 with declared needs. */
    STYLE_TIERED = 2
};

#define DEMO_NDRIVERS 4
#define DEMO_MAX_POOLS 8

/* What one daemon start saw; filled by the drivers, read by the daemon process. */
struct demo_stats {
    int guests_reconnected;
    int guests_killed;
    int storage_autostart_ran; /* the storage driver's autostart ran in this start */
    int npools;
    char pool_names[DEMO_MAX_POOLS][32];
    int pool_active[DEMO_MAX_POOLS]; /* after start-up */
};

extern struct demo_stats demo_stats;

/* Configures the four drivers for `style` and returns them (secret, storage, network,
 * qemu) in `out`. */
void demo_drivers_setup(enum demo_style style, virStateDriver *out[DEMO_NDRIVERS]);
/* Registers one of those drivers with virtcore, with its extension (tier, needs,
 * autostart) as demo_drivers_setup set it: virtcoreRegisterStateDriverExt. */
int demo_register_driver(virStateDriver *drv);

/* ---- the hypervisor driver's guests and their disk locks (qemu.c) ------------------ */

/* With `on`, the qemu driver's stateInitialize loads the `lockspace` lock driver
 * (ROOT/etc/virtcore/qemu-lockspace.conf) and keeps a domain list; its stateCleanup stops
 * the running guests and frees both. Off by default (the start-up modes do not need it). */
void demo_qemu_guests_enable(int on);
int qemu_guests_init(const char *root);
void qemu_guests_cleanup(void);

/* Defines a guest from its domain XML (virDomainDefParseString + virDomainObjListAdd). */
int demo_guest_define(const char *xml);
/* Starts a guest: forks its process, which registers with the lock manager
 * (virDomainLockProcessStart, paused); the daemon then takes its disk locks on its behalf
 * (virDomainLockProcessResume). The process runs until killed. -1 with the error set, e.g.
 * VIR_ERR_RESOURCE_BUSY naming the guest that holds a disk. */
int demo_guest_start(const char *name);
/* The read end of a pipe whose write end only the demo holds: guests started afterwards
 * outlive the daemon that started them and end when it closes. */
void demo_qemu_guest_lifeline(int fd);
/* With `on`, the qemu driver's stateCleanup leaves running guests running (a restart). */
void demo_qemu_guests_keep(int on);
/* A restarted daemon reconnects to a guest an earlier one started (libvirt's
 * qemuProcessReconnect): 1 running again, 0 its process is gone, -1 no such guest. */
int demo_guest_adopt(const char *name, pid_t pid, int id);
/* Kills a running guest's process with SIGKILL (a crash) and reaps it. */
int demo_guest_crash(const char *name);

struct demo_guest_info {
    int running;
    int id;
    pid_t pid;
    unsigned char uuid[VIR_UUID_BUFLEN];
};
int demo_guest_info(const char *name, struct demo_guest_info *info);
/* IDs of the running guests (virDomainObjListGetActiveIDs), how many; `*inactive` gets the
 * number of defined guests that do not run (virDomainObjListNumOfDomains). */
int demo_guest_ids(int *ids, int maxids, int *inactive);

#endif
