/*  fl_registry.h: binds the names of common/fl_funcs.def to the minion's
    handlers (mod_*.c).  Handlers run inside a forked job worker, so they
    may block; they never touch ZeroMQ. */
#ifndef FL_REGISTRY_H
#define FL_REGISTRY_H

#include "fl_funcs.h"

#include <jansson.h>

typedef struct {
    const char *minion_id;
    const json_t *grains;   /* the minion's current grains (borrowed) */
    const char *root_dir;   /* prefix for everything the minion manages ("" = /) */
    const char *jid;
    int timeout_ms;         /* the job's whole budget */
    const char *container_socket; /* the container engine's API socket */
    const json_t *locate;         /* minion.yaml's locate: {led, trigger, command} */
} fl_mod_ctx_t;

/*  Runs one function.  ARGS is a JSON array of positional arguments, KWARGS
    an object of key=value arguments (both borrowed; arity already checked).
    Sets *RET to the return value (caller owns) and returns the retcode: 0
    for success, non-zero for failure (then *RET usually holds a message). */
typedef int (*fl_mod_handler_t)(const fl_mod_ctx_t *ctx, const json_t *args,
                                const json_t *kwargs, json_t **ret);

/*  NULL when the minion has no handler for NAME. */
fl_mod_handler_t fl_registry_find(const char *name);
/*  Salt's __virtual__: false when the function cannot work on this minion
    (e.g. no container engine socket).  Unknown names are not available. */
bool fl_registry_available(const char *name, const fl_mod_ctx_t *ctx);

/*  The bound names, in sorted order, so tests can hold the table against
    fl_funcs.def.  NULL past the end. */
size_t fl_registry_count(void);
const char *fl_registry_name_at(size_t index);

/*  Argument helpers shared by the handlers.  Command lines deliver every
    value as text, so each accepts the JSON type or its spelling as a string.
    0 on success; else -1 and a message in *ERR (caller frees) naming WHAT. */
/*  A non-negative number of seconds: 5, 2.5, "5", "2.5". */
int fl_registry_arg_seconds(const json_t *v, const char *what, double *out, char **err);
/*  true/false, or "true"/"false"/"yes"/"no"/"1"/"0" in any case. */
int fl_registry_arg_bool(const json_t *v, const char *what, bool *out, char **err);

#endif
