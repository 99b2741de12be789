/*  fl_yaml.c: YAML to a tree of nodes that keep their positions.

    Why events and not libyaml's document API: the document loader keeps
    aliases as shared nodes and does not check duplicate keys, and it gives
    no hook to bound the work.  Building the tree from events lets us do
    every check the moment the input is seen:

    - the input is at most 4 MiB (FL_YAML_MAX_INPUT);
    - nesting is at most 64 collections deep (FL_YAML_MAX_DEPTH), also
      after aliases are expanded;
    - aliases are expanded by copying the anchored node, and the whole
      document may hold at most FL_YAML_MAX_NODES nodes and
      FL_YAML_MAX_EXPANDED bytes of scalar text, so "billion laughs" input
      fails early instead of eating the machine;
    - an alias to an undefined anchor, or to a node still being built
      (a recursive alias), is an error;
    - a duplicate key in a map is an error at the second key that names the
      position of the first;
    - YAML 1.1 merge keys (`<<: *base`, `<<: [*a, *b]`) are applied when
      the map ends, as PyYAML (and so Salt) does: keys written in the map
      win over merged ones, and earlier merged maps win over later ones
      (merged pairs are copies: the merged map may be aliased again);
    - only one document per stream (Salt's loader says the same).

    Parsers never print: every problem goes to the diag list with a 1-based
    position.  libyaml counts lines and columns from 0 (in characters), and
    its reader errors carry a byte offset, which is turned into line:col
    here.  A document that is empty, or only "---", or a lone empty plain
    scalar, has a NULL root.

    fl_yaml_to_json applies YAML 1.1 implicit typing as PyYAML's resolver
    does (and so as Salt reads states, pillar and config), with three
    deliberate differences: 0o17 is an octal integer (YAML 1.2 spelling, as
    the header promises) while 0644 is the decimal 644 (so that an unquoted
    file mode means what it looks like, instead of 420), and sexagesimal numbers ("22:22" is 1342 in YAML
    1.1) are not recognised: they stay strings, which is what people mean
    when they write a port mapping or a time.  Floats need a '.' and an
    exponent needs a sign ("1.5e+3"; "1e5" stays a string), as in PyYAML.
    Integers outside 64 bits and .inf/.nan (which JSON cannot hold) are
    errors. */
#include "fl_yaml.h"
#include "fl_util.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <yaml.h>

#define FL_YAML_MAX_INPUT (4u * 1024 * 1024)
#define FL_YAML_MAX_DEPTH 64
#define FL_YAML_MAX_NODES 100000
#define FL_YAML_MAX_EXPANDED (64u * 1024 * 1024)

#define S_YAML_TAG_PREFIX "tag:yaml.org,2002:"
#define S_ANCHOR_BUCKETS 256

struct fl_yaml_doc {
    char *name;
    fl_yaml_node_t *root;
};

typedef struct s_anchor {
    char *name;
    fl_yaml_node_t *node;   /* borrowed from the tree */
    bool complete;          /* false while the collection is being built */
    struct s_anchor *next;
} s_anchor_t;

typedef struct {
    fl_yaml_node_t *node;   /* the collection being built (owned by the tree) */
    fl_yaml_node_t *key;    /* maps: a key waiting for its value (owned here) */
    size_t cap;
    s_anchor_t *anchor;     /* to mark complete at the end, or NULL */
} s_frame_t;

typedef struct {
    const char *file;
    fl_diag_t *diag;
    const char *text;
    size_t len;
    s_frame_t stack[FL_YAML_MAX_DEPTH];
    int depth;
    fl_yaml_node_t *root;
    int documents;
    size_t nodes;
    size_t bytes;
    bool failed;            /* an error was reported; the parse goes on */
    s_anchor_t *anchors[S_ANCHOR_BUCKETS];
    fl_yaml_node_t **dead;  /* merge keys and values, freed at the end */
    size_t ndead, capdead;
} s_builder_t;

/*  --------------------------------------------------------------------
    Nodes */

static void
s_node_free(fl_yaml_node_t *node)
{
    if (!node) {
        return;
    }
    for (size_t i = 0; i < node->count; i++) {
        if (node->keys) {
            s_node_free(node->keys[i]);
        }
        s_node_free(node->items[i]);
    }
    free(node->items);
    free(node->keys);
    free(node->tag);
    free(node->value);
    free(node);
}

static void
s_error(s_builder_t *b, int line, int col, const char *hint, const char *fmt, ...)
    FL_PRINTF(5, 6);

