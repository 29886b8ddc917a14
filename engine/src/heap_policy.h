/*
 * heap_policy.h — the martflow process's glibc malloc settings.
 *
 * Kafka clients allocate each fetch response (several MiB) and each produce
 * request (about batch.size) afresh and free them on another thread soon
 * after. With glibc's defaults such blocks are mmap()ed, or trimmed off the
 * top of a thread's heap as soon as the prefetched responses behind them are
 * freed, so the next response faults its pages in again and the kernel zeroes
 * them. Measured on bench/kafka-mirror (1 M records): 97,000 page faults and
 * 0.8 s of system time; with blocks up to 16 MiB kept in the heap and a heap
 * trimmed only past 32 MiB of free top (twice the Kafka source's 16 MiB
 * prefetch), 15,000 faults and 0.45 s.
 *
 * The price: up to 32 MiB that was once in use may stay mapped per malloc
 * arena instead of going back to the kernel at once. Peak memory is
 * unchanged; the settings are skipped when the user tunes malloc through the
 * environment (GLIBC_TUNABLES glibc.malloc.*, MALLOC_*_).
 */
#ifndef MF_HEAP_POLICY_H
#define MF_HEAP_POLICY_H

/* Apply the settings, first thing in main (before any thread exists). */
void mf_heap_policy_install(void);

#endif
