/*  fl_container.c: the container driver's generic half.  It holds the ops
    table of a backend (fl_docker.c) and that backend's handle; the callers
    (mod_container.c, the docker_* states) reach the engine through
    fl_container_ops(self)->verb(fl_container_impl(self), ...). */
#include "fl_container.h"

#include <assert.h>
#include <sys/stat.h>

struct fl_container {
    const fl_container_ops_t *ops;
    void *impl;             /* owned: closed by ops->close */
    char *socket_path;      /* owned */
};

fl_container_t *
fl_container_new(const fl_container_ops_t *ops, const char *socket_path)
{
    assert(ops);
    assert(ops->open && ops->close);
    if (!socket_path || !*socket_path) {
        return NULL;
    }
    void *impl = ops->open(socket_path);
    if (!impl) {
        return NULL;
    }
    fl_container_t *self = fl_calloc(1, sizeof *self);
    self->ops = ops;
    self->impl = impl;
    self->socket_path = fl_strdup(socket_path);
    return self;
}

void
fl_container_destroy(fl_container_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_container_t *self = *self_p;
    self->ops->close(self->impl);
    free(self->socket_path);
    free(self);
    *self_p = NULL;
}

const fl_container_ops_t *
fl_container_ops(const fl_container_t *self)
{
    assert(self);
    return self->ops;
}

void *
fl_container_impl(const fl_container_t *self)
{
    assert(self);
    return self->impl;
}

const char *
fl_container_socket(const fl_container_t *self)
{
    assert(self);
    return self->socket_path;
}

bool
fl_container_available(const char *socket_path)
{
    struct stat st;
    if (!socket_path || !*socket_path) {
        return false;
    }
    return stat(socket_path, &st) == 0 && S_ISSOCK(st.st_mode);
}
