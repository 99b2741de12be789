/*  fl_tmpl_filter.c: the filters and tests a template can use.

    Each is a row in a table (name, parameters, how many are required, and
    whether it accepts an undefined value), so fl_tmpl_call_bind checks and
    binds the arguments for all of them alike.  A name that is not in a
    table is refused when the template is parsed.

    Behaviour follows Jinja 3 and Salt where they define it: default()
    replaces only undefined values (or falsy ones with its second argument,
    so none|default('x') stays None), sort() and unique() ignore case
    unless told otherwise, int() reads "42.5" as 42 and anything unreadable
    as its default, first/last of an empty sequence are undefined (so
    `| first | default(x)` works), the yaml filter is flow style unless
    given False, json is Salt's (sorted keys, ", " and ": "). */
#include "fl_tmpl_int.h"

#include <limits.h>
#include <math.h>

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

//  --------------------------------------------------------------------------
//  Sorting (stable, with errors)

typedef struct {
    fl_tmpl_eval_t *ev;
    const fl_tmpl_node_t *node;
    bool case_sensitive;
    const char *attribute;      /* compare item[attribute] */
} s_sort_t;

static int
s_sort_cmp(s_sort_t *st, const json_t *a, const json_t *b)
{
    if (st->attribute) {
        const json_t *x = json_is_object(a) ? json_object_get(a, st->attribute) : NULL;
        const json_t *y = json_is_object(b) ? json_object_get(b, st->attribute) : NULL;
        if (!x || !y) {
            fl_tmpl_eval_error(st->ev, st->node, "an item has no attribute '%s'", st->attribute);
            return -2;
        }
        a = x;
        b = y;
    }
    if (!st->case_sensitive && json_is_string(a) && json_is_string(b)) {
        const char *s = json_string_value(a), *t = json_string_value(b);
        size_t ls = json_string_length(a), lt = json_string_length(b);
        size_t i = 0, k = 0;
        while (i < ls && k < lt) {
            uint32_t c = fl_tmpl_text_lower_cp(fl_tmpl_utf8_next(s, ls, &i));
            uint32_t d = fl_tmpl_text_lower_cp(fl_tmpl_utf8_next(t, lt, &k));
            if (c != d) {
                return c < d ? -1 : 1;
            }
        }
        return (i < ls) ? 1 : (k < lt) ? -1 : 0;
    }
    return fl_tmpl_compare(st->ev, st->node, a, b, 0);
}

/*  Sorts ITEMS[0..n) in place (merge sort: stable); -1 after reporting. */
static int
s_merge_sort(s_sort_t *st, json_t **items, json_t **tmp, size_t n)
{
    if (n < 2) {
        return 0;
    }
    size_t half = n / 2;
    if (s_merge_sort(st, items, tmp, half) < 0
        || s_merge_sort(st, items + half, tmp, n - half) < 0) {
        return -1;
    }
    size_t i = 0, k = half, o = 0;
    while (i < half && k < n) {
        int c = s_sort_cmp(st, items[k], items[i]);
        if (c == -2) {
            return -1;
        }
        tmp[o++] = c < 0 ? items[k++] : items[i++];
    }
    while (i < half) {
        tmp[o++] = items[i++];
    }
    while (k < n) {
        tmp[o++] = items[k++];
    }
    memcpy(items, tmp, n * sizeof *items);
    return fl_tmpl_eval_charge(st->ev, st->node, n);
}

/*  A sorted copy of the list ITEMS; NULL after reporting. */
static json_t *
s_sorted(s_sort_t *st, const json_t *items, bool reverse)
{
    size_t n = json_array_size(items);
    json_t **v = fl_malloc((n ? n : 1) * sizeof *v);
    json_t **tmp = fl_malloc((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++) {
        v[i] = json_array_get(items, i);
    }
    json_t *r = NULL;
    if (s_merge_sort(st, v, tmp, n) == 0) {
        r = json_array();
        for (size_t i = 0; i < n; i++) {
            fl_tmpl_append(r, json_incref(v[reverse ? n - 1 - i : i]));
        }
    }
    free(v);
    free(tmp);
    return r;
}

//  --------------------------------------------------------------------------
//  Filters

typedef json_t *(*s_filter_fn)(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v,
                               json_t **args);

/*  Filters that take other filters or tests by name (map, select ...)
    bind their own arguments. */
typedef json_t *(*s_filter_vfn)(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v);

typedef struct {
    fl_tmpl_sig_t sig;
    s_filter_fn fn;
    bool accepts_undefined;
    s_filter_vfn vfn;
} s_filter_t;

static json_t *v_map(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v);
static json_t *v_select(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v);
static json_t *v_reject(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v);
static json_t *v_selectattr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v);
static json_t *v_rejectattr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v);

static json_t *
f_default(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    bool boolean = args[1] && fl_tmpl_truthy(args[1]);
    if (!v || (boolean && !fl_tmpl_truthy(v))) {
        return args[0] ? json_incref(args[0]) : fl_tmpl_str("", 0);
    }
    return json_incref(v);
}

