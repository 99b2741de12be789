/*  fl_tmpl_text.c: strings for the template engine: a capped growing
    buffer, UTF-8 decoding that never fails (an invalid byte is one
    character), and the string operations that filters and methods share,
    with Python's rules (strip and split on Unicode whitespace, int() and
    float() of text).  Case mapping covers ASCII, Latin-1, Greek and
    Cyrillic; other letters keep their case. */
#include "fl_tmpl_int.h"

#include <limits.h>

//  --------------------------------------------------------------------------
//  Buffer and UTF-8

void
fl_tmpl_buf_add(fl_tmpl_buf_t *b, const char *s, size_t n)
{
    if (b->overflow) {
        return;
    }
    if (n > FL_TMPL_MAX_OUTPUT || b->len + n > FL_TMPL_MAX_OUTPUT) {
        b->overflow = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        b->data = fl_realloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
fl_tmpl_buf_addc(fl_tmpl_buf_t *b, char c)
{
    fl_tmpl_buf_add(b, &c, 1);
}

void
fl_tmpl_buf_addf(fl_tmpl_buf_t *b, const char *fmt, ...)
{
    char small[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t) n < sizeof small) {
        fl_tmpl_buf_add(b, small, (size_t) n);
        return;
    }
    va_start(ap, fmt);
    char *big = fl_vsprintf(fmt, ap);
    va_end(ap);
    fl_tmpl_buf_add(b, big, strlen(big));
    free(big);
}

void
fl_tmpl_buf_add_cp(fl_tmpl_buf_t *b, uint32_t cp)
{
    char o[4];
    if (cp < 0x80) {
        o[0] = (char) cp;
        fl_tmpl_buf_add(b, o, 1);
    } else if (cp < 0x800) {
        o[0] = (char) (0xC0 | (cp >> 6));
        o[1] = (char) (0x80 | (cp & 0x3F));
        fl_tmpl_buf_add(b, o, 2);
    } else if (cp < 0x10000) {
        o[0] = (char) (0xE0 | (cp >> 12));
        o[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char) (0x80 | (cp & 0x3F));
        fl_tmpl_buf_add(b, o, 3);
    } else {
        o[0] = (char) (0xF0 | (cp >> 18));
        o[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char) (0x80 | (cp & 0x3F));
        fl_tmpl_buf_add(b, o, 4);
    }
}

void
fl_tmpl_buf_free(fl_tmpl_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *
fl_tmpl_buf_take(fl_tmpl_buf_t *b)
{
    char *s = b->data ? b->data : fl_strdup("");
    memset(b, 0, sizeof *b);
    return s;
}

uint32_t
fl_tmpl_utf8_next(const char *s, size_t len, size_t *i)
{
    const unsigned char *u = (const unsigned char *) s + *i;
    size_t left = len - *i;
    uint32_t c = u[0];
    size_t n = 0;
    uint32_t min = 0;
    if (c < 0x80) {
        *i += 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1;
        c &= 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2;
        c &= 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3;
        c &= 0x07;
        min = 0x10000;
    } else {
        *i += 1;
        return 0xDC00 | u[0];
    }
    if (left <= n) {
        *i += 1;
        return 0xDC00 | u[0];
    }
    for (size_t k = 1; k <= n; k++) {
        if ((u[k] & 0xC0) != 0x80) {
            *i += 1;
            return 0xDC00 | u[0];
        }
        c = (c << 6) | (u[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *i += 1;
        return 0xDC00 | u[0];
    }
    *i += n + 1;
    return c;
}

size_t
fl_tmpl_utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        fl_tmpl_utf8_next(s, len, &i);
    }
    return n;
}

bool
fl_tmpl_is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85
           || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028
           || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

//  --------------------------------------------------------------------------
//  Operations

/*  Lower/upper case of one character: ASCII, Latin-1, Greek, Cyrillic. */
uint32_t
fl_tmpl_text_lower_cp(uint32_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) || (c >= 0x410 && c <= 0x42F)) {
        return c + 32;
    }
    if (c >= 0x400 && c <= 0x40F) {
        return c + 80;
    }
    return c;
}

uint32_t
fl_tmpl_text_upper_cp(uint32_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        || (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) || (c >= 0x430 && c <= 0x44F)) {
        return c - 32;
    }
    if (c >= 0x450 && c <= 0x45F) {
        return c - 80;
    }
    return c;
}

