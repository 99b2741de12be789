/*  fl_tmpl_eval.c: runs a parsed template against a JSON context.

    Why values are plain jansson values: the context is JSON already, and
    the few things Python has that JSON lacks are either not reachable from
    the sandbox (functions, objects) or mapped: tuples become lists, and
    "undefined" is a NULL return with its reason kept on the evaluator, so
    that `x is defined`, `x | default(v)` and `dict.get(k)` can accept it
    while every other use reports it (Jinja's StrictUndefined) at the
    position of the lookup that failed.

    Scopes follow Jinja: the template's top level is one frame; each
    iteration of a for loop gets a fresh frame holding the loop variables
    and `loop`, and a {% set %} inside it lands there (so it neither
    survives the iteration nor leaks out); if blocks share their
    enclosing frame.  Names resolve from the innermost frame out, then in
    the context.

    Limits, each reported with the position of the node that crossed it:
    16 MiB of output (and of any string), 1,000,000 loop iterations in all,
    a work budget (FL_TMPL_MAX_STEPS: nodes evaluated plus items and bytes
    copied), lists of at most FL_TMPL_MAX_ITEMS built by a template, values
    nested at most FL_TMPL_MAX_VALUE_DEPTH deep.  Nesting of the tree itself
    is bounded by the parser, so recursion here is bounded too. */
#include "fl_tmpl_int.h"

#include <limits.h>
#include <math.h>

/*  Frames: the top level plus one per open for loop. */
#define FL_TMPL_MAX_FRAMES (FL_TMPL_MAX_DEPTH + 2)

struct fl_tmpl_eval {
    const fl_tmpl_doc_t *doc;
    fl_diag_t *diag;
    const json_t *context;
    const json_t *pillar, *grains;
    json_t *frames[FL_TMPL_MAX_FRAMES];
    size_t n_frames;
    fl_tmpl_buf_t *out;
    fl_tmpl_buf_t *top;             /* the template's own output */
    uint64_t iterations;
    uint64_t steps;
    bool failed;
    char *undef_msg;                /* why the last NULL was undefined */
    int undef_line, undef_col;
    enum { S_FLOW_NONE, S_FLOW_BREAK, S_FLOW_CONTINUE } flow;
    char src_buf[96];
};

//  --------------------------------------------------------------------------
//  Small helpers shared with fl_tmpl_call.c

json_t *
fl_tmpl_str(const char *s, size_t len)
{
    json_t *v = json_stringn_nocheck(s, len);
    if (!v) {
        fputs("fleet: out of memory (json string)\n", stderr);
        abort();
    }
    return v;
}

void
fl_tmpl_append(json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) != 0) {
        fputs("fleet: out of memory (json array)\n", stderr);
        abort();
    }
}

void
fl_tmpl_set(json_t *o, const char *key, json_t *v)
{
    if (json_object_set_new_nocheck(o, key, v) != 0) {
        fputs("fleet: out of memory (json object)\n", stderr);
        abort();
    }
}

void *
fl_tmpl_eval_error(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *fmt, ...)
{
    if (!ev->failed) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = fl_vsprintf(fmt, ap);
        va_end(ap);
        fl_diag_error(ev->diag, ev->doc->name, node ? node->line : 0, node ? node->col : 0, "%s",
                      msg);
        free(msg);
        ev->failed = true;
    }
    return NULL;
}

void *
fl_tmpl_eval_undefined(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *fmt, ...)
{
    free(ev->undef_msg);
    va_list ap;
    va_start(ap, fmt);
    ev->undef_msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    ev->undef_line = node->line;
    ev->undef_col = node->col;
    return NULL;
}

void
fl_tmpl_eval_forget_undefined(fl_tmpl_eval_t *ev)
{
    free(ev->undef_msg);
    ev->undef_msg = NULL;
}

bool
fl_tmpl_eval_failed(const fl_tmpl_eval_t *ev)
{
    return ev->failed;
}

