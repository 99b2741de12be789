/*  mod_grains.c: grains.* functions, answered from the grains the minion
    collected at start (ctx->grains). */
#include "fl_mods.h"
#include "fl_json.h"

int
mod_grains_items(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    FL_UNUSED(args);
    FL_UNUSED(kwargs);
    *ret = ctx->grains ? json_deep_copy(ctx->grains) : json_object();
    return 0;
}

int
mod_grains_get(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    FL_UNUSED(kwargs);
    const char *key = json_string_value(json_array_get(args, 0));
    if (!key) {
        *ret = json_string("grains.get: KEY must be a string");
        return 1;
    }
    const json_t *value = ctx->grains ? fl_json_lookup(ctx->grains, key) : NULL;
    if (!value) {
        value = json_array_get(args, 1);
    }
    /* Salt answers "" for a missing grain without default, not an error:
       states and templates test it for truthiness. */
    *ret = value ? json_deep_copy(value) : json_string("");
    return 0;
}
