/*  fl_sls.h: the state compiler.  Turns SLS files (Salt's format) into the
    ordered list of "low chunks" a minion executes, checking everything that
    can be checked before anything runs.  Runs on the master for each
    minion (with its grains and pillar) and in `fleetctl state show`.

    Per SLS file: render with fl_tmpl (context: grains, pillar, sls, id;
    only when the text has template syntax), parse YAML with positions,
    resolve ((name)) placeholders in scalar values (pillar first, then
    grains; nested keys with ':'), then read Salt's declarations:
      ID: {mod.fun: [args...]}  ID: {mod: [fun, args...]}  ID: mod.fun
    with `name` defaulting to ID, `names:` expanding to one state per name,
    `include:` (SLS names; relative `.foo` too), `exclude:` (- sls: X or
    - id: Y), `extend:` (merge args into a state defined elsewhere).
    Errors, each with file:line:column: duplicate IDs (across files too),
    duplicate keys, two functions of one module in one ID, arguments that
    are not one-key maps, a requisite naming nothing, a requisite cycle
    (naming the states in it), an include that does not exist.

    Requisites: require, watch, onchanges, onfail, prereq and their _in
    forms, matched by ID or by name (`- file: /etc/foo`, `- pkg: nginx`),
    or `- sls: web` (every state of that SLS).  `order:` (an int, or
    first/last) and definition order decide the sequence.

    The low chunk (one JSON object; the minion's fl_state runs them):
      {"id": ID, "sls": SLS, "file": PATH, "line": N, "col": N,
       "state": "file", "fun": "managed", "name": NAME,
       "args": {every other argument, incl. unless/onlyif/creates},
       "order": N, "require": [I...], "watch": [I...], "onchanges": [I...],
       "onfail": [I...], "prereq": [I...]}
    where I are indices into the returned array, which is in execution
    order (every chunk after all it requires, watches, ...; prereq is
    the exception: the prereq'd chunk runs after its test-mode check). */
#ifndef FL_SLS_H
#define FL_SLS_H

#include "fl_diag.h"
#include "fl_src.h"

#include <jansson.h>

/*  Compiles the SLS names in SLS_NAMES (array of strings, e.g. ["web",
    "db.server"]; "web" is web.sls or web/init.sls) from SRC.  Returns the
    chunk array (caller owns), or NULL with every error in DIAG. */
json_t *fl_sls_compile(fl_src_t *src, const json_t *sls_names, const char *minion_id,
                       const json_t *grains, const json_t *pillar, fl_diag_t *diag);

/*  Reads SRC's top.sls and returns the SLS names whose targets match the
    minion (environment "base"; match: glob, grain, grain_pcre, list, pcre,
    compound, pillar), in top-file order without duplicates.  An absent
    top.sls gives an empty array.  NULL with DIAG on errors. */
json_t *fl_top_match(fl_src_t *src, const char *minion_id, const json_t *grains,
                     const json_t *pillar, fl_diag_t *diag);

/*  Pillar for one minion: the SLS files its pillar top.sls targets,
    rendered with the minion's grains, merged in top-file order (maps merge
    recursively, later values win).  {} when nothing targets it. */
json_t *fl_pillar_compile(fl_src_t *src, const char *minion_id, const json_t *grains,
                          fl_diag_t *diag);

#endif
