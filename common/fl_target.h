/*  fl_target.h: Salt's targeting syntax.  A target is compiled once (all
    syntax errors reported with their column, before anything is sent) and
    then matched against many minions cheaply.

    glob      'pi-*'              fnmatch on the minion id (the default)
    list      'a,b,c'             exact ids
    grain     'os:Debian'         KEY[:SUBKEY...]:GLOB on grains; a list
                                  grain matches when any element matches
    grain_pcre 'os:Deb.*'         same with a regex
    pcre      'pi-[0-9]+'         POSIX extended regex on the id (anchored
                                  at the start, like Python's re.match)
    compound  'G@os:Debian and pi-* or L@a,b and not E@x.*'
              prefixes G@ L@ E@ P@ (grain pcre) and plain globs;
              and, or, not, parentheses; not binds tighter than and,
              and tighter than or. */
#ifndef FL_TARGET_H
#define FL_TARGET_H

#include "fl_diag.h"

#include <jansson.h>

typedef enum {
    FL_TGT_GLOB = 0,
    FL_TGT_LIST,
    FL_TGT_GRAIN,
    FL_TGT_GRAIN_PCRE,
    FL_TGT_PCRE,
    FL_TGT_COMPOUND
} fl_tgt_type_t;

/*  "glob", "list", "grain", "grain_pcre", "pcre", "compound"; -1 if unknown. */
int fl_tgt_type_parse(const char *name, fl_tgt_type_t *out);
const char *fl_tgt_type_name(fl_tgt_type_t type);

typedef struct fl_target fl_target_t;

/*  NULL when EXPR is not a valid target of TYPE; the errors go to DIAG with
    file "<target>", line 1 and the 1-based column of the offending token. */
fl_target_t *fl_target_new(const char *expr, fl_tgt_type_t type, fl_diag_t *diag);
void fl_target_destroy(fl_target_t **self_p);

/*  GRAINS is the minion's grains object (may be NULL: grain terms fail). */
bool fl_target_match(const fl_target_t *self, const char *minion_id, const json_t *grains);
/*  True when the target can only match ids named in it (list, or a glob
    without wildcards): the master can then skip scanning every minion. */
bool fl_target_is_exact(const fl_target_t *self);

#endif