static void
s_error(s_builder_t *b, int line, int col, const char *hint, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    fl_diag_add(b->diag, b->file, line, col, FL_DIAG_ERROR, hint, "%s", msg);
    free(msg);
    b->failed = true;
}

/*  Counts one more node against the limit; false (and an error) past it. */
static bool
s_count_node(s_builder_t *b, int line, int col)
{
    if (++b->nodes > FL_YAML_MAX_NODES) {
        s_error(b, line, col, "check for aliases that expand to huge trees",
                "document has more than %d nodes (after alias expansion)", FL_YAML_MAX_NODES);
        return false;
    }
    return true;
}

static bool
s_count_bytes(s_builder_t *b, size_t len, int line, int col)
{
    b->bytes += len;
    if (b->bytes > FL_YAML_MAX_EXPANDED) {
        s_error(b, line, col, "check for aliases that repeat large scalars",
                "document holds more than %u MiB of text after alias expansion",
                FL_YAML_MAX_EXPANDED / (1024 * 1024));
        return false;
    }
    return true;
}

/*  "tag:yaml.org,2002:str" is shown as "!!str", as it was written. */
static char *
s_tag_dup(const yaml_char_t *tag)
{
    if (!tag) {
        return NULL;
    }
    const char *t = (const char *) tag;
    size_t n = strlen(S_YAML_TAG_PREFIX);
    if (strncmp(t, S_YAML_TAG_PREFIX, n) == 0) {
        return fl_sprintf("!!%s", t + n);
    }
    return fl_strdup(t);
}

static fl_yaml_node_t *
s_node_new(fl_yaml_kind_t kind, int line, int col, char *tag)
{
    fl_yaml_node_t *node = fl_calloc(1, sizeof *node);
    node->kind = kind;
    node->line = line;
    node->col = col;
    node->tag = tag;
    return node;
}

/*  A copy of SRC placed at nesting LEVEL (collections open around it);
    NULL (and an error at ALINE:ACOL, the alias) past a limit. */
static fl_yaml_node_t *
s_copy(s_builder_t *b, const fl_yaml_node_t *src, int level, int aline, int acol)
{
    if (!s_count_node(b, aline, acol)) {
        return NULL;
    }
    fl_yaml_node_t *node = s_node_new(src->kind, src->line, src->col,
                                      src->tag ? fl_strdup(src->tag) : NULL);
    if (src->kind == FL_YAML_SCALAR) {
        if (!s_count_bytes(b, src->len, aline, acol)) {
            s_node_free(node);
            return NULL;
        }
        node->value = fl_malloc(src->len + 1);
        memcpy(node->value, src->value, src->len + 1);
        node->len = src->len;
        node->plain = src->plain;
        return node;
    }
    if (level >= FL_YAML_MAX_DEPTH) {
        s_error(b, aline, acol, NULL, "nesting deeper than %d levels (after alias expansion)",
                FL_YAML_MAX_DEPTH);
        s_node_free(node);
        return NULL;
    }
    node->items = fl_calloc(src->count, sizeof *node->items);
    if (src->kind == FL_YAML_MAP) {
        node->keys = fl_calloc(src->count, sizeof *node->keys);
    }
    for (size_t i = 0; i < src->count; i++) {
        /* count each pair as it starts, so a failure frees what was made */
        node->count = i + 1;
        if (src->kind == FL_YAML_MAP) {
            node->keys[i] = s_copy(b, src->keys[i], level + 1, aline, acol);
            if (!node->keys[i]) {
                s_node_free(node);
                return NULL;
            }
        }
        node->items[i] = s_copy(b, src->items[i], level + 1, aline, acol);
        if (!node->items[i]) {
            s_node_free(node);
            return NULL;
        }
    }
    return node;
}

/*  --------------------------------------------------------------------
    Anchors: a small chained hash table; a later definition shadows an
    earlier one of the same name, as YAML says. */

static uint32_t
s_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= 16777619u;
    }
    return h;
}

static s_anchor_t *
s_anchor_add(s_builder_t *b, const yaml_char_t *name, fl_yaml_node_t *node, bool complete)
{
    if (!name) {
        return NULL;
    }
    const char *n = (const char *) name;
    s_anchor_t *a = fl_calloc(1, sizeof *a);
    a->name = fl_strdup(n);
    a->node = node;
    a->complete = complete;
    uint32_t h = s_hash(n, strlen(n)) % S_ANCHOR_BUCKETS;
    a->next = b->anchors[h];
    b->anchors[h] = a;
    return a;
}

