/*  fl_sls.c: the state compiler, part one: SLS files, declarations,
    include/exclude/extend, and fl_sls_compile itself.  Argument values,
    placeholders and the chunks of each declaration are in
    fl_sls_chunk.c, requisites and ordering in fl_sls_req.c, top files and
    pillar in fl_top.c; fl_sls_int.h is what they share.

    Why it is shaped this way.  Salt's compiler works on Python dicts and
    finds most mistakes only when a state runs; fleet compiles on the
    master, before anything is sent, and keeps the YAML node of every
    argument so that each mistake points at file:line:col.  The steps:

      1. load: each SLS named (and, depth first, what it includes) is read
         from the source, rendered when it has template syntax, parsed.
         An SLS is loaded once; an included SLS's states come before the
         including file's states (Salt orders by include).
      2. declare: every ID becomes one declaration per module, holding its
         function and its argument nodes (not yet converted: extend may
         still replace them).  IDs are unique across all files.
      3. extend, then exclude, in load order.
      4. chunks: each declaration gives one chunk per name (`names:`),
         with its arguments converted to JSON (((placeholders)) resolved
         from pillar, then grains), its requisites as written, its order.
      5. fl_sls_order (fl_sls_req.c) resolves requisites to chunks and
         orders them.
    Errors are collected at every step; steps 1-4 run on after errors, so
    that one run reports as much as possible; step 5 runs only when they
    found none (a state that failed to declare would make requisites on it
    "match no state").  Nothing is returned when there is any error. */
#include "fl_sls_int.h"
#include "fl_json.h"
#include "fl_tmpl.h"

#include <assert.h>
#include <ctype.h>
#include <fnmatch.h>

/*  Longest SLS name. */
#define FL_SLS_MAX_NAME 512

/*  --------------------------------------------------------------------
    Names and files */

bool
fl_sls_name_ok(const char *name)
{
    if (!name || !*name || strlen(name) > FL_SLS_MAX_NAME) {
        return false;
    }
    bool empty = true;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char) *p;
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') {
            return false;
        }
        if (c == '.') {
            if (empty) {
                return false;
            }
            empty = true;
        } else {
            empty = false;
        }
    }
    return !empty;
}

char *
fl_sls_relative(const char *from, bool is_init, const char *inc, char **err)
{
    assert(from && inc && err);
    *err = NULL;
    size_t dots = strspn(inc, ".");
    const char *rest = inc + dots;
    if (*rest == '\0') {
        *err = fl_sprintf("relative include '%s' names nothing", inc);
        return NULL;
    }
    /* The package of FROM: its components, plus "init" for init.sls. */
    size_t ncomps = 1;
    for (const char *p = from; *p; p++) {
        ncomps += *p == '.';
    }
    ncomps += is_init ? 1 : 0;
    if (dots > ncomps) {
        *err = fl_sprintf("relative include '%s' in '%s' goes above the top of the tree", inc,
                          from);
        return NULL;
    }
    size_t keep = ncomps - dots;    /* components of FROM to keep */
    size_t prefix_len = 0, seen = 0;
    if (keep > 0) {
        const char *p = from;
        for (; *p; p++) {
            if (*p == '.' && ++seen == keep) {
                break;
            }
        }
        prefix_len = (size_t) (p - from);
    }
    if (prefix_len == 0) {
        return fl_strdup(rest);
    }
    return fl_sprintf("%.*s.%s", (int) prefix_len, from, rest);
}

int
fl_sls_load(fl_src_t *src, const char *name, const json_t *context, fl_diag_t *diag,
            const char *file, int line, int col, char **path, fl_yaml_doc_t **doc)
{
    assert(src && name && diag && path && doc);
    *path = NULL;
    *doc = NULL;
    if (!fl_sls_name_ok(name)) {
        fl_diag_error(diag, file, line, col, "invalid SLS name '%.128s'", name);
        return -1;
    }
    char *base = fl_strdup(name);
    for (char *p = base; *p; p++) {
        if (*p == '.') {
            *p = '/';
        }
    }
    char *text = NULL;
    size_t len = 0;
    char *found = NULL;
    for (int i = 0; i < 2 && !found; i++) {
        char *candidate = fl_sprintf(i == 0 ? "%s.sls" : "%s/init.sls", base);
        char *err = NULL;
        int rc = fl_src_read(src, candidate, &text, &len, &err);
        if (rc == 0) {
            found = candidate;
            break;
        }
        if (rc < 0) {
            fl_diag_error(diag, file, line, col, "cannot read SLS '%s': %s", name,
                          err ? err : "error");
            free(err);
            free(candidate);
            free(base);
            return -1;
        }
        free(candidate);
    }
    free(base);
    if (!found) {
        return 1;
    }
    if (fl_tmpl_has_syntax(text)) {
        char *out = fl_tmpl_render(found, text, context, diag);
        free(text);
        if (!out) {
            free(found);
            return -1;
        }
        text = out;
        len = strlen(out);
    }
    fl_diag_set_source(diag, found, text);
    *doc = fl_yaml_parse_string(found, text, len, diag);
    free(text);
    if (!*doc) {
        free(found);
        return -1;
    }
    *path = found;
    return 0;
}

