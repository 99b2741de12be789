/*  st_file.c: the file.* states (managed, directory, absent, symlink,
    append, line, replace, comment) and the unified diff their changes
    show.

    Every path is the state's NAME under ctx->root_dir (fl_st_path);
    comments and changes speak of NAME as the state file wrote it.  Files
    are edited in memory (at most S_MAX_FILE) and written atomically: a
    temporary file in the same directory, owner and mode set on it, fsync,
    rename over the old one.  Nothing of the old file survives but its
    mode and owner (when the state does not set them).

    Test mode computes the same changes and stops before the first write,
    so the diff a test run shows is the one a real run would apply. */
#include "st_core.h"
#include "fl_json.h"
#include "fl_tmpl.h"
#include "fl_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

/*  The largest file these states hold in memory. */
#define S_MAX_FILE (64 * 1024 * 1024)
/*  Past these the diff is not computed. */
#define S_DIFF_MAX_BYTES (1024 * 1024)
#define S_DIFF_MAX_LINES 5000
/*  Myers' D bound: the trace takes D^2 ints (4 MB here); past it the
    changed middle is shown as one replaced block, still a valid diff. */
#define S_DIFF_MAX_EDITS 1000
/*  A longer diff text is not worth reading in a job return. */
#define S_DIFF_MAX_OUT (512 * 1024)
#define S_DIFF_CONTEXT 3
/*  file.directory recurse: at most this many per-path entries in changes. */
#define S_MAX_RECURSE_CHANGES 100

/* ------------------------------------------------------------------ */
/*  Growable buffer                                                   */

typedef struct {
    char *data;
    size_t len;
    size_t cap;
} s_buf_t;

static void
s_buf_add(s_buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->data = fl_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

static void
s_buf_str(s_buf_t *b, const char *s)
{
    s_buf_add(b, s, strlen(s));
}

/*  The contents, NUL-terminated, even when empty; caller frees. */
static char *
s_buf_take(s_buf_t *b)
{
    if (!b->data) {
        s_buf_add(b, "", 0);
    }
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* ------------------------------------------------------------------ */
/*  Unified diff: Myers' greedy algorithm over lines                  */

typedef struct {
    const char *s;
    size_t len;         /* with its '\n', when it has one */
    uint64_t hash;
} s_line_t;

typedef enum { S_EQ, S_DEL, S_INS } s_op_kind_t;

/*  One step of the edit script; A and B are the positions in each text
    before the step (the line an EQ/DEL consumes is a[A], an INS b[B]). */
typedef struct {
    s_op_kind_t kind;
    size_t a;
    size_t b;
} s_op_t;

static s_line_t *
s_split_lines(const char *text, size_t len, size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += text[i] == '\n';
    }
    n += len > 0 && text[len - 1] != '\n';
    s_line_t *lines = fl_calloc(n ? n : 1, sizeof *lines);
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' || i == len - 1) {
            s_line_t *l = &lines[k++];
            l->s = text + start;
            l->len = i + 1 - start;
            uint64_t h = 1469598103934665603ULL;    /* FNV-1a */
            for (size_t j = 0; j < l->len; j++) {
                h = (h ^ (unsigned char) l->s[j]) * 1099511628211ULL;
            }
            l->hash = h;
            start = i + 1;
        }
    }
    *count = n;
    return lines;
}

static bool
s_line_eq(const s_line_t *x, const s_line_t *y)
{
    return x->hash == y->hash && x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static void
s_op_push(s_op_t **ops, size_t *n, size_t *cap, s_op_kind_t kind, size_t a, size_t b)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *ops = fl_realloc(*ops, *cap * sizeof **ops);
    }
    (*ops)[(*n)++] = (s_op_t) { kind, a, b };
}

/*  The shortest edit script of A (N lines) into B (M lines), appended to
    OPS in reverse order, positions offset by AO/BO.  False when it needs
    more than S_DIFF_MAX_EDITS edits (OPS untouched). */
static bool
s_myers(const s_line_t *a, size_t n, const s_line_t *b, size_t m, size_t ao, size_t bo,
        s_op_t **ops, size_t *nops, size_t *cap)
{
    long max = (long) (n + m);
    long dmax = max < S_DIFF_MAX_EDITS ? max : S_DIFF_MAX_EDITS;
    long off = dmax + 1;
    int32_t *v = fl_calloc((size_t) (2 * dmax + 3), sizeof *v);
    /* trace: V after step d, for k in [-d, d], at trace[d*d + k + d] */
    int32_t *trace = NULL;
    long found = -1;
    for (long d = 0; d <= dmax && found < 0; d++) {
        for (long k = -d; k <= d; k += 2) {
            long x;
            if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) {
                x = v[off + k + 1];
            } else {
                x = v[off + k - 1] + 1;
            }
            long y = x - k;
            while (x < (long) n && y < (long) m && s_line_eq(&a[x], &b[y])) {
                x++;
                y++;
            }
            v[off + k] = (int32_t) x;
            if (x >= (long) n && y >= (long) m) {
                found = d;
            }
        }
        trace = fl_realloc(trace, (size_t) ((d + 1) * (d + 1)) * sizeof *trace);
        memcpy(trace + d * d, v + off - d, (size_t) (2 * d + 1) * sizeof *trace);
    }
    free(v);
    if (found < 0) {
        free(trace);
        return false;
    }
    long x = (long) n, y = (long) m;
    for (long d = found; d > 0; d--) {
        const int32_t *vp = trace + (d - 1) * (d - 1) + (d - 1);   /* vp[k], k in [-(d-1), d-1] */
        long k = x - y;
        bool down = k == -d || (k != d && vp[k - 1] < vp[k + 1]);
        long pk = down ? k + 1 : k - 1;
        long px = vp[pk];
        long py = px - pk;
        /* the snake after the move */
        long sx = down ? px : px + 1;
        while (x > sx) {
            x--;
            y--;
            s_op_push(ops, nops, cap, S_EQ, ao + (size_t) x, bo + (size_t) y);
        }
        if (down) {
            s_op_push(ops, nops, cap, S_INS, ao + (size_t) px, bo + (size_t) py);
        } else {
            s_op_push(ops, nops, cap, S_DEL, ao + (size_t) px, bo + (size_t) py);
        }
        x = px;
        y = py;
    }
    while (x > 0) {
        x--;
        y--;
        s_op_push(ops, nops, cap, S_EQ, ao + (size_t) x, bo + (size_t) y);
    }
    free(trace);
    return true;
}

/*  difflib's range: "start,len", "start" when len is 1, "start-1,0" when
    empty. */
static void
s_range(s_buf_t *out, size_t start, size_t len)
{
    char tmp[64];
    if (len == 1) {
        snprintf(tmp, sizeof tmp, "%zu", start + 1);
    } else {
        snprintf(tmp, sizeof tmp, "%zu,%zu", len ? start + 1 : start, len);
    }
    s_buf_str(out, tmp);
}

static void
s_diff_line(s_buf_t *out, char mark, const s_line_t *l)
{
    s_buf_add(out, &mark, 1);
    s_buf_add(out, l->s, l->len);
    if (l->len == 0 || l->s[l->len - 1] != '\n') {
        s_buf_str(out, "\n\\ No newline at end of file\n");
    }
}

/*  The hunks of OPS, grouped as difflib's get_grouped_opcodes(3). */
static void
s_hunks(s_buf_t *out, const s_op_t *ops, size_t nops, const s_line_t *a, const s_line_t *b)
{
    size_t i = 0;
    while (i < nops && out->len <= S_DIFF_MAX_OUT) {
        size_t c = i;
        while (c < nops && ops[c].kind == S_EQ) {
            c++;
        }
        if (c == nops) {
            break;
        }
        size_t start = c >= i + S_DIFF_CONTEXT ? c - S_DIFF_CONTEXT : i;
        size_t last = c, j = c + 1;
        while (j < nops) {
            if (ops[j].kind != S_EQ) {
                last = j++;
                continue;
            }
            size_t r = j;
            while (r < nops && ops[r].kind == S_EQ) {
                r++;
            }
            if (r < nops && r - j <= 2 * S_DIFF_CONTEXT) {
                j = r;
                continue;
            }
            break;
        }
        size_t end = last + 1 + S_DIFF_CONTEXT < nops ? last + 1 + S_DIFF_CONTEXT : nops;
        size_t alen = 0, blen = 0;
        for (size_t k = start; k < end; k++) {
            alen += ops[k].kind != S_INS;
            blen += ops[k].kind != S_DEL;
        }
        s_buf_str(out, "@@ -");
        s_range(out, ops[start].a, alen);
        s_buf_str(out, " +");
        s_range(out, ops[start].b, blen);
        s_buf_str(out, " @@\n");
        for (size_t k = start; k < end; k++) {
            if (ops[k].kind == S_EQ) {
                s_diff_line(out, ' ', &a[ops[k].a]);
            } else if (ops[k].kind == S_DEL) {
                s_diff_line(out, '-', &a[ops[k].a]);
            } else {
                s_diff_line(out, '+', &b[ops[k].b]);
            }
        }
        i = end;
    }
}

