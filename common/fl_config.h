/*  fl_config.h: configuration files driven by a typed table (as in Redis'
    config.c): each key has a name, a type, a default, bounds and a line of
    documentation.  The same table validates the file and documents it.
    Every error names file:line:column; unknown keys are errors (with a
    "did you mean" hint when one is close). */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include "fl_diag.h"

#include <jansson.h>

typedef enum {
    FL_CFG_STRING,      /* any scalar, kept as text */
    FL_CFG_PATH,        /* a path; relative ones are resolved against the
                           directory of the config file */
    FL_CFG_INT,         /* integer within [min, max] */
    FL_CFG_BOOL,        /* YAML 1.1 booleans */
    FL_CFG_LOGLEVEL,    /* error|warning|notice|info|debug */
    FL_CFG_ENDPOINT,    /* tcp://HOST:PORT (PORT may be * for the master's listen) */
    FL_CFG_MAP,         /* any mapping, kept as JSON (e.g. static grains) */
    FL_CFG_LIST         /* any sequence, kept as JSON */
} fl_cfg_type_t;

typedef struct {
    const char *name;
    fl_cfg_type_t type;
    const char *default_value;  /* text as it would appear in the file; NULL = unset */
    int64_t min, max;           /* FL_CFG_INT bounds */
    bool required;
    const char *doc;
} fl_cfg_spec_t;

typedef struct fl_config fl_config_t;

/*  Loads PATH against SPEC[0..n).  NULL when there is any error; every
    error has been added to DIAG.  A missing required key is an error at
    line 1 col 1 of the file. */
fl_config_t *fl_config_load(const char *path, const fl_cfg_spec_t *spec, size_t n,
                            fl_diag_t *diag);
/*  Same, from text (NAME is used in positions and relative paths resolve
    against BASE_DIR). */
fl_config_t *fl_config_load_string(const char *name, const char *text, const char *base_dir,
                                   const fl_cfg_spec_t *spec, size_t n, fl_diag_t *diag);
void fl_config_destroy(fl_config_t **self_p);

/*  Values; NULL/0/false when the key is unset.  Strings are borrowed.
    Asking for a name not in the table aborts (it is a programming error). */
const char *fl_config_str(const fl_config_t *self, const char *name);
int64_t fl_config_int(const fl_config_t *self, const char *name);
bool fl_config_bool(const fl_config_t *self, const char *name);
/*  FL_CFG_MAP / FL_CFG_LIST values; borrowed; NULL when unset. */
const json_t *fl_config_json(const fl_config_t *self, const char *name);
/*  True when the file set the key (not the default). */
bool fl_config_is_set(const fl_config_t *self, const char *name);
/*  The path of the loaded file. */
const char *fl_config_file(const fl_config_t *self);

/*  What both daemons do at start: load PATH against SPEC, print any errors
    to stderr (CFEngine style), and set the log level from the file's
    log_level key (debug when DEBUG).  NULL on a bad file. */
fl_config_t *fl_config_load_daemon(const char *path, const fl_cfg_spec_t *spec, size_t n,
                                   bool debug);

/*  Writes the table as documentation (name, type, default, doc), one key
    per line, for --help-config and the README. */
void fl_config_print_spec(const fl_cfg_spec_t *spec, size_t n, FILE *out);

#endif
