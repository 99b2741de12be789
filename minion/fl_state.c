/*  fl_state.c: the state runner, and the helpers state modules share.

    The master compiled the SLS tree into low chunks already sorted for
    execution (common/fl_sls.h), with requisites as indices into that
    array, so running them is one pass in array order.  Each chunk, in
    Salt's order of checks:

      1. require / watch: a required or watched chunk that failed (or a
         chunk that prereqs this one and failed) means this one does not
         run: False, "One or more requisite failed: SLS.ID, ...".
      2. onfail: runs only when one of its onfail chunks failed;
         onchanges: only when one of its onchanges chunks has changes.
         Otherwise True, nothing done.
      3. an unknown function: False, Salt's "State 'x.y' was not found".
      4. prereq: the prereq'd chunks are first run in test mode; this one
         runs only if one of them would change (None or changes).
      5. onlyif, unless, creates (arguments; skip with True when they say
         so); then the function.
      6. watch: when the function changed nothing itself (a service that
         was just started need not restart) and a watched chunk has
         changes, the spec's mod_watch runs and its result is merged in.
         mod_watch gets the chunk's arguments plus "sfun" (the function
         that ran, e.g. "running"), as in Salt.

    A state function that sets neither result nor comment, or replaces
    the changes with something else, must not break the run: the
    runner normalises what it gets. */
#include "fl_st.h"
#include "fl_json.h"
#include "fl_log.h"
#include "st_core.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

/*  Arguments the runner consumes; the function never sees them. */
static const char *const s_runner_args[] = { "unless", "onlyif", "creates" };

typedef struct {
    const json_t *chunk;
    const char *id;
    const char *sls;
    const char *state;
    const char *fun;
    const char *name;
    bool ran;
    fl_st_result_t result;
    bool changed;           /* non-empty changes */
} s_chunk_t;

typedef struct {
    const fl_st_ctx_t *ctx;
    s_chunk_t *chunks;
    size_t count;
} s_run_t;

void
fl_st_comment(fl_st_ret_t *ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = fl_vsprintf(fmt, ap);
    va_end(ap);
    free(ret->comment);
    ret->comment = text;
}

char *
fl_st_path(const fl_st_ctx_t *ctx, const char *path)
{
    if (!path || path[0] != '/') {
        return NULL;
    }
    const char *root = ctx && ctx->root_dir ? ctx->root_dir : "";
    size_t len = strlen(root);
    while (len > 0 && root[len - 1] == '/') {
        len--;
    }
    return fl_sprintf("%.*s%s", (int) len, root, path);
}

const char *
fl_st_file(const fl_st_ctx_t *ctx, const char *url)
{
    if (!ctx || !url || !json_is_object(ctx->files)) {
        return NULL;
    }
    const char *local = json_string_value(json_object_get(ctx->files, url));
    if (local) {
        return local;
    }
    /* a tree written for Salt says salt://: the same file */
    const char *rest = NULL, *other = NULL;
    if (strncmp(url, "salt://", 7) == 0) {
        rest = url + 7;
        other = "fleet://";
    } else if (strncmp(url, "fleet://", 8) == 0) {
        rest = url + 8;
        other = "salt://";
    }
    if (!rest) {
        return NULL;
    }
    char *alt = fl_sprintf("%s%s", other, rest);
    local = json_string_value(json_object_get(ctx->files, alt));
    free(alt);
    return local;
}

/*  "HH:MM:SS.ffffff" local time, as Salt's datetime.now().time(). */
static void
s_start_time(char *buf, size_t size)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    snprintf(buf, size, "%02d:%02d:%02d.%06ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
             (long) tv.tv_usec);
}

static double
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}

static json_t *
s_result_json(fl_st_result_t r)
{
    switch (r) {
    case FL_ST_TRUE:
        return json_true();
    case FL_ST_FALSE:
        return json_false();
    default:
        return json_null();
    }
}

