/*  mod_sys.c: sys.* functions, introspection of the minion's registry. */
#include "fl_mods.h"

#include <fnmatch.h>

/*  Salt accepts a module name ("test" or "test.") as well as a glob. */
static char *
s_pattern(const char *arg)
{
    if (!arg || !*arg) {
        return fl_strdup("*");
    }
    if (strpbrk(arg, "*?[")) {
        return fl_strdup(arg);
    }
    size_t len = strlen(arg);
    if (arg[len - 1] == '.') {
        return fl_sprintf("%s*", arg);
    }
    if (!strchr(arg, '.')) {
        return fl_sprintf("%s.*", arg);
    }
    return fl_strdup(arg);
}

int
mod_sys_list_functions(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                       json_t **ret)
{
    FL_UNUSED(kwargs);
    const json_t *glob = json_array_get(args, 0);
    if (glob && !json_is_string(glob)) {
        *ret = json_string("sys.list_functions: GLOB must be a string");
        return 1;
    }
    char *pattern = s_pattern(json_string_value(glob));
    json_t *names = json_array();
    /* fl_funcs.def is sorted, so the list comes out sorted. */
    for (size_t i = 0; i < fl_func_count(); i++) {
        const char *name = fl_func_at(i)->name;
        if (fnmatch(pattern, name, 0) == 0 && fl_registry_available(name, ctx)) {
            json_array_append_new(names, json_string(name));
        }
    }
    free(pattern);
    *ret = names;
    return 0;
}
