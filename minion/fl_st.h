/*  fl_st.h: the interface of state modules (st_*.c) and of the state
    runner (fl_state.c) that drives them.  State functions run inside the
    job worker (a forked child), so they may block; they never touch
    ZeroMQ.  Each returns Salt's shape: result True/False/None, changes,
    comment.  Every function supports test mode: with ctx->test it changes
    nothing and returns None plus the changes it would make (True and "no
    changes" when there is nothing to do).  Every path a state manages is
    under ctx->root_dir (fl_st_path). */
#ifndef FL_ST_H
#define FL_ST_H

#include "fl_prelude.h"

#include <jansson.h>

typedef enum { FL_ST_FALSE = 0, FL_ST_TRUE = 1, FL_ST_NONE = 2 } fl_st_result_t;

typedef struct {
    const char *minion_id;
    const json_t *grains;
    const json_t *pillar;
    const char *root_dir;   /* "" = / */
    const char *cache_dir;  /* the minion's cache_dir */
    bool test;
    /*  {"fleet://path": "/local/copy", ...}: every fleet:// (or salt://)
        source the chunks name, fetched from the master's file server by
        the minion before the worker started. */
    const json_t *files;
    const char *container_socket;   /* the container engine's API socket */
} fl_st_ctx_t;

typedef struct {
    fl_st_result_t result;
    json_t *changes;        /* object; the runner creates it empty */
    char *comment;          /* malloc'd; set with fl_st_comment */
} fl_st_ret_t;

/*  A state function: NAME is the chunk's name, ARGS its other arguments
    (object).  Fills RET. */
typedef void (*fl_st_fn_t)(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                           fl_st_ret_t *ret);

typedef struct {
    const char *name;       /* "file.managed" */
    fl_st_fn_t fn;
    /*  Called after FN when a watched state reported changes (Salt's
        mod_watch: a service restarts); NULL = nothing extra. */
    fl_st_fn_t mod_watch;
} fl_st_spec_t;

/*  NULL when there is no such state function. */
const fl_st_spec_t *fl_st_find(const char *name);
size_t fl_st_count(void);
const fl_st_spec_t *fl_st_at(size_t index);

/*  Helpers for state modules. */
void fl_st_comment(fl_st_ret_t *ret, const char *fmt, ...) FL_PRINTF(2, 3);
/*  ROOT_DIR + PATH (PATH must be absolute); caller frees. */
char *fl_st_path(const fl_st_ctx_t *ctx, const char *path);
/*  The local copy of a fleet:// or salt:// URL, or NULL (then fail the
    state with "source not found on the master"). */
const char *fl_st_file(const fl_st_ctx_t *ctx, const char *url);

/*  Runs CHUNKS (the compiled low chunks, see common/fl_sls.h) in order,
    with requisites, unless/onlyif/creates, test mode and mod_watch, and
    returns Salt's result object: {"file_|-ID_|-NAME_|-managed": {"result":
    true|false|null, "changes": {}, "comment": "...", "name": NAME,
    "start_time": "HH:MM:SS.ffffff", "duration": MS, "__run_num__": N,
    "__sls__": SLS, "__id__": ID}, ...}.  *FAILED is set when any result
    is false.  Caller owns the result. */
json_t *fl_state_run(const fl_st_ctx_t *ctx, const json_t *chunks, bool *failed);

#endif
