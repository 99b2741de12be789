/*  st_file_edit.c: the file.* states that edit a file in place (append,
    line, replace, comment): the file's lines in memory, Python's regex
    spellings in POSIX terms, re.sub's replacement template.  Each opens
    the file whole (s_edit_open), edits its text in memory and ends in
    s_edit_finish: the diff, then an atomic write keeping the file's mode
    and owner (st_file_write), unless in test mode.  See st_file.c for
    what all the file states share. */
#include "st_file_int.h"

#include <regex.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ */
/*  Lines of a file, for the editors                                  */

typedef struct {
    char **v;
    size_t n;
    size_t cap;
    bool last_nl;       /* the last line ends with '\n' */
} s_lines_t;

static void
s_lines_insert(s_lines_t *l, size_t at, const char *text, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = fl_realloc(l->v, l->cap * sizeof *l->v);
    }
    memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof *l->v);
    l->v[at] = fl_strndup(text, len);
    l->n++;
    if (at == l->n - 1) {
        l->last_nl = true;  /* a line we add ends with a newline */
    }
}

static void
s_lines_delete(s_lines_t *l, size_t at)
{
    free(l->v[at]);
    memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof *l->v);
    l->n--;
    if (at == l->n) {
        l->last_nl = true;  /* the new last line was followed by one */
    }
}

static void
s_lines_set(s_lines_t *l, size_t at, const char *text)
{
    free(l->v[at]);
    l->v[at] = fl_strdup(text);
}

static void
s_lines_parse(s_lines_t *l, const char *text, size_t len)
{
    memset(l, 0, sizeof *l);
    l->last_nl = true;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            s_lines_insert(l, l->n, text + start, i - start);
            start = i + 1;
        }
    }
    if (start < len) {
        s_lines_insert(l, l->n, text + start, len - start);
        l->last_nl = false;
    }
}

static char *
s_lines_join(const s_lines_t *l, size_t *len)
{
    st_file_buf_t b = { 0 };
    for (size_t i = 0; i < l->n; i++) {
        st_file_buf_str(&b, l->v[i]);
        if (i + 1 < l->n || l->last_nl) {
            st_file_buf_add(&b, "\n", 1);
        }
    }
    *len = b.len;
    return st_file_buf_take(&b);
}

static void
s_lines_free(s_lines_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/*  S without leading and trailing blanks, into a new string. */
static char *
s_trim(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
        n--;
    }
    return fl_strndup(s, n);
}

static bool
s_same_trimmed(const char *x, const char *y)
{
    char *tx = s_trim(x), *ty = s_trim(y);
    bool same = strcmp(tx, ty) == 0;
    free(tx);
    free(ty);
    return same;
}

/* ------------------------------------------------------------------ */
/*  Regular expressions                                               */

/*  Python's \d \s \w (and capitals) outside brackets, as POSIX classes,
    so patterns written for Salt's re module keep working. */
static char *
s_regex_translate(const char *pattern)
{
    st_file_buf_t b = { 0 };
    bool in_bracket = false;
    for (const char *p = pattern; *p; p++) {
        if (in_bracket) {
            st_file_buf_add(&b, p, 1);
            if (*p == ']') {
                in_bracket = false;
            }
            continue;
        }
        if (*p == '[') {
            in_bracket = true;
            st_file_buf_add(&b, p, 1);
            /* a ']' first (after an optional '^') is a member */
            if (p[1] == '^') {
                st_file_buf_add(&b, ++p, 1);
            }
            if (p[1] == ']') {
                st_file_buf_add(&b, ++p, 1);
            }
            continue;
        }
        if (*p == '\\' && p[1]) {
            const char *cls = NULL;
            switch (p[1]) {
            case 'd': cls = "[0-9]"; break;
            case 'D': cls = "[^0-9]"; break;
            case 's': cls = "[[:space:]]"; break;
            case 'S': cls = "[^[:space:]]"; break;
            case 'w': cls = "[[:alnum:]_]"; break;
            case 'W': cls = "[^[:alnum:]_]"; break;
            default: break;
            }
            if (cls) {
                st_file_buf_str(&b, cls);
            } else {
                st_file_buf_add(&b, p, 2);
            }
            p++;
            continue;
        }
        st_file_buf_add(&b, p, 1);
    }
    return st_file_buf_take(&b);
}