int
fl_tmpl_eval_charge(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, uint64_t steps)
{
    ev->steps += steps;
    if (ev->steps > FL_TMPL_MAX_STEPS) {
        fl_tmpl_eval_error(ev, node, "template too expensive: more than %u steps of work",
                           FL_TMPL_MAX_STEPS);
        return -1;
    }
    return 0;
}

const char *
fl_tmpl_eval_src(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    const char *s = ev->doc->src + node->src_off;
    size_t n = node->src_len;
    size_t max = sizeof ev->src_buf - 4;
    size_t o = 0;
    for (size_t i = 0; i < n && o < max; i++) {
        char c = s[i];
        ev->src_buf[o++] = (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
    }
    if (n > max) {
        /* Do not cut a character in two. */
        while (o > 0 && ((unsigned char) ev->src_buf[o] & 0xC0) == 0x80) {
            o--;
        }
        memcpy(ev->src_buf + o, "...", 3);
        o += 3;
    }
    ev->src_buf[o] = '\0';
    return ev->src_buf;
}

bool
fl_tmpl_eval_has_name(const fl_tmpl_eval_t *ev, const char *name)
{
    for (size_t i = 0; i < ev->n_frames; i++) {
        if (json_object_get(ev->frames[i], name)) {
            return true;
        }
    }
    return json_object_get(ev->context, name) != NULL;
}

const json_t *
fl_tmpl_eval_pillar(const fl_tmpl_eval_t *ev)
{
    return ev->pillar;
}

const json_t *
fl_tmpl_eval_grains(const fl_tmpl_eval_t *ev)
{
    return ev->grains;
}

int
fl_tmpl_eval_depth(fl_tmpl_eval_t *ev, const json_t *v, int limit)
{
    ev->steps++;
    if (limit <= 0) {
        return 1;
    }
    int deepest = 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int d = fl_tmpl_eval_depth(ev, json_array_get(v, i), limit - 1);
            deepest = d > deepest ? d : deepest;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach((json_t *) v, k, item) {
            int d = fl_tmpl_eval_depth(ev, item, limit - 1);
            deepest = d > deepest ? d : deepest;
        }
    }
    return deepest + 1;
}

