/*  st_docker.c: docker_image.present and .absent, docker_container.running,
    .absent and .stopped, and the mod_watch of running, over the container
    driver (fl_container.h: the Docker Engine API on ctx->container_socket,
    dockerd on a device, podman's compatible service in the tests).

    Salt's names and arguments, so that existing Salt states keep working.
    What each state compares and reports:

    docker_image.present (name, tag, force).  A name without a tag means
    :latest.  Missing: pull, changes {"image": {"old": null, "new": ID}}.
    Present: nothing to do, unless force, which pulls again and reports
    {"image": {"old": OLD_ID, "new": NEW_ID}} only when the id changed (a
    new digest behind the same tag).  Salt reports {"Layers": ...}; fleet
    keeps the one shape above, for every state that changes an image.

    docker_image.absent (name or images, force): removes each image that
    is there; changes {"removed": [NAME, ...]}.

    docker_container.running (name, image, command, environment, binds,
    port_bindings, restart_policy, links, network, labels, force,
    shutdown_timeout).  The image must already be present: as in modern
    Salt, the state never pulls (docker_image.present does, first).  An
    existing container matches when
      - its Image is the id the image reference resolves to now,
      - Config.Cmd equals command (when one is given),
      - every wanted environment entry and label is in Config.Env / Labels
        (images add their own, such as PATH: only the wanted keys count),
      - HostConfig.Binds and PortBindings equal the wanted ones as sets
        (compared as host:container[:ro] and [ip:]host:container/proto:
        podman adds its own mount options such as rprivate,rbind),
      - the restart policy is the same ("" and "no" are the same), and
      - it is attached to network (when one is given).
    Matching and running: True, no changes.  Matching but stopped: start,
    {"state": {"old": "stopped", "new": "running"}}.  Different (or force,
    or a watched state changed): stop it (shutdown_timeout, default 10 s),
    remove it, create and start a new one; changes name what differed,
    each as {"old": ..., "new": ...}: "image" (ids: this is how a new
    digest behind the same tag shows), "command", "env" (the wanted keys
    only, null for an unset one), "binds", "port_bindings",
    "restart_policy", "network", "labels"; plus "container_id" {"old":
    OLD_ID or null, "new": NEW_ID}.  links are passed on (HostConfig.Links)
    but never compared: podman refuses them ("link is not supported"), in
    which case the container is created without them and the comment says
    to use a shared network instead.

    docker_container.absent (name, force): removes it; a running one only
    with force (as Salt); changes {"removed": ID}.
    docker_container.stopped (name, error_on_absent = True,
    shutdown_timeout): stops a running one; changes {"state": {"old":
    "running", "new": "stopped"}}; a missing container fails unless
    error_on_absent is False.

    Argument forms (Salt's): command is a list, or a string split into
    words as a shell would (quotes and backslashes, no expansion);
    environment and labels a map, a list of "K=V" strings, a list of
    one-key maps ({K: V}, which "- K: V" in YAML gives) or a comma-separated
    string (labels may omit "=V"); binds a list of "host:container[:mode]"
    or a comma-separated string; port_bindings a list of "container",
    "host:container" or "ip:host:container" (each port may end in /udp),
    or a map {container: host or "ip:host"} as the Docker SDK takes it;
    restart_policy "no", "always", "unless-stopped", "on-failure[:N]";
    links a list of "name:alias" or a map {name: alias}.  Numbers and
    booleans in environment values become text as Salt writes them (9091,
    True).  Every argument is checked before the engine is asked anything,
    so a malformed bind fails with a comment that names it.

    Test mode asks the engine (inspect only) and reports the same changes
    with result None; what cannot be known before it happens is said in
    words ("(would be created)").  Engine errors fail the state with the
    driver's message; nothing here aborts the minion. */
#include "st_docker.h"
#include "fl_container.h"
#include "fl_json.h"

#include <ctype.h>

#define S_DEFAULT_SOCKET "/var/run/docker.sock"
#define S_SHUTDOWN_TIMEOUT_S 10
#define S_LOG_TAIL 5
#define S_LINKS_NOTE "links are a legacy Docker feature; podman ignores them — use a shared " \
                     "network (network:) instead"

/* ---------------------------------------------------------------- engine */

typedef struct {
    fl_container_t *driver;
    const fl_container_ops_t *ops;
    void *impl;
} s_engine_t;

static void
s_fail(fl_st_ret_t *ret, const char *fmt, ...) FL_PRINTF(2, 3);

static void
s_fail(fl_st_ret_t *ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = fl_vsprintf(fmt, ap);
    va_end(ap);
    ret->result = FL_ST_FALSE;
    fl_st_comment(ret, "%s", text);
    free(text);
}

/*  Fails the state with what FMT says and the driver's message ERR
    (freed). */
static void
s_fail_engine(fl_st_ret_t *ret, char *err, const char *fmt, ...) FL_PRINTF(3, 4);

static void
s_fail_engine(fl_st_ret_t *ret, char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = fl_vsprintf(fmt, ap);
    va_end(ap);
    s_fail(ret, "%s: %s", what, err && *err ? err : "the container engine gave no reason");
    free(what);
    free(err);
}

static int
s_engine_open(const fl_st_ctx_t *ctx, s_engine_t *engine, fl_st_ret_t *ret)
{
    const char *path = ctx->container_socket && *ctx->container_socket ? ctx->container_socket
                                                                        : S_DEFAULT_SOCKET;
    *engine = (s_engine_t) { NULL, NULL, NULL };
    if (!fl_container_available(path)) {
        s_fail(ret, "cannot reach the container engine at %s: there is no socket there "
               "(is dockerd, or podman's service, running?)", path);
        return -1;
    }
    engine->driver = fl_container_new(fl_container_docker_ops(), path);
    engine->ops = engine->driver ? fl_container_ops(engine->driver) : NULL;
    engine->impl = engine->driver ? fl_container_impl(engine->driver) : NULL;
    if (!engine->ops || !engine->impl) {
        fl_container_destroy(&engine->driver);
        s_fail(ret, "cannot reach the container engine at %s: the driver could not be set up",
               path);
        return -1;
    }
    return 0;
}

static void
s_engine_close(s_engine_t *engine)
{
    fl_container_destroy(&engine->driver);
    engine->ops = NULL;
    engine->impl = NULL;
}

/* ---------------------------------------------------------------- small helpers */

/*  An engine id without its "sha256:" prefix. */
static const char *
s_short_id(const char *id)
{
    return id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
}

static bool
s_same_id(const char *a, const char *b)
{
    return a && b && strcmp(s_short_id(a), s_short_id(b)) == 0;
}

static json_t *
s_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/*  {"old": OLD, "new": NEW} (both stolen). */
static json_t *
s_old_new(json_t *old, json_t *new)
{
    return json_pack("{s:o, s:o}", "old", old ? old : json_null(), "new", new ? new : json_null());
}

