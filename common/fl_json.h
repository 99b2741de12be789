/*  fl_json.h: helpers over jansson shared by master, minion and fleetctl. */
#ifndef FL_JSON_H
#define FL_JSON_H

#include "fl_prelude.h"

#include <jansson.h>

/*  Looks up KEY in a nested object, with ':' separating levels
    ("ip_interfaces:eth0"), as Salt's grains.get and -G targets do.  Borrowed;
    NULL when absent. */
const json_t *fl_json_lookup(const json_t *root, const char *key);
/*  Nesting depth of V (a scalar is 1).  Stops counting past LIMIT. */
int fl_json_depth(const json_t *v, int limit);
/*  Compact, key-sorted text of V; caller frees. */
char *fl_json_compact(const json_t *v);
/*  The string member KEY of OBJ, or NULL when absent or not a string. */
const char *fl_json_str(const json_t *obj, const char *key);

#endif