static json_t *
s_case_filter(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, char mode)
{
    fl_tmpl_buf_t text = { 0 };
    if (fl_tmpl_call_text(ev, node, v, &text) < 0) {
        fl_tmpl_buf_free(&text);
        return NULL;
    }
    fl_tmpl_buf_t b = { 0 };
    fl_tmpl_text_case(&b, text.data ? text.data : "", text.len, mode);
    fl_tmpl_buf_free(&text);
    return fl_tmpl_call_value(ev, node, &b);
}

static json_t *
f_lower(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_case_filter(ev, node, v, 'l');
}

static json_t *
f_upper(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_case_filter(ev, node, v, 'u');
}

static json_t *
f_capitalize(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_case_filter(ev, node, v, 'c');
}

static json_t *
f_replace(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    json_int_t count = -1;
    if (fl_tmpl_call_str_arg(ev, node, args[0], "replace's first argument") < 0
        || fl_tmpl_call_str_arg(ev, node, args[1], "replace's second argument") < 0
        || (args[2] && !json_is_null(args[2])
            && fl_tmpl_call_int_arg(ev, node, args[2], "count", &count) < 0)) {
        return NULL;
    }
    fl_tmpl_buf_t text = { 0 };
    if (fl_tmpl_call_text(ev, node, v, &text) < 0) {
        fl_tmpl_buf_free(&text);
        return NULL;
    }
    json_t *r = fl_tmpl_call_replace(ev, node, text.data ? text.data : "", text.len, args[0],
                                     args[1], count);
    fl_tmpl_buf_free(&text);
    return r;
}

static json_t *
f_join(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    if (args[0] && fl_tmpl_call_str_arg(ev, node, args[0], "the separator") < 0) {
        return NULL;
    }
    if (args[1] && fl_tmpl_call_str_arg(ev, node, args[1], "attribute") < 0) {
        return NULL;
    }
    json_t *items = fl_tmpl_call_items(ev, node, v);
    if (!items) {
        return NULL;
    }
    fl_tmpl_buf_t b = { 0 };
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *item = json_array_get(items, i);
        if (args[1]) {
            item = json_is_object(item) ? json_object_get(item, json_string_value(args[1])) : NULL;
            if (!item) {
                fl_tmpl_buf_free(&b);
                json_decref(items);
                return fl_tmpl_eval_error(ev, node, "an item has no attribute '%s'",
                                          json_string_value(args[1]));
            }
        }
        if (i > 0 && args[0]) {
            fl_tmpl_buf_add(&b, json_string_value(args[0]), json_string_length(args[0]));
        }
        if (fl_tmpl_call_text(ev, node, item, &b) < 0) {
            fl_tmpl_buf_free(&b);
            json_decref(items);
            return NULL;
        }
    }
    json_decref(items);
    return fl_tmpl_call_value(ev, node, &b);
}

static json_t *
f_length(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    if (json_is_string(v)) {
        return json_integer(
            (json_int_t) fl_tmpl_utf8_count(json_string_value(v), json_string_length(v)));
    }
    if (json_is_array(v)) {
        return json_integer((json_int_t) json_array_size(v));
    }
    if (json_is_object(v)) {
        return json_integer((json_int_t) json_object_size(v));
    }
    return fl_tmpl_eval_error(ev, node, "type %s has no length", fl_tmpl_type_name(v));
}

static json_t *
f_yaml(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    fl_tmpl_buf_t b = { 0 };
    if (fl_tmpl_eval_charge(ev, node, (uint64_t) fl_tmpl_eval_depth(ev, v, 1000)) < 0) {
        return NULL;
    }
    fl_tmpl_fmt_yaml(&b, v, !args[0] || fl_tmpl_truthy(args[0]));
    return fl_tmpl_call_value(ev, node, &b);
}

static json_t *
s_json_filter(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, bool htmlsafe)
{
    fl_tmpl_buf_t b = { 0 };
    fl_tmpl_fmt_json(&b, v, htmlsafe);
    return fl_tmpl_call_value(ev, node, &b);
}

static json_t *
f_json(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_json_filter(ev, node, v, false);
}

static json_t *
f_tojson(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_json_filter(ev, node, v, true);
}

static json_t *
f_string(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    if (json_is_string(v)) {
        return json_incref(v);
    }
    fl_tmpl_buf_t b = { 0 };
    fl_tmpl_fmt_str(&b, v);
    return fl_tmpl_call_value(ev, node, &b);
}

