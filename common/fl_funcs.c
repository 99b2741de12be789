/*  fl_funcs.c: the function table built from fl_funcs.def. */
#include "fl_funcs.h"

static const fl_func_spec_t s_funcs[] = {
#define FL_FUNC(name, min, max, flags, doc) { name, min, max, flags, doc },
#include "fl_funcs.def"
#undef FL_FUNC
};

static int
s_compare(const void *key, const void *elem)
{
    return strcmp(key, ((const fl_func_spec_t *) elem)->name);
}

const fl_func_spec_t *
fl_func_find(const char *name)
{
    return bsearch(name, s_funcs, FL_ARRAY_LEN(s_funcs), sizeof s_funcs[0], s_compare);
}

size_t
fl_func_count(void)
{
    return FL_ARRAY_LEN(s_funcs);
}

const fl_func_spec_t *
fl_func_at(size_t index)
{
    return index < FL_ARRAY_LEN(s_funcs) ? &s_funcs[index] : NULL;
}

int
fl_func_check_arity(const fl_func_spec_t *spec, size_t nargs, char **err)
{
    if ((int) nargs < spec->min_args) {
        *err = fl_sprintf("%s takes at least %d argument%s, %zu given", spec->name,
                          spec->min_args, spec->min_args == 1 ? "" : "s", nargs);
        return -1;
    }
    if (spec->max_args >= 0 && (int) nargs > spec->max_args) {
        *err = fl_sprintf("%s takes at most %d argument%s, %zu given", spec->name,
                          spec->max_args, spec->max_args == 1 ? "" : "s", nargs);
        return -1;
    }
    return 0;
}
