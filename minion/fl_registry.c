/*  fl_registry.c: the minion's handler table.  Declarations (arity, flags,
    doc) live in common/fl_funcs.def; this table only binds each name to its
    handler and an optional available() check, so the two can be held against
    each other by a unit test (check_registry.c). */
#include "fl_registry.h"
#include "fl_mods.h"
#include "mod_container.h"

#include <math.h>
#include <strings.h>

typedef struct {
    const char *name;
    fl_mod_handler_t handler;
    /* Salt's __virtual__; NULL = always available */
    bool (*available)(const fl_mod_ctx_t *ctx);
} s_binding_t;

/*  Sorted by name (bsearch); check_registry.c asserts the order. */
static const s_binding_t s_bindings[] = {
    { "cmd.run", mod_cmd_run, NULL },
    { "container.images", mod_container_images, mod_container_available },
    { "container.inspect", mod_container_inspect, mod_container_available },
    { "container.list", mod_container_list, mod_container_available },
    { "container.logs", mod_container_logs, mod_container_available },
    { "container.pull", mod_container_pull, mod_container_available },
    { "container.rm", mod_container_rm, mod_container_available },
    { "container.run", mod_container_run, mod_container_available },
    { "container.stop", mod_container_stop, mod_container_available },
    { "grains.get", mod_grains_get, NULL },
    { "grains.items", mod_grains_items, NULL },
    { "state.apply", mod_state_apply, NULL },
    { "sys.list_functions", mod_sys_list_functions, NULL },
    { "system.locate", mod_system_locate, NULL },
    { "test.echo", mod_test_echo, NULL },
    { "test.ping", mod_test_ping, NULL },
    { "test.sleep", mod_test_sleep, NULL },
};

static int
s_compare(const void *key, const void *elem)
{
    return strcmp(key, ((const s_binding_t *) elem)->name);
}

static const s_binding_t *
s_lookup(const char *name)
{
    if (!name) {
        return NULL;
    }
    return bsearch(name, s_bindings, FL_ARRAY_LEN(s_bindings), sizeof s_bindings[0], s_compare);
}

fl_mod_handler_t
fl_registry_find(const char *name)
{
    const s_binding_t *b = s_lookup(name);
    return b ? b->handler : NULL;
}

bool
fl_registry_available(const char *name, const fl_mod_ctx_t *ctx)
{
    const s_binding_t *b = s_lookup(name);
    if (!b || !fl_func_find(name)) {
        return false;
    }
    return b->available ? b->available(ctx) : true;
}

size_t
fl_registry_count(void)
{
    return FL_ARRAY_LEN(s_bindings);
}

const char *
fl_registry_name_at(size_t index)
{
    return index < FL_ARRAY_LEN(s_bindings) ? s_bindings[index].name : NULL;
}

int
fl_registry_arg_seconds(const json_t *v, const char *what, double *out, char **err)
{
    double secs;
    if (json_is_number(v)) {
        secs = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        secs = strtod(s, &end);
        /* strtod also takes "inf", "nan" and hex: isfinite() below rejects the first two */
        if (end == s || *end != '\0' || errno == ERANGE) {
            *err = fl_sprintf("%s: not a number of seconds: '%s'", what, s);
            return -1;
        }
    } else {
        *err = fl_sprintf("%s: expected a number of seconds", what);
        return -1;
    }
    /* The upper bound (~31 years) keeps conversions to time_t and ms defined. */
    if (!isfinite(secs) || secs < 0 || secs > 1e9) {
        *err = fl_sprintf("%s: seconds must be a number from 0 to 1e9", what);
        return -1;
    }
    *out = secs;
    return 0;
}

int
fl_registry_arg_bool(const json_t *v, const char *what, bool *out, char **err)
{
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    if (json_is_string(v)) {
        static const char *const yes[] = { "true", "yes", "1", "on" };
        static const char *const no[] = { "false", "no", "0", "off" };
        const char *s = json_string_value(v);
        for (size_t i = 0; i < FL_ARRAY_LEN(yes); i++) {
            if (strcasecmp(s, yes[i]) == 0) {
                *out = true;
                return 0;
            }
            if (strcasecmp(s, no[i]) == 0) {
                *out = false;
                return 0;
            }
        }
    }
    *err = fl_sprintf("%s: expected true or false", what);
    return -1;
}