/*  Numbers as Python sees them: booleans are the integers 0 and 1. */
static bool
s_is_num(const json_t *v)
{
    return json_is_number(v) || json_is_boolean(v);
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

//  --------------------------------------------------------------------------
//  Names and lookups

static json_t *
s_lookup_name(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    for (size_t i = ev->n_frames; i-- > 0;) {
        json_t *v = json_object_get(ev->frames[i], node->str);
        if (v) {
            return json_incref(v);
        }
    }
    json_t *v = json_object_get(ev->context, node->str);
    if (v) {
        return json_incref(v);
    }
    if (!strcmp(node->str, "salt")) {
        return fl_tmpl_eval_undefined(ev, node, "'salt' can only be called, as in "
                                      "salt['pillar.get']('key', default)");
    }
    return fl_tmpl_eval_undefined(ev, node, "undefined variable '%s'", node->str);
}

/*  The character at INDEX (negative from the end) of a string, or NULL. */
static json_t *
s_string_index(const json_t *s, json_int_t index)
{
    const char *t = json_string_value(s);
    size_t len = json_string_length(s);
    json_int_t n = (json_int_t) fl_tmpl_utf8_count(t, len);
    if (index < 0) {
        index += n;
    }
    if (index < 0 || index >= n) {
        return NULL;
    }
    size_t i = 0;
    for (json_int_t k = 0; k < index; k++) {
        fl_tmpl_utf8_next(t, len, &i);
    }
    size_t start = i;
    fl_tmpl_utf8_next(t, len, &i);
    return fl_tmpl_str(t + start, i - start);
}

static json_t *
s_item(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *base = fl_tmpl_eval_defined(ev, node->a);
    if (!base) {
        return NULL;
    }
    json_t *key = fl_tmpl_eval_defined(ev, node->b);
    if (!key) {
        json_decref(base);
        return NULL;
    }
    json_t *r = NULL;
    const char *src = fl_tmpl_eval_src(ev, node->a);
    if (json_is_object(base)) {
        if (json_is_string(key)) {
            r = json_object_getn(base, json_string_value(key), json_string_length(key));
            if (r) {
                json_incref(r);
            } else {
                fl_tmpl_eval_undefined(ev, node, "undefined key '%s' in %s",
                                       json_string_value(key), src);
            }
        } else {
            fl_tmpl_buf_t b = { 0 };
            fl_tmpl_fmt_repr(&b, key, 0);
            fl_tmpl_eval_undefined(ev, node, "undefined key %.60s in %s", b.data ? b.data : "",
                                   src);
            fl_tmpl_buf_free(&b);
        }
    } else if ((json_is_array(base) || json_is_string(base)) && s_is_int(key)) {
        json_int_t index = s_int(key);
        if (json_is_array(base)) {
            json_int_t n = (json_int_t) json_array_size(base);
            json_int_t at = index < 0 ? index + n : index;
            if (at >= 0 && at < n) {
                r = json_incref(json_array_get(base, (size_t) at));
            }
        } else {
            r = s_string_index(base, index);
        }
        if (!r) {
            fl_tmpl_eval_undefined(ev, node, "index %" JSON_INTEGER_FORMAT " out of range in %s",
                                   index, src);
        }
    } else if (json_is_string(key)) {
        fl_tmpl_eval_undefined(ev, node, "%s (type %s) has no attribute '%s'", src,
                               fl_tmpl_type_name(base), json_string_value(key));
    } else {
        fl_tmpl_eval_undefined(ev, node, "%s (type %s) cannot be indexed by type %s", src,
                               fl_tmpl_type_name(base), fl_tmpl_type_name(key));
    }
    json_decref(base);
    json_decref(key);
    return r;
}

static json_t *
s_attr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *base = fl_tmpl_eval_defined(ev, node->a);
    if (!base) {
        return NULL;
    }
    json_t *r = NULL;
    if (json_is_object(base)) {
        r = json_object_get(base, node->str);
        if (r) {
            json_incref(r);
        } else {
            fl_tmpl_eval_undefined(ev, node, "undefined key '%s' in %s", node->str,
                                   fl_tmpl_eval_src(ev, node->a));
        }
    } else {
        fl_tmpl_eval_undefined(ev, node, "%s (type %s) has no attribute '%s'",
                               fl_tmpl_eval_src(ev, node->a), fl_tmpl_type_name(base), node->str);
    }
    json_decref(base);
    return r;
}