static const fl_sls_file_t *
s_file_find(const fl_sls_ctx_t *ctx, const char *sls)
{
    for (size_t i = 0; i < ctx->nfiles; i++) {
        if (strcmp(ctx->files[i]->sls, sls) == 0) {
            return ctx->files[i];
        }
    }
    return NULL;
}

static fl_sls_file_t *
s_file_add(fl_sls_ctx_t *ctx, const char *sls, char *path, fl_yaml_doc_t *doc)
{
    if (ctx->nfiles == ctx->filecap) {
        ctx->filecap = ctx->filecap ? 2 * ctx->filecap : 8;
        ctx->files = fl_realloc(ctx->files, ctx->filecap * sizeof *ctx->files);
    }
    fl_sls_file_t *f = fl_calloc(1, sizeof *f);
    f->sls = fl_strdup(sls);
    f->path = path ? path : fl_strdup("");
    f->doc = doc;
    ctx->files[ctx->nfiles++] = f;
    return f;
}

static void
s_pending_add(fl_sls_pending_t **list, size_t *n, size_t *cap, const fl_sls_file_t *file,
              const fl_yaml_node_t *node)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 4;
        *list = fl_realloc(*list, *cap * sizeof **list);
    }
    (*list)[*n].file = file;
    (*list)[*n].node = node;
    (*n)++;
}
/*  --------------------------------------------------------------------
    Declarations */

static bool
s_ident_ok(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char) s[i]) && s[i] != '_') {
            return false;
        }
    }
    return true;
}

static void
s_decl_free(fl_sls_decl_t *d)
{
    if (d) {
        free(d->id);
        free(d->mod);
        free(d->fun);
        free(d->args);
        free(d);
    }
}

static void
s_arg_push(fl_sls_decl_t *d, const fl_sls_arg_t *arg)
{
    if (d->nargs == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 8;
        d->args = fl_realloc(d->args, d->cap * sizeof *d->args);
    }
    d->args[d->nargs++] = *arg;
}

/*  Known argument names, for the hint when one is used as a module. */
static bool
s_is_arg_name(const char *key)
{
    static const char *const names[] = {
        "name", "names", "order", "unless", "onlyif", "creates", "runas", "cwd", "env",
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
        if (strcmp(key, names[i]) == 0) {
            return true;
        }
    }
    fl_sls_req_kind_t kind;
    bool in;
    return fl_sls_req_parse_key(key, &kind, &in) != 0;
}

/*  Reads one `mod.fun: [args]` or `mod: [fun, args]` of ID (KEY: VALUE)
    into a new declaration (not yet registered).  NEED_FUN: a missing
    function is an error (an extend may leave it out).  NULL after an
    error. */
