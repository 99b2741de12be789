/*  fl_tmpl_call.c: calls in a template, and the argument binding shared
    with the filters and tests (fl_tmpl_filter.c).

    What can be called: methods of dicts (get, items, keys, values) and
    strings (split, startswith, endswith, strip, lstrip, rstrip, lower,
    upper, replace, join), the globals range() and dict(), and Salt's
    lookups salt['pillar.get'], salt['grains.get'], salt['pillar.items'],
    salt['grains.items'].  Anything else is refused with the position of
    the call: nothing here does I/O or changes a value it was given.

    Arguments are bound in one place (fl_tmpl_call_bind), by position or by
    keyword, against a signature, as Python would.  pillar.get() and
    salt['pillar.get']() walk keys separated by ':' (through lists too, by
    index or through the dicts they hold, as Salt's traverse_dict_and_list
    does); salt['pillar.get'] defaults to '' as in Salt, dict.get to None. */
#include "fl_tmpl_int.h"

#include <limits.h>

//  --------------------------------------------------------------------------
//  Arguments

void
fl_tmpl_call_release(json_t **args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(args[i]);
        args[i] = NULL;
    }
}

/*  Evaluates the arguments of NODE from kid FIRST on into ARGS (NULL where
    absent); -1 after reporting. */
int
fl_tmpl_call_bind(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const fl_tmpl_sig_t *sig,
                  json_t **args)
{
    size_t n_params = 0;
    while (n_params < FL_TMPL_MAX_PARAMS && sig->params[n_params]) {
        n_params++;
    }
    for (size_t i = 0; i < FL_TMPL_MAX_PARAMS; i++) {
        args[i] = NULL;
    }
    size_t positional = 0;
    for (size_t i = 0; i < node->n_kids; i++) {
        const char *kw = i < node->n_names ? node->names[i] : NULL;
        size_t slot;
        if (!kw) {
            if (positional >= n_params) {
                fl_tmpl_eval_error(ev, node->kids[i], "%s '%s' takes at most %zu argument%s",
                                   sig->what, sig->name, n_params, n_params == 1 ? "" : "s");
                fl_tmpl_call_release(args, n_params);
                return -1;
            }
            slot = positional++;
        } else {
            for (slot = 0; slot < n_params && strcmp(sig->params[slot], kw) != 0; slot++) {
            }
            if (slot == n_params) {
                fl_tmpl_eval_error(ev, node->kids[i], "%s '%s' has no argument named '%s'",
                                   sig->what, sig->name, kw);
                fl_tmpl_call_release(args, n_params);
                return -1;
            }
            if (args[slot]) {
                fl_tmpl_eval_error(ev, node->kids[i], "%s '%s' got argument '%s' twice",
                                   sig->what, sig->name, kw);
                fl_tmpl_call_release(args, n_params);
                return -1;
            }
        }
        args[slot] = fl_tmpl_eval_defined(ev, node->kids[i]);
        if (!args[slot]) {
            fl_tmpl_call_release(args, n_params);
            return -1;
        }
    }
    for (size_t i = 0; i < sig->required; i++) {
        if (!args[i]) {
            fl_tmpl_eval_error(ev, node, "%s '%s' needs its argument '%s'", sig->what, sig->name,
                               sig->params[i]);
            fl_tmpl_call_release(args, n_params);
            return -1;
        }
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Helpers

/*  The string in B as a value, or NULL after reporting a limit. */
json_t *
fl_tmpl_call_value(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, fl_tmpl_buf_t *b)
{
    json_t *r = NULL;
    if (b->too_deep) {
        fl_tmpl_eval_error(ev, node, "value nested too deeply to format");
    } else if (b->overflow) {
        fl_tmpl_eval_error(ev, node, "string longer than 16 MiB");
    } else if (fl_tmpl_eval_charge(ev, node, FL_TMPL_BYTE_STEPS(b->len)) == 0) {
        r = fl_tmpl_str(b->data ? b->data : "", b->len);
    }
    fl_tmpl_buf_free(b);
    return r;
}

/*  str(V) into B; -1 after reporting. */
int
fl_tmpl_call_text(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, fl_tmpl_buf_t *b)
{
    fl_tmpl_fmt_str(b, v);
    if (b->too_deep || b->overflow) {
        fl_tmpl_eval_error(ev, node, b->too_deep ? "value nested too deeply to format"
                                                 : "string longer than 16 MiB");
        return -1;
    }
    return 0;
}

static bool
s_is_int(const json_t *v)
{
    return json_is_integer(v) || json_is_boolean(v);
}

static json_int_t
s_int(const json_t *v)
{
    return json_is_integer(v) ? json_integer_value(v) : json_is_true(v) ? 1 : 0;
}

/*  An integer argument (booleans count); -1 after reporting. */
int
fl_tmpl_call_int_arg(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v,
                     const char *what,           json_int_t *out)
{
    if (!s_is_int(v)) {
        fl_tmpl_eval_error(ev, node, "%s must be an integer, not %s", what, fl_tmpl_type_name(v));
        return -1;
    }
    *out = s_int(v);
    return 0;
}

int
fl_tmpl_call_str_arg(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v,
                     const char *what)
{
    if (!json_is_string(v)) {
        fl_tmpl_eval_error(ev, node, "%s must be a string, not %s", what, fl_tmpl_type_name(v));
        return -1;
    }
    return 0;
}

/*  The items of V as a for loop sees them (list; dict keys; characters),
    as a new list; NULL after reporting when V cannot be iterated. */
json_t *
fl_tmpl_call_items(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v)
{
    if (json_is_array(v)) {
        return json_incref((json_t *) v);
    }
    json_t *items = json_array();
    if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach((json_t *) v, k, item) {
            fl_tmpl_append(items, fl_tmpl_str(k, strlen(k)));
        }
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        for (size_t i = 0; i < len;) {
            size_t start = i;
            fl_tmpl_utf8_next(s, len, &i);
            fl_tmpl_append(items, fl_tmpl_str(s + start, i - start));
        }
    } else {
        json_decref(items);
        return fl_tmpl_eval_error(ev, node, "%s is not iterable", fl_tmpl_type_name(v));
    }
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(json_array_size(items))) < 0) {
        json_decref(items);
        return NULL;
    }
    return items;
}

