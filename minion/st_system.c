/*  st_system.c: timezone.system, locale.system, keyboard.system and
    sysctl.present, plus the helpers the system state modules share
    (st_sys.h).

    Each of the first three is the content of one or two files Debian keeps
    the setting in (/etc/timezone + /etc/localtime, /etc/default/locale,
    /etc/default/keyboard), so they are written directly under the root
    rather than through timedatectl/localectl, which would need a running
    systemd and cannot aim at a root directory.  Lines we do not manage are
    kept as they are. */
#include "st_sys.h"
#include "fl_run.h"
#include "fl_util.h"

#include <sys/stat.h>
#include <unistd.h>

/*  The largest file we read: /etc/passwd of a big host stays far below. */
#define S_MAX_FILE (16 * 1024 * 1024)
/*  How much of a failed command's output goes into the comment. */
#define S_MAX_CMD_OUTPUT 1500
#define S_SYSCTL_TIMEOUT_MS 10000
#define S_SYSCTL_CONFIG "/etc/sysctl.d/99-fleet.conf"

/* ---------------------------------------------------------------- helpers */

char *
st_sys_root(const fl_st_ctx_t *ctx)
{
    const char *root = ctx->root_dir ? ctx->root_dir : "";
    size_t len = strlen(root);
    while (len > 0 && root[len - 1] == '/') {
        len--;
    }
    return fl_strndup(root, len);
}

int
st_sys_arg_text(const json_t *args, const char *key, char **out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v) || strchr(s, '\n')) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s must not contain NUL or newline characters", key);
            return -1;
        }
        *out = fl_strdup(s);
        return 0;
    }
    if (json_is_integer(v)) {
        *out = fl_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 0;
    }
    if (json_is_real(v)) {
        /* "version: 2.0" arrives as a real; JSON's spelling keeps the ".0" */
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        *out = fl_strdup(s ? s : "");
        free(s);
        return 0;
    }
    ret->result = FL_ST_FALSE;
    fl_st_comment(ret, "%s must be a string or a number", key);
    return -1;
}

int
st_sys_arg_bool(const json_t *args, const char *key, int *out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = -1;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s must be true or false", key);
        return -1;
    }
    *out = json_is_true(v) ? 1 : 0;
    return 0;
}

int
st_sys_read(const char *path, char **text, fl_st_ret_t *ret)
{
    *text = fl_file_read(path, S_MAX_FILE, NULL);
    if (*text || errno == ENOENT || errno == ENOTDIR) {
        return 0;
    }
    ret->result = FL_ST_FALSE;
    fl_st_comment(ret, "cannot read %s: %s", path, strerror(errno));
    return -1;
}