static s_anchor_t *
s_anchor_find(s_builder_t *b, const char *name)
{
    uint32_t h = s_hash(name, strlen(name)) % S_ANCHOR_BUCKETS;
    for (s_anchor_t *a = b->anchors[h]; a; a = a->next) {
        if (strcmp(a->name, name) == 0) {
            return a;
        }
    }
    return NULL;
}

/*  --------------------------------------------------------------------
    Duplicate keys and merge keys */

static bool
s_is_merge_key(const fl_yaml_node_t *key)
{
    return key->kind == FL_YAML_SCALAR && key->plain && key->len == 2
        && strcmp(key->value, "<<") == 0
        && (!key->tag || strcmp(key->tag, "!!merge") == 0);
}

static bool
s_same_key(const fl_yaml_node_t *a, const fl_yaml_node_t *b)
{
    return a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

/*  An open-addressing set of scalar keys (indices into a key array). */
typedef struct {
    const fl_yaml_node_t **slots;
    size_t mask;
} s_keyset_t;

static void
s_keyset_init(s_keyset_t *set, size_t n)
{
    size_t size = 16;
    while (size < 2 * n) {
        size *= 2;
    }
    set->slots = fl_calloc(size, sizeof *set->slots);
    set->mask = size - 1;
}

/*  Adds KEY; returns the key already there with the same text, or NULL. */
static const fl_yaml_node_t *
s_keyset_add(s_keyset_t *set, const fl_yaml_node_t *key)
{
    size_t i = s_hash(key->value, key->len) & set->mask;
    while (set->slots[i]) {
        if (s_same_key(set->slots[i], key)) {
            return set->slots[i];
        }
        i = (i + 1) & set->mask;
    }
    set->slots[i] = key;
    return NULL;
}

static void
s_map_push(fl_yaml_node_t *map, size_t *cap, fl_yaml_node_t *key, fl_yaml_node_t *value)
{
    if (map->count == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        map->keys = fl_realloc(map->keys, *cap * sizeof *map->keys);
        map->items = fl_realloc(map->items, *cap * sizeof *map->items);
    }
    map->keys[map->count] = key;
    map->items[map->count] = value;
    map->count++;
}

/*  Keeps NODE until the parse ends: anchors may still point into it. */
static void
s_bury(s_builder_t *b, fl_yaml_node_t *node)
{
    if (b->ndead == b->capdead) {
        b->capdead = b->capdead ? b->capdead * 2 : 8;
        b->dead = fl_realloc(b->dead, b->capdead * sizeof *b->dead);
    }
    b->dead[b->ndead++] = node;
}

/*  Copies into OUT the pairs of merge source SRC whose keys are not yet in
    SET.  Copies, not moves: SRC (or a node inside it) may be anchored and
    aliased again later.  -1 when a limit is hit. */
static int
s_merge_from(s_builder_t *b, fl_yaml_node_t *out, size_t *cap, s_keyset_t *set,
             const fl_yaml_node_t *src, int level, const fl_yaml_node_t *at)
{
    for (size_t j = 0; j < src->count; j++) {
        const fl_yaml_node_t *k = src->keys[j], *v = src->items[j];
        if (k->kind == FL_YAML_SCALAR && s_keyset_add(set, k)) {
            continue;
        }
        fl_yaml_node_t *ck = s_copy(b, k, level, at->line, at->col);
        if (!ck) {
            return -1;
        }
        fl_yaml_node_t *cv = s_copy(b, v, level, at->line, at->col);
        if (!cv) {
            s_node_free(ck);
            return -1;
        }
        s_map_push(out, cap, ck, cv);
    }
    return 0;
}

/*  Checks duplicate keys of MAP and applies its merge keys; LEVEL is the
    nesting level of MAP's values.  -1 when a limit is hit. */
static int
s_map_finish(s_builder_t *b, fl_yaml_node_t *map, int level)
{
    s_keyset_t set;
    s_keyset_init(&set, map->count);
    bool merges = false;
    for (size_t i = 0; i < map->count; i++) {
        const fl_yaml_node_t *key = map->keys[i];
        if (key->kind != FL_YAML_SCALAR) {
            continue;
        }
        const fl_yaml_node_t *first = s_keyset_add(&set, key);
        if (first) {
            s_error(b, key->line, key->col, NULL,
                    "duplicate key '%.*s' (first defined at line %d, column %d)",
                    key->len > 64 ? 64 : (int) key->len, key->value, first->line, first->col);
        }
        if (s_is_merge_key(key)) {
            merges = true;
        }
    }
    free(set.slots);
    if (!merges) {
        return 0;
    }
    /* Check the merge values; the key set is rebuilt from the explicit keys
       only, so that they win over anything merged. */
    size_t extra = 0;
    bool ok = true;
    for (size_t i = 0; i < map->count; i++) {
        if (!s_is_merge_key(map->keys[i])) {
            continue;
        }
        const fl_yaml_node_t *v = map->items[i];
        if (v->kind == FL_YAML_MAP) {
            extra += v->count;
            continue;
        }
        bool seq_ok = v->kind == FL_YAML_SEQ;
        for (size_t j = 0; seq_ok && j < v->count; j++) {
            seq_ok = v->items[j]->kind == FL_YAML_MAP;
            extra += seq_ok ? v->items[j]->count : 0;
        }
        if (!seq_ok) {
            s_error(b, v->line, v->col, "write '<<: *anchor' or '<<: [*a, *b]'",
                    "the value of a merge key '<<' must be a map or a list of maps");
            ok = false;
        }
    }
    if (!ok) {
        return 0;
    }
    s_keyset_init(&set, map->count + extra);
    for (size_t i = 0; i < map->count; i++) {
        if (map->keys[i]->kind == FL_YAML_SCALAR && !s_is_merge_key(map->keys[i])) {
            s_keyset_add(&set, map->keys[i]);
        }
    }
    fl_yaml_node_t **keys = map->keys, **items = map->items;
    size_t count = map->count, cap = 0;
    map->keys = map->items = NULL;
    map->count = 0;
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        if (!s_is_merge_key(keys[i])) {
            s_map_push(map, &cap, keys[i], items[i]);
            continue;
        }
        const fl_yaml_node_t *v = items[i];
        if (rc == 0 && v->kind == FL_YAML_MAP) {
            rc = s_merge_from(b, map, &cap, &set, v, level, keys[i]);
        }
        for (size_t j = 0; rc == 0 && v->kind == FL_YAML_SEQ && j < v->count; j++) {
            rc = s_merge_from(b, map, &cap, &set, v->items[j], level, keys[i]);
        }
        s_bury(b, keys[i]);
        s_bury(b, items[i]);
    }
    free(keys);
    free(items);
    free(set.slots);
    return rc;
}