static fl_sls_decl_t *
s_read_decl(fl_sls_ctx_t *ctx, const fl_sls_file_t *file, const char *id, const fl_yaml_node_t *key,
            const fl_yaml_node_t *value, bool need_fun)
{
    const char *path = file->path;
    if (key->kind != FL_YAML_SCALAR || strlen(key->value) != key->len) {
        fl_diag_error(ctx->diag, path, key->line, key->col,
                      "a state function must be written as a string (mod.fun)");
        return NULL;
    }
    const char *k = key->value;
    const char *dot = strchr(k, '.');
    size_t modlen = dot ? (size_t) (dot - k) : key->len;
    if (!s_ident_ok(k, modlen) || (dot && !s_ident_ok(dot + 1, strlen(dot + 1)))) {
        fl_diag_add(ctx->diag, path, key->line, key->col, FL_DIAG_ERROR,
                    "write module.function, e.g. 'file.managed'",
                    "'%.128s' in ID '%.128s' is not a state function", k, id);
        return NULL;
    }
    fl_sls_decl_t *d = fl_calloc(1, sizeof *d);
    d->id = fl_strdup(id);
    d->file = file;
    d->mod = fl_strndup(k, modlen);
    d->fun = dot ? fl_strdup(dot + 1) : NULL;
    d->line = key->line;
    d->col = key->col;
    bool ok = true;
    bool null_value = value->kind == FL_YAML_SCALAR && value->plain && value->len == 0;
    if (!null_value && value->kind != FL_YAML_SEQ) {
        fl_diag_add(ctx->diag, path, value->line, value->col, FL_DIAG_ERROR,
                    "write '- key: value' items under the function",
                    "the arguments of '%.128s' in ID '%.128s' must be a list", k, id);
        s_decl_free(d);
        return NULL;
    }
    size_t count = null_value ? 0 : value->count;
    for (size_t i = 0; i < count; i++) {
        const fl_yaml_node_t *item = value->items[i];
        if (item->kind == FL_YAML_SCALAR && s_ident_ok(item->value, item->len) &&
            !isdigit((unsigned char) item->value[0])) {
            if (d->fun) {
                fl_diag_add(ctx->diag, path, item->line, item->col, FL_DIAG_ERROR,
                            "one ID has at most one function per module; use another ID",
                            "ID '%.128s' declares two functions of module '%s': '%s' and "
                            "'%s'", id, d->mod, d->fun, item->value);
                ok = false;
            } else {
                d->fun = fl_strdup(item->value);
            }
            continue;
        }
        if (item->kind != FL_YAML_MAP || item->count != 1) {
            fl_diag_add(ctx->diag, path, item->line, item->col, FL_DIAG_ERROR,
                        "write each argument as '- key: value'",
                        "an argument of '%.128s' in ID '%.128s' must be a one-key map", k, id);
            ok = false;
            continue;
        }
        const fl_yaml_node_t *akey = item->keys[0];
        if (akey->kind != FL_YAML_SCALAR || akey->len == 0 ||
            strlen(akey->value) != akey->len) {
            fl_diag_error(ctx->diag, path, akey->line, akey->col,
                          "an argument name must be a non-empty string");
            ok = false;
            continue;
        }
        fl_sls_req_kind_t kind;
        bool in;
        if (fl_sls_req_parse_key(akey->value, &kind, &in) != 1) {
            for (size_t j = 0; j < d->nargs; j++) {
                if (strcmp(d->args[j].key->value, akey->value) == 0) {
                    fl_diag_error(ctx->diag, path, akey->line, akey->col,
                                  "duplicate argument '%.128s' (first at line %d, column %d)",
                                  akey->value, d->args[j].key->line, d->args[j].key->col);
                    ok = false;
                    break;
                }
            }
        }
        fl_sls_arg_t arg = { akey, item->items[0], file };
        s_arg_push(d, &arg);
    }
    if (ok && need_fun && !d->fun) {
        char *hint = s_is_arg_name(d->mod)
                         ? fl_sprintf("'%s' is an argument: indent it under a function "
                                      "('- %s: ...')", d->mod, d->mod)
                         : fl_sprintf("write '%s.FUNCTION:' or add '- FUNCTION' to its list",
                                      d->mod);
        fl_diag_add(ctx->diag, path, key->line, key->col, FL_DIAG_ERROR, hint,
                    "'%.128s' in ID '%.128s' names no function", k, id);
        free(hint);
        ok = false;
    }
    if (!ok) {
        s_decl_free(d);
        return NULL;
    }
    return d;
}

static void
s_decl_register(fl_sls_ctx_t *ctx, fl_sls_decl_t *d)
{
    if (ctx->ndecls == ctx->declcap) {
        ctx->declcap = ctx->declcap ? 2 * ctx->declcap : 16;
        ctx->decls = fl_realloc(ctx->decls, ctx->declcap * sizeof *ctx->decls);
    }
    json_t *list = json_object_get(ctx->ids, d->id);
    if (!list) {
        list = json_array();
        json_object_set_new(ctx->ids, d->id, list);
    }
    json_array_append_new(list, json_integer((json_int_t) ctx->ndecls));
    ctx->decls[ctx->ndecls++] = d;
}

