/*  fl_jobs.c: jobs.  A run resolves its target to the expected minions,
    is stored (with one row per expected minion) before anything is sent,
    then goes to every connected minion as a signed "job".  Returns are
    stored as they come, acknowledged to the minion, and streamed to the
    fleetctl that asked, which learns at the deadline who did not answer.
    Late returns are stored too and show in `fleetctl job JID`. */
#include "fl_master_int.h"
#include "fl_funcs.h"
#include "fl_json.h"
#include "fl_msg.h"
#include "fl_util.h"

#include <sys/time.h>
#include <time.h>

struct fl_job {
    char jid[32];
    zframe_t *client;   /* the fleetctl waiting on this job */
    zhashx_t *waiting;  /* minion id -> "" until it returns */
    json_t *missing;    /* minion id -> reason, for those never reached */
    int timer_id;
    zmsg_t *batch;      /* returns for the fleetctl, sent by fl_jobs_flush */
    size_t batch_bytes;
};

/*  A burst of returns goes to fleetctl as one message of up to this many
    bytes, one JSON object per frame, instead of a message per return. */
#define S_BATCH_BYTES (256 * 1024)

static void
s_job_destroy(fl_job_t **self_p)
{
    if (self_p && *self_p) {
        fl_job_t *self = *self_p;
        zframe_destroy(&self->client);
        zmsg_destroy(&self->batch);
        zhashx_destroy(&self->waiting);
        json_decref(self->missing);
        free(self);
        *self_p = NULL;
    }
}

/*  Salt-style job ids (YYYYMMDDhhmmssffffff), strictly increasing even if
    the clock steps back. */
static void
s_new_jid(fl_master_t *self, char out[32])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(out, 32, "%04d%02d%02d%02d%02d%02d%06d", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int) (tv.tv_usec % 1000000));
    if (strcmp(out, self->last_jid) <= 0) {
        /* Same length, all digits: increment the previous one. */
        snprintf(out, 32, "%s", self->last_jid);
        for (int i = (int) strlen(out) - 1; i >= 0; i--) {
            if (out[i] < '9') {
                out[i]++;
                break;
            }
            out[i] = '0';
        }
    }
    snprintf(self->last_jid, sizeof self->last_jid, "%s", out);
}

static void
s_batch_send(fl_master_t *self, fl_job_t *job)
{
    if (job->batch && zmsg_send(&job->batch, self->control) != 0) {
        zmsg_destroy(&job->batch);  /* the fleetctl went away */
    }
    job->batch_bytes = 0;
}

static void
s_job_finish(fl_master_t *self, fl_job_t *job)
{
    s_batch_send(self, job);
    for (void *item = zhashx_first(job->waiting); item; item = zhashx_next(job->waiting)) {
        const char *id = zhashx_cursor(job->waiting);
        json_object_set_new(job->missing, id, json_string("no answer"));
    }
    json_t *done = json_pack("{s:s, s:s, s:O}", "type", "done", "jid", job->jid, "missing",
                             job->missing);
    fl_control_reply(self, job->client, done);
    if (job->timer_id >= 0) {
        zloop_timer_end(self->loop, job->timer_id);
    }
    zhashx_delete(self->jobs, job->jid);  /* destroys JOB */
}

static int
s_on_deadline(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_master_t *self = arg;
    /* Timers cannot carry two pointers: find the jobs whose timer fired. */
    for (fl_job_t *job = zhashx_first(self->jobs); job; job = zhashx_next(self->jobs)) {
        if (job->timer_id == timer_id) {
            job->timer_id = -1;  /* zloop removes a once-timer itself */
            s_job_finish(self, job);
            break;
        }
    }
    return 0;
}

/*  A minion whose states do not compile: the errors are its return (as
    Salt reports them), stored and shown at once; nothing is sent to it. */