char *
st_file_diff(const char *old_text, size_t old_len, const char *new_text, size_t new_len)
{
    if (old_len == new_len && memcmp(old_text, new_text, old_len) == 0) {
        return fl_strdup("");
    }
    if (memchr(old_text, '\0', old_len) || memchr(new_text, '\0', new_len)) {
        return fl_strdup("Replace binary file");
    }
    if (old_len > S_DIFF_MAX_BYTES || new_len > S_DIFF_MAX_BYTES) {
        return fl_strdup("<diff too large>");
    }
    size_t n, m;
    s_line_t *a = s_split_lines(old_text, old_len, &n);
    s_line_t *b = s_split_lines(new_text, new_len, &m);
    if (n > S_DIFF_MAX_LINES || m > S_DIFF_MAX_LINES) {
        free(a);
        free(b);
        return fl_strdup("<diff too large>");
    }
    size_t pre = 0;
    while (pre < n && pre < m && s_line_eq(&a[pre], &b[pre])) {
        pre++;
    }
    size_t suf = 0;
    while (suf < n - pre && suf < m - pre && s_line_eq(&a[n - 1 - suf], &b[m - 1 - suf])) {
        suf++;
    }
    /* the script is built backwards: suffix, middle, prefix; then reversed */
    s_op_t *ops = NULL;
    size_t nops = 0, cap = 0;
    for (size_t k = 0; k < suf; k++) {
        s_op_push(&ops, &nops, &cap, S_EQ, n - 1 - k, m - 1 - k);
    }
    size_t mn = n - pre - suf, mm = m - pre - suf;
    if (!s_myers(a + pre, mn, b + pre, mm, pre, pre, &ops, &nops, &cap)) {
        for (size_t k = mm; k > 0; k--) {
            s_op_push(&ops, &nops, &cap, S_INS, pre + mn, pre + k - 1);
        }
        for (size_t k = mn; k > 0; k--) {
            s_op_push(&ops, &nops, &cap, S_DEL, pre + k - 1, pre);
        }
    }
    for (size_t k = pre; k > 0; k--) {
        s_op_push(&ops, &nops, &cap, S_EQ, k - 1, k - 1);
    }
    for (size_t k = 0; k < nops / 2; k++) {
        s_op_t t = ops[k];
        ops[k] = ops[nops - 1 - k];
        ops[nops - 1 - k] = t;
    }
    s_buf_t out = { 0 };
    s_buf_str(&out, "--- \n+++ \n");
    s_hunks(&out, ops, nops, a, b);
    free(ops);
    free(a);
    free(b);
    if (out.len > S_DIFF_MAX_OUT) {
        free(out.data);
        return fl_strdup("<diff too large>");
    }
    return s_buf_take(&out);
}

/* ------------------------------------------------------------------ */
/*  Arguments, paths, permissions                                     */

/*  NAME under root_dir, or NULL after failing the state. */
static char *
s_path(const fl_st_ctx_t *ctx, const char *name, fl_st_ret_t *ret)
{
    char *path = name ? fl_st_path(ctx, name) : NULL;
    if (!path) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Specified file %s is not an absolute path", name ? name : "(none)");
    }
    return path;
}

/*  A boolean argument (Salt's spellings too); -1 after failing the state. */
static int
s_bool(const json_t *args, const char *key, bool fallback, bool *out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = fallback;
    if (!v || json_is_null(v)) {
        return 0;
    }
    char *err = NULL;
    if (fl_registry_arg_bool(v, key, out, &err) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s", err);
        free(err);
        return -1;
    }
    return 0;
}

/*  A string argument; NULL when absent.  -1 (state failed) when present
    but not a string. */
static int
s_str(const json_t *args, const char *key, const char **out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s must be a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/*  A scalar as Python's str() spells it (Salt passes contents through
    str(): `contents: 42`, `contents: True`).  NULL for structures. */
static char *
s_scalar_text(const json_t *v)
{
    if (json_is_string(v)) {
        return fl_strndup(json_string_value(v), json_string_length(v));
    }
    if (json_is_true(v)) {
        return fl_strdup("True");
    }
    if (json_is_false(v)) {
        return fl_strdup("False");
    }
    if (json_is_number(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        char *copy = fl_strdup(s ? s : "");
        free(s);
        return copy;
    }
    return NULL;
}

/*  "0644", 644 (YAML without quotes), "644", "0o644": Salt's spellings of
    an octal mode.  -1 when it is none of them. */
static int
s_mode_parse(const json_t *v, mode_t *out)
{
    char buf[32];
    const char *s;
    if (json_is_integer(v)) {
        /* 644 in YAML is the integer six hundred and forty-four: its
           digits are the octal mode */
        if (json_integer_value(v) < 0) {
            return -1;
        }
        snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(v));
        s = buf;
    } else if (json_is_string(v)) {
        s = json_string_value(v);
        if (strncmp(s, "0o", 2) == 0 || strncmp(s, "0O", 2) == 0) {
            s += 2;
        }
    } else {
        return -1;
    }
    if (!*s || strlen(s) > 5 || strspn(s, "01234567") != strlen(s)) {
        return -1;
    }
    unsigned long mode = strtoul(s, NULL, 8);
    if (mode > 07777) {
        return -1;
    }
    *out = (mode_t) mode;
    return 0;
}

static void
s_mode_text(mode_t mode, char *buf, size_t size)
{
    snprintf(buf, size, "%04o", (unsigned) (mode & 07777));
}

/*  What a state wants of a path's mode and owner. */
typedef struct {
    bool has_mode;
    mode_t mode;
    const char *user;       /* NULL = leave */
    uid_t uid;
    const char *group;
    gid_t gid;
} s_perms_t;

/*  Reads MODE_KEY (NULL = none), "user" and "group"; names must exist.
    -1 after failing the state. */
static int
s_perms_parse(const json_t *args, const char *mode_key, s_perms_t *p, fl_st_ret_t *ret)
{
    memset(p, 0, sizeof *p);
    const json_t *mv = mode_key ? json_object_get(args, mode_key) : NULL;
    if (mv && !json_is_null(mv)) {
        if (s_mode_parse(mv, &p->mode) != 0) {
            char *text = json_dumps(mv, JSON_ENCODE_ANY);
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s %s is not an octal mode (e.g. '0644')", mode_key,
                          text ? text : "?");
            free(text);
            return -1;
        }
        p->has_mode = true;
    }
    const json_t *uv = json_object_get(args, "user");
    const json_t *gv = json_object_get(args, "group");
    if (json_is_integer(uv) || json_is_integer(gv)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "user and group must be names");
        return -1;
    }
    if (s_str(args, "user", &p->user, ret) != 0 || s_str(args, "group", &p->group, ret) != 0) {
        return -1;
    }
    if (p->user) {
        struct passwd *pw = getpwnam(p->user);
        if (!pw) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "User %s is not available", p->user);
            return -1;
        }
        p->uid = pw->pw_uid;
    }
    if (p->group) {
        struct group *gr = getgrnam(p->group);
        if (!gr) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Group %s is not available", p->group);
            return -1;
        }
        p->gid = gr->gr_gid;
    }
    return 0;
}

/*  Adds to CHANGES what P would change on a path with status ST (NULL: a
    path this process is about to create, owned by it).  With SYMLINK the
    mode is not considered (links have none).  -1 after failing the state
    when an owner must change and the minion is not root. */
static int
s_perms_diff(const s_perms_t *p, const struct stat *st, bool symlink, const char *name,
             json_t *changes, fl_st_ret_t *ret)
{
    uid_t cur_uid = st ? st->st_uid : geteuid();
    gid_t cur_gid = st ? st->st_gid : getegid();
    char buf[16];
    if (p->has_mode && !symlink && (!st || (st->st_mode & 07777) != p->mode)) {
        s_mode_text(p->mode, buf, sizeof buf);
        json_object_set_new(changes, "mode", json_string(buf));
    }
    bool chown_user = p->user && p->uid != cur_uid;
    bool chown_group = p->group && p->gid != cur_gid;
    if ((chown_user || chown_group) && geteuid() != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret,
                      "Cannot set the owner of %s to %s%s%s: the minion is not running as root",
                      name, chown_user ? p->user : "", chown_user && chown_group ? ":" : "",
                      chown_group ? p->group : "");
        return -1;
    }
    if (chown_user) {
        json_object_set_new(changes, "user", json_string(p->user));
    }
    if (chown_group) {
        json_object_set_new(changes, "group", json_string(p->group));
    }
    return 0;
}

