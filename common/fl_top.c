/*  fl_top.c: top files (which SLS a minion gets) and pillar (the data a
    minion gets), as Salt writes them:

        base:                       # the only environment fleet serves
          '*':
            - core
          'os:Debian':
            - match: grain          # glob (default), list, grain,
            - web                   # grain_pcre, pcre, compound, pillar

    `match: pillar` targets 'key:glob' against the pillar (for a pillar
    top file: against nothing, so it never matches).  Other environments
    are ignored with a warning.  Top files are rendered with the template
    engine when they have template syntax.

    Pillar: the pillar top file names pillar SLS files (same naming as
    states); each is rendered with {grains, id, pillar: merged so far},
    parsed to a map, and merged in top-file order: maps merge
    recursively, later values win, lists are replaced.  `include:` works
    as in states (relative names too; `- name: {key: K}` nests the
    included data under K); the including file's values win over what it
    includes. */
#include "fl_json.h"
#include "fl_sls_int.h"
#include "fl_target.h"
#include "fl_tmpl.h"

#include <assert.h>

#define FL_TOP_FILE "top.sls"

/*  --------------------------------------------------------------------
    Top files */

/*  The target type of a `- match:` item; -1 after an error. */
static int
s_match_type(const fl_yaml_node_t *node, fl_tgt_type_t *type, bool *pillar, fl_diag_t *diag)
{
    *pillar = false;
    if (node->kind == FL_YAML_SCALAR && strcmp(node->value, "pillar") == 0) {
        *pillar = true;
        *type = FL_TGT_GRAIN;
        return 0;
    }
    if (node->kind == FL_YAML_SCALAR && fl_tgt_type_parse(node->value, type) == 0) {
        return 0;
    }
    fl_diag_add(diag, FL_TOP_FILE, node->line, node->col, FL_DIAG_ERROR,
                "use glob, list, grain, grain_pcre, pcre, compound or pillar",
                "unknown match type '%.64s'", node->kind == FL_YAML_SCALAR ? node->value : "?");
    return -1;
}

/*  Adds the errors of a target expression (positions within the
    expression) to DIAG at KEY, the target's key in the top file. */
static void
s_target_errors(const fl_diag_t *tdiag, const fl_yaml_node_t *key, fl_diag_t *diag)
{
    for (size_t i = 0; i < fl_diag_count(tdiag); i++) {
        const fl_diag_item_t *it = fl_diag_item(tdiag, i);
        int col = key->col + (key->plain ? 0 : 1) + (it->col > 0 ? it->col - 1 : 0);
        fl_diag_add(diag, FL_TOP_FILE, key->line, col, it->severity, it->hint,
                    "target '%.128s': %s", key->value, it->msg);
    }
}

