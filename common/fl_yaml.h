/*  fl_yaml.h: a YAML document as a tree in which every node keeps its
    position, so that errors about meaning (an unknown key, a bad value)
    can point at file:line:col.  Built on libyaml; positions are 1-based
    (libyaml counts from 0).  Aliases are expanded with a bound on the
    total node count (no billion-laughs); duplicate map keys are errors. */
#ifndef FL_YAML_H
#define FL_YAML_H

#include "fl_diag.h"

#include <jansson.h>

typedef enum { FL_YAML_SCALAR, FL_YAML_SEQ, FL_YAML_MAP } fl_yaml_kind_t;

typedef struct fl_yaml_node fl_yaml_node_t;
struct fl_yaml_node {
    fl_yaml_kind_t kind;
    int line, col;          /* 1-based position of the node's start */
    char *tag;              /* explicit tag ("!!str"), or NULL */
    /* scalar */
    char *value;            /* NUL-terminated; len excludes the NUL */
    size_t len;
    bool plain;             /* unquoted: YAML 1.1 typing applies */
    /* sequence: items[0..count); map: keys[i] -> items[i] */
    size_t count;
    fl_yaml_node_t **items;
    fl_yaml_node_t **keys;
};

typedef struct fl_yaml_doc fl_yaml_doc_t;

/*  NULL when the text is not valid YAML; the reason is added to DIAG.
    An empty document gives a doc whose root is NULL. */
fl_yaml_doc_t *fl_yaml_parse_file(const char *path, fl_diag_t *diag);
fl_yaml_doc_t *fl_yaml_parse_string(const char *name, const char *text, size_t len,
                                    fl_diag_t *diag);
void fl_yaml_destroy(fl_yaml_doc_t **self_p);

/*  Borrowed; owned by the document. */
const fl_yaml_node_t *fl_yaml_root(const fl_yaml_doc_t *self);
const char *fl_yaml_name(const fl_yaml_doc_t *self);
/*  The value for KEY in a map node, or NULL. */
const fl_yaml_node_t *fl_yaml_map_get(const fl_yaml_node_t *map, const char *key);

/*  Converts a node to JSON with YAML 1.1 typing as Salt reads it: plain
    true/false/yes/no/on/off (any case) are booleans, ~/null/empty are null,
    integers (decimal, 0x hex, 0o octal; a leading 0 alone stays decimal, so an unquoted file mode 0644 is 644) and floats are numbers; quoted
    scalars and !!str stay strings.  Map keys become strings.  Errors (such
    as a key that is not a scalar) go to DIAG with FILE and the node's
    position; returns NULL then.  Caller owns the result. */
json_t *fl_yaml_to_json(const fl_yaml_node_t *node, const char *file, fl_diag_t *diag);

#endif
