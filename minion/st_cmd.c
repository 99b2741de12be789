/*  st_cmd.c: the cmd.run state, and the shell runner behind the runner's
    unless/onlyif.

    Salt's cmd.run state hands NAME to a shell, so this one does too:
    /bin/sh -c NAME.  The execution itself (process group, timeout kill,
    capped output read with poll, UTF-8 clean-up) is mod_cmd_run's, given
    the argv ["/bin/sh", "-c", NAME].  runas= forks a child that drops to
    the user (initgroups, setgid, setuid: in that order, while still root)
    and calls mod_cmd_run there; the child sends the result back as JSON
    over a pipe.  So the command never runs with privileges the user does
    not have, and the supervision code exists once. */
#include "st_core.h"
#include "fl_mods.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/*  The result JSON a runas child may send: mod_cmd_run caps each stream at
    MOD_CMD_MAX_OUTPUT, escaping can grow it up to 6 times. */
#define S_RUNAS_MAX_JSON (16 * MOD_CMD_MAX_OUTPUT)

int
st_cmd_shell(const char *cmdline)
{
    json_t *args = json_pack("[s,s,s]", "/bin/sh", "-c", cmdline);
    json_t *kwargs = json_object();
    json_t *out = NULL;
    int rc = mod_cmd_run(NULL, args, kwargs, &out);
    json_decref(out);
    json_decref(args);
    json_decref(kwargs);
    return rc;
}

/*  A scalar as Python's str() spells it: Salt passes env values through
    str(), so `DEBUG: True` becomes "True".  NULL for structures. */
static char *
s_text(const json_t *v)
{
    if (json_is_string(v)) {
        return fl_strdup(json_string_value(v));
    }
    if (json_is_true(v)) {
        return fl_strdup("True");
    }
    if (json_is_false(v)) {
        return fl_strdup("False");
    }
    if (json_is_null(v)) {
        return fl_strdup("None");
    }
    if (json_is_number(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        char *copy = fl_strdup(s ? s : "");
        free(s);
        return copy;
    }
    return NULL;
}

static int
s_env_set(json_t *env, const char *key, const json_t *value, fl_st_ret_t *ret)
{
    char *text = s_text(value);
    if (!text || !*key || strchr(key, '=')) {
        free(text);
        fl_st_comment(ret, "cmd.run: env: bad entry '%s' (want NAME: VALUE, VALUE a scalar)", key);
        return -1;
    }
    json_object_set_new(env, key, json_string(text));
    free(text);
    return 0;
}

/*  Salt's env: a mapping, or a list of one-key mappings (what YAML gives
    for `- NAME: value` lines); "NAME=VALUE" strings are taken too. */
static json_t *
s_env_parse(const json_t *v, fl_st_ret_t *ret)
{
    json_t *env = json_object();
    const char *key;
    json_t *value;
    if (json_is_object(v)) {
        json_object_foreach((json_t *) v, key, value) {
            if (s_env_set(env, key, value, ret) != 0) {
                goto fail;
            }
        }
        return env;
    }
    if (!json_is_array(v)) {
        fl_st_comment(ret, "cmd.run: env must be a mapping or a list of one-key mappings");
        goto fail;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (json_is_object(item)) {
            json_object_foreach(item, key, value) {
                if (s_env_set(env, key, value, ret) != 0) {
                    goto fail;
                }
            }
        } else if (json_is_string(item) && strchr(json_string_value(item), '=')) {
            const char *kv = json_string_value(item);
            const char *eq = strchr(kv, '=');
            char *name = fl_strndup(kv, (size_t) (eq - kv));
            json_t *val = json_string(eq + 1);
            int rc = s_env_set(env, name, val, ret);
            json_decref(val);
            free(name);
            if (rc != 0) {
                goto fail;
            }
        } else {
            fl_st_comment(ret, "cmd.run: env: list items must be one-key mappings (NAME: VALUE)");
            goto fail;
        }
    }
    return env;
fail:
    json_decref(env);
    return NULL;
}

static bool
s_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

typedef struct {
    char *user;
    uid_t uid;
    gid_t gid;
    char *home;
} s_runas_t;

/*  Writes all of BUF to FD; -1 on error. */
static int
s_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t) n;
    }
    return 0;
}

/*  In the forked child: drop to the user, run, send the result as JSON.
    Never returns. */
static void __attribute__((noreturn))
s_runas_child(const s_runas_t *ru, const json_t *argv, const json_t *kwargs, int fd)
{
    json_t *out = NULL;
    if (initgroups(ru->user, ru->gid) != 0 || setgid(ru->gid) != 0 || setuid(ru->uid) != 0) {
        char *msg = fl_sprintf("cmd.run: cannot switch to user '%s': %s", ru->user,
                               strerror(errno));
        out = json_string(msg);
        free(msg);
    } else {
        /* from here on the user's privileges only: setuid(0) must fail */
        (void) mod_cmd_run(NULL, argv, kwargs, &out);
    }
    char *text = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = text ? s_write_all(fd, text, strlen(text)) : -1;
    _exit(rc == 0 ? 0 : 1);
}

/*  Runs ARGV as RU in a forked child; returns the child's result (a
    mod_cmd_run object, or a message string). */
