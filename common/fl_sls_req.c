/*  fl_sls_req.c: the state compiler, part three: requisites and order.

    Why it is shaped this way.  Salt resolves requisites while it runs:
    reaching a state, it first runs what that state requires, then the
    state; everything else keeps the order that `order:` and definition
    give.  fleet does the same walk at compile time, so that the minion
    gets a plain list to run front to back and every requisite naming
    nothing, and every cycle, is found before anything runs:

      1. match: each requisite as written (`- file: /etc/foo`, `- sls:
         web`, `- id: nginx`, `- nginx`) becomes edges to the chunks it
         names; an `_in` form adds the edge to the named chunks instead.
      2. rank: chunks are sorted by their order key: `order: first`, then
         `order: N` (N >= 0, ascending), then chunks without order, then
         negative N (counting from the end), then `order: last`; ties keep
         definition order (includes first, then the file, top to bottom).
      3. walk: for each chunk in rank order, a depth-first walk places
         first everything that must run before it (what it requires,
         watches, onchanges/onfail on, and every chunk that has a prereq
         on it), in rank order, then the chunk.  A chunk reached again
         while its own walk is open closes a cycle, which is reported with
         every state in it.  The walk is iterative: a chain of thousands
         of requires does not grow the C stack.
    A prereq is the one requisite that points forward: `A: prereq: X`
    puts A before X (A runs only when X, checked in test mode first,
    would change something), and A's "prereq" list names X. */
#include "fl_sls_int.h"

#include <assert.h>
#include <fnmatch.h>

/*  States named in a cycle message before it is cut short. */
#define FL_SLS_CYCLE_SHOWN 16

static const char *const s_kind_names[FL_SLS_REQ_COUNT] = {
    "require", "watch", "onchanges", "onfail", "prereq",
};

/*  Requisites Salt has and fleet does not (yet). */
static const char *const s_unsupported[] = {
    "use", "use_in", "listen", "listen_in", "require_any", "watch_any", "onchanges_any",
    "onfail_any", "onfail_all", "prereq_any", "require_any_in", "watch_any_in",
    "onchanges_any_in", "onfail_any_in",
};

const char *
fl_sls_req_kind_name(fl_sls_req_kind_t kind)
{
    return (size_t) kind < FL_SLS_REQ_COUNT ? s_kind_names[kind] : "?";
}

int
fl_sls_req_parse_key(const char *key, fl_sls_req_kind_t *kind, bool *in)
{
    for (int k = 0; k < FL_SLS_REQ_COUNT; k++) {
        size_t n = strlen(s_kind_names[k]);
        if (strncmp(key, s_kind_names[k], n) != 0) {
            continue;
        }
        if (key[n] == '\0' || strcmp(key + n, "_in") == 0) {
            *kind = (fl_sls_req_kind_t) k;
            *in = key[n] != '\0';
            return 1;
        }
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(s_unsupported); i++) {
        if (strcmp(key, s_unsupported[i]) == 0) {
            return -1;
        }
    }
    return 0;
}

/*  --------------------------------------------------------------------
    Lists of chunk indices */

typedef struct {
    size_t *v;
    size_t n, cap;
} s_list_t;

static void
s_push(s_list_t *l, size_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = fl_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = x;
}

static int
s_cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return x < y ? -1 : x > y;
}

/*  Sorts L and drops repeats. */
static void
s_sort_unique(s_list_t *l)
{
    if (l->n < 2) {
        return;
    }
    qsort(l->v, l->n, sizeof *l->v, s_cmp_size);
    size_t w = 1;
    for (size_t r = 1; r < l->n; r++) {
        if (l->v[r] != l->v[w - 1]) {
            l->v[w++] = l->v[r];
        }
    }
    l->n = w;
}

/*  --------------------------------------------------------------------
    Matching requisites to chunks */

typedef struct {
    json_t *by_id;      /* ID -> [chunk...] */
    json_t *by_sls;     /* SLS -> [chunk...] */
    json_t *by_state;   /* "mod\x1fID" and "mod\x1fNAME" -> [chunk...] */
} s_index_t;