/*  --------------------------------------------------------------------
    Building the tree from events */

/*  Hangs NODE (complete or just started) under the innermost collection. */
static void
s_attach(s_builder_t *b, fl_yaml_node_t *node)
{
    if (b->depth == 0) {
        assert(!b->root);
        b->root = node;
        return;
    }
    s_frame_t *f = &b->stack[b->depth - 1];
    if (f->node->kind == FL_YAML_SEQ) {
        if (f->node->count == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 4;
            f->node->items = fl_realloc(f->node->items, f->cap * sizeof *f->node->items);
        }
        f->node->items[f->node->count++] = node;
    } else if (!f->key) {
        f->key = node;
    } else {
        s_map_push(f->node, &f->cap, f->key, node);
        f->key = NULL;
    }
}

static int
s_on_scalar(s_builder_t *b, const yaml_event_t *ev)
{
    int line = (int) ev->start_mark.line + 1, col = (int) ev->start_mark.column + 1;
    size_t len = ev->data.scalar.length;
    if (!s_count_node(b, line, col) || !s_count_bytes(b, len, line, col)) {
        return -1;
    }
    fl_yaml_node_t *node = s_node_new(FL_YAML_SCALAR, line, col, s_tag_dup(ev->data.scalar.tag));
    node->value = fl_malloc(len + 1);
    memcpy(node->value, ev->data.scalar.value, len);
    node->value[len] = '\0';
    node->len = len;
    node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    s_anchor_add(b, ev->data.scalar.anchor, node, true);
    s_attach(b, node);
    return 0;
}

static int
s_on_alias(s_builder_t *b, const yaml_event_t *ev)
{
    int line = (int) ev->start_mark.line + 1, col = (int) ev->start_mark.column + 1;
    const char *name = (const char *) ev->data.alias.anchor;
    s_anchor_t *a = s_anchor_find(b, name);
    if (!a) {
        s_error(b, line, col, "define it first with '&name' on the node to repeat",
                "undefined alias '*%.64s'", name);
        return -1;
    }
    if (!a->complete) {
        s_error(b, line, col, NULL, "recursive alias '*%.64s' (refers to a node that contains it)",
                name);
        return -1;
    }
    fl_yaml_node_t *copy = s_copy(b, a->node, b->depth, line, col);
    if (!copy) {
        return -1;
    }
    s_attach(b, copy);
    return 0;
}

