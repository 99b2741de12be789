/*  fl_tmpl_parse.c: tokens -> tree, with Jinja's grammar and precedence.

    Statements: text, {{ expr }}, if/elif/else/endif, for/else/endfor
    (with an optional `if` filter), set (one or more names, or the block
    form set/endset), break, continue.  Tags that Jinja has and this sandbox
    does not (include, import, macro ...) are refused by name.

    Expressions, lowest precedence first, as in Jinja's parser:
        a if cond else b
        or, and, not
        comparisons (== != < <= > >= in, not in; chained as in Python)
        + -      ~ (n-ary)      * / // %      **
        unary - +, then postfix: .name .0 [index] [a:b:c] (args),
        then filters | name(args) and tests `is [not] name(args)`
        primaries: names, literals, ( ), [ ], { }
    Unknown filters and tests are errors here, as Jinja reports them when it
    compiles.  Depth limits: blocks nest at most FL_TMPL_MAX_DEPTH deep, and
    so do expressions (both the parser's recursion and the tree's height),
    which bounds the evaluator's recursion too. */
#include "fl_tmpl_int.h"

typedef struct {
    const char *kind;       /* "if", "for", "set" */
    int line, col;
} s_open_t;

typedef struct {
    const char *name;
    const char *src;
    fl_tmpl_tok_t *toks;
    size_t count;
    size_t pos;
    fl_diag_t *diag;
    bool failed;
    int expr_depth;
    s_open_t open[FL_TMPL_MAX_DEPTH + 1];
    int n_open;
    int loops;              /* open for blocks, for break/continue */
    fl_tmpl_node_t *all;
} s_parser_t;

static fl_tmpl_node_t *s_expr(s_parser_t *p);
static fl_tmpl_node_t *s_expr_nocond(s_parser_t *p);
static fl_tmpl_node_t *s_unary(s_parser_t *p, bool with_filter);
static fl_tmpl_node_t *s_primary(s_parser_t *p);
static fl_tmpl_node_t *s_postfix(s_parser_t *p, fl_tmpl_node_t *node, size_t start);

//  --------------------------------------------------------------------------
//  Helpers

static void *
s_error(s_parser_t *p, int line, int col, const char *fmt, ...) FL_PRINTF(4, 5);

static void *
s_error(s_parser_t *p, int line, int col, const char *fmt, ...)
{
    if (!p->failed) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = fl_vsprintf(fmt, ap);
        va_end(ap);
        fl_diag_error(p->diag, p->name, line, col, "%s", msg);
        free(msg);
        p->failed = true;
    }
    return NULL;
}

static const fl_tmpl_tok_t *
s_peek(const s_parser_t *p)
{
    return &p->toks[p->pos];
}

static const fl_tmpl_tok_t *
s_peek2(const s_parser_t *p)
{
    return &p->toks[p->pos + 1 < p->count ? p->pos + 1 : p->pos];
}

static const fl_tmpl_tok_t *
s_next(s_parser_t *p)
{
    const fl_tmpl_tok_t *t = &p->toks[p->pos];
    if (t->type != FL_TT_EOF) {
        p->pos++;
    }
    return t;
}

/*  End offset of the last token taken. */
static size_t
s_last_end(const s_parser_t *p)
{
    if (p->pos == 0) {
        return 0;
    }
    const fl_tmpl_tok_t *t = &p->toks[p->pos - 1];
    return t->off + t->len;
}

static bool
s_is_op(const fl_tmpl_tok_t *t, int op)
{
    return t->type == FL_TT_OP && t->op == op;
}

static bool
s_is_name(const fl_tmpl_tok_t *t, const char *name)
{
    return t->type == FL_TT_NAME && strcmp(t->str, name) == 0;
}

/*  A description of a token for messages. */
static const char *
s_describe(const fl_tmpl_tok_t *t, char *buf, size_t size)
{
    switch (t->type) {
    case FL_TT_EOF:
        return "the end of the template";
    case FL_TT_TEXT:
        return "text";
    case FL_TT_VAR_BEGIN:
        return "'{{'";
    case FL_TT_VAR_END:
        return "'}}'";
    case FL_TT_BLOCK_BEGIN:
        return "'{%'";
    case FL_TT_BLOCK_END:
        return "'%}'";
    case FL_TT_NAME:
        snprintf(buf, size, "'%.40s'", t->str);
        return buf;
    case FL_TT_INT:
    case FL_TT_FLOAT:
        return "a number";
    case FL_TT_STRING:
        return "a string";
    case FL_TT_OP:
        break;
    }
    static const char *const names[] = { "==", "!=", "<=", ">=", "//", "**" };
    if (t->op >= FL_OP_EQ && t->op <= FL_OP_POW) {
        snprintf(buf, size, "'%s'", names[t->op - FL_OP_EQ]);
    } else {
        snprintf(buf, size, "'%c'", (char) t->op);
    }
    return buf;
}

static void *
s_unexpected(s_parser_t *p, const fl_tmpl_tok_t *t, const char *wanted)
{
    char buf[64];
    return s_error(p, t->line, t->col, "expected %s, got %s", wanted,
                   s_describe(t, buf, sizeof buf));
}