static void
s_index_add(json_t *index, const char *key, size_t chunk)
{
    json_t *list = json_object_get(index, key);
    if (!list) {
        list = json_array();
        if (json_object_set_new(index, key, list) != 0) {
            return;
        }
    }
    size_t n = json_array_size(list);
    if (n > 0 && (size_t) json_integer_value(json_array_get(list, n - 1)) == chunk) {
        return;
    }
    json_array_append_new(list, json_integer((json_int_t) chunk));
}

static void
s_index_build(s_index_t *ix, const fl_sls_chunk_t *chunks, size_t n)
{
    ix->by_id = json_object();
    ix->by_sls = json_object();
    ix->by_state = json_object();
    for (size_t i = 0; i < n; i++) {
        const fl_sls_decl_t *d = chunks[i].decl;
        s_index_add(ix->by_id, d->id, i);
        s_index_add(ix->by_sls, d->file->sls, i);
        char *k = fl_sprintf("%s\x1f%s", d->mod, d->id);
        s_index_add(ix->by_state, k, i);
        free(k);
        k = fl_sprintf("%s\x1f%s", d->mod, chunks[i].name);
        s_index_add(ix->by_state, k, i);
        free(k);
    }
}

static void
s_index_free(s_index_t *ix)
{
    json_decref(ix->by_id);
    json_decref(ix->by_sls);
    json_decref(ix->by_state);
}

static void
s_take(s_list_t *out, const json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        s_push(out, (size_t) json_integer_value(v));
    }
}

/*  The chunks requisite R of chunk SELF names, into OUT.  A glob
    (`*`, `?`, `[`) is matched with fnmatch and, as `- sls:`, never
    matches the chunk itself. */
