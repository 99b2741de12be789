/*  fl_mods.h: the execution module handlers (minion/mod_*.c), bound to
    their names by minion/fl_registry.c.  Every handler has the
    fl_mod_handler_t shape: ARGS and KWARGS are borrowed, arity is already
    checked, *RET is set (caller owns) and the retcode is returned. */
#ifndef FL_MODS_H
#define FL_MODS_H

#include "fl_registry.h"

/*  mod_test.c */
int mod_test_ping(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);
int mod_test_echo(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);
int mod_test_sleep(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);

/*  mod_cmd.c.  Returns {"pid", "retcode", "stdout", "stderr"}; the retcode
    is the command's (127 when it cannot be executed, 124 on timeout). */
#define MOD_CMD_MAX_OUTPUT (256 * 1024)
int mod_cmd_run(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);

/*  mod_grains.c */
int mod_grains_items(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);
int mod_grains_get(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);

/*  mod_state.c: runs the compiled chunks the master sent (kwargs
    __chunks__, __pillar__, __files__, __cache_dir__, test); retcode 2 when
    any state failed, as Salt. */
int mod_state_apply(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret);

/*  mod_locate.c: system.locate [SECONDS]: blink an LED or run the locate command. */
int mod_system_locate(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                      json_t **ret);

/*  mod_sys.c */
int mod_sys_list_functions(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                           json_t **ret);

#endif