static fl_sls_decl_t *
s_decl_at(const fl_sls_ctx_t *ctx, const json_t *list, size_t i)
{
    return ctx->decls[json_integer_value(json_array_get(list, i))];
}

/*  One ID of FILE (KEY: VALUE). */
static void
s_declare_id(fl_sls_ctx_t *ctx, const fl_sls_file_t *file, const fl_yaml_node_t *key,
             const fl_yaml_node_t *value)
{
    const char *path = file->path;
    const char *id = key->value;
    json_t *existing = json_object_get(ctx->ids, id);
    if (existing) {
        const fl_sls_decl_t *first = s_decl_at(ctx, existing, 0);
        fl_diag_add(ctx->diag, path, key->line, key->col, FL_DIAG_ERROR,
                    "IDs are global across all included SLS files; rename one",
                    "duplicate ID '%.128s' (also defined in %s at line %d, column %d)", id,
                    first->file->path, first->id_line, first->id_col);
        return;
    }
    /* Short form: `ID: mod.fun`. */
    if (value->kind == FL_YAML_SCALAR && value->len > 0) {
        const char *dot = strchr(value->value, '.');
        if (dot && strlen(value->value) == value->len &&
            s_ident_ok(value->value, (size_t) (dot - value->value)) &&
            s_ident_ok(dot + 1, strlen(dot + 1))) {
            fl_sls_decl_t *d = fl_calloc(1, sizeof *d);
            d->id = fl_strdup(id);
            d->file = file;
            d->mod = fl_strndup(value->value, (size_t) (dot - value->value));
            d->fun = fl_strdup(dot + 1);
            d->line = value->line;
            d->col = value->col;
            d->id_line = key->line;
            d->id_col = key->col;
            d->seq = ctx->seq++;
            s_decl_register(ctx, d);
            return;
        }
        fl_diag_add(ctx->diag, path, value->line, value->col, FL_DIAG_ERROR,
                    "write 'ID: mod.fun' or a map of functions to argument lists",
                    "ID '%.128s': '%.128s' is not a state function (mod.fun)", id, value->value);
        return;
    }
    if (value->kind != FL_YAML_MAP || value->count == 0) {
        fl_diag_add(ctx->diag, path, value->line, value->col, FL_DIAG_ERROR,
                    "write 'ID:' then 'mod.fun:' and its '- key: value' arguments",
                    "the value of ID '%.128s' must be a map of state functions", id);
        return;
    }
    fl_sls_decl_t **mine = fl_calloc(value->count, sizeof *mine);
    size_t nmine = 0;
    for (size_t i = 0; i < value->count; i++) {
        fl_sls_decl_t *d = s_read_decl(ctx, file, id, value->keys[i], value->items[i], true);
        if (!d) {
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < nmine; j++) {
            if (strcmp(mine[j]->mod, d->mod) == 0) {
                fl_diag_add(ctx->diag, path, d->line, d->col, FL_DIAG_ERROR,
                            "one ID has at most one function per module; use another ID",
                            "ID '%.128s' declares two functions of module '%s': '%s.%s' (line "
                            "%d, column %d) and '%s.%s'", id, d->mod, mine[j]->mod,
                            mine[j]->fun, mine[j]->line, mine[j]->col, d->mod, d->fun);
                dup = true;
                break;
            }
        }
        if (dup) {
            s_decl_free(d);
            continue;
        }
        mine[nmine++] = d;
    }
    for (size_t i = 0; i < nmine; i++) {
        mine[i]->id_line = key->line;
        mine[i]->id_col = key->col;
        mine[i]->seq = ctx->seq++;
        s_decl_register(ctx, mine[i]);
    }
    free(mine);
}
/*  --------------------------------------------------------------------
    Loading: include, then the file's own IDs */

static json_t *
s_render_context(const fl_sls_ctx_t *ctx, const char *sls)
{
    return json_pack("{s:O, s:O, s:s, s:s, s:s}", "grains", ctx->grains, "pillar", ctx->pillar,
                     "sls", sls, "id", ctx->minion_id, "saltenv", "base");
}

static void s_load(fl_sls_ctx_t *ctx, const char *name, const char *from, int line, int col,
                   int depth);

