/*  fl_tmpl_ops.c: Python's operators on JSON values, as Jinja applies them.

    Numbers: integers stay integers (with overflow checked, as Python's
    would not overflow but ours are 64-bit), / always gives a float, // and
    % floor as Python does (-7 // 2 == -4, -7 % 3 == 2), booleans count as
    the integers 0 and 1 (True + 1 == 2, True == 1).  + also joins strings
    and lists, * repeats them; ~ (in fl_tmpl_eval.c) joins anything as text.
    Comparisons: == never fails (1 == 1.0, 'a' == 1 is False), < orders
    numbers, strings (by code point) and lists, and refuses anything else.
    A float result that is not finite is an error: JSON cannot hold it.
    The few math functions needed are here too, so that the library does
    not need libm (the programs do not link it). */
#include "fl_tmpl_int.h"

#include <limits.h>
#include <math.h>

const char *
fl_tmpl_type_name(const json_t *v)
{
    if (!v) {
        return "undefined";
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
        return "NoneType";
    }
    return "object";
}

bool
fl_tmpl_truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_TRUE:
        return true;
    default:
        return false;
    }
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

static double
s_num(const json_t *v)
{
    return json_is_real(v) ? json_real_value(v) : (double) s_int(v);
}

bool
fl_tmpl_equal(const json_t *a, const json_t *b, int depth)
{
    if (a == b) {
        return true;
    }
    if (depth > 1000) {
        return false;
    }
    if (s_is_num(a) && s_is_num(b)) {
        if (s_is_int(a) && s_is_int(b)) {
            return s_int(a) == s_int(b);
        }
        return s_num(a) == s_num(b);
    }
    if (json_typeof(a) != json_typeof(b)) {
        return false;
    }
    if (json_is_string(a)) {
        return json_string_length(a) == json_string_length(b)
               && memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!fl_tmpl_equal(json_array_get(a, i), json_array_get(b, i), depth + 1)) {
                return false;
            }
        }
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) {
            return false;
        }
        const char *k;
        json_t *item;
        json_object_foreach((json_t *) a, k, item) {
            json_t *other = json_object_get(b, k);
            if (!other || !fl_tmpl_equal(item, other, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    return true;    /* null */
}

int
fl_tmpl_compare(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *a, const json_t *b,
                int depth)
{
    if (s_is_num(a) && s_is_num(b)) {
        if (s_is_int(a) && s_is_int(b)) {
            return s_int(a) < s_int(b) ? -1 : s_int(a) > s_int(b);
        }
        double x = s_num(a), y = s_num(b);
        return x < y ? -1 : x > y;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
        if (c != 0) {
            return c < 0 ? -1 : 1;
        }
        return la < lb ? -1 : la > lb;
    }
    if (json_is_array(a) && json_is_array(b) && depth < 1000) {
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < na && i < nb; i++) {
            const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
            if (!fl_tmpl_equal(x, y, 0)) {
                return fl_tmpl_compare(ev, node, x, y, depth + 1);
            }
        }
        return na < nb ? -1 : na > nb;
    }
    fl_tmpl_eval_error(ev, node, "cannot compare %s with %s", fl_tmpl_type_name(a),
                       fl_tmpl_type_name(b));
    return -2;
}

static json_t *
s_real(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, double d)
{
    if (!isfinite(d)) {
        return fl_tmpl_eval_error(ev, node, "numeric result out of range");
    }
    return json_real(d);
}

static json_t *
s_overflow(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node)
{
    return fl_tmpl_eval_error(ev, node, "integer result out of range");
}

/*  S repeated N times (str * int, list * int). */
static json_t *
s_repeat(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *s, json_int_t n)
{
    if (n < 0) {
        n = 0;
    }
    if (json_is_string(s)) {
        size_t len = json_string_length(s);
        if (len > 0 && (uint64_t) n > FL_TMPL_MAX_OUTPUT / len) {
            return fl_tmpl_eval_error(ev, node, "string longer than 16 MiB");
        }
        if (fl_tmpl_eval_charge(ev, node, FL_TMPL_BYTE_STEPS(len * (uint64_t) n)) < 0) {
            return NULL;
        }
        fl_tmpl_buf_t b = { 0 };
        for (json_int_t i = 0; i < n; i++) {
            fl_tmpl_buf_add(&b, json_string_value(s), len);
        }
        json_t *r = fl_tmpl_str(b.data ? b.data : "", b.len);
        fl_tmpl_buf_free(&b);
        return r;
    }
    size_t len = json_array_size(s);
    if (len > 0 && (uint64_t) n > FL_TMPL_MAX_ITEMS / len) {
        return fl_tmpl_eval_error(ev, node, "list longer than %u items", FL_TMPL_MAX_ITEMS);
    }
    if (fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(len * (uint64_t) n)) < 0) {
        return NULL;
    }
    json_t *r = json_array();
    for (json_int_t i = 0; i < n; i++) {
        for (size_t k = 0; k < len; k++) {
            fl_tmpl_append(r, json_incref(json_array_get(s, k)));
        }
    }
    return r;
}

