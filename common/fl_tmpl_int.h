/*  fl_tmpl_int.h: private to the template engine (fl_tmpl*.c).

    The engine runs in three steps:
      fl_tmpl_lex.c    source text -> tokens, each with line and column;
                       comments, {% raw %} and whitespace control are done
                       here, so the parser sees only text and tag tokens.
      fl_tmpl_parse.c  tokens -> a tree of nodes (statements and
                       expressions), checking every name of a filter or
                       test and the nesting limits.
      fl_tmpl_eval.c   the tree + a JSON context -> text: statements,
                       names, lookups, scopes, limits.
    and the evaluator leans on:
      fl_tmpl_ops.c    Python's operators (+ - * / // % ** == < in ...);
      fl_tmpl_call.c   argument binding, methods (dict.get, str.split ...),
                       range(), dict(), salt['pillar.get'] and friends;
      fl_tmpl_filter.c the filters and tests;
      fl_tmpl_fmt.c    values printed as Python prints them (str, repr),
                       and the json and yaml filters' output;
      fl_tmpl_text.c   the capped string buffer, UTF-8, string operations.
    Values are jansson values throughout; NULL stands for "undefined". */
#ifndef FL_TMPL_INT_H
#define FL_TMPL_INT_H

#include "fl_diag.h"

#include <jansson.h>

/*  Limits (see fl_tmpl.h). */
#define FL_TMPL_MAX_OUTPUT (16u * 1024 * 1024)  /* bytes of output and of any string */
#define FL_TMPL_MAX_ITERATIONS 1000000          /* loop iterations in one render */
#define FL_TMPL_MAX_DEPTH 64                    /* nested blocks; nested expressions */
#define FL_TMPL_MAX_STEPS 50000000u             /* evaluation work in one render */
#define FL_TMPL_MAX_ITEMS 1000000u              /* items in a list built by a template */
#define FL_TMPL_MAX_VALUE_DEPTH 200             /* nesting of a value a template builds */
#define FL_TMPL_MAX_RANGE 100000                /* items from range(), as Jinja's sandbox */

/*  Steps charged for building new values: they bound memory as well as
    time (FL_TMPL_MAX_STEPS of them allow at most ~200 MB of new strings or
    list slots in one render). */
#define FL_TMPL_BYTE_STEPS(n) ((uint64_t) (n) / 4)
#define FL_TMPL_ITEM_STEPS(n) ((uint64_t) (n) * 2)

/*  A growing string capped at FL_TMPL_MAX_OUTPUT; once over the cap it
    stops growing and sets overflow.  too_deep is set when a value being
    formatted is nested too deeply. */
typedef struct {
    char *data;
    size_t len, cap;
    bool overflow;
    bool too_deep;
} fl_tmpl_buf_t;

//  --------------------------------------------------------------------------
//  Tokens

typedef enum {
    FL_TT_EOF = 0,
    FL_TT_TEXT,         /* literal text: src[off..off+len) */
    FL_TT_VAR_BEGIN,    /* {{ */
    FL_TT_VAR_END,      /* }} */
    FL_TT_BLOCK_BEGIN,  /* {% */
    FL_TT_BLOCK_END,    /* %} */
    FL_TT_NAME,
    FL_TT_INT,
    FL_TT_FLOAT,
    FL_TT_STRING,       /* decoded into str/slen */
    FL_TT_OP            /* op: a character, or one of FL_OP_* */
} fl_tmpl_tok_type_t;

/*  Operators of more than one character (single ones use their character). */
enum {
    FL_OP_EQ = 256,     /* == */
    FL_OP_NE,           /* != */
    FL_OP_LE,           /* <= */
    FL_OP_GE,           /* >= */
    FL_OP_FLOORDIV,     /* // */
    FL_OP_POW,          /* ** */
    FL_OP_IN,           /* in (comparisons) */
    FL_OP_NOT_IN,       /* not in */
    FL_OP_NEG,          /* unary - */
    FL_OP_POS,          /* unary + */
    FL_OP_NOT           /* not */
};

typedef struct {
    fl_tmpl_tok_type_t type;
    int op;
    int line, col;          /* 1-based; col counts characters */
    size_t off, len;        /* span in the source */
    char *str;              /* STRING: decoded text (owned); NAME: a copy */
    size_t slen;
    json_int_t ival;
    double fval;
} fl_tmpl_tok_t;

