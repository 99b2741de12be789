/*  st_user.c: user.present, user.absent and group.present.

    The current state is parsed from ROOT/etc/passwd, group and shadow,
    never asked of getpwnam(), which would answer for the host (and through
    NSS, for LDAP too) rather than for the tree under the root.  Changes go
    through the shadow tools (useradd, usermod, userdel, groupadd, groupmod,
    gpasswd), which know the locking and the shadow files, with --root when
    there is one.  After a change the files are read again and the changes
    reported are what they now say. */
#include "st_sys.h"
#include "fl_run.h"

#include <ctype.h>

#define S_CMD_TIMEOUT_MS 60000
#define S_REDACTED "XXX-REDACTED-XXX"

/*  One line of a colon-separated database: its fields. */
typedef struct {
    char **f;
    size_t n;
} s_rec_t;

typedef struct {
    s_rec_t *recs;
    size_t n;
} s_table_t;

static void
s_table_free(s_table_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        for (size_t k = 0; k < t->recs[i].n; k++) {
            free(t->recs[i].f[k]);
        }
        free(t->recs[i].f);
    }
    free(t->recs);
    t->recs = NULL;
    t->n = 0;
}

/*  Loads ROOT/FILE; lines with fewer than MIN_FIELDS fields and NIS
    "+"/"-" lines are skipped.  A missing file fails the state when
    REQUIRED, else gives an empty table. */
static int
s_table_load(const fl_st_ctx_t *ctx, const char *file, size_t min_fields, bool required,
             s_table_t *t, fl_st_ret_t *ret)
{
    char *path = fl_st_path(ctx, file);
    char *text = NULL;
    int rc = st_sys_read(path, &text, ret);
    if (rc == 0 && !text && required) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s does not exist", path);
        rc = -1;
    }
    for (char *line = text; rc == 0 && line && *line;) {
        char *end = strchr(line, '\n');
        if (end) {
            *end = '\0';
        }
        if (*line && *line != '+' && *line != '-' && *line != '#') {
            size_t fields = 1;
            for (const char *c = line; (c = strchr(c, ':')); c++) {
                fields++;
            }
            /* a short line is not a record: callers index fields freely */
            if (fields >= min_fields) {
                s_rec_t rec = { fl_calloc(fields, sizeof(char *)), 0 };
                for (char *p = line;;) {
                    char *colon = strchr(p, ':');
                    rec.f[rec.n++] = colon ? fl_strndup(p, (size_t) (colon - p)) : fl_strdup(p);
                    if (!colon) {
                        break;
                    }
                    p = colon + 1;
                }
                t->recs = fl_realloc(t->recs, (t->n + 1) * sizeof *t->recs);
                t->recs[t->n++] = rec;
            }
        }
        line = end ? end + 1 : NULL;
    }
    free(text);
    free(path);
    return rc;
}

static const s_rec_t *
s_find(const s_table_t *t, size_t field, const char *value)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->recs[i].f[field], value) == 0) {
            return &t->recs[i];
        }
    }
    return NULL;
}

/*  Whether USER is in the comma list MEMBERS. */
static bool
s_in_list(const char *members, const char *user)
{
    size_t ulen = strlen(user);
    for (const char *p = members; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == ulen && strncmp(p, user, len) == 0) {
            return true;
        }
        p += len;
        p += *p == ',';
    }
    return false;
}

/*  A uid or gid: decimal, below (uid_t) -1, which means "none". */
static bool
s_parse_id(const char *text, long long *out)
{
    if (!text || !*text || strlen(text) > 10) {
        return false;
    }
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char) *p)) {
            return false;
        }
    }
    *out = strtoll(text, NULL, 10);
    return *out < 4294967295LL;
}

/*  Names useradd/groupadd accept (Debian's rules, upper case allowed):
    never empty, never starting with '-' (an option) or all digits (a uid). */