/*  Python's str.replace(old, new, count); COUNT < 0 for all. */
json_t *
fl_tmpl_call_replace(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *s, size_t len,
          const json_t *old, const json_t *new, json_int_t count)
{
    const char *o = json_string_value(old), *n = json_string_value(new);
    size_t ol = json_string_length(old), nl = json_string_length(new);
    fl_tmpl_buf_t b = { 0 };
    json_int_t done = 0;
    if (ol == 0) {
        /* An empty pattern matches before each character and at the end. */
        for (size_t i = 0; i <= len && !b.overflow;) {
            if (count < 0 || done < count) {
                fl_tmpl_buf_add(&b, n, nl);
                done++;
            }
            if (i == len) {
                break;
            }
            size_t start = i;
            fl_tmpl_utf8_next(s, len, &i);
            fl_tmpl_buf_add(&b, s + start, i - start);
        }
        return fl_tmpl_call_value(ev, node, &b);
    }
    size_t i = 0;
    while (i < len && !b.overflow) {
        const char *hit = (count < 0 || done < count) ? memmem(s + i, len - i, o, ol) : NULL;
        if (!hit) {
            break;
        }
        size_t at = (size_t) (hit - s);
        fl_tmpl_buf_add(&b, s + i, at - i);
        fl_tmpl_buf_add(&b, n, nl);
        i = at + ol;
        done++;
    }
    fl_tmpl_buf_add(&b, s + i, len - i);
    return fl_tmpl_call_value(ev, node, &b);
}


//  --------------------------------------------------------------------------
//  Salt's lookups

/*  Salt's traverse_dict_and_list: KEY split at DELIM walks dicts, and lists
    by index or through the dicts they hold.  Borrowed; NULL when absent. */
