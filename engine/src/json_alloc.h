/*
 * json_alloc.h — jansson's allocator for martflow processes.
 *
 * A record's JSON tree is built on one thread (a source parses it) and freed
 * on another (the sink that handled it last). With glibc malloc every such
 * free takes the allocating thread's arena lock, and at hundreds of thousands
 * of records a second the two threads spend their time waking each other
 * (measured: a quarter of the engine benchmark). Here each block remembers its
 * owning thread; a free from another thread pushes the block onto the owner's
 * lock-free list, and the owner frees the list on its next allocation, so every
 * free() runs on the thread that malloc()ed.
 */
#ifndef MF_JSON_ALLOC_H
#define MF_JSON_ALLOC_H

/* Install as jansson's allocator. Call before any JSON value exists (first
 * thing in main). */
void mf_json_alloc_install(void);
/* Free what other threads handed back to every owner (all threads joined). */
void mf_json_alloc_drain_all(void);

#endif