static bool
s_name_ok(const char *name)
{
    if (!name || !*name || *name == '-' || strlen(name) > 32) {
        return false;
    }
    bool digits = true;
    for (const char *p = name; *p; p++) {
        bool ok = isalnum((unsigned char) *p) || strchr("_.-", *p) || (*p == '$' && !p[1]);
        if (!ok) {
            return false;
        }
        digits = digits && isdigit((unsigned char) *p);
    }
    return !digits;
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/*  LIST (names separated by commas or blanks) sorted, without duplicates
    or empty entries, joined with commas: two lists compare as sets. */
static char *
s_norm(const char *list)
{
    char **names = NULL;
    size_t n = 0, len = 1;
    for (const char *p = list; p && *p;) {
        p += strspn(p, ", ");
        size_t wlen = strcspn(p, ", ");
        if (wlen) {
            names = fl_realloc(names, (n + 1) * sizeof *names);
            names[n++] = fl_strndup(p, wlen);
            len += wlen + 1;
        }
        p += wlen;
    }
    if (n > 1) {
        qsort(names, n, sizeof *names, s_cmp);
    }
    char *out = fl_malloc(len);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0) {
            off += (size_t) sprintf(out + off, "%s%s", off ? "," : "", names[i]);
        }
    }
    out[off] = '\0';
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return out;
}

/*  ARGS[KEY], a YAML list of names or a comma-separated string, checked
    and normalised (s_norm) into *OUT; NULL when absent. */
static int
s_name_list(const json_t *args, const char *key, char **out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    char *joined = NULL;
    if (json_is_string(v)) {
        joined = fl_strdup(json_string_value(v));
    } else if (json_is_array(v)) {
        joined = fl_strdup("");
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            const char *s = json_string_value(item);
            if (!s || strpbrk(s, ", ")) {
                free(joined);
                joined = NULL;
                break;
            }
            char *more = fl_sprintf("%s%s%s", joined, *joined ? "," : "", s);
            free(joined);
            joined = more;
        }
    }
    if (!joined) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s must be a list of names", key);
        return -1;
    }
    char *list = s_norm(joined);
    free(joined);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        char *one = fl_strndup(p, len);
        bool ok = s_name_ok(one);
        if (!ok) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s: invalid name '%s'", key, one);
        }
        free(one);
        if (!ok) {
            free(list);
            return -1;
        }
        p += len;
        p += *p == ',';
    }
    *out = list;
    return 0;
}

/*  The normalised list of the supplementary groups USER is in. */
static char *
s_user_groups(const s_table_t *groups, const char *user)
{
    char *joined = fl_strdup("");
    for (size_t i = 0; i < groups->n; i++) {
        if (s_in_list(groups->recs[i].f[3], user)) {
            char *more = fl_sprintf("%s,%s", joined, groups->recs[i].f[0]);
            free(joined);
            joined = more;
        }
    }
    char *out = s_norm(joined);
    free(joined);
    return out;
}

/*  A comma list as a JSON array. */
static json_t *
s_list_json(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len) {
            json_array_append_new(a, json_stringn(p, len));
        }
        p += len;
        p += *p == ',';
    }
    return a;
}

/*  Runs a shadow tool; 0 when it exits 0, else fails the state. */
static int
s_tool(fl_run_args_t *a, fl_st_ret_t *ret)
{
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(a->argv, NULL, S_CMD_TIMEOUT_MS, &out, &err);
    if (rc != 0) {
        st_sys_cmd_failed(ret, a->argv, rc, out, err);
    }
    free(out);
    free(err);
    return rc == 0 ? 0 : -1;
}

static void
s_tool_start(fl_run_args_t *a, const char *tool, const char *root)
{
    fl_run_args_add(a, "%s", tool);
    if (*root) {
        fl_run_args_add(a, "--root");
        fl_run_args_add(a, "%s", root);
    }
}

/*  Appends "what" to the comma list *LIST. */
static void
s_note(char **list, const char *what)
{
    char *more = fl_sprintf("%s%s%s", *list, **list ? ", " : "", what);
    free(*list);
    *list = more;
}

/* ---------------------------------------------------------------- user.present */

typedef struct {
    char *uid, *gid, *home, *shell, *password, *fullname;
    char *groups;           /* sorted comma list, NULL = not managed */
    long long uid_n, gid_n; /* gid_n resolved from a name too */
    int createhome, system, remove_groups;
} s_user_args_t;