static json_t *
f_int(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    json_int_t base = 10;
    if (args[1] && fl_tmpl_call_int_arg(ev, node, args[1], "base", &base) < 0) {
        return NULL;
    }
    if (base < 2 || base > 36) {
        return fl_tmpl_eval_error(ev, node, "int() base must be between 2 and 36");
    }
    json_t *fallback = args[0] ? json_incref(args[0]) : json_integer(0);
    double d;
    json_int_t i;
    if (s_is_int(v)) {
        json_decref(fallback);
        return json_integer(s_int(v));
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
    } else if (json_is_string(v)) {
        if (fl_tmpl_text_parse_int(json_string_value(v), json_string_length(v), (int) base, &i)) {
            json_decref(fallback);
            return json_integer(i);
        }
        if (!fl_tmpl_text_parse_float(json_string_value(v), json_string_length(v), &d)
            || !isfinite(d)) {
            return fallback;
        }
    } else {
        return fallback;
    }
    json_decref(fallback);
    d = fl_tmpl_trunc(d);
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return fl_tmpl_eval_error(ev, node, "integer result out of range");
    }
    return json_integer((json_int_t) d);
}

static json_t *
f_float(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    double d;
    if (json_is_number(v) || json_is_boolean(v)) {
        return json_real(json_is_real(v) ? json_real_value(v) : (double) s_int(v));
    }
    if (json_is_string(v)
        && fl_tmpl_text_parse_float(json_string_value(v), json_string_length(v), &d)
        && isfinite(d)) {
        return json_real(d);
    }
    return args[0] ? json_incref(args[0]) : json_real(0.0);
}

static json_t *
f_trim(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    if (args[0] && !json_is_null(args[0]) && fl_tmpl_call_str_arg(ev, node, args[0], "chars") < 0) {
        return NULL;
    }
    fl_tmpl_buf_t text = { 0 };
    if (fl_tmpl_call_text(ev, node, v, &text) < 0) {
        fl_tmpl_buf_free(&text);
        return NULL;
    }
    json_t *r = fl_tmpl_text_strip(text.data ? text.data : "", text.len,
                        args[0] && !json_is_null(args[0]) ? args[0] : NULL, 'b');
    fl_tmpl_buf_free(&text);
    return r;
}

static json_t *
s_first_last(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, bool last)
{
    if (json_is_array(v) && json_array_size(v) > 0) {
        return json_incref(json_array_get(v, last ? json_array_size(v) - 1 : 0));
    }
    json_t *items = fl_tmpl_call_items(ev, node, v);
    if (!items) {
        return NULL;
    }
    size_t n = json_array_size(items);
    json_t *r = n ? json_incref(json_array_get(items, last ? n - 1 : 0)) : NULL;
    json_decref(items);
    if (!r) {
        fl_tmpl_eval_undefined(ev, node, "no %s item: the sequence is empty",
                               last ? "last" : "first");
    }
    return r;
}

static json_t *
f_first(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_first_last(ev, node, v, false);
}

static json_t *
f_last(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return s_first_last(ev, node, v, true);
}

static json_t *
f_sort(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    if (args[2] && fl_tmpl_call_str_arg(ev, node, args[2], "attribute") < 0) {
        return NULL;
    }
    json_t *items = fl_tmpl_call_items(ev, node, v);
    if (!items) {
        return NULL;
    }
    s_sort_t st = { ev, node, args[1] && fl_tmpl_truthy(args[1]),
                    args[2] ? json_string_value(args[2]) : NULL };
    json_t *r = s_sorted(&st, items, args[0] && fl_tmpl_truthy(args[0]));
    json_decref(items);
    return r;
}

static json_t *
f_list(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    return fl_tmpl_call_items(ev, node, v);
}