static void
s_compile_failed(fl_master_t *self, fl_job_t *job, const char *id, const char *fun,
                 const fl_diag_t *diag)
{
    json_t *errors = fl_states_errors(diag);
    if (fl_store_return_insert(self->store, job->jid, id, 1, false, errors, fl_time_s()) == 1) {
        self->counters[FL_CNT_RETURNS]++;
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:O, s:i, s:b}", "type", "return", "jid",
                            job->jid, "minion", id, "fun", fun, "ret", errors, "retcode", 1,
                            "success", 0);
    fl_control_reply(self, job->client, out);
    json_decref(errors);
}

void
fl_jobs_run(fl_master_t *self, zframe_t *client, const json_t *req)
{
    const char *fun = fl_json_str(req, "fun");
    const char *tgt = fl_json_str(req, "tgt");
    const char *tgt_type = fl_json_str(req, "tgt_type");
    json_t *args = json_object_get(req, "args");
    json_t *kwargs = json_object_get(req, "kwargs");
    json_t *timeout_j = json_object_get(req, "timeout");
    if (!fun || !tgt || !json_is_array(args) || !json_is_object(kwargs)) {
        fl_control_error(self, client, 2, "run needs tgt, fun, args (array), kwargs (object)");
        return;
    }
    const fl_func_spec_t *spec = fl_func_find(fun);
    if (!spec) {
        fl_control_error(self, client, 2, "'%s' is not a known function "
                                          "(fleetctl functions lists them)", fun);
        return;
    }
    char *err = NULL;
    if (fl_func_check_arity(spec, json_array_size(args), &err) != 0) {
        fl_control_error(self, client, 2, "%s", err);
        free(err);
        return;
    }
    json_int_t timeout = json_is_integer(timeout_j) ? json_integer_value(timeout_j)
                                                     : fl_config_int(self->config, "job_timeout");
    if (timeout < 1 || timeout > 86400) {
        fl_control_error(self, client, 2, "timeout must be 1..86400 seconds");
        return;
    }
    json_t *diag = NULL;
    json_t *expected = fl_peers_resolve(self, tgt, tgt_type ? tgt_type : "glob", &diag);
    if (!expected) {
        json_t *reply = json_pack("{s:s, s:s, s:i, s:o}", "type", "error", "msg", "bad target",
                                  "exit", 2, "diag", diag);
        fl_control_reply(self, client, reply);
        return;
    }
    /* State runs compile per minion from one commit of the state tree. */
    bool is_state = (spec->flags & FL_FN_STATE) != 0;
    char commit[41] = "";
    fl_src_t *tree = NULL, *pillar_src = NULL;
    if (is_state) {
        tree = fl_states_open_tree(self, commit, &err);
        if (!tree) {
            json_decref(expected);
            fl_control_error(self, client, 2, "%s", err);
            free(err);
            return;
        }
        pillar_src = fl_states_open_pillar(self);
    }
    char jid[32];
    s_new_jid(self, jid);
    json_t *job_rec = json_pack("{s:s, s:I, s:s, s:s, s:s, s:O, s:O, s:I, s:s}", "jid", jid,
                                "created", (json_int_t) fl_time_s(), "tgt", tgt, "tgt_type",
                                tgt_type ? tgt_type : "glob", "fun", fun, "args", args, "kwargs",
                                kwargs, "timeout", timeout, "user",
                                fl_json_str(req, "user") ? fl_json_str(req, "user") : "");
    if (is_state) {
        json_object_set_new(job_rec, "commit", json_string(commit));
    }
    if (fl_store_job_insert(self->store, job_rec, expected) != 0) {
        json_decref(job_rec);
        json_decref(expected);
        fl_src_destroy(&tree);
        fl_src_destroy(&pillar_src);
        fl_control_error(self, client, 1, "cannot store the job: %s",
                         fl_store_errmsg(self->store));
        return;
    }
    self->counters[FL_CNT_JOBS]++;
    char *tag = fl_sprintf("fleet/job/%s/new", jid);
    fl_events_emit(self, tag,
                   json_pack("{s:s, s:s, s:s, s:s, s:O, s:s?}", "jid", jid, "fun", fun, "tgt", tgt,
                             "tgt_type", tgt_type ? tgt_type : "glob", "expected", expected,
                             "commit", is_state ? commit : NULL));
    free(tag);
    json_t *reply = json_pack("{s:s, s:s, s:O, s:I}", "type", "job", "jid", jid, "expected",
                              expected, "timeout", timeout);
    if (is_state) {
        json_object_set_new(reply, "commit", json_string(commit));
    }
    fl_control_reply(self, client, reply);

    fl_job_t *job = fl_calloc(1, sizeof *job);
    snprintf(job->jid, sizeof job->jid, "%s", jid);
    job->client = zframe_dup(client);
    job->waiting = zhashx_new();
    job->missing = json_object();
    job->timer_id = -1;
    /* What the minion gets: enough to check the target again itself. */
    json_t *body = json_pack("{s:s, s:s, s:O, s:O, s:s, s:s, s:I}", "jid", jid, "fun", fun,
                             "args", args, "kwargs", kwargs, "tgt", tgt, "tgt_type",
                             tgt_type ? tgt_type : "glob", "timeout", timeout);
    /* Every minion gets the same signed job, unless it is a state run
       (compiled for each minion). */
    zmsg_t *shared = is_state ? NULL : fl_master_encode(self, "job", body);
    size_t i;
    json_t *id_j;
    json_array_foreach(expected, i, id_j) {
        const char *id = json_string_value(id_j);
        fl_peer_t *peer = fl_peers_by_id(self, id);
        if (!peer || !peer->connected) {
            json_object_set_new(job->missing, id, json_string("not connected"));
            continue;
        }
        json_t *own = NULL;
        if (is_state) {
            fl_diag_t *errors = fl_diag_new();
            json_t *compiled = fl_states_compile(tree, pillar_src, id, peer->grains, args,
                                                 errors);
            if (!compiled) {
                s_compile_failed(self, job, id, fun, errors);
                fl_diag_destroy(&errors);
                continue;
            }
            fl_diag_destroy(&errors);
            own = json_deep_copy(body);
            json_t *own_kwargs = json_object_get(own, "kwargs");
            json_object_set(own_kwargs, "__chunks__", json_object_get(compiled, "chunks"));
            json_object_set(own_kwargs, "__pillar__", json_object_get(compiled, "pillar"));
            json_object_set_new(own, "commit", json_string(commit));
            json_decref(compiled);
            /* The minion refuses what it cannot parse: say so here instead
               of letting it look like a minion that did not answer. */
            size_t size = json_dumpb(own, NULL, 0, JSON_COMPACT);
            if (size + 1024 > FL_MSG_MAX_BYTES
                || fl_json_depth(own, FL_MSG_MAX_DEPTH) >= FL_MSG_MAX_DEPTH - 2) {
                fl_diag_t *too_big = fl_diag_new();
                fl_diag_error(too_big, "<job>", 0, 0,
                              "the compiled states are too large (%zu bytes) or too deeply "
                              "nested for one message; split the highstate into smaller runs",
                              size);
                s_compile_failed(self, job, id, fun, too_big);
                fl_diag_destroy(&too_big);
                json_decref(own);
                continue;
            }
        }
        int sent = shared ? fl_master_send_encoded(self, peer, shared)
                          : fl_master_send(self, peer, "job", own ? own : body);
        if (sent == 0) {
            zhashx_insert(job->waiting, id, (void *) "");
        } else {
            json_object_set_new(job->missing, id, json_string("not connected"));
        }
        json_decref(own);
    }
    zmsg_destroy(&shared);
    json_decref(body);
    fl_src_destroy(&tree);
    fl_src_destroy(&pillar_src);
    json_decref(job_rec);
    json_decref(expected);
    zhashx_insert(self->jobs, jid, job);
    if (zhashx_size(job->waiting) == 0) {
        s_job_finish(self, job);
        return;
    }
    job->timer_id = zloop_timer(self->loop, (size_t) timeout * 1000, 1, s_on_deadline, self);
}