/*  Python's slice of a list or string. */
static json_t *
s_slice(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *base = fl_tmpl_eval_defined(ev, node->a);
    if (!base) {
        return NULL;
    }
    json_int_t parts[3] = { 0, 0, 1 };
    bool given[3] = { false, false, false };
    const fl_tmpl_node_t *nodes[3] = { node->b, node->c, node->d };
    for (int i = 0; i < 3; i++) {
        if (!nodes[i]) {
            continue;
        }
        json_t *v = fl_tmpl_eval_defined(ev, nodes[i]);
        if (!v) {
            json_decref(base);
            return NULL;
        }
        if (!json_is_null(v)) {
            if (!s_is_int(v)) {
                fl_tmpl_eval_error(ev, nodes[i], "slice indices must be integers, not %s",
                                   fl_tmpl_type_name(v));
                json_decref(v);
                json_decref(base);
                return NULL;
            }
            parts[i] = s_int(v);
            given[i] = true;
        }
        json_decref(v);
    }
    json_int_t step = parts[2];
    if (step == 0) {
        json_decref(base);
        return fl_tmpl_eval_error(ev, node, "slice step cannot be zero");
    }
    if (!json_is_array(base) && !json_is_string(base)) {
        const char *t = fl_tmpl_type_name(base);
        json_decref(base);
        return fl_tmpl_eval_error(ev, node, "cannot slice type %s", t);
    }
    /* Offsets of each character of a string, so both kinds index alike. */
    size_t *offs = NULL;
    json_int_t n;
    if (json_is_array(base)) {
        n = (json_int_t) json_array_size(base);
    } else {
        const char *s = json_string_value(base);
        size_t len = json_string_length(base);
        offs = fl_malloc((len + 1) * sizeof *offs);
        size_t count = 0;
        for (size_t i = 0; i < len;) {
            offs[count++] = i;
            fl_tmpl_utf8_next(s, len, &i);
        }
        offs[count] = len;
        n = (json_int_t) count;
    }
    /* A step longer than the sequence takes one item at most; clamping it
       keeps the index arithmetic from overflowing. */
    if (step > n + 1) {
        step = n + 1;
    } else if (step < -n - 1) {
        step = -n - 1;
    }
    json_int_t lo, hi;
    if (step > 0) {
        lo = given[0] ? parts[0] : 0;
        hi = given[1] ? parts[1] : n;
        lo = lo < 0 ? (lo + n < 0 ? 0 : lo + n) : (lo > n ? n : lo);
        hi = hi < 0 ? (hi + n < 0 ? 0 : hi + n) : (hi > n ? n : hi);
    } else {
        lo = given[0] ? parts[0] : n - 1;
        hi = given[1] ? parts[1] : -1 - n;
        lo = lo < 0 ? (lo + n < 0 ? -1 : lo + n) : (lo >= n ? n - 1 : lo);
        hi = hi < 0 ? (hi + n < 0 ? -1 : hi + n) : (hi >= n ? n - 1 : hi);
    }
    json_t *r;
    fl_tmpl_buf_t b = { 0 };
    r = json_is_array(base) ? json_array() : NULL;
    uint64_t count = 0;
    for (json_int_t i = lo; step > 0 ? i < hi : i > hi; i += step) {
        if (json_is_array(base)) {
            fl_tmpl_append(r, json_incref(json_array_get(base, (size_t) i)));
        } else {
            fl_tmpl_buf_add(&b, json_string_value(base) + offs[i], offs[i + 1] - offs[i]);
        }
        count++;
    }
    if (!r) {
        r = fl_tmpl_str(b.data ? b.data : "", b.len);
    }
    fl_tmpl_buf_free(&b);
    free(offs);
    json_decref(base);
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(count)) < 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

//  --------------------------------------------------------------------------
//  Operators

static json_t *
s_binary(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *a = fl_tmpl_eval_defined(ev, node->a);
    if (!a) {
        return NULL;
    }
    json_t *b = fl_tmpl_eval_defined(ev, node->b);
    if (!b) {
        json_decref(a);
        return NULL;
    }
    json_t *r = fl_tmpl_ops_arith(ev, node, node->op, a, b);
    json_decref(a);
    json_decref(b);
    return r;
}

static json_t *
s_unary(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *a = fl_tmpl_eval_defined(ev, node->a);
    if (!a) {
        return NULL;
    }
    json_t *r;
    if (node->op == FL_OP_NOT) {
        r = json_boolean(!fl_tmpl_truthy(a));
    } else if (!s_is_num(a)) {
        r = fl_tmpl_eval_error(ev, node, "bad operand type for unary %c: %s",
                               node->op == FL_OP_NEG ? '-' : '+', fl_tmpl_type_name(a));
    } else if (json_is_real(a)) {
        r = json_real(node->op == FL_OP_NEG ? -json_real_value(a) : json_real_value(a));
    } else if (node->op == FL_OP_NEG) {
        json_int_t x = s_int(a);
        r = x == LLONG_MIN ? fl_tmpl_eval_error(ev, node, "integer result out of range")
                            : json_integer(-x);
    } else {
        r = json_integer(s_int(a));
    }
    json_decref(a);
    return r;
}

/*  The text of V as Python's str() gives it; -1 after reporting. */
static int
s_to_text(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v, fl_tmpl_buf_t *b)
{
    fl_tmpl_fmt_str(b, v);
    if (b->too_deep) {
        fl_tmpl_eval_error(ev, node, "value nested too deeply to print");
        return -1;
    }
    if (b->overflow) {
        fl_tmpl_eval_error(ev, node, "string longer than 16 MiB");
        return -1;
    }
    return 0;
}

