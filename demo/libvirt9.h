/* libvirt9.h: the demo's drivers on Debian's libvirt 9.0 (libvirt.so.0), dlopen'ed. */
#ifndef VIRTCORE_DEMO_LIBVIRT9_H
#define VIRTCORE_DEMO_LIBVIRT9_H

#include <stddef.h>
#include <virtcore.h>

/* Loads libvirt.so.0 and calls virInitialize; -1 with the reason in `why`. */
int lv9_open(char *why, size_t len);
/* libvirt's virRegisterStateDriver, virStateInitialize (no inhibit callback),
 * virStateCleanup and virGetLastErrorMessage. */
int lv9_register(virStateDriver *drv);
int lv9_state_initialize(bool privileged, bool mandatory, const char *root, bool monolithic);
int lv9_state_cleanup(void);
const char *lv9_last_error(void);

#endif
