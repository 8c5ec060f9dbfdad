/* bench_floor.c: what the atomic operations a Find* + virDomainObjEndAPI must do cost on
 * this machine, without any library: the floor under the lookup rows of `make bench`.
 *
 * A lookup that returns the object locked and referenced, under a reader-writer lock on
 * the list, does six atomic read-modify-writes: list read lock and unlock, object ref,
 * object lock, and (EndAPI) object unlock and unref. This program does exactly those on
 * plain C11 atomics laid out like virtcore's (a 64-byte reader shard per thread, the
 * refcount and lock in the object's first line), over N objects 1 KiB apart (the heap one
 * domain takes, so 100k of them spread over ~100 MiB as in the benchmark: OBJ_BYTES) visited in a
 * fixed random order (the benchmark's key order is random too), and prints ns per lookup:
 *
 *   floor_rmw_ns            one uncontended atomic read-modify-write (lock xadd)
 *   floor_find_end_ns       the six, on N objects
 *   floor_find_end_nolist_ns  the four that remain without a list lock (a lock-free index)
 *   floor_touch_ns          only reading each object's first line, independent reads
 *                           (the CPU overlaps them)
 *   floor_miss_ns           one read of a random object's first line that the next read
 *                           depends on (the latency a lookup pays when its object is not
 *                           in a cache: the lookup's own code leaves no room to overlap)
 *
 * Timings are reported, never asserted. Usage: bench_floor [N] (default 10000). */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Bytes between objects: the heap per domain (build with -DOBJ_BYTES=160 to see what
 * domain objects packed together, away from their definitions, would give). */
#ifndef OBJ_BYTES
#define OBJ_BYTES 1024
#endif

struct obj {
    _Atomic uint32_t magic;
    _Atomic int32_t refs;
    void *klass;
    _Atomic uint8_t lock;
    uint32_t next;
    char pad[OBJ_BYTES - 24];
};

struct shard {
    _Atomic uint64_t state;
    char pad[56];
};

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What a Find does to the object it found: check its class, take a reference. */
static inline uint32_t obj_find(struct obj *o)
{
    uint32_t magic = atomic_load_explicit(&o->magic, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
    return magic;
}

/* The object's lock taken (Find returns it locked), then virDomainObjEndAPI: unlock, unref. */
static inline void obj_lock_end(struct obj *o)
{
    uint8_t unlocked = 0, locked = 1;
    atomic_compare_exchange_strong_explicit(&o->lock, &unlocked, 1, memory_order_acquire,
                                            memory_order_relaxed);
    atomic_compare_exchange_strong_explicit(&o->lock, &locked, 0, memory_order_release,
                                            memory_order_relaxed);
    atomic_fetch_sub_explicit(&o->refs, 1, memory_order_release);
}

#define ROUNDS 5
#define ITERS 2000000

/* Median over ROUNDS of ns per iteration of `body` (0: rmw, 1: six, 2: four, 3: touch). */
static double run(int kind, struct obj *objs, const uint32_t *order, int n, struct shard *sh)
{
    double v[ROUNDS];
    volatile uint32_t sink = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = cpu_ns();
        for (long i = 0; i < ITERS; i++) {
            struct obj *o = &objs[order[i % n]];
            switch (kind) {
            case 0:
                atomic_fetch_add_explicit(&sh->state, 16, memory_order_acquire);
                break;
            case 1: {
                uint64_t s = atomic_load_explicit(&sh->state, memory_order_relaxed);
                atomic_compare_exchange_strong_explicit(&sh->state, &s, s + 16,
                                                        memory_order_acquire, memory_order_relaxed);
                sink += obj_find(o);
                atomic_fetch_sub_explicit(&sh->state, 16, memory_order_release);
                obj_lock_end(o);
                break;
            }
            case 2:
                sink += obj_find(o);
                obj_lock_end(o);
                break;
            case 3:
                sink += atomic_load_explicit(&o->magic, memory_order_relaxed);
                break;
            default:
                /* Pointer chase: the next object is named by this one. */
                sink = objs[sink].next;
                break;
            }
        }
        v[r] = (cpu_ns() - t0) / ITERS;
    }
    (void)sink;
    qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
    return v[ROUNDS / 2];
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    if (n < 1)
        n = 1;
    struct obj *objs = aligned_alloc(64, sizeof(struct obj) * (size_t)n);
    uint32_t *order = malloc(sizeof(uint32_t) * (size_t)n);
    struct shard *sh = aligned_alloc(64, sizeof(struct shard));
    if (!objs || !order || !sh)
        return 1;
    for (int i = 0; i < n; i++) {
        atomic_init(&objs[i].magic, 0x56430002u);
        atomic_init(&objs[i].refs, 1);
        atomic_init(&objs[i].lock, 0);
        order[i] = (uint32_t)i;
    }
    atomic_init(&sh->state, 0);
    /* A fixed random permutation (xorshift), so consecutive lookups hit unrelated objects. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1));
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    printf("domains %d\n", n);
    printf("floor_rmw_ns %.1f\n", run(0, objs, order, n, sh));
    printf("floor_find_end_ns %.1f\n", run(1, objs, order, n, sh));
    printf("floor_find_end_nolist_ns %.1f\n", run(2, objs, order, n, sh));
    printf("floor_touch_ns %.1f\n", run(3, objs, order, n, sh));
    for (int i = 0; i < n; i++)
        objs[order[i]].next = order[(i + 1) % n];
    printf("floor_miss_ns %.1f\n", run(4, objs, order, n, sh));
    return 0;
}
