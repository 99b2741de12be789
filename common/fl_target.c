/*  fl_target.c: Salt's targeting syntax, compiled once into a small tree
    and matched against many minions.

    Why a tree and not Salt's approach: Salt's compound matcher turns each
    word into "True"/"False" and eval()s the joined string on every minion,
    so a syntax error surfaces as a silent non-match.  Here the master
    compiles the target before anything is sent, every syntax error lands
    in the diag list with its column, and matching a minion walks the tree
    without parsing or allocating.

    Compound grammar (not binds tighter than and, and tighter than or):

        or   := and ('or' and)*
        and  := not (('and' | <implicit before 'not'>) not)*
        not  := 'not' not | primary
        primary := '(' or ')' | TERM

    Words are split on whitespace as Salt does.  Salt needs spaces around
    parentheses; we also split leading '(' off a word, and trailing ')'
    when the word has more ')' than '(' (so "E@web(1|2)" keeps its group).
    As in Salt, "a not b" means "a and not b".

    Grain terms follow Salt's subdict_match: for 'a:b:c' every prefix that
    exists in the grains is tried as the key ("a:b" then "a") with the rest
    as the value; a list grain matches when any element matches (a dict
    element is searched with the rest as KEY:VALUE), a dict matches '*' or
    one of its keys.  Values are compared by their Python text (True, None,
    4, 7.5) and, as Salt lowercases both sides, case-insensitively. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* FNM_CASEFOLD, strnlen; the Makefile defines it too */
#endif
#include "fl_target.h"

#include <assert.h>
#include <fnmatch.h>
#include <regex.h>

#define FL_TGT_FILE "<target>"
#define FL_TGT_MAX_LEN 4096         /* bytes of target text */
#define FL_TGT_MAX_DEPTH 64         /* nested parentheses and 'not's */
#define FL_TGT_MAX_KEY_DEPTH 16     /* ':' that may end a grain key */
#define FL_TGT_MAX_REGEX_NODES 20000 /* estimated regcomp work, for all */
#define FL_TGT_MAX_REGEX_LOOPS 2000  /* the regexes of one target */
#define FL_TGT_MAX_ERRORS 20        /* diag items from one target */

#define FL_GLOB_ID_FLAGS FNM_NOESCAPE /* Python's fnmatch has no escapes */
#define FL_GLOB_GRAIN_FLAGS (FNM_NOESCAPE | FNM_CASEFOLD)

typedef enum {
    S_GLOB,
    S_LIST,
    S_GRAIN,
    S_GRAIN_PCRE,
    S_PCRE,
    S_AND,
    S_OR,
    S_NOT
} s_kind_t;

typedef struct s_node s_node_t;
struct s_node {
    s_kind_t kind;
    char *text;                             /* glob; grain KEY:VALUE */
    char **items;                           /* list ids */
    size_t n_items;
    size_t colons[FL_TGT_MAX_KEY_DEPTH];    /* offsets in text of ':' that may end a key */
    size_t n_colons;
    regex_t *re[FL_TGT_MAX_KEY_DEPTH];      /* pcre: re[0]; grain_pcre: per colon, or NULL */
    s_node_t **kids;                        /* and, or: n_kids >= 2; not: 1 */
    size_t n_kids;
};

struct fl_target {
    fl_tgt_type_t type;
    s_node_t *root;
    bool exact;
};

static const char *s_type_names[] = {
    [FL_TGT_GLOB] = "glob",
    [FL_TGT_LIST] = "list",
    [FL_TGT_GRAIN] = "grain",
    [FL_TGT_GRAIN_PCRE] = "grain_pcre",
    [FL_TGT_PCRE] = "pcre",
    [FL_TGT_COMPOUND] = "compound",
};

int
fl_tgt_type_parse(const char *name, fl_tgt_type_t *out)
{
    if (!name) {
        return -1;
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(s_type_names); i++) {
        if (strcmp(name, s_type_names[i]) == 0) {
            if (out) {
                *out = (fl_tgt_type_t) i;
            }
            return 0;
        }
    }
    return -1;
}

const char *
fl_tgt_type_name(fl_tgt_type_t type)
{
    if ((size_t) type >= FL_ARRAY_LEN(s_type_names)) {
        return "unknown";
    }
    return s_type_names[type];
}

//  --------------------------------------------------------------------------
//  Nodes

