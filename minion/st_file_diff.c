/*  st_file_diff.c: the unified diff the file.* states show in
    changes["diff"] (st_file_diff, st_core.h): Myers' greedy algorithm over
    lines, grouped into hunks as Python's difflib groups them, so a change
    reads as it does under Salt.  Bounded in input, edit distance and
    output, so a large file costs a bounded amount of memory and time. */
#include "st_file_int.h"

/*  Past these the diff is not computed. */
#define S_DIFF_MAX_BYTES (1024 * 1024)
#define S_DIFF_MAX_LINES 5000
/*  Myers' D bound: the trace takes D^2 ints (4 MB here); past it the
    changed middle is shown as one replaced block, still a valid diff. */
#define S_DIFF_MAX_EDITS 1000
/*  A longer diff text is not worth reading in a job return. */
#define S_DIFF_MAX_OUT (512 * 1024)
#define S_DIFF_CONTEXT 3

/* ------------------------------------------------------------------ */
/*  Unified diff: Myers' greedy algorithm over lines                  */

typedef struct {
    const char *s;
    size_t len;         /* with its '\n', when it has one */
    uint64_t hash;
} s_line_t;

typedef enum { S_EQ, S_DEL, S_INS } s_op_kind_t;

/*  One step of the edit script; A and B are the positions in each text
    before the step (the line an EQ/DEL consumes is a[A], an INS b[B]). */
typedef struct {
    s_op_kind_t kind;
    size_t a;
    size_t b;
} s_op_t;

static s_line_t *
s_split_lines(const char *text, size_t len, size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        n += text[i] == '\n';
    }
    n += len > 0 && text[len - 1] != '\n';
    s_line_t *lines = fl_calloc(n ? n : 1, sizeof *lines);
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' || i == len - 1) {
            s_line_t *l = &lines[k++];
            l->s = text + start;
            l->len = i + 1 - start;
            uint64_t h = 1469598103934665603ULL;    /* FNV-1a */
            for (size_t j = 0; j < l->len; j++) {
                h = (h ^ (unsigned char) l->s[j]) * 1099511628211ULL;
            }
            l->hash = h;
            start = i + 1;
        }
    }
    *count = n;
    return lines;
}

static bool
s_line_eq(const s_line_t *x, const s_line_t *y)
{
    return x->hash == y->hash && x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static void
s_op_push(s_op_t **ops, size_t *n, size_t *cap, s_op_kind_t kind, size_t a, size_t b)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *ops = fl_realloc(*ops, *cap * sizeof **ops);
    }
    (*ops)[(*n)++] = (s_op_t) { kind, a, b };
}

/*  The shortest edit script of A (N lines) into B (M lines), appended to
    OPS in reverse order, positions offset by AO/BO.  False when it needs
    more than S_DIFF_MAX_EDITS edits (OPS untouched). */
static bool
s_myers(const s_line_t *a, size_t n, const s_line_t *b, size_t m, size_t ao, size_t bo,
        s_op_t **ops, size_t *nops, size_t *cap)
{
    long max = (long) (n + m);
    long dmax = max < S_DIFF_MAX_EDITS ? max : S_DIFF_MAX_EDITS;
    long off = dmax + 1;
    int32_t *v = fl_calloc((size_t) (2 * dmax + 3), sizeof *v);
    /* trace: V after step d, for k in [-d, d], at trace[d*d + k + d] */
    int32_t *trace = NULL;
    long found = -1;
    for (long d = 0; d <= dmax && found < 0; d++) {
        for (long k = -d; k <= d; k += 2) {
            long x;
            if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) {
                x = v[off + k + 1];
            } else {
                x = v[off + k - 1] + 1;
            }
            long y = x - k;
            while (x < (long) n && y < (long) m && s_line_eq(&a[x], &b[y])) {
                x++;
                y++;
            }
            v[off + k] = (int32_t) x;
            if (x >= (long) n && y >= (long) m) {
                found = d;
            }
        }
        trace = fl_realloc(trace, (size_t) ((d + 1) * (d + 1)) * sizeof *trace);
        memcpy(trace + d * d, v + off - d, (size_t) (2 * d + 1) * sizeof *trace);
    }
    free(v);
    if (found < 0) {
        free(trace);
        return false;
    }
    long x = (long) n, y = (long) m;
    for (long d = found; d > 0; d--) {
        const int32_t *vp = trace + (d - 1) * (d - 1) + (d - 1);   /* vp[k], k in [-(d-1), d-1] */
        long k = x - y;
        bool down = k == -d || (k != d && vp[k - 1] < vp[k + 1]);
        long pk = down ? k + 1 : k - 1;
        long px = vp[pk];
        long py = px - pk;
        /* the snake after the move */
        long sx = down ? px : px + 1;
        while (x > sx) {
            x--;
            y--;
            s_op_push(ops, nops, cap, S_EQ, ao + (size_t) x, bo + (size_t) y);
        }
        if (down) {
            s_op_push(ops, nops, cap, S_INS, ao + (size_t) px, bo + (size_t) py);
        } else {
            s_op_push(ops, nops, cap, S_DEL, ao + (size_t) px, bo + (size_t) py);
        }
        x = px;
        y = py;
    }
    while (x > 0) {
        x--;
        y--;
        s_op_push(ops, nops, cap, S_EQ, ao + (size_t) x, bo + (size_t) y);
    }
    free(trace);
    return true;
}

/*  difflib's range: "start,len", "start" when len is 1, "start-1,0" when
    empty. */