static void
s_user_args_free(s_user_args_t *u)
{
    free(u->uid);
    free(u->gid);
    free(u->home);
    free(u->shell);
    free(u->password);
    free(u->fullname);
    free(u->groups);
}

static int
s_user_args(const json_t *args, const s_table_t *groups, s_user_args_t *u, fl_st_ret_t *ret)
{
    if (st_sys_arg_text(args, "uid", &u->uid, ret) != 0
        || st_sys_arg_text(args, "gid", &u->gid, ret) != 0
        || st_sys_arg_text(args, "home", &u->home, ret) != 0
        || st_sys_arg_text(args, "shell", &u->shell, ret) != 0
        || st_sys_arg_text(args, "password", &u->password, ret) != 0
        || st_sys_arg_text(args, "fullname", &u->fullname, ret) != 0
        || st_sys_arg_bool(args, "createhome", &u->createhome, ret) != 0
        || st_sys_arg_bool(args, "system", &u->system, ret) != 0
        || st_sys_arg_bool(args, "remove_groups", &u->remove_groups, ret) != 0
        || s_name_list(args, "groups", &u->groups, ret) != 0) {
        return -1;
    }
    ret->result = FL_ST_FALSE;
    if (u->uid && !s_parse_id(u->uid, &u->uid_n)) {
        fl_st_comment(ret, "uid must be a non-negative integer below 4294967295, got '%s'", u->uid);
        return -1;
    }
    if (u->gid) {
        const s_rec_t *g = s_parse_id(u->gid, &u->gid_n) ? s_find(groups, 2, u->gid)
                                                         : s_find(groups, 0, u->gid);
        if (!g) {
            fl_st_comment(ret, "gid %s: no such group in /etc/group", u->gid);
            return -1;
        }
        if (!s_parse_id(g->f[2], &u->gid_n)) {
            fl_st_comment(ret, "group %s has a bad gid '%s' in /etc/group", g->f[0], g->f[2]);
            return -1;
        }
    }
    if (u->home && u->home[0] != '/') {
        fl_st_comment(ret, "home must be an absolute path, got '%s'", u->home);
        return -1;
    }
    if (u->shell && u->shell[0] != '/') {
        fl_st_comment(ret, "shell must be an absolute path, got '%s'", u->shell);
        return -1;
    }
    if ((u->fullname && strchr(u->fullname, ':')) || (u->home && strchr(u->home, ':'))
        || (u->shell && strchr(u->shell, ':')) || (u->password && strchr(u->password, ':'))) {
        fl_st_comment(ret, "fullname, home, shell and password cannot contain ':'");
        return -1;
    }
    char *missing = fl_strdup("");
    for (const char *p = u->groups; p && *p;) {
        size_t len = strcspn(p, ",");
        char *g = fl_strndup(p, len);
        if (!s_find(groups, 0, g)) {
            s_note(&missing, g);
        }
        free(g);
        p += len;
        p += *p == ',';
    }
    if (*missing) {
        fl_st_comment(ret, "The following group(s) are not present: %s", missing);
        free(missing);
        return -1;
    }
    free(missing);
    ret->result = FL_ST_TRUE;
    return 0;
}

/*  The groups the user should end up in: exactly the listed ones, or
    (remove_groups: false) those plus the current ones. */
static char *
s_wanted_groups(const s_user_args_t *u, const char *current)
{
    if (u->remove_groups != 0) {
        return fl_strdup(u->groups);
    }
    char *joined = fl_sprintf("%s,%s", u->groups, current);
    char *out = s_norm(joined);
    free(joined);
    return out;
}

/*  The user's entry as Salt reports a new user. */
static json_t *
s_user_info(const s_rec_t *pw, const s_table_t *groups, bool password)
{
    char *sup = s_user_groups(groups, pw->f[0]);
    json_t *info = json_pack("{s:s, s:I, s:I, s:o, s:s, s:s, s:s}", "name", pw->f[0], "uid",
                             (json_int_t) strtoll(pw->f[2], NULL, 10), "gid",
                             (json_int_t) strtoll(pw->f[3], NULL, 10), "groups", s_list_json(sup),
                             "home", pw->f[5], "shell", pw->f[6], "fullname", pw->f[4]);
    if (!info) {
        info = json_object();   /* a field that is not UTF-8: report no details */
    }
    if (password) {
        json_object_set_new(info, "passwd", json_string(S_REDACTED));
    }
    free(sup);
    return info;
}