static s_node_t *
s_node_new(s_kind_t kind)
{
    s_node_t *self = fl_calloc(1, sizeof(*self));
    self->kind = kind;
    return self;
}

static void
s_node_destroy(s_node_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    s_node_t *self = *self_p;
    free(self->text);
    for (size_t i = 0; i < self->n_items; i++) {
        free(self->items[i]);
    }
    free(self->items);
    for (size_t i = 0; i < FL_TGT_MAX_KEY_DEPTH; i++) {
        if (self->re[i]) {
            regfree(self->re[i]);
            free(self->re[i]);
        }
    }
    for (size_t i = 0; i < self->n_kids; i++) {
        s_node_destroy(&self->kids[i]);
    }
    free(self->kids);
    free(self);
    *self_p = NULL;
}

static void
s_node_add_kid(s_node_t *self, s_node_t *kid)
{
    self->kids = fl_realloc(self->kids, (self->n_kids + 1) * sizeof(*self->kids));
    self->kids[self->n_kids++] = kid;
}

//  --------------------------------------------------------------------------
//  Parser state and errors

//  What regcomp will spend on a pattern, estimated.
typedef struct {
    size_t nodes;   /* atoms once counted repetitions are expanded */
    size_t loops;   /* repetition operators, weighted by their nesting */
} s_cost_t;

typedef enum { T_WORD, T_AND, T_OR, T_NOT, T_LPAREN, T_RPAREN, T_END } s_tok_kind_t;

typedef struct {
    s_tok_kind_t kind;
    const char *p;  /* into the target text */
    size_t len;
    int col;        /* 1-based */
} s_token_t;

typedef struct {
    const char *src;
    fl_diag_t *diag;
    int errors;
    s_token_t *tokens;
    size_t n_tokens;
    size_t pos;
    int depth;
    s_cost_t regex_cost;    /* of all the regexes compiled so far */
} s_parser_t;

static void
s_error(s_parser_t *p, int col, const char *hint, const char *fmt, ...) FL_PRINTF(4, 5);

static void
s_error(s_parser_t *p, int col, const char *hint, const char *fmt, ...)
{
    p->errors++;
    if (!p->diag || p->errors > FL_TGT_MAX_ERRORS) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    fl_diag_add(p->diag, FL_TGT_FILE, 1, col, FL_DIAG_ERROR, hint, "%s", msg);
    free(msg);
}

static bool
s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
s_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

//  --------------------------------------------------------------------------
//  Regular expressions

