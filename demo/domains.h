/* domains.h: the demo's domain object list section (domains.c). */
#ifndef VIRTCORE_DEMO_DOMAINS_H
#define VIRTCORE_DEMO_DOMAINS_H

/* Prints the section: the same libvirt internal calls (virDomainDefParseString,
 * virDomainObjListAdd, virDomainObjListFindByUUID/ByName/ByID) on virtcore and on Debian's
 * libvirt 9.0, on the real domain XML of tests/data/domain-xml and on generated domains.
 * Returns 0, or -1 when virtcore refused a document of the corpus or a lookup did not find
 * its domain. libvirt's column says "not available" when libvirt.so.0 cannot be loaded.
 * Takes about a second. */
int demo_domains(void);

#endif
