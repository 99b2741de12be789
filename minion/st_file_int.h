/*  st_file_int.h: what the pieces of the file.* states share; private to
    st_file.c (managed, directory, absent, symlink, and the helpers below),
    st_file_edit.c (append, line, replace, comment) and st_file_diff.c (the
    diff in changes).  The state functions themselves and st_file_diff are
    declared in st_core.h.

    Helpers taking RET fail the state on error: they set ret->result to
    False and the comment, and return -1 (or NULL). */
#ifndef ST_FILE_INT_H
#define ST_FILE_INT_H

#include "st_core.h"

#include <sys/types.h>

/*  Growable buffer, NUL-terminated once anything was added.  Zero it to
    start; free(data) to drop it. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} st_file_buf_t;

void st_file_buf_add(st_file_buf_t *b, const char *p, size_t n);
void st_file_buf_str(st_file_buf_t *b, const char *s);
/*  The contents, NUL-terminated, even when empty; caller frees.  B is
    left empty. */
char *st_file_buf_take(st_file_buf_t *b);

/*  NAME under root_dir, or NULL after failing the state. */
char *st_file_path(const fl_st_ctx_t *ctx, const char *name, fl_st_ret_t *ret);
/*  A boolean argument (Salt's spellings too); -1 after failing the state. */
int st_file_bool(const json_t *args, const char *key, bool fallback, bool *out, fl_st_ret_t *ret);
/*  A string argument; NULL when absent.  -1 (state failed) when present
    but not a string. */
int st_file_str(const json_t *args, const char *key, const char **out, fl_st_ret_t *ret);
/*  A scalar as Python's str() spells it (Salt passes contents through
    str(): `contents: 42`, `contents: True`).  NULL for structures. */
char *st_file_scalar_text(const json_t *v);

/*  The mode of a new file nobody asked a mode for: 0666 less the umask. */
mode_t st_file_default_mode(void);
/*  Writes DATA to PATH atomically with MODE and, when root, UID/GID
    ((uid_t) -1 = leave).  -1 after failing the state. */
int st_file_write(const char *path, const char *name, const char *data, size_t len, mode_t mode,
                  uid_t uid, gid_t gid, fl_st_ret_t *ret);
/*  Reads PATH; NULL with errno (ENOENT: absent) or after failing the state
    (too large, unreadable: *FAILED set). */
char *st_file_read(const char *path, const char *name, size_t *len, bool *failed,
                   fl_st_ret_t *ret);
/*  The parent of PATH: present, or created when MAKEDIRS (not in test
    mode).  -1 after failing the state. */
int st_file_parent(const fl_st_ctx_t *ctx, const char *path, const char *name, bool makedirs,
                   mode_t mode, fl_st_ret_t *ret);

/*  st_file_diff.c: the changes entry for a content change: Salt's "diff"
    (st_file_diff of OLD and TEXT; "<show_changes=False>" unless SHOW). */
void st_file_set_diff(json_t *changes, const char *old, size_t old_len, const char *text,
                      size_t len, bool show);

#endif