static void
s_match(const fl_sls_chunk_t *chunks, size_t n, const s_index_t *ix, size_t self,
        const fl_sls_req_t *r, s_list_t *out)
{
    bool glob = strpbrk(r->target, "*?[") != NULL;
    bool by_sls = strcmp(r->mod, "sls") == 0;
    bool by_id = strcmp(r->mod, "id") == 0;
    if (!glob) {
        if (by_sls) {
            const json_t *list = json_object_get(ix->by_sls, r->target);
            size_t i;
            json_t *v;
            json_array_foreach(list, i, v) {
                if ((size_t) json_integer_value(v) != self) {
                    s_push(out, (size_t) json_integer_value(v));
                }
            }
        } else if (by_id) {
            s_take(out, json_object_get(ix->by_id, r->target));
        } else {
            char *k = fl_sprintf("%s\x1f%s", r->mod, r->target);
            s_take(out, json_object_get(ix->by_state, k));
            free(k);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const fl_sls_decl_t *d = chunks[i].decl;
        if (i == self) {
            continue;
        }
        bool hit;
        if (by_sls) {
            hit = fnmatch(r->target, d->file->sls, 0) == 0;
        } else if (by_id) {
            hit = fnmatch(r->target, d->id, 0) == 0;
        } else {
            hit = strcmp(d->mod, r->mod) == 0 && (fnmatch(r->target, d->id, 0) == 0 ||
                                                  fnmatch(r->target, chunks[i].name, 0) == 0);
        }
        if (hit) {
            s_push(out, i);
        }
    }
}

/*  --------------------------------------------------------------------
    Ordering */

typedef struct {
    int group;
    double value;
    size_t seq, sub, index;
} s_key_t;

static int
s_cmp_key(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->group != y->group) {
        return x->group < y->group ? -1 : 1;
    }
    if (x->value != y->value) {
        return x->value < y->value ? -1 : 1;
    }
    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static char *
s_label(const fl_sls_chunk_t *c)
{
    return fl_sprintf("%s.%s %s", c->decl->mod, c->decl->fun, c->name);
}

static void
s_append(char **buf, size_t *used, size_t *cap, char *piece)
{
    size_t plen = strlen(piece);
    if (*used + plen + 1 > *cap) {
        *cap = 2 * (*used + plen + 1);
        *buf = fl_realloc(*buf, *cap);
    }
    memcpy(*buf + *used, piece, plen + 1);
    *used += plen;
    free(piece);
}

/*  Reports the cycle STACK[FROM..TOP] closed by the edge back to
    STACK[FROM]: "A -> B -> A", each arrow reading "runs after". */
static void
s_report_cycle(const fl_sls_chunk_t *chunks, const size_t *stack, size_t from, size_t top,
               fl_diag_t *diag)
{
    size_t len = top - from + 1;
    size_t cap = 256, used = 0;
    char *msg = fl_malloc(cap);
    msg[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (i == FL_SLS_CYCLE_SHOWN) {
            s_append(&msg, &used, &cap, fl_sprintf(" -> ... (%zu more)", len - i));
            break;
        }
        char *label = s_label(&chunks[stack[from + i]]);
        s_append(&msg, &used, &cap, fl_sprintf("%s%s", i == 0 ? "" : " -> ", label));
        free(label);
    }
    const fl_sls_chunk_t *at = &chunks[stack[from]];
    char *label = s_label(at);
    s_append(&msg, &used, &cap, fl_sprintf(" -> %s", label));
    free(label);
    fl_diag_add(diag, at->decl->file->path, at->decl->line, at->decl->col, FL_DIAG_ERROR,
                "each arrow reads 'runs after'; remove one of these requisites",
                "requisite cycle: %s", msg);
    free(msg);
}

/*  The execution order: OUT[k] is the chunk that runs k-th.  RANK gives
    the order key's place of each chunk, PREDS what must run before it
    (sorted by rank).  Cycles go to DIAG. */
static void
s_walk(const fl_sls_chunk_t *chunks, size_t n, const size_t *by_rank, s_list_t *preds,
       size_t *out, fl_diag_t *diag)
{
    enum { NEW = 0, OPEN, DONE };
    unsigned char *state = fl_calloc(n, 1);
    size_t *stack = fl_calloc(n, sizeof *stack);
    size_t *next = fl_calloc(n, sizeof *next);
    size_t *pos = fl_calloc(n, sizeof *pos);
    size_t nout = 0;
    for (size_t r = 0; r < n; r++) {
        size_t root = by_rank[r];
        if (state[root] != NEW) {
            continue;
        }
        size_t top = 0;
        stack[0] = root;
        pos[root] = 0;
        state[root] = OPEN;
        for (;;) {
            size_t v = stack[top];
            if (next[v] < preds[v].n) {
                size_t p = preds[v].v[next[v]++];
                if (state[p] == NEW) {
                    state[p] = OPEN;
                    stack[++top] = p;
                    pos[p] = top;
                } else if (state[p] == OPEN) {
                    s_report_cycle(chunks, stack, pos[p], top, diag);
                }
                continue;
            }
            state[v] = DONE;
            out[nout++] = v;
            if (top == 0) {
                break;
            }
            top--;
        }
    }
    assert(nout == n);
    free(state);
    free(stack);
    free(next);
    free(pos);
}

static json_t *
s_chunk_json(const fl_sls_chunk_t *c, size_t rank, s_list_t *lists, const size_t *newpos)
{
    const fl_sls_decl_t *d = c->decl;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:O, s:I}", "id", d->id,
                          "sls", d->file->sls, "file", d->file->path, "line", d->line, "col",
                          d->col, "state", d->mod, "fun", d->fun, "name", c->name, "args",
                          c->args, "order", (json_int_t) rank + 1);
    if (!o) {
        fputs("fleet: out of memory (json_pack)\n", stderr);
        abort();
    }
    for (int k = 0; k < FL_SLS_REQ_COUNT; k++) {
        s_list_t mapped = { 0 };
        for (size_t i = 0; i < lists[k].n; i++) {
            s_push(&mapped, newpos[lists[k].v[i]]);
        }
        s_sort_unique(&mapped);
        json_t *array = json_array();
        for (size_t i = 0; i < mapped.n; i++) {
            json_array_append_new(array, json_integer((json_int_t) mapped.v[i]));
        }
        free(mapped.v);
        json_object_set_new(o, s_kind_names[k], array);
    }
    return o;
}