/*  The chunk's function arguments: its args minus what the runner uses. */
static json_t *
s_fun_args(const json_t *chunk)
{
    const json_t *args = json_object_get(chunk, "args");
    json_t *copy = json_is_object(args) ? json_copy((json_t *) args) : json_object();
    for (size_t i = 0; i < FL_ARRAY_LEN(s_runner_args); i++) {
        json_object_del(copy, s_runner_args[i]);
    }
    return copy;
}

/*  A string, or a list of strings, as a list; NULL for other types. */
static json_t *
s_str_list(const json_t *v)
{
    if (json_is_string(v)) {
        return json_pack("[O]", v);
    }
    if (!json_is_array(v)) {
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            return NULL;
        }
    }
    return json_incref((json_t *) v);
}

/*  onlyif, unless, creates, in Salt's order.  True when the chunk must be
    skipped (or the check itself failed): RET says why. */
static bool
s_checks(const fl_st_ctx_t *ctx, const json_t *chunk, fl_st_ret_t *ret)
{
    const json_t *args = json_object_get(chunk, "args");
    const json_t *onlyif = json_object_get(args, "onlyif");
    const json_t *unless = json_object_get(args, "unless");
    const json_t *creates = json_object_get(args, "creates");

    if (onlyif && !json_is_null(onlyif)) {
        json_t *list = json_is_boolean(onlyif) ? NULL : s_str_list(onlyif);
        bool skip = json_is_false(onlyif);
        if (!json_is_boolean(onlyif) && !list) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "onlyif must be a command or a list of commands");
            return true;
        }
        size_t i;
        json_t *cmd;
        json_array_foreach(list, i, cmd) {
            if (st_cmd_shell(json_string_value(cmd)) != 0) {
                skip = true;
                break;
            }
        }
        json_decref(list);
        if (skip) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "onlyif condition is false");
            return true;
        }
    }
    if (unless && !json_is_null(unless)) {
        json_t *list = json_is_boolean(unless) ? NULL : s_str_list(unless);
        if (!json_is_boolean(unless) && !list) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "unless must be a command or a list of commands");
            return true;
        }
        bool skip = json_is_boolean(unless) ? json_is_true(unless) : json_array_size(list) > 0;
        size_t i;
        json_t *cmd;
        json_array_foreach(list, i, cmd) {
            if (st_cmd_shell(json_string_value(cmd)) != 0) {
                skip = false;
                break;
            }
        }
        json_decref(list);
        if (skip) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "unless condition is true");
            return true;
        }
    }
    if (creates && !json_is_null(creates)) {
        json_t *list = s_str_list(creates);
        if (!list) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "creates must be a path or a list of paths");
            return true;
        }
        bool all = json_array_size(list) > 0;
        size_t i;
        json_t *path;
        json_array_foreach(list, i, path) {
            char *full = fl_st_path(ctx, json_string_value(path));
            struct stat st;
            if (!full || lstat(full, &st) != 0) {
                all = false;
            }
            free(full);
        }
        json_decref(list);
        if (all) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "All files in creates exist");
            return true;
        }
    }
    return false;
}

/*  The state function's contract, enforced: changes an object, a result
    in range.  A NULL comment is left for the caller to print as "". */
static void
s_normalise(fl_st_ret_t *ret)
{
    if (!json_is_object(ret->changes)) {
        json_decref(ret->changes);
        ret->changes = json_object();
    }
    if (ret->result != FL_ST_TRUE && ret->result != FL_ST_FALSE && ret->result != FL_ST_NONE) {
        ret->result = FL_ST_FALSE;
    }
}

/*  Calls FN with a fresh return, under CTX. */
static void
s_call(const fl_st_ctx_t *ctx, fl_st_fn_t fn, const char *name, const json_t *args,
       fl_st_ret_t *ret)
{
    ret->result = FL_ST_TRUE;
    ret->changes = json_object();
    ret->comment = NULL;
    fn(ctx, name, args, ret);
    s_normalise(ret);
}