static int
s_on_start(s_builder_t *b, const yaml_event_t *ev, fl_yaml_kind_t kind)
{
    int line = (int) ev->start_mark.line + 1, col = (int) ev->start_mark.column + 1;
    if (b->depth >= FL_YAML_MAX_DEPTH) {
        s_error(b, line, col, NULL, "nesting deeper than %d levels", FL_YAML_MAX_DEPTH);
        return -1;
    }
    if (!s_count_node(b, line, col)) {
        return -1;
    }
    const yaml_char_t *tag, *anchor;
    if (kind == FL_YAML_MAP) {
        tag = ev->data.mapping_start.tag;
        anchor = ev->data.mapping_start.anchor;
    } else {
        tag = ev->data.sequence_start.tag;
        anchor = ev->data.sequence_start.anchor;
    }
    fl_yaml_node_t *node = s_node_new(kind, line, col, s_tag_dup(tag));
    s_attach(b, node);
    s_frame_t *f = &b->stack[b->depth++];
    f->node = node;
    f->key = NULL;
    f->cap = 0;
    f->anchor = s_anchor_add(b, anchor, node, false);
    return 0;
}

static int
s_on_end(s_builder_t *b)
{
    assert(b->depth > 0);
    s_frame_t *f = &b->stack[--b->depth];
    assert(!f->key);
    if (f->node->kind == FL_YAML_MAP && s_map_finish(b, f->node, b->depth + 1) != 0) {
        return -1;
    }
    if (f->anchor) {
        f->anchor->complete = true;
    }
    return 0;
}

/*  Line and column (1-based, in characters) of byte OFFSET in the text. */
static void
s_offset_position(const s_builder_t *b, size_t offset, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < offset && i < b->len; i++) {
        unsigned char c = (unsigned char) b->text[i];
        if (c == '\n') {
            (*line)++;
            *col = 1;
        } else if ((c & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

/*  The byte at 0-based LINE and COLUMN (characters), or -1. */
static int
s_byte_at(const s_builder_t *b, size_t line, size_t column)
{
    size_t i = 0;
    for (size_t l = 0; l < line; l++) {
        const char *nl = memchr(b->text + i, '\n', b->len - i);
        if (!nl) {
            return -1;
        }
        i = (size_t) (nl - b->text) + 1;
    }
    for (size_t c = 0; c < column && i < b->len; c++) {
        i++;
        while (i < b->len && ((unsigned char) b->text[i] & 0xC0) == 0x80) {
            i++;
        }
    }
    return i < b->len ? (unsigned char) b->text[i] : -1;
}

static void
s_libyaml_error(s_builder_t *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        fputs("fleet: out of memory (libyaml)\n", stderr);
        abort();
    }
    const char *problem = p->problem ? p->problem : "invalid YAML";
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        s_offset_position(b, p->problem_offset, &line, &col);
        if (p->problem_value != -1) {
            s_error(b, line, col, "the file must be UTF-8 (or UTF-16 with a BOM) text",
                    "%s (#x%X)", problem, (unsigned) p->problem_value);
        } else {
            s_error(b, line, col, "the file must be UTF-8 (or UTF-16 with a BOM) text", "%s",
                    problem);
        }
        return;
    }
    line = (int) p->problem_mark.line + 1;
    col = (int) p->problem_mark.column + 1;
    const char *hint = NULL;
    if (s_byte_at(b, p->problem_mark.line, p->problem_mark.column) == '\t'
        || strstr(problem, "tab")) {
        hint = "YAML does not allow tabs for indentation: use spaces";
    }
    if (p->context) {
        s_error(b, line, col, hint, "%s (%s at line %d, column %d)", problem, p->context,
                (int) p->context_mark.line + 1, (int) p->context_mark.column + 1);
    } else {
        s_error(b, line, col, hint, "%s", problem);
    }
}

/*  Runs the event loop; 0 when the stream ended, -1 on a fatal error. */
static int
s_run(s_builder_t *b, yaml_parser_t *parser)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev)) {
            s_libyaml_error(b, parser);
            return -1;
        }
        int rc = 0;
        bool done = false;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (b->documents > 0) {
                s_error(b, (int) ev.start_mark.line + 1, (int) ev.start_mark.column + 1,
                        "split the file, or remove the second '---'",
                        "expected a single document, found another");
                rc = -1;
            }
            break;
        case YAML_DOCUMENT_END_EVENT:
            b->documents++;
            break;
        case YAML_SCALAR_EVENT:
            rc = s_on_scalar(b, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = s_on_alias(b, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = s_on_start(b, &ev, FL_YAML_SEQ);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = s_on_start(b, &ev, FL_YAML_MAP);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = s_on_end(b);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc != 0) {
            return -1;
        }
        if (done) {
            return 0;
        }
    }
}