void
fl_jobs_on_return(fl_master_t *self, fl_peer_t *peer, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    json_t *retcode = json_object_get(body, "retcode");
    json_t *success = json_object_get(body, "success");
    json_t *ret = json_object_get(body, "ret");
    if (!jid || strlen(jid) >= 32 || !json_is_integer(retcode) || !json_is_boolean(success)
        || !ret) {
        self->counters[FL_CNT_BAD_BODY]++;
        fl_log_warnx("refused return from '%s': needs jid, ret, retcode, success", peer->id);
        return;
    }
    int rc = fl_store_return_insert(self->store, jid, peer->id,
                                    (int) json_integer_value(retcode), json_is_true(success), ret,
                                    fl_time_s());
    if (rc < 0) {
        return;  /* not acknowledged: the minion sends it again */
    }
    json_t *ack = json_pack("{s:s, s:b}", "jid", jid, "refused", rc == 0);
    fl_master_send_after_commit(self, peer, "ack", ack);
    json_decref(ack);
    if (rc == 0) {
        self->counters[FL_CNT_FOREIGN_RETURN]++;
        fl_log_warnx("refused return from '%s' for job %s: it was not given that job", peer->id,
                     jid);
        return;
    }
    if (rc == 2) {
        self->counters[FL_CNT_DUP_RETURN]++;
        fl_log_info("second return from '%s' for job %s ignored", peer->id, jid);
        return;
    }
    self->counters[FL_CNT_RETURNS]++;
    char *tag = fl_sprintf("fleet/job/%s/ret/%s", jid, peer->id);
    json_t *data = json_pack("{s:s, s:s, s:s?, s:O, s:O}", "jid", jid, "id", peer->id, "fun",
                             fl_json_str(body, "fun"), "retcode", retcode, "success", success);
    if (json_is_object(ret) && strcmp(fl_json_str(body, "fun") ? fl_json_str(body, "fun") : "",
                                      "state.apply") == 0) {
        /* A state run's event says how it went, not every state's output. */
        int ok = 0, changed = 0, failed = 0;
        const char *key;
        json_t *r;
        json_object_foreach(ret, key, r) {
            if (json_is_false(json_object_get(r, "result"))) {
                failed++;
            } else {
                ok++;
            }
            changed += json_object_size(json_object_get(r, "changes")) > 0;
        }
        json_object_set_new(data, "states",
                            json_pack("{s:i, s:i, s:i}", "succeeded", ok, "changed", changed,
                                      "failed", failed));
    }
    fl_events_emit(self, tag, data);
    free(tag);
    fl_job_t *job = zhashx_lookup(self->jobs, jid);
    if (!job || !zhashx_lookup(job->waiting, peer->id)) {
        return;  /* a late return: stored, nobody is waiting */
    }
    zhashx_delete(job->waiting, peer->id);
    json_t *out = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "type", "return", "jid", jid,
                            "minion", peer->id, "ret", ret, "retcode", retcode, "success",
                            success);
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    if (!job->batch) {
        job->batch = zmsg_new();
        zmsg_addmem(job->batch, zframe_data(job->client), zframe_size(job->client));
        zlistx_add_end(self->jobs_batched, job->jid);
    }
    job->batch_bytes += strlen(text);
    zmsg_addstr(job->batch, text);
    free(text);
    if (job->batch_bytes >= S_BATCH_BYTES) {
        s_batch_send(self, job);
    }
}

/*  After a burst of minion messages (and its commit): the returns it
    brought go to their fleetctl, and the jobs they completed are done. */
void
fl_jobs_flush(fl_master_t *self)
{
    for (const char *jid = zlistx_first(self->jobs_batched); jid;
         jid = zlistx_next(self->jobs_batched)) {
        fl_job_t *job = zhashx_lookup(self->jobs, jid);
        if (!job) {
            continue;
        }
        s_batch_send(self, job);
        if (zhashx_size(job->waiting) == 0) {
            s_job_finish(self, job);
        }
    }
    zlistx_purge(self->jobs_batched);
}

zhashx_t *
fl_jobs_table_new(void)
{
    zhashx_t *table = zhashx_new();
    zhashx_set_destructor(table, (zhashx_destructor_fn *) s_job_destroy);
    return table;
}
