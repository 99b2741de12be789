/*  mod_state.c: state.apply, the execution function that runs a compiled
    state run on the minion.  The master compiled the chunks (with this
    minion's grains and pillar) and the minion fetched every file they
    name before the worker started, so all it takes arrives in KWARGS:
    __chunks__, __pillar__, __files__, __cache_dir__ and test. */
#include "st_core.h"

int
mod_state_apply(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    FL_UNUSED(args);
    const json_t *chunks = json_object_get(kwargs, "__chunks__");
    const json_t *pillar = json_object_get(kwargs, "__pillar__");
    const json_t *files = json_object_get(kwargs, "__files__");
    const json_t *test = json_object_get(kwargs, "test");
    const json_t *cache_dir = json_object_get(kwargs, "__cache_dir__");
    if (!json_is_array(chunks)) {
        *ret = json_string("state.apply: no compiled states (__chunks__) in the job");
        return 1;
    }
    if (pillar && !json_is_null(pillar) && !json_is_object(pillar)) {
        *ret = json_string("state.apply: __pillar__ must be a mapping");
        return 1;
    }
    if (files && !json_is_null(files) && !json_is_object(files)) {
        *ret = json_string("state.apply: __files__ must be a mapping");
        return 1;
    }
    bool test_mode = false;
    char *err = NULL;
    if (test && !json_is_null(test)
        && fl_registry_arg_bool(test, "state.apply: test", &test_mode, &err) != 0) {
        *ret = json_string(err);
        free(err);
        return 1;
    }
    json_t *empty_pillar = json_object();
    json_t *empty_files = json_object();
    fl_st_ctx_t st = {
        .minion_id = ctx ? ctx->minion_id : NULL,
        .grains = ctx ? ctx->grains : NULL,
        .pillar = json_is_object(pillar) ? pillar : empty_pillar,
        .root_dir = ctx && ctx->root_dir ? ctx->root_dir : "",
        .cache_dir = json_is_string(cache_dir) ? json_string_value(cache_dir) : "",
        .test = test_mode,
        .files = json_is_object(files) ? files : empty_files,
        .container_socket = ctx && ctx->container_socket ? ctx->container_socket
                                                         : "/var/run/docker.sock",
    };
    bool failed = false;
    *ret = fl_state_run(&st, chunks, &failed);
    json_decref(empty_pillar);
    json_decref(empty_files);
    return failed ? 2 : 0;
}