static bool
s_expect_op(s_parser_t *p, int op, const char *wanted)
{
    if (p->failed) {
        return false;
    }
    if (!s_is_op(s_peek(p), op)) {
        s_unexpected(p, s_peek(p), wanted);
        return false;
    }
    s_next(p);
    return true;
}

static bool
s_expect_type(s_parser_t *p, fl_tmpl_tok_type_t type, const char *wanted)
{
    if (p->failed) {
        return false;
    }
    if (s_peek(p)->type != type) {
        s_unexpected(p, s_peek(p), wanted);
        return false;
    }
    s_next(p);
    return true;
}

static fl_tmpl_node_t *
s_node(s_parser_t *p, fl_tmpl_kind_t kind, const fl_tmpl_tok_t *at)
{
    fl_tmpl_node_t *n = fl_calloc(1, sizeof *n);
    n->kind = kind;
    n->line = at->line;
    n->col = at->col;
    n->src_off = at->off;
    n->next_alloc = p->all;
    p->all = n;
    return n;
}

static void
s_add_kid(fl_tmpl_node_t *n, fl_tmpl_node_t *kid)
{
    /* Powers of two: grow when the count reaches one. */
    if (n->n_kids == 0 || (n->n_kids & (n->n_kids - 1)) == 0) {
        size_t cap = n->n_kids ? n->n_kids * 2 : 1;
        n->kids = fl_realloc(n->kids, cap * sizeof *n->kids);
    }
    n->kids[n->n_kids++] = kid;
}

static void
s_add_name(fl_tmpl_node_t *n, const char *name)
{
    n->names = fl_realloc(n->names, (n->n_names + 1) * sizeof *n->names);
    n->names[n->n_names++] = name ? fl_strdup(name) : NULL;
}

static int
s_height(const fl_tmpl_node_t *n)
{
    return n ? n->height : 0;
}

/*  Completes an expression node: its source span (from START to the last
    token taken) and height, checked against the limit. */
static fl_tmpl_node_t *
s_done(s_parser_t *p, fl_tmpl_node_t *n, size_t start)
{
    if (p->failed) {
        return NULL;
    }
    n->src_off = start;
    size_t end = s_last_end(p);
    n->src_len = end > start ? end - start : 0;
    int h = s_height(n->a);
    const fl_tmpl_node_t *more[] = { n->b, n->c, n->d };
    for (size_t i = 0; i < FL_ARRAY_LEN(more); i++) {
        if (s_height(more[i]) > h) {
            h = s_height(more[i]);
        }
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        if (s_height(n->kids[i]) > h) {
            h = s_height(n->kids[i]);
        }
    }
    n->height = h + 1;
    if (n->height > FL_TMPL_MAX_DEPTH) {
        return s_error(p, n->line, n->col, "expression nested too deeply (limit %d)",
                       FL_TMPL_MAX_DEPTH);
    }
    return n;
}

/*  Counts one level of nesting (an expression inside brackets or
    arguments, or a unary operator) and bounds the parser's recursion; the
    tree's height is checked as well (s_done). */
static bool
s_enter(s_parser_t *p)
{
    if (++p->expr_depth > FL_TMPL_MAX_DEPTH) {
        const fl_tmpl_tok_t *t = s_peek(p);
        s_error(p, t->line, t->col, "expression nested too deeply (limit %d)", FL_TMPL_MAX_DEPTH);
        return false;
    }
    return true;
}

static void
s_leave(s_parser_t *p)
{
    p->expr_depth--;
}

