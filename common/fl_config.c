/*  fl_config.c: configuration files checked against a typed table.

    Why a table: as in Redis' config.c, one list of {name, type, default,
    bounds, doc} drives the parser, the checks and the documentation
    (fl_config_print_spec), so a key cannot be parsed one way and documented
    another.  The file is read with fl_yaml, so every error points at
    file:line:col:

    - the root must be a map; an empty file (or one holding only "---" or
      "~") gives every default;
    - an unknown key is an error at the key, with "did you mean 'x'?" when
      a known key is within a small edit distance (case-insensitive
      Levenshtein: 1 for names of up to 3 characters, 2 up to 6, 3 beyond);
    - a value of the wrong type is an error at the value;
    - a missing required key is an error at 1:1 of the file;
    - defaults are written as they would be in the file and go through the
      same YAML parse and the same conversion (so a relative default path
      also resolves against the config file's directory); a bad default is
      reported under the name "<default of 'key'>".

    Types (YAML 1.1 typing comes from fl_yaml_to_json):
    - STRING: any scalar, kept as written ("yes" stays "yes").
    - PATH: a non-empty scalar; a relative path is joined to the directory
      of the config file (made absolute at load, since daemons chdir("/")).
    - INT: a plain YAML integer (decimal, 0x, 0o/0 octal) in [min, max];
      min == max == 0 means no bounds.  A quoted "30" is a string, not an
      integer, as in Salt.
    - BOOL: true/false, yes/no, on/off (any case), unquoted.
    - LOGLEVEL: error|warning|notice|info|debug ("warn" is accepted);
      fl_config_str gives the canonical name, fl_config_int the
      fl_log_level_t.
    - ENDPOINT: tcp://HOST:PORT with HOST a name, an IPv4 address, "*" or
      [IPv6], and PORT 1-65535 or "*"; or ipc://PATH (a relative PATH is
      joined to the config directory like a PATH value; "@name" is Linux's
      abstract namespace and kept as is; at most 107 bytes, the size of
      sun_path).
    - MAP / LIST: any mapping / sequence, kept as JSON.
    A null value (`key:` or `key: ~`) unsets STRING, PATH, MAP and LIST keys
    (so a file can switch off a default log file), is an error for the
    other types, and for a required key.

    The spec array is copied (shallowly: its strings must outlive the
    config, which holds for the static tables it is meant for). */
#include "fl_config.h"
#include "fl_log.h"
#include "fl_util.h"
#include "fl_yaml.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>

/*  sizeof(((struct sockaddr_un *) 0)->sun_path) - 1 on Linux. */
#define S_IPC_PATH_MAX 107
/*  Keys longer than this get no "did you mean" hint. */
#define S_HINT_MAX_LEN 64

typedef struct {
    bool has;       /* a value, from the file or the default */
    bool set;       /* from the file */
    char *str;      /* scalar types: the value as text */
    int64_t num;    /* INT value, BOOL 0/1, LOGLEVEL level (64-bit on ARM too) */
    json_t *json;   /* MAP / LIST */
} s_value_t;

struct fl_config {
    char *file;
    fl_cfg_spec_t *spec;
    size_t n;
    s_value_t *values;
};

static const char *s_type_names[] = {
    [FL_CFG_STRING] = "string", [FL_CFG_PATH] = "path",         [FL_CFG_INT] = "int",
    [FL_CFG_BOOL] = "bool",     [FL_CFG_LOGLEVEL] = "loglevel", [FL_CFG_ENDPOINT] = "endpoint",
    [FL_CFG_MAP] = "map",       [FL_CFG_LIST] = "list",
};

static const char *s_level_names[] = { "error", "warning", "notice", "info", "debug" };

/*  Context of one load, so helpers take one argument instead of five. */
typedef struct {
    const char *file;       /* name used in positions */
    const char *base_dir;   /* for relative paths; may be NULL */
    fl_diag_t *diag;
} s_ctx_t;

/*  --------------------------------------------------------------------
    Small helpers */