static size_t
s_sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t
s_sat_mul(size_t a, size_t b)
{
    return (b != 0 && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

//  Returns the end of the bracket expression that starts at S ('['): just
//  past its ']', or the end of the string when it is not closed.
static const char *
s_bracket_end(const char *s)
{
    assert(*s == '[');
    s++;
    if (*s == '^') {
        s++;
    }
    if (*s == ']') {
        s++;
    }
    while (*s && *s != ']') {
        if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
            char close = s[1];
            const char *e = s + 2;
            while (*e && !(e[0] == close && e[1] == ']')) {
                e++;
            }
            if (!*e) {
                return e;
            }
            s = e + 2;
        } else {
            s++;
        }
    }
    return *s ? s + 1 : s;
}

static size_t
s_read_count(const char **s_p)
{
    size_t n = 0;
    const char *s = *s_p;
    while (s_is_digit(*s)) {
        n = s_sat_add(s_sat_mul(n, 10), (size_t) (*s - '0'));
        s++;
    }
    *s_p = s;
    return n;
}

static void
s_cost_add(s_cost_t *a, s_cost_t b)
{
    a->nodes = s_sat_add(a->nodes, b.nodes);
    a->loops = s_sat_add(a->loops, b.loops);
}

//  glibc's regcomp copies the operand of a counted repetition once per
//  count, and its epsilon closures grow with the square of nested loops:
//  "(x*){1000}" takes 30 ms, "((x*){22}*){22}" 200 ms, "x*{57}*{99}" four
//  seconds.  This walks the pattern as regcomp would expand it (an atom's
//  copies add up, a loop around LOOPS loops costs LOOPS squared) so that
//  such patterns are refused before regcomp sees them.
static s_cost_t
s_regex_cost(const char *pat)
{
    s_cost_t sum[FL_TGT_MAX_DEPTH + 1];
    s_cost_t last = { 0, 0 };   /* the previous atom, for a following operator */
    s_cost_t one = { 1, 0 };
    s_cost_t too_much = { SIZE_MAX, SIZE_MAX };
    size_t top = 0;
    memset(sum, 0, sizeof(sum));
    const char *s = pat;
    while (*s) {
        char c = *s;
        if (c == '\\' && s[1]) {
            last = one;
            s_cost_add(&sum[top], last);
            s += 2;
        } else if (c == '[') {
            last = one;
            s_cost_add(&sum[top], last);
            s = s_bracket_end(s);
        } else if (c == '(') {
            if (top == FL_TGT_MAX_DEPTH) {
                return too_much;
            }
            top++;
            sum[top] = (s_cost_t) { 0, 0 };
            last = (s_cost_t) { 0, 0 };
            s++;
        } else if (c == ')' && top > 0) {
            last = sum[top];
            last.nodes = s_sat_add(last.nodes, 1);
            top--;
            s_cost_add(&sum[top], last);
            s++;
        } else if (c == '*' || c == '+' || c == '?' || (c == '{' && s_is_digit(s[1]))) {
            size_t min = c == '+' ? 1 : 0;
            size_t max = c == '+' ? 2 : 1;      /* copies: a+ is aa*, a* is one loop */
            bool open = c != '?';
            s++;
            if (c == '{') {
                min = s_read_count(&s);
                max = min;
                open = false;
                if (*s == ',') {
                    s++;
                    open = !s_is_digit(*s);
                    max = open ? s_sat_add(min, 1) : s_read_count(&s);
                }
                if (*s == '}') {
                    s++;
                }
                if (max < min) {
                    max = min;  /* regcomp refuses it */
                }
            }
            //  MAX copies of the operand; each optional one is a loop, and
            //  a loop around LOOPS loops costs LOOPS squared.
            size_t optional = open ? 1 : max - min;
            s_cost_t rep;
            rep.nodes = s_sat_mul(last.nodes, max);
            rep.loops = s_sat_mul(last.loops, max);
            if (optional > 0) {
                size_t inner = s_sat_mul(last.loops, last.loops);
                rep.loops = s_sat_add(rep.loops, s_sat_mul(optional, s_sat_add(inner, 1)));
            }
            //  Replace the operand's cost by the repetition's.
            sum[top].nodes = s_sat_add(sum[top].nodes - last.nodes, rep.nodes);
            sum[top].loops = s_sat_add(sum[top].loops - last.loops, rep.loops);
            last = rep;
        } else if (c == '|' || c == '^' || c == '$') {
            last = (s_cost_t) { 0, 0 };
            s++;
        } else {
            last = one;
            s_cost_add(&sum[top], last);
            s++;
        }
        if (sum[top].nodes > FL_TGT_MAX_REGEX_NODES || sum[top].loops > FL_TGT_MAX_REGEX_LOOPS) {
            return too_much;
        }
    }
    s_cost_t total = { 0, 0 };
    for (size_t i = 0; i <= top; i++) {
        s_cost_add(&total, sum[i]);
    }
    return total;
}

//  Python's \d and \D are not POSIX: rewrite them (outside brackets) so that
//  'web-\d+' means what a Salt user expects.  Caller frees.
static char *
s_regex_translate(const char *pat)
{
    char *out = fl_malloc(3 * strlen(pat) + 1);
    char *o = out;
    const char *s = pat;
    while (*s) {
        if (s[0] == '\\' && (s[1] == 'd' || s[1] == 'D')) {
            const char *cls = s[1] == 'd' ? "[0-9]" : "[^0-9]";
            size_t n = strlen(cls);
            memcpy(o, cls, n);
            o += n;
            s += 2;
        } else if (s[0] == '\\' && s[1]) {
            *o++ = *s++;
            *o++ = *s++;
        } else if (s[0] == '[') {
            const char *e = s_bracket_end(s);
            memcpy(o, s, (size_t) (e - s));
            o += e - s;
            s = e;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

//  Compiles PAT (POSIX extended, plus \d); NULL with a message in ERR
//  (caller frees) when it is not valid, or too complex alone or with the
//  regexes compiled before it for the same target.
static regex_t *
s_regex_new(s_parser_t *p, const char *pat, bool icase, char **err)
{
    *err = NULL;
    s_cost_t cost = s_regex_cost(pat);
    s_cost_add(&cost, p->regex_cost);
    if (cost.nodes > FL_TGT_MAX_REGEX_NODES || cost.loops > FL_TGT_MAX_REGEX_LOOPS) {
        *err = fl_strdup(p->regex_cost.nodes + p->regex_cost.loops > 0
                             ? "regular expressions of this target too complex"
                             : "regular expression too complex");
        return NULL;
    }
    p->regex_cost = cost;
    char *ere = s_regex_translate(pat);
    regex_t *re = fl_calloc(1, sizeof(*re));
    int rc = regcomp(re, ere, REG_EXTENDED | (icase ? REG_ICASE : 0));
    free(ere);
    if (rc != 0) {
        char buf[256];
        regerror(rc, re, buf, sizeof(buf));
        *err = fl_sprintf("invalid regular expression: %s", buf);
        free(re);
        return NULL;
    }
    return re;
}

//  Python's re.match: anchored at the start, not at the end.  POSIX finds
//  the leftmost match, so one that can start at 0 does.
static bool
s_regex_match(const regex_t *re, const char *text)
{
    regmatch_t m[1];
    return regexec(re, text, 1, m, 0) == 0 && m[0].rm_so == 0;
}

//  --------------------------------------------------------------------------
//  Terms

//  'a,b,c' with optional whitespace around the commas.  COL is the column
//  of TEXT[0].
static s_node_t *
s_list_new(s_parser_t *p, const char *text, size_t len, int col)
{
    s_node_t *node = s_node_new(S_LIST);
    size_t start = 0;
    while (start <= len) {
        size_t end = start;
        while (end < len && text[end] != ',') {
            end++;
        }
        size_t a = start;
        size_t b = end;
        while (a < b && s_is_space(text[a])) {
            a++;
        }
        while (b > a && s_is_space(text[b - 1])) {
            b--;
        }
        if (a == b) {
            s_error(p, col + (int) start, "write ids separated by single commas: 'a,b,c'",
                    "empty item in list");
        } else {
            node->items = fl_realloc(node->items, (node->n_items + 1) * sizeof(*node->items));
            node->items[node->n_items++] = fl_strndup(text + a, b - a);
        }
        start = end + 1;
    }
    return node;
}

//  'KEY[:SUB...]:VALUE'.  TERM_COL is the column of the whole term (for a
//  compound, of its 'G@'), TEXT_COL that of TEXT[0].
static s_node_t *
s_grain_new(s_parser_t *p, s_kind_t kind, const char *text, size_t len, int term_col,
            int text_col)
{
    s_node_t *node = s_node_new(kind);
    node->text = fl_strndup(text, len);
    for (size_t i = 0; i < len && node->n_colons < FL_TGT_MAX_KEY_DEPTH; i++) {
        if (text[i] == ':') {
            node->colons[node->n_colons++] = i;
        }
    }
    if (node->n_colons == 0) {
        s_error(p, term_col, "write the grain and the value as KEY:VALUE, e.g. os:Debian",
                "grain target '%.*s' has no ':' between the grain and the value",
                (int) (len > 64 ? 64 : len), text);
        return node;
    }
    if (node->colons[0] == 0) {
        s_error(p, text_col, NULL, "empty grain name before ':'");
        return node;
    }
    if (kind != S_GRAIN_PCRE) {
        return node;
    }
    //  Any ':' may end the key, and which one does depends on the grains,
    //  so compile the value regex for each; it is an error only when none
    //  compiles (the message is about the longest candidate).
    char *first_err = NULL;
    size_t valid = 0;
    for (size_t i = 0; i < node->n_colons; i++) {
        char *err;
        node->re[i] = s_regex_new(p, node->text + node->colons[i] + 1, true, &err);
        if (node->re[i]) {
            valid++;
        } else if (!first_err) {
            first_err = err;
        } else {
            free(err);
        }
    }
    if (valid == 0) {
        s_error(p, text_col + (int) node->colons[0] + 1, NULL, "%s", first_err);
    }
    free(first_err);
    return node;
}

static s_node_t *
s_pcre_new(s_parser_t *p, const char *text, size_t len, int col)
{
    s_node_t *node = s_node_new(S_PCRE);
    node->text = fl_strndup(text, len);
    char *err;
    node->re[0] = s_regex_new(p, node->text, false, &err);
    if (!node->re[0]) {
        s_error(p, col, NULL, "%s", err);
        free(err);
    }
    return node;
}

static s_node_t *
s_glob_new(const char *text, size_t len)
{
    s_node_t *node = s_node_new(S_GLOB);
    node->text = fl_strndup(text, len);
    return node;
}

//  One word of a compound target: 'X@pattern' or a glob.  Errors in a term
//  do not stop the parse (the next terms are still checked): the term then
//  becomes an empty glob and the target is refused at the end.
static s_node_t *
s_term_new(s_parser_t *p, const s_token_t *tok)
{
    const char *w = tok->p;
    size_t len = tok->len;
    if (len < 2 || !s_is_alpha(w[0]) || w[1] != '@') {
        return s_glob_new(w, len);
    }
    char engine = w[0];
    const char *pat = w + 2;
    size_t pat_len = len - 2;
    int pat_col = tok->col + 2;
    static const char *unsupported[] = {
        "I@ (pillar)", "J@ (pillar regex)", "S@ (subnet)", "R@ (range)", "N@ (nodegroup)",
    };
    if (engine != 'G' && engine != 'P' && engine != 'L' && engine != 'E') {
        const char *hint = "use G@ (grain), P@ (grain regex), L@ (list), E@ (id regex) or a glob";
        for (size_t i = 0; i < FL_ARRAY_LEN(unsupported); i++) {
            if (unsupported[i][0] == engine) {
                s_error(p, tok->col, hint, "unsupported target type %s", unsupported[i]);
                return s_glob_new("", 0);
            }
        }
        s_error(p, tok->col, hint, "unknown target type '%c@'", engine);
        return s_glob_new("", 0);
    }
    if (pat_len == 0) {
        s_error(p, tok->col, NULL, "empty pattern after '%c@'", engine);
        return s_glob_new("", 0);
    }
    switch (engine) {
    case 'G':
        return s_grain_new(p, S_GRAIN, pat, pat_len, tok->col, pat_col);
    case 'P':
        return s_grain_new(p, S_GRAIN_PCRE, pat, pat_len, tok->col, pat_col);
    case 'L':
        return s_list_new(p, pat, pat_len, pat_col);
    default:
        return s_pcre_new(p, pat, pat_len, pat_col);
    }
}

//  --------------------------------------------------------------------------
//  Compound: tokens

static void
s_push_token(s_parser_t *p, s_tok_kind_t kind, const char *s, size_t len)
{
    //  At most one token per byte, plus T_END: allocated up front.
    s_token_t *t = &p->tokens[p->n_tokens++];
    t->kind = kind;
    t->p = s;
    t->len = len;
    t->col = (int) (s - p->src) + 1;
}

static void
s_tokenize(s_parser_t *p)
{
    const char *s = p->src;
    size_t n = strlen(s);
    p->tokens = fl_calloc(n + 1, sizeof(*p->tokens));
    while (*s) {
        while (s_is_space(*s)) {
            s++;
        }
        if (!*s) {
            break;
        }
        const char *end = s;
        while (*end && !s_is_space(*end)) {
            end++;
        }
        while (s < end && *s == '(') {
            s_push_token(p, T_LPAREN, s, 1);
            s++;
        }
        //  Split off trailing ')' that close nothing inside the word.
        int opens = 0;
        int closes = 0;
        size_t run = 0;
        for (const char *c = s; c < end; c++) {
            if (*c == '\\' && c + 1 < end) {
                c++;
                run = 0;
            } else if (*c == '(') {
                opens++;
                run = 0;
            } else if (*c == ')') {
                closes++;
                run++;
            } else {
                run = 0;
            }
        }
        size_t split = closes > opens ? (size_t) (closes - opens) : 0;
        if (split > run) {
            split = run;
        }
        const char *core_end = end - split;
        size_t len = (size_t) (core_end - s);
        if (len > 0) {
            s_tok_kind_t kind = T_WORD;
            if (len == 3 && memcmp(s, "and", 3) == 0) {
                kind = T_AND;
            } else if (len == 2 && memcmp(s, "or", 2) == 0) {
                kind = T_OR;
            } else if (len == 3 && memcmp(s, "not", 3) == 0) {
                kind = T_NOT;
            }
            s_push_token(p, kind, s, len);
        }
        for (const char *c = core_end; c < end; c++) {
            s_push_token(p, T_RPAREN, c, 1);
        }
        s = end;
    }
    s_push_token(p, T_END, s, 0);
}

static const s_token_t *
s_peek(const s_parser_t *p)
{
    return &p->tokens[p->pos];
}

static const s_token_t *
s_next(s_parser_t *p)
{
    const s_token_t *t = &p->tokens[p->pos];
    if (t->kind != T_END) {
        p->pos++;
    }
    return t;
}

//  --------------------------------------------------------------------------
//  Compound: recursive descent.  A structural error returns NULL all the
//  way up (one is enough to explain a broken expression).

static s_node_t *s_parse_or(s_parser_t *p, const s_token_t *open);

static const char *
s_tok_text(const s_token_t *t)
{
    switch (t->kind) {
    case T_AND:
        return "and";
    case T_OR:
        return "or";
    case T_NOT:
        return "not";
    case T_LPAREN:
        return "(";
    case T_RPAREN:
        return ")";
    default:
        return "";
    }
}

static int
s_word_len(const s_token_t *t)
{
    return (int) (t->len > 40 ? 40 : t->len);
}

//  A complete expression ended before TOK; says what was expected.
static void
s_error_trailing(s_parser_t *p, const s_token_t *tok, const s_token_t *open)
{
    if (tok->kind == T_RPAREN) {
        s_error(p, tok->col, NULL, "unmatched ')'");
    } else if (tok->kind == T_END) {
        assert(open);
        s_error(p, open->col, "add the missing ')'", "unclosed '('");
    } else if (tok->kind == T_LPAREN) {
        s_error(p, tok->col, NULL, "expected 'and' or 'or' before '('");
    } else {
        s_error(p, tok->col, NULL, "expected 'and' or 'or' before '%.*s'", s_word_len(tok),
                tok->p);
    }
}

//  AFTER is the operator that needs this operand (NULL at the start).
static s_node_t *
s_parse_not(s_parser_t *p, const s_token_t *after)
{
    const s_token_t *tok = s_peek(p);
    switch (tok->kind) {
    case T_WORD:
        s_next(p);
        return s_term_new(p, tok);
    case T_NOT:
    case T_LPAREN: {
        s_next(p);
        if (++p->depth > FL_TGT_MAX_DEPTH) {
            s_error(p, tok->col, NULL, "nesting deeper than %d levels", FL_TGT_MAX_DEPTH);
            return NULL;
        }
        s_node_t *node;
        if (tok->kind == T_NOT) {
            s_node_t *kid = s_parse_not(p, tok);
            if (!kid) {
                return NULL;
            }
            node = s_node_new(S_NOT);
            s_node_add_kid(node, kid);
        } else {
            node = s_parse_or(p, tok);
            if (!node) {
                return NULL;
            }
            if (s_peek(p)->kind != T_RPAREN) {
                s_error_trailing(p, s_peek(p), tok);
                s_node_destroy(&node);
                return NULL;
            }
            s_next(p);
        }
        p->depth--;
        return node;
    }
    case T_END:
        if (!after) {
            s_error(p, 1, NULL, "empty target");
        } else if (after->kind == T_LPAREN) {
            s_error(p, after->col, "add the missing ')'", "unclosed '('");
        } else {
            s_error(p, after->col, NULL, "missing a target after '%s'", s_tok_text(after));
        }
        return NULL;
    case T_RPAREN:
        if (after && after->kind == T_LPAREN) {
            s_error(p, tok->col, NULL, "empty parentheses");
        } else {
            s_error(p, tok->col, NULL, "unexpected ')'");
        }
        return NULL;
    default:
        s_error(p, tok->col, "expected a target, 'not' or '('", "unexpected '%s'",
                s_tok_text(tok));
        return NULL;
    }
}

static s_node_t *
s_parse_and(s_parser_t *p, const s_token_t *after)
{
    s_node_t *first = s_parse_not(p, after);
    if (!first || (s_peek(p)->kind != T_AND && s_peek(p)->kind != T_NOT)) {
        return first;
    }
    s_node_t *node = s_node_new(S_AND);
    s_node_add_kid(node, first);
    while (s_peek(p)->kind == T_AND || s_peek(p)->kind == T_NOT) {
        const s_token_t *op = s_peek(p);
        if (op->kind == T_AND) {
            s_next(p);
        }
        s_node_t *kid = s_parse_not(p, op->kind == T_AND ? op : NULL);
        if (!kid) {
            s_node_destroy(&node);
            return NULL;
        }
        s_node_add_kid(node, kid);
    }
    return node;
}

//  OPEN is the '(' this expression is inside of, NULL at the top.
static s_node_t *
s_parse_or(s_parser_t *p, const s_token_t *open)
{
    s_node_t *first = s_parse_and(p, open);
    if (!first || s_peek(p)->kind != T_OR) {
        return first;
    }
    s_node_t *node = s_node_new(S_OR);
    s_node_add_kid(node, first);
    while (s_peek(p)->kind == T_OR) {
        const s_token_t *op = s_next(p);
        s_node_t *kid = s_parse_and(p, op);
        if (!kid) {
            s_node_destroy(&node);
            return NULL;
        }
        s_node_add_kid(node, kid);
    }
    return node;
}

static s_node_t *
s_parse_compound(s_parser_t *p)
{
    s_tokenize(p);
    s_node_t *root = s_parse_or(p, NULL);
    if (root && s_peek(p)->kind != T_END) {
        s_error_trailing(p, s_peek(p), NULL);
        s_node_destroy(&root);
    }
    free(p->tokens);
    p->tokens = NULL;
    return root;
}

//  --------------------------------------------------------------------------
//  Compiling

static bool
s_has_glob_chars(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

fl_target_t *
fl_target_new(const char *expr, fl_tgt_type_t type, fl_diag_t *diag)
{
    s_parser_t parser = { .src = expr ? expr : "", .diag = diag };
    s_parser_t *p = &parser;
    size_t len = strnlen(p->src, FL_TGT_MAX_LEN + 1);
    const char *s = p->src;
    while (s_is_space(*s)) {
        s++;
    }
    s_node_t *root = NULL;
    if (len > FL_TGT_MAX_LEN) {
        s_error(p, FL_TGT_MAX_LEN + 1, NULL, "target is longer than %d bytes",
                FL_TGT_MAX_LEN);
    } else if (*s == '\0') {
        s_error(p, 1, NULL, "empty target");
    } else if ((size_t) type >= FL_ARRAY_LEN(s_type_names)) {
        s_error(p, 1, NULL, "unknown target type %d", (int) type);
    } else {
        switch (type) {
        case FL_TGT_GLOB:
            root = s_glob_new(p->src, len);
            break;
        case FL_TGT_LIST:
            root = s_list_new(p, p->src, len, 1);
            break;
        case FL_TGT_GRAIN:
            root = s_grain_new(p, S_GRAIN, p->src, len, 1, 1);
            break;
        case FL_TGT_GRAIN_PCRE:
            root = s_grain_new(p, S_GRAIN_PCRE, p->src, len, 1, 1);
            break;
        case FL_TGT_PCRE:
            root = s_pcre_new(p, p->src, len, 1);
            break;
        case FL_TGT_COMPOUND:
            root = s_parse_compound(p);
            break;
        }
    }
    if (p->errors > 0 || !root) {
        assert(p->errors > 0);
        if (diag) {
            if (p->errors > FL_TGT_MAX_ERRORS) {
                fl_diag_add(diag, FL_TGT_FILE, 1, 0, FL_DIAG_ERROR, NULL,
                            "%d more errors in this target",
                            p->errors - FL_TGT_MAX_ERRORS);
            }
            if (len <= FL_TGT_MAX_LEN) {
                fl_diag_set_source(diag, FL_TGT_FILE, p->src);
            }
        }
        s_node_destroy(&root);
        return NULL;
    }
    fl_target_t *self = fl_calloc(1, sizeof(*self));
    self->type = type;
    self->root = root;
    self->exact = type == FL_TGT_LIST || (type == FL_TGT_GLOB && !s_has_glob_chars(root->text));
    return self;
}

void
fl_target_destroy(fl_target_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_target_t *self = *self_p;
    s_node_destroy(&self->root);
    free(self);
    *self_p = NULL;
}

bool
fl_target_is_exact(const fl_target_t *self)
{
    return self && self->exact;
}

//  --------------------------------------------------------------------------
//  Matching

//  Python's repr() of a float: the shortest text that reads back the same,
//  always with a '.' or an exponent ("4.0", "7.5", "1e+16").
static void
s_real_text(double v, char *buf, size_t size)
{
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, size, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    snprintf(buf, size, "%.*e", prec - 1, v);
    const char *e = strchr(buf, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (exp10 < -4 || exp10 >= 16) {
        return;
    }
    int decimals = prec - 1 - exp10;
    snprintf(buf, size, "%.*f", decimals < 1 ? 1 : decimals, v);
}

//  A scalar grain against the value pattern that follows colon J.
static bool
s_scalar_match(const s_node_t *n, const json_t *v, size_t j)
{
    char buf[64];
    const char *text;
    switch (json_typeof(v)) {
    case JSON_STRING:
        text = json_string_value(v);
        break;
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text = buf;
        break;
    case JSON_REAL:
        s_real_text(json_real_value(v), buf, sizeof(buf));
        text = buf;
        break;
    case JSON_TRUE:
        text = "True";
        break;
    case JSON_FALSE:
        text = "False";
        break;
    case JSON_NULL:
        text = "None";
        break;
    default:
        return false;
    }
    if (n->kind == S_GRAIN_PCRE) {
        return n->re[j] && s_regex_match(n->re[j], text);
    }
    return fnmatch(n->text + n->colons[j] + 1, text, FL_GLOB_GRAIN_FLAGS) == 0;
}

//  A dict matches '*' (the key exists) or when the value names one of its
//  keys, as Salt's _dict_match does.
static bool
s_dict_match(const s_node_t *n, const json_t *obj, size_t j)
{
    const char *rest = n->text + n->colons[j] + 1;
    return strcmp(rest, "*") == 0 || json_object_get(obj, rest) != NULL;
}

static bool s_grain_match(const s_node_t *n, const json_t *root, size_t first);

//  The grain V found under the key that ends at colon J.
static bool
s_value_match(const s_node_t *n, const json_t *v, size_t j)
{
    if (json_is_object(v)) {
        return s_dict_match(n, v, j);
    }
    if (!json_is_array(v)) {
        return s_scalar_match(n, v, j);
    }
    size_t i;
    const json_t *member;
    json_array_foreach(v, i, member) {
        if (json_is_object(member)) {
            if (s_dict_match(n, member, j) || s_grain_match(n, member, j + 1)) {
                return true;
            }
        } else if (!json_is_array(member) && s_scalar_match(n, member, j)) {
            return true;
        }
    }
    return false;
}

//  Tries, longest first, every key made of the segments from the one after
//  colon FIRST-1 up to a later colon, that exists in ROOT.
static bool
s_grain_match(const s_node_t *n, const json_t *root, size_t first)
{
    const json_t *found[FL_TGT_MAX_KEY_DEPTH];
    size_t depth = 0;
    size_t start = first == 0 ? 0 : n->colons[first - 1] + 1;
    const json_t *cur = root;
    for (size_t j = first; j < n->n_colons && json_is_object(cur); j++) {
        cur = json_object_getn(cur, n->text + start, n->colons[j] - start);
        if (!cur) {
            break;
        }
        found[depth++] = cur;
        start = n->colons[j] + 1;
    }
    while (depth > 0) {
        depth--;
        if (s_value_match(n, found[depth], first + depth)) {
            return true;
        }
    }
    return false;
}

static bool
s_eval(const s_node_t *n, const char *id, const json_t *grains)
{
    switch (n->kind) {
    case S_GLOB:
        return fnmatch(n->text, id, FL_GLOB_ID_FLAGS) == 0;
    case S_LIST:
        for (size_t i = 0; i < n->n_items; i++) {
            if (strcmp(n->items[i], id) == 0) {
                return true;
            }
        }
        return false;
    case S_GRAIN:
    case S_GRAIN_PCRE:
        return grains && n->n_colons > 0 && s_grain_match(n, grains, 0);
    case S_PCRE:
        return s_regex_match(n->re[0], id);
    case S_AND:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (!s_eval(n->kids[i], id, grains)) {
                return false;
            }
        }
        return true;
    case S_OR:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (s_eval(n->kids[i], id, grains)) {
                return true;
            }
        }
        return false;
    case S_NOT:
        return !s_eval(n->kids[0], id, grains);
    }
    return false;
}

bool
fl_target_match(const fl_target_t *self, const char *minion_id, const json_t *grains)
{
    if (!self) {
        return false;
    }
    return s_eval(self->root, minion_id ? minion_id : "", grains);
}