static json_t *
f_unique(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    if (args[1] && fl_tmpl_call_str_arg(ev, node, args[1], "attribute") < 0) {
        return NULL;
    }
    json_t *items = fl_tmpl_call_items(ev, node, v);
    if (!items) {
        return NULL;
    }
    s_sort_t st = { ev, node, args[0] && fl_tmpl_truthy(args[0]),
                    args[1] ? json_string_value(args[1]) : NULL };
    json_t *r = json_array();
    size_t n = json_array_size(items);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(items, i);
        bool seen = false;
        if (fl_tmpl_eval_charge(ev, node, json_array_size(r)) < 0) {
            break;
        }
        for (size_t k = 0; k < json_array_size(r) && !seen; k++) {
            const json_t *other = json_array_get(r, k);
            if (st.attribute || (!st.case_sensitive && json_is_string(item)
                                 && json_is_string(other))) {
                int c = s_sort_cmp(&st, item, other);
                if (c == -2) {
                    /* Items that cannot be ordered are simply different. */
                    if (st.attribute) {
                        break;
                    }
                    continue;
                }
                seen = c == 0;
            } else {
                seen = fl_tmpl_equal(item, other, 0);
            }
        }
        if (fl_tmpl_eval_failed(ev)) {
            break;
        }
        if (!seen) {
            fl_tmpl_append(r, json_incref(item));
        }
    }
    json_decref(items);
    if (fl_tmpl_eval_failed(ev)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *
f_reverse(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    json_t *items = fl_tmpl_call_items(ev, node, v);
    if (!items) {
        return NULL;
    }
    size_t n = json_array_size(items);
    if (json_is_string(v)) {
        fl_tmpl_buf_t b = { 0 };
        for (size_t i = n; i-- > 0;) {
            const json_t *c = json_array_get(items, i);
            fl_tmpl_buf_add(&b, json_string_value(c), json_string_length(c));
        }
        json_decref(items);
        return fl_tmpl_call_value(ev, node, &b);
    }
    json_t *r = json_array();
    for (size_t i = n; i-- > 0;) {
        fl_tmpl_append(r, json_incref(json_array_get(items, i)));
    }
    json_decref(items);
    return r;
}

static json_t *
f_abs(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    FL_UNUSED(args);
    if (json_is_real(v)) {
        return json_real(__builtin_fabs(json_real_value(v)));
    }
    if (s_is_int(v)) {
        json_int_t i = s_int(v);
        if (i == LLONG_MIN) {
            return fl_tmpl_eval_error(ev, node, "integer result out of range");
        }
        return json_integer(i < 0 ? -i : i);
    }
    return fl_tmpl_eval_error(ev, node, "bad operand type for abs(): %s", fl_tmpl_type_name(v));
}

static json_t *
f_indent(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    fl_tmpl_buf_t pad = { 0 };
    if (!args[0]) {
        fl_tmpl_buf_add(&pad, "    ", 4);
    } else if (json_is_string(args[0])) {
        fl_tmpl_buf_add(&pad, json_string_value(args[0]), json_string_length(args[0]));
    } else {
        json_int_t width;
        if (fl_tmpl_call_int_arg(ev, node, args[0], "width", &width) < 0) {
            return NULL;
        }
        if (width > 4096) {
            return fl_tmpl_eval_error(ev, node, "indent width too large");
        }
        for (json_int_t i = 0; i < width; i++) {
            fl_tmpl_buf_addc(&pad, ' ');
        }
    }
    bool first = args[1] && fl_tmpl_truthy(args[1]);
    bool blank = args[2] && fl_tmpl_truthy(args[2]);
    fl_tmpl_buf_t text = { 0 };
    if (fl_tmpl_call_text(ev, node, v, &text) < 0) {
        fl_tmpl_buf_free(&text);
        fl_tmpl_buf_free(&pad);
        return NULL;
    }
    /* As Jinja: lines = (s + "\n").splitlines(); every line after the
       first gets the indent (an empty one only with blank=True); first=True
       indents the first line too, empty or not. */
    const char *s = text.data ? text.data : "";
    size_t len = text.len;
    fl_tmpl_buf_t b = { 0 };
    if (first) {
        fl_tmpl_buf_add(&b, pad.data ? pad.data : "", pad.len);
    }
    size_t i = 0;
    bool first_line = true;
    for (bool more = true; more;) {
        size_t end = i;
        while (end < len && s[end] != '\n' && s[end] != '\r') {
            end++;
        }
        if (!first_line) {
            fl_tmpl_buf_addc(&b, '\n');
            if (end > i || blank) {
                fl_tmpl_buf_add(&b, pad.data ? pad.data : "", pad.len);
            }
        }
        fl_tmpl_buf_add(&b, s + i, end - i);
        first_line = false;
        more = end < len;
        if (more) {
            i = end + ((s[end] == '\r' && end + 1 < len && s[end + 1] == '\n') ? 2 : 1);
        }
    }
    fl_tmpl_buf_free(&text);
    fl_tmpl_buf_free(&pad);
    return fl_tmpl_call_value(ev, node, &b);
}

static json_t *
f_dictsort(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, json_t **args)
{
    if (!json_is_object(v)) {
        return fl_tmpl_eval_error(ev, node, "dictsort needs a dict, not %s", fl_tmpl_type_name(v));
    }
    bool by_value = false;
    if (args[1]) {
        if (fl_tmpl_call_str_arg(ev, node, args[1], "by") < 0) {
            return NULL;
        }
        by_value = !strcmp(json_string_value(args[1]), "value");
        if (!by_value && strcmp(json_string_value(args[1]), "key") != 0) {
            return fl_tmpl_eval_error(ev, node, "dictsort: by must be 'key' or 'value'");
        }
    }
    json_t *pairs = json_array();
    const char *k;
    json_t *item;
    json_object_foreach(v, k, item) {
        json_t *pair = json_array();
        fl_tmpl_append(pair, fl_tmpl_str(k, strlen(k)));
        fl_tmpl_append(pair, json_incref(item));
        fl_tmpl_append(pairs, pair);
    }
    /* Sort on one element of each pair: wrap it as {"k": element}. */
    json_t *keyed = json_array();
    for (size_t i = 0; i < json_array_size(pairs); i++) {
        json_t *w = json_object();
        fl_tmpl_set(w, "k", json_incref(json_array_get(json_array_get(pairs, i), by_value)));
        fl_tmpl_set(w, "p", json_incref(json_array_get(pairs, i)));
        fl_tmpl_append(keyed, w);
    }
    json_decref(pairs);
    s_sort_t st = { ev, node, args[0] && fl_tmpl_truthy(args[0]), "k" };
    json_t *sorted = s_sorted(&st, keyed, args[2] && fl_tmpl_truthy(args[2]));
    json_decref(keyed);
    if (!sorted) {
        return NULL;
    }
    json_t *r = json_array();
    for (size_t i = 0; i < json_array_size(sorted); i++) {
        fl_tmpl_append(r, json_incref(json_object_get(json_array_get(sorted, i), "p")));
    }
    json_decref(sorted);
    return r;
}

static const s_filter_t s_filters[] = {
    { { "filter", "abs", { NULL }, 0 }, f_abs, false, NULL },
    { { "filter", "capitalize", { NULL }, 0 }, f_capitalize, false, NULL },
    { { "filter", "count", { NULL }, 0 }, f_length, false, NULL },
    { { "filter", "d", { "default_value", "boolean", NULL }, 0 }, f_default, true, NULL },
    { { "filter", "default", { "default_value", "boolean", NULL }, 0 }, f_default, true, NULL },
    { { "filter", "dictsort", { "case_sensitive", "by", "reverse", NULL }, 0 }, f_dictsort, false,
      NULL },
    { { "filter", "first", { NULL }, 0 }, f_first, false, NULL },
    { { "filter", "float", { "default", NULL }, 0 }, f_float, false, NULL },
    { { "filter", "indent", { "width", "first", "blank", NULL }, 0 }, f_indent, false, NULL },
    { { "filter", "int", { "default", "base", NULL }, 0 }, f_int, false, NULL },
    { { "filter", "join", { "d", "attribute", NULL }, 0 }, f_join, false, NULL },
    { { "filter", "json", { NULL }, 0 }, f_json, false, NULL },
    { { "filter", "last", { NULL }, 0 }, f_last, false, NULL },
    { { "filter", "length", { NULL }, 0 }, f_length, false, NULL },
    { { "filter", "list", { NULL }, 0 }, f_list, false, NULL },
    { { "filter", "map", { NULL }, 0 }, NULL, false, v_map },
    { { "filter", "lower", { NULL }, 0 }, f_lower, false, NULL },
    { { "filter", "replace", { "old", "new", "count", NULL }, 2 }, f_replace, false, NULL },
    { { "filter", "reject", { NULL }, 0 }, NULL, false, v_reject },
    { { "filter", "rejectattr", { NULL }, 0 }, NULL, false, v_rejectattr },
    { { "filter", "reverse", { NULL }, 0 }, f_reverse, false, NULL },
    { { "filter", "select", { NULL }, 0 }, NULL, false, v_select },
    { { "filter", "selectattr", { NULL }, 0 }, NULL, false, v_selectattr },
    { { "filter", "sort", { "reverse", "case_sensitive", "attribute", NULL }, 0 }, f_sort, false,
      NULL },
    { { "filter", "string", { NULL }, 0 }, f_string, false, NULL },
    { { "filter", "tojson", { NULL }, 0 }, f_tojson, false, NULL },
    { { "filter", "trim", { "chars", NULL }, 0 }, f_trim, false, NULL },
    { { "filter", "unique", { "case_sensitive", "attribute", NULL }, 0 }, f_unique, false, NULL },
    { { "filter", "upper", { NULL }, 0 }, f_upper, false, NULL },
    { { "filter", "yaml", { "flow_style", NULL }, 0 }, f_yaml, false, NULL },
};

static const s_filter_t *
s_find_filter(const char *name)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_filters); i++) {
        if (!strcmp(s_filters[i].sig.name, name)) {
            return &s_filters[i];
        }
    }
    return NULL;
}