void
st_user_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_table_t passwd = { 0 }, groups = { 0 }, shadow = { 0 };
    s_user_args_t u = { .createhome = -1, .system = -1, .remove_groups = -1 };
    char *root = st_sys_root(ctx), *diff = fl_strdup(""), *cur_groups = NULL, *want_groups = NULL;
    fl_run_args_t a = { 0 };
    if (!s_name_ok(name)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid user name '%s'", name ? name : "");
        goto done;
    }
    if (s_table_load(ctx, "/etc/passwd", 7, true, &passwd, ret) != 0
        || s_table_load(ctx, "/etc/group", 4, true, &groups, ret) != 0
        || s_table_load(ctx, "/etc/shadow", 2, false, &shadow, ret) != 0
        || s_user_args(args, &groups, &u, ret) != 0) {
        goto done;
    }
    const s_rec_t *pw = s_find(&passwd, 0, name);
    if (!pw) {
        if (ctx->test) {
            /* what is asked for; useradd picks the rest */
            ret->result = FL_ST_NONE;
            json_object_set_new(ret->changes, "name", json_string(name));
            if (u.uid) {
                json_object_set_new(ret->changes, "uid", json_integer((json_int_t) u.uid_n));
            }
            if (u.gid) {
                json_object_set_new(ret->changes, "gid", json_integer((json_int_t) u.gid_n));
            }
            if (u.groups) {
                json_object_set_new(ret->changes, "groups", s_list_json(u.groups));
            }
            if (u.home) {
                json_object_set_new(ret->changes, "home", json_string(u.home));
            }
            if (u.shell) {
                json_object_set_new(ret->changes, "shell", json_string(u.shell));
            }
            if (u.password) {
                json_object_set_new(ret->changes, "passwd", json_string(S_REDACTED));
            }
            fl_st_comment(ret, "User %s set to be added", name);
            goto done;
        }
        s_tool_start(&a, "useradd", root);
        if (u.uid) {
            fl_run_args_add(&a, "-u");
            fl_run_args_add(&a, "%s", u.uid);
        }
        if (u.gid) {
            fl_run_args_add(&a, "-g");
            fl_run_args_add(&a, "%lld", u.gid_n);
        }
        if (u.groups && *u.groups) {
            fl_run_args_add(&a, "-G");
            fl_run_args_add(&a, "%s", u.groups);
        }
        if (u.home) {
            fl_run_args_add(&a, "-d");
            fl_run_args_add(&a, "%s", u.home);
        }
        if (u.shell) {
            fl_run_args_add(&a, "-s");
            fl_run_args_add(&a, "%s", u.shell);
        }
        if (u.fullname) {
            fl_run_args_add(&a, "-c");
            fl_run_args_add(&a, "%s", u.fullname);
        }
        if (u.password) {
            fl_run_args_add(&a, "-p");
            fl_run_args_add(&a, "%s", u.password);
        }
        if (u.system == 1) {
            fl_run_args_add(&a, "-r");
        }
        /* Salt creates the home unless told not to */
        fl_run_args_add(&a, u.createhome == 0 ? "-M" : "-m");
        fl_run_args_add(&a, "--");
        fl_run_args_add(&a, "%s", name);
        if (s_tool(&a, ret) != 0) {
            goto done;
        }
        s_table_free(&passwd);
        s_table_free(&groups);
        if (s_table_load(ctx, "/etc/passwd", 7, true, &passwd, ret) != 0
            || s_table_load(ctx, "/etc/group", 4, true, &groups, ret) != 0) {
            goto done;
        }
        pw = s_find(&passwd, 0, name);
        if (!pw) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "useradd succeeded but %s is not in /etc/passwd", name);
            goto done;
        }
        json_t *info = s_user_info(pw, &groups, u.password != NULL);
        json_object_update(ret->changes, info);
        json_decref(info);
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "New user %s created", name);
        goto done;
    }

    /* an existing user: what differs */
    json_t *want = json_object();
    if (u.uid && strtoll(pw->f[2], NULL, 10) != u.uid_n) {
        s_note(&diff, "uid");
        json_object_set_new(want, "uid", json_integer((json_int_t) u.uid_n));
    }
    if (u.gid && strtoll(pw->f[3], NULL, 10) != u.gid_n) {
        s_note(&diff, "gid");
        json_object_set_new(want, "gid", json_integer((json_int_t) u.gid_n));
    }
    if (u.home && strcmp(pw->f[5], u.home) != 0) {
        s_note(&diff, "home");
        json_object_set_new(want, "home", json_string(u.home));
    }
    if (u.shell && strcmp(pw->f[6], u.shell) != 0) {
        s_note(&diff, "shell");
        json_object_set_new(want, "shell", json_string(u.shell));
    }
    if (u.fullname && strcmp(pw->f[4], u.fullname) != 0) {
        s_note(&diff, "fullname");
        json_object_set_new(want, "fullname", json_string(u.fullname));
    }
    cur_groups = s_user_groups(&groups, name);
    if (u.groups) {
        want_groups = s_wanted_groups(&u, cur_groups);
        if (strcmp(want_groups, cur_groups) != 0) {
            s_note(&diff, "groups");
            json_object_set_new(want, "groups", s_list_json(want_groups));
        }
    }
    if (u.password) {
        const s_rec_t *sp = s_find(&shadow, 0, name);
        if (!sp || strcmp(sp->f[1], u.password) != 0) {
            s_note(&diff, "password");
            json_object_set_new(want, "passwd", json_string(S_REDACTED));
        }
    }
    if (!*diff) {
        json_decref(want);
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "User %s is present and up to date", name);
        goto done;
    }
    if (ctx->test) {
        json_object_update(ret->changes, want);
        json_decref(want);
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "The following user attributes are set to be changed: %s", diff);
        goto done;
    }
    s_tool_start(&a, "usermod", root);
    if (json_object_get(want, "uid")) {
        fl_run_args_add(&a, "-u");
        fl_run_args_add(&a, "%lld", u.uid_n);
    }
    if (json_object_get(want, "gid")) {
        fl_run_args_add(&a, "-g");
        fl_run_args_add(&a, "%lld", u.gid_n);
    }
    if (json_object_get(want, "home")) {
        fl_run_args_add(&a, "-d");
        fl_run_args_add(&a, "%s", u.home);
    }
    if (json_object_get(want, "shell")) {
        fl_run_args_add(&a, "-s");
        fl_run_args_add(&a, "%s", u.shell);
    }
    if (json_object_get(want, "fullname")) {
        fl_run_args_add(&a, "-c");
        fl_run_args_add(&a, "%s", u.fullname);
    }
    if (json_object_get(want, "groups")) {
        fl_run_args_add(&a, "-G");
        fl_run_args_add(&a, "%s", want_groups);
    }
    if (json_object_get(want, "passwd")) {
        fl_run_args_add(&a, "-p");
        fl_run_args_add(&a, "%s", u.password);
    }
    fl_run_args_add(&a, "--");
    fl_run_args_add(&a, "%s", name);
    json_decref(want);
    if (s_tool(&a, ret) != 0) {
        goto done;
    }
    /* report what the files say now */
    s_table_free(&passwd);
    s_table_free(&groups);
    s_table_free(&shadow);
    if (s_table_load(ctx, "/etc/passwd", 7, true, &passwd, ret) != 0
        || s_table_load(ctx, "/etc/group", 4, true, &groups, ret) != 0
        || s_table_load(ctx, "/etc/shadow", 2, false, &shadow, ret) != 0) {
        goto done;
    }
    pw = s_find(&passwd, 0, name);
    if (!pw) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "usermod succeeded but %s is no longer in /etc/passwd", name);
        goto done;
    }
    json_t *info = s_user_info(pw, &groups, true);
    for (const char *p = diff; *p;) {
        size_t len = strcspn(p, ",");
        char *field = fl_strndup(p, len);
        const char *key = strcmp(field, "password") == 0 ? "passwd" : field;
        json_object_set(ret->changes, key, json_object_get(info, key));
        free(field);
        p += len;
        p += strspn(p, ", ");
    }
    json_decref(info);
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "Updated user %s", name);
done:
    fl_run_args_free(&a);
    free(want_groups);
    free(cur_groups);
    free(diff);
    free(root);
    s_user_args_free(&u);
    s_table_free(&shadow);
    s_table_free(&groups);
    s_table_free(&passwd);
}