static void
s_builder_cleanup(s_builder_t *b)
{
    for (size_t i = 0; i < S_ANCHOR_BUCKETS; i++) {
        s_anchor_t *a = b->anchors[i];
        while (a) {
            s_anchor_t *next = a->next;
            free(a->name);
            free(a);
            a = next;
        }
    }
    /* Open collections hang in the tree; only pending keys are apart. */
    for (int i = 0; i < b->depth; i++) {
        s_node_free(b->stack[i].key);
    }
    for (size_t i = 0; i < b->ndead; i++) {
        s_node_free(b->dead[i]);
    }
    free(b->dead);
}

fl_yaml_doc_t *
fl_yaml_parse_string(const char *name, const char *text, size_t len, fl_diag_t *diag)
{
    assert(diag);
    if (!name) {
        name = "<input>";
    }
    if (len > FL_YAML_MAX_INPUT) {
        fl_diag_error(diag, name, 0, 0, "input is larger than %u MiB",
                      FL_YAML_MAX_INPUT / (1024 * 1024));
        return NULL;
    }
    s_builder_t b;
    memset(&b, 0, sizeof b);
    b.file = name;
    b.diag = diag;
    b.text = text ? text : "";
    b.len = text ? len : 0;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fputs("fleet: out of memory (libyaml)\n", stderr);
        abort();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *) b.text, b.len);
    int rc = s_run(&b, &parser);
    yaml_parser_delete(&parser);
    s_builder_cleanup(&b);
    if (rc != 0 || b.failed) {
        s_node_free(b.root);
        return NULL;
    }
    fl_yaml_node_t *root = b.root;
    if (root && root->kind == FL_YAML_SCALAR && root->plain && !root->tag && root->len == 0) {
        s_node_free(root);
        root = NULL;
    }
    fl_yaml_doc_t *self = fl_calloc(1, sizeof *self);
    self->name = fl_strdup(name);
    self->root = root;
    return self;
}

fl_yaml_doc_t *
fl_yaml_parse_file(const char *path, fl_diag_t *diag)
{
    assert(path && diag);
    size_t len = 0;
    char *text = fl_file_read(path, FL_YAML_MAX_INPUT, &len);
    if (!text) {
        if (errno == EFBIG) {
            fl_diag_error(diag, path, 0, 0, "file is larger than %u MiB",
                          FL_YAML_MAX_INPUT / (1024 * 1024));
        } else {
            fl_diag_error(diag, path, 0, 0, "cannot read file: %s", strerror(errno));
        }
        return NULL;
    }
    fl_yaml_doc_t *self = fl_yaml_parse_string(path, text, len, diag);
    free(text);
    return self;
}

void
fl_yaml_destroy(fl_yaml_doc_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_yaml_doc_t *self = *self_p;
    s_node_free(self->root);
    free(self->name);
    free(self);
    *self_p = NULL;
}

const fl_yaml_node_t *
fl_yaml_root(const fl_yaml_doc_t *self)
{
    return self ? self->root : NULL;
}

const char *
fl_yaml_name(const fl_yaml_doc_t *self)
{
    return self ? self->name : NULL;
}

