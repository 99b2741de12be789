/*  st_file.c: the file.* states that manage a path as a whole (managed,
    directory, absent, symlink), and the helpers every file state uses
    (st_file_int.h): arguments, paths, reading and writing files.  The
    in-place editors (append, line, replace, comment) are in
    st_file_edit.c, the unified diff their changes show in st_file_diff.c.

    Every path is the state's NAME under ctx->root_dir (fl_st_path);
    comments and changes speak of NAME as the state file wrote it.  Files
    are edited in memory (at most S_MAX_FILE) and written atomically: a
    temporary file in the same directory, owner and mode set on it, fsync,
    rename over the old one.  Nothing of the old file survives but its
    mode and owner (when the state does not set them).

    Test mode computes the same changes and stops before the first write,
    so the diff a test run shows is the one a real run would apply. */
#include "st_file_int.h"
#include "fl_json.h"
#include "fl_tmpl.h"
#include "fl_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

/*  The largest file these states hold in memory. */
#define S_MAX_FILE (64 * 1024 * 1024)
/*  file.directory recurse: at most this many per-path entries in changes. */
#define S_MAX_RECURSE_CHANGES 100

/* ------------------------------------------------------------------ */
/*  Growable buffer                                                   */

void
st_file_buf_add(st_file_buf_t *b, const char *p, size_t n)
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

void
st_file_buf_str(st_file_buf_t *b, const char *s)
{
    st_file_buf_add(b, s, strlen(s));
}

char *
st_file_buf_take(st_file_buf_t *b)
{
    if (!b->data) {
        st_file_buf_add(b, "", 0);
    }
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

/* ------------------------------------------------------------------ */
/*  Arguments and paths                                               */

char *
st_file_path(const fl_st_ctx_t *ctx, const char *name, fl_st_ret_t *ret)
{
    char *path = name ? fl_st_path(ctx, name) : NULL;
    if (!path) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Specified file %s is not an absolute path", name ? name : "(none)");
    }
    return path;
}

int
st_file_bool(const json_t *args, const char *key, bool fallback, bool *out, fl_st_ret_t *ret)
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

int
st_file_str(const json_t *args, const char *key, const char **out, fl_st_ret_t *ret)
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

char *
st_file_scalar_text(const json_t *v)
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

/* ------------------------------------------------------------------ */
/*  Reading and writing files                                         */

mode_t
st_file_default_mode(void)
{
    mode_t mask = umask(022);
    umask(mask);
    return 0666 & ~mask;
}

int
st_file_write(const char *path, const char *name, const char *data, size_t len, mode_t mode,
              uid_t uid, gid_t gid, fl_st_ret_t *ret)
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

char *
st_file_read(const char *path, const char *name, size_t *len, bool *failed, fl_st_ret_t *ret)
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

int
st_file_parent(const fl_st_ctx_t *ctx, const char *path, const char *name, bool makedirs,
               mode_t mode, fl_st_ret_t *ret)
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

/* ------------------------------------------------------------------ */
/*  Modes and owners                                                  */

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
    if (st_file_str(args, "user", &p->user, ret) != 0
        || st_file_str(args, "group", &p->group, ret) != 0) {
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
    st_file_buf_t tried = { 0 };
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
            text = st_file_read(local, url, len, &failed, ret);
            if (!text && !failed) {
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "Unable to read source %s: %s", url, strerror(errno));
            }
            free(local);
            goto done;
        }
        st_file_buf_str(&tried, tried.len ? ", " : "");
        st_file_buf_str(&tried, url);
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
    st_file_buf_t b = { 0 };
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            char *line = st_file_scalar_text(item);
            if (!line) {
                free(b.data);
                *failed = true;
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "contents: list items must be strings");
                return NULL;
            }
            if (i > 0) {
                st_file_buf_add(&b, "\n", 1);
            }
            st_file_buf_str(&b, line);
            free(line);
        }
    } else {
        char *text = st_file_scalar_text(v);
        if (!text) {
            *failed = true;
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "contents must be a string or a list of lines");
            return NULL;
        }
        /* json strings may hold NUL: keep the whole length */
        st_file_buf_add(&b, text, json_is_string(v) ? json_string_length(v) : strlen(text));
        free(text);
    }
    *len = b.len;
    return st_file_buf_take(&b);
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
    if (st_file_str(args, "template", &template, ret) != 0
        || st_file_bool(args, "contents_newline", true, &newline, ret) != 0) {
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
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *target = NULL, *want = NULL, *old = NULL;
    size_t want_len = 0, old_len = 0;
    bool makedirs, replace, show, follow, create, have;
    s_perms_t perms;
    mode_t dir_mode = 0755;
    const json_t *dmv = json_object_get(args, "dir_mode");
    if (st_file_bool(args, "makedirs", false, &makedirs, ret) != 0
        || st_file_bool(args, "replace", true, &replace, ret) != 0
        || st_file_bool(args, "show_changes", true, &show, ret) != 0
        || st_file_bool(args, "follow_symlinks", true, &follow, ret) != 0
        || st_file_bool(args, "create", true, &create, ret) != 0
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
    if (!exists && st_file_parent(ctx, target, name, makedirs, dir_mode, ret) != 0) {
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
        old = st_file_read(target, name, &old_len, &failed, ret);
        if (!old) {
            if (!failed) {
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "Unable to read %s: %s", name, strerror(errno));
            }
            goto done;
        }
        if (old_len != want_len || memcmp(old, want, want_len) != 0) {
            content_change = true;
            st_file_set_diff(ret->changes, old, old_len, want, want_len, show);
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
        mode_t mode = perms.has_mode ? perms.mode
                      : exists       ? st.st_mode & 07777
                                     : st_file_default_mode();
        uid_t uid = perms.user ? perms.uid : exists ? st.st_uid : (uid_t) -1;
        gid_t gid = perms.group ? perms.gid : exists ? st.st_gid : (gid_t) -1;
        if (st_file_write(target, name, want ? want : "", want_len, mode, uid, gid, ret) != 0) {
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
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    s_perms_t perms, fperms;
    bool makedirs;
    /* dir_mode is Salt's name; mode is accepted for it */
    const char *mode_key = json_object_get(args, "dir_mode") ? "dir_mode" : "mode";
    if (s_perms_parse(args, mode_key, &perms, ret) != 0
        || s_perms_parse(args, "file_mode", &fperms, ret) != 0
        || st_file_bool(args, "makedirs", false, &makedirs, ret) != 0) {
        goto done;
    }
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Specified location %s exists and is a file", name);
        goto done;
    }
    if (!exists
        && st_file_parent(ctx, path, name, makedirs, perms.has_mode ? perms.mode : 0755, ret)
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
    char *path = st_file_path(ctx, name, ret);
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
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    const char *target;
    bool force, makedirs;
    s_perms_t perms;
    if (st_file_str(args, "target", &target, ret) != 0
        || st_file_bool(args, "force", false, &force, ret) != 0
        || st_file_bool(args, "makedirs", false, &makedirs, ret) != 0
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
    if (!exists && st_file_parent(ctx, path, name, makedirs, 0755, ret) != 0) {
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