/*  Compiles PATTERN (extended, newline-sensitive); -1 after failing the
    state. */
static int
s_regcomp(regex_t *re, const char *what, const char *pattern, int flags, fl_st_ret_t *ret)
{
    char *translated = s_regex_translate(pattern);
    int rc = regcomp(re, translated, REG_EXTENDED | REG_NEWLINE | flags);
    free(translated);
    if (rc != 0) {
        char msg[256];
        regerror(rc, re, msg, sizeof msg);
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid %s '%s': %s", what, pattern, msg);
        return -1;
    }
    return 0;
}

static bool
s_regsearch(const regex_t *re, const char *line)
{
    return regexec(re, line, 0, NULL, 0) == 0;
}

/* ------------------------------------------------------------------ */
/*  file.append, file.line, file.replace, file.comment                */

/*  The file an editor works on: its text (*OLD, NULL when absent and
    CREATE allows it).  -1 after failing the state. */
static int
s_edit_open(const fl_st_ctx_t *ctx, const char *path, const char *name, bool create,
            bool makedirs, char **old, size_t *old_len, fl_st_ret_t *ret)
{
    bool failed;
    *old = st_file_read(path, name, old_len, &failed, ret);
    if (failed) {
        return -1;
    }
    if (*old && memchr(*old, '\0', *old_len)) {
        free(*old);
        *old = NULL;
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Cannot edit %s: it is a binary file", name);
        return -1;
    }
    if (!*old) {
        if (!create) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s: file not found", name);
            return -1;
        }
        *old_len = 0;
        return st_file_parent(ctx, path, name, makedirs, 0755, ret);
    }
    return 0;
}

/*  The end of every in-place editor (append, line, replace, comment):
    OLD (NULL = the file is new) becomes TEXT.  Writes unless in test mode
    or nothing changed, keeping the file's mode and owner. */
static void
s_edit_finish(const fl_st_ctx_t *ctx, const char *path, const char *name, const char *old,
              size_t old_len, const char *text, size_t len, bool show, const char *done,
              fl_st_ret_t *ret)
{
    if (old && old_len == len && memcmp(old, text, len) == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "File %s is in correct state", name);
        return;
    }
    st_file_set_diff(ret->changes, old ? old : "", old ? old_len : 0, text, len, show);
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "File %s is set to be updated", name);
        return;
    }
    struct stat st;
    bool exists = old && stat(path, &st) == 0;
    if (st_file_write(path, name, text, len,
                      exists ? st.st_mode & 07777 : st_file_default_mode(),
                      exists ? st.st_uid : (uid_t) -1, exists ? st.st_gid : (gid_t) -1, ret)
        != 0) {
        json_object_clear(ret->changes);
        return;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "%s", done);
}

void
st_file_append(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    s_lines_t lines = { 0 };
    bool makedirs, show;
    const json_t *tv = json_object_get(args, "text");
    json_t *items = json_is_array(tv) ? json_incref((json_t *) tv)
                    : tv && !json_is_null(tv) ? json_pack("[O]", tv)
                                              : json_array();
    if (st_file_bool(args, "makedirs", false, &makedirs, ret) != 0
        || st_file_bool(args, "show_changes", true, &show, ret) != 0) {
        goto done;
    }
    if (json_array_size(items) == 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.append: text is required");
        goto done;
    }
    if (s_edit_open(ctx, path, name, true, makedirs, &old, &old_len, ret) != 0) {
        goto done;
    }
    s_lines_parse(&lines, old ? old : "", old_len);
    size_t appended = 0;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        char *chunk = st_file_scalar_text(item);
        if (!chunk) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "file.append: text must be a string or a list of strings");
            goto done;
        }
        /* Salt appends what is not in the file already, wherever it is;
           blanks around a line do not make it different */
        s_lines_t add;
        s_lines_parse(&add, chunk, strlen(chunk));
        for (size_t k = 0; k < add.n; k++) {
            bool present = false;
            for (size_t j = 0; j < lines.n && !present; j++) {
                present = s_same_trimmed(lines.v[j], add.v[k]);
            }
            if (!present) {
                s_lines_insert(&lines, lines.n, add.v[k], strlen(add.v[k]));
                appended++;
            }
        }
        s_lines_free(&add);
        free(chunk);
    }
    text = s_lines_join(&lines, &len);
    char *done_msg = fl_sprintf("Appended %zu line%s", appended, appended == 1 ? "" : "s");
    s_edit_finish(ctx, path, name, old, old_len, text, len, show, done_msg, ret);
    free(done_msg);