/*  Tokenizes SRC (named NAME).  Returns the tokens (ending with FL_TT_EOF)
    and their count, or NULL after adding the error to DIAG. */
fl_tmpl_tok_t *fl_tmpl_lex_run(const char *name, const char *src, size_t *count,
                               fl_diag_t *diag);
void fl_tmpl_lex_free(fl_tmpl_tok_t *toks, size_t count);

//  --------------------------------------------------------------------------
//  The tree

typedef enum {
    /* statements */
    FL_TN_BODY,         /* kids: statements */
    FL_TN_TEXT,         /* text/len: points into the source */
    FL_TN_OUTPUT,       /* {{ a }} */
    FL_TN_IF,           /* if a: b (BODY) else c (BODY or IF for elif, or NULL) */
    FL_TN_FOR,          /* for names in a [if d]: b else c */
    FL_TN_SET,          /* set names = a */
    FL_TN_SET_BLOCK,    /* set names[0]: b (BODY) endset */
    FL_TN_BREAK,
    FL_TN_CONTINUE,
    /* expressions */
    FL_TN_CONST,        /* value */
    FL_TN_NAME,         /* str */
    FL_TN_LIST,         /* kids */
    FL_TN_DICT,         /* kids: key, value, key, value ... */
    FL_TN_ATTR,         /* a.str */
    FL_TN_ITEM,         /* a[b] */
    FL_TN_SLICE,        /* a[b:c:d], each of b, c, d may be NULL */
    FL_TN_CALL,         /* a(kids), names[i] non-NULL for keyword arguments */
    FL_TN_FILTER,       /* a | str(kids) */
    FL_TN_TEST,         /* a is [not] str(kids); op = 1 when negated */
    FL_TN_UNARY,        /* op a: FL_OP_NEG, FL_OP_POS, FL_OP_NOT */
    FL_TN_BINARY,       /* a op b: + - * / // % ** */
    FL_TN_CONCAT,       /* kids joined by ~ */
    FL_TN_COMPARE,      /* a ops[0] kids[0] ops[1] kids[1] ... */
    FL_TN_AND,          /* a and b */
    FL_TN_OR,           /* a or b */
    FL_TN_COND          /* b if a else c (c may be NULL) */
} fl_tmpl_kind_t;

typedef struct fl_tmpl_node fl_tmpl_node_t;
struct fl_tmpl_node {
    fl_tmpl_kind_t kind;
    int op;
    int line, col;              /* position of the most telling token */
    int height;                 /* expressions: 1 + tallest child */
    size_t src_off, src_len;    /* expressions: span in the source */
    const char *text;           /* TEXT */
    size_t len;
    char *str;                  /* owned */
    json_t *value;              /* CONST, owned */
    fl_tmpl_node_t *a, *b, *c, *d;
    fl_tmpl_node_t **kids;
    size_t n_kids;
    char **names;               /* owned; n_kids of them for CALL/FILTER/TEST */
    size_t n_names;
    int *ops;                   /* COMPARE: n_kids operators */
    fl_tmpl_node_t *next_alloc; /* every node of a document, for freeing */
};

typedef struct {
    const char *name;
    const char *src;
    fl_tmpl_node_t *root;       /* a BODY */
    fl_tmpl_node_t *all;
} fl_tmpl_doc_t;

/*  Parses SRC; NULL after adding the error to DIAG. */
fl_tmpl_doc_t *fl_tmpl_parse_run(const char *name, const char *src, fl_diag_t *diag);
void fl_tmpl_parse_free(fl_tmpl_doc_t **doc_p);

//  --------------------------------------------------------------------------
//  Evaluation

typedef struct fl_tmpl_eval fl_tmpl_eval_t;

/*  Renders DOC with CONTEXT; the output (caller frees) or NULL after adding
    the error to DIAG. */
char *fl_tmpl_eval_run(const fl_tmpl_doc_t *doc, const json_t *context, fl_diag_t *diag);

/*  Reports an error at NODE and marks the evaluation failed; returns NULL. */
void *fl_tmpl_eval_error(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *fmt, ...)
    FL_PRINTF(3, 4);
/*  The value of an expression: a new reference, or NULL when it is
    undefined (fl_tmpl_eval_undefined says why) or an error was reported. */