/*  MODE: 'l' lower, 'u' upper, 'c' capitalize. */
void
fl_tmpl_text_case(fl_tmpl_buf_t *b, const char *s, size_t len, char mode)
{
    bool first = true;
    for (size_t i = 0; i < len;) {
        size_t start = i;
        uint32_t c = fl_tmpl_utf8_next(s, len, &i);
        bool up = mode == 'u' || (mode == 'c' && first);
        uint32_t d = up ? fl_tmpl_text_upper_cp(c) : fl_tmpl_text_lower_cp(c);
        if (d == c) {
            fl_tmpl_buf_add(b, s + start, i - start);
        } else {
            fl_tmpl_buf_add_cp(b, d);
        }
        first = false;
    }
}

static bool
s_in_chars(uint32_t c, const json_t *chars)
{
    if (!chars) {
        return fl_tmpl_is_space(c);
    }
    const char *s = json_string_value(chars);
    size_t len = json_string_length(chars);
    for (size_t i = 0; i < len;) {
        if (fl_tmpl_utf8_next(s, len, &i) == c) {
            return true;
        }
    }
    return false;
}

/*  Python's strip: WHICH 'l', 'r' or 'b' (both); CHARS NULL for whitespace. */
json_t *
fl_tmpl_text_strip(const char *s, size_t len, const json_t *chars, char which)
{
    size_t start = 0, end = len;
    if (which != 'r') {
        while (start < end) {
            size_t i = start;
            if (!s_in_chars(fl_tmpl_utf8_next(s, len, &i), chars)) {
                break;
            }
            start = i;
        }
    }
    if (which != 'l') {
        while (end > start) {
            size_t k = end - 1;
            while (k > start && ((unsigned char) s[k] & 0xC0) == 0x80) {
                k--;
            }
            size_t i = k;
            uint32_t c = fl_tmpl_utf8_next(s, len, &i);
            if (i != end) {
                k = end - 1;    /* an invalid byte: one character on its own */
                i = k;
                c = fl_tmpl_utf8_next(s, len, &i);
            }
            if (!s_in_chars(c, chars)) {
                break;
            }
            end = k;
        }
    }
    return fl_tmpl_str(s + start, end - start);
}

/*  Python's int(s, base) for a string; false when it does not parse. */
bool
fl_tmpl_text_parse_int(const char *s, size_t len, int base, json_int_t *out)
{
    size_t i = 0;
    while (i < len && fl_tmpl_is_space((unsigned char) s[i])) {
        i++;
    }
    while (len > i && fl_tmpl_is_space((unsigned char) s[len - 1])) {
        len--;
    }
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (base == 16 && len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        i += 2;
    } else if (base == 8 && len - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
        i += 2;
    } else if (base == 2 && len - i > 2 && s[i] == '0' && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
        i += 2;
    }
    if (i >= len) {
        return false;
    }
    unsigned long long v = 0;
    bool prev_digit = false;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '_' && prev_digit && i + 1 < len && s[i + 1] != '_') {
            prev_digit = false;
            continue;
        }
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'z') ? c - 'a' + 10
                : (c >= 'A' && c <= 'Z') ? c - 'A' + 10 : 99;
        if (d >= base) {
            return false;
        }
        if (v > (ULLONG_MAX - (unsigned) d) / (unsigned) base) {
            return false;
        }
        v = v * (unsigned) base + (unsigned) d;
        prev_digit = true;
    }
    if (!prev_digit) {
        return false;
    }
    if (neg ? v > (unsigned long long) LLONG_MAX + 1 : v > (unsigned long long) LLONG_MAX) {
        return false;
    }
    *out = neg ? (json_int_t) (0 - v) : (json_int_t) v;
    return true;
}

/*  Python's float(s); false when it does not parse. */
bool
fl_tmpl_text_parse_float(const char *s, size_t len, double *out)
{
    char *clean = fl_malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == 'x' || s[i] == 'X' || s[i] == '\0') {
            free(clean);
            return false;
        }
        if (s[i] == '_' && n > 0 && clean[n - 1] >= '0' && clean[n - 1] <= '9' && i + 1 < len
            && s[i + 1] >= '0' && s[i + 1] <= '9') {
            continue;
        }
        clean[n++] = s[i];
    }
    clean[n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(clean, &end);
    bool ok = end != clean;
    while (ok && *end && fl_tmpl_is_space((unsigned char) *end)) {
        end++;
    }
    ok = ok && *end == '\0';
    free(clean);
    *out = d;
    return ok;
}