done:
    s_lines_free(&lines);
    json_decref(items);
    free(text);
    free(old);
    free(path);
}

/*  What selects lines in file.line: a regular expression, or (when match
    falls back to content) the literal text. */
typedef struct {
    bool is_regex;
    regex_t re;
    const char *literal;
} s_matcher_t;

static bool
s_matches(const s_matcher_t *m, const char *line)
{
    return m->is_regex ? s_regsearch(&m->re, line) : strstr(line, m->literal) != NULL;
}

/*  The leading blanks of LINE, in front of CONTENT unless it has its own
    (Salt's indent=True). */
static char *
s_indented(const char *line, const char *content, bool indent)
{
    size_t ws = strspn(line, " \t");
    if (!indent || ws == 0 || content[0] == ' ' || content[0] == '\t') {
        return fl_strdup(content);
    }
    return fl_sprintf("%.*s%s", (int) ws, line, content);
}

/*  The first line at or after FROM matching M; N when none. */
static size_t
s_find(const s_lines_t *l, size_t from, const s_matcher_t *m)
{
    for (size_t i = from; i < l->n; i++) {
        if (s_matches(m, l->v[i])) {
            return i;
        }
    }
    return l->n;
}

static bool
s_has_line(const s_lines_t *l, const char *content)
{
    for (size_t i = 0; i < l->n; i++) {
        if (s_same_trimmed(l->v[i], content)) {
            return true;
        }
    }
    return false;
}

/*  Inserts CONTENT at AT, indented as the line ANCHOR (or not). */
static void
s_insert_at(s_lines_t *l, size_t at, const char *content, const char *anchor, bool indent)
{
    char *text = anchor ? s_indented(anchor, content, indent) : fl_strdup(content);
    s_lines_insert(l, at, text, strlen(text));
    free(text);
}

/*  The lines between the AFTER and BEFORE anchors (either may be absent):
    *LO is the first line after AFTER, *HI the BEFORE line (or N).  -1
    after failing the state when an anchor given is not found. */
static int
s_anchors(const s_lines_t *l, const s_matcher_t *after, const s_matcher_t *before, size_t *lo,
          size_t *hi, fl_st_ret_t *ret)
{
    size_t ia = 0;
    if (after) {
        ia = s_find(l, 0, after);
        if (ia == l->n) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Pattern given in 'after' was not found");
            return -1;
        }
        ia++;
    }
    size_t ib = l->n;
    if (before) {
        ib = s_find(l, ia, before);
        if (ib == l->n) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Pattern given in 'before' was not found%s",
                          after ? " after 'after'" : "");
            return -1;
        }
    }
    *lo = ia;
    *hi = ib;
    return 0;
}

