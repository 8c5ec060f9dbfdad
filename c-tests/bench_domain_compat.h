/* bench_domain_compat.h: lets one C source be built against virtcore.h or against
 * Debian's libvirt.so.0 (9.0.0), whose internal domain functions are exported under
 * LIBVIRT_PRIVATE_9.0.0 but have no installed header.
 *
 * Build with -DDOMAIN_USE_LIBVIRT for the libvirt build. The prototypes below are
 * libvirt 9.0's (src/conf/domain_conf.h, src/conf/virdomainobjlist.h); libvirt's
 * structs are opaque here, so code shared by both builds must only use functions. */
#ifndef BENCH_DOMAIN_COMPAT_H
#define BENCH_DOMAIN_COMPAT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef DOMAIN_USE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define DOMAIN_IMPL "libvirt"

typedef struct _virDomainXMLOption virDomainXMLOption;
typedef struct _virDomainDef virDomainDef;
typedef struct _virDomainObj virDomainObj;
typedef struct _virDomainObjList virDomainObjList;

#define VIR_DOMAIN_OBJ_LIST_ADD_LIVE (1 << 0)
#define VIR_DOMAIN_OBJ_LIST_ADD_CHECK_LIVE (1 << 1)
#define VIR_DOMAIN_DEF_PARSE_STATUS (1 << 0)
#define VIR_DOMAIN_DEF_PARSE_INACTIVE (1 << 1)

typedef int (*virDomainObjListRenameCallback)(virDomainObj *dom, const char *new_name,
                                              unsigned int flags, void *opaque);
typedef int (*virDomainObjListIterator)(virDomainObj *dom, void *opaque);
typedef bool (*virDomainObjListACLFilter)(virConnectPtr conn, virDomainDef *def);
typedef void (*virDomainLoadConfigNotify)(virDomainObj *dom, int newDomain, void *opaque);

virDomainXMLOption *virDomainXMLOptionNew(void *config, void *priv, void *xmlns, void *abi,
                                          void *saveCookie, void *jobConfig);
virDomainDef *virDomainDefParseString(const char *xmlStr, virDomainXMLOption *xmlopt,
                                      void *parseOpaque, unsigned int flags);
virDomainDef *virDomainDefNew(virDomainXMLOption *xmlopt);
void virDomainDefFree(virDomainDef *def);
char *virDomainDefFormat(virDomainDef *def, virDomainXMLOption *xmlopt, unsigned int flags);
virDomainObj *virDomainObjNew(virDomainXMLOption *caps);
void virDomainObjEndAPI(virDomainObj **vm);
int virDomainObjGetState(virDomainObj *obj, int *reason);
void virDomainObjSetState(virDomainObj *obj, int state, int reason);

virDomainObjList *virDomainObjListNew(void);
virDomainObj *virDomainObjListAdd(virDomainObjList *doms, virDomainDef **def,
                                  virDomainXMLOption *xmlopt, unsigned int flags,
                                  virDomainDef **oldDef);
virDomainObj *virDomainObjListFindByUUID(virDomainObjList *doms, const unsigned char *uuid);
virDomainObj *virDomainObjListFindByName(virDomainObjList *doms, const char *name);
virDomainObj *virDomainObjListFindByID(virDomainObjList *doms, int id);
void virDomainObjListRemove(virDomainObjList *doms, virDomainObj *dom);
void virDomainObjListRemoveLocked(virDomainObjList *doms, virDomainObj *dom);
int virDomainObjListRename(virDomainObjList *doms, virDomainObj *dom, const char *new_name,
                           unsigned int flags, virDomainObjListRenameCallback callback,
                           void *opaque);
int virDomainObjListForEach(virDomainObjList *doms, bool modify,
                            virDomainObjListIterator callback, void *opaque);
int virDomainObjListNumOfDomains(virDomainObjList *doms, bool active,
                                 virDomainObjListACLFilter filter, virConnectPtr conn);
int virDomainObjListGetActiveIDs(virDomainObjList *doms, int *ids, int maxids,
                                 virDomainObjListACLFilter filter, virConnectPtr conn);
int virDomainObjListGetInactiveNames(virDomainObjList *doms, char **const names, int maxnames,
                                     virDomainObjListACLFilter filter, virConnectPtr conn);
/* 9.0 returns nothing (its body ends in a tail call of a void filter) */
void virDomainObjListCollect(virDomainObjList *domlist, virConnectPtr conn, virDomainObj ***vms,
                             size_t *nvms, virDomainObjListACLFilter filter, unsigned int flags);
void virDomainObjListCollectAll(virDomainObjList *domlist, virDomainObj ***vms, size_t *nvms);
void virObjectListFreeCount(void *list, size_t count);
int virDomainObjListLoadAllConfigs(virDomainObjList *doms, const char *configDir,
                                   const char *autostartDir, bool liveStatus,
                                   virDomainXMLOption *xmlopt, virDomainLoadConfigNotify notify,
                                   void *opaque);
int virDomainDeleteConfig(const char *configDir, const char *autostartDir, virDomainObj *dom);

void *virObjectRef(void *obj);
void virObjectUnref(void *obj);
void virObjectLock(void *obj);
void virObjectUnlock(void *obj);

static inline void domain_impl_init(void)
{
    virInitialize();
}
#else
#include <virtcore.h>

#define DOMAIN_IMPL "virtcore"

static inline void domain_impl_init(void)
{
}
#endif

#endif