int
st_sys_write(const char *path, const char *text, mode_t mode, fl_st_ret_t *ret)
{
    char *dir = fl_path_dirname(path);
    int rc = fl_mkdir_p(dir, 0755);
    free(dir);
    if (rc == 0) {
        rc = fl_file_write_atomic(path, text, strlen(text), mode);
    }
    if (rc != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/*  S without trailing whitespace; at most the last MAX bytes of it. */
static char *
s_tail(const char *s, size_t max)
{
    size_t len = strlen(s);
    while (len > 0 && strchr(" \t\r\n", s[len - 1])) {
        len--;
    }
    size_t start = len > max ? len - max : 0;
    return fl_sprintf("%s%.*s", start ? "..." : "", (int) (len - start), s + start);
}

void
st_sys_cmd_failed(fl_st_ret_t *ret, char *const argv[], int rc, const char *out,
                  const char *err)
{
    char *cmd = fl_run_text(argv);
    const char *what = err && strspn(err, " \t\r\n") != strlen(err) ? err : out ? out : "";
    char *tail = s_tail(what, S_MAX_CMD_OUTPUT);
    ret->result = FL_ST_FALSE;
    if (rc == FL_RUN_NOEXEC || rc < 0) {
        fl_st_comment(ret, "%s", tail);
    } else {
        fl_st_comment(ret, "'%s' failed with status %d%s%s", cmd, rc, *tail ? ": " : "", tail);
    }
    free(tail);
    free(cmd);
}

/*  Trims S in place. */
static char *
s_trim(char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t len = strlen(s);
    while (len > 0 && strchr(" \t\r\n", s[len - 1])) {
        s[--len] = '\0';
    }
    return s;
}

/*  Whether NAME is non-empty and made only of characters in ALLOWED (and
    alphanumerics): it goes into a file line we parse back. */
static bool
s_name_ok(const char *name, const char *allowed)
{
    if (!name || !*name) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                     || (*p >= '0' && *p <= '9');
        if (!alnum && !strchr(allowed, *p)) {
            return false;
        }
    }
    return true;
}

/*  The value of the shell-style assignment KEY=VALUE in TEXT (quotes
    removed; the last one wins, as when the shell sources it), or NULL.
    Caller frees. */
static char *
s_var_get(const char *text, const char *key)
{
    char *value = NULL;
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        const char *p = line;
        while (p < line + len && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (strncmp(p, "export ", 7) == 0) {
            p += 7;
        }
        if ((size_t) (line + len - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *start = p + klen + 1;
            char *v = fl_strndup(start, (size_t) (line + len - start));
            char *t = s_trim(v);
            size_t tlen = strlen(t);
            if (tlen >= 2 && (t[0] == '"' || t[0] == '\'') && t[tlen - 1] == t[0]) {
                t[tlen - 1] = '\0';
                t++;
            }
            free(value);
            value = fl_strdup(t);
            free(v);
        }
        line = end ? end + 1 : NULL;
    }
    return value;
}

/*  TEXT with every line assigning KEY replaced by LINE (the first keeps
    its place, later ones go), or LINE appended.  Caller frees. */
static char *
s_var_set(const char *text, const char *key, const char *line_new)
{
    size_t klen = strlen(key);
    size_t cap = (text ? strlen(text) : 0) + strlen(line_new) + 2;
    char *out = fl_malloc(cap + 1);
    size_t off = 0;
    bool placed = false;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        const char *p = line;
        while (p < line + len && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (strncmp(p, "export ", 7) == 0) {
            p += 7;
        }
        bool match = (size_t) (line + len - p) > klen && strncmp(p, key, klen) == 0
                     && p[klen] == '=';
        if (!match) {
            memcpy(out + off, line, len);
            off += len;
            out[off++] = '\n';
        } else if (!placed) {
            off += (size_t) sprintf(out + off, "%s\n", line_new);
            placed = true;
        }
        line = end ? end + 1 : NULL;
    }
    if (!placed) {
        off += (size_t) sprintf(out + off, "%s\n", line_new);
    }
    out[off] = '\0';
    return out;
}

/*  The shared shape of locale.system and keyboard.system: one KEY=VALUE
    line in FILE under the root. */
static void
s_var_state(const fl_st_ctx_t *ctx, fl_st_ret_t *ret, const char *file, const char *key,
            const char *line_new, const char *value, const char *change_key, const char *what)
{
    char *path = fl_st_path(ctx, file);
    char *text = NULL;
    if (st_sys_read(path, &text, ret) != 0) {
        free(path);
        return;
    }
    char *current = s_var_get(text, key);
    if (current && strcmp(current, value) == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "%s %s is already set", what, value);
    } else if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, change_key, json_string(value));
        fl_st_comment(ret, "%s %s would be set in %s", what, value, file);
    } else {
        char *updated = s_var_set(text, key, line_new);
        if (st_sys_write(path, updated, 0644, ret) == 0) {
            ret->result = FL_ST_TRUE;
            json_object_set_new(ret->changes, change_key, json_string(value));
            fl_st_comment(ret, "%s set to %s", what, value);
        }
        free(updated);
    }
    free(current);
    free(text);
    free(path);
}

/* ---------------------------------------------------------------- timezone */

static bool
s_zone_exists(const fl_st_ctx_t *ctx, const char *zone)
{
    char *rel = fl_sprintf("/usr/share/zoneinfo/%s", zone);
    char *in_root = fl_st_path(ctx, rel);
    struct stat st;
    bool found = (stat(in_root, &st) == 0 && S_ISREG(st.st_mode))
                 || (stat(rel, &st) == 0 && S_ISREG(st.st_mode));
    free(in_root);
    free(rel);
    return found;
}

/*  /etc/localtime points at the zone the way Debian links it (absolute),
    or relatively (as systemd does). */
static bool
s_link_ok(const char *target, const char *zone)
{
    const char *rel = target;
    while (strncmp(rel, "../", 3) == 0) {
        rel += 3;
    }
    if (rel != target) {
        return strncmp(rel, "usr/share/zoneinfo/", 19) == 0 && strcmp(rel + 19, zone) == 0;
    }
    return strncmp(target, "/usr/share/zoneinfo/", 20) == 0 && strcmp(target + 20, zone) == 0;
}