static json_t *
s_concat(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    fl_tmpl_buf_t b = { 0 };
    for (size_t i = 0; i < node->n_kids; i++) {
        json_t *v = fl_tmpl_eval_defined(ev, node->kids[i]);
        if (!v || s_to_text(ev, node, v, &b) < 0) {
            json_decref(v);
            fl_tmpl_buf_free(&b);
            return NULL;
        }
        json_decref(v);
    }
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_BYTE_STEPS(b.len)) < 0) {
        fl_tmpl_buf_free(&b);
        return NULL;
    }
    json_t *r = fl_tmpl_str(b.data ? b.data : "", b.len);
    fl_tmpl_buf_free(&b);
    return r;
}

static json_t *
s_compare(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *left = fl_tmpl_eval_defined(ev, node->a);
    if (!left) {
        return NULL;
    }
    bool result = true;
    for (size_t i = 0; i < node->n_kids && result; i++) {
        json_t *right = fl_tmpl_eval_defined(ev, node->kids[i]);
        if (!right) {
            json_decref(left);
            return NULL;
        }
        int c = 0;
        switch (node->ops[i]) {
        case FL_OP_EQ:
            result = fl_tmpl_equal(left, right, 0);
            break;
        case FL_OP_NE:
            result = !fl_tmpl_equal(left, right, 0);
            break;
        case FL_OP_IN:
        case FL_OP_NOT_IN:
            c = fl_tmpl_ops_contains(ev, node->kids[i], left, right);
            result = node->ops[i] == FL_OP_IN ? c == 1 : c == 0;
            break;
        default:
            c = fl_tmpl_compare(ev, node->kids[i], left, right, 0);
            result = node->ops[i] == '<' ? c == -1 : node->ops[i] == '>' ? c == 1
                     : node->ops[i] == FL_OP_LE ? (c == -1 || c == 0) : (c == 1 || c == 0);
            break;
        }
        json_decref(left);
        left = right;
        if (ev->failed) {
            json_decref(left);
            return NULL;
        }
    }
    json_decref(left);
    return json_boolean(result);
}

/*  A list or dict literal, checked against the nesting limit. */
static json_t *
s_literal(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    bool is_list = node->kind == FL_TN_LIST;
    json_t *r = is_list ? json_array() : json_object();
    for (size_t i = 0; i < node->n_kids; i += is_list ? 1 : 2) {
        json_t *v = NULL, *k = NULL;
        if (!is_list) {
            k = fl_tmpl_eval_defined(ev, node->kids[i]);
            if (!k) {
                json_decref(r);
                return NULL;
            }
            if (!json_is_string(k)) {
                const char *t = fl_tmpl_type_name(k);
                json_decref(k);
                json_decref(r);
                return fl_tmpl_eval_error(ev, node->kids[i], "dict keys must be strings, not %s",
                                          t);
            }
        }
        v = fl_tmpl_eval_defined(ev, node->kids[is_list ? i : i + 1]);
        if (!v || fl_tmpl_eval_depth(ev, v, FL_TMPL_MAX_VALUE_DEPTH) >= FL_TMPL_MAX_VALUE_DEPTH) {
            if (v) {
                fl_tmpl_eval_error(ev, node, "value nested too deeply (limit %d)",
                                   FL_TMPL_MAX_VALUE_DEPTH);
            }
            json_decref(v);
            json_decref(k);
            json_decref(r);
            return NULL;
        }
        if (is_list) {
            fl_tmpl_append(r, v);
        } else {
            /* Keys with a NUL cannot be object keys; they are cut there. */
            fl_tmpl_set(r, json_string_value(k), v);
            json_decref(k);
        }
    }
    return r;
}