static size_t
s_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t prev[S_HINT_MAX_LEN + 1], cur[S_HINT_MAX_LEN + 1];
    assert(la <= S_HINT_MAX_LEN && lb <= S_HINT_MAX_LEN);
    for (size_t j = 0; j <= lb; j++) {
        prev[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char) a[i - 1]) != tolower((unsigned char) b[j - 1]);
            size_t best = prev[j - 1] + cost;
            if (prev[j] + 1 < best) {
                best = prev[j] + 1;
            }
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            cur[j] = best;
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/*  The closest of N names to WORD when it is close enough, or NULL.  The
    names are read every STRIDE bytes from NAMES, so this works on a plain
    array of strings and on the name field of a spec table alike. */
static const char *
s_closest(const char *word, const char *const *names, size_t n, size_t stride)
{
    size_t len = strlen(word);
    if (len == 0 || len > S_HINT_MAX_LEN) {
        return NULL;
    }
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *) ((const char *) names + i * stride);
        if (strlen(name) > S_HINT_MAX_LEN) {
            continue;
        }
        size_t d = s_levenshtein(word, name);
        if (d < best_d) {
            best_d = d;
            best = name;
        }
    }
    return best_d <= limit ? best : NULL;
}

static bool
s_is_null(const fl_yaml_node_t *node)
{
    if (!node) {
        return true;
    }
    if (node->kind != FL_YAML_SCALAR) {
        return false;
    }
    if (node->tag) {
        return strcmp(node->tag, "!!null") == 0;
    }
    const char *v = node->value;
    return node->plain
        && (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0
            || strcmp(v, "NULL") == 0);
}

/*  "a map", "a list" or the scalar quoted (shortened); caller frees. */
static char *
s_describe(const fl_yaml_node_t *node)
{
    if (node->kind == FL_YAML_MAP) {
        return fl_strdup("a map");
    }
    if (node->kind == FL_YAML_SEQ) {
        return fl_strdup("a list");
    }
    char *s = fl_sprintf("'%.40s%s'", node->value, node->len > 40 ? "..." : "");
    for (char *p = s; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7F) {
            *p = '?';
        }
    }
    return s;
}

static void
s_type_error(const s_ctx_t *ctx, const fl_cfg_spec_t *spec, const fl_yaml_node_t *node,
             const char *hint, const char *expected)
{
    char *found = s_describe(node);
    fl_diag_add(ctx->diag, ctx->file, node->line, node->col, FL_DIAG_ERROR, hint,
                "'%s' expects %s, found %s", spec->name, expected, found);
    free(found);
}

/*  A scalar's text without NUL bytes, or NULL (and an error). */
static const char *
s_scalar_text(const s_ctx_t *ctx, const fl_cfg_spec_t *spec, const fl_yaml_node_t *node,
              const char *expected)
{
    if (node->kind != FL_YAML_SCALAR) {
        s_type_error(ctx, spec, node, NULL, expected);
        return NULL;
    }
    if (strlen(node->value) != node->len) {
        fl_diag_add(ctx->diag, ctx->file, node->line, node->col, FL_DIAG_ERROR, NULL,
                    "'%s' contains a NUL character", spec->name);
        return NULL;
    }
    return node->value;
}

static char *
s_resolve(const s_ctx_t *ctx, const char *path)
{
    if (path[0] == '/' || !ctx->base_dir || !*ctx->base_dir) {
        return fl_strdup(path);
    }
    return fl_path_join(ctx->base_dir, path);
}

/*  --------------------------------------------------------------------
    Endpoints */

static bool
s_port_ok(const char *port)
{
    if (strcmp(port, "*") == 0) {
        return true;
    }
    size_t n = strlen(port);
    if (n == 0 || n > 5 || strspn(port, "0123456789") != n) {
        return false;
    }
    long v = strtol(port, NULL, 10);
    return v >= 1 && v <= 65535;
}

/*  NULL when TEXT is a good tcp:// endpoint, else why not. */
static const char *
s_tcp_problem(const char *text)
{
    const char *host = text + strlen("tcp://");
    const char *colon;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || close == host + 1) {
            return "an IPv6 address is written [ADDR]";
        }
        size_t n = (size_t) (close - host - 1);
        /* hex digits, ':' and '.', and after '%' an interface name */
        if (strspn(host + 1, "0123456789abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ:.%_-")
            < n) {
            return "bad character in the IPv6 address";
        }
        if (close[1] != ':') {
            return "the address must end with :PORT";
        }
        colon = close + 1;
    } else {
        colon = strrchr(host, ':');
        if (!colon) {
            return "the address must end with :PORT";
        }
        size_t n = (size_t) (colon - host);
        if (n == 0) {
            return "the host is missing (use * for every interface)";
        }
        bool star = n == 1 && host[0] == '*';
        if (!star
            && strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
                   < n) {
            return "bad character in the host name";
        }
    }
    if (!s_port_ok(colon + 1)) {
        return "the port must be a number from 1 to 65535, or *";
    }
    return NULL;
}

