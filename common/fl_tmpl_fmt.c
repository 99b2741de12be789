/*  fl_tmpl_fmt.c: values as text, the way Salt's Python prints them.

    Why this is more than json_dumps: a Salt template prints with Python's
    str(): True/False/None, floats by their shortest round-trip form (1.5,
    2.0, 1e+16), lists and dicts as repr ['a', 1] {'k': 'v'}.  The json
    filter is Python's json.dumps(sort_keys=True): ", " and ": "
    separators, non-ASCII escaped.  The yaml filter is PyYAML's safe_dump as
    Salt calls it (flow style by default, keys sorted, unicode allowed, 80
    columns), so a string is quoted exactly when PyYAML would quote it: when
    it would read back as another type (yes, 1.0, null, 2024-01-01 ...),
    when it holds an indicator (": ", " #", a leading "[" ...), or spaces at
    either end.  The emitter below follows PyYAML's (emitter.py) state by
    state for the cases JSON values can reach. */
#include "fl_tmpl_int.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>

/*  Values nested deeper than this are not formatted (a template cannot build
    them; a context could). */
#define FL_TMPL_FMT_MAX_DEPTH 1000

//  --------------------------------------------------------------------------
//  Buffer

//  --------------------------------------------------------------------------
//  UTF-8

//  --------------------------------------------------------------------------
//  str() and repr()