static json_t *
s_add(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        if (la + lb > FL_TMPL_MAX_OUTPUT) {
            return fl_tmpl_eval_error(ev, node, "string longer than 16 MiB");
        }
        if (fl_tmpl_eval_charge(ev, node, FL_TMPL_BYTE_STEPS(la + lb)) < 0) {
            return NULL;
        }
        char *s = fl_malloc(la + lb + 1);
        memcpy(s, json_string_value(a), la);
        memcpy(s + la, json_string_value(b), lb);
        json_t *r = fl_tmpl_str(s, la + lb);
        free(s);
        return r;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t la = json_array_size(a), lb = json_array_size(b);
        if (la + lb > FL_TMPL_MAX_ITEMS) {
            return fl_tmpl_eval_error(ev, node, "list longer than %u items", FL_TMPL_MAX_ITEMS);
        }
        if (fl_tmpl_eval_charge(ev, node, FL_TMPL_ITEM_STEPS(la + lb)) < 0) {
            return NULL;
        }
        json_t *r = json_array();
        for (size_t i = 0; i < la; i++) {
            fl_tmpl_append(r, json_incref(json_array_get(a, i)));
        }
        for (size_t i = 0; i < lb; i++) {
            fl_tmpl_append(r, json_incref(json_array_get(b, i)));
        }
        return r;
    }
    return NULL;
}

/*  Python's floored integer division and modulo. */
static json_int_t
s_floordiv(json_int_t a, json_int_t b)
{
    json_int_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

static json_int_t
s_mod(json_int_t a, json_int_t b)
{
    if (b == -1) {
        return 0;
    }
    json_int_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) {
        r += b;
    }
    return r;
}

/*  The few math functions needed, here so that the library does not need
    libm (the programs do not link it). */
double
fl_tmpl_trunc(double d)
{
    if (!isfinite(d) || d >= 4503599627370496.0 || d <= -4503599627370496.0) {
        return d;   /* 2^52 and beyond: already an integer */
    }
    double t = (double) (long long) d;
    return t == 0 ? __builtin_copysign(0.0, d) : t;
}

static double
s_floor(double d)
{
    double t = fl_tmpl_trunc(d);
    return t > d ? t - 1.0 : t;
}

/*  The exact remainder of x / y with the sign of x (C's fmod), by long
    division on the significands, as musl does it.  Y is neither zero nor
    NaN and X is finite (callers check). */