/*  Applies P to PATH (lchown for symlinks); -1 after failing the state. */
static int
s_perms_apply(const char *path, const char *name, const s_perms_t *p, bool symlink,
              fl_st_ret_t *ret)
{
    /* chown before chmod: chown clears the set-id bits */
    if ((p->user || p->group)
        && (symlink ? lchown : chown)(path, p->user ? p->uid : (uid_t) -1,
                                      p->group ? p->gid : (gid_t) -1)
               != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Cannot set the owner of %s: %s", name, strerror(errno));
        return -1;
    }
    if (p->has_mode && !symlink && chmod(path, p->mode) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Cannot set the mode of %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

static mode_t
s_default_mode(void)
{
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

/*  Writes DATA to PATH atomically with MODE and, when root, UID/GID
    ((uid_t) -1 = leave).  -1 after failing the state. */
static int
s_write(const char *path, const char *name, const char *data, size_t len, mode_t mode, uid_t uid,
        gid_t gid, fl_st_ret_t *ret)
{
    char *dir = fl_path_dirname(path);
    const char *slash = strrchr(path, '/');
    char *tmp = fl_sprintf("%s/.%s.fleet-XXXXXX", dir, slash ? slash + 1 : path);
    free(dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to write %s: %s", name, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto fail;
        }
        p += n;
        left -= (size_t) n;
    }
    if (((uid != (uid_t) -1 || gid != (gid_t) -1) && geteuid() == 0 && fchown(fd, uid, gid) != 0)
        || fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        goto fail;
    }
    free(tmp);
    return 0;
fail:;
    int saved = errno;
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    free(tmp);
    ret->result = FL_ST_FALSE;
    fl_st_comment(ret, "Unable to write %s: %s", name, strerror(saved));
    return -1;
}

/*  Reads PATH; NULL with errno (ENOENT: absent) or after failing the state
    (too large, unreadable: *FAILED set). */
static char *
s_read(const char *path, const char *name, size_t *len, bool *failed, fl_st_ret_t *ret)
{
    *failed = false;
    char *text = fl_file_read(path, S_MAX_FILE, len);
    if (!text && errno != ENOENT) {
        *failed = true;
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to read %s: %s", name,
                      errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
    }
    return text;
}

/*  The parent of PATH: present, or created when MAKEDIRS (not in test
    mode).  -1 after failing the state. */
static int
s_parent(const fl_st_ctx_t *ctx, const char *path, const char *name, bool makedirs, mode_t mode,
         fl_st_ret_t *ret)
{
    char *dir = fl_path_dirname(path);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "The parent of %s is not a directory", name);
            rc = -1;
        }
    } else if (!makedirs) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Parent directory of %s is not present (makedirs: True creates it)",
                      name);
        rc = -1;
    } else if (!ctx->test && fl_mkdir_p(dir, mode) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to create the parent directories of %s: %s", name,
                      strerror(errno));
        rc = -1;
    }
    free(dir);
    return rc;
}

/*  The changes entry for a content change: Salt's "diff". */
static void
s_set_diff(json_t *changes, const char *old, size_t old_len, const char *text, size_t len,
           bool show)
{
    if (!show) {
        json_object_set_new(changes, "diff", json_string("<show_changes=False>"));
        return;
    }
    char *diff = st_file_diff(old, old_len, text, len);
    json_object_set_new(changes, "diff", json_string(diff));
    free(diff);
}

/*  The end of every in-place editor (append, line, replace, comment):
    OLD (NULL = the file is new) becomes TEXT.  Writes unless in test mode
    or nothing changed, keeping the file's mode and owner. */
static void
s_edit_finish(const fl_st_ctx_t *ctx, const char *path, const char *name, const char *old,
              size_t old_len, const char *text, size_t len, bool show, const char *done,
              fl_st_ret_t *ret)
{
    if (old && old_len == len && memcmp(old, text, len) == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "File %s is in correct state", name);
        return;
    }
    s_set_diff(ret->changes, old ? old : "", old ? old_len : 0, text, len, show);
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "File %s is set to be updated", name);
        return;
    }
    struct stat st;
    bool exists = old && stat(path, &st) == 0;
    if (s_write(path, name, text, len, exists ? st.st_mode & 07777 : s_default_mode(),
                exists ? st.st_uid : (uid_t) -1, exists ? st.st_gid : (gid_t) -1, ret)
        != 0) {
        json_object_clear(ret->changes);
        return;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "%s", done);
}

/* ------------------------------------------------------------------ */
/*  Lines of a file, for the editors                                  */

typedef struct {
    char **v;
    size_t n;
    size_t cap;
    bool last_nl;       /* the last line ends with '\n' */
} s_lines_t;

static void
s_lines_insert(s_lines_t *l, size_t at, const char *text, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = fl_realloc(l->v, l->cap * sizeof *l->v);
    }
    memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof *l->v);
    l->v[at] = fl_strndup(text, len);
    l->n++;
    if (at == l->n - 1) {
        l->last_nl = true;  /* a line we add ends with a newline */
    }
}

static void
s_lines_delete(s_lines_t *l, size_t at)
{
    free(l->v[at]);
    memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof *l->v);
    l->n--;
    if (at == l->n) {
        l->last_nl = true;  /* the new last line was followed by one */
    }
}

static void
s_lines_set(s_lines_t *l, size_t at, const char *text)
{
    free(l->v[at]);
    l->v[at] = fl_strdup(text);
}

static void
s_lines_parse(s_lines_t *l, const char *text, size_t len)
{
    memset(l, 0, sizeof *l);
    l->last_nl = true;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            s_lines_insert(l, l->n, text + start, i - start);
            start = i + 1;
        }
    }
    if (start < len) {
        s_lines_insert(l, l->n, text + start, len - start);
        l->last_nl = false;
    }
}

static char *
s_lines_join(const s_lines_t *l, size_t *len)
{
    s_buf_t b = { 0 };
    for (size_t i = 0; i < l->n; i++) {
        s_buf_str(&b, l->v[i]);
        if (i + 1 < l->n || l->last_nl) {
            s_buf_add(&b, "\n", 1);
        }
    }
    *len = b.len;
    return s_buf_take(&b);
}

static void
s_lines_free(s_lines_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/*  S without leading and trailing blanks, into a new string. */
static char *
s_trim(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    return fl_strndup(s, n);
}

static bool
s_same_trimmed(const char *x, const char *y)
{
    char *tx = s_trim(x), *ty = s_trim(y);
    bool same = strcmp(tx, ty) == 0;
    free(tx);
    free(ty);
    return same;
}

/* ------------------------------------------------------------------ */
/*  Regular expressions                                               */

/*  Python's \d \s \w (and capitals) outside brackets, as POSIX classes,
    so patterns written for Salt's re module keep working. */
static char *
s_regex_translate(const char *pattern)
{
    s_buf_t b = { 0 };
    bool in_bracket = false;
    for (const char *p = pattern; *p; p++) {
        if (in_bracket) {
            s_buf_add(&b, p, 1);
            if (*p == ']') {
                in_bracket = false;
            }
            continue;
        }
        if (*p == '[') {
            in_bracket = true;
            s_buf_add(&b, p, 1);
            /* a ']' first (after an optional '^') is a member */
            if (p[1] == '^') {
                s_buf_add(&b, ++p, 1);
            }
            if (p[1] == ']') {
                s_buf_add(&b, ++p, 1);
            }
            continue;
        }
        if (*p == '\\' && p[1]) {
            const char *cls = NULL;
            switch (p[1]) {
            case 'd': cls = "[0-9]"; break;
            case 'D': cls = "[^0-9]"; break;
            case 's': cls = "[[:space:]]"; break;
            case 'S': cls = "[^[:space:]]"; break;
            case 'w': cls = "[[:alnum:]_]"; break;
            case 'W': cls = "[^[:alnum:]_]"; break;
            default: break;
            }
            if (cls) {
                s_buf_str(&b, cls);
            } else {
                s_buf_add(&b, p, 2);
            }
            p++;
            continue;
        }
        s_buf_add(&b, p, 1);
    }
    return s_buf_take(&b);
}

/*  Compiles PATTERN (extended, newline-sensitive); -1 after failing the
    state. */
static int
s_regcomp(regex_t *re, const char *what, const char *pattern, int flags, fl_st_ret_t *ret)
{
    char *translated = s_regex_translate(pattern);
    int rc = regcomp(re, translated, REG_EXTENDED | REG_NEWLINE | flags);
    free(translated);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid %s '%s': %s", what, pattern, msg);
        return -1;
    }
    return 0;
}

static bool
s_regsearch(const regex_t *re, const char *line)
{
    return regexec(re, line, 0, NULL, 0) == 0;
}

/* ------------------------------------------------------------------ */
/*  file.managed                                                      */

