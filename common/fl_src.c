/*  fl_src.c: sources of state and pillar files, and the plain directory
    source.

    A source is an ops table over an implementation (OpenSMTPD's backend
    tables): the state compiler neither knows nor cares whether the bytes
    come from a directory or a git commit.  Every path goes through
    fl_src_check_path first, whatever the backend.

    The directory source resolves each path with realpath(3) and refuses
    anything whose real path is not inside the real path of the directory:
    a symlink that points into the tree is followed, one that leaves it is
    refused.  The resolved path contains no symlink, so it is then opened
    with O_NOFOLLOW (a symlink swapped in between the two calls fails
    instead of being followed).  Files are read up to 16 MiB. */
#include "fl_src.h"

#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

/*  Longest path a source accepts, in bytes. */
#define FL_SRC_MAX_PATH 1024
/*  Largest file the directory source reads. */
#define FL_SRC_MAX_FILE (16u * 1024 * 1024)

struct fl_src {
    fl_src_ops_t ops;
    void *impl;
};

fl_src_t *
fl_src_new(const fl_src_ops_t *ops, void *impl)
{
    assert(ops && ops->read && ops->stat);
    fl_src_t *self = fl_calloc(1, sizeof *self);
    self->ops = *ops;
    self->impl = impl;
    return self;
}

void
fl_src_destroy(fl_src_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_src_t *self = *self_p;
    if (self->ops.destroy) {
        self->ops.destroy(self->impl);
    }
    free(self);
    *self_p = NULL;
}

int
fl_src_check_path(const char *path, char **err)
{
    assert(err);
    *err = NULL;
    if (!path || !*path) {
        *err = fl_strdup("empty path");
        return -1;
    }
    size_t len = strnlen(path, FL_SRC_MAX_PATH + 1);
    if (len > FL_SRC_MAX_PATH) {
        *err = fl_sprintf("path is longer than %d bytes", FL_SRC_MAX_PATH);
        return -1;
    }
    if (path[0] == '/') {
        *err = fl_sprintf("'%s': absolute path (paths are relative to the tree)", path);
        return -1;
    }
    for (const char *p = path; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c < 0x20 || c == 0x7f) {
            *err = fl_sprintf("path contains a control character (0x%02x at byte %zu)", c,
                              (size_t) (p - path));
            return -1;
        }
    }
    const char *seg = path;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t) (slash - seg) : strlen(seg);
        if (n == 0) {
            *err = fl_sprintf("'%s': empty path segment", path);
            return -1;
        }
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            *err = fl_sprintf("'%s': '%.*s' segment not allowed", path, (int) n, seg);
            return -1;
        }
        if (!slash) {
            break;
        }
        seg = slash + 1;
    }
    return 0;
}

int
fl_src_read(fl_src_t *self, const char *path, char **text, size_t *len, char **err)
{
    assert(self && text && err);
    *text = NULL;
    if (len) {
        *len = 0;
    }
    if (fl_src_check_path(path, err) != 0) {
        return -1;
    }
    size_t dummy = 0;
    return self->ops.read(self->impl, path, text, len ? len : &dummy, err);
}

int
fl_src_stat(fl_src_t *self, const char *path, unsigned *mode, char **err)
{
    assert(self && mode && err);
    if (fl_src_check_path(path, err) != 0) {
        return -1;
    }
    return self->ops.stat(self->impl, path, mode, err);
}

const char *
fl_src_describe(fl_src_t *self)
{
    if (!self) {
        return "(none)";
    }
    const char *d = self->ops.describe ? self->ops.describe(self->impl) : NULL;
    return d ? d : "(source)";
}

/*  --------------------------------------------------------------------
    The directory source */

typedef struct {
    char *dir;
} s_dir_t;

/*  Resolves PATH under the directory: 0 with the real path in *REAL
    (caller frees), 1 when it does not exist, -1 with *ERR. */