/*  Appends NOTE to the comment. */
static void
s_comment_add(fl_st_ret_t *ret, const char *note)
{
    if (ret->comment && *ret->comment) {
        char *old = ret->comment;
        ret->comment = NULL;
        fl_st_comment(ret, "%s; %s", old, note);
        free(old);
    } else {
        fl_st_comment(ret, "%s", note);
    }
}

/*  A JSON string without NUL bytes. */
static bool
s_clean_str(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/*  A scalar as text, as Salt's str() writes it; NULL for other types. */
static char *
s_scalar_text(const json_t *v)
{
    if (s_clean_str(v)) {
        return fl_strdup(json_string_value(v));
    }
    if (json_is_integer(v)) {
        return fl_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    if (json_is_real(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        char *text = fl_strdup(s ? s : "0");
        free(s);
        return text;
    }
    if (json_is_boolean(v)) {
        return fl_strdup(json_is_true(v) ? "True" : "False");
    }
    return NULL;
}

/*  ARGS[KEY] as text (a string or a number) into *OUT (caller frees; NULL
    when absent or null). */
static int
s_arg_text(const json_t *args, const char *key, char **out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (json_is_string(v) || json_is_number(v)) {
        *out = s_scalar_text(v);
    }
    if (!*out) {
        s_fail(ret, "%s must be a string", key);
        return -1;
    }
    return 0;
}

/*  ARGS[KEY] as a boolean; DEF when absent or null. */
static int
s_arg_bool(const json_t *args, const char *key, bool def, bool *out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = def;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        s_fail(ret, "%s must be True or False", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/*  ARGS[KEY] as a whole number of seconds, 0..3600; DEF when absent. */
static int
s_arg_seconds(const json_t *args, const char *key, int def, int *out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = def;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 3600) {
        s_fail(ret, "%s must be a number of seconds (0 to 3600)", key);
        return -1;
    }
    *out = (int) json_integer_value(v);
    return 0;
}

/*  The items of V: a list as it is, or a comma-separated string split into
    trimmed, non-empty items.  New reference; NULL for other types. */
static json_t *
s_list_items(const json_t *v)
{
    if (json_is_array(v)) {
        return json_incref((json_t *) v);
    }
    if (!s_clean_str(v)) {
        return NULL;
    }
    json_t *items = json_array();
    const char *p = json_string_value(v);
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *start = p, *end = p + n;
        while (start < end && isspace((unsigned char) *start)) {
            start++;
        }
        while (end > start && isspace((unsigned char) end[-1])) {
            end--;
        }
        if (end > start) {
            json_array_append_new(items, json_stringn(start, (size_t) (end - start)));
        }
        p += n + (p[n] == ',');
    }
    return items;
}

/* ---------------------------------------------------------------- image references */

/*  NAME with TAG (docker_image.present's tag argument), or with ":latest"
    when it names neither a tag nor a digest.  Caller frees; NULL fails. */
static char *
s_image_ref(const char *what, const char *name, const char *tag, fl_st_ret_t *ret)
{
    if (!name || !*name) {
        s_fail(ret, "%s: an image name is required", what);
        return NULL;
    }
    for (const char *p = name; *p; p++) {
        if (isspace((unsigned char) *p) || iscntrl((unsigned char) *p)) {
            s_fail(ret, "%s: image name '%s' must not contain blanks", what, name);
            return NULL;
        }
    }
    const char *slash = strrchr(name, '/');
    bool has_tag = strchr(slash ? slash + 1 : name, ':') != NULL;
    bool has_digest = strchr(name, '@') != NULL;
    if (tag && *tag) {
        if (has_tag || has_digest) {
            s_fail(ret, "%s: image name '%s' already has a tag; do not pass tag as well", what,
                   name);
            return NULL;
        }
        return fl_sprintf("%s:%s", name, tag);
    }
    return has_tag || has_digest ? fl_strdup(name) : fl_sprintf("%s:latest", name);
}

/*  The local id of image REF into *ID (caller frees; NULL when the image is
    not there). */
static int
s_image_id(s_engine_t *engine, const char *ref, char **id, fl_st_ret_t *ret)
{
    json_t *info = NULL;
    char *err = NULL;
    *id = NULL;
    int rc = engine->ops->image_inspect(engine->impl, ref, &info, &err);
    if (rc < 0) {
        s_fail_engine(ret, err, "cannot inspect image %s", ref);
        return -1;
    }
    free(err);
    if (rc == 0) {
        const char *s = fl_json_str(info, "Id");
        *id = s ? fl_strdup(s) : NULL;
    }
    json_decref(info);
    if (rc == 0 && !*id) {
        s_fail(ret, "the container engine described image %s without an Id", ref);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- docker_image */

void
st_docker_image_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                        fl_st_ret_t *ret)
{
    char *tag = NULL, *ref = NULL, *old_id = NULL, *new_id = NULL, *err = NULL;
    bool force = false;
    s_engine_t engine = { NULL, NULL, NULL };
    if (s_arg_text(args, "tag", &tag, ret) != 0
        || s_arg_bool(args, "force", false, &force, ret) != 0
        || !(ref = s_image_ref("docker_image.present", name, tag, ret))
        || s_engine_open(ctx, &engine, ret) != 0 || s_image_id(&engine, ref, &old_id, ret) != 0) {
        goto done;
    }
    if (old_id && !force) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Image %s is already present (%s)", ref, old_id);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        if (old_id) {
            fl_st_comment(ret, "Image %s is present (%s); force would pull it again and report "
                          "a new id if the registry has a new digest behind the tag", ref, old_id);
        } else {
            json_object_set_new(ret->changes, "image",
                                s_old_new(NULL, json_sprintf("(would be pulled: %s)", ref)));
            fl_st_comment(ret, "Image %s would be pulled", ref);
        }
        goto done;
    }
    if (engine.ops->pull(engine.impl, ref, &err) != 0) {
        s_fail_engine(ret, err, "Failed to pull image %s", ref);
        goto done;
    }
    free(err);
    if (s_image_id(&engine, ref, &new_id, ret) != 0) {
        goto done;
    }
    if (!new_id) {
        s_fail(ret, "Image %s was pulled but the container engine does not list it", ref);
    } else if (s_same_id(old_id, new_id)) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Image %s is already up to date (%s)", ref, new_id);
    } else {
        ret->result = FL_ST_TRUE;
        json_object_set_new(ret->changes, "image",
                            s_old_new(s_str_or_null(old_id), json_string(new_id)));
        fl_st_comment(ret, old_id ? "Image %s was updated: the registry has a new digest (%s)"
                                  : "Image %s was pulled (%s)", ref, new_id);
    }
done:
    s_engine_close(&engine);
    free(tag);
    free(ref);
    free(old_id);
    free(new_id);
}

void
st_docker_image_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                       fl_st_ret_t *ret)
{
    bool force = false;
    s_engine_t engine = { NULL, NULL, NULL };
    json_t *names = NULL;
    const json_t *images = json_object_get(args, "images");
    if (s_arg_bool(args, "force", false, &force, ret) != 0) {
        return;
    }
    if (images && !json_is_null(images)) {
        names = s_list_items(images);
    } else if (name && *name) {
        names = json_pack("[s]", name);
    }
    size_t i;
    json_t *item;
    json_array_foreach(names, i, item) {
        if (!s_clean_str(item) || !*json_string_value(item)) {
            json_decref(names);
            names = NULL;
            break;
        }
    }
    if (json_array_size(names) == 0) {
        json_decref(names);
        s_fail(ret, "docker_image.absent needs a name or a list of images");
        return;
    }
    if (s_engine_open(ctx, &engine, ret) != 0) {
        json_decref(names);
        return;
    }
    json_t *removed = json_array();
    ret->result = FL_ST_TRUE;
    json_array_foreach(names, i, item) {
        const char *image = json_string_value(item);
        char *id = NULL, *err = NULL;
        if (s_image_id(&engine, image, &id, ret) != 0) {
            break;
        }
        if (id && !ctx->test && engine.ops->image_remove(engine.impl, image, force, &err) < 0) {
            s_fail_engine(ret, err, "Failed to remove image %s", image);
            free(id);
            break;
        }
        if (id) {
            json_array_append_new(removed, json_string(image));
        }
        free(err);
        free(id);
    }
    if (json_array_size(removed) > 0) {
        char *list = json_dumps(removed, JSON_COMPACT);
        json_object_set(ret->changes, "removed", removed);
        if (ret->result != FL_ST_FALSE) {
            ret->result = ctx->test ? FL_ST_NONE : FL_ST_TRUE;
            fl_st_comment(ret, ctx->test ? "Images %s would be removed" : "Removed images %s",
                          list);
        }
        free(list);
    } else if (ret->result != FL_ST_FALSE) {
        fl_st_comment(ret, "All specified images are absent");
    }
    json_decref(removed);
    json_decref(names);
    s_engine_close(&engine);
}