/*  The local file behind one source: fleet:// and salt:// through the
    files the minion fetched, local paths (/x, file:///x) under root_dir.
    NULL when not found; *BAD set (state failed) for a scheme we do not
    serve.  Caller frees. */
static char *
s_source_local(const fl_st_ctx_t *ctx, const char *url, bool *bad, fl_st_ret_t *ret)
{
    *bad = false;
    if (strncmp(url, "fleet://", 8) == 0 || strncmp(url, "salt://", 7) == 0) {
        const char *local = fl_st_file(ctx, url);
        return local && access(local, R_OK) == 0 ? fl_strdup(local) : NULL;
    }
    const char *abs = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
    if (abs[0] == '/') {
        char *path = fl_st_path(ctx, abs);
        if (path && access(path, R_OK) != 0) {
            free(path);
            path = NULL;
        }
        return path;
    }
    *bad = true;
    ret->result = FL_ST_FALSE;
    fl_st_comment(ret, "Unsupported source '%s': use fleet://, salt:// or an absolute path", url);
    return NULL;
}

/*  SOURCE: a URL, or a list of URLs (or one-key {URL: hash} maps): the
    first one found.  Returns its text (*LEN), or NULL after failing the
    state. */
static char *
s_source_read(const fl_st_ctx_t *ctx, const json_t *source, size_t *len, fl_st_ret_t *ret)
{
    json_t *list = json_is_array(source) ? json_incref((json_t *) source)
                                         : json_pack("[O]", source);
    char *text = NULL;
    s_buf_t tried = { 0 };
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *url = json_string_value(item);
        if (json_is_object(item) && json_object_size(item) == 1) {
            url = json_object_iter_key(json_object_iter(item));
        }
        if (!url) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "source must be a URL or a list of URLs");
            goto done;
        }
        bool bad;
        char *local = s_source_local(ctx, url, &bad, ret);
        if (bad) {
            goto done;
        }
        if (local) {
            bool failed;
            text = s_read(local, url, len, &failed, ret);
            if (!text && !failed) {
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "Unable to read source %s: %s", url, strerror(errno));
            }
            free(local);
            goto done;
        }
        s_buf_str(&tried, tried.len ? ", " : "");
        s_buf_str(&tried, url);
    }
    ret->result = FL_ST_FALSE;
    if (json_array_size(list) == 1) {
        fl_st_comment(ret, "Source file %s not found on the master", tried.data ? tried.data : "");
    } else {
        fl_st_comment(ret, "None of the sources were found on the master: %s",
                      tried.data ? tried.data : "(empty list)");
    }
done:
    free(tried.data);
    json_decref(list);
    return text;
}

/*  contents (a string, a scalar, or a list of lines), contents_pillar or
    contents_grains (a key, nested with ':').  Returns the text, NULL with
    nothing asked (*LEN 0), or NULL after failing the state (*FAILED). */
static char *
s_contents(const fl_st_ctx_t *ctx, const json_t *args, size_t *len, bool *failed,
           fl_st_ret_t *ret)
{
    *failed = false;
    const json_t *v = json_object_get(args, "contents");
    const char *pkey = json_string_value(json_object_get(args, "contents_pillar"));
    const char *gkey = json_string_value(json_object_get(args, "contents_grains"));
    if (pkey || gkey) {
        v = fl_json_lookup(pkey ? ctx->pillar : ctx->grains, pkey ? pkey : gkey);
        if (!v) {
            *failed = true;
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s '%s' does not exist", pkey ? "Pillar" : "Grain",
                          pkey ? pkey : gkey);
            return NULL;
        }
    }
    if (!v || json_is_null(v)) {
        return NULL;
    }
    s_buf_t b = { 0 };
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            char *line = s_scalar_text(item);
            if (!line) {
                free(b.data);
                *failed = true;
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "contents: list items must be strings");
                return NULL;
            }
            if (i > 0) {
                s_buf_add(&b, "\n", 1);
            }
            s_buf_str(&b, line);
            free(line);
        }
    } else {
        char *text = s_scalar_text(v);
        if (!text) {
            *failed = true;
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "contents must be a string or a list of lines");
            return NULL;
        }
        /* json strings may hold NUL: keep the whole length */
        s_buf_add(&b, text, json_is_string(v) ? json_string_length(v) : strlen(text));
        free(text);
    }
    *len = b.len;
    return s_buf_take(&b);
}

/*  Renders TEXT with Salt's context: grains, pillar, id, then `defaults`
    and `context` over them.  NULL after failing the state. */
static char *
s_render(const fl_st_ctx_t *ctx, const char *what, const char *text, size_t len,
         const json_t *args, size_t *out_len, fl_st_ret_t *ret)
{
    if (memchr(text, '\0', len)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to manage file: %s is binary, it cannot be a template", what);
        return NULL;
    }
    json_t *context = json_object();
    json_object_set_new(context, "grains",
                        ctx->grains ? json_deep_copy(ctx->grains) : json_object());
    json_object_set_new(context, "pillar",
                        ctx->pillar ? json_deep_copy(ctx->pillar) : json_object());
    if (ctx->minion_id) {
        json_object_set_new(context, "id", json_string(ctx->minion_id));
    }
    const char *const merged[] = { "defaults", "context" };
    for (size_t i = 0; i < FL_ARRAY_LEN(merged); i++) {
        const json_t *m = json_object_get(args, merged[i]);
        if (json_is_object(m)) {
            json_object_update(context, (json_t *) m);
        } else if (m && !json_is_null(m)) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s must be a mapping", merged[i]);
            json_decref(context);
            return NULL;
        }
    }
    fl_diag_t *diag = fl_diag_new();
    char *out = fl_tmpl_render(what, text, context, diag);
    if (!out) {
        char *msg = fl_diag_format(diag);
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to manage file: the template failed to render:\n%s",
                      msg ? msg : "");
        free(msg);
    } else {
        *out_len = strlen(out);
    }
    fl_diag_destroy(&diag);
    json_decref(context);
    return out;
}

/*  The text file.managed wants: from source or contents, rendered when a
    template is asked, with contents_newline.  NULL with *HAVE false when
    neither is given (only existence and permissions are managed), NULL
    with *HAVE true after failing the state. */
static char *
s_managed_text(const fl_st_ctx_t *ctx, const char *name, const json_t *args, size_t *len,
               bool *have, fl_st_ret_t *ret)
{
    *have = true;
    *len = 0;
    const json_t *source = json_object_get(args, "source");
    bool has_source = source && !json_is_null(source) && !(json_is_array(source)
                                                           && json_array_size(source) == 0);
    int given = has_source;
    given += json_object_get(args, "contents") && !json_is_null(json_object_get(args, "contents"));
    given += json_object_get(args, "contents_pillar") != NULL;
    given += json_object_get(args, "contents_grains") != NULL;
    if (given > 1) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Only one of 'contents', 'contents_pillar', 'contents_grains' and "
                           "'source' may be given");
        return NULL;
    }
    const char *template;
    bool newline;
    if (s_str(args, "template", &template, ret) != 0
        || s_bool(args, "contents_newline", true, &newline, ret) != 0) {
        return NULL;
    }
    if (template && strcmp(template, "jinja") != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Template '%s' is not supported (only jinja)", template);
        return NULL;
    }
    char *text;
    const char *what = name;
    if (has_source) {
        text = s_source_read(ctx, source, len, ret);
        if (!text) {
            return NULL;
        }
        if (json_is_string(source)) {
            what = json_string_value(source);
        }
    } else {
        bool failed;
        text = s_contents(ctx, args, len, &failed, ret);
        if (!text) {
            *have = failed;
            return NULL;
        }
    }
    if (template) {
        size_t out_len = 0;
        char *out = s_render(ctx, what, text, *len, args, &out_len, ret);
        free(text);
        if (!out) {
            return NULL;
        }
        text = out;
        *len = out_len;
    }
    if (!has_source && newline && (*len == 0 || text[*len - 1] != '\n')) {
        text = fl_realloc(text, *len + 2);
        text[(*len)++] = '\n';
        text[*len] = '\0';
    }
    return text;
}