static void
s_range(st_file_buf_t *out, size_t start, size_t len)
{
    char tmp[64];
    if (len == 1) {
        snprintf(tmp, sizeof tmp, "%zu", start + 1);
    } else {
        snprintf(tmp, sizeof tmp, "%zu,%zu", len ? start + 1 : start, len);
    }
    st_file_buf_str(out, tmp);
}

static void
s_diff_line(st_file_buf_t *out, char mark, const s_line_t *l)
{
    st_file_buf_add(out, &mark, 1);
    st_file_buf_add(out, l->s, l->len);
    if (l->len == 0 || l->s[l->len - 1] != '\n') {
        st_file_buf_str(out, "\n\\ No newline at end of file\n");
    }
}

/*  The hunks of OPS, grouped as difflib's get_grouped_opcodes(3). */
static void
s_hunks(st_file_buf_t *out, const s_op_t *ops, size_t nops, const s_line_t *a, const s_line_t *b)
{
    size_t i = 0;
    while (i < nops && out->len <= S_DIFF_MAX_OUT) {
        size_t c = i;
        while (c < nops && ops[c].kind == S_EQ) {
            c++;
        }
        if (c == nops) {
            break;
        }
        size_t start = c >= i + S_DIFF_CONTEXT ? c - S_DIFF_CONTEXT : i;
        size_t last = c, j = c + 1;
        while (j < nops) {
            if (ops[j].kind != S_EQ) {
                last = j++;
                continue;
            }
            size_t r = j;
            while (r < nops && ops[r].kind == S_EQ) {
                r++;
            }
            if (r < nops && r - j <= 2 * S_DIFF_CONTEXT) {
                j = r;
                continue;
            }
            break;
        }
        size_t end = last + 1 + S_DIFF_CONTEXT < nops ? last + 1 + S_DIFF_CONTEXT : nops;
        size_t alen = 0, blen = 0;
        for (size_t k = start; k < end; k++) {
            alen += ops[k].kind != S_INS;
            blen += ops[k].kind != S_DEL;
        }
        st_file_buf_str(out, "@@ -");
        s_range(out, ops[start].a, alen);
        st_file_buf_str(out, " +");
        s_range(out, ops[start].b, blen);
        st_file_buf_str(out, " @@\n");
        for (size_t k = start; k < end; k++) {
            if (ops[k].kind == S_EQ) {
                s_diff_line(out, ' ', &a[ops[k].a]);
            } else if (ops[k].kind == S_DEL) {
                s_diff_line(out, '-', &a[ops[k].a]);
            } else {
                s_diff_line(out, '+', &b[ops[k].b]);
            }
        }
        i = end;
    }
}

char *
st_file_diff(const char *old_text, size_t old_len, const char *new_text, size_t new_len)
{
    if (old_len == new_len && memcmp(old_text, new_text, old_len) == 0) {
        return fl_strdup("");
    }
    if (memchr(old_text, '\0', old_len) || memchr(new_text, '\0', new_len)) {
        return fl_strdup("Replace binary file");
    }
    if (old_len > S_DIFF_MAX_BYTES || new_len > S_DIFF_MAX_BYTES) {
        return fl_strdup("<diff too large>");
    }
    size_t n, m;
    s_line_t *a = s_split_lines(old_text, old_len, &n);
    s_line_t *b = s_split_lines(new_text, new_len, &m);
    if (n > S_DIFF_MAX_LINES || m > S_DIFF_MAX_LINES) {
        free(a);
        free(b);
        return fl_strdup("<diff too large>");
    }
    size_t pre = 0;
    while (pre < n && pre < m && s_line_eq(&a[pre], &b[pre])) {
        pre++;
    }
    size_t suf = 0;
    while (suf < n - pre && suf < m - pre && s_line_eq(&a[n - 1 - suf], &b[m - 1 - suf])) {
        suf++;
    }
    /* the script is built backwards: suffix, middle, prefix; then reversed */
    s_op_t *ops = NULL;
    size_t nops = 0, cap = 0;
    for (size_t k = 0; k < suf; k++) {
        s_op_push(&ops, &nops, &cap, S_EQ, n - 1 - k, m - 1 - k);
    }
    size_t mn = n - pre - suf, mm = m - pre - suf;
    if (!s_myers(a + pre, mn, b + pre, mm, pre, pre, &ops, &nops, &cap)) {
        for (size_t k = mm; k > 0; k--) {
            s_op_push(&ops, &nops, &cap, S_INS, pre + mn, pre + k - 1);
        }
        for (size_t k = mn; k > 0; k--) {
            s_op_push(&ops, &nops, &cap, S_DEL, pre + k - 1, pre);
        }
    }
    for (size_t k = pre; k > 0; k--) {
        s_op_push(&ops, &nops, &cap, S_EQ, k - 1, k - 1);
    }
    for (size_t k = 0; k < nops / 2; k++) {
        s_op_t t = ops[k];
        ops[k] = ops[nops - 1 - k];
        ops[nops - 1 - k] = t;
    }
    st_file_buf_t out = { 0 };
    st_file_buf_str(&out, "--- \n+++ \n");
    s_hunks(&out, ops, nops, a, b);
    free(ops);
    free(a);
    free(b);
    if (out.len > S_DIFF_MAX_OUT) {
        free(out.data);
        return fl_strdup("<diff too large>");
    }
    return st_file_buf_take(&out);
}

/* ------------------------------------------------------------------ */
/*  The changes entry                                                 */

void
st_file_set_diff(json_t *changes, const char *old, size_t old_len, const char *text, size_t len,
                 bool show)
{
    if (!show) {
        json_object_set_new(changes, "diff", json_string("<show_changes=False>"));
        return;
    }
    char *diff = st_file_diff(old, old_len, text, len);
    json_object_set_new(changes, "diff", json_string(diff));
    free(diff);
}