static void
s_ret_free(fl_st_ret_t *ret)
{
    json_decref(ret->changes);
    ret->changes = NULL;
    free(ret->comment);
    ret->comment = NULL;
}

/*  The requisite list KEY of chunk C (indices, checked by s_index), or
    NULL. */
static const json_t *
s_reqs(const s_chunk_t *c, const char *key)
{
    const json_t *v = json_object_get(c->chunk, key);
    return json_is_array(v) ? v : NULL;
}

static bool
s_index(const s_run_t *run, const json_t *v, size_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0
        || (uint64_t) json_integer_value(v) >= run->count) {
        return false;
    }
    *out = (size_t) json_integer_value(v);
    return true;
}

/*  Appends "SLS.ID" to the list LIST (", " separated). */
static void
s_name_add(char **list, const s_chunk_t *c)
{
    char *old = *list;
    *list = fl_sprintf("%s%s%s.%s", old ? old : "", old ? ", " : "", c->sls ? c->sls : "?",
                       c->id ? c->id : "?");
    free(old);
}

/*  A requisite index that names no other chunk (the compiler never
    makes one): reported rather than ignored. */
static void
s_bad_add(char **list, const json_t *v)
{
    char *old = *list;
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    *list = fl_sprintf("%s%s(bad requisite index %s)", old ? old : "", old ? ", " : "",
                       text ? text : "?");
    free(text);
    free(old);
}

/*  require, watch, and "a chunk that prereqs me failed": the names of
    those that failed (or have not run: a malformed chunk list), or NULL
    when all is well.  Caller frees. */
static char *
s_failed_reqs(const s_run_t *run, size_t self)
{
    /* A failed onchanges target fails the requisite too, as in Salt: a
       failing cmd.run reports changes, and must not set off what follows. */
    static const char *const keys[] = { "require", "watch", "onchanges" };
    char *failed = NULL;
    for (size_t k = 0; k < FL_ARRAY_LEN(keys); k++) {
        const json_t *reqs = s_reqs(&run->chunks[self], keys[k]);
        size_t i;
        json_t *v;
        json_array_foreach(reqs, i, v) {
            size_t j;
            if (!s_index(run, v, &j) || j == self) {
                s_bad_add(&failed, v);
                continue;
            }
            const s_chunk_t *r = &run->chunks[j];
            if (!r->ran || r->result == FL_ST_FALSE) {
                s_name_add(&failed, r);
            }
        }
    }
    /* prereq's other half: when A (prereq: [self]) failed, self does not run */
    for (size_t j = 0; j < self; j++) {
        const s_chunk_t *a = &run->chunks[j];
        const json_t *pre = s_reqs(a, "prereq");
        size_t i;
        json_t *v;
        json_array_foreach(pre, i, v) {
            size_t x;
            if (s_index(run, v, &x) && x == self && a->ran && a->result == FL_ST_FALSE) {
                s_name_add(&failed, a);
            }
        }
    }
    return failed;
}

/*  For onchanges/onfail: true when the list KEY is present (non-empty),
    and then *ANY says whether one of them changed (or failed). */
static bool
s_any(const s_run_t *run, size_t self, const char *key, bool want_failed, bool *any)
{
    const json_t *reqs = s_reqs(&run->chunks[self], key);
    if (json_array_size(reqs) == 0) {
        return false;
    }
    *any = false;
    size_t i;
    json_t *v;
    json_array_foreach(reqs, i, v) {
        size_t j;
        if (!s_index(run, v, &j) || !run->chunks[j].ran) {
            continue;
        }
        const s_chunk_t *r = &run->chunks[j];
        if (want_failed ? r->result == FL_ST_FALSE : r->changed) {
            *any = true;
        }
    }
    return true;
}

/*  prereq: runs each prereq'd chunk's checks and function in test mode.
    Returns 1 when one would change, 0 when none would, -1 when one
    failed (*FAILED names them). */