void
st_file_managed(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *target = NULL, *want = NULL, *old = NULL;
    size_t want_len = 0, old_len = 0;
    bool makedirs, replace, show, follow, create, have;
    s_perms_t perms;
    mode_t dir_mode = 0755;
    const json_t *dmv = json_object_get(args, "dir_mode");
    if (s_bool(args, "makedirs", false, &makedirs, ret) != 0
        || s_bool(args, "replace", true, &replace, ret) != 0
        || s_bool(args, "show_changes", true, &show, ret) != 0
        || s_bool(args, "follow_symlinks", true, &follow, ret) != 0
        || s_bool(args, "create", true, &create, ret) != 0
        || s_perms_parse(args, "mode", &perms, ret) != 0) {
        goto done;
    }
    if (dmv && !json_is_null(dmv) && s_mode_parse(dmv, &dir_mode) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "dir_mode is not an octal mode (e.g. '0755')");
        goto done;
    }
    want = s_managed_text(ctx, name, args, &want_len, &have, ret);
    if (!want && have) {
        goto done;
    }

    /* a symlink is followed to the file it names (Salt's follow_symlinks) */
    struct stat st;
    bool exists = lstat(path, &st) == 0;
    target = fl_strdup(path);
    if (exists && S_ISLNK(st.st_mode) && follow) {
        char *real = realpath(path, NULL);
        if (real) {
            free(target);
            target = fl_strdup(real);
            free(real);
            exists = stat(target, &st) == 0;
        } else {
            exists = false;     /* dangling: the link is replaced by the file */
        }
    }
    if (exists && S_ISDIR(st.st_mode)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Specified target %s is a directory", name);
        goto done;
    }
    if (exists && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Specified target %s exists and is not a regular file", name);
        goto done;
    }
    if (!exists && !create) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "File %s is not present and is not set for creation", name);
        goto done;
    }
    if (!exists && s_parent(ctx, target, name, makedirs, dir_mode, ret) != 0) {
        goto done;
    }

    bool content_change = false;
    if (!exists) {
        content_change = true;
        if (ctx->test) {
            json_object_set_new(ret->changes, "newfile", json_string(name));
        } else {
            json_object_set_new(ret->changes, "diff", json_string("New file"));
        }
    } else if (want && replace) {
        bool failed;
        old = s_read(target, name, &old_len, &failed, ret);
        if (!old) {
            if (!failed) {
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "Unable to read %s: %s", name, strerror(errno));
            }
            goto done;
        }
        if (old_len != want_len || memcmp(old, want, want_len) != 0) {
            content_change = true;
            s_set_diff(ret->changes, old, old_len, want, want_len, show);
        }
    }
    if (s_perms_diff(&perms, exists ? &st : NULL, false, name, ret->changes, ret) != 0) {
        json_object_clear(ret->changes);
        goto done;
    }
    if (json_object_size(ret->changes) == 0) {
        ret->result = FL_ST_TRUE;
        if (exists && want && !replace) {
            fl_st_comment(ret, "File %s exists with proper permissions. No changes made.", name);
        } else {
            fl_st_comment(ret, "File %s is in the correct state", name);
        }
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "The file %s is set to be changed", name);
        goto done;
    }

    if (content_change) {
        mode_t mode = perms.has_mode ? perms.mode : exists ? st.st_mode & 07777 : s_default_mode();
        uid_t uid = perms.user ? perms.uid : exists ? st.st_uid : (uid_t) -1;
        gid_t gid = perms.group ? perms.gid : exists ? st.st_gid : (gid_t) -1;
        if (s_write(target, name, want ? want : "", want_len, mode, uid, gid, ret) != 0) {
            json_object_clear(ret->changes);
            goto done;
        }
    } else if (s_perms_apply(target, name, &perms, false, ret) != 0) {
        json_object_clear(ret->changes);
        goto done;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "File %s updated", name);
done:
    free(old);
    free(want);
    free(target);
    free(path);
}

/* ------------------------------------------------------------------ */
/*  file.directory, file.absent, file.symlink                         */

/*  rm -r without following symlinks; -1 with errno. */
static int
s_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path);
    }
    DIR *d = opendir(path);
    if (!d) {
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char *child = fl_sprintf("%s/%s", path, e->d_name);
        rc = s_remove_tree(child);
        free(child);
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    return rc == 0 ? rmdir(path) : -1;
}

/*  What file.directory's recurse asks, and where it is. */
typedef struct {
    const fl_st_ctx_t *ctx;
    s_perms_t dirs;         /* dir_mode + owner */
    s_perms_t files;        /* file_mode + owner */
    bool ignore_files;
    bool ignore_dirs;
    json_t *changes;
    size_t changed;         /* paths changed, also past the reporting cap */
    size_t root_len;        /* strlen(root_dir part), to report NAMEs */
} s_recurse_t;

/*  Walks below PATH (never following links); -1 after failing the state. */
static int
s_recurse(s_recurse_t *r, const char *path, fl_st_ret_t *ret)
{
    DIR *d = opendir(path);
    if (!d) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to read directory %s: %s", path + r->root_len, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char *child = fl_sprintf("%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) != 0) {
            free(child);
            continue;   /* gone meanwhile */
        }
        bool dir = S_ISDIR(st.st_mode), link = S_ISLNK(st.st_mode);
        if ((dir && r->ignore_dirs) || (!dir && r->ignore_files)) {
            if (dir) {
                rc = s_recurse(r, child, ret);
            }
            free(child);
            continue;
        }
        const s_perms_t *p = dir ? &r->dirs : &r->files;
        const char *shown = child + r->root_len;
        json_t *c = json_object();
        rc = s_perms_diff(p, &st, link, shown, c, ret);
        if (rc == 0 && json_object_size(c) > 0) {
            if (!r->ctx->test) {
                s_perms_t apply = *p;
                apply.has_mode = json_object_get(c, "mode") != NULL;
                rc = s_perms_apply(child, shown, &apply, link, ret);
            }
            if (r->changed++ < S_MAX_RECURSE_CHANGES) {
                json_object_set(r->changes, shown, c);
            }
        }
        json_decref(c);
        if (rc == 0 && dir) {
            rc = s_recurse(r, child, ret);
        }
        free(child);
    }
    closedir(d);
    return rc;
}

/*  recurse: a list (or one string) of user, group, mode, ignore_files,
    ignore_dirs.  -1 after failing the state. */
static int
s_recurse_opts(const json_t *v, bool *user, bool *group, bool *mode, bool *ign_files,
               bool *ign_dirs, fl_st_ret_t *ret)
{
    json_t *list = json_is_string(v) ? json_pack("[O]", v) : json_incref((json_t *) v);
    size_t i;
    json_t *item;
    int rc = 0;
    json_array_foreach(list, i, item) {
        const char *s = json_string_value(item);
        if (s && strcmp(s, "user") == 0) {
            *user = true;
        } else if (s && strcmp(s, "group") == 0) {
            *group = true;
        } else if (s && strcmp(s, "mode") == 0) {
            *mode = true;
        } else if (s && strcmp(s, "ignore_files") == 0) {
            *ign_files = true;
        } else if (s && strcmp(s, "ignore_dirs") == 0) {
            *ign_dirs = true;
        } else if (s && strcmp(s, "silent") == 0) {
            continue;
        } else {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "recurse: '%s' is not one of user, group, mode, ignore_files, "
                               "ignore_dirs, silent", s ? s : "(not a string)");
            rc = -1;
            break;
        }
    }
    if (!json_is_array(list) && list) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "recurse must be a list");
        rc = -1;
    }
    json_decref(list);
    return rc;
}

void
st_file_directory(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    s_perms_t perms, fperms;
    bool makedirs;
    /* dir_mode is Salt's name; mode is accepted for it */
    const char *mode_key = json_object_get(args, "dir_mode") ? "dir_mode" : "mode";
    if (s_perms_parse(args, mode_key, &perms, ret) != 0
        || s_perms_parse(args, "file_mode", &fperms, ret) != 0
        || s_bool(args, "makedirs", false, &makedirs, ret) != 0) {
        goto done;
    }
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Specified location %s exists and is a file", name);
        goto done;
    }
    if (!exists && s_parent(ctx, path, name, makedirs, perms.has_mode ? perms.mode : 0755, ret)
                       != 0) {
        goto done;
    }
    json_t *top = json_object();
    if (s_perms_diff(&perms, exists ? &st : NULL, false, name, top, ret) != 0) {
        json_decref(top);
        goto done;
    }
    if (!exists) {
        json_object_set_new(ret->changes, name, json_string("New Dir"));
    }
    json_object_update(ret->changes, top);
    json_decref(top);

    if (!ctx->test) {
        if (!exists && mkdir(path, perms.has_mode ? perms.mode : 0755) != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Unable to create directory %s: %s", name, strerror(errno));
            json_object_clear(ret->changes);
            goto done;
        }
        if (json_object_size(ret->changes) > 0
            && s_perms_apply(path, name, &perms, false, ret) != 0) {
            json_object_clear(ret->changes);
            goto done;
        }
    }

    const json_t *recurse = json_object_get(args, "recurse");
    if (recurse && !json_is_null(recurse) && exists) {
        bool r_user = false, r_group = false, r_mode = false, ign_f = false, ign_d = false;
        if (s_recurse_opts(recurse, &r_user, &r_group, &r_mode, &ign_f, &ign_d, ret) != 0) {
            json_object_clear(ret->changes);
            goto done;
        }
        s_recurse_t r = { .ctx = ctx, .ignore_files = ign_f, .ignore_dirs = ign_d,
                          .changes = ret->changes, .root_len = strlen(path) - strlen(name) };
        r.dirs.has_mode = r_mode && perms.has_mode;
        r.dirs.mode = perms.mode;
        r.files.has_mode = r_mode && fperms.has_mode;
        r.files.mode = fperms.mode;
        if (r_user && perms.user) {
            r.dirs.user = r.files.user = perms.user;
            r.dirs.uid = r.files.uid = perms.uid;
        }
        if (r_group && perms.group) {
            r.dirs.group = r.files.group = perms.group;
            r.dirs.gid = r.files.gid = perms.gid;
        }
        if (s_recurse(&r, path, ret) != 0) {
            goto done;
        }
        if (r.changed > S_MAX_RECURSE_CHANGES) {
            json_object_set_new(ret->changes, "recursion_not_shown",
                                json_integer((json_int_t) (r.changed - S_MAX_RECURSE_CHANGES)));
        }
    }

    if (json_object_size(ret->changes) == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Directory %s is in the correct state", name);
    } else if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "Directory %s is set to be %s", name, exists ? "updated" : "created");
    } else {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Directory %s updated", name);
    }
