/*  fl_src.h: where state and pillar files come from.  A source reads a file
    by its path relative to the root of a tree.  Two implementations: a
    plain directory (common/fl_src.c; `fleetctl state show`, pillar_dir) and
    a git commit read with libgit2 (master/fl_tree.c).  Every path is
    checked before it is read: relative, no "..", no NUL, no empty segment;
    the directory source also refuses symlinks that leave the tree. */
#ifndef FL_SRC_H
#define FL_SRC_H

#include "fl_prelude.h"

typedef struct fl_src fl_src_t;

typedef struct {
    /*  Reads PATH: 0 and a malloc'd NUL-terminated *TEXT (length *LEN);
        1 when the file does not exist; -1 with *ERR set (caller frees). */
    int (*read)(void *impl, const char *path, char **text, size_t *len, char **err);
    /*  0 and the file's mode bits (0644, 0755) in *MODE, or as read(). */
    int (*stat)(void *impl, const char *path, unsigned *mode, char **err);
    void (*destroy)(void *impl);
    /*  A name for messages ("states@3f2a1c0" or the directory). */
    const char *(*describe)(void *impl);
} fl_src_ops_t;

/*  Takes ownership of IMPL (destroyed with ops->destroy). */
fl_src_t *fl_src_new(const fl_src_ops_t *ops, void *impl);
/*  A plain directory. */
fl_src_t *fl_src_dir_new(const char *dir);
void fl_src_destroy(fl_src_t **self_p);

/*  0 when PATH is a safe relative path in a tree; else -1 with the reason
    in *ERR (caller frees). */
int fl_src_check_path(const char *path, char **err);
/*  As the ops, after fl_src_check_path. */
int fl_src_read(fl_src_t *self, const char *path, char **text, size_t *len, char **err);
int fl_src_stat(fl_src_t *self, const char *path, unsigned *mode, char **err);
const char *fl_src_describe(fl_src_t *self);

#endif