/* ---------------------------------------------------------------- container arguments */

/*  Splits TEXT into words as a POSIX shell does, without expansions:
    blanks separate words; '...' keeps everything inside; "..." keeps
    everything but the backslash before " \ $ ` and newline; a backslash
    outside quotes keeps the next character.  NULL with *WHY for an
    unterminated quote. */
static json_t *
s_split_words(const char *text, const char **why)
{
    json_t *words = json_array();
    char *buf = fl_malloc(strlen(text) + 1);
    size_t len = 0;
    bool in_word = false;
    const char *p = text;
    *why = NULL;
    while (*p && !*why) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            if (in_word) {
                json_array_append_new(words, json_stringn(buf, len));
                len = 0;
                in_word = false;
            }
            p++;
        } else if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                *why = "an unterminated single quote";
                break;
            }
            memcpy(buf + len, p + 1, (size_t) (end - p - 1));
            len += (size_t) (end - p - 1);
            in_word = true;
            p = end + 1;
        } else if (*p == '"') {
            in_word = true;
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
                    p++;
                    if (*p == '\n') {
                        continue;
                    }
                }
                buf[len++] = *p;
            }
            if (!*p) {
                *why = "an unterminated double quote";
                break;
            }
            p++;
        } else if (*p == '\\') {
            if (p[1] == '\n') {
                p += 2;
                continue;
            }
            if (p[1]) {
                p++;
            }
            buf[len++] = *p++;
            in_word = true;
        } else {
            buf[len++] = *p++;
            in_word = true;
        }
    }
    if (in_word && !*why) {
        json_array_append_new(words, json_stringn(buf, len));
    }
    free(buf);
    if (*why) {
        json_decref(words);
        return NULL;
    }
    return words;
}

/*  ARGS[KEY] as an object NAME -> text, from a map, a list of "K=V"
    strings or one-key maps, or a comma-separated string.  BARE_OK: "K"
    alone means an empty value (labels); else it is an error (environment).
    *OUT NULL when absent. */
static int
s_parse_pairs(const json_t *args, const char *key, bool bare_ok, json_t **out, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    json_t *pairs = json_object();
    json_t *items = json_is_object(v) ? json_pack("[O]", v) : s_list_items(v);
    if (!items) {
        s_fail(ret, "%s must be a map, a list of KEY=VALUE or a comma-separated string", key);
        json_decref(pairs);
        return -1;
    }
    const char *why = NULL;
    char *bad = NULL;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        if (s_clean_str(item)) {
            const char *s = json_string_value(item);
            const char *eq = strchr(s, '=');
            if (!eq && !bare_ok) {
                why = "must be KEY=VALUE";
                bad = fl_strdup(s);
                break;
            }
            char *k = eq ? fl_strndup(s, (size_t) (eq - s)) : fl_strdup(s);
            if (!*k) {
                why = "has an empty name";
                bad = k;
                break;
            }
            json_object_set_new(pairs, k, json_string(eq ? eq + 1 : ""));
            free(k);
        } else if (json_is_object(item)) {
            const char *k;
            json_t *value;
            json_object_foreach(item, k, value) {
                char *text = s_scalar_text(value);
                if (!*k || strchr(k, '=') || !text) {
                    why = !text ? "must have a string or number value" : "has a bad name";
                    bad = fl_strdup(k);
                    free(text);
                    break;
                }
                json_object_set_new(pairs, k, json_string(text));
                free(text);
            }
            if (why) {
                break;
            }
        } else {
            char *text = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
            why = "must be KEY=VALUE or a one-key map";
            bad = text ? text : fl_strdup("?");
            break;
        }
    }
    json_decref(items);
    if (why) {
        s_fail(ret, "%s: '%s' %s", key, bad, why);
        free(bad);
        json_decref(pairs);
        return -1;
    }
    *out = pairs;
    return 0;
}

static const char *const s_bind_modes[] = { "ro", "rw", "z", "Z", "shared", "rshared", "slave",
                                            "rslave", "private", "rprivate", "nocopy", "bind",
                                            "rbind", "U", "O" };

/*  Trailing slashes of a path off (but "/"). */
static char *
s_trim_path(const char *s, size_t n)
{
    while (n > 1 && s[n - 1] == '/') {
        n--;
    }
    return fl_strndup(s, n);
}

/*  A bind "host:container[:mode]" into its comparable form
    "host:container" or "host:container:ro".  STRICT (the state's own
    binds): the mode must be known words; the engine's own binds carry
    whatever options it added.  Returns NULL, with *WHY, when malformed. */