static char *
s_endpoint(const s_ctx_t *ctx, const fl_cfg_spec_t *spec, const fl_yaml_node_t *node)
{
    const char *expected = "an endpoint like tcp://HOST:PORT or ipc://PATH";
    const char *text = s_scalar_text(ctx, spec, node, expected);
    if (!text) {
        return NULL;
    }
    if (strncmp(text, "tcp://", 6) == 0) {
        const char *why = s_tcp_problem(text);
        if (why) {
            s_type_error(ctx, spec, node, why, expected);
            return NULL;
        }
        return fl_strdup(text);
    }
    if (strncmp(text, "ipc://", 6) == 0) {
        const char *path = text + 6;
        if (!*path) {
            s_type_error(ctx, spec, node, "the socket path is missing", expected);
            return NULL;
        }
        char *full = path[0] == '@' ? fl_strdup(path) : s_resolve(ctx, path);
        char *result = fl_sprintf("ipc://%s", full);
        size_t n = strlen(full);
        free(full);
        if (n > S_IPC_PATH_MAX) {
            fl_diag_add(ctx->diag, ctx->file, node->line, node->col, FL_DIAG_ERROR,
                        "use a shorter path", "'%s': socket path is longer than %d bytes",
                        spec->name, S_IPC_PATH_MAX);
            free(result);
            return NULL;
        }
        return result;
    }
    s_type_error(ctx, spec, node, "the scheme must be tcp:// or ipc://", expected);
    return NULL;
}

/*  --------------------------------------------------------------------
    Conversion of one value, from the file or a default */

static json_t *
s_typed(const s_ctx_t *ctx, const fl_yaml_node_t *node)
{
    return fl_yaml_to_json(node, ctx->file, ctx->diag);
}

