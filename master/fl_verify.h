/*  fl_verify.h: ed25519 verification of a burst of minion messages on
    several cores.  Verifying each return is most of the master's own work
    during a fleet-wide job (60% of its main thread at 10,000 minions): the
    loop hands a burst's signatures to the verifier, which checks them on
    its helper threads and the calling thread together, and then handles
    the messages one by one, in order, as before.  The verifier only
    answers "does this signature verify with this key"; everything else
    about a message is decided in the loop. */
#ifndef FL_VERIFY_H
#define FL_VERIFY_H

#include "fl_keys.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t pk[FL_KEY_BYTES];   /* the key to verify with (a copy) */
    const uint8_t *data;        /* borrowed: must outlive fl_verifier_run */
    size_t len;
    const uint8_t *sig;         /* 64 bytes, borrowed */
    bool wanted;                /* false: nothing to verify for this slot */
    bool ok;                    /* the answer, once run */
} fl_verify_task_t;

typedef struct fl_verifier fl_verifier_t;

/*  HELPERS threads besides the caller's (0: the caller verifies alone).
    NULL when a thread cannot be started. */
fl_verifier_t *fl_verifier_new(size_t helpers);
void fl_verifier_destroy(fl_verifier_t **self_p);
size_t fl_verifier_helpers(const fl_verifier_t *self);
/*  Verifies every wanted task of TASKS[0..N) and returns when all are
    answered.  One caller at a time. */
void fl_verifier_run(fl_verifier_t *self, fl_verify_task_t *tasks, size_t n);

#endif