static char *
s_bind_key(const char *bind, bool strict, const char **why)
{
    const char *c1 = strchr(bind, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    *why = NULL;
    if (!c1) {
        *why = "it has no ':' between the host path and the container path";
        return NULL;
    }
    if (c2 && strchr(c2 + 1, ':')) {
        *why = "it has too many ':'";
        return NULL;
    }
    char *host = s_trim_path(bind, (size_t) (c1 - bind));
    char *cont = s_trim_path(c1 + 1, c2 ? (size_t) (c2 - c1 - 1) : strlen(c1 + 1));
    bool ro = false;
    if (!*host) {
        *why = "the host path is empty";
    } else if (!*cont) {
        *why = "the container path is empty";
    } else if (cont[0] != '/') {
        *why = "the container path must be absolute";
    } else if (host[0] != '/' && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_.-") != strlen(host)) {
        *why = "the host side must be an absolute path or a volume name";
    } else if (c2 && !c2[1]) {
        *why = "the mode after the last ':' is empty";
    } else if (c2) {
        char *modes = fl_strdup(c2 + 1);
        char *save = NULL;
        for (char *m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
            bool known = false;
            for (size_t i = 0; i < FL_ARRAY_LEN(s_bind_modes); i++) {
                known = known || strcmp(m, s_bind_modes[i]) == 0;
            }
            if (strict && !known) {
                *why = "its mode must be ro or rw (optionally with z, Z or a propagation)";
            }
            ro = ro || strcmp(m, "ro") == 0;
        }
        free(modes);
    }
    char *key = *why ? NULL : fl_sprintf("%s:%s%s", host, cont, ro ? ":ro" : "");
    free(host);
    free(cont);
    return key;
}

/*  A port "N" or "N/proto" into "N/proto" (tcp by default); NULL when not
    a port. */
static char *
s_port_spec(const char *s, size_t n, bool proto_ok)
{
    size_t digits = 0;
    while (digits < n && isdigit((unsigned char) s[digits])) {
        digits++;
    }
    if (digits == 0 || digits > 5) {
        return NULL;
    }
    long port = strtol(s, NULL, 10);
    if (port < 1 || port > 65535) {
        return NULL;
    }
    const char *proto = "tcp";
    if (digits < n) {
        const char *rest = s + digits;
        size_t rn = n - digits;
        if (!proto_ok) {
            return NULL;
        }
        if (rn == 4 && strncmp(rest, "/tcp", 4) == 0) {
            proto = "tcp";
        } else if (rn == 4 && strncmp(rest, "/udp", 4) == 0) {
            proto = "udp";
        } else if (rn == 5 && strncmp(rest, "/sctp", 5) == 0) {
            proto = "sctp";
        } else {
            return NULL;
        }
    }
    return fl_sprintf("%ld/%s", port, proto);
}

/*  Adds "CONTAINER <- IP:HOST" to BINDINGS (the API's PortBindings).  HOST
    "" = a port the engine picks. */
static int
s_port_add(json_t *bindings, const char *container, size_t cn, const char *ip, size_t ipn,
           const char *host, size_t hn)
{
    char *cport = s_port_spec(container, cn, true);
    char *hport = hn ? s_port_spec(host, hn, false) : fl_strdup("");
    if (!cport || !hport || memchr(ip, ' ', ipn)) {
        free(cport);
        free(hport);
        return -1;
    }
    char *slash = strchr(hport, '/');
    if (slash) {
        *slash = '\0';
    }
    json_t *list = json_object_get(bindings, cport);
    if (!list) {
        list = json_array();
        json_object_set_new(bindings, cport, list);
    }
    json_array_append_new(list, json_pack("{s:s%, s:s}", "HostIp", ip, ipn, "HostPort", hport));
    free(cport);
    free(hport);
    return 0;
}

/*  One "container", "host:container" or "ip:host:container". */
static int
s_port_parse(json_t *bindings, const char *s)
{
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1) {
        return s_port_add(bindings, s, strlen(s), "", 0, "", 0);
    }
    if (!c2) {
        return s_port_add(bindings, c1 + 1, strlen(c1 + 1), "", 0, s, (size_t) (c1 - s));
    }
    if (strchr(c2 + 1, ':') || c1 == s) {
        return -1;
    }
    return s_port_add(bindings, c2 + 1, strlen(c2 + 1), s, (size_t) (c1 - s), c1 + 1,
                      (size_t) (c2 - c1 - 1));
}

/*  One binding's comparable form: "ip:host:container/proto", or without
    the ip (any address), or without both (any host port). */
static char *
s_port_key(const char *ip, const char *host, const char *cport)
{
    if (*ip) {
        return fl_sprintf("%s:%s:%s", ip, host, cport);
    }
    return *host ? fl_sprintf("%s:%s", host, cport) : fl_strdup(cport);
}

/*  The comparable forms of PortBindings: an object used as a set.  With
    WANTED (the state's own set), a binding whose host port the engine
    picked counts as the wanted one that left the host port open (podman
    writes the port it picked into HostConfig). */
static json_t *
s_port_keys(const json_t *bindings, const json_t *wanted)
{
    json_t *keys = json_object();
    const char *cport;
    json_t *list;
    json_object_foreach((json_t *) bindings, cport, list) {
        size_t i;
        json_t *b;
        json_array_foreach(list, i, b) {
            const char *ip = fl_json_str(b, "HostIp");
            const char *host = fl_json_str(b, "HostPort");
            if (!ip || strcmp(ip, "0.0.0.0") == 0) {
                ip = "";
            }
            char *key = s_port_key(ip, host ? host : "", cport);
            if (wanted && !json_object_get(wanted, key)) {
                char *open = s_port_key(ip, "", cport);
                if (json_object_get(wanted, open)) {
                    free(key);
                    key = open;
                } else {
                    free(open);
                }
            }
            json_object_set_new(keys, key, json_true());
            free(key);
        }
    }
    return keys;
}

/*  The keys of a set object as a sorted array. */
static json_t *
s_set_list(const json_t *set)
{
    size_t n = json_object_size(set), i = 0;
    const char **names = fl_calloc(n ? n : 1, sizeof *names);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) set, key, value) {
        names[i++] = key;
    }
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
            const char *t = names[b];
            names[b] = names[b - 1];
            names[b - 1] = t;
        }
    }
    json_t *list = json_array();
    for (i = 0; i < n; i++) {
        json_array_append_new(list, json_string(names[i]));
    }
    free(names);
    return list;
}

/*  What docker_container.running wants. */
typedef struct {
    char *image;            /* the reference, with a tag */
    json_t *cmd;            /* array; NULL: the image's */
    json_t *env;            /* name -> value; NULL: none given */
    json_t *binds;          /* array, as given */
    json_t *bind_keys;      /* set of their comparable forms */
    json_t *ports;          /* PortBindings object */
    json_t *port_keys;      /* set of their comparable forms */
    char *restart;          /* "no", "always", "unless-stopped", "on-failure" */
    int restart_max;        /* on-failure's retries */
    json_t *links;          /* array of "name:alias"; NULL: none */
    char *network;
    json_t *labels;         /* object; NULL: none given */
    bool force;
    int shutdown_timeout_s;
} s_want_t;