static int
s_convert(const s_ctx_t *ctx, const fl_cfg_spec_t *spec, const fl_yaml_node_t *node,
          s_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (s_is_null(node)) {
        bool nullable = spec->type == FL_CFG_STRING || spec->type == FL_CFG_PATH
                     || spec->type == FL_CFG_MAP || spec->type == FL_CFG_LIST;
        if (nullable && !spec->required) {
            return 0;
        }
        int line = node ? node->line : 1, col = node ? node->col : 1;
        fl_diag_add(ctx->diag, ctx->file, line, col, FL_DIAG_ERROR, NULL,
                    "'%s' needs a value (%s)", spec->name, s_type_names[spec->type]);
        return -1;
    }
    const char *text;
    json_t *j;
    switch (spec->type) {
    case FL_CFG_STRING:
        text = s_scalar_text(ctx, spec, node, "a string");
        if (!text) {
            return -1;
        }
        out->str = fl_strdup(text);
        break;
    case FL_CFG_PATH:
        text = s_scalar_text(ctx, spec, node, "a path");
        if (!text) {
            return -1;
        }
        if (!*text) {
            s_type_error(ctx, spec, node, NULL, "a path");
            return -1;
        }
        out->str = s_resolve(ctx, text);
        break;
    case FL_CFG_INT:
        if (node->kind != FL_YAML_SCALAR) {
            s_type_error(ctx, spec, node, NULL, "an integer");
            return -1;
        }
        j = s_typed(ctx, node);
        if (!j) {
            return -1;
        }
        if (!json_is_integer(j)) {
            json_decref(j);
            s_type_error(ctx, spec, node,
                         node->plain ? NULL : "write the number without quotes", "an integer");
            return -1;
        }
        {
            json_int_t v = json_integer_value(j);
            json_decref(j);
            int64_t min = spec->min, max = spec->max;
            if (min == 0 && max == 0) {
                min = INT64_MIN;
                max = INT64_MAX;
            }
            if (v < min || v > max) {
                fl_diag_add(ctx->diag, ctx->file, node->line, node->col, FL_DIAG_ERROR, NULL,
                            "'%s' must be between %" PRId64 " and %" PRId64 ", found %lld", spec->name, min,
                            max, (long long) v);
                return -1;
            }
            out->num = v;
            out->str = fl_sprintf("%" PRId64, out->num);
        }
        break;
    case FL_CFG_BOOL:
        if (node->kind != FL_YAML_SCALAR) {
            s_type_error(ctx, spec, node, NULL, "a boolean");
            return -1;
        }
        j = s_typed(ctx, node);
        if (!j) {
            return -1;
        }
        if (!json_is_boolean(j)) {
            json_decref(j);
            s_type_error(ctx, spec, node, "use true/false, yes/no or on/off, without quotes",
                         "a boolean");
            return -1;
        }
        out->num = json_is_true(j);
        out->str = fl_strdup(out->num ? "true" : "false");
        json_decref(j);
        break;
    case FL_CFG_LOGLEVEL: {
        text = s_scalar_text(ctx, spec, node, "a log level");
        if (!text) {
            return -1;
        }
        fl_log_level_t level;
        if (fl_log_level_parse(text, &level) != 0) {
            const char *close = s_closest(text, s_level_names, FL_ARRAY_LEN(s_level_names),
                                          sizeof s_level_names[0]);
            char *hint = close ? fl_sprintf("did you mean '%s'?", close) : NULL;
            s_type_error(ctx, spec, node,
                         hint ? hint : "one of error, warning, notice, info, debug",
                         "a log level");
            free(hint);
            return -1;
        }
        out->num = level;
        out->str = fl_strdup(s_level_names[level]);
        break;
    }
    case FL_CFG_ENDPOINT:
        out->str = s_endpoint(ctx, spec, node);
        if (!out->str) {
            return -1;
        }
        break;
    case FL_CFG_MAP:
    case FL_CFG_LIST: {
        fl_yaml_kind_t want = spec->type == FL_CFG_MAP ? FL_YAML_MAP : FL_YAML_SEQ;
        if (node->kind != want) {
            s_type_error(ctx, spec, node, NULL, want == FL_YAML_MAP ? "a map" : "a list");
            return -1;
        }
        out->json = s_typed(ctx, node);
        if (!out->json) {
            return -1;
        }
        break;
    }
    default:
        assert(!"unknown config type");
        return -1;
    }
    out->has = true;
    return 0;
}

/*  Parses the default of SPEC as YAML text and converts it. */
static int
s_convert_default(const s_ctx_t *ctx, const fl_cfg_spec_t *spec, s_value_t *out)
{
    memset(out, 0, sizeof *out);
    if (!spec->default_value) {
        return 0;
    }
    char *name = fl_sprintf("<default of '%s'>", spec->name);
    fl_yaml_doc_t *doc = fl_yaml_parse_string(name, spec->default_value,
                                              strlen(spec->default_value), ctx->diag);
    int rc = -1;
    if (doc) {
        s_ctx_t dctx = { name, ctx->base_dir, ctx->diag };
        fl_cfg_spec_t optional = *spec;
        optional.required = false;   /* a null default just leaves it unset */
        rc = s_convert(&dctx, &optional, fl_yaml_root(doc), out);
        fl_yaml_destroy(&doc);
    }
    free(name);
    return rc;
}

/*  --------------------------------------------------------------------
    Loading */

static void
s_value_clear(s_value_t *v)
{
    free(v->str);
    json_decref(v->json);
    memset(v, 0, sizeof *v);
}

static void
s_check_spec(const fl_cfg_spec_t *spec, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert(spec[i].name && *spec[i].name);
        assert((size_t) spec[i].type < FL_ARRAY_LEN(s_type_names));
        assert(spec[i].type != FL_CFG_INT || spec[i].min <= spec[i].max);
        for (size_t j = 0; j < i; j++) {
            assert(strcmp(spec[i].name, spec[j].name) != 0);
        }
    }
    FL_UNUSED(spec);
    FL_UNUSED(n);
}

static ssize_t
s_spec_find(const fl_cfg_spec_t *spec, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(spec[i].name) == len && memcmp(spec[i].name, name, len) == 0) {
            return (ssize_t) i;
        }
    }
    return -1;
}