json_t *fl_tmpl_eval_expr(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node);
/*  As eval_expr, but an undefined value is an error. */
json_t *fl_tmpl_eval_defined(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node);
/*  True when the last NULL came from an error rather than an undefined value. */
bool fl_tmpl_eval_failed(const fl_tmpl_eval_t *ev);
/*  Records that the value being returned is undefined, and why. */
void *fl_tmpl_eval_undefined(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *fmt, ...)
    FL_PRINTF(3, 4);
/*  Reports the last undefined value as an error (unless one was reported
    already); returns NULL. */
void *fl_tmpl_eval_raise_undefined(fl_tmpl_eval_t *ev);
/*  Forgets the reason of the last undefined value (it was accepted). */
void fl_tmpl_eval_forget_undefined(fl_tmpl_eval_t *ev);
/*  Counts STEPS units of work; -1 (after reporting at NODE) past the budget. */
int fl_tmpl_eval_charge(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, uint64_t steps);
/*  The source text of an expression, shortened for messages (static buffer
    inside EV, valid until the next call). */
const char *fl_tmpl_eval_src(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node);
/*  True when NAME is a variable (in a frame or the context). */
bool fl_tmpl_eval_has_name(const fl_tmpl_eval_t *ev, const char *name);
/*  The pillar and grains objects of the context (NULL when absent). */
const json_t *fl_tmpl_eval_pillar(const fl_tmpl_eval_t *ev);
const json_t *fl_tmpl_eval_grains(const fl_tmpl_eval_t *ev);
/*  The depth of V (a scalar is 1), counting the work; stops past LIMIT. */
int fl_tmpl_eval_depth(fl_tmpl_eval_t *ev, const json_t *v, int limit);
/*  Python's arithmetic OP (+ - * / FL_OP_FLOORDIV % FL_OP_POW) on A and
    B; NULL after reporting at NODE. */
json_t *fl_tmpl_ops_arith(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, int op, const json_t *a,
                          const json_t *b);
/*  `needle in hay`: 1, 0, or -1 after reporting. */
int fl_tmpl_ops_contains(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *needle,
                         const json_t *hay);
/*  Python's == and <, as Jinja compares: numbers by value (booleans are
    numbers), strings by code point, lists item by item.  cmp returns -1
    (a < b), 0, 1, or -2 after reporting that the types cannot be ordered. */
bool fl_tmpl_equal(const json_t *a, const json_t *b, int depth);
int fl_tmpl_compare(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *a,
                    const json_t *b, int depth);
/*  C's trunc(), without libm. */
double fl_tmpl_trunc(double d);
/*  Python's truth value. */
bool fl_tmpl_truthy(const json_t *v);
/*  Python's type name of V ("str", "int", "dict" ...). */
const char *fl_tmpl_type_name(const json_t *v);

/*  New string values (never NULL: jansson fails only when out of memory). */
json_t *fl_tmpl_str(const char *s, size_t len);
/*  Appends V to array A, taking the reference. */
void fl_tmpl_append(json_t *a, json_t *v);
/*  Sets KEY in object O, taking the reference. */
void fl_tmpl_set(json_t *o, const char *key, json_t *v);

//  --------------------------------------------------------------------------
//  Calls, filters, tests (fl_tmpl_call.c, fl_tmpl_filter.c)

#define FL_TMPL_MAX_PARAMS 4

/*  A signature: what is called (for messages), its parameters
    (NULL-terminated) and how many of them are required. */
typedef struct {
    const char *what;       /* "filter", "method" ... */
    const char *name;
    const char *params[FL_TMPL_MAX_PARAMS];
    size_t required;
} fl_tmpl_sig_t;

/*  Evaluates the arguments of NODE (its kids; names[i] for keywords) into
    ARGS[FL_TMPL_MAX_PARAMS] by SIG, NULL where absent; -1 after reporting. */
int fl_tmpl_call_bind(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const fl_tmpl_sig_t *sig,
                      json_t **args);
void fl_tmpl_call_release(json_t **args, size_t n);
/*  The text in B as a string value (B is emptied); NULL after reporting a
    limit. */
json_t *fl_tmpl_call_value(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, fl_tmpl_buf_t *b);
/*  Appends str(V) to B; -1 after reporting. */
int fl_tmpl_call_text(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v,
                      fl_tmpl_buf_t *b);
