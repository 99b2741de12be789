/*  st_docker.h: the container states (fl_st_docker.def binds them), with
    Salt's names and arguments so that existing Salt states keep working:
    docker_image.present/absent and docker_container.running/absent/stopped.
    They drive the engine at ctx->container_socket through the container
    driver (fl_container.h); st_docker.c says what each one compares and
    reports. */
#ifndef ST_DOCKER_H
#define ST_DOCKER_H

#include "fl_st.h"

void st_docker_image_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                             fl_st_ret_t *ret);
void st_docker_image_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                            fl_st_ret_t *ret);
void st_docker_container_running(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                 fl_st_ret_t *ret);
void st_docker_container_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                fl_st_ret_t *ret);
void st_docker_container_stopped(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                 fl_st_ret_t *ret);
/*  mod_watch of docker_container.running (Salt's watch_action "force"): the
    container is replaced even when it matches. */
void st_docker_container_mod_watch(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                   fl_st_ret_t *ret);

#endif