static double
s_fmod(double x, double y)
{
    union {
        double f;
        uint64_t i;
    } ux = { x }, uy = { y };
    int ex = (int) (ux.i >> 52 & 0x7ff);
    int ey = (int) (uy.i >> 52 & 0x7ff);
    uint64_t sx = ux.i >> 63;
    uint64_t i;
    uint64_t uxi = ux.i;
    if (ey == 0x7ff) {
        return x;   /* y infinite */
    }
    if (uxi << 1 <= uy.i << 1) {
        return (uxi << 1 == uy.i << 1) ? 0 * x : x;
    }
    if (!ex) {
        for (i = uxi << 12; i >> 63 == 0; ex--, i <<= 1) {
        }
        uxi <<= -ex + 1;
    } else {
        uxi &= -1ULL >> 12;
        uxi |= 1ULL << 52;
    }
    if (!ey) {
        for (i = uy.i << 12; i >> 63 == 0; ey--, i <<= 1) {
        }
        uy.i <<= -ey + 1;
    } else {
        uy.i &= -1ULL >> 12;
        uy.i |= 1ULL << 52;
    }
    for (; ex > ey; ex--) {
        i = uxi - uy.i;
        if (i >> 63 == 0) {
            if (i == 0) {
                return 0 * x;
            }
            uxi = i;
        }
        uxi <<= 1;
    }
    i = uxi - uy.i;
    if (i >> 63 == 0) {
        if (i == 0) {
            return 0 * x;
        }
        uxi = i;
    }
    for (; uxi >> 52 == 0; uxi <<= 1, ex--) {
    }
    if (ex > 0) {
        uxi -= 1ULL << 52;
        uxi |= (uint64_t) ex << 52;
    } else {
        uxi >>= -ex + 1;
    }
    uxi |= sx << 63;
    ux.i = uxi;
    return ux.f;
}

/*  X to an integral power N by squaring, in extended precision. */
static double
s_powi(double x, double n)
{
    long double r = 1, b = x;
    bool neg = n < 0;
    double e = neg ? -n : n;
    while (e >= 1) {
        double half = s_floor(e / 2);
        if (e - 2 * half >= 1) {
            r *= b;
        }
        b *= b;
        e = half;
        if (r == 0 || !isfinite((double) r)) {
            break;
        }
    }
    return neg ? (double) (1 / r) : (double) r;
}

/*  Python's float divmod. */
static void
s_float_divmod(double x, double y, double *div_out, double *mod_out)
{
    double mod = s_fmod(x, y);
    double div = (x - mod) / y;
    if (mod != 0) {
        if ((y < 0) != (mod < 0)) {
            mod += y;
            div -= 1.0;
        }
    } else {
        mod = __builtin_copysign(0.0, y);
    }
    double floordiv;
    if (div != 0) {
        floordiv = s_floor(div);
        if (div - floordiv > 0.5) {
            floordiv += 1.0;
        }
    } else {
        floordiv = __builtin_copysign(0.0, x / y);
    }
    *div_out = floordiv;
    *mod_out = mod;
}

static json_t *
s_int_pow(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, json_int_t base, json_int_t exp)
{
    json_int_t r = 1;
    while (exp > 0) {
        if (exp & 1) {
            if (__builtin_mul_overflow(r, base, &r)) {
                return s_overflow(ev, node);
            }
        }
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) {
            return s_overflow(ev, node);
        }
    }
    return json_integer(r);
}

