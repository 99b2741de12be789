/*  fl_secmem.c: keeps libsodium's guarded allocations for reuse.

    libzmq's CURVE handshake takes six short-lived buffers (transient keys,
    cookies, vouches) from sodium_allocarray and gives them back with
    sodium_free.  Each one is a mapping of its own: mmap, guard pages and a
    canary by mprotect, madvise, mlock, and on the way back munlock and an
    munmap whose TLB shootdown interrupts every core the process runs on.
    That is about 60 system calls per handshake, and in a reconnect storm
    of 10,000 minions it was the largest single share of the master's CPU
    (docs/PERFORMANCE.md, "The reconnect storm").

    A program that links this file (fleet-master, fleet-swarm) defines the
    three functions itself, so libzmq's calls come here instead of to
    libsodium.  A block is still allocated by libsodium's sodium_malloc (its
    guard pages, canary and mlock stay); when it is freed it is wiped, as
    sodium_free would, and kept for the next request of the same size
    instead of being unmapped.  Blocks this pool did not hand out, and
    blocks beyond its bounds, go to libsodium's sodium_free.  What a kept
    block gives up: libsodium's canary check at sodium_free, and the fault
    a use after free would meet in an unmapped block (it reads zeros, or
    the next handshake's buffer).  A second free of a kept block aborts. */
#include "fl_secmem.h"

#include <czmq.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define S_CLASSES 16        /* distinct sizes kept */
#define S_PER_CLASS 128     /* blocks kept per size: at most 16 x 128 locked pages */

typedef struct {
    size_t size;
    size_t count;
    void *blocks[S_PER_CLASS];
} s_class_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static void *(*s_real_malloc)(size_t);
static void (*s_real_free)(void *);
/*  Every block this pool got from libsodium -> (its size << 1) | pooled,
    as a pointer.  "Pooled" catches a second free of the same block, which
    libsodium's sodium_free would fault on (the block is unmapped) and a
    pool would otherwise hand to two handshakes at once. */
static zhashx_t *s_live;
static s_class_t s_classes[S_CLASSES];
static fl_secmem_stats_t s_stats;

static size_t
s_hash_ptr(const void *key)
{
    uintptr_t v = (uintptr_t) key;
    return (size_t) (v >> 4) ^ (size_t) (v >> 20);
}

static int
s_cmp_ptr(const void *a, const void *b)
{
    return a == b ? 0 : ((uintptr_t) a < (uintptr_t) b ? -1 : 1);
}

static void
s_die(const char *what)
{
    fprintf(stderr, "fleet: fl_secmem: %s\n", what);
    abort();
}

static void
s_init(void)
{
    /* libsodium learns the page size in sodium_init: its allocator needs
       it, whoever asks first. */
    if (sodium_init() < 0) {
        s_die("sodium_init failed");
    }
    s_real_malloc = (void *(*) (size_t)) dlsym(RTLD_NEXT, "sodium_malloc");
    s_real_free = (void (*)(void *)) dlsym(RTLD_NEXT, "sodium_free");
    if (!s_real_malloc || !s_real_free) {
        s_die("libsodium's sodium_malloc or sodium_free not found");
    }
    s_live = zhashx_new();
    if (s_live) {
        zhashx_set_key_hasher(s_live, s_hash_ptr);
        zhashx_set_key_comparator(s_live, s_cmp_ptr);
        zhashx_set_key_duplicator(s_live, NULL);
        zhashx_set_key_destructor(s_live, NULL);
    }
}

static s_class_t *
s_class(size_t size, bool create)
{
    for (size_t i = 0; i < S_CLASSES; i++) {
        if (s_classes[i].size == size) {
            return &s_classes[i];
        }
        if (s_classes[i].size == 0) {
            if (!create) {
                return NULL;
            }
            s_classes[i].size = size;
            return &s_classes[i];
        }
    }
    return NULL;
}

void *
sodium_malloc(size_t size)
{
    pthread_once(&s_once, s_init);
    void *block = NULL;
    pthread_mutex_lock(&s_lock);
    s_class_t *c = size ? s_class(size, false) : NULL;
    if (c && c->count > 0) {
        block = c->blocks[--c->count];
        zhashx_update(s_live, block, (void *) (uintptr_t) (size << 1));
        s_stats.reused++;
    }
    pthread_mutex_unlock(&s_lock);
    if (block) {
        return block;       /* still in the live table, wiped when freed */
    }
    block = s_real_malloc(size);
    if (!block || size == 0 || size > SIZE_MAX / 2) {
        return block;       /* untracked: freed by libsodium */
    }
    pthread_mutex_lock(&s_lock);
    s_stats.mapped++;
    /* Untracked (no table, or it failed) means: freed by libsodium. */
    if (s_live && zhashx_insert(s_live, block, (void *) (uintptr_t) (size << 1)) != 0) {
        zhashx_delete(s_live, block);
    }
    pthread_mutex_unlock(&s_lock);
    return block;
}

void *
sodium_allocarray(size_t count, size_t size)
{
    if (count > 0 && size >= SIZE_MAX / count) {
        errno = ENOMEM;
        return NULL;
    }
    return sodium_malloc(count * size);
}

void
sodium_free(void *ptr)
{
    if (!ptr) {
        return;
    }
    pthread_once(&s_once, s_init);
    pthread_mutex_lock(&s_lock);
    uintptr_t entry = s_live ? (uintptr_t) zhashx_lookup(s_live, ptr) : 0;
    if (entry & 1) {
        pthread_mutex_unlock(&s_lock);
        s_die("sodium_free of a block already freed");
    }
    size_t size = (size_t) (entry >> 1);
    s_class_t *c = size ? s_class(size, true) : NULL;
    bool kept = c && c->count < S_PER_CLASS;
    if (kept) {
        sodium_memzero(ptr, size);
        c->blocks[c->count++] = ptr;
        zhashx_update(s_live, ptr, (void *) (uintptr_t) ((size << 1) | 1));
        s_stats.kept++;
    } else if (size) {
        zhashx_delete(s_live, ptr);
    }
    pthread_mutex_unlock(&s_lock);
    if (!kept) {
        s_real_free(ptr);
    }
}

fl_secmem_stats_t
fl_secmem_stats(void)
{
    pthread_mutex_lock(&s_lock);
    fl_secmem_stats_t stats = s_stats;
    pthread_mutex_unlock(&s_lock);
    return stats;
}