static const json_t *
s_traverse(const json_t *root, const char *key, size_t key_len, const char *delim,
           size_t delim_len)
{
    const json_t *cur = root;
    size_t pos = 0;
    for (;;) {
        const char *hit = delim_len ? memmem(key + pos, key_len - pos, delim, delim_len) : NULL;
        size_t end = hit ? (size_t) (hit - key) : key_len;
        const char *part = key + pos;
        size_t n = end - pos;
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, part, n);
        } else if (json_is_array(cur)) {
            const json_t *found = NULL;
            for (size_t i = 0; i < json_array_size(cur) && !found; i++) {
                const json_t *item = json_array_get(cur, i);
                if (json_is_object(item)) {
                    found = json_object_getn(item, part, n);
                }
            }
            json_int_t index;
            if (!found && fl_tmpl_text_parse_int(part, n, 10, &index)) {
                json_int_t size = (json_int_t) json_array_size(cur);
                if (index < 0) {
                    index += size;
                }
                if (index >= 0 && index < size) {
                    found = json_array_get(cur, (size_t) index);
                }
            }
            cur = found;
        } else {
            cur = NULL;
        }
        if (!cur || !hit) {
            return cur;
        }
        pos = end + delim_len;
    }
}

/*  pillar.get / grains.get: ARGS key, default, delimiter. */
static json_t *
s_get_nested(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *root, json_t **args,
             json_t *fallback)
{
    if (fl_tmpl_call_str_arg(ev, node, args[0], "the key") < 0
        || (args[2] && fl_tmpl_call_str_arg(ev, node, args[2], "the delimiter") < 0)) {
        json_decref(fallback);
        return NULL;
    }
    const char *delim = args[2] ? json_string_value(args[2]) : ":";
    size_t delim_len = args[2] ? json_string_length(args[2]) : 1;
    const json_t *v = s_traverse(root, json_string_value(args[0]), json_string_length(args[0]),
                                 delim, delim_len);
    if (v) {
        json_decref(fallback);
        return json_incref((json_t *) v);
    }
    return args[1] ? (json_decref(fallback), json_incref(args[1])) : fallback;
}

static json_t *
s_salt(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    const fl_tmpl_node_t *callee = node->a;
    json_t *name = fl_tmpl_eval_defined(ev, callee->b);
    if (!name) {
        return NULL;
    }
    if (!json_is_string(name)) {
        json_decref(name);
        return fl_tmpl_eval_error(ev, callee, "salt[...] needs a function name");
    }
    const char *fn = json_string_value(name);
    bool pillar = !strcmp(fn, "pillar.get") || !strcmp(fn, "pillar.items");
    bool grains = !strcmp(fn, "grains.get") || !strcmp(fn, "grains.items");
    if (!pillar && !grains) {
        fl_tmpl_eval_error(ev, callee, "salt function '%s' is not available in templates "
                           "(only pillar.get, pillar.items, grains.get, grains.items)", fn);
        json_decref(name);
        return NULL;
    }
    const json_t *root = pillar ? fl_tmpl_eval_pillar(ev) : fl_tmpl_eval_grains(ev);
    json_t *empty = root ? NULL : json_object();
    if (!root) {
        root = empty;
    }
    json_t *r = NULL;
    json_t *args[FL_TMPL_MAX_PARAMS];
    if (strstr(fn, ".items")) {
        fl_tmpl_sig_t sig = { "function", fn, { NULL }, 0 };
        if (fl_tmpl_call_bind(ev, node, &sig, args) == 0) {
            r = json_incref((json_t *) root);
        }
    } else {
        fl_tmpl_sig_t sig = { "function", fn, { "key", "default", "delimiter", NULL }, 1 };
        if (fl_tmpl_call_bind(ev, node, &sig, args) == 0) {
            /* Salt's default default is the empty string. */
            r = s_get_nested(ev, node, root, args, fl_tmpl_str("", 0));
            fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
        }
    }
    json_decref(empty);
    json_decref(name);
    return r;
}

//  --------------------------------------------------------------------------
//  Methods and globals