done:
    free(path);
}

void
st_file_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    FL_UNUSED(args);
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    struct stat st;
    if (strspn(name, "/") == strlen(name)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Refusing to make \"/\" absent");
    } else if (lstat(path, &st) != 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "File %s is not present", name);
    } else if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, "removed", json_string(name));
        fl_st_comment(ret, "%s %s is set for removal", S_ISDIR(st.st_mode) ? "Directory" : "File",
                      name);
    } else if ((S_ISDIR(st.st_mode) ? s_remove_tree(path) : unlink(path)) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to remove %s: %s", name, strerror(errno));
    } else {
        ret->result = FL_ST_TRUE;
        json_object_set_new(ret->changes, "removed", json_string(name));
        fl_st_comment(ret, "Removed %s %s", S_ISDIR(st.st_mode) ? "directory" : "file", name);
    }
    free(path);
}

/*  Points PATH at TARGET atomically: a new link beside it, renamed over. */
static int
s_symlink_replace(const char *target, const char *path)
{
    char *tmp = NULL;
    for (int attempt = 0; attempt < 100; attempt++) {
        free(tmp);
        tmp = fl_sprintf("%s.fleet-%d-%d", path, (int) getpid(), attempt);
        if (symlink(target, tmp) == 0) {
            break;
        }
        if (errno != EEXIST) {
            free(tmp);
            return -1;
        }
    }
    int rc = rename(tmp, path);
    int saved = errno;
    if (rc != 0) {
        unlink(tmp);
    }
    free(tmp);
    errno = saved;
    return rc;
}

void
st_file_symlink(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    const char *target;
    bool force, makedirs;
    s_perms_t perms;
    if (s_str(args, "target", &target, ret) != 0 || s_bool(args, "force", false, &force, ret) != 0
        || s_bool(args, "makedirs", false, &makedirs, ret) != 0
        || s_perms_parse(args, NULL, &perms, ret) != 0) {
        goto done;
    }
    if (!target || !*target) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.symlink: target is required");
        goto done;
    }
    struct stat st;
    bool exists = lstat(path, &st) == 0;
    bool is_link = exists && S_ISLNK(st.st_mode);
    bool right = false;
    if (is_link) {
        char buf[4096];
        ssize_t n = readlink(path, buf, sizeof buf - 1);
        right = n >= 0 && (size_t) n == strlen(target) && memcmp(buf, target, (size_t) n) == 0;
    }
    if (exists && !is_link && !force) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s exists where the symlink %s should be",
                      S_ISDIR(st.st_mode) ? "Directory" : "File", name);
        goto done;
    }
    if (!exists && s_parent(ctx, path, name, makedirs, 0755, ret) != 0) {
        goto done;
    }
    if (!right) {
        json_object_set_new(ret->changes, "new", json_string(name));
        if (exists && !is_link) {
            json_object_set_new(ret->changes, "forced",
                                json_string("Symlink was forcibly replaced"));
        }
    }
    if (s_perms_diff(&perms, right ? &st : NULL, true, name, ret->changes, ret) != 0) {
        json_object_clear(ret->changes);
        goto done;
    }
    if (json_object_size(ret->changes) == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Symlink %s is present", name);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "Symlink %s is set to be %s to point to %s", name,
                      exists ? "changed" : "created", target);
        goto done;
    }
    if (exists && !is_link && S_ISDIR(st.st_mode) && s_remove_tree(path) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to remove directory %s: %s", name, strerror(errno));
        json_object_clear(ret->changes);
        goto done;
    }
    if (!right && s_symlink_replace(target, path) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unable to create symlink %s: %s", name, strerror(errno));
        json_object_clear(ret->changes);
        goto done;
    }
    if (s_perms_apply(path, name, &perms, true, ret) != 0) {
        json_object_clear(ret->changes);
        goto done;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "%s symlink %s -> %s", right ? "Updated" : exists ? "Set" : "Created new",
                  name, target);
done:
    free(path);
}

/* ------------------------------------------------------------------ */
/*  file.append, file.line, file.replace, file.comment                */

/*  The file an editor works on: its text (*OLD, NULL when absent and
    CREATE allows it).  -1 after failing the state. */
static int
s_edit_open(const fl_st_ctx_t *ctx, const char *path, const char *name, bool create,
            bool makedirs, char **old, size_t *old_len, fl_st_ret_t *ret)
{
    bool failed;
    *old = s_read(path, name, old_len, &failed, ret);
    if (failed) {
        return -1;
    }
    if (*old && memchr(*old, '\0', *old_len)) {
        free(*old);
        *old = NULL;
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Cannot edit %s: it is a binary file", name);
        return -1;
    }
    if (!*old) {
        if (!create) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s: file not found", name);
            return -1;
        }
        *old_len = 0;
        return s_parent(ctx, path, name, makedirs, 0755, ret);
    }
    return 0;
}

void
st_file_append(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    s_lines_t lines = { 0 };
    bool makedirs, show;
    const json_t *tv = json_object_get(args, "text");
    json_t *items = json_is_array(tv) ? json_incref((json_t *) tv)
                    : tv && !json_is_null(tv) ? json_pack("[O]", tv)
                                              : json_array();
    if (s_bool(args, "makedirs", false, &makedirs, ret) != 0
        || s_bool(args, "show_changes", true, &show, ret) != 0) {
        goto done;
    }
    if (json_array_size(items) == 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.append: text is required");
        goto done;
    }
    if (s_edit_open(ctx, path, name, true, makedirs, &old, &old_len, ret) != 0) {
        goto done;
    }
    s_lines_parse(&lines, old ? old : "", old_len);
    size_t appended = 0;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        char *chunk = s_scalar_text(item);
        if (!chunk) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "file.append: text must be a string or a list of strings");
            goto done;
        }
        /* Salt appends what is not in the file already, wherever it is;
           blanks around a line do not make it different */
        s_lines_t add;
        s_lines_parse(&add, chunk, strlen(chunk));
        for (size_t k = 0; k < add.n; k++) {
            bool present = false;
            for (size_t j = 0; j < lines.n && !present; j++) {
                present = s_same_trimmed(lines.v[j], add.v[k]);
            }
            if (!present) {
                s_lines_insert(&lines, lines.n, add.v[k], strlen(add.v[k]));
                appended++;
            }
        }
        s_lines_free(&add);
        free(chunk);
    }
    text = s_lines_join(&lines, &len);
    char *done_msg = fl_sprintf("Appended %zu line%s", appended, appended == 1 ? "" : "s");
    s_edit_finish(ctx, path, name, old, old_len, text, len, show, done_msg, ret);
    free(done_msg);
done:
    s_lines_free(&lines);
    json_decref(items);
    free(text);
    free(old);
    free(path);
}

/*  What selects lines in file.line: a regular expression, or (when match
    falls back to content) the literal text. */
typedef struct {
    bool is_regex;
    regex_t re;
    const char *literal;
} s_matcher_t;

static bool
s_matches(const s_matcher_t *m, const char *line)
{
    return m->is_regex ? s_regsearch(&m->re, line) : strstr(line, m->literal) != NULL;
}

/*  The leading blanks of LINE, in front of CONTENT unless it has its own
    (Salt's indent=True). */
static char *
s_indented(const char *line, const char *content, bool indent)
{
    size_t ws = strspn(line, " \t");
    if (!indent || ws == 0 || content[0] == ' ' || content[0] == '\t') {
        return fl_strdup(content);
    }
    return fl_sprintf("%.*s%s", (int) ws, line, content);
}

/*  The first line at or after FROM matching M; N when none. */
static size_t
s_find(const s_lines_t *l, size_t from, const s_matcher_t *m)
{
    for (size_t i = from; i < l->n; i++) {
        if (s_matches(m, l->v[i])) {
            return i;
        }
    }
    return l->n;
}

