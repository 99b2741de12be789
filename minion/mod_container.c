/*  mod_container.c: container.* execution functions, Salt's docker.*
    module in small, over the container driver (fl_container.h) and its
    Docker Engine API backend.

    Each handler opens a driver on ctx->container_socket, makes one to four
    calls and shapes the answer the way Salt does (lists and mappings with
    lower-case keys, the engine's own inspect document where Salt returns
    it).  Failures come back as retcode 1 with one line of text:
    "container.run: engine: no such image: ...", "container.stop: no such
    container: web", "container.list: cannot reach the container engine at
    /var/run/docker.sock: No such file or directory".

    Arguments arrive as YAML from states or as text from the command line,
    so the list-like ones (command, environment, binds) also take a string:
    a command is split on white space, environment and binds on commas, as
    Salt's docker module does.  Unknown keyword arguments are refused, so a
    misspelt restart_policy= cannot quietly start a container without it. */
#include "mod_container.h"
#include "fl_container.h"
#include "fl_json.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>

#define S_DEFAULT_SOCKET "/var/run/docker.sock"
#define S_LOGS_TAIL 100

/*  One handler's connection to the engine. */
typedef struct {
    const char *fn;                 /* "container.run", for messages */
    fl_container_t *driver;
    const fl_container_ops_t *ops;
    void *impl;
} s_session_t;

static const char *
s_socket(const fl_mod_ctx_t *ctx)
{
    return ctx && ctx->container_socket && *ctx->container_socket ? ctx->container_socket
                                                                  : S_DEFAULT_SOCKET;
}

bool
mod_container_available(const fl_mod_ctx_t *ctx)
{
    return fl_container_available(s_socket(ctx));
}

/*  TEXT as a JSON string: an engine's or a container's bytes need not be
    UTF-8, and jansson takes nothing else, so invalid sequences become
    U+FFFD (as Python's errors="replace"), and NUL bytes too. */
static json_t *
s_text_json(const char *text, size_t len)
{
    json_t *v = json_stringn(text, len);
    if (v && !memchr(text, '\0', len)) {
        return v;
    }
    json_decref(v);
    char *out = fl_malloc(3 * len + 1);
    const unsigned char *p = (const unsigned char *) text;
    size_t o = 0, i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0x01 && c < 0x80) {
            need = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            need = SIZE_MAX;    /* NUL, a continuation byte, or never valid */
        }
        bool ok = need != SIZE_MAX && need < len - i;
        for (size_t k = 1; ok && k <= need; k++) {
            unsigned b = p[i + k];
            ok = k == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xBF;
        }
        if (ok) {
            memcpy(out + o, p + i, need + 1);
            o += need + 1;
            i += need + 1;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
        }
    }
    v = json_stringn(out, o);
    free(out);
    return v;
}

static int s_fail(json_t **ret, const char *fmt, ...) FL_PRINTF(2, 3);

/*  Sets *RET to the message and returns the failure retcode, 1. */
static int
s_fail(json_t **ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    *ret = s_text_json(msg, strlen(msg));
    free(msg);
    return 1;
}

/*  The driver's message ERR (freed) as the handler's failure. */
static int
s_fail_err(const s_session_t *s, json_t **ret, char *err)
{
    int rc = s_fail(ret, "%s: %s", s->fn, err ? err : "failed");
    free(err);
    return rc;
}

/*  Checks KWARGS against KNOWN (NULL-terminated) and opens the driver. */
static int
s_begin(s_session_t *s, const char *fn, const fl_mod_ctx_t *ctx, const json_t *kwargs,
        const char *const *known, const char *known_text, json_t **ret)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) kwargs, key, value) {
        bool ok = false;
        for (size_t i = 0; known && known[i] && !ok; i++) {
            ok = strcmp(key, known[i]) == 0;
        }
        if (!ok) {
            return s_fail(ret, "%s: unknown keyword argument '%s' (known: %s)", fn, key,
                          known_text);
        }
    }
    s->driver = fl_container_new(fl_container_docker_ops(), s_socket(ctx));
    if (!s->driver) {
        return s_fail(ret, "%s: cannot set up the container driver (libcurl)", fn);
    }
    s->ops = fl_container_ops(s->driver);
    s->impl = fl_container_impl(s->driver);
    return 0;
}