json_t *
fl_tmpl_ops_arith(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, int op, const json_t *a,
                  const json_t *b)
{
    if (op == '+') {
        json_t *r = s_add(ev, node, a, b);
        if (r || fl_tmpl_eval_failed(ev)) {
            return r;
        }
    }
    if (op == '*') {
        if ((json_is_string(a) || json_is_array(a)) && s_is_int(b)) {
            return s_repeat(ev, node, a, s_int(b));
        }
        if ((json_is_string(b) || json_is_array(b)) && s_is_int(a)) {
            return s_repeat(ev, node, b, s_int(a));
        }
    }
    static const char *const names[] = { "+", "-", "*", "/", "//", "%", "**" };
    const char *name = op == '+' ? names[0] : op == '-' ? names[1] : op == '*' ? names[2]
                       : op == '/' ? names[3] : op == FL_OP_FLOORDIV ? names[4]
                       : op == '%' ? names[5] : names[6];
    if (!s_is_num(a) || !s_is_num(b)) {
        return fl_tmpl_eval_error(ev, node, "unsupported operand types for %s: %s and %s", name,
                                  fl_tmpl_type_name(a), fl_tmpl_type_name(b));
    }
    bool ints = s_is_int(a) && s_is_int(b);
    json_int_t x = s_int(a), y = s_int(b), r;
    double fx = s_num(a), fy = s_num(b);
    bool zero = ints ? y == 0 : fy == 0.0;
    if (zero && (op == '/' || op == FL_OP_FLOORDIV || op == '%')) {
        return fl_tmpl_eval_error(ev, node, "division by zero");
    }
    switch (op) {
    case '+':
        if (ints) {
            return __builtin_add_overflow(x, y, &r) ? s_overflow(ev, node) : json_integer(r);
        }
        return s_real(ev, node, fx + fy);
    case '-':
        if (ints) {
            return __builtin_sub_overflow(x, y, &r) ? s_overflow(ev, node) : json_integer(r);
        }
        return s_real(ev, node, fx - fy);
    case '*':
        if (ints) {
            return __builtin_mul_overflow(x, y, &r) ? s_overflow(ev, node) : json_integer(r);
        }
        return s_real(ev, node, fx * fy);
    case '/':
        return s_real(ev, node, fx / fy);
    case FL_OP_FLOORDIV:
    case '%':
        if (ints) {
            if (op == FL_OP_FLOORDIV) {
                if (x == LLONG_MIN && y == -1) {
                    return s_overflow(ev, node);
                }
                return json_integer(s_floordiv(x, y));
            }
            return json_integer(s_mod(x, y));
        } else {
            double d, m;
            s_float_divmod(fx, fy, &d, &m);
            return s_real(ev, node, op == '%' ? m : d);
        }
    default:    /* ** */
        if (ints && y >= 0) {
            return s_int_pow(ev, node, x, y);
        }
        if (fx == 0.0 && fy < 0) {
            return fl_tmpl_eval_error(ev, node, "division by zero (0 to a negative power)");
        }
        if (fy != s_floor(fy)) {
            return fl_tmpl_eval_error(ev, node, "fractional powers are not supported");
        }
        return s_real(ev, node, s_powi(fx, fy));
    }
}

/*  `needle in haystack`: 1, 0, or -1 after reporting. */
int
fl_tmpl_ops_contains(fl_tmpl_eval_t *ev, const fl_tmpl_node_t *node, const json_t *needle,
           const json_t *hay)
{
    if (json_is_string(hay)) {
        if (!json_is_string(needle)) {
            fl_tmpl_eval_error(ev, node, "'in <str>' needs a string on the left, not %s",
                               fl_tmpl_type_name(needle));
            return -1;
        }
        if (fl_tmpl_eval_charge(ev, node, json_string_length(hay) / 16) < 0) {
            return -1;
        }
        return memmem(json_string_value(hay), json_string_length(hay), json_string_value(needle),
                      json_string_length(needle)) != NULL;
    }
    if (json_is_array(hay)) {
        if (fl_tmpl_eval_charge(ev, node, json_array_size(hay)) < 0) {
            return -1;
        }
        for (size_t i = 0; i < json_array_size(hay); i++) {
            if (fl_tmpl_equal(needle, json_array_get(hay, i), 0)) {
                return 1;
            }
        }
        return 0;
    }
    if (json_is_object(hay)) {
        return json_is_string(needle)
               && json_object_getn(hay, json_string_value(needle), json_string_length(needle));
    }
    fl_tmpl_eval_error(ev, node, "'in' needs a string, list or dict on the right, not %s",
                       fl_tmpl_type_name(hay));
    return -1;
}