/*  file.line's edit of L; -1 after failing the state. */
static int
s_line_edit(s_lines_t *l, const char *mode, const char *content, const s_matcher_t *match,
            bool explicit_match, const s_matcher_t *after, const s_matcher_t *before,
            const char *location, bool indent, fl_st_ret_t *ret)
{
    if (strcmp(mode, "delete") == 0) {
        for (size_t i = 0; i < l->n;) {
            if (s_matches(match, l->v[i])) {
                s_lines_delete(l, i);
            } else {
                i++;
            }
        }
        return 0;
    }
    if (strcmp(mode, "replace") == 0) {
        for (size_t i = 0; i < l->n; i++) {
            if (s_matches(match, l->v[i])) {
                char *text = s_indented(l->v[i], content, indent);
                s_lines_set(l, i, text);
                free(text);
            }
        }
        return 0;
    }
    bool insert = strcmp(mode, "insert") == 0;
    if (!insert && strcmp(mode, "ensure") != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: mode '%s' is not one of ensure, replace, delete, insert",
                      mode);
        return -1;
    }
    bool at_start = location && strcmp(location, "start") == 0;
    if (location && !at_start && strcmp(location, "end") != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: location must be start or end");
        return -1;
    }
    if (!after && !before) {
        if (s_has_line(l, content)) {
            return 0;
        }
        if (!insert && explicit_match) {
            size_t i = s_find(l, 0, match);
            if (i < l->n) {
                char *text = s_indented(l->v[i], content, indent);
                s_lines_set(l, i, text);
                free(text);
                return 0;
            }
        }
        s_insert_at(l, at_start ? 0 : l->n, content, NULL, false);
        return 0;
    }
    size_t lo, hi;
    if (s_anchors(l, after, before, &lo, &hi, ret) != 0) {
        return -1;
    }
    if (insert) {
        /* already somewhere between the anchors: nothing to do */
        for (size_t i = lo; i < (before ? hi : l->n); i++) {
            if (s_same_trimmed(l->v[i], content)) {
                return 0;
            }
        }
        if (after) {
            s_insert_at(l, lo, content, l->v[lo - 1], indent);
        } else {
            s_insert_at(l, hi, content, l->v[hi], indent);
        }
        return 0;
    }
    /* ensure: CONTENT is the line right after AFTER / right before BEFORE */
    if (after && before) {
        if (hi == lo) {
            s_insert_at(l, lo, content, l->v[lo - 1], indent);
        } else if (hi == lo + 1) {
            if (!s_same_trimmed(l->v[lo], content)) {
                char *text = s_indented(l->v[lo], content, indent);
                s_lines_set(l, lo, text);
                free(text);
            }
        } else {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Found more than one line between boundaries \"before\" and "
                               "\"after\"");
            return -1;
        }
        return 0;
    }
    size_t at = after ? lo : hi - 1;   /* the line that should be CONTENT */
    bool inside = after ? at < l->n : hi > 0;
    if (inside && s_same_trimmed(l->v[at], content)) {
        return 0;
    }
    if (inside && explicit_match && s_matches(match, l->v[at])) {
        char *text = s_indented(l->v[at], content, indent);
        s_lines_set(l, at, text);
        free(text);
    } else if (after) {
        s_insert_at(l, lo, content, l->v[lo - 1], indent);
    } else {
        s_insert_at(l, hi, content, l->v[hi], indent);
    }
    return 0;
}

/*  Compiles the regex argument KEY into M; *SET false when absent.  -1
    after failing the state. */
static int
s_matcher(const json_t *args, const char *key, s_matcher_t *m, bool *set, fl_st_ret_t *ret)
{
    const char *pattern;
    *set = false;
    if (st_file_str(args, key, &pattern, ret) != 0) {
        return -1;
    }
    if (!pattern) {
        return 0;
    }
    if (s_regcomp(&m->re, key, pattern, 0, ret) != 0) {
        return -1;
    }
    m->is_regex = true;
    *set = true;
    return 0;
}

