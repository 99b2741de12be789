/*  fl_minion.h: the minion daemon: one DEALER connection to the master over
    CURVE, a hello/welcome handshake at every (re)connection, heartbeats,
    jobs run in forked workers, returns kept until the master acknowledges
    them. */
#ifndef FL_MINION_H
#define FL_MINION_H

#include "fl_config.h"

typedef struct fl_minion fl_minion_t;

extern const fl_cfg_spec_t fl_minion_config_spec[];
extern const size_t fl_minion_config_spec_len;

/*  Loads keys, certificate and grains.  Takes ownership of *CONFIG_P.
    NULL with *ERR set (caller frees). */
fl_minion_t *fl_minion_new(fl_config_t **config_p, char **err);
void fl_minion_destroy(fl_minion_t **self_p);
/*  Runs until a signal or until the master retires this minion.  Returns
    the process exit status. */
int fl_minion_run(fl_minion_t *self);

#endif