json_t *
fl_tmpl_eval_expr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    if (ev->failed || fl_tmpl_eval_charge(ev, node, 1) < 0) {
        return NULL;
    }
    switch (node->kind) {
    case FL_TN_CONST:
        return json_incref(node->value);
    case FL_TN_NAME:
        return s_lookup_name(ev, node);
    case FL_TN_LIST:
    case FL_TN_DICT:
        return s_literal(ev, node);
    case FL_TN_ATTR:
        return s_attr(ev, node);
    case FL_TN_ITEM:
        return s_item(ev, node);
    case FL_TN_SLICE:
        return s_slice(ev, node);
    case FL_TN_CALL:
        return fl_tmpl_call(ev, node);
    case FL_TN_FILTER:
        return fl_tmpl_call_filter(ev, node);
    case FL_TN_TEST: {
        int r = fl_tmpl_call_test(ev, node);
        return r < 0 ? NULL : json_boolean(node->op ? !r : r);
    }
    case FL_TN_UNARY:
        return s_unary(ev, node);
    case FL_TN_BINARY:
        return s_binary(ev, node);
    case FL_TN_CONCAT:
        return s_concat(ev, node);
    case FL_TN_COMPARE:
        return s_compare(ev, node);
    case FL_TN_AND:
    case FL_TN_OR: {
        /* Python returns the deciding operand itself. */
        json_t *a = fl_tmpl_eval_defined(ev, node->a);
        if (!a) {
            return NULL;
        }
        bool t = fl_tmpl_truthy(a);
        if ((node->kind == FL_TN_AND) ? !t : t) {
            return a;
        }
        json_decref(a);
        return fl_tmpl_eval_defined(ev, node->b);
    }
    case FL_TN_COND: {
        json_t *c = fl_tmpl_eval_defined(ev, node->a);
        if (!c) {
            return NULL;
        }
        bool t = fl_tmpl_truthy(c);
        json_decref(c);
        if (t) {
            return fl_tmpl_eval_expr(ev, node->b);
        }
        /* Without an else part Jinja renders nothing. */
        return node->c ? fl_tmpl_eval_expr(ev, node->c) : fl_tmpl_str("", 0);
    }
    default:
        return fl_tmpl_eval_error(ev, node, "not an expression");
    }
}

void *
fl_tmpl_eval_raise_undefined(fl_tmpl_eval_t *ev)
{
    if (!ev->failed) {
        fl_diag_error(ev->diag, ev->doc->name, ev->undef_line, ev->undef_col, "%s",
                      ev->undef_msg ? ev->undef_msg : "undefined value");
        ev->failed = true;
    }
    return NULL;
}

json_t *
fl_tmpl_eval_defined(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *v = fl_tmpl_eval_expr(ev, node);
    if (!v) {
        fl_tmpl_eval_raise_undefined(ev);
    }
    return v;
}

//  --------------------------------------------------------------------------
//  Statements

static int s_exec(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *body);

static int
s_write(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *s, size_t n)
{
    fl_tmpl_buf_add(ev->out, s, n);
    if (ev->out->overflow) {
        fl_tmpl_eval_error(ev, node, "output longer than 16 MiB");
        return -1;
    }
    /* Text captured by {% set %} becomes a value: charge it as one. */
    return fl_tmpl_eval_charge(ev, node, ev->out == ev->top ? n / 64 : FL_TMPL_BYTE_STEPS(n));
}

/*  Binds NAMES to V in FRAME (unpacking a list when there are several). */
static int
s_bind(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *frame, json_t *v)
{
    if (node->n_names == 1) {
        fl_tmpl_set(frame, node->names[0], json_incref(v));
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) != node->n_names) {
        if (json_is_array(v)) {
            fl_tmpl_eval_error(ev, node, "cannot unpack %zu values into %zu names",
                               json_array_size(v), node->n_names);
        } else {
            fl_tmpl_eval_error(ev, node, "cannot unpack type %s into %zu names",
                               fl_tmpl_type_name(v), node->n_names);
        }
        return -1;
    }
    for (size_t i = 0; i < node->n_names; i++) {
        fl_tmpl_set(frame, node->names[i], json_incref(json_array_get(v, i)));
    }
    return 0;
}

/*  The items a for loop walks: a list as it is, the keys of a dict, the
    characters of a string. */
static json_t *
s_iterable(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *v)
{
    if (json_is_array(v)) {
        return json_incref(v);
    }
    json_t *items = json_array();
    if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach(v, k, item) {
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
        return fl_tmpl_eval_error(ev, node, "cannot iterate over %s (type %s)",
                                  fl_tmpl_eval_src(ev, node), fl_tmpl_type_name(v));
    }
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(json_array_size(items))) < 0) {
        json_decref(items);
        return NULL;
    }
    return items;
}