static bool
s_has_line(const s_lines_t *l, const char *content)
{
    for (size_t i = 0; i < l->n; i++) {
        if (s_same_trimmed(l->v[i], content)) {
            return true;
        }
    }
    return false;
}

/*  Inserts CONTENT at AT, indented as the line ANCHOR (or not). */
static void
s_insert_at(s_lines_t *l, size_t at, const char *content, const char *anchor, bool indent)
{
    char *text = anchor ? s_indented(anchor, content, indent) : fl_strdup(content);
    s_lines_insert(l, at, text, strlen(text));
    free(text);
}

/*  The lines between the AFTER and BEFORE anchors (either may be absent):
    *LO is the first line after AFTER, *HI the BEFORE line (or N).  -1
    after failing the state when an anchor given is not found. */
static int
s_anchors(const s_lines_t *l, const s_matcher_t *after, const s_matcher_t *before, size_t *lo,
          size_t *hi, fl_st_ret_t *ret)
{
    size_t ia = 0;
    if (after) {
        ia = s_find(l, 0, after);
        if (ia == l->n) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Pattern given in 'after' was not found");
            return -1;
        }
        ia++;
    }
    size_t ib = l->n;
    if (before) {
        ib = s_find(l, ia, before);
        if (ib == l->n) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Pattern given in 'before' was not found%s",
                          after ? " after 'after'" : "");
            return -1;
        }
    }
    *lo = ia;
    *hi = ib;
    return 0;
}

/*  file.line's edit of L; -1 after failing the state. */
static int
s_line_edit(s_lines_t *l, const char *mode, const char *content, const s_matcher_t *match,
            bool explicit_match, const s_matcher_t *after, const s_matcher_t *before,
            const char *location, bool indent, fl_st_ret_t *ret)
{
    if (strcmp(mode, "delete") == 0) {
        for (size_t i = 0; i < l->n;) {
            if (s_matches(match, l->v[i])) {
                s_lines_delete(l, i);
            } else {
                i++;
            }
        }
        return 0;
    }
    if (strcmp(mode, "replace") == 0) {
        for (size_t i = 0; i < l->n; i++) {
            if (s_matches(match, l->v[i])) {
                char *text = s_indented(l->v[i], content, indent);
                s_lines_set(l, i, text);
                free(text);
            }
        }
        return 0;
    }
    bool insert = strcmp(mode, "insert") == 0;
    if (!insert && strcmp(mode, "ensure") != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: mode '%s' is not one of ensure, replace, delete, insert",
                      mode);
        return -1;
    }
    bool at_start = location && strcmp(location, "start") == 0;
    if (location && !at_start && strcmp(location, "end") != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: location must be start or end");
        return -1;
    }
    if (!after && !before) {
        if (s_has_line(l, content)) {
            return 0;
        }
        if (!insert && explicit_match) {
            size_t i = s_find(l, 0, match);
            if (i < l->n) {
                char *text = s_indented(l->v[i], content, indent);
                s_lines_set(l, i, text);
                free(text);
                return 0;
            }
        }
        s_insert_at(l, at_start ? 0 : l->n, content, NULL, false);
        return 0;
    }
    size_t lo, hi;
    if (s_anchors(l, after, before, &lo, &hi, ret) != 0) {
        return -1;
    }
    if (insert) {
        /* already somewhere between the anchors: nothing to do */
        for (size_t i = lo; i < (before ? hi : l->n); i++) {
            if (s_same_trimmed(l->v[i], content)) {
                return 0;
            }
        }
        if (after) {
            s_insert_at(l, lo, content, l->v[lo - 1], indent);
        } else {
            s_insert_at(l, hi, content, l->v[hi], indent);
        }
        return 0;
    }
    /* ensure: CONTENT is the line right after AFTER / right before BEFORE */
    if (after && before) {
        if (hi == lo) {
            s_insert_at(l, lo, content, l->v[lo - 1], indent);
        } else if (hi == lo + 1) {
            if (!s_same_trimmed(l->v[lo], content)) {
                char *text = s_indented(l->v[lo], content, indent);
                s_lines_set(l, lo, text);
                free(text);
            }
        } else {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Found more than one line between boundaries \"before\" and "
                               "\"after\"");
            return -1;
        }
        return 0;
    }
    size_t at = after ? lo : hi - 1;   /* the line that should be CONTENT */
    bool inside = after ? at < l->n : hi > 0;
    if (inside && s_same_trimmed(l->v[at], content)) {
        return 0;
    }
    if (inside && explicit_match && s_matches(match, l->v[at])) {
        char *text = s_indented(l->v[at], content, indent);
        s_lines_set(l, at, text);
        free(text);
    } else if (after) {
        s_insert_at(l, lo, content, l->v[lo - 1], indent);
    } else {
        s_insert_at(l, hi, content, l->v[hi], indent);
    }
    return 0;
}

/*  Compiles the regex argument KEY into M; *SET false when absent.  -1
    after failing the state. */
static int
s_matcher(const json_t *args, const char *key, s_matcher_t *m, bool *set, fl_st_ret_t *ret)
{
    const char *pattern;
    *set = false;
    if (s_str(args, key, &pattern, ret) != 0) {
        return -1;
    }
    if (!pattern) {
        return 0;
    }
    if (s_regcomp(&m->re, key, pattern, 0, ret) != 0) {
        return -1;
    }
    m->is_regex = true;
    *set = true;
    return 0;
}

void
st_file_line(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *text = NULL, *content = NULL;
    size_t old_len = 0, len = 0;
    s_lines_t lines = { 0 };
    s_matcher_t match = { 0 }, after = { 0 }, before = { 0 };
    bool has_match = false, has_after = false, has_before = false;
    bool create, show, indent;
    const char *mode, *location;
    const json_t *cv = json_object_get(args, "content");
    if (s_str(args, "mode", &mode, ret) != 0 || s_str(args, "location", &location, ret) != 0
        || s_bool(args, "create", false, &create, ret) != 0
        || s_bool(args, "show_changes", true, &show, ret) != 0
        || s_bool(args, "indent", true, &indent, ret) != 0) {
        goto done;
    }
    if (!mode) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: mode is required (ensure, replace, delete or insert)");
        goto done;
    }
    content = cv && !json_is_null(cv) ? s_scalar_text(cv) : NULL;
    if (cv && !json_is_null(cv) && !content) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: content must be a string");
        goto done;
    }
    if (content && strchr(content, '\n')) {
        /* one line: a trailing newline from a YAML block is not part of it */
        content[strcspn(content, "\n")] = '\0';
    }
    if (s_matcher(args, "match", &match, &has_match, ret) != 0
        || s_matcher(args, "after", &after, &has_after, ret) != 0
        || s_matcher(args, "before", &before, &has_before, ret) != 0) {
        goto done;
    }
    if (!content && (strcmp(mode, "delete") != 0 || !has_match)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: content is required%s",
                      strcmp(mode, "delete") == 0 ? " (or match, to delete)" : "");
        goto done;
    }
    if (!has_match) {
        /* Salt: without match, the content itself selects the line */
        match.literal = content;
    }
    if (s_edit_open(ctx, path, name, create, false, &old, &old_len, ret) != 0) {
        goto done;
    }
    s_lines_parse(&lines, old ? old : "", old_len);
    if (s_line_edit(&lines, mode, content, &match, has_match, has_after ? &after : NULL,
                    has_before ? &before : NULL, location, indent, ret)
        != 0) {
        goto done;
    }
    text = s_lines_join(&lines, &len);
    s_edit_finish(ctx, path, name, old, old_len, text, len, show, "Changes were made", ret);
    if (ret->result == FL_ST_TRUE && json_object_size(ret->changes) == 0) {
        fl_st_comment(ret, "No changes needed to be made");
    } else if (ret->result == FL_ST_NONE) {
        fl_st_comment(ret, "Changes would be made");
    }
done:
    s_lines_free(&lines);
    if (has_match) {
        regfree(&match.re);
    }
    if (has_after) {
        regfree(&after.re);
    }
    if (has_before) {
        regfree(&before.re);
    }
    free(content);
    free(text);
    free(old);
    free(path);
}

/*  Python's re.sub template: \1..\9 and \g<N> are groups (\0 the whole
    match, as sed has it), \n \t \\ their characters; any other escape
    stays as written. */
