/*  fl_secmem.h: a pool in front of libsodium's sodium_malloc/sodium_free
    for the programs that hold many CURVE handshakes (fleet-master,
    fleet-swarm).  Linking fl_secmem.o is what turns it on: it defines
    sodium_malloc, sodium_allocarray and sodium_free, which libzmq then
    calls instead of libsodium's.  See fl_secmem.c for why. */
#ifndef FL_SECMEM_H
#define FL_SECMEM_H

#include <stdint.h>

typedef struct {
    uint64_t mapped;    /* blocks libsodium allocated (each its own mapping) */
    uint64_t kept;      /* blocks freed into the pool instead of unmapped */
    uint64_t reused;    /* requests served from the pool */
} fl_secmem_stats_t;

fl_secmem_stats_t fl_secmem_stats(void);

#endif