void
st_timezone_system(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    FL_UNUSED(args);
    if (!s_name_ok(name, "_+-/") || name[0] == '/' || strstr(name, "..")) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid timezone name '%s' (want a zone such as Europe/Berlin)",
                      name ? name : "");
        return;
    }
    if (!s_zone_exists(ctx, name)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unknown timezone '%s': no such zone in /usr/share/zoneinfo", name);
        return;
    }
    char *tz_path = fl_st_path(ctx, "/etc/timezone");
    char *lt_path = fl_st_path(ctx, "/etc/localtime");
    char *target = fl_sprintf("/usr/share/zoneinfo/%s", name);
    char *text = NULL;
    if (st_sys_read(tz_path, &text, ret) != 0) {
        goto done;
    }
    bool tz_ok = text && strcmp(s_trim(text), name) == 0;
    char link[4096];
    ssize_t n = readlink(lt_path, link, sizeof link - 1);
    bool link_ok = false;
    if (n >= 0) {
        link[n] = '\0';
        link_ok = s_link_ok(link, name);
    }
    if (tz_ok && link_ok) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Timezone %s already set", name);
        goto done;
    }
    json_object_set_new(ret->changes, "timezone", json_string(name));
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "Timezone %s needs to be set", name);
        goto done;
    }
    if (!tz_ok) {
        char *line = fl_sprintf("%s\n", name);
        int rc = st_sys_write(tz_path, line, 0644, ret);
        free(line);
        if (rc != 0) {
            json_object_clear(ret->changes);
            goto done;
        }
    }
    if (!link_ok) {
        /* a new link renamed over the old one: never a moment without */
        char *tmp = fl_sprintf("%s.fleet-new", lt_path);
        unlink(tmp);
        if (symlink(target, tmp) != 0 || rename(tmp, lt_path) != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "cannot link %s to %s: %s", lt_path, target, strerror(errno));
            unlink(tmp);
            free(tmp);
            json_object_clear(ret->changes);
            goto done;
        }
        free(tmp);
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "Set timezone %s", name);
done:
    free(text);
    free(target);
    free(lt_path);
    free(tz_path);
}

/* ---------------------------------------------------------------- locale, keyboard */

void
st_locale_system(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    FL_UNUSED(args);
    if (!s_name_ok(name, "_.@-")) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid locale name '%s' (want one such as en_US.UTF-8)",
                      name ? name : "");
        return;
    }
    char *line = fl_sprintf("LANG=%s", name);
    s_var_state(ctx, ret, "/etc/default/locale", "LANG", line, name, "locale", "System locale");
    free(line);
}

void
st_keyboard_system(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    FL_UNUSED(args);
    if (!s_name_ok(name, ",_-")) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid keyboard layout '%s' (want an XKB layout such as de or us,de)",
                      name ? name : "");
        return;
    }
    char *line = fl_sprintf("XKBLAYOUT=\"%s\"", name);
    s_var_state(ctx, ret, "/etc/default/keyboard", "XKBLAYOUT", line, name, "layout",
                "Keyboard layout");
    free(line);
}

/* ---------------------------------------------------------------- sysctl */

/*  S with runs of blanks made one space: sysctl prints "4096\t87380". */
static char *
s_squeeze(const char *s)
{
    char *out = fl_malloc(strlen(s) + 1);
    size_t o = 0;
    bool blank = false;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            blank = o > 0;
            continue;
        }
        if (blank) {
            out[o++] = ' ';
            blank = false;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

/*  The value KEY has in a sysctl.conf text ("key = value" lines, '#' and
    ';' comments), or NULL; caller frees. */
static char *
s_sysctl_get(const char *text, const char *key)
{
    char *value = NULL;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        char *copy = fl_strndup(line, len);
        char *t = s_trim(copy);
        char *eq = strchr(t, '=');
        if (*t != '#' && *t != ';' && eq) {
            *eq = '\0';
            if (strcmp(s_trim(t), key) == 0) {
                free(value);
                value = s_squeeze(eq + 1);
            }
        }
        free(copy);
        line = end ? end + 1 : NULL;
    }
    return value;
}