static void
s_want_free(s_want_t *want)
{
    free(want->image);
    json_decref(want->cmd);
    json_decref(want->env);
    json_decref(want->binds);
    json_decref(want->bind_keys);
    json_decref(want->ports);
    json_decref(want->port_keys);
    free(want->restart);
    json_decref(want->links);
    free(want->network);
    json_decref(want->labels);
    memset(want, 0, sizeof *want);
}

static int
s_parse_command(const json_t *args, s_want_t *want, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, "command");
    if (!v || json_is_null(v)) {
        return 0;
    }
    const char *why = NULL;
    if (s_clean_str(v)) {
        want->cmd = s_split_words(json_string_value(v), &why);
    } else if (json_is_array(v)) {
        want->cmd = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            char *text = json_is_string(item) || json_is_number(item) ? s_scalar_text(item) : NULL;
            if (!text) {
                why = "a list item that is not a string";
                break;
            }
            json_array_append_new(want->cmd, json_string(text));
            free(text);
        }
    } else {
        why = "neither a string nor a list";
    }
    if (!why && json_array_size(want->cmd) == 0) {
        why = "no words";
    }
    if (why) {
        s_fail(ret, "command has %s", why);
        return -1;
    }
    return 0;
}

static int
s_parse_binds(const json_t *args, s_want_t *want, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, "binds");
    want->binds = json_array();
    want->bind_keys = json_object();
    if (!v || json_is_null(v)) {
        return 0;
    }
    json_t *items = s_list_items(v);
    if (!items) {
        s_fail(ret, "binds must be a list of host:container[:ro] or a comma-separated string");
        return -1;
    }
    size_t i;
    json_t *item;
    int rc = 0;
    json_array_foreach(items, i, item) {
        const char *why = "it is not a string";
        char *key = s_clean_str(item) ? s_bind_key(json_string_value(item), true, &why) : NULL;
        if (!key) {
            char *text = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
            s_fail(ret, "malformed bind %s: %s (write host_path:container_path[:ro])",
                   text ? text : "?", why);
            free(text);
            rc = -1;
            break;
        }
        json_array_append(want->binds, item);
        json_object_set_new(want->bind_keys, key, json_true());
        free(key);
    }
    json_decref(items);
    return rc;
}

static int
s_parse_ports(const json_t *args, s_want_t *want, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, "port_bindings");
    want->ports = json_object();
    if (v && json_is_object(v)) {
        const char *cport;
        json_t *host;
        json_object_foreach((json_t *) v, cport, host) {
            char *h = json_is_null(host) ? fl_strdup("") : s_scalar_text(host);
            const char *colon = h ? strrchr(h, ':') : NULL;
            int rc = !h ? -1
                     : colon ? s_port_add(want->ports, cport, strlen(cport), h,
                                          (size_t) (colon - h), colon + 1, strlen(colon + 1))
                             : s_port_add(want->ports, cport, strlen(cport), "", 0, h, strlen(h));
            if (rc != 0) {
                s_fail(ret, "malformed port binding %s: %s (write {container_port: "
                       "host_port or ip:host_port})", cport, h ? h : "?");
                free(h);
                return -1;
            }
            free(h);
        }
    } else if (v && !json_is_null(v)) {
        json_t *items = json_is_integer(v) ? json_pack("[O]", v) : s_list_items(v);
        if (!items) {
            s_fail(ret, "port_bindings must be a list of [ip:]host:container or a map");
            return -1;
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            char *text = json_is_integer(item) || s_clean_str(item) ? s_scalar_text(item) : NULL;
            if (!text || s_port_parse(want->ports, text) != 0) {
                char *shown = json_dumps(item, JSON_ENCODE_ANY | JSON_COMPACT);
                s_fail(ret, "malformed port binding %s (write container, host:container or "
                       "ip:host:container, each port 1-65535, optionally /udp)",
                       shown ? shown : "?");
                free(shown);
                free(text);
                json_decref(items);
                return -1;
            }
            free(text);
        }
        json_decref(items);
    }
    want->port_keys = s_port_keys(want->ports, NULL);
    return 0;
}

static int
s_parse_restart(const json_t *args, s_want_t *want, fl_st_ret_t *ret)
{
    char *text = NULL;
    if (s_arg_text(args, "restart_policy", &text, ret) != 0) {
        return -1;
    }
    want->restart_max = 0;
    if (!text || strcmp(text, "no") == 0 || strcmp(text, "always") == 0
        || strcmp(text, "unless-stopped") == 0 || strcmp(text, "on-failure") == 0) {
        want->restart = text ? text : fl_strdup("no");
        return 0;
    }
    if (strncmp(text, "on-failure:", 11) == 0 && text[11]
        && strspn(text + 11, "0123456789") == strlen(text + 11) && strlen(text + 11) <= 6) {
        want->restart_max = atoi(text + 11);
        want->restart = fl_strdup("on-failure");
        free(text);
        return 0;
    }
    s_fail(ret, "restart_policy '%s' is not one of no, always, unless-stopped, "
           "on-failure[:N]", text);
    free(text);
    return -1;
}

static int
s_parse_links(const json_t *args, s_want_t *want, fl_st_ret_t *ret)
{
    const json_t *v = json_object_get(args, "links");
    if (!v || json_is_null(v)) {
        return 0;
    }
    want->links = json_array();
    if (json_is_object(v)) {
        const char *k;
        json_t *alias;
        json_object_foreach((json_t *) v, k, alias) {
            if (!*k || !s_clean_str(alias)) {
                s_fail(ret, "links: '%s' needs an alias (a string)", k);
                return -1;
            }
            json_array_append_new(want->links, json_sprintf("%s:%s", k, json_string_value(alias)));
        }
        return 0;
    }
    json_t *items = s_list_items(v);
    if (!items) {
        s_fail(ret, "links must be a list of name:alias or a map");
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        const char *s = s_clean_str(item) ? json_string_value(item) : NULL;
        const char *colon = s ? strchr(s, ':') : NULL;
        if (!s || !*s || s[0] == ':' || (colon && (!colon[1] || strchr(colon + 1, ':')))) {
            json_decref(items);
            s_fail(ret, "links must be a list of name:alias");
            return -1;
        }
        json_array_append_new(want->links, colon ? json_string(s) : json_sprintf("%s:%s", s, s));
    }
    json_decref(items);
    return 0;
}