bool
fl_tmpl_filter_exists(const char *name)
{
    return s_find_filter(name) != NULL;
}

json_t *
fl_tmpl_call_filter(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    const s_filter_t *f = s_find_filter(node->str);
    if (!f) {
        return fl_tmpl_eval_error(ev, node, "unknown filter '%s'", node->str);
    }
    json_t *v = f->accepts_undefined ? fl_tmpl_eval_expr(ev, node->a)
                                     : fl_tmpl_eval_defined(ev, node->a);
    if (!v && fl_tmpl_eval_failed(ev)) {
        return NULL;
    }
    if (!v) {
        fl_tmpl_eval_forget_undefined(ev);
    }
    if (f->vfn) {
        json_t *r = f->vfn(ev, node, v);
        json_decref(v);
        return r;
    }
    json_t *args[FL_TMPL_MAX_PARAMS];
    if (fl_tmpl_call_bind(ev, node, &f->sig, args) < 0) {
        json_decref(v);
        return NULL;
    }
    json_t *r = f->fn(ev, node, v, args);
    fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
    json_decref(v);
    return r;
}

//  --------------------------------------------------------------------------
//  Tests

typedef int (*s_test_fn)(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v,
                         json_t **args);

typedef struct {
    fl_tmpl_sig_t sig;
    s_test_fn fn;
    bool accepts_undefined;
} s_test_t;

