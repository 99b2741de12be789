/*  fl_tmpl_lex.c: the template lexer.

    Why a separate pass: Jinja decides what is text and what is a tag before
    it parses anything, and the rules for that are all here.  Text runs
    until the next "{{", "{%" or "{#".  Inside a tag, tokens are names,
    numbers, strings and operators; "}}" or "%}" ends the tag only when no
    bracket is open, so {{ {'a': {'b': 1}} }} works as in Jinja.
    Whitespace control: "{{-", "{%-", "{#-" strip every whitespace character
    (newlines too) before the tag; "-}}", "-%}", "-#}" strip it after.  The
    defaults are Salt's (trim_blocks and lstrip_blocks off), so a newline
    after a block tag stays.  Comments vanish here, and {% raw %} ...
    {% endraw %} becomes one text token.  Every token keeps its line and
    column (in characters) for the messages. */
#include "fl_tmpl_int.h"

#include <math.h>

/*  Deepest nesting of brackets inside one tag. */
#define FL_TMPL_LEX_MAX_BRACKETS 256

typedef struct {
    const char *name;
    const char *src;
    size_t len;
    size_t pos;
    int line, col;
    fl_tmpl_tok_t *toks;
    size_t count, cap;
    fl_diag_t *diag;
    bool failed;
} s_lexer_t;

static void
s_error(s_lexer_t *lx, int line, int col, const char *fmt, ...) FL_PRINTF(4, 5);

static void
s_error(s_lexer_t *lx, int line, int col, const char *fmt, ...)
{
    if (lx->failed) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    fl_diag_error(lx->diag, lx->name, line, col, "%s", msg);
    free(msg);
    lx->failed = true;
}

/*  Moves the cursor N bytes on, keeping line and column. */
static void
s_advance(s_lexer_t *lx, size_t n)
{
    for (size_t i = 0; i < n && lx->pos < lx->len; i++) {
        unsigned char c = (unsigned char) lx->src[lx->pos++];
        if (c == '\n') {
            lx->line++;
            lx->col = 1;
        } else if ((c & 0xC0) != 0x80) {
            lx->col++;
        }
    }
}

static bool
s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void
s_skip_space(s_lexer_t *lx)
{
    size_t n = 0;
    while (lx->pos + n < lx->len && s_is_space(lx->src[lx->pos + n])) {
        n++;
    }
    s_advance(lx, n);
}

static fl_tmpl_tok_t *
s_push(s_lexer_t *lx, fl_tmpl_tok_type_t type, int line, int col, size_t off, size_t len)
{
    if (lx->count == lx->cap) {
        lx->cap = lx->cap ? lx->cap * 2 : 64;
        lx->toks = fl_realloc(lx->toks, lx->cap * sizeof *lx->toks);
    }
    fl_tmpl_tok_t *t = &lx->toks[lx->count++];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->line = line;
    t->col = col;
    t->off = off;
    t->len = len;
    return t;
}

/*  The offset of the next "{{", "{%" or "{#" at or after FROM, or len. */
static size_t
s_find_tag(const s_lexer_t *lx, size_t from)
{
    for (size_t i = from; i + 1 < lx->len; i++) {
        if (lx->src[i] == '{'
            && (lx->src[i + 1] == '{' || lx->src[i + 1] == '%' || lx->src[i + 1] == '#')) {
            return i;
        }
    }
    return lx->len;
}

/*  Emits src[pos..end) as text (less trailing whitespace when RSTRIP) and
    moves the cursor to END. */
static void
s_text(s_lexer_t *lx, size_t end, bool rstrip)
{
    size_t start = lx->pos;
    size_t stop = end;
    if (rstrip) {
        while (stop > start && s_is_space(lx->src[stop - 1])) {
            stop--;
        }
    }
    if (stop > start) {
        s_push(lx, FL_TT_TEXT, lx->line, lx->col, start, stop - start);
    }
    s_advance(lx, end - lx->pos);
}

static bool
s_is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
s_is_name_char(char c)
{
    return s_is_name_start(c) || (c >= '0' && c <= '9');
}

static bool
s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*  Matches "{%" [-+] ws WORD ws [-] "%}" at AT; on success *END is the
    offset after it and the flags tell which dashes were there. */
