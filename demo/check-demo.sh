#!/bin/sh
# Run by `make check` (c-tests/state.mk): the demo with a few restarts. It exits non-zero
# when a tiered start-up killed a guest, the once-per-boot autostart did not hold, or the
# parallel autostart order differed from the sequential one.
cd "$(dirname "$0")" && exec ./virtcore-demo 20