static bool
s_is_init(const fl_sls_file_t *file)
{
    size_t n = strlen(file->path);
    return strcmp(file->path, "init.sls") == 0 ||
           (n > 9 && strcmp(file->path + n - 9, "/init.sls") == 0);
}

static void
s_include(fl_sls_ctx_t *ctx, const fl_sls_file_t *file, const fl_yaml_node_t *list, int depth)
{
    const char *path = file->path;
    if (list->kind == FL_YAML_SCALAR && list->plain && list->len == 0) {
        return;
    }
    if (list->kind != FL_YAML_SEQ) {
        fl_diag_add(ctx->diag, path, list->line, list->col, FL_DIAG_ERROR,
                    "write '- name' items", "'include' must be a list of SLS names");
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        const fl_yaml_node_t *item = list->items[i];
        if (item->kind != FL_YAML_SCALAR) {
            fl_diag_add(ctx->diag, path, item->line, item->col, FL_DIAG_ERROR,
                        "write '- web.server' or '- .sibling'",
                        "an include item must be an SLS name");
            continue;
        }
        char *name = fl_sls_text(ctx, item, path, "an include item");
        if (!name) {
            continue;
        }
        if (name[0] == '.') {
            char *err = NULL;
            char *abs = fl_sls_relative(file->sls, s_is_init(file), name, &err);
            if (!abs) {
                fl_diag_error(ctx->diag, path, item->line, item->col, "%s", err);
                free(err);
                free(name);
                continue;
            }
            free(name);
            name = abs;
        }
        if (!fl_sls_name_ok(name)) {
            fl_diag_error(ctx->diag, path, item->line, item->col, "invalid SLS name '%.128s'",
                          name);
        } else {
            s_load(ctx, name, path, item->line, item->col, depth + 1);
        }
        free(name);
    }
}

static void
s_load(fl_sls_ctx_t *ctx, const char *name, const char *from, int line, int col, int depth)
{
    if (s_file_find(ctx, name)) {
        return;
    }
    if (depth > FL_SLS_MAX_INCLUDE_DEPTH) {
        fl_diag_error(ctx->diag, from, line, col, "includes nest deeper than %d levels",
                      FL_SLS_MAX_INCLUDE_DEPTH);
        return;
    }
    json_t *context = s_render_context(ctx, name);
    char *path = NULL;
    fl_yaml_doc_t *doc = NULL;
    int rc = fl_sls_load(ctx->src, name, context, ctx->diag, from, line, col, &path, &doc);
    json_decref(context);
    if (rc == 1) {
        char *base = fl_strdup(name);
        for (char *p = base; *p; p++) {
            *p = *p == '.' ? '/' : *p;
        }
        fl_diag_add(ctx->diag, from, line, col, FL_DIAG_ERROR, NULL,
                    "no SLS '%.128s' in %s (neither %s.sls nor %s/init.sls)", name,
                    fl_src_describe(ctx->src), base, base);
        free(base);
    }
    /* Registered even when it failed, so that it is reported once. */
    fl_sls_file_t *file = s_file_add(ctx, name, path, doc);
    const fl_yaml_node_t *root = fl_yaml_root(doc);
    if (rc != 0 || !root) {
        return;
    }
    if (root->kind != FL_YAML_MAP) {
        fl_diag_add(ctx->diag, file->path, root->line, root->col, FL_DIAG_ERROR,
                    "an SLS file maps IDs to states: 'ID:' then 'mod.fun:'",
                    "an SLS file must be a map of IDs");
        return;
    }
    const fl_yaml_node_t *inc = fl_yaml_map_get(root, "include");
    if (inc) {
        s_include(ctx, file, inc, depth);
    }
    for (size_t i = 0; i < root->count; i++) {
        const fl_yaml_node_t *key = root->keys[i];
        const fl_yaml_node_t *value = root->items[i];
        if (key->kind != FL_YAML_SCALAR || key->len == 0 || strlen(key->value) != key->len) {
            fl_diag_error(ctx->diag, file->path, key->line, key->col,
                          "an ID must be a non-empty string");
            continue;
        }
        if (strcmp(key->value, "include") == 0) {
            continue;
        }
        if (strcmp(key->value, "exclude") == 0) {
            s_pending_add(&ctx->excludes, &ctx->nexcludes, &ctx->exccap, file, value);
            continue;
        }
        if (strcmp(key->value, "extend") == 0) {
            s_pending_add(&ctx->extends, &ctx->nextends, &ctx->extcap, file, value);
            continue;
        }
        s_declare_id(ctx, file, key, value);
    }
}
/*  --------------------------------------------------------------------
    extend and exclude */

