/*  fl_master.h: the master daemon.  One thread, one zloop: the CURVE ROUTER
    for minions, the ZAP handler on inproc (so key checks read the same
    registry without threads), and the ipc control socket for fleetctl. */
#ifndef FL_MASTER_H
#define FL_MASTER_H

#include "fl_config.h"

typedef struct fl_master fl_master_t;

/*  The master.yaml table: validation and documentation in one place. */
extern const fl_cfg_spec_t fl_master_config_spec[];
extern const size_t fl_master_config_spec_len;

/*  Creates the data directory and the master's key pair when missing.
    0 on success; -1 with *ERR set (caller frees). */
int fl_master_init_data(const fl_config_t *config, char **err);
/*  Opens the store, binds the sockets.  Takes ownership of *CONFIG_P. */
fl_master_t *fl_master_new(fl_config_t **config_p, char **err);
void fl_master_destroy(fl_master_t **self_p);
/*  Runs until SIGINT/SIGTERM.  Returns 0 on a clean stop. */
int fl_master_run(fl_master_t *self);

#endif
