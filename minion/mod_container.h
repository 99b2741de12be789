/*  mod_container.h: container.* execution functions (minion/mod_container.c),
    Salt's docker.* module in small.  Each handler has the fl_mod_handler_t
    shape (fl_registry.h): ARGS and KWARGS are borrowed, arity is already
    checked, *RET is set (caller owns) and the retcode returned: 0 on
    success, 1 on failure with the message as *RET.  They talk to the engine
    at ctx->container_socket (default /var/run/docker.sock) through the
    Docker Engine API driver (fl_container.h). */
#ifndef MOD_CONTAINER_H
#define MOD_CONTAINER_H

#include "fl_registry.h"

/*  Salt's __virtual__ for container.*: the engine's socket exists. */
bool mod_container_available(const fl_mod_ctx_t *ctx);

/*  [all=true]: a list of {id, names, image, state, status}; only running
    containers unless all. */
int mod_container_list(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                       json_t **ret);
/*  NAME: the engine's inspect document. */
int mod_container_inspect(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                          json_t **ret);
/*  IMAGE: pulls it; returns {image, id}. */
int mod_container_pull(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                       json_t **ret);
/*  IMAGE [name=] [command=] [environment=] [binds=] [restart_policy=]:
    pulls the image when it is not there, creates and starts a container;
    returns {id, name}. */
int mod_container_run(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                      json_t **ret);
/*  NAME [timeout=SECONDS]: returns {result, state: {old, new}, comment}. */
int mod_container_stop(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                       json_t **ret);
/*  NAME [force=true]: returns the list of removed container ids. */
int mod_container_rm(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                     json_t **ret);
/*  A list of {id, tags, created, size}. */
int mod_container_images(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                         json_t **ret);
/*  NAME [tail=100|all]: stdout and stderr as one string. */
int mod_container_logs(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                       json_t **ret);

#endif