static int
s_prereq_check(const s_run_t *run, size_t self, char **failed)
{
    const json_t *pre = s_reqs(&run->chunks[self], "prereq");
    fl_st_ctx_t test_ctx = *run->ctx;
    test_ctx.test = true;
    bool change = false;
    size_t i;
    json_t *v;
    json_array_foreach(pre, i, v) {
        size_t x;
        if (!s_index(run, v, &x) || x == self) {
            s_bad_add(failed, v);
            continue;
        }
        const s_chunk_t *c = &run->chunks[x];
        fl_st_ret_t r = { FL_ST_TRUE, json_object(), NULL };
        if (c->ran) {
            /* out of order (it should come after): use what it did */
            r.result = c->result;
            change = change || c->changed;
        } else {
            char *fname = fl_sprintf("%s.%s", c->state ? c->state : "", c->fun ? c->fun : "");
            const fl_st_spec_t *spec = fl_st_find(fname);
            free(fname);
            if (!spec) {
                r.result = FL_ST_FALSE;
            } else if (!s_checks(&test_ctx, c->chunk, &r)) {
                json_t *args = s_fun_args(c->chunk);
                s_ret_free(&r);
                s_call(&test_ctx, spec->fn, c->name, args, &r);
                json_decref(args);
                change = change || r.result == FL_ST_NONE || json_object_size(r.changes) > 0;
            }
        }
        if (r.result == FL_ST_FALSE) {
            s_name_add(failed, c);
        }
        s_ret_free(&r);
    }
    if (*failed) {
        return -1;
    }
    return change ? 1 : 0;
}

static bool
s_watched_changed(const s_run_t *run, size_t self)
{
    const json_t *reqs = s_reqs(&run->chunks[self], "watch");
    size_t i;
    json_t *v;
    json_array_foreach(reqs, i, v) {
        size_t j;
        if (s_index(run, v, &j) && run->chunks[j].ran && run->chunks[j].changed) {
            return true;
        }
    }
    return false;
}

/*  mod_watch, merged into RET: its result, its changes over RET's, the
    comments of both. */
static void
s_mod_watch(const fl_st_ctx_t *ctx, const fl_st_spec_t *spec, const s_chunk_t *c,
            const json_t *args, fl_st_ret_t *ret)
{
    json_t *wargs = json_copy((json_t *) args);
    json_object_set_new(wargs, "sfun", json_string(c->fun));
    fl_st_ret_t w;
    s_call(ctx, spec->mod_watch, c->name, wargs, &w);
    json_decref(wargs);
    ret->result = w.result;
    json_object_update(ret->changes, w.changes);
    if (w.comment && *w.comment) {
        if (ret->comment && *ret->comment) {
            fl_st_comment(ret, "%s\n%s", ret->comment, w.comment);
        } else {
            fl_st_comment(ret, "%s", w.comment);
        }
    }
    s_ret_free(&w);
}

/*  Everything after the requisite checks: the function, with prereq,
    checks and mod_watch.  Fills RET. */
static void
s_execute(const s_run_t *run, size_t self, fl_st_ret_t *ret)
{
    const fl_st_ctx_t *ctx = run->ctx;
    const s_chunk_t *c = &run->chunks[self];
    char *fname = fl_sprintf("%s.%s", c->state, c->fun);
    const fl_st_spec_t *spec = fl_st_find(fname);
    if (!spec) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "State '%s' was not found in SLS '%s'", fname, c->sls ? c->sls : "");
        free(fname);
        return;
    }
    free(fname);

    if (json_array_size(s_reqs(c, "prereq")) > 0) {
        char *failed = NULL;
        int rc = s_prereq_check(run, self, &failed);
        if (rc < 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "One or more requisite failed: %s", failed);
            free(failed);
            return;
        }
        if (rc == 0) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "No changes detected");
            return;
        }
    }

    if (s_checks(ctx, c->chunk, ret)) {
        return;
    }
    json_t *args = s_fun_args(c->chunk);
    s_ret_free(ret);
    s_call(ctx, spec->fn, c->name, args, ret);
    if (ret->result != FL_ST_FALSE && spec->mod_watch && json_object_size(ret->changes) == 0
        && s_watched_changed(run, self)) {
        s_mod_watch(ctx, spec, c, args, ret);
    }
    json_decref(args);
}