static void
s_end(s_session_t *s)
{
    fl_container_destroy(&s->driver);
}

/*  Positional argument INDEX, a non-empty string naming WHAT. */
static const char *
s_arg_name(const s_session_t *s, const json_t *args, size_t index, const char *what,
           json_t **ret)
{
    const char *v = json_string_value(json_array_get(args, index));
    if (!v || !*v || strlen(v) != json_string_length(json_array_get(args, index))) {
        s_fail(ret, "%s: %s must be a non-empty string", s->fn, what);
        return NULL;
    }
    return v;
}

/*  A scalar as text: strings as they are, numbers as JSON spells them,
    true/false, null as "".  NULL for a list or a mapping. */
static char *
s_scalar_text(const json_t *v)
{
    if (json_is_string(v)) {
        return fl_strndup(json_string_value(v), json_string_length(v));
    }
    if (json_is_null(v)) {
        return fl_strdup("");
    }
    if (json_is_number(v) || json_is_boolean(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        char *copy = fl_strdup(s ? s : "");
        free(s);
        return copy;
    }
    return NULL;
}

/*  TEXT cut at any of SEPS, empty pieces dropped: a JSON list of strings. */
static json_t *
s_split(const char *text, const char *seps)
{
    json_t *list = json_array();
    const char *p = text;
    while (*p) {
        size_t skip = strspn(p, seps);
        p += skip;
        size_t n = strcspn(p, seps);
        if (n > 0) {
            json_array_append_new(list, json_stringn(p, n));
        }
        p += n;
    }
    return list;
}

/*  Trims spaces around each element of a list of strings (" a=1, b=2"). */
static json_t *
s_split_trim(const char *text)
{
    json_t *raw = s_split(text, ",");
    json_t *list = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(raw, i, item) {
        const char *s = json_string_value(item);
        size_t n = json_string_length(item);
        while (n > 0 && isspace((unsigned char) *s)) {
            s++;
            n--;
        }
        while (n > 0 && isspace((unsigned char) s[n - 1])) {
            n--;
        }
        if (n > 0) {
            json_array_append_new(list, json_stringn(s, n));
        }
    }
    json_decref(raw);
    return list;
}

/*  command=: a string (split on white space) or a list of strings/numbers. */
static json_t *
s_parse_command(const json_t *v, char **err)
{
    json_t *cmd = NULL;
    if (json_is_string(v)) {
        cmd = s_split(json_string_value(v), " \t\r\n");
    } else if (json_is_array(v)) {
        cmd = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            char *text = json_is_string(item) || json_is_number(item) ? s_scalar_text(item) : NULL;
            if (!text) {
                json_decref(cmd);
                *err = fl_sprintf("command: list items must be strings");
                return NULL;
            }
            json_array_append_new(cmd, s_text_json(text, strlen(text)));
            free(text);
        }
    } else {
        *err = fl_sprintf("command must be a string or a list of strings");
        return NULL;
    }
    if (json_array_size(cmd) == 0) {
        json_decref(cmd);
        *err = fl_sprintf("command is empty");
        return NULL;
    }
    return cmd;
}

static int
s_env_add(json_t *env, const char *key, const json_t *value, char **err)
{
    char *text = s_scalar_text(value);
    if (!*key || strchr(key, '=') || !text) {
        free(text);
        *err = fl_sprintf("environment: bad entry '%s' (want NAME: VALUE, VALUE a scalar)", key);
        return -1;
    }
    char *kv = fl_sprintf("%s=%s", key, text);
    json_array_append_new(env, s_text_json(kv, strlen(kv)));
    free(kv);
    free(text);
    return 0;
}