static void
s_unknown_key(const s_ctx_t *ctx, const fl_cfg_spec_t *spec, size_t n, const fl_yaml_node_t *key)
{
    char *shown = s_describe(key);
    const char *close = n > 0 && strlen(key->value) == key->len
                          ? s_closest(key->value, &spec[0].name, n, sizeof *spec)
                          : NULL;
    char *hint = close ? fl_sprintf("did you mean '%s'?", close) : NULL;
    fl_diag_add(ctx->diag, ctx->file, key->line, key->col, FL_DIAG_ERROR, hint, "unknown key %s",
                shown);
    free(hint);
    free(shown);
}

static fl_config_t *
s_load(const s_ctx_t *ctx, const fl_yaml_doc_t *doc, const fl_cfg_spec_t *spec, size_t n)
{
    s_check_spec(spec, n);
    size_t errors = fl_diag_errors(ctx->diag);
    fl_config_t *self = fl_calloc(1, sizeof *self);
    self->file = fl_strdup(ctx->file);
    self->n = n;
    self->spec = fl_calloc(n, sizeof *self->spec);
    if (n > 0) {
        memcpy(self->spec, spec, n * sizeof *spec);
    }
    self->values = fl_calloc(n, sizeof *self->values);

    const fl_yaml_node_t *root = fl_yaml_root(doc);
    if (s_is_null(root)) {
        root = NULL;
    } else if (root->kind != FL_YAML_MAP) {
        char *found = s_describe(root);
        fl_diag_add(ctx->diag, ctx->file, root->line, root->col, FL_DIAG_ERROR,
                    "write one 'key: value' per line", "the configuration must be a map, found %s",
                    found);
        free(found);
        root = NULL;
    }
    for (size_t i = 0; root && i < root->count; i++) {
        const fl_yaml_node_t *key = root->keys[i];
        if (key->kind != FL_YAML_SCALAR) {
            fl_diag_add(ctx->diag, ctx->file, key->line, key->col, FL_DIAG_ERROR, NULL,
                        "a key must be a plain name, found %s",
                        key->kind == FL_YAML_MAP ? "a map" : "a list");
            continue;
        }
        ssize_t at = s_spec_find(spec, n, key->value, key->len);
        if (at < 0) {
            s_unknown_key(ctx, spec, n, key);
            continue;
        }
        s_value_t *v = &self->values[at];
        if (s_convert(ctx, &spec[at], root->items[i], v) == 0) {
            v->set = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const fl_yaml_node_t *node = fl_yaml_map_get(root, spec[i].name);
        if (node) {
            continue;
        }
        if (spec[i].required) {
            fl_diag_add(ctx->diag, ctx->file, 1, 1, FL_DIAG_ERROR, NULL,
                        "missing required key '%s' (%s)", spec[i].name,
                        s_type_names[spec[i].type]);
            continue;
        }
        s_convert_default(ctx, &spec[i], &self->values[i]);
    }
    if (fl_diag_errors(ctx->diag) > errors) {
        fl_config_destroy(&self);
    }
    return self;
}

/*  The directory of PATH, absolute (the daemons chdir("/") later). */
static char *
s_abs_dirname(const char *path)
{
    char *dir = fl_path_dirname(path);
    if (dir[0] == '/') {
        return dir;
    }
    char *cwd = getcwd(NULL, 0);
    if (!cwd) {
        return dir;
    }
    char *full = strcmp(dir, ".") == 0 ? fl_strdup(cwd) : fl_path_join(cwd, dir);
    free(cwd);
    free(dir);
    return full;
}

fl_config_t *
fl_config_load(const char *path, const fl_cfg_spec_t *spec, size_t n, fl_diag_t *diag)
{
    assert(path && diag);
    fl_yaml_doc_t *doc = fl_yaml_parse_file(path, diag);
    if (!doc) {
        return NULL;
    }
    char *dir = s_abs_dirname(path);
    s_ctx_t ctx = { path, dir, diag };
    fl_config_t *self = s_load(&ctx, doc, spec, n);
    free(dir);
    fl_yaml_destroy(&doc);
    return self;
}

fl_config_t *
fl_config_load_string(const char *name, const char *text, const char *base_dir,
                      const fl_cfg_spec_t *spec, size_t n, fl_diag_t *diag)
{
    assert(diag);
    if (!name) {
        name = "<config>";
    }
    fl_yaml_doc_t *doc = fl_yaml_parse_string(name, text ? text : "", text ? strlen(text) : 0,
                                              diag);
    if (!doc) {
        return NULL;
    }
    s_ctx_t ctx = { name, base_dir, diag };
    fl_config_t *self = s_load(&ctx, doc, spec, n);
    fl_yaml_destroy(&doc);
    return self;
}

void
fl_config_destroy(fl_config_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_config_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        s_value_clear(&self->values[i]);
    }
    free(self->values);
    free(self->spec);
    free(self->file);
    free(self);
    *self_p = NULL;
}