/*  Reads and checks every argument of docker_container.running. */
static int
s_want_parse(const char *name, const json_t *args, s_want_t *want, fl_st_ret_t *ret)
{
    char *image = NULL;
    memset(want, 0, sizeof *want);
    if (!name || !*name || strchr(name, '/') || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                             "0123456789_.-") != strlen(name)) {
        s_fail(ret, "container name '%s' must be letters, digits, '_', '.' or '-'",
               name ? name : "");
        return -1;
    }
    if (s_arg_text(args, "image", &image, ret) != 0) {
        return -1;
    }
    if (!image) {
        s_fail(ret, "docker_container.running needs an image (the state never builds one)");
        return -1;
    }
    want->image = s_image_ref("docker_container.running", image, NULL, ret);
    free(image);
    if (!want->image || s_parse_command(args, want, ret) != 0
        || s_parse_pairs(args, "environment", false, &want->env, ret) != 0
        || s_parse_binds(args, want, ret) != 0 || s_parse_ports(args, want, ret) != 0
        || s_parse_restart(args, want, ret) != 0 || s_parse_links(args, want, ret) != 0
        || s_arg_text(args, "network", &want->network, ret) != 0
        || (!want->network && s_arg_text(args, "network_mode", &want->network, ret) != 0)
        || s_parse_pairs(args, "labels", true, &want->labels, ret) != 0
        || s_arg_bool(args, "force", false, &want->force, ret) != 0
        || s_arg_seconds(args, "shutdown_timeout", S_SHUTDOWN_TIMEOUT_S,
                         &want->shutdown_timeout_s, ret) != 0) {
        return -1;
    }
    return 0;
}

/*  The body of POST /containers/create for WANT. */
static json_t *
s_create_body(const s_want_t *want, bool with_links)
{
    json_t *body = json_pack("{s:s}", "Image", want->image);
    json_t *host = json_object();
    if (want->cmd) {
        json_object_set(body, "Cmd", want->cmd);
    }
    if (want->env) {
        json_t *env = json_array();
        const char *k;
        json_t *v;
        json_object_foreach(want->env, k, v) {
            json_array_append_new(env, json_sprintf("%s=%s", k, json_string_value(v)));
        }
        json_object_set_new(body, "Env", env);
    }
    if (want->labels) {
        json_object_set(body, "Labels", want->labels);
    }
    if (json_object_size(want->ports) > 0) {
        json_t *exposed = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(want->ports, k, v) {
            json_object_set_new(exposed, k, json_object());
        }
        json_object_set_new(body, "ExposedPorts", exposed);
        json_object_set(host, "PortBindings", want->ports);
    }
    json_object_set(host, "Binds", want->binds);
    json_object_set_new(host, "RestartPolicy",
                        json_pack("{s:s, s:i}", "Name", want->restart, "MaximumRetryCount",
                                  want->restart_max));
    if (with_links && want->links) {
        json_object_set(host, "Links", want->links);
    }
    if (want->network) {
        json_object_set_new(host, "NetworkMode", json_string(want->network));
    }
    json_object_set_new(body, "HostConfig", host);
    return body;
}

/* ---------------------------------------------------------------- comparing */

/*  The value of NAME in an Env list ["K=V", ...], or NULL. */
static const char *
s_env_value(const json_t *env, const char *name)
{
    size_t n = strlen(name), i;
    json_t *item;
    json_array_foreach(env, i, item) {
        const char *s = json_string_value(item);
        if (s && strncmp(s, name, n) == 0 && s[n] == '=') {
            return s + n + 1;
        }
    }
    return NULL;
}

/*  Wanted pairs WANT against what the container has (HAVE_VALUE); adds
    {"old": {K: had or null}, "new": {K: wanted}} under KEY to DIFF. */
static void
s_diff_pairs(json_t *diff, const char *key, const json_t *want, const json_t *env,
             const json_t *labels)
{
    json_t *old = json_object(), *new = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *) want, k, v) {
        const char *had = env ? s_env_value(env, k) : fl_json_str(labels, k);
        if (!had || strcmp(had, json_string_value(v)) != 0) {
            json_object_set_new(old, k, s_str_or_null(had));
            json_object_set(new, k, v);
        }
    }
    if (json_object_size(new) > 0) {
        json_object_set_new(diff, key, s_old_new(old, new));
    } else {
        json_decref(old);
        json_decref(new);
    }
}

static bool
s_running_now(const json_t *info)
{
    const json_t *state = json_object_get(info, "State");
    const char *status = fl_json_str(state, "Status");
    return json_is_true(json_object_get(state, "Running"))
           || (status && strcmp(status, "running") == 0);
}

/*  What differs between WANT (with IMAGE_ID, the id the reference resolves
    to; NULL when the image is not there yet) and the container INFO: an
    object of {"old", "new"} per field, empty when it matches. */
static json_t *
s_diff(const s_want_t *want, const char *image_id, const json_t *info)
{
    json_t *diff = json_object();
    const json_t *config = json_object_get(info, "Config");
    const json_t *host = json_object_get(info, "HostConfig");

    const char *had_image = fl_json_str(info, "Image");
    if (!s_same_id(had_image, image_id)) {
        json_object_set_new(diff, "image",
                            s_old_new(s_str_or_null(had_image),
                                      image_id ? json_string(image_id)
                                               : json_sprintf("(%s, once pulled)", want->image)));
    }
    const json_t *cmd = json_object_get(config, "Cmd");
    if (want->cmd && !json_equal((json_t *) cmd, want->cmd)) {
        json_object_set_new(diff, "command",
                            s_old_new(cmd ? json_deep_copy(cmd) : NULL, json_copy(want->cmd)));
    }
    if (want->env) {
        const json_t *env = json_object_get(config, "Env");
        json_t *empty = json_array();
        s_diff_pairs(diff, "env", want->env, json_is_array(env) ? env : empty, NULL);
        json_decref(empty);
    }
    if (want->labels) {
        s_diff_pairs(diff, "labels", want->labels, NULL, json_object_get(config, "Labels"));
    }

    json_t *had_binds = json_object();
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(host, "Binds"), i, item) {
        const char *why;
        const char *text = json_string_value(item);
        char *key = text ? s_bind_key(text, false, &why) : NULL;
        json_object_set_new(had_binds, key ? key : text ? text : "?", json_true());
        free(key);
    }
    if (!json_equal(had_binds, want->bind_keys)) {
        json_object_set_new(diff, "binds",
                            s_old_new(s_set_list(had_binds), s_set_list(want->bind_keys)));
    }
    json_decref(had_binds);

    const json_t *had_ports = json_object_get(host, "PortBindings");
    json_t *had_port_keys = s_port_keys(json_is_object(had_ports) ? had_ports : NULL,
                                        want->port_keys);
    if (!json_equal(had_port_keys, want->port_keys)) {
        json_object_set_new(diff, "port_bindings",
                            s_old_new(s_set_list(had_port_keys), s_set_list(want->port_keys)));
    }
    json_decref(had_port_keys);

    const json_t *policy = json_object_get(host, "RestartPolicy");
    const char *had_restart = fl_json_str(policy, "Name");
    json_int_t had_max = json_integer_value(json_object_get(policy, "MaximumRetryCount"));
    if (!had_restart || !*had_restart) {
        had_restart = "no";
    }
    if (strcmp(had_restart, want->restart) != 0
        || (strcmp(want->restart, "on-failure") == 0 && had_max != want->restart_max)) {
        json_object_set_new(diff, "restart_policy",
                            s_old_new(had_max ? json_sprintf("%s:%" JSON_INTEGER_FORMAT,
                                                             had_restart, had_max)
                                              : json_string(had_restart),
                                      want->restart_max ? json_sprintf("%s:%d", want->restart,
                                                                       want->restart_max)
                                                        : json_string(want->restart)));
    }

    if (want->network) {
        const char *mode = fl_json_str(host, "NetworkMode");
        const json_t *nets = json_object_get(json_object_get(info, "NetworkSettings"), "Networks");
        bool attached = (mode && strcmp(mode, want->network) == 0)
                        || json_object_get(nets, want->network) != NULL;
        if (!attached) {
            json_t *had = json_array();
            const char *k;
            json_t *v;
            json_object_foreach((json_t *) nets, k, v) {
                json_array_append_new(had, json_string(k));
            }
            if (json_array_size(had) == 0 && mode) {
                json_array_append_new(had, json_string(mode));
            }
            json_object_set_new(diff, "network", s_old_new(had, json_string(want->network)));
        }
    }
    return diff;
}