/*  Checks an argument's type; -1 after reporting. */
int fl_tmpl_call_int_arg(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v,
                         const char *what, json_int_t *out);
int fl_tmpl_call_str_arg(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v,
                         const char *what);
/*  What iterating V gives (a list; dict keys; characters) as a list; NULL
    after reporting when V cannot be iterated. */
json_t *fl_tmpl_call_items(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *v);
/*  Python's S.replace(OLD, NEW, COUNT), COUNT < 0 for all. */
json_t *fl_tmpl_call_replace(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const char *s,
                             size_t len, const json_t *old, const json_t *new, json_int_t count);
/*  A call: methods, globals, salt[...]. */
json_t *fl_tmpl_call(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node);

bool fl_tmpl_filter_exists(const char *name);
bool fl_tmpl_test_exists(const char *name);
json_t *fl_tmpl_call_filter(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node);
/*  1 true, 0 false, -1 error. */
int fl_tmpl_call_test(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node);

//  --------------------------------------------------------------------------
//  Text (fl_tmpl_text.c) and formatting (fl_tmpl_fmt.c)


void fl_tmpl_buf_add(fl_tmpl_buf_t *b, const char *s, size_t n);
void fl_tmpl_buf_addc(fl_tmpl_buf_t *b, char c);
void fl_tmpl_buf_addf(fl_tmpl_buf_t *b, const char *fmt, ...) FL_PRINTF(2, 3);
/*  Appends code point CP as UTF-8. */
void fl_tmpl_buf_add_cp(fl_tmpl_buf_t *b, uint32_t cp);
void fl_tmpl_buf_free(fl_tmpl_buf_t *b);
/*  Takes the text (NUL-terminated; caller frees) and empties B. */
char *fl_tmpl_buf_take(fl_tmpl_buf_t *b);

/*  The code point at S[*I]; advances *I.  A byte that does not start valid
    UTF-8 is one character, U+DC00 + the byte (Python's surrogateescape),
    so it is escaped wherever text is quoted. */
uint32_t fl_tmpl_utf8_next(const char *s, size_t len, size_t *i);
/*  Python's str.isspace() for one character. */
bool fl_tmpl_is_space(uint32_t c);
/*  Characters in S. */
size_t fl_tmpl_utf8_count(const char *s, size_t len);

/*  Case of one character (ASCII, Latin-1, Greek, Cyrillic). */
uint32_t fl_tmpl_text_lower_cp(uint32_t c);
uint32_t fl_tmpl_text_upper_cp(uint32_t c);
/*  Appends S in lower ('l'), upper ('u') or capitalized ('c') case. */
void fl_tmpl_text_case(fl_tmpl_buf_t *b, const char *s, size_t len, char mode);
/*  Python's strip (WHICH 'l', 'r', 'b'oth) of CHARS, or of whitespace when
    CHARS is NULL; a new string value. */
json_t *fl_tmpl_text_strip(const char *s, size_t len, const json_t *chars, char which);
/*  Python's int(s, base) and float(s) of text; false when they fail. */
bool fl_tmpl_text_parse_int(const char *s, size_t len, int base, json_int_t *out);
bool fl_tmpl_text_parse_float(const char *s, size_t len, double *out);

/*  Python's repr() of a float, e.g. 1.5, 2.0, 1e+16, 1e-05. */
void fl_tmpl_fmt_float(double d, char *out, size_t size);
/*  Python's str() and repr() of V. */
void fl_tmpl_fmt_str(fl_tmpl_buf_t *b, const json_t *v);
void fl_tmpl_fmt_repr(fl_tmpl_buf_t *b, const json_t *v, int depth);
/*  json.dumps(v, sort_keys=True) as Salt's json filter; HTMLSAFE also
    escapes < > & ' as Jinja's tojson does. */
void fl_tmpl_fmt_json(fl_tmpl_buf_t *b, const json_t *v, bool htmlsafe);
/*  The yaml filter: Salt's yaml.safe_dump(v, default_flow_style=FLOW)
    with the trailing newline and document end marker removed. */
void fl_tmpl_fmt_yaml(fl_tmpl_buf_t *b, const json_t *v, bool flow);

#endif