/*  --------------------------------------------------------------------
    Values */

/*  The value of NAME; aborts when NAME is not in the table or its type is
    not one of TYPES (a bit mask of 1 << type): both are programming errors. */
static const s_value_t *
s_get(const fl_config_t *self, const char *name, unsigned types, const char *caller)
{
    assert(self && name);
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->spec[i].name, name) == 0) {
            if (!(types & (1u << self->spec[i].type))) {
                fprintf(stderr, "fleet: %s('%s'): key is of type %s\n", caller, name,
                        s_type_names[self->spec[i].type]);
                abort();
            }
            return &self->values[i];
        }
    }
    fprintf(stderr, "fleet: %s('%s'): no such key in the config table\n", caller, name);
    abort();
}

#define S_ALL_TYPES 0xFFu
#define S_T(t) (1u << (t))

const char *
fl_config_str(const fl_config_t *self, const char *name)
{
    const s_value_t *v = s_get(self, name,
                               S_T(FL_CFG_STRING) | S_T(FL_CFG_PATH) | S_T(FL_CFG_INT)
                                   | S_T(FL_CFG_BOOL) | S_T(FL_CFG_LOGLEVEL)
                                   | S_T(FL_CFG_ENDPOINT),
                               __func__);
    return v->str;
}

int64_t
fl_config_int(const fl_config_t *self, const char *name)
{
    const s_value_t *v = s_get(self, name,
                               S_T(FL_CFG_INT) | S_T(FL_CFG_BOOL) | S_T(FL_CFG_LOGLEVEL),
                               __func__);
    return v->num;
}

bool
fl_config_bool(const fl_config_t *self, const char *name)
{
    const s_value_t *v = s_get(self, name, S_T(FL_CFG_BOOL), __func__);
    return v->num != 0;
}

const json_t *
fl_config_json(const fl_config_t *self, const char *name)
{
    const s_value_t *v = s_get(self, name, S_T(FL_CFG_MAP) | S_T(FL_CFG_LIST), __func__);
    return v->json;
}

bool
fl_config_is_set(const fl_config_t *self, const char *name)
{
    return s_get(self, name, S_ALL_TYPES, __func__)->set;
}

const char *
fl_config_file(const fl_config_t *self)
{
    return self ? self->file : NULL;
}

void
fl_config_print_spec(const fl_cfg_spec_t *spec, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const fl_cfg_spec_t *s = &spec[i];
        fprintf(out, "%-24s %-9s %-24s %s", s->name, s_type_names[s->type],
                s->default_value ? s->default_value : "-", s->doc ? s->doc : "");
        if (s->type == FL_CFG_INT && !(s->min == 0 && s->max == 0)) {
            fprintf(out, " [%" PRId64 "..%" PRId64 "]", s->min, s->max);
        }
        if (s->required) {
            fputs(" (required)", out);
        }
        fputc('\n', out);
    }
}

fl_config_t *
fl_config_load_daemon(const char *path, const fl_cfg_spec_t *spec, size_t n, bool debug)
{
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *config = fl_config_load(path, spec, n, diag);
    if (!config) {
        fl_diag_print(diag, stderr);
        fl_diag_destroy(&diag);
        return NULL;
    }
    fl_diag_destroy(&diag);
    fl_log_level_t level = FL_LOG_NOTICE;
    const char *name = fl_config_str(config, "log_level");
    if (name) {
        fl_log_level_parse(name, &level);
    }
    fl_log_set_level(debug ? FL_LOG_DEBUG : level);
    return config;
}