static int
s_dir_resolve(s_dir_t *self, const char *path, char **real, char **err)
{
    *real = NULL;
    char *root = realpath(self->dir, NULL);
    if (!root) {
        *err = fl_sprintf("%s: %s", self->dir, strerror(errno));
        return -1;
    }
    char *joined = fl_sprintf("%s/%s", root, path);
    char *resolved = realpath(joined, NULL);
    int saved = errno;
    free(joined);
    if (!resolved) {
        free(root);
        if (saved == ENOENT || saved == ENOTDIR) {
            return 1;
        }
        *err = fl_sprintf("%s: %s", path, strerror(saved));
        return -1;
    }
    size_t n = strlen(root);
    bool inside;
    if (strcmp(root, "/") == 0) {
        inside = resolved[0] == '/' && resolved[1] != '\0';
    } else {
        inside = strncmp(resolved, root, n) == 0 && resolved[n] == '/';
    }
    free(root);
    if (!inside) {
        free(resolved);
        *err = fl_sprintf("%s: leaves the tree (a symlink pointing outside it)", path);
        return -1;
    }
    *real = resolved;
    return 0;
}

static int
s_dir_read(void *impl, const char *path, char **text, size_t *len, char **err)
{
    s_dir_t *self = impl;
    char *real = NULL;
    int rc = s_dir_resolve(self, path, &real, err);
    if (rc != 0) {
        return rc;
    }
    /* Only regular files are opened at all (no FIFO, no device). */
    struct stat st;
    if (lstat(real, &st) == 0 && !S_ISREG(st.st_mode)) {
        free(real);
        *err = fl_sprintf("%s: not a regular file", path);
        return -1;
    }
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    free(real);
    if (fd < 0) {
        if (errno == ENOENT) {
            return 1;
        }
        *err = fl_sprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        *err = fl_sprintf("%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = fl_sprintf("%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((uint64_t) st.st_size > FL_SRC_MAX_FILE) {
        *err = fl_sprintf("%s: file is larger than %u MiB", path, FL_SRC_MAX_FILE / (1024 * 1024));
        close(fd);
        return -1;
    }
    /* Read until EOF (the size may change under us), but never more than
       one byte past the cap: that byte tells "too large". */
    size_t limit = (size_t) FL_SRC_MAX_FILE + 1;
    size_t want = (size_t) st.st_size + 1;
    size_t cap = (want < limit ? want : limit) + 1, used = 0;
    char *buf = fl_malloc(cap);
    for (;;) {
        if (used == cap - 1) {
            if (cap - 1 >= limit) {
                break;
            }
            cap = 2 * cap < limit + 1 ? 2 * cap : limit + 1;
            buf = fl_realloc(buf, cap);
        }
        ssize_t got = read(fd, buf + used, cap - 1 - used);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            *err = fl_sprintf("%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (got == 0) {
            break;
        }
        used += (size_t) got;
    }
    close(fd);
    if (used > FL_SRC_MAX_FILE) {
        *err = fl_sprintf("%s: file is larger than %u MiB", path, FL_SRC_MAX_FILE / (1024 * 1024));
        free(buf);
        return -1;
    }
    buf[used] = '\0';
    *text = buf;
    *len = used;
    return 0;
}

static int
s_dir_stat(void *impl, const char *path, unsigned *mode, char **err)
{
    s_dir_t *self = impl;
    char *real = NULL;
    int rc = s_dir_resolve(self, path, &real, err);
    if (rc != 0) {
        return rc;
    }
    struct stat st;
    rc = lstat(real, &st);
    int saved = errno;
    free(real);
    if (rc != 0) {
        if (saved == ENOENT) {
            return 1;
        }
        *err = fl_sprintf("%s: %s", path, strerror(saved));
        return -1;
    }
    *mode = (unsigned) st.st_mode & 07777;
    return 0;
}

static void
s_dir_destroy(void *impl)
{
    s_dir_t *self = impl;
    if (self) {
        free(self->dir);
        free(self);
    }
}

static const char *
s_dir_describe(void *impl)
{
    s_dir_t *self = impl;
    return self->dir;
}

static const fl_src_ops_t s_dir_ops = {
    .read = s_dir_read,
    .stat = s_dir_stat,
    .destroy = s_dir_destroy,
    .describe = s_dir_describe,
};

fl_src_t *
fl_src_dir_new(const char *dir)
{
    assert(dir);
    s_dir_t *impl = fl_calloc(1, sizeof *impl);
    impl->dir = fl_strdup(dir);
    return fl_src_new(&s_dir_ops, impl);
}