void
st_file_line(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *text = NULL, *content = NULL;
    size_t old_len = 0, len = 0;
    s_lines_t lines = { 0 };
    s_matcher_t match = { 0 }, after = { 0 }, before = { 0 };
    bool has_match = false, has_after = false, has_before = false;
    bool create, show, indent;
    const char *mode, *location;
    const json_t *cv = json_object_get(args, "content");
    if (st_file_str(args, "mode", &mode, ret) != 0
        || st_file_str(args, "location", &location, ret) != 0
        || st_file_bool(args, "create", false, &create, ret) != 0
        || st_file_bool(args, "show_changes", true, &show, ret) != 0
        || st_file_bool(args, "indent", true, &indent, ret) != 0) {
        goto done;
    }
    if (!mode) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: mode is required (ensure, replace, delete or insert)");
        goto done;
    }
    content = cv && !json_is_null(cv) ? st_file_scalar_text(cv) : NULL;
    if (cv && !json_is_null(cv) && !content) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: content must be a string");
        goto done;
    }
    if (content && strchr(content, '\n')) {
        /* one line: a trailing newline from a YAML block is not part of it */
        content[strcspn(content, "\n")] = '\0';
    }
    if (s_matcher(args, "match", &match, &has_match, ret) != 0
        || s_matcher(args, "after", &after, &has_after, ret) != 0
        || s_matcher(args, "before", &before, &has_before, ret) != 0) {
        goto done;
    }
    if (!content && (strcmp(mode, "delete") != 0 || !has_match)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.line: content is required%s",
                      strcmp(mode, "delete") == 0 ? " (or match, to delete)" : "");
        goto done;
    }
    if (!has_match) {
        /* Salt: without match, the content itself selects the line */
        match.literal = content;
    }
    if (s_edit_open(ctx, path, name, create, false, &old, &old_len, ret) != 0) {
        goto done;
    }
    s_lines_parse(&lines, old ? old : "", old_len);
    if (s_line_edit(&lines, mode, content, &match, has_match, has_after ? &after : NULL,
                    has_before ? &before : NULL, location, indent, ret)
        != 0) {
        goto done;
    }
    text = s_lines_join(&lines, &len);
    s_edit_finish(ctx, path, name, old, old_len, text, len, show, "Changes were made", ret);
    if (ret->result == FL_ST_TRUE && json_object_size(ret->changes) == 0) {
        fl_st_comment(ret, "No changes needed to be made");
    } else if (ret->result == FL_ST_NONE) {
        fl_st_comment(ret, "Changes would be made");
    }
done:
    s_lines_free(&lines);
    if (has_match) {
        regfree(&match.re);
    }
    if (has_after) {
        regfree(&after.re);
    }
    if (has_before) {
        regfree(&before.re);
    }
    free(content);
    free(text);
    free(old);
    free(path);
}

/*  Python's re.sub template: \1..\9 and \g<N> are groups (\0 the whole
    match, as sed has it), \n \t \\ their characters; any other escape
    stays as written. */
static void
s_expand(st_file_buf_t *out, const char *repl, const char *subject, const regmatch_t *m, size_t nm)
{
    for (const char *p = repl; *p; p++) {
        if (*p != '\\' || !p[1]) {
            st_file_buf_add(out, p, 1);
            continue;
        }
        size_t group = SIZE_MAX;
        const char *next = p + 1;
        if (p[1] >= '0' && p[1] <= '9') {
            group = (size_t) (p[1] - '0');
            next = p + 1;
        } else if (p[1] == 'g' && p[2] == '<') {
            const char *close = strchr(p + 3, '>');
            if (close && close > p + 3 && strspn(p + 3, "0123456789") == (size_t) (close - p - 3)) {
                group = strtoul(p + 3, NULL, 10);
                next = close;
            }
        }
        if (group != SIZE_MAX) {
            if (group < nm && m[group].rm_so >= 0) {
                st_file_buf_add(out, subject + m[group].rm_so,
                                (size_t) (m[group].rm_eo - m[group].rm_so));
            }
            p = next;
        } else if (p[1] == 'n') {
            st_file_buf_add(out, "\n", 1);
            p++;
        } else if (p[1] == 't') {
            st_file_buf_add(out, "\t", 1);
            p++;
        } else if (p[1] == '\\') {
            st_file_buf_add(out, "\\", 1);
            p++;
        } else {
            st_file_buf_add(out, p, 2);
            p++;
        }
    }
}