static int
s_push_frame(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *frame)
{
    if (ev->n_frames >= FL_TMPL_MAX_FRAMES) {
        json_decref(frame);
        fl_tmpl_eval_error(ev, node, "loops nested too deeply");
        return -1;
    }
    ev->frames[ev->n_frames++] = frame;
    return 0;
}

static void
s_pop_frame(fl_tmpl_eval_t *ev)
{
    json_decref(ev->frames[--ev->n_frames]);
}

static int
s_count_iteration(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    if (++ev->iterations > FL_TMPL_MAX_ITERATIONS) {
        fl_tmpl_eval_error(ev, node, "too many loop iterations: more than %d in all",
                           FL_TMPL_MAX_ITERATIONS);
        return -1;
    }
    return 0;
}

/*  The items that pass the loop's `if` filter. */
static json_t *
s_filter_items(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_t *items)
{
    json_t *kept = json_array();
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *item = json_array_get(items, i);
        json_t *frame = json_object();
        if (s_count_iteration(ev, node) < 0 || s_bind(ev, node, frame, item) < 0
            || s_push_frame(ev, node, json_incref(frame)) < 0) {
            json_decref(frame);
            json_decref(kept);
            return NULL;
        }
        json_t *c = fl_tmpl_eval_defined(ev, node->d);
        s_pop_frame(ev);
        json_decref(frame);
        if (!c) {
            json_decref(kept);
            return NULL;
        }
        if (fl_tmpl_truthy(c)) {
            fl_tmpl_append(kept, json_incref(item));
        }
        json_decref(c);
    }
    return kept;
}

static json_t *
s_loop_object(size_t i, size_t n, json_t *items)
{
    json_t *loop = json_object();
    fl_tmpl_set(loop, "index", json_integer((json_int_t) i + 1));
    fl_tmpl_set(loop, "index0", json_integer((json_int_t) i));
    fl_tmpl_set(loop, "revindex", json_integer((json_int_t) (n - i)));
    fl_tmpl_set(loop, "revindex0", json_integer((json_int_t) (n - i - 1)));
    fl_tmpl_set(loop, "first", json_boolean(i == 0));
    fl_tmpl_set(loop, "last", json_boolean(i + 1 == n));
    fl_tmpl_set(loop, "length", json_integer((json_int_t) n));
    if (i > 0) {
        fl_tmpl_set(loop, "previtem", json_incref(json_array_get(items, i - 1)));
    }
    if (i + 1 < n) {
        fl_tmpl_set(loop, "nextitem", json_incref(json_array_get(items, i + 1)));
    }
    return loop;
}

static int
s_for(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *v = fl_tmpl_eval_defined(ev, node->a);
    if (!v) {
        return -1;
    }
    json_t *items = s_iterable(ev, node->a, v);
    json_decref(v);
    if (!items) {
        return -1;
    }
    if (node->d) {
        json_t *kept = s_filter_items(ev, node, items);
        json_decref(items);
        if (!kept) {
            return -1;
        }
        items = kept;
    }
    size_t n = json_array_size(items);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (s_count_iteration(ev, node) < 0) {
            rc = -1;
            break;
        }
        json_t *frame = json_object();
        if (s_bind(ev, node, frame, json_array_get(items, i)) < 0) {
            json_decref(frame);
            rc = -1;
            break;
        }
        if (s_push_frame(ev, node, frame) < 0) {
            rc = -1;
            break;
        }
        fl_tmpl_set(frame, "loop", s_loop_object(i, n, items));
        rc = s_exec(ev, node->b);
        s_pop_frame(ev);
        if (ev->flow == S_FLOW_BREAK) {
            ev->flow = S_FLOW_NONE;
            break;
        }
        ev->flow = S_FLOW_NONE;
    }
    json_decref(items);
    if (rc == 0 && n == 0 && node->c) {
        rc = s_exec(ev, node->c);
    }
    return rc;
}