static void
s_expand(s_buf_t *out, const char *repl, const char *subject, const regmatch_t *m, size_t nm)
{
    for (const char *p = repl; *p; p++) {
        if (*p != '\\' || !p[1]) {
            s_buf_add(out, p, 1);
            continue;
        }
        size_t group = SIZE_MAX;
        const char *next = p + 1;
        if (p[1] >= '0' && p[1] <= '9') {
            group = (size_t) (p[1] - '0');
            next = p + 1;
        } else if (p[1] == 'g' && p[2] == '<') {
            const char *close = strchr(p + 3, '>');
            if (close && close > p + 3 && strspn(p + 3, "0123456789") == (size_t) (close - p - 3)) {
                group = strtoul(p + 3, NULL, 10);
                next = close;
            }
        }
        if (group != SIZE_MAX) {
            if (group < nm && m[group].rm_so >= 0) {
                s_buf_add(out, subject + m[group].rm_so,
                          (size_t) (m[group].rm_eo - m[group].rm_so));
            }
            p = next;
        } else if (p[1] == 'n') {
            s_buf_add(out, "\n", 1);
            p++;
        } else if (p[1] == 't') {
            s_buf_add(out, "\t", 1);
            p++;
        } else if (p[1] == '\\') {
            s_buf_add(out, "\\", 1);
            p++;
        } else {
            s_buf_add(out, p, 2);
            p++;
        }
    }
}

/*  Is TEXT (one or more lines) somewhere in HAY as whole lines? */
static bool
s_has_block(const char *hay, size_t hay_len, const char *text)
{
    size_t n = strlen(text);
    const char *end = hay + hay_len;
    for (const char *p = hay; n > 0 && p < end;) {
        if ((size_t) (end - p) >= n && memcmp(p, text, n) == 0 && (p + n == end || p[n] == '\n')) {
            return true;
        }
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        p = nl ? nl + 1 : end;
    }
    return false;
}

void
st_file_replace(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *repl = NULL, *nf_content = NULL;
    s_buf_t out = { 0 };
    bool compiled = false;
    regex_t re;
    const char *pattern;
    bool append, prepend, ignore_missing, show;
    const json_t *countv = json_object_get(args, "count");
    const json_t *flags = json_object_get(args, "flags");
    if (s_str(args, "pattern", &pattern, ret) != 0
        || s_bool(args, "append_if_not_found", false, &append, ret) != 0
        || s_bool(args, "prepend_if_not_found", false, &prepend, ret) != 0
        || s_bool(args, "ignore_if_missing", false, &ignore_missing, ret) != 0
        || s_bool(args, "show_changes", true, &show, ret) != 0) {
        goto done;
    }
    const json_t *rv = json_object_get(args, "repl");
    repl = rv ? s_scalar_text(rv) : NULL;
    if (!pattern || !repl) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.replace: pattern and repl are required (repl a string)");
        goto done;
    }
    if (countv && (!json_is_integer(countv) || json_integer_value(countv) < 0)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.replace: count must be a non-negative integer (0 = all)");
        goto done;
    }
    json_int_t count = countv ? json_integer_value(countv) : 0;
    /* flags: Python's re flag names; IGNORECASE is the one POSIX has */
    int cflags = 0;
    json_t *flag_list = json_is_array(flags) ? json_incref((json_t *) flags)
                        : flags                ? json_pack("[O]", flags)
                                               : json_array();
    size_t fi;
    json_t *fv;
    json_array_foreach(flag_list, fi, fv) {
        const char *f = json_string_value(fv);
        if (f && (strcasecmp(f, "IGNORECASE") == 0 || strcasecmp(f, "I") == 0)) {
            cflags |= REG_ICASE;
        }
    }
    json_decref(flag_list);
    if (s_regcomp(&re, "pattern", pattern, cflags, ret) != 0) {
        goto done;
    }
    compiled = true;
    size_t old_len = 0;
    struct stat st;
    if (ignore_missing && lstat(path, &st) != 0 && errno == ENOENT) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "No changes needed to be made: %s does not exist", name);
        goto done;
    }
    if (s_edit_open(ctx, path, name, false, false, &old, &old_len, ret) != 0) {
        goto done;
    }

    /* re.sub over the whole text, MULTILINE as Salt passes it: REG_NEWLINE
       makes ^ and $ match at line ends; NOTBOL unless after a newline */
    size_t pos = 0;
    json_int_t done_n = 0;
    bool found = false;
    regmatch_t m[10];
    while (pos <= old_len) {
        int eflags = pos > 0 && old[pos - 1] != '\n' ? REG_NOTBOL : 0;
        if (regexec(&re, old + pos, FL_ARRAY_LEN(m), m, eflags) != 0) {
            break;
        }
        found = true;
        s_buf_add(&out, old + pos, (size_t) m[0].rm_so);
        s_expand(&out, repl, old + pos, m, FL_ARRAY_LEN(m));
        size_t end = pos + (size_t) m[0].rm_eo;
        if (m[0].rm_eo == m[0].rm_so) {
            /* an empty match: copy one character, as re.sub moves on */
            if (end < old_len) {
                s_buf_add(&out, old + end, 1);
            }
            pos = end + 1;
        } else {
            pos = end;
        }
        if (count > 0 && ++done_n >= count) {
            break;
        }
    }
    if (pos < old_len) {
        s_buf_add(&out, old + pos, old_len - pos);
    }
    if (!out.data) {
        s_buf_add(&out, "", 0);
    }
    if (!found && (append || prepend)) {
        const json_t *nfv = json_object_get(args, "not_found_content");
        nf_content = nfv && !json_is_null(nfv) ? s_scalar_text(nfv) : fl_strdup(repl);
        if (!nf_content) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "file.replace: not_found_content must be a string");
            goto done;
        }
        size_t nl = strlen(nf_content);
        while (nl > 0 && nf_content[nl - 1] == '\n') {
            nf_content[--nl] = '\0';
        }
        /* the content already there (added by an earlier run): done */
        if (!s_has_block(old, old_len, nf_content)) {
            s_buf_t b = { 0 };
            if (prepend) {
                s_buf_str(&b, nf_content);
                s_buf_add(&b, "\n", 1);
                s_buf_add(&b, out.data, out.len);
            } else {
                s_buf_add(&b, out.data, out.len);
                if (out.len > 0 && out.data[out.len - 1] != '\n') {
                    s_buf_add(&b, "\n", 1);
                }
                s_buf_str(&b, nf_content);
                s_buf_add(&b, "\n", 1);
            }
            free(out.data);
            out = b;
        }
    }
    s_edit_finish(ctx, path, name, old, old_len, out.data, out.len, show, "Changes were made", ret);
    if (ret->result == FL_ST_TRUE && json_object_size(ret->changes) == 0) {
        fl_st_comment(ret, "No changes needed to be made");
    } else if (ret->result == FL_ST_NONE) {
        fl_st_comment(ret, "Changes would have been made");
    }
done:
    if (compiled) {
        regfree(&re);
    }
    free(out.data);
    free(nf_content);
    free(repl);
    free(old);
    free(path);
}

void
st_file_comment(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = s_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    s_lines_t lines = { 0 };
    regex_t re;
    bool compiled = false, show;
    const char *regex, *cchar;
    if (s_str(args, "regex", &regex, ret) != 0 || s_str(args, "char", &cchar, ret) != 0
        || s_bool(args, "show_changes", true, &show, ret) != 0) {
        goto done;
    }
    cchar = cchar ? cchar : "#";
    if (!regex || !*cchar) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.comment: regex is required (and char may not be empty)");
        goto done;
    }
    if (s_regcomp(&re, "regex", regex, 0, ret) != 0) {
        goto done;
    }
    compiled = true;
    if (s_edit_open(ctx, path, name, false, false, &old, &old_len, ret) != 0) {
        goto done;
    }
    /* as Salt's comment_line: the regex must match from the line's start
       (re.match); POSIX gives the leftmost match, so rm_so == 0 says it */
    s_lines_parse(&lines, old, old_len);
    size_t cl = strlen(cchar);
    bool any = false, commented = false;
    for (size_t i = 0; i < lines.n; i++) {
        regmatch_t m;
        if (regexec(&re, lines.v[i], 1, &m, 0) == 0 && m.rm_so == 0) {
            char *c = fl_sprintf("%s%s", cchar, lines.v[i]);
            s_lines_set(&lines, i, c);
            free(c);
            any = true;
        } else if (strncmp(lines.v[i], cchar, cl) == 0
                   && regexec(&re, lines.v[i] + cl, 1, &m, 0) == 0 && m.rm_so == 0) {
            commented = true;
        }
    }
    if (!any) {
        ret->result = commented ? FL_ST_TRUE : FL_ST_FALSE;
        if (commented) {
            fl_st_comment(ret, "Pattern already commented");
        } else {
            fl_st_comment(ret, "%s: Pattern not found", regex);
        }
        goto done;
    }
    text = s_lines_join(&lines, &len);
    s_edit_finish(ctx, path, name, old, old_len, text, len, show, "Commented lines successfully",
                  ret);
done:
    if (compiled) {
        regfree(&re);
    }
    s_lines_free(&lines);
    free(text);
    free(old);
    free(path);
}