static json_t *
s_dict_method(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *name, json_t *self)
{
    json_t *args[FL_TMPL_MAX_PARAMS];
    json_t *r = NULL;
    if (!strcmp(name, "get")) {
        bool nested = self == fl_tmpl_eval_pillar(ev) || self == fl_tmpl_eval_grains(ev);
        fl_tmpl_sig_t sig = { "method", "get",
                              { "key", "default", nested ? "delimiter" : NULL, NULL }, 1 };
        if (fl_tmpl_call_bind(ev, node, &sig, args) < 0) {
            return NULL;
        }
        if (nested) {
            r = s_get_nested(ev, node, self, args, json_null());
        } else if (!json_is_string(args[0])) {
            r = args[1] ? json_incref(args[1]) : json_null();
        } else {
            r = json_object_getn(self, json_string_value(args[0]), json_string_length(args[0]));
            r = r ? json_incref(r) : args[1] ? json_incref(args[1]) : json_null();
        }
        fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
        return r;
    }
    if (strcmp(name, "items") && strcmp(name, "keys") && strcmp(name, "values")) {
        return fl_tmpl_eval_error(ev, node->a, "unknown method '%s' for type dict (templates "
                                  "can call get, items, keys, values)", name);
    }
    fl_tmpl_sig_t sig = { "method", name, { NULL }, 0 };
    if (fl_tmpl_call_bind(ev, node, &sig, args) < 0
        || fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(json_object_size(self))) < 0) {
        return NULL;
    }
    r = json_array();
    const char *k;
    json_t *item;
    json_object_foreach(self, k, item) {
        if (name[0] == 'k') {
            fl_tmpl_append(r, fl_tmpl_str(k, strlen(k)));
        } else if (name[0] == 'v') {
            fl_tmpl_append(r, json_incref(item));
        } else {
            json_t *pair = json_array();
            fl_tmpl_append(pair, fl_tmpl_str(k, strlen(k)));
            fl_tmpl_append(pair, json_incref(item));
            fl_tmpl_append(r, pair);
        }
    }
    return r;
}

/*  str.split(sep=None, maxsplit=-1). */
static json_t *
s_split(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *s, size_t len, json_t **args)
{
    json_int_t max = -1;
    if (args[1] && fl_tmpl_call_int_arg(ev, node, args[1], "maxsplit", &max) < 0) {
        return NULL;
    }
    const json_t *sep = args[0] && !json_is_null(args[0]) ? args[0] : NULL;
    if (sep && (fl_tmpl_call_str_arg(ev, node, sep, "the separator") < 0)) {
        return NULL;
    }
    if (sep && json_string_length(sep) == 0) {
        return fl_tmpl_eval_error(ev, node, "empty separator");
    }
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_BYTE_STEPS(len)) < 0) {
        return NULL;
    }
    json_t *r = json_array();
    json_int_t done = 0;
    size_t i = 0;
    if (sep) {
        const char *d = json_string_value(sep);
        size_t dl = json_string_length(sep);
        for (;;) {
            const char *hit = (max < 0 || done < max) ? memmem(s + i, len - i, d, dl) : NULL;
            if (!hit) {
                break;
            }
            fl_tmpl_append(r, fl_tmpl_str(s + i, (size_t) (hit - s) - i));
            i = (size_t) (hit - s) + dl;
            done++;
        }
        fl_tmpl_append(r, fl_tmpl_str(s + i, len - i));
        return r;
    }
    /* Runs of whitespace separate; none at either end counts. */
    for (;;) {
        while (i < len) {
            size_t k = i;
            if (!fl_tmpl_is_space(fl_tmpl_utf8_next(s, len, &k))) {
                break;
            }
            i = k;
        }
        if (i >= len) {
            break;
        }
        if (max >= 0 && done >= max) {
            /* The rest, less trailing whitespace. */
            json_t *rest = fl_tmpl_text_strip(s + i, len - i, NULL, 'r');
            fl_tmpl_append(r, rest);
            break;
        }
        size_t start = i;
        while (i < len) {
            size_t k = i;
            if (fl_tmpl_is_space(fl_tmpl_utf8_next(s, len, &k))) {
                break;
            }
            i = k;
        }
        fl_tmpl_append(r, fl_tmpl_str(s + start, i - start));
        done++;
    }
    return r;
}

/*  startswith/endswith with a string or a list of them. */
static int
s_affix(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *s, size_t len,
        const json_t *affix, bool end)
{
    if (json_is_array(affix)) {
        for (size_t i = 0; i < json_array_size(affix); i++) {
            int r = s_affix(ev, node, s, len, json_array_get(affix, i), end);
            if (r != 0) {
                return r;
            }
        }
        return 0;
    }
    const char *what = end ? "endswith's argument" : "startswith's argument";
    if (fl_tmpl_call_str_arg(ev, node, affix, what) < 0) {
        return -1;
    }
    size_t n = json_string_length(affix);
    return n <= len && memcmp(end ? s + len - n : s, json_string_value(affix), n) == 0;
}

