/*  fl_diag.c: a list of diagnostics with positions, printed CFEngine style.

    Parsers add items here and never print.  The caller prints the whole
    list once:

        master.yaml:3:1: error: unknown key 'listn'
            listn: tcp://127.0.0.1:4506
            ^
        hint: did you mean 'listen'?

    The source line is shown when the file can be read, or when its text was
    registered with fl_diag_set_source (input that never was a file, such as
    a target expression or a string handed to the YAML parser).  Columns are
    counted in characters (as libyaml counts them), so the caret is placed
    by counting UTF-8 code points, and tabs in the source line are copied
    into the caret line to keep it aligned.  Control characters in a shown
    line are replaced by '?': the text may come from anywhere and must not
    drive the terminal. */
#include "fl_diag.h"
#include "fl_util.h"

#include <assert.h>
#include <limits.h>

/*  Items printed before "... and N more errors". */
#define FL_DIAG_MAX_PRINT 20
/*  Source lines longer than this are shown as a window around the column. */
#define FL_DIAG_MAX_LINE 160
/*  A file bigger than this is not read back for source lines. */
#define FL_DIAG_MAX_SOURCE (4u * 1024 * 1024)

typedef struct {
    char *file;
    char *text;     /* NULL when the file could not be read */
} s_source_t;

struct fl_diag {
    fl_diag_item_t *items;
    size_t count, cap;
    size_t errors;
    s_source_t *sources;
    size_t nsources;
};

fl_diag_t *
fl_diag_new(void)
{
    fl_diag_t *self = fl_calloc(1, sizeof *self);
    return self;
}

static void
s_sources_free(s_source_t *sources, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(sources[i].file);
        free(sources[i].text);
    }
    free(sources);
}

void
fl_diag_destroy(fl_diag_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_diag_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].file);
        free(self->items[i].msg);
        free(self->items[i].hint);
    }
    free(self->items);
    s_sources_free(self->sources, self->nsources);
    free(self);
    *self_p = NULL;
}

/*  Appends one item; takes ownership of MSG and HINT. */
static void
s_append(fl_diag_t *self, const char *file, int line, int col, fl_diag_severity_t severity,
         char *hint, char *msg)
{
    if (self->count == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 8;
        self->items = fl_realloc(self->items, self->cap * sizeof *self->items);
    }
    fl_diag_item_t *item = &self->items[self->count++];
    item->file = fl_strdup(file ? file : "<input>");
    item->line = line > 0 ? line : 0;
    item->col = col > 0 ? col : 0;
    item->severity = severity == FL_DIAG_WARNING ? FL_DIAG_WARNING : FL_DIAG_ERROR;
    item->msg = msg;
    item->hint = hint;
    if (item->severity == FL_DIAG_ERROR) {
        self->errors++;
    }
}

void
fl_diag_add(fl_diag_t *self, const char *file, int line, int col, fl_diag_severity_t severity,
            const char *hint, const char *fmt, ...)
{
    assert(self);
    va_list ap;
    va_start(ap, fmt);
    char *msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    s_append(self, file, line, col, severity, hint ? fl_strdup(hint) : NULL, msg);
}

size_t
fl_diag_count(const fl_diag_t *self)
{
    return self ? self->count : 0;
}

size_t
fl_diag_errors(const fl_diag_t *self)
{
    return self ? self->errors : 0;
}

const fl_diag_item_t *
fl_diag_item(const fl_diag_t *self, size_t index)
{
    if (!self || index >= self->count) {
        return NULL;
    }
    return &self->items[index];
}

void
fl_diag_set_source(fl_diag_t *self, const char *file, const char *text)
{
    assert(self && file);
    for (size_t i = 0; i < self->nsources; i++) {
        if (strcmp(self->sources[i].file, file) == 0) {
            free(self->sources[i].text);
            self->sources[i].text = text ? fl_strdup(text) : NULL;
            return;
        }
    }
    self->sources = fl_realloc(self->sources, (self->nsources + 1) * sizeof *self->sources);
    self->sources[self->nsources].file = fl_strdup(file);
    self->sources[self->nsources].text = text ? fl_strdup(text) : NULL;
    self->nsources++;
}