static json_t *
s_runas_exec(const s_runas_t *ru, const json_t *argv, const json_t *kwargs)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return json_sprintf("cmd.run: pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        return json_sprintf("cmd.run: fork: %s", strerror(saved));
    }
    if (pid == 0) {
        close(fds[0]);
        s_runas_child(ru, argv, kwargs, fds[1]);
    }
    close(fds[1]);
    size_t len = 0, cap = 65536;
    char *buf = fl_malloc(cap);
    bool too_big = false;
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= S_RUNAS_MAX_JSON) {
                too_big = true;
                break;
            }
            cap *= 2;
            buf = fl_realloc(buf, cap);
        }
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    close(fds[0]);
    int status = 0;
    if (too_big) {
        kill(pid, SIGKILL);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        continue;
    }
    buf[len] = '\0';
    json_t *out = too_big ? NULL : json_loads(buf, JSON_DECODE_ANY, NULL);
    free(buf);
    if (!out) {
        out = json_sprintf("cmd.run: the command's runas helper failed (status %d)", status);
    }
    return out;
}

static int
s_runas_lookup(const char *user, s_runas_t *ru, fl_st_ret_t *ret)
{
    if (geteuid() != 0) {
        fl_st_comment(ret, "cmd.run: runas '%s' needs the minion to run as root", user);
        return -1;
    }
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fl_st_comment(ret, "User '%s' is not available", user);
        return -1;
    }
    ru->user = fl_strdup(pw->pw_name);
    ru->uid = pw->pw_uid;
    ru->gid = pw->pw_gid;
    ru->home = fl_strdup(pw->pw_dir ? pw->pw_dir : "/");
    return 0;
}

void
st_cmd_run(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    ret->result = FL_ST_FALSE;
    if (!name || !*name) {
        fl_st_comment(ret, "cmd.run: no command given");
        return;
    }
    if (json_is_true(json_object_get(args, "stateful"))) {
        fl_st_comment(ret, "cmd.run: stateful is not supported");
        return;
    }
    const json_t *env_arg = json_object_get(args, "env");
    const json_t *runas_arg = json_object_get(args, "runas");
    const json_t *cwd_arg = json_object_get(args, "cwd");
    const json_t *timeout = json_object_get(args, "timeout");
    if (runas_arg && !json_is_null(runas_arg) && !json_is_string(runas_arg)) {
        fl_st_comment(ret, "cmd.run: runas must be a user name");
        return;
    }
    if (cwd_arg && !json_is_null(cwd_arg) && !json_is_string(cwd_arg)) {
        fl_st_comment(ret, "cmd.run: cwd must be a directory name");
        return;
    }
    const char *runas = json_string_value(runas_arg);
    const char *cwd = json_string_value(cwd_arg);
    json_t *env = env_arg && !json_is_null(env_arg) ? s_env_parse(env_arg, ret) : json_object();
    if (!env) {
        return;
    }
    s_runas_t ru = { 0 };
    json_t *argv = NULL, *kwargs = NULL, *out = NULL;
    if (runas && *runas && s_runas_lookup(runas, &ru, ret) != 0) {
        goto done;
    }
    if (cwd && !s_is_dir(cwd)) {
        fl_st_comment(ret, "Desired working directory \"%s\" is not available", cwd);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "Command \"%s\" would have been executed", name);
        goto done;
    }

    /* Salt runs in the user's home unless told otherwise */
    const char *home = ru.user ? ru.home : getenv("HOME");
    if (!cwd && s_is_dir(home)) {
        cwd = home;
    }
    if (ru.user) {
        /* the user's identity, not the minion's, unless env says otherwise */
        const char *const keys[] = { "HOME", "USER", "LOGNAME" };
        const char *const values[] = { ru.home, ru.user, ru.user };
        for (size_t i = 0; i < FL_ARRAY_LEN(keys); i++) {
            if (!json_object_get(env, keys[i])) {
                json_object_set_new(env, keys[i], json_string(values[i]));
            }
        }
    }
    argv = json_pack("[s,s,s]", "/bin/sh", "-c", name);
    kwargs = json_object();
    if (json_object_size(env) > 0) {
        json_object_set(kwargs, "env", env);
    }
    if (cwd) {
        json_object_set_new(kwargs, "cwd", json_string(cwd));
    }
    if (timeout && !json_is_null(timeout)) {
        json_object_set(kwargs, "timeout", (json_t *) timeout);
    }
    if (ru.user) {
        out = s_runas_exec(&ru, argv, kwargs);
    } else {
        (void) mod_cmd_run(NULL, argv, kwargs, &out);
    }
    if (!json_is_object(out)) {
        fl_st_comment(ret, "%s", json_is_string(out) ? json_string_value(out)
                                                     : "cmd.run: the command did not run");
        goto done;
    }
    json_object_update(ret->changes, out);
    ret->result = json_integer_value(json_object_get(out, "retcode")) == 0 ? FL_ST_TRUE
                                                                           : FL_ST_FALSE;
    fl_st_comment(ret, "Command \"%s\" run", name);
done:
    json_decref(out);
    json_decref(argv);
    json_decref(kwargs);
    json_decref(env);
    free(ru.user);
    free(ru.home);
}