static bool
s_match_block_word(const s_lexer_t *lx, size_t at, const char *word, size_t *end,
                   bool *dash_before, bool *dash_after)
{
    const char *s = lx->src;
    size_t i = at + 2;
    *dash_before = false;
    if (i < lx->len && (s[i] == '-' || s[i] == '+')) {
        *dash_before = s[i] == '-';
        i++;
    }
    while (i < lx->len && s_is_space(s[i])) {
        i++;
    }
    size_t wl = strlen(word);
    if (lx->len - i < wl || memcmp(s + i, word, wl) != 0) {
        return false;
    }
    i += wl;
    if (i < lx->len && s_is_name_char(s[i])) {
        return false;
    }
    while (i < lx->len && s_is_space(s[i])) {
        i++;
    }
    *dash_after = false;
    if (i < lx->len && (s[i] == '-' || s[i] == '+')) {
        *dash_after = s[i] == '-';
        i++;
    }
    if (i + 1 < lx->len && s[i] == '%' && s[i + 1] == '}') {
        *end = i + 2;
        return true;
    }
    return false;
}

/*  {% raw %} at the cursor (already checked); emits its content as text. */
static void
s_raw(s_lexer_t *lx, size_t open_end, bool strip_inside)
{
    int line = lx->line, col = lx->col;
    s_advance(lx, open_end - lx->pos);
    if (strip_inside) {
        s_skip_space(lx);
    }
    for (size_t at = s_find_tag(lx, lx->pos); at < lx->len; at = s_find_tag(lx, at + 1)) {
        size_t end;
        bool before, after;
        if (lx->src[at + 1] == '%' && s_match_block_word(lx, at, "endraw", &end, &before, &after)) {
            s_text(lx, at, before);
            s_advance(lx, end - lx->pos);
            if (after) {
                s_skip_space(lx);
            }
            return;
        }
    }
    s_error(lx, line, col,
            "unclosed {%% raw %%}: no {%% endraw %%} before the end of the template");
}

static int
s_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static void
s_put_cp(char **out, size_t *n, uint32_t cp)
{
    char *o = *out + *n;
    if (cp < 0x80) {
        o[0] = (char) cp;
        *n += 1;
    } else if (cp < 0x800) {
        o[0] = (char) (0xC0 | (cp >> 6));
        o[1] = (char) (0x80 | (cp & 0x3F));
        *n += 2;
    } else if (cp < 0x10000) {
        o[0] = (char) (0xE0 | (cp >> 12));
        o[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char) (0x80 | (cp & 0x3F));
        *n += 3;
    } else {
        o[0] = (char) (0xF0 | (cp >> 18));
        o[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char) (0x80 | (cp & 0x3F));
        *n += 4;
    }
}

/*  A quoted string at the cursor, decoded with Python's escapes
    (\\ \' \" \a \b \f \n \r \t \v \ooo \xhh \uhhhh \Uhhhhhhhh, a backslash
    before a newline joins lines, others stay as written). */
static void
s_string(s_lexer_t *lx)
{
    int line = lx->line, col = lx->col;
    size_t start = lx->pos;
    char quote = lx->src[start];
    size_t i = start + 1;
    while (i < lx->len && lx->src[i] != quote) {
        i += (lx->src[i] == '\\' && i + 1 < lx->len) ? 2 : 1;
    }
    if (i >= lx->len) {
        s_error(lx, line, col, "unterminated string");
        return;
    }
    const char *s = lx->src + start + 1;
    size_t n = i - start - 1;
    /* The decoded text is never longer than the escaped one. */
    char *out = fl_malloc(n + 1);
    size_t o = 0;
    for (size_t k = 0; k < n;) {
        if (s[k] != '\\' || k + 1 >= n) {
            out[o++] = s[k++];
            continue;
        }
        char e = s[k + 1];
        const char *simple = strchr("\\\'\"abfnrtv", e);
        if (simple && e) {
            static const char map[] = "\\\'\"\a\b\f\n\r\t\v";
            out[o++] = map[simple - "\\\'\"abfnrtv"];
            k += 2;
        } else if (e == '\n') {
            k += 2;
        } else if (e >= '0' && e <= '7') {
            uint32_t v = 0;
            size_t d = 0;
            while (d < 3 && k + 1 + d < n && s[k + 1 + d] >= '0' && s[k + 1 + d] <= '7') {
                v = v * 8 + (uint32_t) (s[k + 1 + d] - '0');
                d++;
            }
            if (v == 0) {
                s_error(lx, line, col, "a NUL character cannot be part of a string");
                break;
            }
            s_put_cp(&out, &o, v);
            k += 1 + d;
        } else if (e == 'x' || e == 'u' || e == 'U') {
            size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t v = 0;
            bool ok = k + 2 + digits <= n;
            for (size_t d = 0; ok && d < digits; d++) {
                int h = s_hex(s[k + 2 + d]);
                ok = h >= 0;
                v = v * 16 + (uint32_t) (h < 0 ? 0 : h);
            }
            if (!ok || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
                s_error(lx, line, col, "invalid \\%c escape in string", e);
                break;
            }
            if (v == 0) {
                s_error(lx, line, col, "a NUL character cannot be part of a string");
                break;
            }
            s_put_cp(&out, &o, v);
            k += 2 + digits;
        } else {
            out[o++] = s[k++];
        }
    }
    out[o] = '\0';
    if (lx->failed) {
        free(out);
        return;
    }
    fl_tmpl_tok_t *t = s_push(lx, FL_TT_STRING, line, col, start, i + 1 - start);
    t->str = out;
    t->slen = o;
    s_advance(lx, i + 1 - start);
}