/*  The text of FILE: registered, or read once per print into CACHE. */
static const char *
s_source_text(const fl_diag_t *self, const char *file, s_source_t **cache, size_t *ncache)
{
    for (size_t i = 0; i < self->nsources; i++) {
        if (strcmp(self->sources[i].file, file) == 0) {
            return self->sources[i].text;
        }
    }
    for (size_t i = 0; i < *ncache; i++) {
        if (strcmp((*cache)[i].file, file) == 0) {
            return (*cache)[i].text;
        }
    }
    /* Names such as "<target>" are not files. */
    char *text = file[0] == '<' ? NULL : fl_file_read(file, FL_DIAG_MAX_SOURCE, NULL);
    *cache = fl_realloc(*cache, (*ncache + 1) * sizeof **cache);
    (*cache)[*ncache].file = fl_strdup(file);
    (*cache)[*ncache].text = text;
    (*ncache)++;
    return text;
}

/*  Start and length of line LINE (1-based) of TEXT; false when there is
    no such line. */
static bool
s_find_line(const char *text, int line, const char **start, size_t *len)
{
    const char *p = text;
    for (int i = 1; i < line; i++) {
        p = strchr(p, '\n');
        if (!p) {
            return false;
        }
        p++;
    }
    if (*p == '\0' && line > 1 && p[-1] == '\n') {
        /* One past the last line (an error "at end of file"): show nothing. */
        return false;
    }
    size_t n = strcspn(p, "\n");
    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }
    *start = p;
    *len = n;
    return true;
}

static bool
s_is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/*  Prints the source line and a caret under column COL (in characters). */
static void
s_print_source(FILE *out, const char *line, size_t len, int col)
{
    /* Byte offset of column COL (or the end of the line when it is past). */
    size_t at = 0;
    for (int c = 1; c < col && at < len; c++) {
        at++;
        while (at < len && s_is_cont((unsigned char) line[at])) {
            at++;
        }
    }
    /* A window around the column for very long lines. */
    size_t from = 0, to = len;
    if (len > FL_DIAG_MAX_LINE) {
        if (at > FL_DIAG_MAX_LINE / 2) {
            from = at - FL_DIAG_MAX_LINE / 2;
        }
        if (len - from > FL_DIAG_MAX_LINE) {
            to = from + FL_DIAG_MAX_LINE;
        }
        while (from > 0 && s_is_cont((unsigned char) line[from])) {
            from--;
        }
        while (to < len && s_is_cont((unsigned char) line[to])) {
            to++;
        }
    }
    fputs("    ", out);
    if (from > 0) {
        fputs("...", out);
    }
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char) line[i];
        fputc(c == '\t' || c >= 0x20 ? (c == 0x7F ? '?' : c) : '?', out);
    }
    if (to < len) {
        fputs("...", out);
    }
    fputc('\n', out);
    if (col <= 0 || at > to) {
        return;
    }
    fputs("    ", out);
    if (from > 0) {
        fputs("   ", out);
    }
    for (size_t i = from; i < at; i++) {
        unsigned char c = (unsigned char) line[i];
        if (c == '\t') {
            fputc('\t', out);
        } else if (!s_is_cont(c)) {
            fputc(' ', out);
        }
    }
    fputs("^\n", out);
}

static void
s_print_item(const fl_diag_t *self, const fl_diag_item_t *item, FILE *out, s_source_t **cache,
             size_t *ncache)
{
    const char *sev = item->severity == FL_DIAG_WARNING ? "warning" : "error";
    if (item->line > 0 && item->col > 0) {
        fprintf(out, "%s:%d:%d: %s: %s\n", item->file, item->line, item->col, sev, item->msg);
    } else if (item->line > 0) {
        fprintf(out, "%s:%d: %s: %s\n", item->file, item->line, sev, item->msg);
    } else {
        fprintf(out, "%s: %s: %s\n", item->file, sev, item->msg);
    }
    if (item->line > 0) {
        const char *text = s_source_text(self, item->file, cache, ncache);
        const char *start;
        size_t len;
        if (text && s_find_line(text, item->line, &start, &len)) {
            s_print_source(out, start, len, item->col);
        }
    }
    if (item->hint) {
        fprintf(out, "hint: %s\n", item->hint);
    }
}

