/*  fl_sls_chunk.c: the state compiler, part two: argument values (with
    ((placeholders)) resolved from pillar, then grains) and the low chunks
    of each declaration (names, order, requisites as written).

    Placeholders.  `((key))` in any scalar value is replaced by the
    minion's pillar value at KEY (nested with ':'), else its grain; a
    scalar that is exactly one placeholder takes the value's JSON type
    (`port: ((web:port))` gives the number 8080), otherwise the values are
    interpolated as text (strings as they are, others as compact JSON).
    A key starts with a letter or '_' and goes on with letters, digits and
    _ . : - (spaces inside the parentheses are allowed).  An unresolved
    placeholder is an error at the scalar's position.  "$((" is left
    alone: it is shell arithmetic in cmd.run.  Interpolated strings are
    capped at 16 MiB. */
#include "fl_sls_int.h"
#include "fl_json.h"

#include <assert.h>
#include <ctype.h>
#include <strings.h>

/*  Longest string interpolation may build. */
#define FL_SLS_MAX_STRING (16u * 1024 * 1024)

/*  --------------------------------------------------------------------
    Values: ((placeholders)) and conversion to JSON */

static bool
s_ph_start(char c)
{
    return isalpha((unsigned char) c) || c == '_';
}

static bool
s_ph_char(char c)
{
    return isalnum((unsigned char) c) || c == '_' || c == '.' || c == ':' || c == '-';
}

/*  Finds the next ((name)) in S[FROM..LEN): its start and end offsets and
    its name.  "$((" is shell arithmetic, not a placeholder. */
static bool
s_ph_next(const char *s, size_t len, size_t from, size_t *start, size_t *end, size_t *name_off,
          size_t *name_len)
{
    for (size_t i = from; i + 1 < len; i++) {
        if (s[i] != '(' || s[i + 1] != '(' || (i > 0 && s[i - 1] == '$')) {
            continue;
        }
        size_t j = i + 2;
        while (j < len && s[j] == ' ') {
            j++;
        }
        if (j >= len || !s_ph_start(s[j])) {
            continue;
        }
        size_t n0 = j;
        while (j < len && s_ph_char(s[j])) {
            j++;
        }
        size_t n1 = j;
        while (j < len && s[j] == ' ') {
            j++;
        }
        if (j + 1 < len && s[j] == ')' && s[j + 1] == ')') {
            *start = i;
            *end = j + 2;
            *name_off = n0;
            *name_len = n1 - n0;
            return true;
        }
    }
    return false;
}

/*  The value of placeholder NAME (borrowed), or NULL. */
static const json_t *
s_ph_lookup(const fl_sls_ctx_t *ctx, const char *name)
{
    const json_t *v = fl_json_lookup(ctx->pillar, name);
    return v ? v : fl_json_lookup(ctx->grains, name);
}

static void
s_ph_unresolved(fl_sls_ctx_t *ctx, const char *file, const fl_yaml_node_t *node, const char *name)
{
    fl_diag_add(ctx->diag, file, node->line, node->col, FL_DIAG_ERROR,
                "define it in the minion's pillar or grains (nested keys with ':')",
                "unresolved placeholder ((%.128s))", name);
}

/*  The JSON of scalar NODE with its placeholders resolved; NULL after an
    error. */