/* ---------------------------------------------------------------- docker_container */

/*  The comment for a container that stopped right after it started: its
    status, exit code and the last lines it printed. */
static void
s_fail_not_running(s_engine_t *engine, const char *name, const json_t *info, fl_st_ret_t *ret)
{
    const json_t *state = json_object_get(info, "State");
    const char *status = fl_json_str(state, "Status");
    char *logs = NULL, *err = NULL;
    if (engine->ops->logs(engine->impl, name, S_LOG_TAIL, &logs, &err) != 0) {
        free(logs);
        logs = NULL;
    }
    free(err);
    for (char *p = logs; p && *p; p++) {
        if (*p == '\n' && p[1]) {
            *p = ' ';
        }
    }
    size_t n = logs ? strlen(logs) : 0;
    while (n > 0 && (logs[n - 1] == '\n' || logs[n - 1] == ' ')) {
        logs[--n] = '\0';
    }
    s_fail(ret, "Container %s is not running after its start (status %s, exit code %"
           JSON_INTEGER_FORMAT ")%s%s", name, status ? status : "unknown",
           json_integer_value(json_object_get(state, "ExitCode")), n ? "; it printed: " : "",
           n ? logs : "");
    free(logs);
}

/*  Starts NAME and checks that it runs. */
static int
s_start(s_engine_t *engine, const char *name, fl_st_ret_t *ret)
{
    char *err = NULL;
    if (engine->ops->start(engine->impl, name, &err) != 0) {
        s_fail_engine(ret, err, "Failed to start container %s", name);
        return -1;
    }
    free(err);
    json_t *info = NULL;
    int rc = engine->ops->inspect(engine->impl, name, &info, &err);
    if (rc < 0) {
        s_fail_engine(ret, err, "Container %s was started but cannot be inspected", name);
        return -1;
    }
    free(err);
    if (rc != 0 || !s_running_now(info)) {
        s_fail_not_running(engine, name, info, ret);
        json_decref(info);
        return -1;
    }
    json_decref(info);
    return 0;
}

/*  Creates NAME from WANT and starts it; *ID its id (caller frees).
    *LINKS_DROPPED when the engine refused links and got none. */
static int
s_create(s_engine_t *engine, const char *name, const s_want_t *want, char **id,
         bool *links_dropped, fl_st_ret_t *ret)
{
    char *err = NULL;
    json_t *body = s_create_body(want, true);
    *id = NULL;
    int rc = engine->ops->create(engine->impl, name, body, id, &err);
    json_decref(body);
    if (rc != 0 && want->links && err && strstr(err, "link")) {
        /*  podman: "bad parameter: link is not supported" */
        free(err);
        err = NULL;
        free(*id);
        *id = NULL;
        *links_dropped = true;
        body = s_create_body(want, false);
        rc = engine->ops->create(engine->impl, name, body, id, &err);
        json_decref(body);
    }
    if (rc != 0) {
        s_fail_engine(ret, err, "Failed to create container %s from %s", name, want->image);
        free(*id);
        *id = NULL;
        return -1;
    }
    free(err);
    if (!*id) {
        *id = fl_strdup("");
    }
    return s_start(engine, name, ret);
}

/*  Stops NAME (when RUNNING) within TIMEOUT_S, then removes it. */
static int
s_stop_remove(s_engine_t *engine, const char *name, bool running, int timeout_s,
              fl_st_ret_t *ret)
{
    char *err = NULL;
    if (running) {
        /*  A failed stop is not fatal: remove(force) below kills it. */
        (void) engine->ops->stop(engine->impl, name, timeout_s, &err);
        free(err);
        err = NULL;
    }
    if (engine->ops->remove(engine->impl, name, true, &err) < 0) {
        s_fail_engine(ret, err, "Failed to remove container %s", name);
        return -1;
    }
    free(err);
    return 0;
}