void
fl_diag_print(const fl_diag_t *self, FILE *out)
{
    if (!self) {
        return;
    }
    s_source_t *cache = NULL;
    size_t ncache = 0;
    size_t shown = self->count < FL_DIAG_MAX_PRINT ? self->count : FL_DIAG_MAX_PRINT;
    for (size_t i = 0; i < shown; i++) {
        s_print_item(self, &self->items[i], out, &cache, &ncache);
    }
    if (self->count > shown) {
        size_t rest = self->count - shown;
        fprintf(out, "... and %zu more %s\n", rest, rest == 1 ? "error" : "errors");
    }
    s_sources_free(cache, ncache);
}

char *
fl_diag_format(const fl_diag_t *self)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (!out) {
        fputs("fleet: out of memory (open_memstream)\n", stderr);
        abort();
    }
    fl_diag_print(self, out);
    fclose(out);
    return buf;
}

/*  A JSON string of S; bytes that are not UTF-8 become '?' (a message may
    quote bytes of a broken file). */
static json_t *
s_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j) {
        return j;
    }
    char *copy = fl_strdup(s);
    for (char *p = copy; *p; p++) {
        if ((unsigned char) *p >= 0x80) {
            *p = '?';
        }
    }
    j = json_string(copy);
    free(copy);
    assert(j);
    return j;
}

json_t *
fl_diag_to_json(const fl_diag_t *self)
{
    json_t *array = json_array();
    for (size_t i = 0; self && i < self->count; i++) {
        const fl_diag_item_t *item = &self->items[i];
        json_t *obj = json_object();
        json_object_set_new(obj, "file", s_json_text(item->file));
        json_object_set_new(obj, "line", json_integer(item->line));
        json_object_set_new(obj, "col", json_integer(item->col));
        json_object_set_new(obj, "severity", json_string(item->severity == FL_DIAG_WARNING
                                                             ? "warning"
                                                             : "error"));
        json_object_set_new(obj, "msg", s_json_text(item->msg));
        json_object_set_new(obj, "hint", item->hint ? s_json_text(item->hint) : json_null());
        json_array_append_new(array, obj);
    }
    return array;
}

/*  Checks one element of an array made by fl_diag_to_json. */
static bool
s_json_item_ok(const json_t *obj)
{
    if (!json_is_object(obj)) {
        return false;
    }
    const json_t *file = json_object_get(obj, "file");
    const json_t *line = json_object_get(obj, "line");
    const json_t *col = json_object_get(obj, "col");
    const json_t *sev = json_object_get(obj, "severity");
    const json_t *msg = json_object_get(obj, "msg");
    const json_t *hint = json_object_get(obj, "hint");
    if (!json_is_string(file) || !json_is_string(msg) || !json_is_string(sev)) {
        return false;
    }
    if (!json_is_integer(line) || !json_is_integer(col)) {
        return false;
    }
    if (json_integer_value(line) < 0 || json_integer_value(line) > INT_MAX
        || json_integer_value(col) < 0 || json_integer_value(col) > INT_MAX) {
        return false;
    }
    if (strcmp(json_string_value(sev), "error") != 0
        && strcmp(json_string_value(sev), "warning") != 0) {
        return false;
    }
    if (hint && !json_is_null(hint) && !json_is_string(hint)) {
        return false;
    }
    return true;
}

int
fl_diag_add_json(fl_diag_t *self, const json_t *array)
{
    assert(self);
    if (!json_is_array(array)) {
        return -1;
    }
    /* All or nothing: check every item before adding any. */
    for (size_t i = 0; i < json_array_size(array); i++) {
        if (!s_json_item_ok(json_array_get(array, i))) {
            return -1;
        }
    }
    for (size_t i = 0; i < json_array_size(array); i++) {
        const json_t *obj = json_array_get(array, i);
        const json_t *hint = json_object_get(obj, "hint");
        const char *sev = json_string_value(json_object_get(obj, "severity"));
        s_append(self, json_string_value(json_object_get(obj, "file")),
                 (int) json_integer_value(json_object_get(obj, "line")),
                 (int) json_integer_value(json_object_get(obj, "col")),
                 strcmp(sev, "warning") == 0 ? FL_DIAG_WARNING : FL_DIAG_ERROR,
                 json_is_string(hint) ? fl_strdup(json_string_value(hint)) : NULL,
                 fl_strdup(json_string_value(json_object_get(obj, "msg"))));
    }
    return 0;
}