json_t *
fl_sls_order(fl_sls_chunk_t *chunks, size_t n, fl_diag_t *diag)
{
    size_t errors_before = fl_diag_errors(diag);
    /* 1. Requisites to edges: lists[i * FL_SLS_REQ_COUNT + kind] are the
       chunks chunk i has that requisite on. */
    s_list_t *lists = fl_calloc(n * FL_SLS_REQ_COUNT + 1, sizeof *lists);
    s_index_t ix;
    s_index_build(&ix, chunks, n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < chunks[i].nreqs; j++) {
            const fl_sls_req_t *r = &chunks[i].reqs[j];
            s_list_t hits = { 0 };
            s_match(chunks, n, &ix, i, r, &hits);
            if (hits.n == 0) {
                fl_diag_add(diag, r->file, r->line, r->col, FL_DIAG_ERROR,
                            "requisites name a state by ID or name ('- file: /etc/foo'), "
                            "'- sls: NAME' or '- id: ID'",
                            "%s%s: %s: %s matches no state", s_kind_names[r->kind],
                            r->in ? "_in" : "", r->mod, r->target);
            }
            for (size_t h = 0; h < hits.n; h++) {
                if (r->in) {
                    s_push(&lists[hits.v[h] * FL_SLS_REQ_COUNT + r->kind], i);
                } else {
                    s_push(&lists[i * FL_SLS_REQ_COUNT + r->kind], hits.v[h]);
                }
            }
            free(hits.v);
        }
    }
    s_index_free(&ix);

    /* 2. Rank by the order key. */
    s_key_t *keys = fl_calloc(n + 1, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        keys[i] = (s_key_t) { chunks[i].order_group, chunks[i].order_value,
                              chunks[i].decl->seq, chunks[i].sub, i };
    }
    qsort(keys, n, sizeof *keys, s_cmp_key);
    size_t *by_rank = fl_calloc(n + 1, sizeof *by_rank);
    size_t *rank = fl_calloc(n + 1, sizeof *rank);
    for (size_t r = 0; r < n; r++) {
        by_rank[r] = keys[r].index;
        rank[keys[r].index] = r;
    }
    free(keys);

    /* 3. What must run before each chunk, in rank order, then the walk. */
    s_list_t *preds = fl_calloc(n + 1, sizeof *preds);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < FL_SLS_REQ_COUNT; k++) {
            const s_list_t *l = &lists[i * FL_SLS_REQ_COUNT + k];
            for (size_t j = 0; j < l->n; j++) {
                if (k == FL_SLS_REQ_PREREQ) {
                    s_push(&preds[l->v[j]], rank[i]);
                } else {
                    s_push(&preds[i], rank[l->v[j]]);
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        s_sort_unique(&preds[i]);
        for (size_t j = 0; j < preds[i].n; j++) {
            preds[i].v[j] = by_rank[preds[i].v[j]];
        }
    }
    size_t *out = fl_calloc(n + 1, sizeof *out);
    s_walk(chunks, n, by_rank, preds, out, diag);

    json_t *result = NULL;
    if (fl_diag_errors(diag) == errors_before) {
        size_t *newpos = fl_calloc(n + 1, sizeof *newpos);
        for (size_t k = 0; k < n; k++) {
            newpos[out[k]] = k;
        }
        result = json_array();
        for (size_t k = 0; k < n; k++) {
            size_t i = out[k];
            json_array_append_new(result, s_chunk_json(&chunks[i], rank[i],
                                                       &lists[i * FL_SLS_REQ_COUNT], newpos));
        }
        free(newpos);
    }
    for (size_t i = 0; i < n * FL_SLS_REQ_COUNT; i++) {
        free(lists[i].v);
    }
    for (size_t i = 0; i < n; i++) {
        free(preds[i].v);
    }
    free(lists);
    free(preds);
    free(by_rank);
    free(rank);
    free(out);
    return result;
}