/*  One target of the base environment: KEY (the expression) -> LIST. */
static void
s_top_target(const fl_yaml_node_t *key, const fl_yaml_node_t *list, const char *minion_id,
             const json_t *grains, const json_t *pillar, json_t *entries, json_t *seen,
             fl_diag_t *diag)
{
    if (key->kind != FL_YAML_SCALAR || key->len == 0 || strlen(key->value) != key->len) {
        fl_diag_error(diag, FL_TOP_FILE, key->line, key->col,
                      "a target must be a non-empty string");
        return;
    }
    if (list->kind == FL_YAML_SCALAR && list->plain && list->len == 0) {
        return;
    }
    if (list->kind != FL_YAML_SEQ) {
        fl_diag_add(diag, FL_TOP_FILE, list->line, list->col, FL_DIAG_ERROR,
                    "write '- sls.name' items (and '- match: TYPE')",
                    "target '%.128s' must have a list of SLS names", key->value);
        return;
    }
    fl_tgt_type_t type = FL_TGT_GLOB;
    bool by_pillar = false, ok = true;
    const fl_yaml_node_t *match_at = NULL;
    for (size_t i = 0; i < list->count; i++) {
        const fl_yaml_node_t *item = list->items[i];
        if (item->kind == FL_YAML_SCALAR) {
            if (item->len == 0 || strlen(item->value) != item->len ||
                !fl_sls_name_ok(item->value)) {
                fl_diag_error(diag, FL_TOP_FILE, item->line, item->col,
                              "invalid SLS name '%.128s'", item->value);
                ok = false;
            }
            continue;
        }
        if (item->kind == FL_YAML_MAP && item->count == 1 &&
            item->keys[0]->kind == FL_YAML_SCALAR && strcmp(item->keys[0]->value, "match") == 0) {
            if (match_at) {
                fl_diag_error(diag, FL_TOP_FILE, item->line, item->col,
                              "second 'match' for target '%.128s' (first at line %d)",
                              key->value, match_at->line);
                ok = false;
            } else if (s_match_type(item->items[0], &type, &by_pillar, diag) != 0) {
                ok = false;
            }
            match_at = item;
            continue;
        }
        fl_diag_add(diag, FL_TOP_FILE, item->line, item->col, FL_DIAG_ERROR,
                    "write '- sls.name' or '- match: TYPE'",
                    "an item of target '%.128s' must be an SLS name or '- match: TYPE'",
                    key->value);
        ok = false;
    }
    if (!ok) {
        return;
    }
    fl_diag_t *tdiag = fl_diag_new();
    fl_target_t *target = fl_target_new(key->value, type, tdiag);
    if (!target) {
        s_target_errors(tdiag, key, diag);
        fl_diag_destroy(&tdiag);
        return;
    }
    fl_diag_destroy(&tdiag);
    bool hit = fl_target_match(target, minion_id, by_pillar ? pillar : grains);
    fl_target_destroy(&target);
    if (!hit) {
        return;
    }
    for (size_t i = 0; i < list->count; i++) {
        const fl_yaml_node_t *item = list->items[i];
        if (item->kind != FL_YAML_SCALAR || json_object_get(seen, item->value)) {
            continue;
        }
        json_object_set_new(seen, item->value, json_true());
        json_array_append_new(entries, json_pack("{s:s, s:i, s:i}", "sls", item->value, "line",
                                                 item->line, "col", item->col));
    }
}

json_t *
fl_top_entries(fl_src_t *src, const char *minion_id, const json_t *grains,
               const json_t *pillar, fl_diag_t *diag)
{
    assert(src && diag);
    size_t errors_before = fl_diag_errors(diag);
    char *text = NULL, *err = NULL;
    size_t len = 0;
    int rc = fl_src_read(src, FL_TOP_FILE, &text, &len, &err);
    if (rc == 1) {
        return json_array();
    }
    if (rc < 0) {
        fl_diag_error(diag, FL_TOP_FILE, 0, 0, "cannot read the top file in %s: %s",
                      fl_src_describe(src), err ? err : "error");
        free(err);
        return NULL;
    }
    json_t *empty = json_object();
    if (fl_tmpl_has_syntax(text)) {
        json_t *context = json_pack("{s:O, s:O, s:s, s:s}", "grains",
                                    grains ? (json_t *) grains : empty, "pillar",
                                    pillar ? (json_t *) pillar : empty, "id",
                                    minion_id ? minion_id : "", "saltenv", "base");
        char *out = fl_tmpl_render(FL_TOP_FILE, text, context, diag);
        json_decref(context);
        free(text);
        if (!out) {
            json_decref(empty);
            return NULL;
        }
        text = out;
        len = strlen(out);
    }
    fl_diag_set_source(diag, FL_TOP_FILE, text);
    fl_yaml_doc_t *doc = fl_yaml_parse_string(FL_TOP_FILE, text, len, diag);
    free(text);
    if (!doc) {
        json_decref(empty);
        return NULL;
    }
    json_t *entries = json_array();
    json_t *seen = json_object();
    const fl_yaml_node_t *root = fl_yaml_root(doc);
    if (root && root->kind != FL_YAML_MAP) {
        fl_diag_add(diag, FL_TOP_FILE, root->line, root->col, FL_DIAG_ERROR,
                    "write 'base:' then 'TARGET:' then '- sls.name' items",
                    "a top file must be a map of environments");
    }
    for (size_t i = 0; root && root->kind == FL_YAML_MAP && i < root->count; i++) {
        const fl_yaml_node_t *env = root->keys[i];
        const fl_yaml_node_t *targets = root->items[i];
        if (env->kind != FL_YAML_SCALAR || strcmp(env->value, "base") != 0) {
            fl_diag_add(diag, FL_TOP_FILE, env->line, env->col, FL_DIAG_WARNING, NULL,
                        "environment '%.64s' ignored: fleet serves only 'base'",
                        env->kind == FL_YAML_SCALAR ? env->value : "?");
            continue;
        }
        if (targets->kind == FL_YAML_SCALAR && targets->plain && targets->len == 0) {
            continue;
        }
        if (targets->kind != FL_YAML_MAP) {
            fl_diag_error(diag, FL_TOP_FILE, targets->line, targets->col,
                          "'base' must map targets to lists of SLS names");
            continue;
        }
        for (size_t t = 0; t < targets->count; t++) {
            s_top_target(targets->keys[t], targets->items[t], minion_id ? minion_id : "",
                         grains ? grains : empty, pillar ? pillar : empty, entries, seen,
                         diag);
        }
    }
    json_decref(seen);
    json_decref(empty);
    fl_yaml_destroy(&doc);
    if (fl_diag_errors(diag) != errors_before) {
        json_decref(entries);
        return NULL;
    }
    return entries;
}

