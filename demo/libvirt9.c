/* libvirt9.c: runs the demo's drivers on Debian's real libvirt 9.0 (libvirt.so.0), which
 * exports its state-driver functions under LIBVIRT_PRIVATE_9.0.0. virtcore's
 * virStateDriver is libvirt 9.0's (64 bytes), so the same struct works; virtcore's
 * extension (tier, needs, autostart) is simply not given to libvirt. The library is
 * dlopen'ed in the daemon process only, and the functions are looked up by version, so
 * they do not clash with virtcore's functions of the same names. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "libvirt9.h"

typedef int (*init_fn)(void);
typedef int (*register_fn)(virStateDriver *);
typedef int (*state_init_fn)(bool, bool, const char *, bool, virStateInhibitCallback, void *);
typedef int (*cleanup_fn)(void);
typedef const char *(*message_fn)(void);

static void *handle;
static init_fn lv_initialize;
static register_fn lv_register;
static state_init_fn lv_state_init;
static cleanup_fn lv_cleanup;
static message_fn lv_message;

/* dlsym returns an object pointer; ISO C has no cast to a function pointer, copy it. */
static int lookup(void *fn, size_t size, const char *name, const char *version)
{
    void *p = dlvsym(handle, name, version);
    if (!p)
        return -1;
    memcpy(fn, &p, size);
    return 0;
}

int lv9_open(char *why, size_t len)
{
    if (!handle && !(handle = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND))) {
        snprintf(why, len, "%s", dlerror());
        return -1;
    }
    if (lookup(&lv_initialize, sizeof(lv_initialize), "virInitialize", "LIBVIRT_0.1.0") < 0 ||
        lookup(&lv_register, sizeof(lv_register), "virRegisterStateDriver",
               "LIBVIRT_PRIVATE_9.0.0") < 0 ||
        lookup(&lv_state_init, sizeof(lv_state_init), "virStateInitialize",
               "LIBVIRT_PRIVATE_9.0.0") < 0 ||
        lookup(&lv_cleanup, sizeof(lv_cleanup), "virStateCleanup", "LIBVIRT_PRIVATE_9.0.0") < 0 ||
        lookup(&lv_message, sizeof(lv_message), "virGetLastErrorMessage", "LIBVIRT_1.0.6") < 0) {
        snprintf(why, len, "libvirt.so.0 lacks the LIBVIRT_PRIVATE_9.0.0 state functions");
        return -1;
    }
    if (lv_initialize() < 0) {
        snprintf(why, len, "virInitialize: %s", lv_message());
        return -1;
    }
    return 0;
}

int lv9_register(virStateDriver *drv)
{
    return lv_register(drv);
}

int lv9_state_initialize(bool privileged, bool mandatory, const char *root, bool monolithic)
{
    return lv_state_init(privileged, mandatory, root, monolithic, NULL, NULL);
}

int lv9_state_cleanup(void)
{
    return lv_cleanup();
}

const char *lv9_last_error(void)
{
    return lv_message();
}