/*  Is TEXT (one or more lines) somewhere in HAY as whole lines? */
static bool
s_has_block(const char *hay, size_t hay_len, const char *text)
{
    size_t n = strlen(text);
    const char *end = hay + hay_len;
    for (const char *p = hay; n > 0 && p < end;) {
        if ((size_t) (end - p) >= n && memcmp(p, text, n) == 0 && (p + n == end || p[n] == '\n')) {
            return true;
        }
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        p = nl ? nl + 1 : end;
    }
    return false;
}

void
st_file_replace(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *repl = NULL, *nf_content = NULL;
    st_file_buf_t out = { 0 };
    bool compiled = false;
    regex_t re;
    const char *pattern;
    bool append, prepend, ignore_missing, show;
    const json_t *countv = json_object_get(args, "count");
    const json_t *flags = json_object_get(args, "flags");
    if (st_file_str(args, "pattern", &pattern, ret) != 0
        || st_file_bool(args, "append_if_not_found", false, &append, ret) != 0
        || st_file_bool(args, "prepend_if_not_found", false, &prepend, ret) != 0
        || st_file_bool(args, "ignore_if_missing", false, &ignore_missing, ret) != 0
        || st_file_bool(args, "show_changes", true, &show, ret) != 0) {
        goto done;
    }
    const json_t *rv = json_object_get(args, "repl");
    repl = rv ? st_file_scalar_text(rv) : NULL;
    if (!pattern || !repl) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.replace: pattern and repl are required (repl a string)");
        goto done;
    }
    if (countv && (!json_is_integer(countv) || json_integer_value(countv) < 0)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.replace: count must be a non-negative integer (0 = all)");
        goto done;
    }
    json_int_t count = countv ? json_integer_value(countv) : 0;
    /* flags: Python's re flag names; IGNORECASE is the one POSIX has */
    int cflags = 0;
    json_t *flag_list = json_is_array(flags) ? json_incref((json_t *) flags)
                        : flags                ? json_pack("[O]", flags)
                                               : json_array();
    size_t fi;
    json_t *fv;
    json_array_foreach(flag_list, fi, fv) {
        const char *f = json_string_value(fv);
        if (f && (strcasecmp(f, "IGNORECASE") == 0 || strcasecmp(f, "I") == 0)) {
            cflags |= REG_ICASE;
        }
    }
    json_decref(flag_list);
    if (s_regcomp(&re, "pattern", pattern, cflags, ret) != 0) {
        goto done;
    }
    compiled = true;
    size_t old_len = 0;
    struct stat st;
    if (ignore_missing && lstat(path, &st) != 0 && errno == ENOENT) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "No changes needed to be made: %s does not exist", name);
        goto done;
    }
    if (s_edit_open(ctx, path, name, false, false, &old, &old_len, ret) != 0) {
        goto done;
    }

    /* re.sub over the whole text, MULTILINE as Salt passes it: REG_NEWLINE
       makes ^ and $ match at line ends; NOTBOL unless after a newline */
    size_t pos = 0;
    json_int_t done_n = 0;
    bool found = false;
    regmatch_t m[10];
    while (pos <= old_len) {
        int eflags = pos > 0 && old[pos - 1] != '\n' ? REG_NOTBOL : 0;
        if (regexec(&re, old + pos, FL_ARRAY_LEN(m), m, eflags) != 0) {
            break;
        }
        found = true;
        st_file_buf_add(&out, old + pos, (size_t) m[0].rm_so);
        s_expand(&out, repl, old + pos, m, FL_ARRAY_LEN(m));
        size_t end = pos + (size_t) m[0].rm_eo;
        if (m[0].rm_eo == m[0].rm_so) {
            /* an empty match: copy one character, as re.sub moves on */
            if (end < old_len) {
                st_file_buf_add(&out, old + end, 1);
            }
            pos = end + 1;
        } else {
            pos = end;
        }
        if (count > 0 && ++done_n >= count) {
            break;
        }
    }
    if (pos < old_len) {
        st_file_buf_add(&out, old + pos, old_len - pos);
    }
    if (!out.data) {
        st_file_buf_add(&out, "", 0);
    }
    if (!found && (append || prepend)) {
        const json_t *nfv = json_object_get(args, "not_found_content");
        nf_content = nfv && !json_is_null(nfv) ? st_file_scalar_text(nfv) : fl_strdup(repl);
        if (!nf_content) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "file.replace: not_found_content must be a string");
            goto done;
        }
        size_t nl = strlen(nf_content);
        while (nl > 0 && nf_content[nl - 1] == '\n') {
            nf_content[--nl] = '\0';
        }
        /* the content already there (added by an earlier run): done */
        if (!s_has_block(old, old_len, nf_content)) {
            st_file_buf_t b = { 0 };
            if (prepend) {
                st_file_buf_str(&b, nf_content);
                st_file_buf_add(&b, "\n", 1);
                st_file_buf_add(&b, out.data, out.len);
            } else {
                st_file_buf_add(&b, out.data, out.len);
                if (out.len > 0 && out.data[out.len - 1] != '\n') {
                    st_file_buf_add(&b, "\n", 1);
                }
                st_file_buf_str(&b, nf_content);
                st_file_buf_add(&b, "\n", 1);
            }
            free(out.data);
            out = b;
        }
    }
    s_edit_finish(ctx, path, name, old, old_len, out.data, out.len, show, "Changes were made", ret);
    if (ret->result == FL_ST_TRUE && json_object_size(ret->changes) == 0) {
        fl_st_comment(ret, "No changes needed to be made");
    } else if (ret->result == FL_ST_NONE) {
        fl_st_comment(ret, "Changes would have been made");
    }