const fl_yaml_node_t *
fl_yaml_map_get(const fl_yaml_node_t *map, const char *key)
{
    if (!map || map->kind != FL_YAML_MAP || !key) {
        return NULL;
    }
    size_t n = strlen(key);
    for (size_t i = 0; i < map->count; i++) {
        const fl_yaml_node_t *k = map->keys[i];
        if (k->kind == FL_YAML_SCALAR && k->len == n && memcmp(k->value, key, n) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

/*  --------------------------------------------------------------------
    YAML 1.1 typing */

static bool
s_is_null(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0
        || strcmp(s, "NULL") == 0;
}

/*  1 true, 0 false, -1 not a boolean. */
static int
s_parse_bool(const char *s)
{
    static const char *yes[] = { "true", "yes", "on" };
    static const char *no[] = { "false", "no", "off" };
    for (size_t i = 0; i < FL_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            return 1;
        }
        if (strcasecmp(s, no[i]) == 0) {
            return 0;
        }
    }
    return -1;
}

static int
s_digit(char c, int base)
{
    int v;
    if (c >= '0' && c <= '9') {
        v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
    } else {
        return -1;
    }
    return v < base ? v : -1;
}

/*  1 and *OUT when S (of LEN bytes) is a YAML 1.1 integer, 0 when it is
    not one, -1 when it is one that does not fit in 64 bits. */
static int
s_parse_int(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        i++;
    }
    if (i >= len) {
        return 0;
    }
    int base = 10;
    if (s[i] == '0' && i + 1 < len) {
        char p = s[i + 1];
        if (p == 'x' || p == 'X') {
            base = 16;
            i += 2;
        } else if (p == 'o' || p == 'O') {
            base = 8;
            i += 2;
        } else if (p == 'b' || p == 'B') {
            base = 2;
            i += 2;
        } else {
            /* "0644" is 644, not YAML 1.1's octal 420: in state files a
               leading zero is a file mode, and file states read 644 as
               0644.  (0o17 is still octal.) */
            base = 10;
            i += 1;
        }
    } else if (s[i] < '0' || s[i] > '9') {
        return 0;
    }
    unsigned long long v = 0;
    bool digits = false, overflow = false;
    for (; i < len; i++) {
        if (s[i] == '_') {
            continue;
        }
        int d = s_digit(s[i], base);
        if (d < 0) {
            return 0;
        }
        digits = true;
        if (v > (ULLONG_MAX - (unsigned) d) / (unsigned) base) {
            overflow = true;
        } else {
            v = v * (unsigned) base + (unsigned) d;
        }
    }
    if (!digits) {
        return 0;
    }
    if (overflow || (!neg && v > (unsigned long long) LLONG_MAX)
        || (neg && v > (unsigned long long) LLONG_MAX + 1)) {
        return -1;
    }
    *out = neg ? (long long) (0 - v) : (long long) v;
    return 1;
}

/*  1 and *OUT when S is a YAML 1.1 float, 0 when it is not one, -1 when
    it is one that JSON cannot hold (inf, nan, overflow). */
static int
s_parse_float(const char *s, size_t len, double *out)
{
    size_t i = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        i++;
    }
    const char *rest = s + i;
    if (strcmp(rest, ".inf") == 0 || strcmp(rest, ".Inf") == 0 || strcmp(rest, ".INF") == 0
        || strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0) {
        return -1;
    }
    /* [0-9][0-9_]* '.' [0-9_]*  |  '.' [0-9][0-9_]*,  then ([eE][-+][0-9]+)? */
    size_t int_digits = 0, frac_digits = 0;
    bool leading_digit = i < len && s[i] >= '0' && s[i] <= '9';
    while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
        int_digits += s[i] != '_';
        i++;
    }
    if (i >= len || s[i] != '.') {
        return 0;
    }
    i++;
    bool frac_leading = i < len && s[i] >= '0' && s[i] <= '9';
    while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
        frac_digits += s[i] != '_';
        i++;
    }
    if (int_digits > 0 ? !leading_digit : !frac_leading) {
        return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i >= len || (s[i] != '-' && s[i] != '+')) {
            return 0;
        }
        i++;
        size_t exp_digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            exp_digits++;
            i++;
        }
        if (exp_digits == 0) {
            return 0;
        }
    }
    if (i != len) {
        return 0;
    }
    char *buf = fl_malloc(len + 1);
    size_t n = 0;
    for (size_t j = 0; j < len; j++) {
        if (s[j] != '_') {
            buf[n++] = s[j];
        }
    }
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    free(buf);
    if (!isfinite(v)) {
        return -1;
    }
    *out = v;
    return 1;
}

static void
s_json_error(const fl_yaml_node_t *node, const char *file, fl_diag_t *diag, const char *hint,
             const char *what)
{
    if (node->kind == FL_YAML_SCALAR) {
        fl_diag_add(diag, file, node->line, node->col, FL_DIAG_ERROR, hint, "%s: '%.64s%s'", what,
                    node->value, node->len > 64 ? "..." : "");
    } else {
        fl_diag_add(diag, file, node->line, node->col, FL_DIAG_ERROR, hint, "%s", what);
    }
}

static json_t *
s_scalar_string(const fl_yaml_node_t *node, const char *file, fl_diag_t *diag)
{
    json_t *j = json_stringn(node->value, node->len);
    if (!j) {
        s_json_error(node, file, diag, NULL, "string is not valid UTF-8");
    }
    return j;
}