/* ---------------------------------------------------------------- user.absent */

void
st_user_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_table_t passwd = { 0 };
    fl_run_args_t a = { 0 };
    int purge = -1, force = -1;
    char *root = st_sys_root(ctx);
    if (!s_name_ok(name)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid user name '%s'", name ? name : "");
        goto done;
    }
    if (st_sys_arg_bool(args, "purge", &purge, ret) != 0
        || st_sys_arg_bool(args, "force", &force, ret) != 0
        || s_table_load(ctx, "/etc/passwd", 7, true, &passwd, ret) != 0) {
        goto done;
    }
    if (!s_find(&passwd, 0, name)) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "User %s is not present", name);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, name, json_string("removed"));
        fl_st_comment(ret, "User %s set for removal", name);
        goto done;
    }
    s_tool_start(&a, "userdel", root);
    if (purge == 1) {
        fl_run_args_add(&a, "-r");
    }
    if (force == 1) {
        fl_run_args_add(&a, "-f");
    }
    fl_run_args_add(&a, "--");
    fl_run_args_add(&a, "%s", name);
    /* userdel -r complains about a missing mail spool or home and still
       removes the user: the file decides */
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(a.argv, NULL, S_CMD_TIMEOUT_MS, &out, &err);
    s_table_free(&passwd);
    if (s_table_load(ctx, "/etc/passwd", 7, true, &passwd, ret) == 0) {
        if (s_find(&passwd, 0, name)) {
            st_sys_cmd_failed(ret, a.argv, rc, out, err);
        } else {
            ret->result = FL_ST_TRUE;
            json_object_set_new(ret->changes, name, json_string("removed"));
            fl_st_comment(ret, "Removed user %s", name);
        }
    }
    free(out);
    free(err);
