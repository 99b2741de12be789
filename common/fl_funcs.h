/*  fl_funcs.h: the registry of execution functions (declarations only; the
    minion binds handlers).  Arity is checked here, once, before dispatch. */
#ifndef FL_FUNCS_H
#define FL_FUNCS_H

#include "fl_prelude.h"

enum {
    FL_FN_NEEDS_ROOT = 1 << 0,  /* touches the system: runs in the privileged side */
    FL_FN_TEST_MODE = 1 << 1,   /* supports test=true dry runs */
    FL_FN_STATE = 1 << 2        /* the master compiles states for each minion first */
};

typedef struct {
    const char *name;
    int min_args;
    int max_args;   /* -1 = unbounded */
    unsigned flags;
    const char *doc;
} fl_func_spec_t;

/*  NULL when NAME is not a known function. */
const fl_func_spec_t *fl_func_find(const char *name);
size_t fl_func_count(void);
const fl_func_spec_t *fl_func_at(size_t index);
/*  0 when NARGS positional arguments suit SPEC; else -1 and a message in
    ERR (caller frees). */
int fl_func_check_arity(const fl_func_spec_t *spec, size_t nargs, char **err);

#endif