json_t *
fl_top_match(fl_src_t *src, const char *minion_id, const json_t *grains, const json_t *pillar,
             fl_diag_t *diag)
{
    json_t *entries = fl_top_entries(src, minion_id, grains, pillar, diag);
    if (!entries) {
        return NULL;
    }
    json_t *names = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        json_array_append(names, json_object_get(e, "sls"));
    }
    json_decref(entries);
    return names;
}

/*  --------------------------------------------------------------------
    Pillar */

typedef struct {
    fl_src_t *src;
    const char *minion_id;
    const json_t *grains;
    fl_diag_t *diag;
    json_t *merged;         /* the pillar so far */
    json_t *loaded;         /* SLS name -> true */
} s_pillar_t;

/*  Merges SRC into DST: maps recursively, anything else replaces. */
static void
s_merge(json_t *dst, json_t *src)
{
    const char *key;
    json_t *value;
    json_object_foreach(src, key, value) {
        json_t *old = json_object_get(dst, key);
        if (json_is_object(old) && json_is_object(value)) {
            s_merge(old, value);
        } else {
            /* A copy: later merges must not reach back into SRC. */
            json_object_set_new(dst, key, json_deep_copy(value));
        }
    }
}

static json_t *s_pillar_load(s_pillar_t *p, const char *name, const char *from, int line,
                             int col, int depth);

/*  The data of FILE's `include:` list, merged in order. */
static void
s_pillar_include(s_pillar_t *p, const char *sls, const char *path,
                 const fl_yaml_node_t *list, json_t *data, int depth)
{
    if (list->kind == FL_YAML_SCALAR && list->plain && list->len == 0) {
        return;
    }
    if (list->kind != FL_YAML_SEQ) {
        fl_diag_error(p->diag, path, list->line, list->col,
                      "'include' must be a list of SLS names");
        return;
    }
    size_t n = strlen(path);
    bool is_init = strcmp(path, "init.sls") == 0 ||
                   (n > 9 && strcmp(path + n - 9, "/init.sls") == 0);
    for (size_t i = 0; i < list->count; i++) {
        const fl_yaml_node_t *item = list->items[i];
        const fl_yaml_node_t *name = item;
        const char *nest = NULL;
        if (item->kind == FL_YAML_MAP && item->count == 1) {
            name = item->keys[0];
            const fl_yaml_node_t *opts = item->items[0];
            const fl_yaml_node_t *k = fl_yaml_map_get(opts, "key");
            if (opts->kind != FL_YAML_MAP || opts->count != 1 || !k ||
                k->kind != FL_YAML_SCALAR || k->len == 0) {
                fl_diag_add(p->diag, path, opts->line, opts->col, FL_DIAG_ERROR,
                            "the only option is 'key: NAME'",
                            "include options must be a map with 'key'");
                continue;
            }
            nest = k->value;
        }
        if (name->kind != FL_YAML_SCALAR || name->len == 0) {
            fl_diag_error(p->diag, path, item->line, item->col,
                          "an include item must be an SLS name");
            continue;
        }
        char *full = NULL, *err = NULL;
        if (name->value[0] == '.') {
            full = fl_sls_relative(sls, is_init, name->value, &err);
            if (!full) {
                fl_diag_error(p->diag, path, name->line, name->col, "%s", err);
                free(err);
                continue;
            }
        } else {
            full = fl_strdup(name->value);
        }
        json_t *sub = s_pillar_load(p, full, path, name->line, name->col, depth + 1);
        free(full);
        if (!sub) {
            continue;
        }
        if (nest) {
            json_t *wrap = json_object();
            json_object_set_new(wrap, nest, sub);
            sub = wrap;
        }
        s_merge(data, sub);
        json_decref(sub);
    }
}