static json_t *
s_scalar_value(fl_sls_ctx_t *ctx, const fl_yaml_node_t *node, const char *file)
{
    size_t start, end, noff, nlen;
    const char *s = node->value;
    if (!s_ph_next(s, node->len, 0, &start, &end, &noff, &nlen)) {
        return fl_yaml_to_json(node, file, ctx->diag);
    }
    bool as_str = node->tag && strcmp(node->tag, "!!str") == 0;
    if (start == 0 && end == node->len && !as_str) {
        char *name = fl_strndup(s + noff, nlen);
        const json_t *v = s_ph_lookup(ctx, name);
        if (!v) {
            s_ph_unresolved(ctx, file, node, name);
        }
        free(name);
        return v ? json_deep_copy(v) : NULL;
    }
    /* Interpolation: strings as they are, other values as compact JSON. */
    size_t cap = node->len + 64, used = 0, pos = 0;
    char *out = fl_malloc(cap);
    bool ok = true;
    for (;;) {
        bool more = s_ph_next(s, node->len, pos, &start, &end, &noff, &nlen);
        size_t lit = (more ? start : node->len) - pos;
        const char *piece = NULL;
        char *owned = NULL;
        size_t plen = 0;
        if (more) {
            char *name = fl_strndup(s + noff, nlen);
            const json_t *v = s_ph_lookup(ctx, name);
            if (!v) {
                s_ph_unresolved(ctx, file, node, name);
                ok = false;
            } else if (json_is_string(v)) {
                piece = json_string_value(v);
                plen = json_string_length(v);
            } else {
                owned = fl_json_compact(v);
                piece = owned;
                plen = strlen(owned);
            }
            free(name);
        }
        if (used + lit + plen > FL_SLS_MAX_STRING) {
            fl_diag_error(ctx->diag, file, node->line, node->col,
                          "string is longer than %u MiB with its placeholders resolved",
                          FL_SLS_MAX_STRING / (1024 * 1024));
            ok = false;
            free(owned);
            break;
        }
        while (used + lit + plen + 1 > cap) {
            cap *= 2;
            out = fl_realloc(out, cap);
        }
        memcpy(out + used, s + pos, lit);
        used += lit;
        if (piece) {
            memcpy(out + used, piece, plen);
            used += plen;
        }
        free(owned);
        if (!more) {
            break;
        }
        pos = end;
    }
    json_t *j = NULL;
    if (ok) {
        j = json_stringn(out, used);
        if (!j) {
            fl_diag_error(ctx->diag, file, node->line, node->col, "string is not valid UTF-8");
        }
    }
    free(out);
    return j;
}

/*  NODE as JSON, placeholders resolved in every scalar value; NULL after
    an error. */