static json_t *
s_str_method(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *name, json_t *self)
{
    static const struct {
        const char *name;
        const char *params[3];
        size_t required;
    } methods[] = {
        { "endswith", { "suffix", NULL }, 1 },
        { "join", { "iterable", NULL }, 1 },
        { "lower", { NULL }, 0 },
        { "lstrip", { "chars", NULL }, 0 },
        { "replace", { "old", "new", "count" }, 2 },
        { "rstrip", { "chars", NULL }, 0 },
        { "split", { "sep", "maxsplit", NULL }, 0 },
        { "startswith", { "prefix", NULL }, 1 },
        { "strip", { "chars", NULL }, 0 },
        { "upper", { NULL }, 0 },
    };
    size_t m;
    for (m = 0; m < FL_ARRAY_LEN(methods) && strcmp(methods[m].name, name) != 0; m++) {
    }
    if (m == FL_ARRAY_LEN(methods)) {
        return fl_tmpl_eval_error(ev, node->a, "unknown method '%s' for type str", name);
    }
    fl_tmpl_sig_t sig = { "method", name, { methods[m].params[0], methods[m].params[1],
                                      methods[m].params[2], NULL }, methods[m].required };
    json_t *args[FL_TMPL_MAX_PARAMS];
    if (fl_tmpl_call_bind(ev, node, &sig, args) < 0) {
        return NULL;
    }
    const char *s = json_string_value(self);
    size_t len = json_string_length(self);
    json_t *r = NULL;
    fl_tmpl_buf_t b = { 0 };
    int c;
    if (!strcmp(name, "split")) {
        r = s_split(ev, node, s, len, args);
    } else if (!strcmp(name, "startswith") || !strcmp(name, "endswith")) {
        c = s_affix(ev, node, s, len, args[0], name[0] == 'e');
        r = c < 0 ? NULL : json_boolean(c);
    } else if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        fl_tmpl_text_case(&b, s, len, name[0]);
        r = fl_tmpl_call_value(ev, node, &b);
    } else if (strstr(name, "strip")) {
        const json_t *chars = args[0] && !json_is_null(args[0]) ? args[0] : NULL;
        if (!chars || fl_tmpl_call_str_arg(ev, node, chars, "chars") == 0) {
            char which = name[0] == 'l' ? 'l' : name[0] == 'r' ? 'r' : 'b';
            r = fl_tmpl_text_strip(s, len, chars, which);
        }
    } else if (!strcmp(name, "replace")) {
        json_int_t count = -1;
        if (fl_tmpl_call_str_arg(ev, node, args[0], "replace's first argument") == 0
            && fl_tmpl_call_str_arg(ev, node, args[1], "replace's second argument") == 0
            && (!args[2] || fl_tmpl_call_int_arg(ev, node, args[2], "count", &count) == 0)) {
            r = fl_tmpl_call_replace(ev, node, s, len, args[0], args[1], count);
        }
    } else {    /* join */
        json_t *items = fl_tmpl_call_items(ev, node, args[0]);
        for (size_t i = 0; items && i < json_array_size(items); i++) {
            const json_t *item = json_array_get(items, i);
            if (!json_is_string(item)) {
                fl_tmpl_eval_error(ev, node, "str.join: item %zu is of type %s, not str", i,
                                   fl_tmpl_type_name(item));
                break;
            }
            if (i > 0) {
                fl_tmpl_buf_add(&b, s, len);
            }
            fl_tmpl_buf_add(&b, json_string_value(item), json_string_length(item));
        }
        if (items && !fl_tmpl_eval_failed(ev)) {
            r = fl_tmpl_call_value(ev, node, &b);
        }
        json_decref(items);
    }
    fl_tmpl_buf_free(&b);
    fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
    return r;
}