/*  A digit at I, or a '_' between two digits. */
static bool
s_digit_at(const s_lexer_t *lx, size_t i)
{
    const char *s = lx->src;
    return i < lx->len
           && (s_is_digit(s[i]) || (s[i] == '_' && i + 1 < lx->len && s_is_digit(s[i + 1])));
}

/*  A number at the cursor: digits (with '_' between them), an optional
    fraction and exponent.  After a '.' only an integer (x.0.1 is x[0][1]). */
static void
s_number(s_lexer_t *lx, bool allow_float)
{
    const char *s = lx->src;
    size_t i = lx->pos;
    bool is_float = false;
    while (s_digit_at(lx, i)) {
        i++;
    }
    if (allow_float && i + 1 < lx->len && s[i] == '.' && s_is_digit(s[i + 1])) {
        is_float = true;
        i++;
        while (s_digit_at(lx, i)) {
            i++;
        }
    }
    if (allow_float && i < lx->len && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (s[j] == '+' || s[j] == '-')) {
            j++;
        }
        if (j < lx->len && s_is_digit(s[j])) {
            is_float = true;
            while (j < lx->len && s_is_digit(s[j])) {
                j++;
            }
            i = j;
        }
    }
    size_t n = i - lx->pos;
    char *clean = fl_malloc(n + 1);
    size_t c = 0;
    for (size_t k = lx->pos; k < i; k++) {
        if (s[k] != '_') {
            clean[c++] = s[k];
        }
    }
    clean[c] = '\0';
    fl_tmpl_tok_t *t = s_push(lx, is_float ? FL_TT_FLOAT : FL_TT_INT, lx->line, lx->col, lx->pos,
                              n);
    errno = 0;
    if (is_float) {
        t->fval = strtod(clean, NULL);
        if (!isfinite(t->fval)) {
            s_error(lx, t->line, t->col, "number too large: %s", clean);
        }
    } else {
        long long v = strtoll(clean, NULL, 10);
        if (errno == ERANGE) {
            s_error(lx, t->line, t->col, "integer too large: %s", clean);
        }
        t->ival = (json_int_t) v;
    }
    free(clean);
    s_advance(lx, n);
}

/*  An operator at the cursor, or an error. */
static void
s_operator(s_lexer_t *lx, char *brackets, size_t *depth)
{
    static const struct {
        const char *text;
        int op;
    } twos[] = {
        { "//", FL_OP_FLOORDIV }, { "**", FL_OP_POW }, { "==", FL_OP_EQ },
        { "!=", FL_OP_NE },       { "<=", FL_OP_LE },  { ">=", FL_OP_GE },
    };
    const char *s = lx->src + lx->pos;
    for (size_t i = 0; i < FL_ARRAY_LEN(twos); i++) {
        if (lx->pos + 1 < lx->len && s[0] == twos[i].text[0] && s[1] == twos[i].text[1]) {
            fl_tmpl_tok_t *t = s_push(lx, FL_TT_OP, lx->line, lx->col, lx->pos, 2);
            t->op = twos[i].op;
            s_advance(lx, 2);
            return;
        }
    }
    char c = s[0];
    if (!strchr("+-*/%~<>=()[]{},.:|", c) || c == '\0') {
        unsigned char u = (unsigned char) c;
        if (u >= 0x20 && u < 0x7F) {
            s_error(lx, lx->line, lx->col, "unexpected character '%c'", c);
        } else {
            s_error(lx, lx->line, lx->col, "unexpected character (byte 0x%02x)", u);
        }
        return;
    }
    if (c == '(' || c == '[' || c == '{') {
        if (*depth >= FL_TMPL_LEX_MAX_BRACKETS) {
            s_error(lx, lx->line, lx->col, "brackets nested too deeply (limit %d)",
                    FL_TMPL_LEX_MAX_BRACKETS);
            return;
        }
        brackets[(*depth)++] = c;
    } else if (c == ')' || c == ']' || c == '}') {
        char want = c == ')' ? '(' : c == ']' ? '[' : '{';
        if (*depth == 0 || brackets[*depth - 1] != want) {
            if (*depth == 0) {
                s_error(lx, lx->line, lx->col, "unexpected '%c'", c);
            } else {
                char open = brackets[*depth - 1];
                s_error(lx, lx->line, lx->col, "unexpected '%c', expected '%c'", c,
                        open == '(' ? ')' : open == '[' ? ']' : '}');
            }
            return;
        }
        (*depth)--;
    }
    fl_tmpl_tok_t *t = s_push(lx, FL_TT_OP, lx->line, lx->col, lx->pos, 1);
    t->op = c;
    s_advance(lx, 1);
}