static int
t_defined(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return v != NULL;
}

static int
t_undefined(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    return !t_defined(ev, node, v, args);
}

static int
t_none(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return v && json_is_null(v);
}

static int
t_string(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_string(v);
}

static int
t_number(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_number(v) || json_is_boolean(v);
}

static int
t_integer(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_integer(v);
}

static int
t_float(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_real(v);
}

static int
t_boolean(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_boolean(v);
}

static int
t_true(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_true(v);
}

static int
t_false(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_false(v);
}

static int
t_mapping(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_object(v);
}

static int
t_sequence(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    FL_UNUSED(args);
    return json_is_array(v) || json_is_object(v) || json_is_string(v);
}

static int
s_int_of(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, const char *test,
         json_int_t *out)
{
    if (s_is_int(v)) {
        *out = s_int(v);
        return 0;
    }
    if (json_is_real(v) && json_real_value(v) == fl_tmpl_trunc(json_real_value(v))
        && __builtin_fabs(json_real_value(v)) < 9e18) {
        *out = (json_int_t) json_real_value(v);
        return 0;
    }
    fl_tmpl_eval_error(ev, node, "test '%s' needs an integer, not %s", test, fl_tmpl_type_name(v));
    return -1;
}

static int
t_even(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(args);
    json_int_t i;
    return s_int_of(ev, node, v, "even", &i) < 0 ? -1 : i % 2 == 0;
}

static int
t_odd(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(args);
    json_int_t i;
    return s_int_of(ev, node, v, "odd", &i) < 0 ? -1 : i % 2 != 0;
}

static int
t_divisibleby(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    json_int_t i, d;
    if (s_int_of(ev, node, v, "divisibleby", &i) < 0
        || s_int_of(ev, node, args[0], "divisibleby", &d) < 0) {
        return -1;
    }
    if (d == 0) {
        fl_tmpl_eval_error(ev, node, "division by zero");
        return -1;
    }
    return d == -1 || i % d == 0;
}

static int
t_eq(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    return fl_tmpl_equal(v, args[0], 0);
}

static int
t_ne(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    FL_UNUSED(ev);
    FL_UNUSED(node);
    return !fl_tmpl_equal(v, args[0], 0);
}

static int
t_in(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, json_t **args)
{
    const json_t *hay = args[0];
    if (json_is_string(hay)) {
        if (!json_is_string(v)) {
            fl_tmpl_eval_error(ev, node, "'in <str>' needs a string on the left, not %s",
                               fl_tmpl_type_name(v));
            return -1;
        }
        return memmem(json_string_value(hay), json_string_length(hay), json_string_value(v),
                      json_string_length(v)) != NULL;
    }
    if (json_is_array(hay)) {
        for (size_t i = 0; i < json_array_size(hay); i++) {
            if (fl_tmpl_equal(v, json_array_get(hay, i), 0)) {
                return 1;
            }
        }
        return 0;
    }
    if (json_is_object(hay)) {
        return json_is_string(v)
               && json_object_getn(hay, json_string_value(v), json_string_length(v)) != NULL;
    }
    fl_tmpl_eval_error(ev, node, "test 'in' needs a string, list or dict, not %s",
                       fl_tmpl_type_name(hay));
    return -1;
}

static const s_test_t s_tests[] = {
    { { "test", "boolean", { NULL }, 0 }, t_boolean, false },
    { { "test", "defined", { NULL }, 0 }, t_defined, true },
    { { "test", "divisibleby", { "num", NULL }, 1 }, t_divisibleby, false },
    { { "test", "eq", { "other", NULL }, 1 }, t_eq, false },
    { { "test", "equalto", { "other", NULL }, 1 }, t_eq, false },
    { { "test", "even", { NULL }, 0 }, t_even, false },
    { { "test", "false", { NULL }, 0 }, t_false, false },
    { { "test", "float", { NULL }, 0 }, t_float, false },
    { { "test", "in", { "seq", NULL }, 1 }, t_in, false },
    { { "test", "integer", { NULL }, 0 }, t_integer, false },
    { { "test", "iterable", { NULL }, 0 }, t_sequence, false },
    { { "test", "mapping", { NULL }, 0 }, t_mapping, false },
    { { "test", "ne", { "other", NULL }, 1 }, t_ne, false },
    { { "test", "none", { NULL }, 0 }, t_none, true },
    { { "test", "number", { NULL }, 0 }, t_number, false },
    { { "test", "odd", { NULL }, 0 }, t_odd, false },
    { { "test", "sequence", { NULL }, 0 }, t_sequence, false },
    { { "test", "string", { NULL }, 0 }, t_string, false },
    { { "test", "true", { NULL }, 0 }, t_true, false },
    { { "test", "undefined", { NULL }, 0 }, t_undefined, true },
};