static json_t *
s_range(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *args[FL_TMPL_MAX_PARAMS];
    fl_tmpl_sig_t sig = { "function", "range", { "start", "stop", "step", NULL }, 1 };
    if (fl_tmpl_call_bind(ev, node, &sig, args) < 0) {
        return NULL;
    }
    json_int_t v[3] = { 0, 0, 1 };
    json_t *r = NULL;
    size_t n = 0;
    for (size_t i = 0; i < 3 && args[i]; i++) {
        if (fl_tmpl_call_int_arg(ev, node, args[i], "range's argument", &v[i]) < 0) {
            fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
            return NULL;
        }
        n++;
    }
    fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
    json_int_t start = n == 1 ? 0 : v[0], stop = n == 1 ? v[0] : v[1], step = n == 3 ? v[2] : 1;
    if (step == 0) {
        return fl_tmpl_eval_error(ev, node, "range() step must not be zero");
    }
    /* The count, in unsigned 64-bit arithmetic (no __int128 on 32-bit
     * ARM): the distance between two int64 values always fits. */
    bool up = step > 0;
    uint64_t abs_step = up ? (uint64_t) step : -(uint64_t) step;
    uint64_t span = 0;
    if (up ? stop > start : start > stop) {
        span = up ? (uint64_t) stop - (uint64_t) start : (uint64_t) start - (uint64_t) stop;
    }
    uint64_t count = span / abs_step + (span % abs_step != 0);
    if (count > FL_TMPL_MAX_RANGE) {
        return fl_tmpl_eval_error(ev, node, "range too big: more than %d items",
                                  FL_TMPL_MAX_RANGE);
    }
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(count)) < 0) {
        return NULL;
    }
    r = json_array();
    for (uint64_t i = 0; i < count; i++) {
        /* Every item lies between start and stop, so it fits. */
        fl_tmpl_append(r, json_integer((json_int_t) ((uint64_t) start + i * (uint64_t) step)));
    }
    return r;
}

static json_t *
s_dict(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *r = json_object();
    for (size_t i = 0; i < node->n_kids; i++) {
        if (i >= node->n_names || !node->names[i]) {
            json_decref(r);
            return fl_tmpl_eval_error(ev, node->kids[i], "dict() takes keyword arguments only");
        }
        json_t *v = fl_tmpl_eval_defined(ev, node->kids[i]);
        if (!v) {
            json_decref(r);
            return NULL;
        }
        if (fl_tmpl_eval_depth(ev, v, FL_TMPL_MAX_VALUE_DEPTH) >= FL_TMPL_MAX_VALUE_DEPTH) {
            json_decref(v);
            json_decref(r);
            return fl_tmpl_eval_error(ev, node, "value nested too deeply (limit %d)",
                                      FL_TMPL_MAX_VALUE_DEPTH);
        }
        fl_tmpl_set(r, node->names[i], v);
    }
    return r;
}

json_t *
fl_tmpl_call(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    const fl_tmpl_node_t *callee = node->a;
    if (callee->kind == FL_TN_ITEM && callee->a->kind == FL_TN_NAME
        && !strcmp(callee->a->str, "salt") && !fl_tmpl_eval_has_name(ev, "salt")) {
        return s_salt(ev, node);
    }
    if (callee->kind == FL_TN_NAME && !fl_tmpl_eval_has_name(ev, callee->str)) {
        if (!strcmp(callee->str, "range")) {
            return s_range(ev, node);
        }
        if (!strcmp(callee->str, "dict")) {
            return s_dict(ev, node);
        }
        return fl_tmpl_eval_error(ev, callee, "unknown function '%s'", callee->str);
    }
    if (callee->kind == FL_TN_ATTR) {
        json_t *self = fl_tmpl_eval_defined(ev, callee->a);
        if (!self) {
            return NULL;
        }
        json_t *r;
        if (json_is_object(self)) {
            r = s_dict_method(ev, node, callee->str, self);
        } else if (json_is_string(self)) {
            r = s_str_method(ev, node, callee->str, self);
        } else {
            r = fl_tmpl_eval_error(ev, callee, "unknown method '%s' for type %s", callee->str,
                                   fl_tmpl_type_name(self));
        }
        json_decref(self);
        return r;
    }
    return fl_tmpl_eval_error(ev, node, "%s is not callable", fl_tmpl_eval_src(ev, callee));
}