static bool
s_is_keyword(const fl_tmpl_tok_t *t)
{
    static const char *const words[] = { "and", "or", "not", "in", "is", "if", "else", "elif" };
    if (t->type != FL_TT_NAME) {
        return false;
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(words); i++) {
        if (strcmp(t->str, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Expressions

/*  Arguments of a call, a filter or a test, after '(': positional ones,
    then name=value ones, up to ')'. */
static void
s_args(s_parser_t *p, fl_tmpl_node_t *n)
{
    bool keywords = false;
    while (!p->failed && !s_is_op(s_peek(p), ')')) {
        const fl_tmpl_tok_t *t = s_peek(p);
        if (t->type == FL_TT_NAME && s_is_op(s_peek2(p), '=')) {
            s_next(p);
            s_next(p);
            fl_tmpl_node_t *v = s_expr(p);
            if (!v) {
                return;
            }
            s_add_kid(n, v);
            s_add_name(n, t->str);
            keywords = true;
        } else {
            if (keywords) {
                s_error(p, t->line, t->col, "positional argument after a keyword argument");
                return;
            }
            fl_tmpl_node_t *v = s_expr(p);
            if (!v) {
                return;
            }
            s_add_kid(n, v);
            s_add_name(n, NULL);
        }
        if (!s_is_op(s_peek(p), ',')) {
            break;
        }
        s_next(p);
    }
    s_expect_op(p, ')', "',' or ')'");
}

static fl_tmpl_node_t *
s_const(s_parser_t *p, const fl_tmpl_tok_t *at, json_t *value)
{
    fl_tmpl_node_t *n = s_node(p, FL_TN_CONST, at);
    n->value = value;
    return n;
}

static fl_tmpl_node_t *
s_primary(s_parser_t *p)
{
    const fl_tmpl_tok_t *t = s_peek(p);
    size_t start = t->off;
    char buf[64];
    if (t->type == FL_TT_NAME) {
        if (s_is_keyword(t)) {
            return s_error(p, t->line, t->col, "expected an expression, got %s",
                           s_describe(t, buf, sizeof buf));
        }
        s_next(p);
        fl_tmpl_node_t *n;
        if (!strcmp(t->str, "true") || !strcmp(t->str, "True")) {
            n = s_const(p, t, json_true());
        } else if (!strcmp(t->str, "false") || !strcmp(t->str, "False")) {
            n = s_const(p, t, json_false());
        } else if (!strcmp(t->str, "none") || !strcmp(t->str, "None")) {
            n = s_const(p, t, json_null());
        } else {
            n = s_node(p, FL_TN_NAME, t);
            n->str = fl_strdup(t->str);
        }
        return s_done(p, n, start);
    }
    if (t->type == FL_TT_STRING) {
        /* Adjacent strings join, as in Python. */
        fl_tmpl_buf_t b = { 0 };
        while (s_peek(p)->type == FL_TT_STRING) {
            const fl_tmpl_tok_t *s = s_next(p);
            fl_tmpl_buf_add(&b, s->str, s->slen);
        }
        if (b.overflow) {
            fl_tmpl_buf_free(&b);
            return s_error(p, t->line, t->col, "string longer than 16 MiB");
        }
        json_t *v = fl_tmpl_str(b.data ? b.data : "", b.len);
        fl_tmpl_buf_free(&b);
        return s_done(p, s_const(p, t, v), start);
    }
    if (t->type == FL_TT_INT) {
        s_next(p);
        return s_done(p, s_const(p, t, json_integer(t->ival)), start);
    }
    if (t->type == FL_TT_FLOAT) {
        s_next(p);
        return s_done(p, s_const(p, t, json_real(t->fval)), start);
    }
    if (s_is_op(t, '(')) {
        /* A parenthesized expression, or a tuple (a list here). */
        s_next(p);
        if (s_is_op(s_peek(p), ')')) {
            s_next(p);
            return s_done(p, s_node(p, FL_TN_LIST, t), start);
        }
        fl_tmpl_node_t *e = s_expr(p);
        if (!e) {
            return NULL;
        }
        if (s_is_op(s_peek(p), ',')) {
            fl_tmpl_node_t *n = s_node(p, FL_TN_LIST, t);
            s_add_kid(n, e);
            while (!p->failed && s_is_op(s_peek(p), ',')) {
                s_next(p);
                if (s_is_op(s_peek(p), ')')) {
                    break;
                }
                fl_tmpl_node_t *k = s_expr(p);
                if (!k) {
                    return NULL;
                }
                s_add_kid(n, k);
            }
            if (!s_expect_op(p, ')', "',' or ')'")) {
                return NULL;
            }
            return s_done(p, n, start);
        }
        if (!s_expect_op(p, ')', "')'")) {
            return NULL;
        }
        return e;
    }
    if (s_is_op(t, '[')) {
        s_next(p);
        fl_tmpl_node_t *n = s_node(p, FL_TN_LIST, t);
        while (!p->failed && !s_is_op(s_peek(p), ']')) {
            fl_tmpl_node_t *k = s_expr(p);
            if (!k) {
                return NULL;
            }
            s_add_kid(n, k);
            if (!s_is_op(s_peek(p), ',')) {
                break;
            }
            s_next(p);
        }
        if (!s_expect_op(p, ']', "',' or ']'")) {
            return NULL;
        }
        return s_done(p, n, start);
    }
    if (s_is_op(t, '{')) {
        s_next(p);
        fl_tmpl_node_t *n = s_node(p, FL_TN_DICT, t);
        while (!p->failed && !s_is_op(s_peek(p), '}')) {
            fl_tmpl_node_t *k = s_expr(p);
            if (!k || !s_expect_op(p, ':', "':'")) {
                return NULL;
            }
            fl_tmpl_node_t *v = s_expr(p);
            if (!v) {
                return NULL;
            }
            s_add_kid(n, k);
            s_add_kid(n, v);
            if (!s_is_op(s_peek(p), ',')) {
                break;
            }
            s_next(p);
        }
        if (!s_expect_op(p, '}', "',' or '}'")) {
            return NULL;
        }
        return s_done(p, n, start);
    }
    return s_error(p, t->line, t->col, "expected an expression, got %s",
                   s_describe(t, buf, sizeof buf));
}

/*  One part of a slice: NULL (absent) when the next token ends it. */
static bool
s_slice_part(s_parser_t *p, fl_tmpl_node_t **out)
{
    const fl_tmpl_tok_t *t = s_peek(p);
    if (s_is_op(t, ':') || s_is_op(t, ']')) {
        *out = NULL;
        return true;
    }
    *out = s_expr(p);
    return *out != NULL;
}

static fl_tmpl_node_t *
s_postfix(s_parser_t *p, fl_tmpl_node_t *node, size_t start)
{
    while (node && !p->failed) {
        const fl_tmpl_tok_t *t = s_peek(p);
        if (s_is_op(t, '.')) {
            s_next(p);
            const fl_tmpl_tok_t *a = s_peek(p);
            if (a->type == FL_TT_NAME) {
                s_next(p);
                fl_tmpl_node_t *n = s_node(p, FL_TN_ATTR, a);
                n->a = node;
                n->str = fl_strdup(a->str);
                node = s_done(p, n, start);
            } else if (a->type == FL_TT_INT) {
                s_next(p);
                fl_tmpl_node_t *n = s_node(p, FL_TN_ITEM, a);
                n->a = node;
                n->b = s_done(p, s_const(p, a, json_integer(a->ival)), a->off);
                node = s_done(p, n, start);
            } else {
                return s_unexpected(p, a, "a name after '.'");
            }
        } else if (s_is_op(t, '[')) {
            s_next(p);
            fl_tmpl_node_t *lo, *hi = NULL, *step = NULL;
            if (!s_slice_part(p, &lo)) {
                return NULL;
            }
            if (s_is_op(s_peek(p), ':')) {
                s_next(p);
                if (!s_slice_part(p, &hi)) {
                    return NULL;
                }
                if (s_is_op(s_peek(p), ':')) {
                    s_next(p);
                    if (!s_slice_part(p, &step)) {
                        return NULL;
                    }
                }
                fl_tmpl_node_t *n = s_node(p, FL_TN_SLICE, t);
                n->a = node;
                n->b = lo;
                n->c = hi;
                n->d = step;
                if (!s_expect_op(p, ']', "']'")) {
                    return NULL;
                }
                node = s_done(p, n, start);
            } else {
                if (!lo) {
                    return s_unexpected(p, s_peek(p), "an index");
                }
                if (!s_expect_op(p, ']', "']'")) {
                    return NULL;
                }
                fl_tmpl_node_t *n = s_node(p, FL_TN_ITEM, t);
                n->a = node;
                n->b = lo;
                node = s_done(p, n, start);
            }
        } else if (s_is_op(t, '(')) {
            s_next(p);
            fl_tmpl_node_t *n = s_node(p, FL_TN_CALL, t);
            n->a = node;
            s_args(p, n);
            node = s_done(p, n, start);
        } else {
            break;
        }
    }
    return node;
}

/*  Can T start the single argument of a test written without parentheses
    (`x is divisibleby 3`)? */
static bool
s_starts_test_arg(const fl_tmpl_tok_t *t)
{
    if (t->type == FL_TT_NAME) {
        return !s_is_keyword(t);
    }
    return t->type == FL_TT_STRING || t->type == FL_TT_INT || t->type == FL_TT_FLOAT
           || s_is_op(t, '[') || s_is_op(t, '{');
}

static fl_tmpl_node_t *
s_filters(s_parser_t *p, fl_tmpl_node_t *node, size_t start)
{
    while (node && !p->failed) {
        const fl_tmpl_tok_t *t = s_peek(p);
        if (s_is_op(t, '|')) {
            s_next(p);
            const fl_tmpl_tok_t *f = s_peek(p);
            if (f->type != FL_TT_NAME) {
                return s_unexpected(p, f, "a filter name after '|'");
            }
            s_next(p);
            if (!fl_tmpl_filter_exists(f->str)) {
                return s_error(p, f->line, f->col, "unknown filter '%s'", f->str);
            }
            fl_tmpl_node_t *n = s_node(p, FL_TN_FILTER, f);
            n->a = node;
            n->str = fl_strdup(f->str);
            if (s_is_op(s_peek(p), '(')) {
                s_next(p);
                s_args(p, n);
            }
            node = s_done(p, n, start);
        } else if (s_is_name(t, "is")) {
            s_next(p);
            bool negated = false;
            if (s_is_name(s_peek(p), "not")) {
                s_next(p);
                negated = true;
            }
            const fl_tmpl_tok_t *f = s_peek(p);
            if (f->type != FL_TT_NAME) {
                return s_unexpected(p, f, "a test name after 'is'");
            }
            s_next(p);
            if (!fl_tmpl_test_exists(f->str)) {
                return s_error(p, f->line, f->col, "unknown test '%s'", f->str);
            }
            fl_tmpl_node_t *n = s_node(p, FL_TN_TEST, f);
            n->a = node;
            n->op = negated;
            n->str = fl_strdup(f->str);
            if (s_is_op(s_peek(p), '(')) {
                s_next(p);
                s_args(p, n);
            } else if (s_starts_test_arg(s_peek(p))) {
                size_t arg_start = s_peek(p)->off;
                if (!s_enter(p)) {
                    return NULL;
                }
                fl_tmpl_node_t *arg = s_postfix(p, s_primary(p), arg_start);
                s_leave(p);
                if (!arg) {
                    return NULL;
                }
                s_add_kid(n, arg);
                s_add_name(n, NULL);
            }
            node = s_done(p, n, start);
        } else {
            break;
        }
    }
    return node;
}

static fl_tmpl_node_t *
s_unary(s_parser_t *p, bool with_filter)
{
    const fl_tmpl_tok_t *t = s_peek(p);
    size_t start = t->off;
    fl_tmpl_node_t *node;
    if (s_is_op(t, '-') || s_is_op(t, '+')) {
        s_next(p);
        if (!s_enter(p)) {
            return NULL;
        }
        fl_tmpl_node_t *operand = s_unary(p, false);
        s_leave(p);
        if (!operand) {
            return NULL;
        }
        node = s_node(p, FL_TN_UNARY, t);
        node->op = t->op == '-' ? FL_OP_NEG : FL_OP_POS;
        node->a = operand;
        node = s_done(p, node, start);
    } else {
        node = s_primary(p);
    }
    node = s_postfix(p, node, start);
    if (with_filter) {
        node = s_filters(p, node, start);
    }
    return node;
}

static fl_tmpl_node_t *
s_binary(s_parser_t *p, fl_tmpl_node_t *left, const fl_tmpl_tok_t *op, fl_tmpl_node_t *right,
         size_t start)
{
    if (!left || !right) {
        return NULL;
    }
    fl_tmpl_node_t *n = s_node(p, FL_TN_BINARY, op);
    n->op = op->op;
    n->a = left;
    n->b = right;
    return s_done(p, n, start);
}

static fl_tmpl_node_t *
s_pow(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *left = s_unary(p, true);
    while (left && s_is_op(s_peek(p), FL_OP_POW)) {
        const fl_tmpl_tok_t *op = s_next(p);
        left = s_binary(p, left, op, s_unary(p, true), start);
    }
    return left;
}

static fl_tmpl_node_t *
s_math2(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *left = s_pow(p);
    while (left) {
        const fl_tmpl_tok_t *t = s_peek(p);
        if (!s_is_op(t, '*') && !s_is_op(t, '/') && !s_is_op(t, FL_OP_FLOORDIV)
            && !s_is_op(t, '%')) {
            break;
        }
        s_next(p);
        left = s_binary(p, left, t, s_pow(p), start);
    }
    return left;
}

static fl_tmpl_node_t *
s_concat(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *first = s_math2(p);
    if (!first || !s_is_op(s_peek(p), '~')) {
        return first;
    }
    fl_tmpl_node_t *n = s_node(p, FL_TN_CONCAT, s_peek(p));
    s_add_kid(n, first);
    while (s_is_op(s_peek(p), '~')) {
        s_next(p);
        fl_tmpl_node_t *k = s_math2(p);
        if (!k) {
            return NULL;
        }
        s_add_kid(n, k);
    }
    return s_done(p, n, start);
}

static fl_tmpl_node_t *
s_math1(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *left = s_concat(p);
    while (left && (s_is_op(s_peek(p), '+') || s_is_op(s_peek(p), '-'))) {
        const fl_tmpl_tok_t *op = s_next(p);
        left = s_binary(p, left, op, s_concat(p), start);
    }
    return left;
}

static fl_tmpl_node_t *
s_compare(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *first = s_math1(p);
    fl_tmpl_node_t *n = NULL;
    while (first && !p->failed) {
        const fl_tmpl_tok_t *t = s_peek(p);
        int op;
        if (t->type == FL_TT_OP
            && (t->op == FL_OP_EQ || t->op == FL_OP_NE || t->op == '<' || t->op == '>'
                || t->op == FL_OP_LE || t->op == FL_OP_GE)) {
            op = t->op;
            s_next(p);
        } else if (s_is_name(t, "in")) {
            op = FL_OP_IN;
            s_next(p);
        } else if (s_is_name(t, "not") && s_is_name(s_peek2(p), "in")) {
            op = FL_OP_NOT_IN;
            s_next(p);
            s_next(p);
        } else {
            break;
        }
        fl_tmpl_node_t *right = s_math1(p);
        if (!right) {
            return NULL;
        }
        if (!n) {
            n = s_node(p, FL_TN_COMPARE, t);
            n->a = first;
        }
        s_add_kid(n, right);
        n->ops = fl_realloc(n->ops, n->n_kids * sizeof *n->ops);
        n->ops[n->n_kids - 1] = op;
    }
    if (!first || p->failed) {
        return NULL;
    }
    return n ? s_done(p, n, start) : first;
}

static fl_tmpl_node_t *
s_not(s_parser_t *p)
{
    const fl_tmpl_tok_t *t = s_peek(p);
    if (!s_is_name(t, "not")) {
        return s_compare(p);
    }
    if (!s_enter(p)) {
        return NULL;
    }
    s_next(p);
    fl_tmpl_node_t *operand = s_not(p);
    s_leave(p);
    if (!operand) {
        return NULL;
    }
    fl_tmpl_node_t *n = s_node(p, FL_TN_UNARY, t);
    n->op = FL_OP_NOT;
    n->a = operand;
    return s_done(p, n, t->off);
}

static fl_tmpl_node_t *
s_and(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *left = s_not(p);
    while (left && s_is_name(s_peek(p), "and")) {
        const fl_tmpl_tok_t *op = s_next(p);
        fl_tmpl_node_t *right = s_not(p);
        if (!right) {
            return NULL;
        }
        fl_tmpl_node_t *n = s_node(p, FL_TN_AND, op);
        n->a = left;
        n->b = right;
        left = s_done(p, n, start);
    }
    return left;
}

static fl_tmpl_node_t *
s_or(s_parser_t *p)
{
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *left = s_and(p);
    while (left && s_is_name(s_peek(p), "or")) {
        const fl_tmpl_tok_t *op = s_next(p);
        fl_tmpl_node_t *right = s_and(p);
        if (!right) {
            return NULL;
        }
        fl_tmpl_node_t *n = s_node(p, FL_TN_OR, op);
        n->a = left;
        n->b = right;
        left = s_done(p, n, start);
    }
    return left;
}

/*  An expression without the inline if (a for loop's iterable). */
static fl_tmpl_node_t *
s_expr_nocond(s_parser_t *p)
{
    if (!s_enter(p)) {
        return NULL;
    }
    fl_tmpl_node_t *n = s_or(p);
    s_leave(p);
    return n;
}

static fl_tmpl_node_t *
s_expr(s_parser_t *p)
{
    if (!s_enter(p)) {
        return NULL;
    }
    size_t start = s_peek(p)->off;
    fl_tmpl_node_t *node = s_or(p);
    while (node && s_is_name(s_peek(p), "if")) {
        const fl_tmpl_tok_t *t = s_next(p);
        fl_tmpl_node_t *cond = s_or(p);
        if (!cond) {
            node = NULL;
            break;
        }
        fl_tmpl_node_t *other = NULL;
        if (s_is_name(s_peek(p), "else")) {
            s_next(p);
            other = s_expr(p);
            if (!other) {
                node = NULL;
                break;
            }
        }
        fl_tmpl_node_t *n = s_node(p, FL_TN_COND, t);
        n->a = cond;
        n->b = node;
        n->c = other;
        node = s_done(p, n, start);
    }
    s_leave(p);
    return node;
}

//  --------------------------------------------------------------------------
//  Statements

static fl_tmpl_node_t *s_body(s_parser_t *p, const char *const *ends, size_t n_ends);

static bool
s_push_block(s_parser_t *p, const char *kind, const fl_tmpl_tok_t *at)
{
    if (p->n_open >= FL_TMPL_MAX_DEPTH) {
        s_error(p, at->line, at->col, "blocks nested too deeply (limit %d)", FL_TMPL_MAX_DEPTH);
        return false;
    }
    p->open[p->n_open].kind = kind;
    p->open[p->n_open].line = at->line;
    p->open[p->n_open].col = at->col;
    p->n_open++;
    return true;
}

/*  After a body that stopped at EOF or at one of its end tags: the name
    token of that tag, or an error for an unclosed block. */
static const fl_tmpl_tok_t *
s_end_tag(s_parser_t *p, const char *kind, const fl_tmpl_tok_t *opened, const char *wanted)
{
    if (p->failed) {
        return NULL;
    }
    if (s_peek(p)->type == FL_TT_EOF) {
        return s_error(p, opened->line, opened->col,
                       "unclosed {%% %s %%}: expected %s before the end of the template", kind,
                       wanted);
    }
    s_next(p);  /* {% */
    return s_next(p);
}

/*  Names separated by commas (for and set targets). */
static bool
s_targets(s_parser_t *p, fl_tmpl_node_t *n, const char *what)
{
    for (;;) {
        const fl_tmpl_tok_t *t = s_peek(p);
        if (t->type != FL_TT_NAME || s_is_keyword(t)) {
            s_unexpected(p, t, what);
            return false;
        }
        if (!strcmp(t->str, "loop") || !strcmp(t->str, "true") || !strcmp(t->str, "false")
            || !strcmp(t->str, "none") || !strcmp(t->str, "True") || !strcmp(t->str, "False")
            || !strcmp(t->str, "None")) {
            s_error(p, t->line, t->col, "cannot assign to '%s'", t->str);
            return false;
        }
        s_next(p);
        s_add_name(n, t->str);
        if (!s_is_op(s_peek(p), ',')) {
            return true;
        }
        s_next(p);
    }
}

static fl_tmpl_node_t *
s_if(s_parser_t *p, const fl_tmpl_tok_t *tag)
{
    static const char *const ends[] = { "elif", "else", "endif" };
    static const char *const else_ends[] = { "endif" };
    fl_tmpl_node_t *top = s_node(p, FL_TN_IF, tag);
    fl_tmpl_node_t *cur = top;
    if (!s_push_block(p, "if", tag)) {
        return NULL;
    }
    for (;;) {
        cur->a = s_expr(p);
        if (!cur->a || !s_expect_type(p, FL_TT_BLOCK_END, "'%}'")) {
            return NULL;
        }
        cur->b = s_body(p, ends, FL_ARRAY_LEN(ends));
        const fl_tmpl_tok_t *end = s_end_tag(p, "if", tag, "{% endif %}");
        if (!end) {
            return NULL;
        }
        if (!strcmp(end->str, "elif")) {
            fl_tmpl_node_t *next = s_node(p, FL_TN_IF, end);
            cur->c = next;
            cur = next;
            continue;
        }
        if (!strcmp(end->str, "else")) {
            if (!s_expect_type(p, FL_TT_BLOCK_END, "'%}'")) {
                return NULL;
            }
            cur->c = s_body(p, else_ends, 1);
            end = s_end_tag(p, "if", tag, "{% endif %}");
            if (!end) {
                return NULL;
            }
        }
        break;
    }
    p->n_open--;
    return s_expect_type(p, FL_TT_BLOCK_END, "'%}'") ? top : NULL;
}

static fl_tmpl_node_t *
s_for(s_parser_t *p, const fl_tmpl_tok_t *tag)
{
    static const char *const ends[] = { "else", "endfor" };
    static const char *const else_ends[] = { "endfor" };
    fl_tmpl_node_t *n = s_node(p, FL_TN_FOR, tag);
    if (!s_targets(p, n, "a loop variable")) {
        return NULL;
    }
    if (!s_is_name(s_peek(p), "in")) {
        return s_unexpected(p, s_peek(p), "'in'");
    }
    s_next(p);
    n->a = s_expr_nocond(p);
    if (!n->a) {
        return NULL;
    }
    if (s_is_name(s_peek(p), "if")) {
        s_next(p);
        n->d = s_expr(p);
        if (!n->d) {
            return NULL;
        }
    }
    if (s_is_name(s_peek(p), "recursive")) {
        const fl_tmpl_tok_t *t = s_peek(p);
        return s_error(p, t->line, t->col, "recursive loops are not supported");
    }
    if (!s_expect_type(p, FL_TT_BLOCK_END, "'%}'") || !s_push_block(p, "for", tag)) {
        return NULL;
    }
    p->loops++;
    n->b = s_body(p, ends, FL_ARRAY_LEN(ends));
    p->loops--;
    const fl_tmpl_tok_t *end = s_end_tag(p, "for", tag, "{% endfor %}");
    if (!end) {
        return NULL;
    }
    if (!strcmp(end->str, "else")) {
        if (!s_expect_type(p, FL_TT_BLOCK_END, "'%}'")) {
            return NULL;
        }
        n->c = s_body(p, else_ends, 1);
        if (!s_end_tag(p, "for", tag, "{% endfor %}")) {
            return NULL;
        }
    }
    p->n_open--;
    return s_expect_type(p, FL_TT_BLOCK_END, "'%}'") ? n : NULL;
}

static fl_tmpl_node_t *
s_set(s_parser_t *p, const fl_tmpl_tok_t *tag)
{
    static const char *const ends[] = { "endset" };
    fl_tmpl_node_t *n = s_node(p, FL_TN_SET, tag);
    if (!s_targets(p, n, "a variable name")) {
        return NULL;
    }
    if (s_peek(p)->type == FL_TT_BLOCK_END && n->n_names == 1) {
        /* {% set x %}...{% endset %} */
        s_next(p);
        n->kind = FL_TN_SET_BLOCK;
        if (!s_push_block(p, "set", tag)) {
            return NULL;
        }
        n->b = s_body(p, ends, 1);
        if (!s_end_tag(p, "set", tag, "{% endset %}")) {
            return NULL;
        }
        p->n_open--;
        return s_expect_type(p, FL_TT_BLOCK_END, "'%}'") ? n : NULL;
    }
    if (!s_expect_op(p, '=', "'='")) {
        return NULL;
    }
    size_t start = s_peek(p)->off;
    const fl_tmpl_tok_t *first = s_peek(p);
    fl_tmpl_node_t *v = s_expr(p);
    if (v && s_is_op(s_peek(p), ',')) {
        /* {% set x = 1, 2 %}: a tuple */
        fl_tmpl_node_t *list = s_node(p, FL_TN_LIST, first);
        s_add_kid(list, v);
        while (!p->failed && s_is_op(s_peek(p), ',')) {
            s_next(p);
            if (s_peek(p)->type == FL_TT_BLOCK_END) {
                break;
            }
            fl_tmpl_node_t *k = s_expr(p);
            if (!k) {
                return NULL;
            }
            s_add_kid(list, k);
        }
        v = s_done(p, list, start);
    }
    n->a = v;
    if (!v || !s_expect_type(p, FL_TT_BLOCK_END, "'%}'")) {
        return NULL;
    }
    return n;
}

/*  The statement after "{%" and its tag name T. */
static fl_tmpl_node_t *
s_statement(s_parser_t *p, const fl_tmpl_tok_t *t)
{
    static const char *const unsupported[] = {
        "include", "import", "from", "extends", "block", "macro", "call", "filter",
        "with", "do", "autoescape", "trans", "load_yaml", "load_json", "load_text",
        "import_yaml", "import_json", "import_text", "profile",
    };
    static const char *const closers[] = {
        "elif", "else", "endif", "endfor", "endset", "endraw", "endblock", "endmacro",
        "endcall", "endfilter", "endwith", "endautoescape",
    };
    const char *name = t->str;
    if (!strcmp(name, "if")) {
        return s_if(p, t);
    }
    if (!strcmp(name, "for")) {
        return s_for(p, t);
    }
    if (!strcmp(name, "set")) {
        return s_set(p, t);
    }
    if (!strcmp(name, "break") || !strcmp(name, "continue")) {
        if (p->loops == 0) {
            return s_error(p, t->line, t->col, "{%% %s %%} outside a loop", name);
        }
        fl_tmpl_node_t *n = s_node(p, name[0] == 'b' ? FL_TN_BREAK : FL_TN_CONTINUE, t);
        return s_expect_type(p, FL_TT_BLOCK_END, "'%}'") ? n : NULL;
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(unsupported); i++) {
        if (!strcmp(name, unsupported[i])) {
            return s_error(p, t->line, t->col, "unsupported tag '%s'", name);
        }
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(closers); i++) {
        if (!strcmp(name, closers[i])) {
            if (p->n_open == 0) {
                return s_error(p, t->line, t->col, "unexpected {%% %s %%}: no block is open",
                               name);
            }
            const s_open_t *o = &p->open[p->n_open - 1];
            return s_error(p, t->line, t->col,
                           "unexpected {%% %s %%}: the innermost open block is '%s' (line %d)",
                           name, o->kind, o->line);
        }
    }
    return s_error(p, t->line, t->col, "unknown tag '%s'", name);
}

/*  Statements until the end of the template or a block tag named in ENDS
    (the parser then stands on its "{%"). */
static fl_tmpl_node_t *
s_body(s_parser_t *p, const char *const *ends, size_t n_ends)
{
    fl_tmpl_node_t *body = s_node(p, FL_TN_BODY, s_peek(p));
    while (!p->failed) {
        const fl_tmpl_tok_t *t = s_peek(p);
        if (t->type == FL_TT_EOF) {
            break;
        }
        if (t->type == FL_TT_TEXT) {
            s_next(p);
            fl_tmpl_node_t *n = s_node(p, FL_TN_TEXT, t);
            n->text = p->src + t->off;
            n->len = t->len;
            s_add_kid(body, n);
        } else if (t->type == FL_TT_VAR_BEGIN) {
            s_next(p);
            fl_tmpl_node_t *e = s_expr(p);
            if (!e || !s_expect_type(p, FL_TT_VAR_END, "'}}'")) {
                return NULL;
            }
            fl_tmpl_node_t *n = s_node(p, FL_TN_OUTPUT, t);
            n->a = e;
            s_add_kid(body, n);
        } else if (t->type == FL_TT_BLOCK_BEGIN) {
            const fl_tmpl_tok_t *name = s_peek2(p);
            if (name->type != FL_TT_NAME) {
                return s_unexpected(p, name, "a tag name after '{%'");
            }
            for (size_t i = 0; i < n_ends; i++) {
                if (!strcmp(name->str, ends[i])) {
                    return body;
                }
            }
            s_next(p);
            s_next(p);
            fl_tmpl_node_t *n = s_statement(p, name);
            if (!n) {
                return NULL;
            }
            s_add_kid(body, n);
        } else {
            char buf[64];
            return s_error(p, t->line, t->col, "unexpected %s", s_describe(t, buf, sizeof buf));
        }
    }
    return p->failed ? NULL : body;
}

static void
s_free_nodes(fl_tmpl_node_t *all)
{
    while (all) {
        fl_tmpl_node_t *next = all->next_alloc;
        free(all->str);
        json_decref(all->value);
        free(all->kids);
        for (size_t i = 0; i < all->n_names; i++) {
            free(all->names[i]);
        }
        free(all->names);
        free(all->ops);
        free(all);
        all = next;
    }
}

fl_tmpl_doc_t *
fl_tmpl_parse_run(const char *name, const char *src, fl_diag_t *diag)
{
    size_t count = 0;
    fl_tmpl_tok_t *toks = fl_tmpl_lex_run(name, src, &count, diag);
    if (!toks) {
        return NULL;
    }
    s_parser_t p = { .name = name, .src = src, .toks = toks, .count = count, .diag = diag };
    fl_tmpl_node_t *root = s_body(&p, NULL, 0);
    if (root && s_peek(&p)->type != FL_TT_EOF) {
        s_unexpected(&p, s_peek(&p), "the end of the template");
        root = NULL;
    }
    fl_tmpl_lex_free(toks, count);
    if (!root || p.failed) {
        s_free_nodes(p.all);
        return NULL;
    }
    fl_tmpl_doc_t *doc = fl_calloc(1, sizeof *doc);
    doc->name = name;
    doc->src = src;
    doc->root = root;
    doc->all = p.all;
    return doc;
}

void
fl_tmpl_parse_free(fl_tmpl_doc_t **doc_p)
{
    if (!doc_p || !*doc_p) {
        return;
    }
    s_free_nodes((*doc_p)->all);
    free(*doc_p);
    *doc_p = NULL;
}