/*  Runs chunk SELF and adds its result to OUT. */
static void
s_run_chunk(s_run_t *run, size_t self, json_t *out)
{
    s_chunk_t *c = &run->chunks[self];
    char start[32];
    s_start_time(start, sizeof start);
    double t0 = s_now_ms();
    fl_st_ret_t ret = { FL_ST_TRUE, json_object(), NULL };
    bool any;
    char *failed = NULL;

    if (!c->state || !c->fun || !c->name || !c->id) {
        ret.result = FL_ST_FALSE;
        fl_st_comment(&ret, "Malformed chunk %zu: it needs id, state, fun and name", self);
    } else if ((failed = s_failed_reqs(run, self)) != NULL) {
        ret.result = FL_ST_FALSE;
        fl_st_comment(&ret, "One or more requisite failed: %s", failed);
    } else if (s_any(run, self, "onfail", true, &any) && !any) {
        fl_st_comment(&ret, "State was not run because onfail req did not change");
    } else if (s_any(run, self, "onchanges", false, &any) && !any) {
        fl_st_comment(&ret, "State was not run because none of the onchanges reqs changed");
    } else {
        s_execute(run, self, &ret);
    }
    free(failed);
    s_normalise(&ret);

    c->ran = true;
    c->result = ret.result;
    c->changed = json_object_size(ret.changes) > 0;

    char *key = fl_sprintf("%s_|-%s_|-%s_|-%s", c->state ? c->state : "", c->id ? c->id : "",
                           c->name ? c->name : "", c->fun ? c->fun : "");
    json_t *r = json_object();
    json_object_set_new(r, "result", s_result_json(ret.result));
    json_object_set(r, "changes", ret.changes);
    json_object_set_new(r, "comment", json_string(ret.comment ? ret.comment : ""));
    json_object_set_new(r, "name", json_string(c->name ? c->name : ""));
    json_object_set_new(r, "start_time", json_string(start));
    json_object_set_new(r, "duration", json_real(s_now_ms() - t0));
    json_object_set_new(r, "__run_num__", json_integer((json_int_t) self));
    json_object_set_new(r, "__sls__", json_string(c->sls ? c->sls : ""));
    json_object_set_new(r, "__id__", json_string(c->id ? c->id : ""));
    if (json_object_get(out, key)) {
        /* two chunks with one key (a malformed list): keep both */
        char *alt = fl_sprintf("%s_|-%zu", key, self);
        json_object_set_new(out, alt, r);
        free(alt);
    } else {
        json_object_set_new(out, key, r);
    }
    if (ret.result == FL_ST_FALSE) {
        fl_log_info("state %s failed: %s", key, ret.comment ? ret.comment : "");
    }
    free(key);
    s_ret_free(&ret);
}

json_t *
fl_state_run(const fl_st_ctx_t *ctx, const json_t *chunks, bool *failed)
{
    size_t n = json_array_size(chunks);
    s_run_t run = { ctx, fl_calloc(n ? n : 1, sizeof(s_chunk_t)), n };
    for (size_t i = 0; i < n; i++) {
        const json_t *chunk = json_array_get(chunks, i);
        s_chunk_t *c = &run.chunks[i];
        c->chunk = chunk;
        c->id = fl_json_str(chunk, "id");
        c->sls = fl_json_str(chunk, "sls");
        c->state = fl_json_str(chunk, "state");
        c->fun = fl_json_str(chunk, "fun");
        c->name = fl_json_str(chunk, "name");
    }
    json_t *out = json_object();
    bool any_failed = false;
    for (size_t i = 0; i < n; i++) {
        s_run_chunk(&run, i, out);
        any_failed = any_failed || run.chunks[i].result == FL_ST_FALSE;
    }
    free(run.chunks);
    if (failed) {
        *failed = any_failed;
    }
    return out;
}