/*  The data of pillar SLS NAME with its includes; NULL when it was loaded
    already or after errors. */
static json_t *
s_pillar_load(s_pillar_t *p, const char *name, const char *from, int line, int col, int depth)
{
    if (json_object_get(p->loaded, name)) {
        return NULL;
    }
    json_object_set_new(p->loaded, name, json_true());
    if (depth > FL_SLS_MAX_INCLUDE_DEPTH) {
        fl_diag_error(p->diag, from, line, col, "includes nest deeper than %d levels",
                      FL_SLS_MAX_INCLUDE_DEPTH);
        return NULL;
    }
    json_t *context = json_pack("{s:O, s:O, s:s, s:s, s:s}", "grains", p->grains, "pillar",
                                p->merged, "id", p->minion_id, "sls", name, "saltenv", "base");
    char *path = NULL;
    fl_yaml_doc_t *doc = NULL;
    int rc = fl_sls_load(p->src, name, context, p->diag, from, line, col, &path, &doc);
    json_decref(context);
    if (rc == 1) {
        fl_diag_error(p->diag, from, line, col, "no pillar SLS '%.128s' in %s", name,
                      fl_src_describe(p->src));
        return NULL;
    }
    if (rc < 0) {
        return NULL;
    }
    json_t *data = json_object();
    const fl_yaml_node_t *root = fl_yaml_root(doc);
    if (root && root->kind != FL_YAML_MAP) {
        fl_diag_error(p->diag, path, root->line, root->col, "a pillar SLS must be a map");
    } else if (root) {
        const fl_yaml_node_t *inc = fl_yaml_map_get(root, "include");
        if (inc) {
            s_pillar_include(p, name, path, inc, data, depth);
        }
        json_t *own = fl_yaml_to_json(root, path, p->diag);
        if (own) {
            json_object_del(own, "include");
            s_merge(data, own);
            json_decref(own);
        }
    }
    fl_yaml_destroy(&doc);
    free(path);
    return data;
}

json_t *
fl_pillar_compile(fl_src_t *src, const char *minion_id, const json_t *grains, fl_diag_t *diag)
{
    assert(src && diag);
    size_t errors_before = fl_diag_errors(diag);
    json_t *empty = json_object();
    json_t *own_grains = json_is_object(grains) ? json_incref((json_t *) grains) : json_object();
    json_t *entries = fl_top_entries(src, minion_id, own_grains, empty, diag);
    json_decref(empty);
    if (!entries) {
        json_decref(own_grains);
        return NULL;
    }
    s_pillar_t p = {
        .src = src,
        .minion_id = minion_id ? minion_id : "",
        .grains = own_grains,
        .diag = diag,
        .merged = json_object(),
        .loaded = json_object(),
    };
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        json_t *data = s_pillar_load(&p, fl_json_str(e, "sls"), FL_TOP_FILE,
                                     (int) json_integer_value(json_object_get(e, "line")),
                                     (int) json_integer_value(json_object_get(e, "col")), 0);
        if (data) {
            s_merge(p.merged, data);
            json_decref(data);
        }
    }
    json_decref(entries);
    json_decref(p.loaded);
    json_decref(own_grains);
    if (fl_diag_errors(diag) != errors_before) {
        json_decref(p.merged);
        return NULL;
    }
    return p.merged;
}