/*  TEXT with KEY's lines replaced by "KEY = VALUE" (or it appended). */
static char *
s_sysctl_set(const char *text, const char *key, const char *value)
{
    char *line_new = fl_sprintf("%s = %s", key, value);
    size_t cap = (text ? strlen(text) : 0) + strlen(line_new) + 2;
    char *out = fl_malloc(cap + 1);
    size_t off = 0;
    bool placed = false;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen(line);
        char *copy = fl_strndup(line, len);
        char *t = s_trim(copy);
        char *eq = strchr(t, '=');
        bool match = false;
        if (*t != '#' && *t != ';' && eq) {
            *eq = '\0';
            match = strcmp(s_trim(t), key) == 0;
        }
        free(copy);
        if (!match) {
            memcpy(out + off, line, len);
            off += len;
            out[off++] = '\n';
        } else if (!placed) {
            off += (size_t) sprintf(out + off, "%s\n", line_new);
            placed = true;
        }
        line = end ? end + 1 : NULL;
    }
    if (!placed) {
        off += (size_t) sprintf(out + off, "%s\n", line_new);
    }
    out[off] = '\0';
    free(line_new);
    return out;
}

/*  The running value of KEY (root "" only) into *OUT; -1 fails the state
    (an unknown key above all). */
static int
s_sysctl_running(const char *key, char **value_out, fl_st_ret_t *ret)
{
    char *argv[] = { "sysctl", "-n", "-e", (char *) key, NULL };
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(argv, NULL, S_SYSCTL_TIMEOUT_MS, &out, &err);
    *value_out = NULL;
    if (rc != 0) {
        st_sys_cmd_failed(ret, argv, rc, out, err);
    } else if (strspn(out, " \t\n") == strlen(out)) {
        /* -e: sysctl stays quiet on an unknown key, we say it plainly */
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unknown sysctl key '%s' (not in /proc/sys)", key);
        rc = -1;
    } else {
        *value_out = s_squeeze(out);
    }
    free(out);
    free(err);
    return rc == 0 ? 0 : -1;
}

void
st_sysctl_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *value_arg = NULL, *config = NULL, *root = st_sys_root(ctx);
    char *path = NULL, *text = NULL, *file_value = NULL, *running = NULL, *value = NULL;
    if (st_sys_arg_text(args, "value", &value_arg, ret) != 0
        || st_sys_arg_text(args, "config", &config, ret) != 0) {
        goto done;
    }
    if (!s_name_ok(name, "._-/*:")) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid sysctl key '%s'", name ? name : "");
        goto done;
    }
    if (!value_arg) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "sysctl.present %s: value is required", name);
        goto done;
    }
    value = s_squeeze(value_arg);
    if (config && config[0] != '/') {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "config must be an absolute path, got '%s'", config);
        goto done;
    }
    const char *file = config ? config : S_SYSCTL_CONFIG;
    path = fl_st_path(ctx, file);
    if (st_sys_read(path, &text, ret) != 0) {
        goto done;
    }
    file_value = s_sysctl_get(text, name);
    /* the kernel's value is only ours to look at (and set) on the real system */
    if (!*root && s_sysctl_running(name, &running, ret) != 0) {
        goto done;
    }
    bool file_ok = file_value && strcmp(file_value, value) == 0;
    bool run_ok = *root || strcmp(running, value) == 0;
    if (file_ok && run_ok) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Sysctl value %s = %s is already set", name, value);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, name, json_string(value));
        fl_st_comment(ret, "Sysctl value %s would be set to %s", name, value);
        goto done;
    }
    if (!file_ok) {
        char *updated = s_sysctl_set(text, name, value);
        int rc = st_sys_write(path, updated, 0644, ret);
        free(updated);
        if (rc != 0) {
            goto done;
        }
    }
    if (!run_ok) {
        char *assign = fl_sprintf("%s=%s", name, value);
        char *argv[] = { "sysctl", "-w", assign, NULL };
        char *out = NULL, *err = NULL;
        int rc = fl_run_argv(argv, NULL, S_SYSCTL_TIMEOUT_MS, &out, &err);
        if (rc != 0) {
            st_sys_cmd_failed(ret, argv, rc, out, err);
        }
        free(out);
        free(err);
        free(assign);
        if (rc != 0) {
            goto done;
        }
    }
    ret->result = FL_ST_TRUE;
    json_object_set_new(ret->changes, name, json_string(value));
    fl_st_comment(ret, "Updated sysctl value %s = %s", name, value);
done:
    free(value);
    free(running);
    free(file_value);
    free(text);
    free(path);
    free(config);
    free(value_arg);
    free(root);
}
