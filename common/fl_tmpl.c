/*  fl_tmpl.c: the public face of the template engine (see fl_tmpl.h and,
    for how it works, fl_tmpl_int.h).  Parse, evaluate, and on failure
    register the source with the diagnostics so that printing them shows
    the template line under each message. */
#include "fl_tmpl.h"
#include "fl_tmpl_int.h"

char *
fl_tmpl_render(const char *name, const char *text, const json_t *context, fl_diag_t *diag)
{
    if (!name) {
        name = "<template>";
    }
    if (!text) {
        fl_diag_error(diag, name, 0, 0, "no template text");
        return NULL;
    }
    fl_tmpl_doc_t *doc = fl_tmpl_parse_run(name, text, diag);
    char *out = doc ? fl_tmpl_eval_run(doc, context, diag) : NULL;
    fl_tmpl_parse_free(&doc);
    if (!out) {
        fl_diag_set_source(diag, name, text);
    }
    return out;
}

bool
fl_tmpl_has_syntax(const char *text)
{
    if (!text) {
        return false;
    }
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        if (p[1] == '{' || p[1] == '%' || p[1] == '#') {
            return true;
        }
    }
    return false;
}