static int
s_set(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *v;
    if (node->kind == FL_TN_SET_BLOCK) {
        fl_tmpl_buf_t capture = { 0 };
        fl_tmpl_buf_t *saved = ev->out;
        ev->out = &capture;
        int rc = s_exec(ev, node->b);
        ev->out = saved;
        if (rc < 0) {
            fl_tmpl_buf_free(&capture);
            return -1;
        }
        v = fl_tmpl_str(capture.data ? capture.data : "", capture.len);
        fl_tmpl_buf_free(&capture);
    } else {
        v = fl_tmpl_eval_defined(ev, node->a);
        if (!v) {
            return -1;
        }
    }
    int rc = s_bind(ev, node, ev->frames[ev->n_frames - 1], v);
    json_decref(v);
    return rc;
}

static int
s_output(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    json_t *v = fl_tmpl_eval_defined(ev, node->a);
    if (!v) {
        return -1;
    }
    int rc = 0;
    if (json_is_string(v)) {
        rc = s_write(ev, node, json_string_value(v), json_string_length(v));
    } else {
        fl_tmpl_buf_t b = { 0 };
        rc = s_to_text(ev, node->a, v, &b);
        if (rc == 0) {
            rc = s_write(ev, node, b.data ? b.data : "", b.len);
        }
        fl_tmpl_buf_free(&b);
    }
    json_decref(v);
    return rc;
}

static int
s_exec(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *body)
{
    for (size_t i = 0; i < body->n_kids; i++) {
        const fl_tmpl_node_t *node = body->kids[i];
        int rc = 0;
        if (fl_tmpl_eval_charge(ev, node, 1) < 0) {
            return -1;
        }
        switch (node->kind) {
        case FL_TN_TEXT:
            rc = s_write(ev, node, node->text, node->len);
            break;
        case FL_TN_OUTPUT:
            rc = s_output(ev, node);
            break;
        case FL_TN_IF: {
            const fl_tmpl_node_t *branch = node;
            while (branch && branch->kind == FL_TN_IF) {
                json_t *c = fl_tmpl_eval_defined(ev, branch->a);
                if (!c) {
                    return -1;
                }
                bool t = fl_tmpl_truthy(c);
                json_decref(c);
                if (t) {
                    break;
                }
                branch = branch->c;
            }
            if (branch) {
                rc = s_exec(ev, branch->kind == FL_TN_IF ? branch->b : branch);
            }
            break;
        }
        case FL_TN_FOR:
            rc = s_for(ev, node);
            break;
        case FL_TN_SET:
        case FL_TN_SET_BLOCK:
            rc = s_set(ev, node);
            break;
        case FL_TN_BREAK:
            ev->flow = S_FLOW_BREAK;
            return 0;
        case FL_TN_CONTINUE:
            ev->flow = S_FLOW_CONTINUE;
            return 0;
        default:
            fl_tmpl_eval_error(ev, node, "not a statement");
            return -1;
        }
        if (rc < 0 || ev->failed) {
            return -1;
        }
        if (ev->flow != S_FLOW_NONE) {
            return 0;
        }
    }
    return 0;
}

char *
fl_tmpl_eval_run(const fl_tmpl_doc_t *doc, const json_t *context, fl_diag_t *diag)
{
    json_t *empty = NULL;
    if (!json_is_object(context)) {
        empty = json_object();
        context = empty;
    }
    fl_tmpl_buf_t out = { 0 };
    fl_tmpl_eval_t ev = { .doc = doc, .diag = diag, .context = context, .out = &out, .top = &out };
    ev.pillar = json_object_get(context, "pillar");
    ev.grains = json_object_get(context, "grains");
    ev.frames[ev.n_frames++] = json_object();
    int rc = s_exec(&ev, doc->root);
    while (ev.n_frames > 0) {
        s_pop_frame(&ev);
    }
    free(ev.undef_msg);
    json_decref(empty);
    if (rc < 0 || ev.failed) {
        fl_tmpl_buf_free(&out);
        return NULL;
    }
    return fl_tmpl_buf_take(&out);
}
