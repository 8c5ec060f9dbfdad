/* bench.h: start-up time of 20 drivers, sequential versus parallel within a tier. */
#ifndef VIRTCORE_DEMO_BENCH_H
#define VIRTCORE_DEMO_BENCH_H

#include <virtcore.h>

/* Prints the table; returns 0, or -1 when a start failed or the autostart order differed
 * from the sequential one. `root` is a scratch directory for the run dirs. */
int demo_bench(const char *root);

#endif
