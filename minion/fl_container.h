/*  fl_container.h: the container driver.  An ops table (as OpenSMTPD's
    backends are), so the engine behind it can change; the one backend is
    the Docker Engine HTTP API over a unix socket with libcurl
    (minion/fl_docker.c), which dockerd on a device and podman's compatible
    service both speak (API prefix /v1.41).  Every call returns 0 on success,
    1 when the named object does not exist (where that makes sense), and -1
    with a message in *ERR (caller frees) that says what went wrong in the
    operator's words: the engine's own message for an HTTP error, and for a
    socket that does not answer "cannot reach the container engine at PATH:
    ...".  Calls have a time limit (pulls a longer one). */
#ifndef FL_CONTAINER_H
#define FL_CONTAINER_H

#include "fl_prelude.h"

#include <jansson.h>

typedef struct fl_container fl_container_t;

typedef struct {
    const char *name;   /* "docker" */
    void *(*open)(const char *socket_path);
    void (*close)(void *impl);
    int (*version)(void *impl, json_t **out, char **err);
    /*  GET /images/json; /images/NAME/json; POST /images/create?fromImage=..&tag=..
        (the pull's progress stream is read to its end and an error in it is
        reported); DELETE /images/NAME. */
    int (*images)(void *impl, json_t **out, char **err);
    int (*image_inspect)(void *impl, const char *name, json_t **out, char **err);
    int (*pull)(void *impl, const char *ref, char **err);
    int (*image_remove)(void *impl, const char *name, bool force, char **err);
    /*  GET /containers/json?all=..; /containers/NAME/json; POST
        /containers/create?name=NAME with CONFIG (the Engine API's create
        body: Image, Cmd, Env, Labels, HostConfig{Binds, PortBindings,
        RestartPolicy, Links, NetworkMode}); start; stop?t=; DELETE ?force=;
        GET logs?stdout=1&stderr=1&tail=N (the multiplexed stream decoded). */
    int (*list)(void *impl, bool all, json_t **out, char **err);
    int (*inspect)(void *impl, const char *name, json_t **out, char **err);
    int (*create)(void *impl, const char *name, const json_t *config, char **id, char **err);
    int (*start)(void *impl, const char *name, char **err);
    int (*stop)(void *impl, const char *name, int timeout_s, char **err);
    int (*remove)(void *impl, const char *name, bool force, char **err);
    int (*logs)(void *impl, const char *name, int tail, char **text, char **err);
} fl_container_ops_t;

/*  The Docker Engine API backend. */
const fl_container_ops_t *fl_container_docker_ops(void);

/*  A driver for the engine at SOCKET_PATH (nothing is connected yet). */
fl_container_t *fl_container_new(const fl_container_ops_t *ops, const char *socket_path);
void fl_container_destroy(fl_container_t **self_p);
const fl_container_ops_t *fl_container_ops(const fl_container_t *self);
void *fl_container_impl(const fl_container_t *self);
const char *fl_container_socket(const fl_container_t *self);

/*  Salt's __virtual__ for container.* and docker_*: the socket exists. */
bool fl_container_available(const char *socket_path);

#endif
