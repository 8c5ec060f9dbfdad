/* locks.h: the demo's disk-lock section (locks.c). */
#ifndef VIRTCORE_DEMO_LOCKS_H
#define VIRTCORE_DEMO_LOCKS_H

/* Prints the section: a daemon start in a new process whose qemu driver takes its guests'
 * disk locks through the `lockspace` lock driver. Returns 0, or -1 when a guest on a busy
 * disk was not refused with the holder named, or a crashed guest's disk was not released.
 * Prints "not available" and returns 0 when lockspace.so is not installed. `root` is the
 * demo's host directory. */
int demo_locks(const char *root);

#endif