/*  Merges EXT into D: a function replaces, requisites are appended,
    other arguments replace those of the same name. */
static void
s_extend_merge(fl_sls_decl_t *d, const fl_sls_decl_t *ext)
{
    if (ext->fun) {
        free(d->fun);
        d->fun = fl_strdup(ext->fun);
    }
    for (size_t i = 0; i < ext->nargs; i++) {
        const fl_sls_arg_t *a = &ext->args[i];
        fl_sls_req_kind_t kind;
        bool in;
        bool replaced = false;
        if (fl_sls_req_parse_key(a->key->value, &kind, &in) != 1) {
            for (size_t j = 0; j < d->nargs; j++) {
                if (strcmp(d->args[j].key->value, a->key->value) == 0) {
                    d->args[j] = *a;
                    replaced = true;
                    break;
                }
            }
        }
        if (!replaced) {
            s_arg_push(d, a);
        }
    }
}

static void
s_apply_extend(fl_sls_ctx_t *ctx, const fl_sls_pending_t *pending)
{
    const fl_yaml_node_t *node = pending->node;
    const char *path = pending->file->path;
    if (node->kind == FL_YAML_SCALAR && node->plain && node->len == 0) {
        return;
    }
    if (node->kind != FL_YAML_MAP) {
        fl_diag_error(ctx->diag, path, node->line, node->col,
                      "'extend' must be a map of IDs to state functions");
        return;
    }
    for (size_t i = 0; i < node->count; i++) {
        const fl_yaml_node_t *key = node->keys[i];
        const fl_yaml_node_t *value = node->items[i];
        if (key->kind != FL_YAML_SCALAR || strlen(key->value) != key->len) {
            fl_diag_error(ctx->diag, path, key->line, key->col, "an ID must be a string");
            continue;
        }
        json_t *list = json_object_get(ctx->ids, key->value);
        if (!list) {
            fl_diag_add(ctx->diag, path, key->line, key->col, FL_DIAG_ERROR,
                        "extend changes a state declared in this or an included SLS",
                        "extend of unknown ID '%.128s'", key->value);
            continue;
        }
        if (value->kind != FL_YAML_MAP) {
            fl_diag_error(ctx->diag, path, value->line, value->col,
                          "the value of extended ID '%.128s' must be a map of state functions",
                          key->value);
            continue;
        }
        for (size_t j = 0; j < value->count; j++) {
            fl_sls_decl_t *ext =
                s_read_decl(ctx, pending->file, key->value, value->keys[j], value->items[j],
                            false);
            if (!ext) {
                continue;
            }
            fl_sls_decl_t *target = NULL;
            size_t n = json_array_size(list);
            for (size_t k = 0; k < n; k++) {
                fl_sls_decl_t *d = s_decl_at(ctx, list, k);
                if (strcmp(d->mod, ext->mod) == 0) {
                    target = d;
                    break;
                }
            }
            if (target) {
                s_extend_merge(target, ext);
                s_decl_free(ext);
                continue;
            }
            if (!ext->fun) {
                fl_diag_add(ctx->diag, path, ext->line, ext->col, FL_DIAG_ERROR,
                            "name the function ('mod.fun:') to add a module to an ID",
                            "extend adds '%s' to ID '%.128s' without a function", ext->mod,
                            key->value);
                s_decl_free(ext);
                continue;
            }
            /* A new module for the ID: it takes the ID's place in the order. */
            const fl_sls_decl_t *first = s_decl_at(ctx, list, 0);
            ext->seq = first->seq;
            ext->id_line = first->id_line;
            ext->id_col = first->id_col;
            s_decl_register(ctx, ext);
        }
    }
}

