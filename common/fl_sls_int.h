/*  fl_sls_int.h: the state compiler's insides, shared by fl_sls.c (files,
    declarations, include/exclude/extend), fl_sls_chunk.c (values,
    placeholders, names, chunks), fl_sls_req.c (requisites and ordering)
    and fl_top.c (top files and pillar).  Not for use outside them. */
#ifndef FL_SLS_INT_H
#define FL_SLS_INT_H

#include "fl_sls.h"
#include "fl_yaml.h"

#include <jansson.h>

/*  Largest depth of include chains (a loop is cut by "already loaded"
    long before; this bounds the C stack on adversarial trees). */
#define FL_SLS_MAX_INCLUDE_DEPTH 64

typedef enum {
    FL_SLS_REQ_REQUIRE = 0,
    FL_SLS_REQ_WATCH,
    FL_SLS_REQ_ONCHANGES,
    FL_SLS_REQ_ONFAIL,
    FL_SLS_REQ_PREREQ,
    FL_SLS_REQ_COUNT
} fl_sls_req_kind_t;

/*  "require", "watch", ... */
const char *fl_sls_req_kind_name(fl_sls_req_kind_t kind);
/*  The requisite KEY names ("require", "watch_in"): 1 with *KIND and *IN
    set; 0 when KEY is an ordinary argument; -1 when it is a requisite
    Salt has and fleet does not support (use, listen, *_any ...). */
int fl_sls_req_parse_key(const char *key, fl_sls_req_kind_t *kind, bool *in);

/*  One SLS file, loaded once. */
typedef struct {
    char *sls;              /* "web.server" */
    char *path;             /* "web/server.sls" */
    fl_yaml_doc_t *doc;     /* NULL when it could not be parsed */
} fl_sls_file_t;

/*  One argument as written (`- key: value`), with the file it came from
    (extend may bring it from another file). */
typedef struct {
    const fl_yaml_node_t *key;
    const fl_yaml_node_t *value;
    const fl_sls_file_t *file;
} fl_sls_arg_t;

/*  One state declaration: an ID and one module of it. */
typedef struct {
    char *id;
    const fl_sls_file_t *file;
    char *mod;
    char *fun;
    int line, col;          /* the function's key */
    int id_line, id_col;    /* the ID's key */
    size_t seq;             /* definition order */
    fl_sls_arg_t *args;
    size_t nargs, cap;
    bool excluded;
} fl_sls_decl_t;

/*  A requisite as written: `- require: [- MOD: TARGET]`. */
typedef struct {
    fl_sls_req_kind_t kind;
    bool in;                /* the _in form */
    char *mod;              /* a module, or "sls" / "id" */
    char *target;
    const char *file;
    int line, col;
} fl_sls_req_t;

/*  One low chunk while compiling. */
typedef struct {
    const fl_sls_decl_t *decl;
    char *name;
    json_t *args;           /* the other arguments */
    int order_group;        /* 0 first, 1 order: N>=0, 2 none, 3 order: N<0, 4 last */
    double order_value;
    size_t sub;             /* creation order: the last tie-breaker */
    fl_sls_req_t *reqs;
    size_t nreqs, reqcap;
} fl_sls_chunk_t;

/*  The compiler's state for one fl_sls_compile. */
typedef struct {
    const fl_sls_file_t *file;
    const fl_yaml_node_t *node;
} fl_sls_pending_t;

typedef struct {
    fl_src_t *src;
    const char *minion_id;
    json_t *grains;         /* never NULL */
    json_t *pillar;         /* never NULL */
    fl_diag_t *diag;
    fl_sls_file_t **files;
    size_t nfiles, filecap;
    fl_sls_decl_t **decls;
    size_t ndecls, declcap;
    json_t *ids;            /* ID -> [decl index, ...] */
    fl_sls_pending_t *extends;
    size_t nextends, extcap;
    fl_sls_pending_t *excludes;
    size_t nexcludes, exccap;
    fl_sls_chunk_t *chunks;
    size_t nchunks, chunkcap;
    size_t seq;
} fl_sls_ctx_t;

/*  fl_sls_chunk.c.  NODE (written in FILE) as JSON, ((placeholders))
    resolved in every scalar value; NULL after an error. */
json_t *fl_sls_value(fl_sls_ctx_t *ctx, const fl_yaml_node_t *node, const char *file);
/*  Scalar NODE as a non-empty string (a name, a requisite target): the
    text as written, or with placeholders resolved.  NULL after an error
    naming WHAT.  Caller frees. */
char *fl_sls_text(fl_sls_ctx_t *ctx, const fl_yaml_node_t *node, const char *file,
                  const char *what);
/*  Adds the chunks of declaration D to CTX: one, or one per `names:` item. */
void fl_sls_chunks_of(fl_sls_ctx_t *ctx, const fl_sls_decl_t *d);
/*  Frees what C holds. */
void fl_sls_chunk_clear(fl_sls_chunk_t *c);

/*  fl_sls_req.c.  Compiles and orders the chunks: the low-chunk array (see fl_sls.h),
    or NULL after adding the errors (requisites naming nothing, cycles)
    to DIAG. */
json_t *fl_sls_order(fl_sls_chunk_t *chunks, size_t nchunks, fl_diag_t *diag);

/*  True when NAME is a well-formed SLS name ("web", "web.server"). */
bool fl_sls_name_ok(const char *name);
/*  Resolves a relative include (".foo", "..foo") written in SLS FROM
    (IS_INIT when FROM is a package's init.sls).  A new string, or NULL
    with the reason in *ERR (caller frees). */
char *fl_sls_relative(const char *from, bool is_init, const char *inc, char **err);
/*  Finds SLS NAME in SRC (NAME.sls, then NAME/init.sls), renders it with
    CONTEXT when it has template syntax and parses it.  0 with *PATH
    (caller frees) and *DOC (caller destroys; its root may be NULL for an
    empty file); 1 when neither file exists; -1 after adding the errors
    to DIAG.  Read errors are reported at FILE:LINE:COL (the include or
    top-file entry that named NAME). */
int fl_sls_load(fl_src_t *src, const char *name, const json_t *context, fl_diag_t *diag,
                const char *file, int line, int col, char **path, fl_yaml_doc_t **doc);

/*  Top files: the SLS names TOP.SLS in SRC assigns to the minion, as
    [{"sls": NAME, "line": N, "col": N}] (positions in "top.sls"), in
    top-file order without duplicates.  [] when there is no top.sls; NULL
    after errors. */
json_t *fl_top_entries(fl_src_t *src, const char *minion_id, const json_t *grains,
                       const json_t *pillar, fl_diag_t *diag);

#endif