done:
    if (compiled) {
        regfree(&re);
    }
    free(out.data);
    free(nf_content);
    free(repl);
    free(old);
    free(path);
}

void
st_file_comment(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *path = st_file_path(ctx, name, ret);
    if (!path) {
        return;
    }
    char *old = NULL, *text = NULL;
    size_t old_len = 0, len = 0;
    s_lines_t lines = { 0 };
    regex_t re;
    bool compiled = false, show;
    const char *regex, *cchar;
    if (st_file_str(args, "regex", &regex, ret) != 0 || st_file_str(args, "char", &cchar, ret) != 0
        || st_file_bool(args, "show_changes", true, &show, ret) != 0) {
        goto done;
    }
    cchar = cchar ? cchar : "#";
    if (!regex || !*cchar) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "file.comment: regex is required (and char may not be empty)");
        goto done;
    }
    if (s_regcomp(&re, "regex", regex, 0, ret) != 0) {
        goto done;
    }
    compiled = true;
    if (s_edit_open(ctx, path, name, false, false, &old, &old_len, ret) != 0) {
        goto done;
    }
    /* as Salt's comment_line: the regex must match from the line's start
       (re.match); POSIX gives the leftmost match, so rm_so == 0 says it */
    s_lines_parse(&lines, old, old_len);
    size_t cl = strlen(cchar);
    bool any = false, commented = false;
    for (size_t i = 0; i < lines.n; i++) {
        regmatch_t m;
        if (regexec(&re, lines.v[i], 1, &m, 0) == 0 && m.rm_so == 0) {
            char *c = fl_sprintf("%s%s", cchar, lines.v[i]);
            s_lines_set(&lines, i, c);
            free(c);
            any = true;
        } else if (strncmp(lines.v[i], cchar, cl) == 0
                   && regexec(&re, lines.v[i] + cl, 1, &m, 0) == 0 && m.rm_so == 0) {
            commented = true;
        }
    }
    if (!any) {
        ret->result = commented ? FL_ST_TRUE : FL_ST_FALSE;
        if (commented) {
            fl_st_comment(ret, "Pattern already commented");
        } else {
            fl_st_comment(ret, "%s: Pattern not found", regex);
        }
        goto done;
    }
    text = s_lines_join(&lines, &len);
    s_edit_finish(ctx, path, name, old, old_len, text, len, show, "Commented lines successfully",
                  ret);
done:
    if (compiled) {
        regfree(&re);
    }
    s_lines_free(&lines);
    free(text);
    free(old);
    free(path);
}