static void
s_apply_exclude(fl_sls_ctx_t *ctx, const fl_sls_pending_t *pending)
{
    const fl_yaml_node_t *node = pending->node;
    const char *path = pending->file->path;
    if (node->kind == FL_YAML_SCALAR && node->plain && node->len == 0) {
        return;
    }
    if (node->kind != FL_YAML_SEQ) {
        fl_diag_add(ctx->diag, path, node->line, node->col, FL_DIAG_ERROR,
                    "write '- sls: NAME' or '- id: ID' items", "'exclude' must be a list");
        return;
    }
    for (size_t i = 0; i < node->count; i++) {
        const fl_yaml_node_t *item = node->items[i];
        const fl_yaml_node_t *what = item;
        bool by_id = false;
        if (item->kind == FL_YAML_MAP && item->count == 1 &&
            item->keys[0]->kind == FL_YAML_SCALAR &&
            (strcmp(item->keys[0]->value, "sls") == 0 || strcmp(item->keys[0]->value, "id") == 0)) {
            by_id = strcmp(item->keys[0]->value, "id") == 0;
            what = item->items[0];
        } else if (item->kind != FL_YAML_SCALAR) {
            fl_diag_add(ctx->diag, path, item->line, item->col, FL_DIAG_ERROR,
                        "write '- sls: NAME' or '- id: ID'",
                        "an exclude item must be '- sls: NAME' or '- id: ID'");
            continue;
        }
        char *pattern = fl_sls_text(ctx, what, path, "an exclude item");
        if (!pattern) {
            continue;
        }
        for (size_t j = 0; j < ctx->ndecls; j++) {
            fl_sls_decl_t *d = ctx->decls[j];
            const char *subject = by_id ? d->id : d->file->sls;
            if (strcmp(subject, pattern) == 0 || fnmatch(pattern, subject, 0) == 0) {
                d->excluded = true;
            }
        }
        free(pattern);
    }
}
/*  --------------------------------------------------------------------
    The compiler */

static void
s_ctx_free(fl_sls_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->nchunks; i++) {
        fl_sls_chunk_clear(&ctx->chunks[i]);
    }
    free(ctx->chunks);
    for (size_t i = 0; i < ctx->ndecls; i++) {
        s_decl_free(ctx->decls[i]);
    }
    free(ctx->decls);
    for (size_t i = 0; i < ctx->nfiles; i++) {
        free(ctx->files[i]->sls);
        free(ctx->files[i]->path);
        fl_yaml_destroy(&ctx->files[i]->doc);
        free(ctx->files[i]);
    }
    free(ctx->files);
    free(ctx->extends);
    free(ctx->excludes);
    json_decref(ctx->ids);
    json_decref(ctx->grains);
    json_decref(ctx->pillar);
}

json_t *
fl_sls_compile(fl_src_t *src, const json_t *sls_names, const char *minion_id,
               const json_t *grains, const json_t *pillar, fl_diag_t *diag)
{
    assert(src && diag);
    size_t errors_before = fl_diag_errors(diag);
    const char *where = fl_src_describe(src);
    if (!json_is_array(sls_names)) {
        fl_diag_error(diag, where, 0, 0, "the SLS names must be a list");
        return NULL;
    }
    fl_sls_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.src = src;
    ctx.minion_id = minion_id ? minion_id : "";
    ctx.grains = json_is_object(grains) ? json_incref((json_t *) grains) : json_object();
    ctx.pillar = json_is_object(pillar) ? json_incref((json_t *) pillar) : json_object();
    ctx.diag = diag;
    ctx.ids = json_object();

    size_t i;
    json_t *item;
    json_array_foreach(sls_names, i, item) {
        const char *name = json_string_value(item);
        if (!name || !fl_sls_name_ok(name)) {
            fl_diag_error(diag, where, 0, 0, "invalid SLS name '%.128s'", name ? name : "?");
            continue;
        }
        s_load(&ctx, name, where, 0, 0, 0);
    }
    for (i = 0; i < ctx.nextends; i++) {
        s_apply_extend(&ctx, &ctx.extends[i]);
    }
    for (i = 0; i < ctx.nexcludes; i++) {
        s_apply_exclude(&ctx, &ctx.excludes[i]);
    }
    for (i = 0; i < ctx.ndecls; i++) {
        if (!ctx.decls[i]->excluded) {
            fl_sls_chunks_of(&ctx, ctx.decls[i]);
        }
    }
    json_t *out = NULL;
    if (fl_diag_errors(diag) == errors_before) {
        out = fl_sls_order(ctx.chunks, ctx.nchunks, diag);
    }
    s_ctx_free(&ctx);
    if (out && fl_diag_errors(diag) != errors_before) {
        json_decref(out);
        out = NULL;
    }
    return out;
}