void
fl_tmpl_fmt_float(double d, char *out, size_t size)
{
    if (isnan(d)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(out, size, d < 0 ? "-inf" : "inf");
        return;
    }
    if (d == 0) {
        snprintf(out, size, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    /* The shortest %e form that reads back as D. */
    char e[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, d);
        if (strtod(e, NULL) == d) {
            break;
        }
    }
    /* e is [-]D[.DDD]e[+-]XX: split into digits and a decimal exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg) {
        p++;
    }
    for (; *p && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1) {
            digits[nd++] = *p;
        }
    }
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') {
        nd--;
    }
    digits[nd] = '\0';
    int decpt = exp10 + 1;     /* value = 0.DIGITS x 10^decpt */
    char buf[64];
    size_t o = 0;
    if (neg) {
        buf[o++] = '-';
    }
    if (decpt > 16 || decpt < -3) {
        buf[o++] = digits[0];
        if (nd > 1) {
            buf[o++] = '.';
            memcpy(buf + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        snprintf(buf + o, sizeof buf - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (decpt <= 0) {
        buf[o++] = '0';
        buf[o++] = '.';
        for (int i = 0; i < -decpt; i++) {
            buf[o++] = '0';
        }
        memcpy(buf + o, digits, nd);
        o += nd;
        buf[o] = '\0';
    } else if ((size_t) decpt >= nd) {
        memcpy(buf + o, digits, nd);
        o += nd;
        for (size_t i = nd; i < (size_t) decpt; i++) {
            buf[o++] = '0';
        }
        buf[o++] = '.';
        buf[o++] = '0';
        buf[o] = '\0';
    } else {
        memcpy(buf + o, digits, (size_t) decpt);
        o += (size_t) decpt;
        buf[o++] = '.';
        memcpy(buf + o, digits + decpt, nd - (size_t) decpt);
        o += nd - (size_t) decpt;
        buf[o] = '\0';
    }
    snprintf(out, size, "%s", buf);
}

/*  Close to Python's str.isprintable() for characters past ASCII. */
static bool
s_py_printable(uint32_t c)
{
    if (c < 0xA1) {
        return c >= 0x20 && c < 0x7F;
    }
    if (c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)
        || (c >= 0x205F && c <= 0x206F) || c == 0x3000 || (c >= 0xD800 && c <= 0xF8FF)
        || c == 0xFEFF || (c >= 0xFFF0 && c <= 0xFFFB) || c == 0xFFFE || c == 0xFFFF
        || c >= 0xE0000) {
        return false;
    }
    return true;
}

static void
s_repr_string(fl_tmpl_buf_t *b, const char *s, size_t len)
{
    char quote = '\'';
    if (memchr(s, '\'', len) && !memchr(s, '"', len)) {
        quote = '"';
    }
    fl_tmpl_buf_addc(b, quote);
    for (size_t i = 0; i < len && !b->overflow;) {
        uint32_t c = fl_tmpl_utf8_next(s, len, &i);
        if (c == (uint32_t) quote || c == '\\') {
            fl_tmpl_buf_addc(b, '\\');
            fl_tmpl_buf_addc(b, (char) c);
        } else if (c == '\n') {
            fl_tmpl_buf_add(b, "\\n", 2);
        } else if (c == '\r') {
            fl_tmpl_buf_add(b, "\\r", 2);
        } else if (c == '\t') {
            fl_tmpl_buf_add(b, "\\t", 2);
        } else if (s_py_printable(c)) {
            fl_tmpl_buf_add_cp(b, c);
        } else if (c <= 0xFF) {
            fl_tmpl_buf_addf(b, "\\x%02x", c);
        } else if (c <= 0xFFFF) {
            fl_tmpl_buf_addf(b, "\\u%04x", c);
        } else {
            fl_tmpl_buf_addf(b, "\\U%08x", c);
        }
    }
    fl_tmpl_buf_addc(b, quote);
}

static void
s_scalar_str(fl_tmpl_buf_t *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        fl_tmpl_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        fl_tmpl_fmt_float(json_real_value(v), num, sizeof num);
        fl_tmpl_buf_add(b, num, strlen(num));
        break;
    case JSON_TRUE:
        fl_tmpl_buf_add(b, "True", 4);
        break;
    case JSON_FALSE:
        fl_tmpl_buf_add(b, "False", 5);
        break;
    case JSON_NULL:
        fl_tmpl_buf_add(b, "None", 4);
        break;
    default:
        break;
    }
}

void
fl_tmpl_fmt_repr(fl_tmpl_buf_t *b, const json_t *v, int depth)
{
    if (depth > FL_TMPL_FMT_MAX_DEPTH) {
        b->too_deep = true;
        return;
    }
    if (json_is_string(v)) {
        s_repr_string(b, json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        fl_tmpl_buf_addc(b, '[');
        for (size_t i = 0; i < json_array_size(v) && !b->overflow && !b->too_deep; i++) {
            if (i > 0) {
                fl_tmpl_buf_add(b, ", ", 2);
            }
            fl_tmpl_fmt_repr(b, json_array_get(v, i), depth + 1);
        }
        fl_tmpl_buf_addc(b, ']');
    } else if (json_is_object(v)) {
        fl_tmpl_buf_addc(b, '{');
        const char *key;
        json_t *item;
        bool first = true;
        json_object_foreach((json_t *) v, key, item) {
            if (b->overflow || b->too_deep) {
                break;
            }
            if (!first) {
                fl_tmpl_buf_add(b, ", ", 2);
            }
            first = false;
            s_repr_string(b, key, strlen(key));
            fl_tmpl_buf_add(b, ": ", 2);
            fl_tmpl_fmt_repr(b, item, depth + 1);
        }
        fl_tmpl_buf_addc(b, '}');
    } else {
        s_scalar_str(b, v);
    }
}

void
fl_tmpl_fmt_str(fl_tmpl_buf_t *b, const json_t *v)
{
    if (json_is_string(v)) {
        fl_tmpl_buf_add(b, json_string_value(v), json_string_length(v));
    } else {
        fl_tmpl_fmt_repr(b, v, 0);
    }
}

//  --------------------------------------------------------------------------
//  json

static int
s_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*  The keys of O, sorted by code point (caller frees the array). */
static const char **
s_sorted_keys(const json_t *o, size_t *n)
{
    *n = json_object_size(o);
    const char **keys = fl_malloc((*n ? *n : 1) * sizeof *keys);
    size_t i = 0;
    const char *key;
    json_t *item;
    json_object_foreach((json_t *) o, key, item) {
        keys[i++] = key;
    }
    qsort(keys, *n, sizeof *keys, s_key_cmp);
    return keys;
}

static void
s_json_string(fl_tmpl_buf_t *b, const char *s, size_t len, bool htmlsafe)
{
    fl_tmpl_buf_addc(b, '"');
    for (size_t i = 0; i < len && !b->overflow;) {
        uint32_t c = fl_tmpl_utf8_next(s, len, &i);
        if (c == '"') {
            fl_tmpl_buf_add(b, "\\\"", 2);
        } else if (c == '\\') {
            fl_tmpl_buf_add(b, "\\\\", 2);
        } else if (c == '\n') {
            fl_tmpl_buf_add(b, "\\n", 2);
        } else if (c == '\r') {
            fl_tmpl_buf_add(b, "\\r", 2);
        } else if (c == '\t') {
            fl_tmpl_buf_add(b, "\\t", 2);
        } else if (c == '\b') {
            fl_tmpl_buf_add(b, "\\b", 2);
        } else if (c == '\f') {
            fl_tmpl_buf_add(b, "\\f", 2);
        } else if (htmlsafe && (c == '<' || c == '>' || c == '&' || c == '\'')) {
            fl_tmpl_buf_addf(b, "\\u%04x", c);
        } else if (c >= 0x20 && c < 0x7F) {
            fl_tmpl_buf_addc(b, (char) c);
        } else if (c < 0x10000) {
            fl_tmpl_buf_addf(b, "\\u%04x", c);
        } else {
            uint32_t v = c - 0x10000;
            fl_tmpl_buf_addf(b, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
        }
    }
    fl_tmpl_buf_addc(b, '"');
}

static void
s_json(fl_tmpl_buf_t *b, const json_t *v, bool htmlsafe, int depth)
{
    if (depth > FL_TMPL_FMT_MAX_DEPTH) {
        b->too_deep = true;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        s_json_string(b, json_string_value(v), json_string_length(v), htmlsafe);
        break;
    case JSON_ARRAY:
        fl_tmpl_buf_addc(b, '[');
        for (size_t i = 0; i < json_array_size(v) && !b->overflow && !b->too_deep; i++) {
            if (i > 0) {
                fl_tmpl_buf_add(b, ", ", 2);
            }
            s_json(b, json_array_get(v, i), htmlsafe, depth + 1);
        }
        fl_tmpl_buf_addc(b, ']');
        break;
    case JSON_OBJECT: {
        size_t n;
        const char **keys = s_sorted_keys(v, &n);
        fl_tmpl_buf_addc(b, '{');
        for (size_t i = 0; i < n && !b->overflow && !b->too_deep; i++) {
            if (i > 0) {
                fl_tmpl_buf_add(b, ", ", 2);
            }
            s_json_string(b, keys[i], strlen(keys[i]), htmlsafe);
            fl_tmpl_buf_add(b, ": ", 2);
            s_json(b, json_object_get(v, keys[i]), htmlsafe, depth + 1);
        }
        fl_tmpl_buf_addc(b, '}');
        free(keys);
        break;
    }
    case JSON_TRUE:
        fl_tmpl_buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        fl_tmpl_buf_add(b, "false", 5);
        break;
    case JSON_NULL:
        fl_tmpl_buf_add(b, "null", 4);
        break;
    default:
        s_scalar_str(b, v);
        break;
    }
}

void
fl_tmpl_fmt_json(fl_tmpl_buf_t *b, const json_t *v, bool htmlsafe)
{
    s_json(b, v, htmlsafe, 0);
}

//  --------------------------------------------------------------------------
//  yaml: PyYAML's resolver (which plain scalars read back as another type)

static const char *const s_yaml_patterns[] = {
    /* bool */
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    /* float */
    "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?"
    "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    /* int */
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    "|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    /* merge, null, value */
    "^(<<|~|null|Null|NULL|=)$",
    /* timestamp */
    "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
    "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]"
    "(\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?)$",
};

static regex_t s_yaml_re[FL_ARRAY_LEN(s_yaml_patterns)];
static bool s_yaml_re_ok;
static pthread_once_t s_yaml_re_once = PTHREAD_ONCE_INIT;

static void
s_yaml_re_init(void)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_yaml_patterns); i++) {
        if (regcomp(&s_yaml_re[i], s_yaml_patterns[i], REG_EXTENDED | REG_NOSUB) != 0) {
            return;
        }
    }
    s_yaml_re_ok = true;
}

/*  True when S, written plain, reads back as a string. */
static bool
s_yaml_plain_is_str(const char *s, size_t len)
{
    if (len == 0) {
        return false;   /* null */
    }
    if (memchr(s, '\0', len)) {
        return true;
    }
    pthread_once(&s_yaml_re_once, s_yaml_re_init);
    if (!s_yaml_re_ok) {
        return false;   /* quote everything rather than guess */
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(s_yaml_re); i++) {
        if (regexec(&s_yaml_re[i], s, 0, NULL, 0) == 0) {
            return false;
        }
    }
    return true;
}

//  --------------------------------------------------------------------------
//  yaml: scalar analysis (emitter.py analyze_scalar, allow_unicode=True)

typedef struct {
    bool empty, multiline;
    bool allow_flow_plain, allow_block_plain, allow_single_quoted;
} s_analysis_t;

static bool
s_is_break(uint32_t c)
{
    return c == '\n' || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static bool
s_is_ws_or_end(const uint32_t *t, size_t n, size_t i)
{
    if (i >= n) {
        return true;
    }
    uint32_t c = t[i];
    return c == 0 || c == ' ' || c == '\t' || c == '\r' || s_is_break(c);
}

static s_analysis_t
s_analyze(const uint32_t *t, size_t n)
{
    s_analysis_t a = { 0 };
    if (n == 0) {
        a.empty = true;
        a.allow_block_plain = true;
        a.allow_single_quoted = true;
        return a;
    }
    bool block_ind = false, flow_ind = false, line_breaks = false, special = false;
    bool leading_space = false, leading_break = false, trailing_space = false;
    bool trailing_break = false, break_space = false, space_break = false;
    if (n >= 3 && ((t[0] == '-' && t[1] == '-' && t[2] == '-')
                   || (t[0] == '.' && t[1] == '.' && t[2] == '.'))) {
        block_ind = flow_ind = true;
    }
    bool preceded_ws = true;
    bool followed_ws = s_is_ws_or_end(t, n, 1);
    bool prev_space = false, prev_break = false;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = t[i];
        if (i == 0) {
            if (c < 0x80 && c && strchr("#,[]{}&*!|>'\"%@`", (int) c)) {
                flow_ind = block_ind = true;
            }
            if (c == '?' || c == ':') {
                flow_ind = true;
                if (followed_ws) {
                    block_ind = true;
                }
            }
            if (c == '-' && followed_ws) {
                flow_ind = block_ind = true;
            }
        } else {
            if (c < 0x80 && c && strchr(",?[]{}", (int) c)) {
                flow_ind = true;
            }
            if (c == ':') {
                flow_ind = true;
                if (followed_ws) {
                    block_ind = true;
                }
            }
            if (c == '#' && preceded_ws) {
                flow_ind = block_ind = true;
            }
        }
        if (s_is_break(c)) {
            line_breaks = true;
        }
        if (!(c == '\n' || (c >= 0x20 && c <= 0x7E))) {
            bool unicode = (c == 0x85 || (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD)
                            || (c >= 0x10000 && c < 0x10FFFF)) && c != 0xFEFF;
            if (!unicode) {
                special = true;
            }
        }
        if (c == ' ') {
            if (i == 0) {
                leading_space = true;
            }
            if (i == n - 1) {
                trailing_space = true;
            }
            if (prev_break) {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if (s_is_break(c)) {
            if (i == 0) {
                leading_break = true;
            }
            if (i == n - 1) {
                trailing_break = true;
            }
            if (prev_space) {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = prev_break = false;
        }
        preceded_ws = c == 0 || c == ' ' || c == '\t' || c == '\r' || s_is_break(c);
        followed_ws = s_is_ws_or_end(t, n, i + 2);
    }
    a.allow_flow_plain = a.allow_block_plain = a.allow_single_quoted = true;
    if (leading_space || leading_break || trailing_space || trailing_break) {
        a.allow_flow_plain = a.allow_block_plain = false;
    }
    if (break_space) {
        a.allow_flow_plain = a.allow_block_plain = a.allow_single_quoted = false;
    }
    if (space_break || special) {
        a.allow_flow_plain = a.allow_block_plain = a.allow_single_quoted = false;
    }
    if (line_breaks) {
        a.allow_flow_plain = a.allow_block_plain = false;
    }
    if (flow_ind) {
        a.allow_flow_plain = false;
    }
    if (block_ind) {
        a.allow_block_plain = false;
    }
    a.multiline = line_breaks;
    return a;
}

//  --------------------------------------------------------------------------
//  yaml: the emitter

#define FL_YAML_WIDTH 80

typedef struct {
    fl_tmpl_buf_t *b;
    int column;
    int indent;             /* -1: none yet (PyYAML's None) */
    int flow_level;
    bool whitespace, indention;
    bool flow;              /* default_flow_style */
    bool root;              /* the node being written is the document */
    bool open_ended;        /* a plain scalar document: PyYAML ends it with "..." */
} s_yaml_t;

static void
s_y_write_cps(s_yaml_t *y, const uint32_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fl_tmpl_buf_add_cp(y->b, t[i]);
    }
    y->column += (int) n;
}

static void
s_y_write(s_yaml_t *y, const char *s)
{
    fl_tmpl_buf_add(y->b, s, strlen(s));
    y->column += (int) strlen(s);
}

static void
s_y_indicator(s_yaml_t *y, const char *ind, bool need_ws, bool whitespace, bool indention)
{
    if (!y->whitespace && need_ws) {
        s_y_write(y, " ");
    }
    s_y_write(y, ind);
    y->whitespace = whitespace;
    y->indention = y->indention && indention;
}

static void
s_y_line_break(s_yaml_t *y, uint32_t c)
{
    fl_tmpl_buf_add_cp(y->b, c);
    y->whitespace = true;
    y->indention = true;
    y->column = 0;
}

static void
s_y_indent(s_yaml_t *y)
{
    int indent = y->indent < 0 ? 0 : y->indent;
    if (!y->indention || y->column > indent || (y->column == indent && !y->whitespace)) {
        s_y_line_break(y, '\n');
    }
    if (y->column < indent) {
        y->whitespace = true;
        for (int i = y->column; i < indent; i++) {
            fl_tmpl_buf_addc(y->b, ' ');
        }
        y->column = indent;
    }
}

static void
s_y_increase_indent(s_yaml_t *y, bool flow, bool indentless)
{
    if (y->indent < 0) {
        y->indent = flow ? 2 : 0;
    } else if (!indentless) {
        y->indent += 2;
    }
}

static void
s_y_plain(s_yaml_t *y, const uint32_t *t, size_t n, bool split)
{
    if (y->root) {
        y->open_ended = true;
    }
    if (n == 0) {
        return;
    }
    if (!y->whitespace) {
        s_y_write(y, " ");
    }
    y->whitespace = false;
    y->indention = false;
    bool spaces = false;
    size_t start = 0;
    for (size_t end = 0; end <= n; end++) {
        uint32_t c = end < n ? t[end] : 0;
        bool at_end = end == n;
        if (spaces) {
            if (at_end || c != ' ') {
                if (start + 1 == end && y->column > FL_YAML_WIDTH && split) {
                    s_y_indent(y);
                    y->whitespace = false;
                    y->indention = false;
                } else {
                    s_y_write_cps(y, t + start, end - start);
                }
                start = end;
            }
        } else if (at_end || c == ' ' || s_is_break(c)) {
            s_y_write_cps(y, t + start, end - start);
            start = end;
        }
        if (!at_end) {
            spaces = c == ' ';
        }
    }
}

static void
s_y_single(s_yaml_t *y, const uint32_t *t, size_t n, bool split)
{
    s_y_indicator(y, "'", true, false, false);
    bool spaces = false, breaks = false;
    size_t start = 0;
    for (size_t end = 0; end <= n; end++) {
        bool at_end = end == n;
        uint32_t c = at_end ? 0 : t[end];
        if (spaces) {
            if (at_end || c != ' ') {
                if (start + 1 == end && y->column > FL_YAML_WIDTH && split && start != 0
                    && end != n) {
                    s_y_indent(y);
                } else {
                    s_y_write_cps(y, t + start, end - start);
                }
                start = end;
            }
        } else if (breaks) {
            if (at_end || !s_is_break(c)) {
                if (t[start] == '\n') {
                    s_y_line_break(y, '\n');
                }
                for (size_t k = start; k < end; k++) {
                    s_y_line_break(y, t[k]);
                }
                s_y_indent(y);
                start = end;
            }
        } else if (at_end || c == ' ' || s_is_break(c) || c == '\'') {
            if (start < end) {
                s_y_write_cps(y, t + start, end - start);
                start = end;
            }
        }
        if (c == '\'' && !at_end) {
            s_y_write(y, "''");
            start = end + 1;
        }
        if (!at_end) {
            spaces = c == ' ';
            breaks = s_is_break(c);
        }
    }
    s_y_indicator(y, "'", false, false, false);
}

static void
s_y_double(s_yaml_t *y, const uint32_t *t, size_t n, bool split)
{
    s_y_indicator(y, "\"", true, false, false);
    size_t start = 0;
    for (size_t end = 0; end <= n; end++) {
        bool at_end = end == n;
        uint32_t c = at_end ? 0 : t[end];
        if (at_end || c == '"' || c == '\\' || c == 0x85 || c == 0x2028 || c == 0x2029
            || c == 0xFEFF
            || !((c >= 0x20 && c <= 0x7E) || (c >= 0xA0 && c <= 0xD7FF)
                 || (c >= 0xE000 && c <= 0xFFFD))) {
            if (start < end) {
                s_y_write_cps(y, t + start, end - start);
                start = end;
            }
            if (!at_end) {
                static const struct {
                    uint32_t c;
                    const char *esc;
                } escapes[] = {
                    { 0, "\\0" },       { 7, "\\a" },       { 8, "\\b" },     { 9, "\\t" },
                    { 10, "\\n" },      { 11, "\\v" },      { 12, "\\f" },    { 13, "\\r" },
                    { 27, "\\e" },      { '"', "\\\"" },    { '\\', "\\\\" }, { 0x85, "\\N" },
                    { 0xA0, "\\_" },    { 0x2028, "\\L" },  { 0x2029, "\\P" },
                };
                char esc[16] = "";
                for (size_t k = 0; k < FL_ARRAY_LEN(escapes); k++) {
                    if (escapes[k].c == c) {
                        snprintf(esc, sizeof esc, "%s", escapes[k].esc);
                    }
                }
                if (!esc[0]) {
                    if (c <= 0xFF) {
                        snprintf(esc, sizeof esc, "\\x%02X", c);
                    } else if (c <= 0xFFFF) {
                        snprintf(esc, sizeof esc, "\\u%04X", c);
                    } else {
                        snprintf(esc, sizeof esc, "\\U%08X", c);
                    }
                }
                s_y_write(y, esc);
                start = end + 1;
            }
        }
        if (end > 0 && end + 1 < n && (c == ' ' || start >= end)
            && y->column + (int) (end - start) > FL_YAML_WIDTH && split) {
            s_y_write_cps(y, t + start, end > start ? end - start : 0);
            s_y_write(y, "\\");
            if (start < end) {
                start = end;
            }
            s_y_indent(y);
            y->whitespace = false;
            y->indention = false;
            if (t[start] == ' ') {
                s_y_write(y, "\\");
            }
        }
    }
    s_y_indicator(y, "\"", false, false, false);
}

/*  The text of a scalar and whether it may be written plain as far as the
    resolver goes (PyYAML's implicit[0]). */
static void
s_y_scalar_text(const json_t *v, fl_tmpl_buf_t *text, bool *implicit)
{
    char num[64];
    *implicit = true;
    switch (json_typeof(v)) {
    case JSON_STRING:
        fl_tmpl_buf_add(text, json_string_value(v), json_string_length(v));
        *implicit = s_yaml_plain_is_str(text->data ? text->data : "", text->len);
        break;
    case JSON_INTEGER:
        fl_tmpl_buf_addf(text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        /* repr(data).lower(), with ".0" before an exponent without a dot. */
        fl_tmpl_fmt_float(json_real_value(v), num, sizeof num);
        char *e = strchr(num, 'e');
        if (e && !strchr(num, '.')) {
            fl_tmpl_buf_add(text, num, (size_t) (e - num));
            fl_tmpl_buf_add(text, ".0", 2);
            fl_tmpl_buf_add(text, e, strlen(e));
        } else {
            fl_tmpl_buf_add(text, num, strlen(num));
        }
        break;
    }
    case JSON_TRUE:
        fl_tmpl_buf_add(text, "true", 4);
        break;
    case JSON_FALSE:
        fl_tmpl_buf_add(text, "false", 5);
        break;
    default:
        fl_tmpl_buf_add(text, "null", 4);
        break;
    }
}

static uint32_t *
s_decode(const char *s, size_t len, size_t *n)
{
    uint32_t *t = fl_malloc((len ? len : 1) * sizeof *t);
    *n = 0;
    for (size_t i = 0; i < len;) {
        t[(*n)++] = fl_tmpl_utf8_next(s, len, &i);
    }
    return t;
}

/*  Decodes a scalar for the emitter; *KEY_OK tells whether it can be a
    simple key (check_simple_key). */
static uint32_t *
s_y_prepare(const json_t *v, size_t *n, bool *implicit, s_analysis_t *a, bool *key_ok)
{
    fl_tmpl_buf_t text = { 0 };
    s_y_scalar_text(v, &text, implicit);
    uint32_t *t = s_decode(text.data ? text.data : "", text.len, n);
    fl_tmpl_buf_free(&text);
    *a = s_analyze(t, *n);
    *key_ok = *n < 128 && !a->empty && !a->multiline;
    return t;
}

static void
s_y_scalar(s_yaml_t *y, const json_t *v, bool simple_key)
{
    size_t n;
    bool implicit, key_ok;
    s_analysis_t a;
    uint32_t *t = s_y_prepare(v, &n, &implicit, &a, &key_ok);
    int saved = y->indent;
    s_y_increase_indent(y, true, false);
    char style = '"';
    if (implicit && !(simple_key && (a.empty || a.multiline))
        && ((y->flow_level && a.allow_flow_plain) || (!y->flow_level && a.allow_block_plain))) {
        style = 0;
    } else if (a.allow_single_quoted && !(simple_key && a.multiline)) {
        style = '\'';
    }
    if (style == 0) {
        s_y_plain(y, t, n, !simple_key);
    } else if (style == '\'') {
        s_y_single(y, t, n, !simple_key);
    } else {
        s_y_double(y, t, n, !simple_key);
    }
    y->indent = saved;
    free(t);
}

static bool
s_y_simple_key(const json_t *key)
{
    size_t n;
    bool implicit, key_ok;
    s_analysis_t a;
    free(s_y_prepare(key, &n, &implicit, &a, &key_ok));
    return key_ok;
}

static void s_y_node(s_yaml_t *y, const json_t *v, int depth, bool mapping_ctx, bool simple_key);

static void
s_y_sequence(s_yaml_t *y, const json_t *v, int depth, bool mapping_ctx)
{
    int saved = y->indent;
    size_t n = json_array_size(v);
    if (y->flow_level || y->flow || n == 0) {
        s_y_indicator(y, "[", true, true, false);
        y->flow_level++;
        s_y_increase_indent(y, true, false);
        for (size_t i = 0; i < n && !y->b->overflow && !y->b->too_deep; i++) {
            if (i > 0) {
                s_y_indicator(y, ",", false, false, false);
            }
            if (y->column > FL_YAML_WIDTH) {
                s_y_indent(y);
            }
            s_y_node(y, json_array_get(v, i), depth + 1, false, false);
        }
        y->indent = saved;
        y->flow_level--;
        s_y_indicator(y, "]", false, false, false);
        return;
    }
    s_y_increase_indent(y, false, mapping_ctx && !y->indention);
    for (size_t i = 0; i < n && !y->b->overflow && !y->b->too_deep; i++) {
        s_y_indent(y);
        s_y_indicator(y, "-", true, false, true);
        s_y_node(y, json_array_get(v, i), depth + 1, false, false);
    }
    y->indent = saved;
}

static void
s_y_mapping(s_yaml_t *y, const json_t *v, int depth)
{
    int saved = y->indent;
    size_t n;
    const char **keys = s_sorted_keys(v, &n);
    bool flow = y->flow_level || y->flow || n == 0;
    if (flow) {
        s_y_indicator(y, "{", true, true, false);
        y->flow_level++;
    }
    s_y_increase_indent(y, flow, false);
    for (size_t i = 0; i < n && !y->b->overflow && !y->b->too_deep; i++) {
        json_t *key = fl_tmpl_str(keys[i], strlen(keys[i]));
        const json_t *value = json_object_get(v, keys[i]);
        if (flow) {
            if (i > 0) {
                s_y_indicator(y, ",", false, false, false);
            }
            if (y->column > FL_YAML_WIDTH) {
                s_y_indent(y);
            }
        } else {
            s_y_indent(y);
        }
        if (s_y_simple_key(key)) {
            s_y_node(y, key, depth + 1, true, true);
            s_y_indicator(y, ":", false, false, false);
        } else {
            s_y_indicator(y, "?", true, false, !flow);
            s_y_node(y, key, depth + 1, true, false);
            if (!flow) {
                s_y_indent(y);
            } else if (y->column > FL_YAML_WIDTH) {
                s_y_indent(y);
            }
            s_y_indicator(y, ":", true, false, !flow);
        }
        s_y_node(y, value, depth + 1, true, false);
        json_decref(key);
    }
    y->indent = saved;
    if (flow) {
        y->flow_level--;
        s_y_indicator(y, "}", false, false, false);
    }
    free(keys);
}

static void
s_y_node(s_yaml_t *y, const json_t *v, int depth, bool mapping_ctx, bool simple_key)
{
    if (depth > FL_TMPL_FMT_MAX_DEPTH) {
        y->b->too_deep = true;
        return;
    }
    bool root = depth == 0;
    y->root = root;
    if (json_is_array(v)) {
        y->root = false;
        s_y_sequence(y, v, depth, mapping_ctx);
    } else if (json_is_object(v)) {
        y->root = false;
        s_y_mapping(y, v, depth);
    } else {
        s_y_scalar(y, v, simple_key);
        y->root = false;
    }
}

void
fl_tmpl_fmt_yaml(fl_tmpl_buf_t *b, const json_t *v, bool flow)
{
    fl_tmpl_buf_t out = { 0 };
    s_yaml_t y = { .b = &out, .indent = -1, .whitespace = true, .indention = true, .flow = flow };
    s_y_node(&y, v, 0, false, false);
    s_y_indent(&y);
    if (y.open_ended) {
        s_y_indicator(&y, "...", true, false, false);
        s_y_indent(&y);
    }
    b->overflow |= out.overflow;
    b->too_deep |= out.too_deep;
    /* Salt: text.strip(), then drop a final "\n..." */
    const char *s = out.data ? out.data : "";
    size_t start = out.len, end = 0;
    for (size_t i = 0; i < out.len;) {
        size_t at = i;
        if (!fl_tmpl_is_space(fl_tmpl_utf8_next(s, out.len, &i))) {
            start = at < start ? at : start;
            end = i;
        }
    }
    if (end > start + 4 && memcmp(s + end - 4, "\n...", 4) == 0) {
        end -= 4;
    }
    if (end > start) {
        fl_tmpl_buf_add(b, s + start, end - start);
    }
    fl_tmpl_buf_free(&out);
}