done:
    fl_run_args_free(&a);
    free(root);
    s_table_free(&passwd);
}

/* ---------------------------------------------------------------- group.present */

/*  Members wanted: members (exact) or the current ones with addusers
    added and delusers taken out. */
static int
s_wanted_members(const json_t *args, const char *current, char **out, fl_st_ret_t *ret)
{
    char *members = NULL, *add = NULL, *del = NULL;
    int rc = -1;
    *out = NULL;
    if (s_name_list(args, "members", &members, ret) != 0
        || s_name_list(args, "addusers", &add, ret) != 0
        || s_name_list(args, "delusers", &del, ret) != 0) {
        goto done;
    }
    if (members && (add || del)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "members cannot be combined with addusers or delusers");
        goto done;
    }
    if (members || add || del) {
        char *joined = members ? fl_strdup(members) : fl_sprintf("%s,%s", current, add ? add : "");
        char *kept = fl_strdup("");
        for (const char *p = joined; *p;) {
            size_t len = strcspn(p, ",");
            char *user = fl_strndup(p, len);
            if (len && !(del && s_in_list(del, user))) {
                s_note(&kept, user);
            }
            free(user);
            p += len;
            p += *p == ',';
        }
        free(joined);
        *out = s_norm(kept);
        free(kept);
        rc = 0;
    } else {
        rc = 0;
    }
done:
    free(members);
    free(add);
    free(del);
    return rc;
}

/*  The group's members, sorted, as a comma list. */
static char *
s_members(const s_rec_t *gr)
{
    return s_norm(gr->f[3]);
}