json_t *
fl_sls_value(fl_sls_ctx_t *ctx, const fl_yaml_node_t *node, const char *file)
{
    if (!node) {
        return json_null();
    }
    if (node->kind == FL_YAML_SCALAR) {
        return s_scalar_value(ctx, node, file);
    }
    if (node->kind == FL_YAML_SEQ) {
        json_t *array = json_array();
        bool ok = true;
        for (size_t i = 0; i < node->count; i++) {
            json_t *item = fl_sls_value(ctx, node->items[i], file);
            if (!item) {
                ok = false;
                continue;
            }
            json_array_append_new(array, item);
        }
        if (!ok) {
            json_decref(array);
            return NULL;
        }
        return array;
    }
    json_t *obj = json_object();
    bool ok = true;
    for (size_t i = 0; i < node->count; i++) {
        const fl_yaml_node_t *key = node->keys[i];
        if (key->kind != FL_YAML_SCALAR || strlen(key->value) != key->len) {
            fl_diag_error(ctx->diag, file, key->line, key->col,
                          "map key must be a string without NUL characters");
            ok = false;
            continue;
        }
        json_t *value = fl_sls_value(ctx, node->items[i], file);
        if (!value) {
            ok = false;
            continue;
        }
        if (json_object_set_new(obj, key->value, value) != 0) {
            fl_diag_error(ctx->diag, file, key->line, key->col, "map key is not valid UTF-8");
            ok = false;
        }
    }
    if (!ok) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/*  Scalar NODE as text (a name, a requisite target): the text as written,
    or with placeholders resolved.  NULL after an error naming WHAT. */
char *
fl_sls_text(fl_sls_ctx_t *ctx, const fl_yaml_node_t *node, const char *file, const char *what)
{
    bool null = node && node->kind == FL_YAML_SCALAR && node->plain && !node->tag &&
                (strcmp(node->value, "~") == 0 || strcasecmp(node->value, "null") == 0);
    if (!node || node->kind != FL_YAML_SCALAR || node->len == 0 || null) {
        int line = node ? node->line : 0, col = node ? node->col : 0;
        fl_diag_error(ctx->diag, file, line, col, "%s must be a non-empty string", what);
        return NULL;
    }
    if (strlen(node->value) != node->len) {
        fl_diag_error(ctx->diag, file, node->line, node->col, "%s contains a NUL character",
                      what);
        return NULL;
    }
    size_t a, b, c, d;
    if (!s_ph_next(node->value, node->len, 0, &a, &b, &c, &d)) {
        return fl_strdup(node->value);
    }
    json_t *v = s_scalar_value(ctx, node, file);
    if (!v) {
        return NULL;
    }
    char *out = NULL;
    if (json_is_string(v) && json_string_length(v) > 0 &&
        strlen(json_string_value(v)) == json_string_length(v)) {
        out = fl_strdup(json_string_value(v));
    } else if (json_is_number(v) || json_is_boolean(v)) {
        out = fl_json_compact(v);
    } else {
        fl_diag_error(ctx->diag, file, node->line, node->col,
                      "%s must be a non-empty string (the placeholder gives %s)", what,
                      json_is_null(v) ? "null" : json_is_string(v) ? "an empty string"
                                                                  : "a list or a map");
    }
    json_decref(v);
    return out;
}
/*  --------------------------------------------------------------------
    Chunks */

static void
s_req_push(fl_sls_chunk_t *c, const fl_sls_req_t *r)
{
    if (c->nreqs == c->reqcap) {
        c->reqcap = c->reqcap ? 2 * c->reqcap : 4;
        c->reqs = fl_realloc(c->reqs, c->reqcap * sizeof *c->reqs);
    }
    fl_sls_req_t *dst = &c->reqs[c->nreqs++];
    *dst = *r;
    dst->mod = fl_strdup(r->mod);
    dst->target = fl_strdup(r->target);
}

/*  Reads requisite argument A (KIND, IN) into C's list.  False after an
    error. */
static bool
s_read_reqs(fl_sls_ctx_t *ctx, fl_sls_chunk_t *c, const fl_sls_arg_t *a, fl_sls_req_kind_t kind,
            bool in)
{
    const char *path = a->file->path;
    const fl_yaml_node_t *v = a->value;
    if (v->kind == FL_YAML_SCALAR && v->plain && v->len == 0) {
        return true;
    }
    if (v->kind != FL_YAML_SEQ) {
        fl_diag_add(ctx->diag, path, v->line, v->col, FL_DIAG_ERROR,
                    "write '- mod: target', '- sls: name' or '- id: ID' items",
                    "'%s' must be a list of requisites", a->key->value);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < v->count; i++) {
        const fl_yaml_node_t *item = v->items[i];
        fl_sls_req_t r = { .kind = kind, .in = in, .file = path, .line = item->line,
                           .col = item->col };
        char *mod = NULL, *target = NULL;
        if (item->kind == FL_YAML_SCALAR) {
            mod = fl_strdup("id");
            target = fl_sls_text(ctx, item, path, "a requisite");
        } else if (item->kind == FL_YAML_MAP && item->count == 1 &&
                   item->keys[0]->kind == FL_YAML_SCALAR && item->keys[0]->len > 0 &&
                   strlen(item->keys[0]->value) == item->keys[0]->len) {
            mod = fl_strdup(item->keys[0]->value);
            target = fl_sls_text(ctx, item->items[0], path, "a requisite target");
        } else {
            fl_diag_add(ctx->diag, path, item->line, item->col, FL_DIAG_ERROR,
                        "write '- mod: target', '- sls: name' or '- id: ID'",
                        "a requisite must be a one-key map or an ID");
        }
        if (mod && target) {
            r.mod = mod;
            r.target = target;
            s_req_push(c, &r);
        } else {
            ok = false;
        }
        free(mod);
        free(target);
    }
    return ok;
}

/*  Reads `order:` NODE into C. */
static bool
s_read_order(fl_sls_ctx_t *ctx, fl_sls_chunk_t *c, const fl_sls_arg_t *a)
{
    json_t *v = fl_sls_value(ctx, a->value, a->file->path);
    if (!v) {
        return false;
    }
    bool ok = true;
    if (json_is_number(v)) {
        c->order_value = json_number_value(v);
        c->order_group = c->order_value < 0 ? 3 : 1;
    } else if (json_is_string(v) && strcmp(json_string_value(v), "first") == 0) {
        c->order_group = 0;
    } else if (json_is_string(v) && strcmp(json_string_value(v), "last") == 0) {
        c->order_group = 4;
    } else {
        fl_diag_add(ctx->diag, a->file->path, a->value->line, a->value->col, FL_DIAG_ERROR,
                    "lower numbers run first; negative numbers count from the end",
                    "order must be a number, 'first' or 'last'");
        ok = false;
    }
    json_decref(v);
    return ok;
}

/*  Applies argument A to chunk C: a requisite, the order, or an ordinary
    argument.  NAME/NAMES are left to the caller.  False after an error. */
static bool
s_apply_arg(fl_sls_ctx_t *ctx, fl_sls_chunk_t *c, const fl_sls_arg_t *a)
{
    const char *k = a->key->value;
    fl_sls_req_kind_t kind;
    bool in;
    int rk = fl_sls_req_parse_key(k, &kind, &in);
    if (rk < 0) {
        fl_diag_add(ctx->diag, a->file->path, a->key->line, a->key->col, FL_DIAG_ERROR,
                    "use require, watch, onchanges, onfail or prereq (or their _in forms)",
                    "requisite '%.64s' is not supported", k);
        return false;
    }
    if (rk == 1) {
        return s_read_reqs(ctx, c, a, kind, in);
    }
    if (strcmp(k, "order") == 0) {
        return s_read_order(ctx, c, a);
    }
    json_t *v = fl_sls_value(ctx, a->value, a->file->path);
    if (!v) {
        return false;
    }
    json_object_set_new(c->args, k, v);
    return true;
}

static fl_sls_chunk_t *
s_chunk_new(fl_sls_ctx_t *ctx, const fl_sls_decl_t *d)
{
    if (ctx->nchunks == ctx->chunkcap) {
        ctx->chunkcap = ctx->chunkcap ? 2 * ctx->chunkcap : 16;
        ctx->chunks = fl_realloc(ctx->chunks, ctx->chunkcap * sizeof *ctx->chunks);
    }
    fl_sls_chunk_t *c = &ctx->chunks[ctx->nchunks];
    memset(c, 0, sizeof *c);
    c->decl = d;
    c->args = json_object();
    c->order_group = 2;
    c->sub = ctx->nchunks++;
    return c;
}

/*  A new chunk of ctx with BASE's arguments, order and requisites. */
static fl_sls_chunk_t *
s_chunk_from(fl_sls_ctx_t *ctx, const fl_sls_chunk_t *base)
{
    fl_sls_chunk_t *c = s_chunk_new(ctx, base->decl);
    json_object_update(c->args, base->args);
    c->order_group = base->order_group;
    c->order_value = base->order_value;
    for (size_t i = 0; i < base->nreqs; i++) {
        s_req_push(c, &base->reqs[i]);
    }
    return c;
}

void
fl_sls_chunk_clear(fl_sls_chunk_t *c)
{
    free(c->name);
    json_decref(c->args);
    for (size_t j = 0; j < c->nreqs; j++) {
        free(c->reqs[j].mod);
        free(c->reqs[j].target);
    }
    free(c->reqs);
    memset(c, 0, sizeof *c);
}

/*  Applies the extra arguments of one item of `names:` (EXTRA, written
    in FILE) to C. */
static void
s_name_args(fl_sls_ctx_t *ctx, fl_sls_chunk_t *c, const fl_yaml_node_t *extra,
            const fl_sls_file_t *file)
{
    const char *path = file->path;
    if (!extra || (extra->kind == FL_YAML_SCALAR && extra->plain && extra->len == 0)) {
        return;
    }
    if (extra->kind != FL_YAML_SEQ) {
        fl_diag_add(ctx->diag, path, extra->line, extra->col, FL_DIAG_ERROR,
                    "write '- name:' then '- key: value' items",
                    "the arguments of a name must be a list");
        return;
    }
    for (size_t i = 0; i < extra->count; i++) {
        const fl_yaml_node_t *e = extra->items[i];
        if (e->kind != FL_YAML_MAP || e->count != 1 || e->keys[0]->kind != FL_YAML_SCALAR ||
            e->keys[0]->len == 0 || strlen(e->keys[0]->value) != e->keys[0]->len) {
            fl_diag_add(ctx->diag, path, e->line, e->col, FL_DIAG_ERROR,
                        "write each argument as '- key: value'",
                        "an argument of a name must be a one-key map");
            continue;
        }
        const char *k = e->keys[0]->value;
        if (strcmp(k, "name") == 0 || strcmp(k, "names") == 0) {
            fl_diag_error(ctx->diag, path, e->keys[0]->line, e->keys[0]->col,
                          "'%s' cannot be set for one name", k);
            continue;
        }
        fl_sls_arg_t a = { e->keys[0], e->items[0], file };
        s_apply_arg(ctx, c, &a);
    }
}

/*  The chunks of declaration D: one, or one per item of `names:`.  The
    common arguments are converted once (so that an error in them is
    reported once), then copied into each chunk. */
void
fl_sls_chunks_of(fl_sls_ctx_t *ctx, const fl_sls_decl_t *d)
{
    const fl_sls_arg_t *name = NULL, *names = NULL;
    for (size_t i = 0; i < d->nargs; i++) {
        const char *k = d->args[i].key->value;
        if (strcmp(k, "name") == 0) {
            name = &d->args[i];
        } else if (strcmp(k, "names") == 0) {
            names = &d->args[i];
        }
    }
    fl_sls_chunk_t base;
    memset(&base, 0, sizeof base);
    base.decl = d;
    base.args = json_object();
    base.order_group = 2;
    for (size_t i = 0; i < d->nargs; i++) {
        if (&d->args[i] != name && &d->args[i] != names) {
            s_apply_arg(ctx, &base, &d->args[i]);
        }
    }
    if (!names) {
        fl_sls_chunk_t *c = s_chunk_from(ctx, &base);
        c->name = name ? fl_sls_text(ctx, name->value, name->file->path, "name") : fl_strdup(d->id);
        fl_sls_chunk_clear(&base);
        return;
    }
    const fl_yaml_node_t *list = names->value;
    const char *npath = names->file->path;
    if (list->kind != FL_YAML_SEQ) {
        fl_diag_add(ctx->diag, npath, list->line, list->col, FL_DIAG_ERROR,
                    "write '- name' or '- name: [- key: value]' items",
                    "'names' must be a list");
        fl_sls_chunk_clear(&base);
        return;
    }
    for (size_t n = 0; n < list->count; n++) {
        const fl_yaml_node_t *item = list->items[n];
        const fl_yaml_node_t *name_node = item, *extra = NULL;
        if (item->kind == FL_YAML_MAP && item->count == 1) {
            name_node = item->keys[0];
            extra = item->items[0];
        } else if (item->kind != FL_YAML_SCALAR) {
            fl_diag_add(ctx->diag, npath, item->line, item->col, FL_DIAG_ERROR,
                        "write '- name' or '- name: [- key: value]'",
                        "an item of 'names' must be a name or a one-key map");
            continue;
        }
        fl_sls_chunk_t *c = s_chunk_from(ctx, &base);
        c->name = fl_sls_text(ctx, name_node, npath, "a name");
        s_name_args(ctx, c, extra, names->file);
    }
    fl_sls_chunk_clear(&base);
}