static void
s_running(const fl_st_ctx_t *ctx, const char *name, const json_t *args, bool watched,
          fl_st_ret_t *ret)
{
    s_want_t want;
    s_engine_t engine = { NULL, NULL, NULL };
    char *image_id = NULL, *err = NULL, *new_id = NULL;
    json_t *info = NULL, *diff = NULL;
    bool links_dropped = false;
    if (s_want_parse(name, args, &want, ret) != 0) {
        s_want_free(&want);
        return;
    }
    if (s_engine_open(ctx, &engine, ret) != 0
        || s_image_id(&engine, want.image, &image_id, ret) != 0) {
        goto done;
    }
    if (!image_id && !ctx->test) {
        s_fail(ret, "image %s is not present; use docker_image.present first", want.image);
        goto done;
    }
    int rc = engine.ops->inspect(engine.impl, name, &info, &err);
    if (rc < 0) {
        s_fail_engine(ret, err, "cannot inspect container %s", name);
        goto done;
    }
    free(err);
    err = NULL;

    const char *old_id = rc == 0 ? fl_json_str(info, "Id") : NULL;
    bool running = rc == 0 && s_running_now(info);
    diff = rc == 0 ? s_diff(&want, image_id, info) : json_object();
    if (rc == 0 && json_object_size(diff) == 0 && !want.force && !watched) {
        if (running) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "Container %s is already running and up to date", name);
        } else if (ctx->test) {
            ret->result = FL_ST_NONE;
            json_object_set_new(ret->changes, "state", json_pack("{s:s, s:s}", "old", "stopped",
                                                                 "new", "running"));
            fl_st_comment(ret, "Container %s is up to date but stopped; it would be started",
                          name);
        } else if (s_start(&engine, name, ret) == 0) {
            ret->result = FL_ST_TRUE;
            json_object_set_new(ret->changes, "state", json_pack("{s:s, s:s}", "old", "stopped",
                                                                 "new", "running"));
            fl_st_comment(ret, "Container %s was stopped; started it", name);
        }
        goto done;
    }

    /*  Create it, or replace it: what differs goes into changes first. */
    json_object_update(ret->changes, diff);
    const char *why = rc != 0 ? "created"
                      : json_object_size(diff) > 0 ? "replaced: its configuration differed"
                      : watched ? "replaced: a watched state changed"
                                : "replaced (force)";
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, "container_id",
                            s_old_new(s_str_or_null(old_id),
                                      json_string(rc != 0 ? "(would be created)"
                                                          : "(would be replaced)")));
        fl_st_comment(ret, "Container %s would be %s%s", name, why,
                      image_id ? "" : " (its image is not present yet: docker_image.present "
                                      "must pull it first)");
        goto done;
    }
    if (rc == 0 && s_stop_remove(&engine, name, running, want.shutdown_timeout_s, ret) != 0) {
        json_object_clear(ret->changes);
        goto done;
    }
    if (s_create(&engine, name, &want, &new_id, &links_dropped, ret) != 0) {
        /*  Say what did happen: the old container is gone, a new one may
            exist without running. */
        if (old_id || new_id) {
            json_object_set_new(ret->changes, "container_id",
                                s_old_new(s_str_or_null(old_id), s_str_or_null(new_id)));
        } else {
            json_object_clear(ret->changes);
        }
        if (old_id) {
            char *text = fl_strdup(ret->comment ? ret->comment : "");
            fl_st_comment(ret, "%s (the old container %s was removed)", text, old_id);
            free(text);
        }
        goto done;
    }
    ret->result = FL_ST_TRUE;
    json_object_set_new(ret->changes, "container_id",
                        s_old_new(s_str_or_null(old_id), json_string(new_id)));
    fl_st_comment(ret, "Container %s was %s", name, why);
done:
    if (want.links) {
        s_comment_add(ret, links_dropped ? S_LINKS_NOTE " (this engine refused them: the "
                                           "container was created without links)"
                                         : S_LINKS_NOTE);
    }
    json_decref(diff);
    json_decref(info);
    free(image_id);
    free(new_id);
    s_engine_close(&engine);
    s_want_free(&want);
}

void
st_docker_container_running(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                            fl_st_ret_t *ret)
{
    s_running(ctx, name, args, false, ret);
}

void
st_docker_container_mod_watch(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                              fl_st_ret_t *ret)
{
    const char *sfun = fl_json_str(args, "sfun");
    if (sfun && strcmp(sfun, "running") != 0) {
        s_fail(ret, "watch requisite is not implemented for docker_container.%s", sfun);
        return;
    }
    s_running(ctx, name, args, true, ret);
}

/*  Inspects NAME into *INFO (NULL when it does not exist). */
static int
s_container_info(s_engine_t *engine, const char *name, json_t **info, fl_st_ret_t *ret)
{
    char *err = NULL;
    *info = NULL;
    int rc = engine->ops->inspect(engine->impl, name, info, &err);
    if (rc < 0) {
        s_fail_engine(ret, err, "cannot inspect container %s", name);
        return -1;
    }
    free(err);
    if (rc != 0) {
        json_decref(*info);
        *info = NULL;
    }
    return 0;
}

void
st_docker_container_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                           fl_st_ret_t *ret)
{
    bool force = false;
    s_engine_t engine = { NULL, NULL, NULL };
    json_t *info = NULL;
    char *err = NULL;
    if (!name || !*name) {
        s_fail(ret, "docker_container.absent needs a name");
        return;
    }
    if (s_arg_bool(args, "force", false, &force, ret) != 0 || s_engine_open(ctx, &engine, ret) != 0
        || s_container_info(&engine, name, &info, ret) != 0) {
        goto done;
    }
    const char *id = fl_json_str(info, "Id");
    if (!info) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Container %s does not exist", name);
    } else if (s_running_now(info) && !force) {
        s_fail(ret, "Container %s is running; set force: True to remove it anyway", name);
    } else if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, "removed", s_str_or_null(id));
        fl_st_comment(ret, "Container %s would be removed", name);
    } else if (engine.ops->remove(engine.impl, name, force, &err) < 0) {
        s_fail_engine(ret, err, "Failed to remove container %s", name);
    } else {
        free(err);
        ret->result = FL_ST_TRUE;
        json_object_set_new(ret->changes, "removed", s_str_or_null(id));
        fl_st_comment(ret, "Removed container %s", name);
    }
done:
    json_decref(info);
    s_engine_close(&engine);
}

void
st_docker_container_stopped(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                            fl_st_ret_t *ret)
{
    bool error_on_absent = true;
    int timeout_s = S_SHUTDOWN_TIMEOUT_S;
    s_engine_t engine = { NULL, NULL, NULL };
    json_t *info = NULL;
    char *err = NULL;
    if (!name || !*name) {
        s_fail(ret, "docker_container.stopped needs a name");
        return;
    }
    if (s_arg_bool(args, "error_on_absent", true, &error_on_absent, ret) != 0
        || s_arg_seconds(args, "shutdown_timeout", S_SHUTDOWN_TIMEOUT_S, &timeout_s, ret) != 0
        || s_engine_open(ctx, &engine, ret) != 0
        || s_container_info(&engine, name, &info, ret) != 0) {
        goto done;
    }
    if (!info) {
        ret->result = error_on_absent ? FL_ST_FALSE : FL_ST_TRUE;
        fl_st_comment(ret, "Container %s does not exist", name);
    } else if (!s_running_now(info)) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Container %s is already stopped", name);
    } else if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, "state",
                            json_pack("{s:s, s:s}", "old", "running", "new", "stopped"));
        fl_st_comment(ret, "Container %s would be stopped", name);
    } else if (engine.ops->stop(engine.impl, name, timeout_s, &err) < 0) {
        s_fail_engine(ret, err, "Failed to stop container %s", name);
    } else {
        free(err);
        ret->result = FL_ST_TRUE;
        json_object_set_new(ret->changes, "state",
                            json_pack("{s:s, s:s}", "old", "running", "new", "stopped"));
        fl_st_comment(ret, "Stopped container %s", name);
    }
done:
    json_decref(info);
    s_engine_close(&engine);
}