void
st_group_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_table_t passwd = { 0 }, groups = { 0 };
    fl_run_args_t a = { 0 };
    char *root = st_sys_root(ctx), *gid = NULL, *cur_members = NULL, *want_members = NULL;
    char *missing = fl_strdup("");
    int system = -1;
    long long gid_n = 0;
    if (!s_name_ok(name)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid group name '%s'", name ? name : "");
        goto done;
    }
    if (st_sys_arg_text(args, "gid", &gid, ret) != 0
        || st_sys_arg_bool(args, "system", &system, ret) != 0
        || s_table_load(ctx, "/etc/passwd", 7, true, &passwd, ret) != 0
        || s_table_load(ctx, "/etc/group", 4, true, &groups, ret) != 0) {
        goto done;
    }
    if (gid && !s_parse_id(gid, &gid_n)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "gid must be a non-negative integer below 4294967295, got '%s'", gid);
        goto done;
    }
    const s_rec_t *gr = s_find(&groups, 0, name);
    cur_members = gr ? s_members(gr) : fl_strdup("");
    if (s_wanted_members(args, cur_members, &want_members, ret) != 0) {
        goto done;
    }
    for (const char *p = want_members; p && *p;) {
        size_t len = strcspn(p, ",");
        char *user = fl_strndup(p, len);
        if (!s_find(&passwd, 0, user)) {
            s_note(&missing, user);
        }
        free(user);
        p += len;
        p += *p == ',';
    }
    if (*missing) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "The following users are not present: %s", missing);
        goto done;
    }
    bool gid_diff = gr && gid && strtoll(gr->f[2], NULL, 10) != gid_n;
    bool members_diff = want_members && strcmp(want_members, cur_members) != 0;
    if (gr && !gid_diff && !members_diff) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Group %s is present and up to date", name);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        if (!gr) {
            json_object_set_new(ret->changes, "name", json_string(name));
        }
        if (gid && (!gr || gid_diff)) {
            json_object_set_new(ret->changes, "gid", json_integer((json_int_t) gid_n));
        }
        if (members_diff) {
            json_object_set_new(ret->changes, "members", s_list_json(want_members));
        }
        fl_st_comment(ret, gr ? "Group %s is set to be updated" : "Group %s set to be added", name);
        goto done;
    }
    if (!gr || gid_diff) {
        s_tool_start(&a, gr ? "groupmod" : "groupadd", root);
        if (gid) {
            fl_run_args_add(&a, "-g");
            fl_run_args_add(&a, "%lld", gid_n);
        }
        if (!gr && system == 1) {
            fl_run_args_add(&a, "-r");
        }
        fl_run_args_add(&a, "--");
        fl_run_args_add(&a, "%s", name);
        if (s_tool(&a, ret) != 0) {
            goto done;
        }
        fl_run_args_free(&a);
    }
    if (members_diff) {
        s_tool_start(&a, "gpasswd", root);
        fl_run_args_add(&a, "-M");
        fl_run_args_add(&a, "%s", want_members);
        fl_run_args_add(&a, "%s", name);
        if (s_tool(&a, ret) != 0) {
            goto done;
        }
    }
    s_table_free(&groups);
    if (s_table_load(ctx, "/etc/group", 4, true, &groups, ret) != 0) {
        goto done;
    }
    const s_rec_t *now = s_find(&groups, 0, name);
    if (!now) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "groupadd succeeded but %s is not in /etc/group", name);
        goto done;
    }
    char *members_now = s_members(now);
    if (!gr) {
        json_object_set_new(ret->changes, "name", json_string(name));
    }
    if (!gr || gid_diff) {
        json_object_set_new(ret->changes, "gid",
                            json_integer((json_int_t) strtoll(now->f[2], NULL, 10)));
    }
    if (!gr || members_diff) {
        json_object_set_new(ret->changes, "members", s_list_json(members_now));
    }
    free(members_now);
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, gr ? "Updated group %s" : "New group %s created", name);
done:
    fl_run_args_free(&a);
    free(missing);
    free(want_members);
    free(cur_members);
    free(gid);
    free(root);
    s_table_free(&groups);
    s_table_free(&passwd);
}
