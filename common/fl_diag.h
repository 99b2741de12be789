/*  fl_diag.h: a list of diagnostics with positions.  Parsers never print:
    they add {file, line, col, severity, msg, hint} here, and the caller
    reports the list once (CFEngine style: file:line:col: error: msg, then
    the source line and a caret).  The list travels to fleetctl as JSON. */
#ifndef FL_DIAG_H
#define FL_DIAG_H

#include "fl_prelude.h"

#include <jansson.h>

typedef enum { FL_DIAG_ERROR = 0, FL_DIAG_WARNING } fl_diag_severity_t;

typedef struct {
    char *file;     /* "master.yaml", "<target>"; never NULL */
    int line;       /* 1-based; 0 when not known */
    int col;        /* 1-based; 0 when not known */
    fl_diag_severity_t severity;
    char *msg;
    char *hint;     /* may be NULL */
} fl_diag_item_t;

typedef struct fl_diag fl_diag_t;

fl_diag_t *fl_diag_new(void);
void fl_diag_destroy(fl_diag_t **self_p);

void fl_diag_add(fl_diag_t *self, const char *file, int line, int col,
                 fl_diag_severity_t severity, const char *hint, const char *fmt, ...)
    FL_PRINTF(7, 8);
#define fl_diag_error(d, file, line, col, ...) \
    fl_diag_add((d), (file), (line), (col), FL_DIAG_ERROR, NULL, __VA_ARGS__)

size_t fl_diag_count(const fl_diag_t *self);
size_t fl_diag_errors(const fl_diag_t *self);
/*  Borrowed; valid until the list is destroyed. */
const fl_diag_item_t *fl_diag_item(const fl_diag_t *self, size_t index);

/*  Prints every item as "file:line:col: error: msg", followed, when FILE can
    be read (or SOURCE is given for that file), by the source line and a
    caret; stops after 20 items with a count of the rest. */
void fl_diag_print(const fl_diag_t *self, FILE *out);
/*  Same as print, into a new string; caller frees. */
char *fl_diag_format(const fl_diag_t *self);
/*  Remembers the text of FILE so print can show lines of in-memory input. */
void fl_diag_set_source(fl_diag_t *self, const char *file, const char *text);

/*  [{"file":..,"line":..,"col":..,"severity":"error","msg":..,"hint":..}] */
json_t *fl_diag_to_json(const fl_diag_t *self);
/*  Appends the items of a JSON array made by fl_diag_to_json; -1 if malformed. */
int fl_diag_add_json(fl_diag_t *self, const json_t *array);

#endif