static const s_test_t *
s_find_test(const char *name)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_tests); i++) {
        if (!strcmp(s_tests[i].sig.name, name)) {
            return &s_tests[i];
        }
    }
    return NULL;
}

bool
fl_tmpl_test_exists(const char *name)
{
    return s_find_test(name) != NULL;
}

int
fl_tmpl_call_test(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    const s_test_t *t = s_find_test(node->str);
    if (!t) {
        fl_tmpl_eval_error(ev, node, "unknown test '%s'", node->str);
        return -1;
    }
    json_t *v = t->accepts_undefined ? fl_tmpl_eval_expr(ev, node->a)
                                     : fl_tmpl_eval_defined(ev, node->a);
    if (!v && fl_tmpl_eval_failed(ev)) {
        return -1;
    }
    if (!v) {
        fl_tmpl_eval_forget_undefined(ev);
    }
    json_t *args[FL_TMPL_MAX_PARAMS];
    if (fl_tmpl_call_bind(ev, node, &t->sig, args) < 0) {
        json_decref(v);
        return -1;
    }
    int r = t->fn(ev, node, v, args);
    fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
    json_decref(v);
    return r;
}

//  --------------------------------------------------------------------------
//  map, select, reject, selectattr, rejectattr

/*  The evaluated arguments of a filter node (new references). */
typedef struct {
    json_t **vals;
    char **names;       /* borrowed from the node; NULL for positional */
    size_t n;
} s_args_t;

static void
s_args_free(s_args_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        json_decref(a->vals[i]);
    }
    free(a->vals);
    a->vals = NULL;
    a->n = 0;
}

static int
s_args_eval(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, s_args_t *a)
{
    a->n = 0;
    a->names = node->names;
    a->vals = fl_calloc(node->n_kids ? node->n_kids : 1, sizeof *a->vals);
    for (size_t i = 0; i < node->n_kids; i++) {
        a->vals[i] = fl_tmpl_eval_defined(ev, node->kids[i]);
        if (!a->vals[i]) {
            s_args_free(a);
            return -1;
        }
        a->n++;
    }
    return 0;
}

/*  The keyword argument NAME, or NULL. */
static json_t *
s_args_kw(const s_args_t *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->names[i] && !strcmp(a->names[i], name)) {
            return a->vals[i];
        }
    }
    return NULL;
}

/*  Binds positional arguments from FROM on, and the keyword arguments not
    in SKIP, to SIG (as fl_tmpl_call_bind does for evaluated values). */
static int
s_args_bind(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const s_args_t *a, size_t from,
            const char *const *skip, const fl_tmpl_sig_t *sig, json_t **out)
{
    size_t n_params = 0;
    while (n_params < FL_TMPL_MAX_PARAMS && sig->params[n_params]) {
        n_params++;
    }
    for (size_t i = 0; i < FL_TMPL_MAX_PARAMS; i++) {
        out[i] = NULL;
    }
    size_t positional = 0;
    for (size_t i = 0; i < a->n; i++) {
        const char *kw = a->names[i];
        size_t slot;
        bool skipped = false;
        for (size_t k = 0; kw && skip && skip[k]; k++) {
            skipped = skipped || !strcmp(skip[k], kw);
        }
        if (skipped || (!kw && i < from)) {
            continue;
        }
        if (!kw) {
            slot = positional++;
        } else {
            for (slot = 0; slot < n_params && strcmp(sig->params[slot], kw) != 0; slot++) {
            }
        }
        if (slot >= n_params || out[slot]) {
            fl_tmpl_call_release(out, n_params);
            fl_tmpl_eval_error(ev, node, "bad arguments for %s '%s'", sig->what, sig->name);
            return -1;
        }
        out[slot] = json_incref(a->vals[i]);
    }
    for (size_t i = 0; i < sig->required; i++) {
        if (!out[i]) {
            fl_tmpl_call_release(out, n_params);
            fl_tmpl_eval_error(ev, node, "%s '%s' needs its argument '%s'", sig->what, sig->name,
                               sig->params[i]);
            return -1;
        }
    }
    return 0;
}

/*  ITEM's attribute PATH (dotted; digits index lists), or NULL. */
static const json_t *
s_attribute(const json_t *item, const char *path)
{
    const json_t *cur = item;
    const char *p = path;
    while (cur) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t) (dot - p) : strlen(p);
        json_int_t index;
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, p, n);
        } else if (json_is_array(cur) && fl_tmpl_text_parse_int(p, n, 10, &index) && index >= 0) {
            cur = json_array_get(cur, (size_t) index);
        } else {
            cur = NULL;
        }
        if (!dot) {
            break;
        }
        p = dot + 1;
    }
    return cur;
}