/*  The tokens of one tag, after its opening; END is '}' for {{ }} and '%'
    for {% %}.  Consumes the closing delimiter. */
static void
s_tag(s_lexer_t *lx, char end, int open_line, int open_col)
{
    char brackets[FL_TMPL_LEX_MAX_BRACKETS];
    size_t depth = 0;
    const char *s = lx->src;
    while (!lx->failed) {
        s_skip_space(lx);
        if (lx->pos >= lx->len) {
            if (depth > 0) {
                s_error(lx, open_line, open_col, "unclosed '%c' in tag: the template ends first",
                        brackets[depth - 1]);
            } else {
                s_error(lx, open_line, open_col, "unclosed tag: missing '%s' before the end of "
                        "the template", end == '}' ? "}}" : "%}");
            }
            return;
        }
        size_t p = lx->pos;
        if (depth == 0) {
            bool dash = s[p] == '-' || (s[p] == '+' && end == '%');
            size_t q = dash ? p + 1 : p;
            if (q + 1 < lx->len && s[q] == end && s[q + 1] == '}') {
                s_push(lx, end == '}' ? FL_TT_VAR_END : FL_TT_BLOCK_END, lx->line, lx->col, p,
                       q + 2 - p);
                s_advance(lx, q + 2 - p);
                if (s[p] == '-') {
                    s_skip_space(lx);
                }
                return;
            }
        }
        char c = s[p];
        if (s_is_name_start(c)) {
            size_t n = 1;
            while (p + n < lx->len && s_is_name_char(s[p + n])) {
                n++;
            }
            fl_tmpl_tok_t *t = s_push(lx, FL_TT_NAME, lx->line, lx->col, p, n);
            t->str = fl_strndup(s + p, n);
            t->slen = n;
            s_advance(lx, n);
        } else if (s_is_digit(c)) {
            const fl_tmpl_tok_t *prev = &lx->toks[lx->count - 1];
            s_number(lx, !(prev->type == FL_TT_OP && prev->op == '.'));
        } else if (c == '\'' || c == '"') {
            s_string(lx);
        } else {
            s_operator(lx, brackets, &depth);
        }
    }
}

fl_tmpl_tok_t *
fl_tmpl_lex_run(const char *name, const char *src, size_t *count, fl_diag_t *diag)
{
    s_lexer_t lx = { .name = name, .src = src, .len = strlen(src), .line = 1, .col = 1,
                     .diag = diag };
    while (lx.pos < lx.len && !lx.failed) {
        size_t at = s_find_tag(&lx, lx.pos);
        if (at >= lx.len) {
            s_text(&lx, lx.len, false);
            break;
        }
        char kind = src[at + 1];
        bool dash = at + 2 < lx.len && src[at + 2] == '-';
        size_t raw_end;
        bool raw_before = false, raw_after = false;
        bool is_raw = kind == '%'
                      && s_match_block_word(&lx, at, "raw", &raw_end, &raw_before, &raw_after);
        s_text(&lx, at, dash);
        int line = lx.line, col = lx.col;
        if (is_raw) {
            s_raw(&lx, raw_end, raw_after);
        } else if (kind == '#') {
            const char *close = strstr(src + at + 2, "#}");
            if (!close) {
                s_error(&lx, line, col, "unclosed comment: no '#}' before the end of the template");
                break;
            }
            size_t end = (size_t) (close - src) + 2;
            bool strip = close > src + at + 2 + (dash ? 1 : 0) && close[-1] == '-';
            s_advance(&lx, end - lx.pos);
            if (strip) {
                s_skip_space(&lx);
            }
        } else {
            size_t open = 2;
            if (at + 2 < lx.len && (src[at + 2] == '-' || (kind == '%' && src[at + 2] == '+'))) {
                open = 3;
            }
            s_push(&lx, kind == '{' ? FL_TT_VAR_BEGIN : FL_TT_BLOCK_BEGIN, line, col, at, open);
            s_advance(&lx, open);
            s_tag(&lx, kind == '{' ? '}' : '%', line, col);
        }
    }
    if (lx.failed) {
        fl_tmpl_lex_free(lx.toks, lx.count);
        return NULL;
    }
    s_push(&lx, FL_TT_EOF, lx.line, lx.col, lx.len, 0);
    *count = lx.count;
    return lx.toks;
}

void
fl_tmpl_lex_free(fl_tmpl_tok_t *toks, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(toks[i].str);
    }
    free(toks);
}