static int
s_env_add_object(json_t *env, const json_t *obj, char **err)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) obj, key, value) {
        if (s_env_add(env, key, value, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/*  environment=: a mapping, a list of "NAME=VALUE" or of one-key mappings
    (as YAML's "- NAME: VALUE" gives), or a comma-separated string. */
static json_t *
s_parse_env(const json_t *v, char **err)
{
    json_t *env = json_array();
    if (json_is_object(v)) {
        if (s_env_add_object(env, v, err) != 0) {
            json_decref(env);
            return NULL;
        }
    } else if (json_is_array(v) || json_is_string(v)) {
        json_t *items = json_is_string(v) ? s_split_trim(json_string_value(v))
                                          : json_incref((json_t *) v);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            const char *kv = json_string_value(item);
            int rc = 0;
            if (json_is_object(item)) {
                rc = s_env_add_object(env, item, err);
            } else if (kv && *kv && kv[0] != '=') {
                json_array_append(env, item);
            } else {
                *err = fl_sprintf("environment: list items must be \"NAME=VALUE\" or NAME: VALUE");
                rc = -1;
            }
            if (rc != 0) {
                json_decref(items);
                json_decref(env);
                return NULL;
            }
        }
        json_decref(items);
    } else {
        *err = fl_sprintf("environment must be a mapping or a list of NAME=VALUE");
        json_decref(env);
        return NULL;
    }
    return env;
}

/*  binds=: a list of "HOST:CONTAINER[:OPTIONS]" or a comma-separated
    string.  Their syntax is the engine's to check, and it says what is
    wrong in its own words. */
static json_t *
s_parse_binds(const json_t *v, char **err)
{
    if (json_is_string(v)) {
        return s_split_trim(json_string_value(v));
    }
    if (!json_is_array(v)) {
        *err = fl_sprintf("binds must be a list of HOST:CONTAINER[:OPTIONS]");
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || json_string_length(item) == 0) {
            *err = fl_sprintf("binds: list items must be HOST:CONTAINER[:OPTIONS] strings");
            return NULL;
        }
    }
    return json_deep_copy(v);
}

/*  restart_policy=: "no", "always", "unless-stopped", "on-failure" or
    "on-failure:N" (N retries), as Salt spells it. */
static json_t *
s_parse_restart(const json_t *v, char **err)
{
    static const char *const names[] = { "no", "always", "unless-stopped", "on-failure" };
    const char *text = json_string_value(v);
    if (!text) {
        *err = fl_sprintf("restart_policy must be a string: no, always, unless-stopped, "
                          "on-failure[:RETRIES]");
        return NULL;
    }
    const char *colon = strchr(text, ':');
    size_t nlen = colon ? (size_t) (colon - text) : strlen(text);
    bool known = false;
    for (size_t i = 0; i < FL_ARRAY_LEN(names) && !known; i++) {
        known = strlen(names[i]) == nlen && strncmp(text, names[i], nlen) == 0;
    }
    if (!known) {
        *err = fl_sprintf("restart_policy '%s': want no, always, unless-stopped or "
                          "on-failure[:RETRIES]", text);
        return NULL;
    }
    long retries = 0;
    if (colon) {
        char *end = NULL;
        errno = 0;
        retries = strtol(colon + 1, &end, 10);
        if (nlen != strlen("on-failure") || !isdigit((unsigned char) colon[1])
            || *end != '\0' || errno == ERANGE || retries > INT_MAX) {
            *err = fl_sprintf("restart_policy '%s': only on-failure takes a retry count, "
                              "a number", text);
            return NULL;
        }
    }
    return json_pack("{s:s%, s:I}", "Name", text, nlen, "MaximumRetryCount",
                     (json_int_t) retries);
}

/*  The container's name from an inspect document, without Docker's '/'. */
static const char *
s_inspect_name(const json_t *info)
{
    const char *name = json_string_value(json_object_get(info, "Name"));
    if (name && name[0] == '/') {
        name++;
    }
    return name;
}

static const char *
s_inspect_status(const json_t *info)
{
    const char *status = json_string_value(json_object_get(json_object_get(info, "State"),
                                                           "Status"));
    return status ? status : "unknown";
}

/*  Ends the session with the message ERR (freed) as the failure. */
static int
s_end_fail(s_session_t *s, json_t **ret, char *err)
{
    int rc = s_fail_err(s, ret, err);
    s_end(s);
    return rc;
}

static int
s_end_missing(s_session_t *s, json_t **ret, const char *name)
{
    int rc = s_fail(ret, "%s: no such container: %s", s->fn, name);
    s_end(s);
    return rc;
}

int
mod_container_list(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                   json_t **ret)
{
    static const char *const known[] = { "all", NULL };
    FL_UNUSED(args);
    s_session_t s;
    if (s_begin(&s, "container.list", ctx, kwargs, known, "all", ret) != 0) {
        return 1;
    }
    bool all = false;
    char *err = NULL;
    const json_t *all_v = json_object_get(kwargs, "all");
    if (all_v && fl_registry_arg_bool(all_v, "all", &all, &err) != 0) {
        return s_end_fail(&s, ret, err);
    }
    json_t *raw = NULL;
    if (s.ops->list(s.impl, all, &raw, &err) != 0) {
        return s_end_fail(&s, ret, err);
    }
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(raw, i, c) {
        json_t *names = json_array();
        size_t j;
        json_t *n;
        json_array_foreach(json_object_get(c, "Names"), j, n) {
            const char *name = json_string_value(n);
            if (name) {
                json_array_append_new(names, json_string(name[0] == '/' ? name + 1 : name));
            }
        }
        json_array_append_new(out, json_pack("{s:s?, s:o, s:s?, s:s?, s:s?}",
                                             "id", fl_json_str(c, "Id"), "names", names,
                                             "image", fl_json_str(c, "Image"),
                                             "state", fl_json_str(c, "State"),
                                             "status", fl_json_str(c, "Status")));
    }
    json_decref(raw);
    s_end(&s);
    *ret = out;
    return 0;
}

int
mod_container_inspect(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                      json_t **ret)
{
    s_session_t s;
    if (s_begin(&s, "container.inspect", ctx, kwargs, NULL, "none", ret) != 0) {
        return 1;
    }
    const char *name = s_arg_name(&s, args, 0, "the container name", ret);
    if (!name) {
        s_end(&s);
        return 1;
    }
    json_t *info = NULL;
    char *err = NULL;
    int rc = s.ops->inspect(s.impl, name, &info, &err);
    if (rc == 1) {
        return s_end_missing(&s, ret, name);
    }
    if (rc != 0) {
        return s_end_fail(&s, ret, err);
    }
    s_end(&s);
    *ret = info;
    return 0;
}

int
mod_container_pull(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                   json_t **ret)
{
    s_session_t s;
    if (s_begin(&s, "container.pull", ctx, kwargs, NULL, "none", ret) != 0) {
        return 1;
    }
    const char *image = s_arg_name(&s, args, 0, "the image", ret);
    if (!image) {
        s_end(&s);
        return 1;
    }
    char *err = NULL;
    if (s.ops->pull(s.impl, image, &err) != 0) {
        return s_end_fail(&s, ret, err);
    }
    /* the id of what was pulled; the pull itself succeeded either way */
    json_t *info = NULL;
    const char *id = NULL;
    if (s.ops->image_inspect(s.impl, image, &info, &err) == 0) {
        id = fl_json_str(info, "Id");
    }
    free(err);
    *ret = json_pack("{s:s, s:s?}", "image", image, "id", id);
    json_decref(info);
    s_end(&s);
    return 0;
}

/*  The create body of container.run from its keyword arguments. */
static json_t *
s_run_config(const char *image, const json_t *kwargs, char **err)
{
    json_t *config = json_pack("{s:s}", "Image", image);
    json_t *host = json_object();
    const json_t *v;
    json_t *part = NULL;
    if ((v = json_object_get(kwargs, "command"))) {
        if (!(part = s_parse_command(v, err))) {
            goto fail;
        }
        json_object_set_new(config, "Cmd", part);
    }
    if ((v = json_object_get(kwargs, "environment"))) {
        if (!(part = s_parse_env(v, err))) {
            goto fail;
        }
        json_object_set_new(config, "Env", part);
    }
    if ((v = json_object_get(kwargs, "binds"))) {
        if (!(part = s_parse_binds(v, err))) {
            goto fail;
        }
        json_object_set_new(host, "Binds", part);
    }
    if ((v = json_object_get(kwargs, "restart_policy"))) {
        if (!(part = s_parse_restart(v, err))) {
            goto fail;
        }
        json_object_set_new(host, "RestartPolicy", part);
    }
    json_object_set_new(config, "HostConfig", host);
    return config;
fail:
    json_decref(host);
    json_decref(config);
    return NULL;
}

int
mod_container_run(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                  json_t **ret)
{
    static const char *const known[] = { "binds", "command", "environment", "name",
                                         "restart_policy", NULL };
    s_session_t s;
    if (s_begin(&s, "container.run", ctx, kwargs, known,
                "binds, command, environment, name, restart_policy", ret) != 0) {
        return 1;
    }
    const char *image = s_arg_name(&s, args, 0, "the image", ret);
    if (!image) {
        s_end(&s);
        return 1;
    }
    const json_t *name_v = json_object_get(kwargs, "name");
    const char *name = json_string_value(name_v);
    if (name_v && (!name || !*name)) {
        s_end(&s);
        return s_fail(ret, "container.run: name must be a non-empty string");
    }
    char *err = NULL;
    json_t *config = s_run_config(image, kwargs, &err);
    if (!config) {
        return s_end_fail(&s, ret, err);
    }

    /* as Salt's docker.create: pull the image when it is not there */
    json_t *info = NULL;
    int rc = s.ops->image_inspect(s.impl, image, &info, &err);
    json_decref(info);
    info = NULL;
    if (rc == 1) {
        rc = s.ops->pull(s.impl, image, &err);
    }
    char *id = NULL;
    if (rc == 0) {
        rc = s.ops->create(s.impl, name, config, &id, &err);
    }
    json_decref(config);
    if (rc != 0) {
        return s_end_fail(&s, ret, err);
    }
    rc = s.ops->start(s.impl, id, &err);
    if (rc != 0) {
        /* leave nothing behind that would block a retry under the same name */
        char *rm_err = NULL;
        s.ops->remove(s.impl, id, true, &rm_err);
        free(rm_err);
        free(id);
        if (rc == 1) {
            err = fl_sprintf("the container was removed before it started");
        }
        return s_end_fail(&s, ret, err);
    }
    if (!name && s.ops->inspect(s.impl, id, &info, &err) != 0) {
        free(err);  /* started; only the generated name is unknown */
    }
    *ret = json_pack("{s:s, s:s?}", "id", id, "name", name ? name : s_inspect_name(info));
    json_decref(info);
    free(id);
    s_end(&s);
    return 0;
}

int
mod_container_stop(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                   json_t **ret)
{
    static const char *const known[] = { "timeout", NULL };
    s_session_t s;
    if (s_begin(&s, "container.stop", ctx, kwargs, known, "timeout", ret) != 0) {
        return 1;
    }
    const char *name = s_arg_name(&s, args, 0, "the container name", ret);
    if (!name) {
        s_end(&s);
        return 1;
    }
    int timeout_s = -1;     /* the engine's default */
    char *err = NULL;
    const json_t *timeout_v = json_object_get(kwargs, "timeout");
    if (timeout_v) {
        double secs;
        if (fl_registry_arg_seconds(timeout_v, "timeout", &secs, &err) != 0) {
            return s_end_fail(&s, ret, err);
        }
        timeout_s = (int) ceil(secs);
    }
    json_t *info = NULL;
    int rc = s.ops->inspect(s.impl, name, &info, &err);
    if (rc == 1) {
        return s_end_missing(&s, ret, name);
    }
    if (rc != 0) {
        return s_end_fail(&s, ret, err);
    }
    char *old = fl_strdup(s_inspect_status(info));
    json_decref(info);
    info = NULL;
    bool live = strcmp(old, "running") == 0 || strcmp(old, "paused") == 0
                || strcmp(old, "restarting") == 0;
    if (!live) {
        *ret = json_pack("{s:b, s:{s:s, s:s}, s:s++}", "result", 1, "state", "old", old, "new",
                         old, "comment", "Container '", name, "' is already stopped");
        free(old);
        s_end(&s);
        return 0;
    }
    rc = s.ops->stop(s.impl, name, timeout_s, &err);
    if (rc == 1) {
        free(old);
        return s_end_missing(&s, ret, name);
    }
    if (rc != 0) {
        free(old);
        return s_end_fail(&s, ret, err);
    }
    const char *now = "exited";
    if (s.ops->inspect(s.impl, name, &info, &err) == 0) {
        now = s_inspect_status(info);
    }
    free(err);
    *ret = json_pack("{s:b, s:{s:s, s:s}, s:s++}", "result", 1, "state", "old", old, "new", now,
                     "comment", "Container '", name, "' was stopped");
    json_decref(info);
    free(old);
    s_end(&s);
    return 0;
}

int
mod_container_rm(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                 json_t **ret)
{
    static const char *const known[] = { "force", NULL };
    s_session_t s;
    if (s_begin(&s, "container.rm", ctx, kwargs, known, "force", ret) != 0) {
        return 1;
    }
    const char *name = s_arg_name(&s, args, 0, "the container name", ret);
    if (!name) {
        s_end(&s);
        return 1;
    }
    bool force = false;
    char *err = NULL;
    const json_t *force_v = json_object_get(kwargs, "force");
    if (force_v && fl_registry_arg_bool(force_v, "force", &force, &err) != 0) {
        return s_end_fail(&s, ret, err);
    }
    json_t *info = NULL;
    int rc = s.ops->inspect(s.impl, name, &info, &err);
    if (rc == 1) {
        return s_end_missing(&s, ret, name);
    }
    if (rc != 0) {
        return s_end_fail(&s, ret, err);
    }
    char *id = fl_strdup(fl_json_str(info, "Id") ? fl_json_str(info, "Id") : name);
    json_decref(info);
    rc = s.ops->remove(s.impl, id, force, &err);
    if (rc == 1) {
        free(id);
        return s_end_missing(&s, ret, name);
    }
    if (rc != 0) {
        free(id);
        return s_end_fail(&s, ret, err);
    }
    /* as Salt's docker.rm: the ids removed */
    *ret = json_pack("[s]", id);
    free(id);
    s_end(&s);
    return 0;
}

int
mod_container_images(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                     json_t **ret)
{
    FL_UNUSED(args);
    s_session_t s;
    if (s_begin(&s, "container.images", ctx, kwargs, NULL, "none", ret) != 0) {
        return 1;
    }
    json_t *raw = NULL;
    char *err = NULL;
    if (s.ops->images(s.impl, &raw, &err) != 0) {
        return s_end_fail(&s, ret, err);
    }
    json_t *out = json_array();
    size_t i;
    json_t *img;
    json_array_foreach(raw, i, img) {
        json_t *tags = json_object_get(img, "RepoTags");
        tags = json_is_array(tags) ? json_incref(tags) : json_array();   /* null when untagged */
        json_array_append_new(out, json_pack("{s:s?, s:o, s:O?, s:O?}",
                                             "id", fl_json_str(img, "Id"), "tags", tags,
                                             "created", json_object_get(img, "Created"),
                                             "size", json_object_get(img, "Size")));
    }
    json_decref(raw);
    s_end(&s);
    *ret = out;
    return 0;
}

/*  tail=: a number of lines, or "all". */
static int
s_parse_tail(const json_t *v, int *tail, char **err)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= INT_MAX) {
        *tail = (int) json_integer_value(v);
        return 0;
    }
    const char *text = json_string_value(v);
    if (text && strcmp(text, "all") == 0) {
        *tail = -1;
        return 0;
    }
    if (text && isdigit((unsigned char) text[0])) {
        char *end = NULL;
        errno = 0;
        long n = strtol(text, &end, 10);
        if (*end == '\0' && errno != ERANGE && n <= INT_MAX) {
            *tail = (int) n;
            return 0;
        }
    }
    *err = fl_sprintf("tail must be a number of lines or \"all\"");
    return -1;
}

int
mod_container_logs(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                   json_t **ret)
{
    static const char *const known[] = { "tail", NULL };
    s_session_t s;
    if (s_begin(&s, "container.logs", ctx, kwargs, known, "tail", ret) != 0) {
        return 1;
    }
    const char *name = s_arg_name(&s, args, 0, "the container name", ret);
    if (!name) {
        s_end(&s);
        return 1;
    }
    int tail = S_LOGS_TAIL;
    char *err = NULL;
    const json_t *tail_v = json_object_get(kwargs, "tail");
    if (tail_v && s_parse_tail(tail_v, &tail, &err) != 0) {
        return s_end_fail(&s, ret, err);
    }
    char *text = NULL;
    int rc = s.ops->logs(s.impl, name, tail, &text, &err);
    if (rc == 1) {
        return s_end_missing(&s, ret, name);
    }
    if (rc != 0) {
        return s_end_fail(&s, ret, err);
    }
    *ret = s_text_json(text, strlen(text));
    free(text);
    s_end(&s);
    return 0;
}