static json_t *
s_scalar_to_json(const fl_yaml_node_t *node, const char *file, fl_diag_t *diag)
{
    const char *tag = node->tag;
    const char *v = node->value;
    long long i;
    double d;
    int rc;
    bool implicit = !tag && node->plain;
    if ((!tag && !node->plain) || (tag && (strcmp(tag, "!") == 0 || strcmp(tag, "!!str") == 0))) {
        return s_scalar_string(node, file, diag);
    }
    if (implicit || strcmp(tag, "!!null") == 0) {
        if (!implicit || (strlen(v) == node->len && s_is_null(v))) {
            return json_null();
        }
    }
    if (implicit || strcmp(tag, "!!bool") == 0) {
        rc = strlen(v) == node->len ? s_parse_bool(v) : -1;
        if (rc >= 0) {
            return json_boolean(rc);
        }
        if (!implicit) {
            s_json_error(node, file, diag, "use true/false, yes/no or on/off", "not a boolean");
            return NULL;
        }
    }
    if (implicit || strcmp(tag, "!!int") == 0) {
        rc = s_parse_int(v, node->len, &i);
        if (rc > 0) {
            return json_integer((json_int_t) i);
        }
        if (rc < 0) {
            s_json_error(node, file, diag, "quote it to keep it as a string",
                         "integer does not fit in 64 bits");
            return NULL;
        }
        if (!implicit) {
            s_json_error(node, file, diag, NULL, "not an integer");
            return NULL;
        }
    }
    if (implicit || strcmp(tag, "!!float") == 0) {
        rc = s_parse_float(v, node->len, &d);
        if (rc == 0 && !implicit && s_parse_int(v, node->len, &i) > 0) {
            rc = 1;
            d = (double) i;
        }
        if (rc > 0) {
            return json_real(d);
        }
        if (rc < 0) {
            s_json_error(node, file, diag, "quote it to keep it as a string",
                         "JSON cannot hold this number (infinite or not a number)");
            return NULL;
        }
        if (!implicit) {
            s_json_error(node, file, diag, NULL, "not a float");
            return NULL;
        }
    }
    if (implicit) {
        return s_scalar_string(node, file, diag);
    }
    fl_diag_add(diag, file, node->line, node->col, FL_DIAG_ERROR, NULL,
                "unsupported tag '%.64s'", tag);
    return NULL;
}

static json_t *
s_to_json(const fl_yaml_node_t *node, const char *file, fl_diag_t *diag, int depth)
{
    if (depth > 2 * FL_YAML_MAX_DEPTH) {
        fl_diag_add(diag, file, node->line, node->col, FL_DIAG_ERROR, NULL, "nesting too deep");
        return NULL;
    }
    if (node->kind == FL_YAML_SCALAR) {
        return s_scalar_to_json(node, file, diag);
    }
    const char *want = node->kind == FL_YAML_MAP ? "!!map" : "!!seq";
    if (node->tag && strcmp(node->tag, want) != 0 && strcmp(node->tag, "!") != 0) {
        fl_diag_add(diag, file, node->line, node->col, FL_DIAG_ERROR, NULL,
                    "unsupported tag '%.64s'", node->tag);
        return NULL;
    }
    if (node->kind == FL_YAML_SEQ) {
        json_t *array = json_array();
        for (size_t i = 0; i < node->count; i++) {
            json_t *item = s_to_json(node->items[i], file, diag, depth + 1);
            if (!item) {
                json_decref(array);
                return NULL;
            }
            json_array_append_new(array, item);
        }
        return array;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < node->count; i++) {
        const fl_yaml_node_t *key = node->keys[i];
        if (key->kind != FL_YAML_SCALAR) {
            fl_diag_add(diag, file, key->line, key->col, FL_DIAG_ERROR,
                        "write the key as a plain or quoted string", "map key must be a scalar");
            json_decref(obj);
            return NULL;
        }
        if (strlen(key->value) != key->len) {
            s_json_error(key, file, diag, NULL, "map key contains a NUL character");
            json_decref(obj);
            return NULL;
        }
        json_t *value = s_to_json(node->items[i], file, diag, depth + 1);
        if (!value) {
            json_decref(obj);
            return NULL;
        }
        if (json_object_set_new(obj, key->value, value) != 0) {
            s_json_error(key, file, diag, NULL, "map key is not valid UTF-8");
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *
fl_yaml_to_json(const fl_yaml_node_t *node, const char *file, fl_diag_t *diag)
{
    assert(diag);
    if (!node) {
        return json_null();
    }
    return s_to_json(node, file ? file : "<input>", diag, 0);
}
