/*  fl_json.c: jansson helpers. */
#include "fl_json.h"

const json_t *
fl_json_lookup(const json_t *root, const char *key)
{
    const json_t *cur = root;
    const char *p = key;
    while (cur) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t) (colon - p) : strlen(p);
        if (!json_is_object(cur)) {
            return NULL;
        }
        cur = json_object_getn(cur, p, n);
        if (!colon) {
            return cur;
        }
        p = colon + 1;
    }
    return NULL;
}

int
fl_json_depth(const json_t *v, int limit)
{
    if (limit <= 0) {
        return 1;
    }
    int deepest = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *) v, k, child) {
            int d = fl_json_depth(child, limit - 1);
            if (d > deepest) {
                deepest = d;
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            int d = fl_json_depth(child, limit - 1);
            if (d > deepest) {
                deepest = d;
            }
        }
    }
    return 1 + deepest;
}

char *
fl_json_compact(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s) {
        /* jansson fails here only when out of memory: abort as fl_malloc does */
        fputs("fleet: out of memory (json_dumps)\n", stderr);
        abort();
    }
    return s;
}

const char *
fl_json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}