/*  map(filter, args...) or map(attribute=name, default=value). */
static json_t *
v_map(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v)
{
    s_args_t a;
    if (s_args_eval(ev, node, &a) < 0) {
        return NULL;
    }
    json_t *items = fl_tmpl_call_items(ev, node, v);
    json_t *r = NULL;
    json_t *args[FL_TMPL_MAX_PARAMS] = { NULL };
    const json_t *attr = s_args_kw(&a, "attribute");
    const s_filter_t *f = NULL;
    if (!items) {
        goto done;
    }
    if (attr) {
        if (fl_tmpl_call_str_arg(ev, node, attr, "attribute") < 0) {
            goto done;
        }
        const json_t *dflt = s_args_kw(&a, "default");
        r = json_array();
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *x = s_attribute(json_array_get(items, i), json_string_value(attr));
            if (!x && !dflt) {
                fl_tmpl_eval_error(ev, node, "an item has no attribute '%s'",
                                   json_string_value(attr));
                json_decref(r);
                r = NULL;
                goto done;
            }
            fl_tmpl_append(r, json_incref((json_t *) (x ? x : dflt)));
        }
        goto done;
    }
    if (a.n == 0 || a.names[0] || !json_is_string(a.vals[0])) {
        fl_tmpl_eval_error(ev, node, "map needs a filter name or attribute=");
        goto done;
    }
    f = s_find_filter(json_string_value(a.vals[0]));
    if (!f || f->vfn) {
        fl_tmpl_eval_error(ev, node, "map: %s filter '%s'", f ? "cannot apply the" : "unknown",
                           json_string_value(a.vals[0]));
        goto done;
    }
    if (s_args_bind(ev, node, &a, 1, NULL, &f->sig, args) < 0) {
        goto done;
    }
    r = json_array();
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = f->fn(ev, node, json_array_get(items, i), args);
        if (!x) {
            fl_tmpl_eval_raise_undefined(ev);
            json_decref(r);
            r = NULL;
            break;
        }
        fl_tmpl_append(r, x);
    }
done:
    fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
    json_decref(items);
    s_args_free(&a);
    return r;
}

/*  select/reject/selectattr/rejectattr: keep the items whose value (the
    item, or its attribute) passes the test (truthiness without one) when
    KEEP, or fails it otherwise. */
static json_t *
s_select(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v, bool by_attr, bool keep)
{
    s_args_t a;
    if (s_args_eval(ev, node, &a) < 0) {
        return NULL;
    }
    json_t *items = fl_tmpl_call_items(ev, node, v);
    json_t *r = NULL;
    json_t *args[FL_TMPL_MAX_PARAMS] = { NULL };
    const s_test_t *t = NULL;
    size_t next = 0;
    const char *attr = NULL;
    if (!items) {
        goto done;
    }
    if (by_attr) {
        if (a.n == 0 || a.names[0] || !json_is_string(a.vals[0])) {
            fl_tmpl_eval_error(ev, node, "%s needs an attribute name", node->str);
            goto done;
        }
        attr = json_string_value(a.vals[0]);
        next = 1;
    }
    if (next < a.n && !a.names[next]) {
        if (!json_is_string(a.vals[next])) {
            fl_tmpl_eval_error(ev, node, "%s needs a test name", node->str);
            goto done;
        }
        t = s_find_test(json_string_value(a.vals[next]));
        if (!t) {
            fl_tmpl_eval_error(ev, node, "unknown test '%s'", json_string_value(a.vals[next]));
            goto done;
        }
        if (s_args_bind(ev, node, &a, next + 1, NULL, &t->sig, args) < 0) {
            goto done;
        }
    } else if (next < a.n) {
        fl_tmpl_eval_error(ev, node, "%s takes no keyword arguments", node->str);
        goto done;
    }
    r = json_array();
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *item = json_array_get(items, i);
        const json_t *x = attr ? s_attribute(item, attr) : item;
        int pass;
        if (!x && !(t && t->accepts_undefined)) {
            fl_tmpl_eval_error(ev, node, "an item has no attribute '%s'", attr);
            pass = -1;
        } else {
            pass = t ? t->fn(ev, node, x, args) : fl_tmpl_truthy(x);
        }
        if (pass < 0) {
            json_decref(r);
            r = NULL;
            break;
        }
        if ((pass == 1) == keep) {
            fl_tmpl_append(r, json_incref(item));
        }
    }
done:
    fl_tmpl_call_release(args, FL_TMPL_MAX_PARAMS);
    json_decref(items);
    s_args_free(&a);
    return r;
}

static json_t *
v_select(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v)
{
    return s_select(ev, node, v, false, true);
}

static json_t *
v_reject(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v)
{
    return s_select(ev, node, v, false, false);
}

static json_t *
v_selectattr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v)
{
    return s_select(ev, node, v, true, true);
}

static json_t *
v_rejectattr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v)
{
    return s_select(ev, node, v, true, false);
}
