#!/bin/sh
# Run by `make check` (c-tests/state.mk): the demo with a few restarts. It exits non-zero
# when a tiered start-up killed a guest, the once-per-boot autostart did not hold, or the
# parallel autostart order differed from the sequential one, or a guest on a disk held by
# another running guest was not refused (with the holder named) or a crashed guest's disk
# was not released, or a guest's locks did not survive a daemon restart.
cd "$(dirname "$0")" && exec ./virtcore-demo 20
