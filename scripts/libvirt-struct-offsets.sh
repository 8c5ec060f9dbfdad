#!/usr/bin/env bash
# Prints the offsets of the libvirt 9.0 struct fields the differential test reads
# (c-tests/domain_diff_access.h), measured with offsetof() on libvirt's own headers.
# Not run by the build: the offsets are committed. To re-measure:
#   apt-get source libvirt   (with a deb-src line for bookworm), apt-get install libglib2.0-dev libxml2-dev
#   scripts/libvirt-struct-offsets.sh path/to/libvirt-9.0.0
set -euo pipefail
src=${1:?usage: $0 LIBVIRT_SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '#define WITH_GLIB 1' > "$tmp/config.h"
cat > "$tmp/off.c" <<'C'
#include <config.h>
#include <stddef.h>
#include <stdio.h>
#include "domain_conf.h"
#define P(s, f) printf("%-20s %-14s %zu\n", #s, #f, offsetof(s, f))
int main(void)
{
    P(virDomainDef, id); P(virDomainDef, uuid); P(virDomainDef, name);
    P(virDomainDef, onLockFailure); P(virDomainDef, ndisks); P(virDomainDef, disks);
    P(virDomainDef, nleases); P(virDomainDef, leases);
    P(virDomainDiskDef, src); P(virDomainDiskDef, device); P(virDomainDiskDef, bus);
    P(virDomainDiskDef, dst);
    P(virStorageSource, type); P(virStorageSource, path); P(virStorageSource, readonly);
    P(virStorageSource, shared);
    P(virDomainLeaseDef, lockspace); P(virDomainLeaseDef, key); P(virDomainLeaseDef, path);
    P(virDomainLeaseDef, offset);
    P(virDomainObj, pid); P(virDomainObj, def);
    return 0;
}
C
gcc -I"$tmp" -I"$src/include" -I"$src/src" -I"$src/src/conf" -I"$src/src/util" -I"$src/src/cpu" \
    -I"$src" $(pkg-config --cflags glib-2.0 libxml-2.0) "$tmp/off.c" -o "$tmp/off" \
    $(pkg-config --libs glib-2.0)
"$tmp/off"
