/* domain_diff_access.h: the C-visible fields of a domain definition, read the same way
 * from virtcore's structs and from Debian's libvirt.so.0 (9.0.0), for the differential
 * test (test_domain_diff.c).
 *
 * libvirt installs no header for its internal structs, so the libvirt build reads them at
 * fixed offsets. The offsets are libvirt 9.0.0's on x86-64, measured once with offsetof()
 * on the headers of Debian's source package (libvirt_9.0.0-4+deb12u2: src/conf/
 * domain_conf.h, storage_source_conf.h, virdomainobjlist.h; none of these structs has a
 * conditional member; scripts/libvirt-struct-offsets.sh measures them again). The libvirt
 * build runs only against libvirt 9.0.x on a 64-bit target, and checks the disk offsets on
 * every disk against libvirt's own accessors (virDomainDiskGetSource, virDomainDiskGetType);
 * a wrong definition offset would show as a difference in every document. */
#ifndef DOMAIN_DIFF_ACCESS_H
#define DOMAIN_DIFF_ACCESS_H

#include "bench_domain_compat.h"

#ifdef DOMAIN_USE_LIBVIRT
typedef struct _virDomainDiskDef virDomainDiskDef;
typedef struct _virDomainLeaseDef virDomainLeaseDef;
typedef struct _virStorageSource virStorageSource;
typedef struct _virLockManagerPlugin virLockManagerPlugin;

virLockManagerPlugin *virLockManagerPluginNew(const char *name, const char *driverName,
                                              const char *configDir, unsigned int flags);
void virLockManagerPluginUnref(virLockManagerPlugin *plugin);
int virDomainLockProcessStart(virLockManagerPlugin *plugin, const char *uri, virDomainObj *dom,
                              bool paused, int *fd);
int virDomainLockProcessPause(virLockManagerPlugin *plugin, virDomainObj *dom, char **state);
int virDomainLockProcessResume(virLockManagerPlugin *plugin, const char *uri, virDomainObj *dom,
                               const char *state);
int virDomainLockProcessInquire(virLockManagerPlugin *plugin, virDomainObj *dom, char **state);
const char *virDomainDiskGetSource(const virDomainDiskDef *def);
int virDomainDiskGetType(virDomainDiskDef *def);

_Static_assert(sizeof(void *) == 8, "libvirt 9.0 offsets measured on x86-64");
#define LVF(p, off, T) (*(T *)((char *)(p) + (off)))
/* virDomainDef */
#define def_id(d) LVF(d, 4, int)
#define def_uuid(d) (&LVF(d, 8, unsigned char))
#define def_name(d) LVF(d, 48, char *)
#define def_onlockfailure(d) LVF(d, 436, int)
#define def_ndisks(d) LVF(d, 1216, size_t)
#define def_disk(d, i) (LVF(d, 1224, virDomainDiskDef **)[i])
#define def_nleases(d) LVF(d, 1456, size_t)
#define def_lease(d, i) (LVF(d, 1464, virDomainLeaseDef **)[i])
/* virDomainDiskDef and its virStorageSource */
#define disk_src(k) LVF(k, 0, virStorageSource *)
#define disk_device(k) LVF(k, 16, int)
#define disk_bus(k) LVF(k, 20, int)
#define disk_dst(k) LVF(k, 24, char *)
#define src_type(s) LVF(s, 28, int)
#define src_path(s) LVF(s, 32, char *)
#define src_readonly(s) LVF(s, 328, bool)
#define src_shared(s) LVF(s, 329, bool)
/* virDomainLeaseDef */
#define lease_lockspace(l) LVF(l, 0, char *)
#define lease_key(l) LVF(l, 8, char *)
#define lease_path(l) LVF(l, 16, char *)
#define lease_offset(l) LVF(l, 24, unsigned long long)
/* virDomainObj */
#define obj_pid(o) LVF(o, 120, int)
#define obj_def(o) LVF(o, 136, virDomainDef *)
#define HAVE_ONLOCKFAILURE 1
#else
#define def_id(d) ((d)->id)
#define def_uuid(d) ((d)->uuid)
#define def_name(d) ((d)->name)
#ifdef VC_HAS_ONLOCKFAILURE
#define def_onlockfailure(d) ((d)->onLockFailure)
#define HAVE_ONLOCKFAILURE 1
#endif
#define def_ndisks(d) ((d)->ndisks)
#define def_disk(d, i) ((d)->disks[i])
#define def_nleases(d) ((d)->nleases)
#define def_lease(d, i) ((d)->leases[i])
#define disk_src(k) ((k)->src)
#define disk_device(k) ((k)->device)
#define disk_bus(k) ((k)->bus)
#define disk_dst(k) ((k)->dst)
#define src_type(s) ((s)->type)
#define src_path(s) ((s)->path)
#define src_readonly(s) ((s)->readonly)
#define src_shared(s) ((s)->shared)
#define lease_lockspace(l) ((l)->lockspace)
#define lease_key(l) ((l)->key)
#define lease_path(l) ((l)->path)
#define lease_offset(l) ((l)->offset)
#define obj_pid(o) ((o)->pid)
#define obj_def(o) ((o)->def)
#endif

#endif
