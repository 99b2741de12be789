/*  fl_control.c: requests from fleetctl on the local control socket.  Each
    request is one JSON object {"cmd": NAME, ...}; a command table (as in
    Redis) maps names to handlers.  Replies are JSON objects whose "type"
    is result, error, or, for runs, job / return / done. */
#include "fl_master_int.h"
#include "fl_json.h"
#include "fl_mqtt.h"
#include "fl_util.h"

void
fl_control_reply(fl_master_t *self, zframe_t *client, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, zframe_data(client), zframe_size(client));
    zmsg_addstr(msg, text);
    free(text);
    /* A fleetctl that went away (Ctrl-C) is not an error for the master. */
    if (zmsg_send(&msg, self->control) != 0) {
        zmsg_destroy(&msg);
    }
}

void
fl_control_error(fl_master_t *self, zframe_t *client, int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = fl_vsprintf(fmt, ap);
    va_end(ap);
    fl_control_reply(self, client,
                     json_pack("{s:s, s:s, s:i}", "type", "error", "msg", msg, "exit", exit_code));
    free(msg);
}

static void
s_result(fl_master_t *self, zframe_t *client, json_t *data)
{
    fl_control_reply(self, client, json_pack("{s:s, s:o}", "type", "result", "data", data));
}

static void
s_cmd_ping(fl_master_t *self, zframe_t *client, const json_t *req)
{
    FL_UNUSED(req);
    s_result(self, client,
             json_pack("{s:s, s:s, s:I, s:I}", "version", FL_VERSION, "endpoint",
                       self->endpoint, "minions", (json_int_t) zhashx_size(self->peers_by_id),
                       "uptime", (json_int_t) (fl_time_s() - self->started)));
}

static void
s_cmd_key_list(fl_master_t *self, zframe_t *client, const json_t *req)
{
    FL_UNUSED(req);
    json_t *lists = json_pack("{s:[], s:[], s:[], s:[]}", "pending", "accepted", "rejected",
                              "revoked");
    zlistx_t *ids = zhashx_keys(self->peers_by_id);
    zlistx_set_comparator(ids, (zlistx_comparator_fn *) strcmp);
    zlistx_sort(ids);
    for (const char *id = zlistx_first(ids); id; id = zlistx_next(ids)) {
        fl_peer_t *peer = fl_peers_by_id(self, id);
        json_array_append_new(json_object_get(lists, fl_key_state_name(peer->state)),
                              json_string(id));
    }
    zlistx_destroy(&ids);
    s_result(self, client, lists);
}

/*  The peer a key command names, or an error reply. */
static fl_peer_t *
s_named_peer(fl_master_t *self, zframe_t *client, const json_t *req)
{
    const char *id = fl_json_str(req, "id");
    fl_peer_t *peer = id ? fl_peers_by_id(self, id) : NULL;
    if (!peer) {
        fl_control_error(self, client, 1, "no minion key named '%s'", id ? id : "");
    }
    return peer;
}

static void
s_key_event(fl_master_t *self, const char *id, const char *what)
{
    char *tag = fl_sprintf("fleet/key/%s/%s", id, what);
    fl_events_emit(self, tag, json_pack("{s:s, s:s}", "id", id, "state", what));
    free(tag);
}

static int
s_set_state(fl_master_t *self, fl_peer_t *peer, fl_key_state_t state)
{
    if (fl_store_minion_set_state(self->store, peer->id, state) != 0) {
        return -1;
    }
    peer->state = state;
    s_key_event(self, peer->id, fl_key_state_name(state));
    return 0;
}

static void
s_accept(fl_master_t *self, fl_peer_t *peer, json_t *done)
{
    if (s_set_state(self, peer, FL_KEY_ACCEPTED) != 0) {
        return;
    }
    json_array_append_new(done, json_string(peer->id));
    fl_log_notice("key of minion '%s' accepted", peer->id);
    /* A pending minion still connected need not wait for its next hello. */
    if (peer->connected && peer->sid) {
        json_t *welcome = json_pack("{s:s, s:s}", "id", peer->id, "master_version", FL_VERSION);
        fl_master_send(self, peer, "welcome", welcome);
        json_decref(welcome);
    }
}

static void
s_cmd_key_accept(fl_master_t *self, zframe_t *client, const json_t *req)
{
    json_t *done = json_array();
    if (json_is_true(json_object_get(req, "all"))) {
        for (fl_peer_t *peer = zhashx_first(self->peers_by_id); peer;
             peer = zhashx_next(self->peers_by_id)) {
            if (peer->state == FL_KEY_PENDING) {
                s_accept(self, peer, done);
            }
        }
    } else {
        fl_peer_t *peer = s_named_peer(self, client, req);
        if (!peer) {
            json_decref(done);
            return;
        }
        if (peer->state == FL_KEY_REVOKED) {
            json_decref(done);
            fl_control_error(self, client, 1, "'%s' is revoked: a revoked key can never be "
                                              "accepted again", peer->id);
            return;
        }
        s_accept(self, peer, done);
    }
    s_result(self, client, json_pack("{s:o}", "accepted", done));
}

static void
s_cmd_key_reject(fl_master_t *self, zframe_t *client, const json_t *req)
{
    fl_peer_t *peer = s_named_peer(self, client, req);
    if (!peer) {
        return;
    }
    if (peer->state == FL_KEY_REVOKED) {
        fl_control_error(self, client, 1, "'%s' is already revoked", peer->id);
        return;
    }
    if (s_set_state(self, peer, FL_KEY_REJECTED) != 0) {
        fl_control_error(self, client, 1, "store: %s", fl_store_errmsg(self->store));
        return;
    }
    fl_log_notice("key of minion '%s' rejected", peer->id);
    if (peer->connected) {
        json_t *why = json_pack("{s:s}", "reason", "key rejected by the master");
        fl_master_send(self, peer, "refused", why);
        json_decref(why);
    }
    s_result(self, client, json_pack("{s:[s]}", "rejected", peer->id));
}

static void
s_cmd_key_delete(fl_master_t *self, zframe_t *client, const json_t *req)
{
    fl_peer_t *peer = s_named_peer(self, client, req);
    if (!peer) {
        return;
    }
    if (fl_store_minion_delete(self->store, peer->id) != 0) {
        fl_control_error(self, client, 1, "store: %s", fl_store_errmsg(self->store));
        return;
    }
    json_t *result = json_pack("{s:[s]}", "deleted", peer->id);
    fl_log_notice("key of minion '%s' deleted", peer->id);
    s_key_event(self, peer->id, "deleted");
    fl_peers_remove(self, peer);
    s_result(self, client, result);
}

static void
s_cmd_key_revoke(fl_master_t *self, zframe_t *client, const json_t *req)
{
    fl_peer_t *peer = s_named_peer(self, client, req);
    if (!peer) {
        return;
    }
    const char *reason = fl_json_str(req, "reason");
    if (fl_store_revoke(self->store, peer->id, peer->ed_hex, reason ? reason : "revoked",
                        fl_time_s())
        != 0) {
        fl_control_error(self, client, 1, "store: %s", fl_store_errmsg(self->store));
        return;
    }
    peer->state = FL_KEY_REVOKED;
    zhashx_insert(self->revoked_curve, peer->curve_hex, (void *) "");
    /* Cut it off now: tell it to retire; whatever it sends from here on is
       dropped, and the handshake refuses the key from now on. */
    if (peer->connected) {
        json_t *why = json_pack("{s:s}", "reason", reason ? reason : "key revoked");
        fl_master_send(self, peer, "retire", why);
        json_decref(why);
    }
    zframe_destroy(&peer->routing);
    peer->connected = false;
    fl_log_notice("key of minion '%s' revoked", peer->id);
    s_key_event(self, peer->id, "revoked");
    s_result(self, client, json_pack("{s:[s]}", "revoked", peer->id));
}

static void
s_cmd_key_show(fl_master_t *self, zframe_t *client, const json_t *req)
{
    fl_peer_t *peer = s_named_peer(self, client, req);
    if (!peer) {
        return;
    }
    fl_minion_rec_t rec = { 0 };
    if (fl_store_minion_get(self->store, peer->id, &rec) != 1) {
        fl_control_error(self, client, 1, "store: no record for '%s'", peer->id);
        return;
    }
    char fp[FL_FINGERPRINT_LEN];
    fl_key_fingerprint_raw(peer->ed_pk, fp);
    s_result(self, client,
             json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:I, s:I, s:b}", "id", rec.id, "state",
                       fl_key_state_name(peer->state), "key", rec.key, "fingerprint", fp,
                       "cert_serial", rec.cert_serial, "version", rec.version, "first_seen",
                       (json_int_t) rec.first_seen, "last_seen", (json_int_t) peer->last_seen,
                       "connected", peer->connected));
    fl_minion_rec_clear(&rec);
}

static void
s_cmd_run(fl_master_t *self, zframe_t *client, const json_t *req)
{
    fl_jobs_run(self, client, req);
}

static void
s_cmd_jobs(fl_master_t *self, zframe_t *client, const json_t *req)
{
    json_int_t limit = json_integer_value(json_object_get(req, "limit"));
    s_result(self, client, fl_store_jobs_list(self->store, limit > 0 ? (int) limit : 50));
}

static void
s_cmd_job(fl_master_t *self, zframe_t *client, const json_t *req)
{
    const char *jid = fl_json_str(req, "jid");
    json_t *job = jid ? fl_store_job_get(self->store, jid) : NULL;
    if (!job) {
        fl_control_error(self, client, 1, "no job %s", jid ? jid : "");
        return;
    }
    s_result(self, client, job);
}

/*  Compiles states for the targeted minions without running anything:
    what `fleetctl state show TARGET` prints. */
static void
s_cmd_state_show(fl_master_t *self, zframe_t *client, const json_t *req)
{
    const char *tgt = fl_json_str(req, "tgt");
    const char *tgt_type = fl_json_str(req, "tgt_type");
    json_t *args = json_object_get(req, "args");
    if (!tgt || (args && !json_is_array(args))) {
        fl_control_error(self, client, 2, "state.show needs tgt and args (array)");
        return;
    }
    json_t *diag = NULL;
    json_t *expected = fl_peers_resolve(self, tgt, tgt_type ? tgt_type : "glob", &diag);
    if (!expected) {
        fl_control_reply(self, client, json_pack("{s:s, s:s, s:i, s:o}", "type", "error", "msg",
                                                 "bad target", "exit", 2, "diag", diag));
        return;
    }
    char commit[41] = "";
    char *err = NULL;
    fl_src_t *tree = fl_states_open_tree(self, commit, &err);
    if (!tree) {
        json_decref(expected);
        fl_control_error(self, client, 2, "%s", err);
        free(err);
        return;
    }
    fl_src_t *pillar_src = fl_states_open_pillar(self);
    json_t *minions = json_object();
    size_t i;
    json_t *id;
    json_array_foreach(expected, i, id) {
        fl_peer_t *peer = fl_peers_by_id(self, json_string_value(id));
        fl_diag_t *errors = fl_diag_new();
        json_t *compiled = fl_states_compile(tree, pillar_src, peer->id, peer->grains, args,
                                             errors);
        json_object_set_new(minions, peer->id,
                            compiled ? json_pack("{s:O}", "chunks",
                                                 json_object_get(compiled, "chunks"))
                                     : json_pack("{s:o}", "errors", fl_states_errors(errors)));
        json_decref(compiled);
        fl_diag_destroy(&errors);
    }
    fl_src_destroy(&tree);
    fl_src_destroy(&pillar_src);
    json_decref(expected);
    s_result(self, client, json_pack("{s:s, s:o}", "commit", commit, "minions", minions));
}

static void
s_cmd_stats(fl_master_t *self, zframe_t *client, const json_t *req)
{
    FL_UNUSED(req);
    json_t *counters = json_object();
    for (int c = 0; c < FL_CNT__COUNT; c++) {
        json_object_set_new(counters, fl_counter_name((fl_counter_t) c),
                            json_pack("{s:I, s:s}", "count", (json_int_t) self->counters[c],
                                      "doc", fl_counter_doc((fl_counter_t) c)));
    }
    size_t connected = 0;
    for (fl_peer_t *peer = zhashx_first(self->peers_by_id); peer;
         peer = zhashx_next(self->peers_by_id)) {
        connected += peer->connected;
    }
    json_t *stats = json_pack("{s:o, s:I, s:I, s:I}", "counters", counters, "minions",
                              (json_int_t) zhashx_size(self->peers_by_id), "connected",
                              (json_int_t) connected, "uptime",
                              (json_int_t) (fl_time_s() - self->started));
    if (self->mqtt) {
        json_object_set_new(stats, "mqtt", fl_mqtt_stats(self->mqtt));
    }
    s_result(self, client, stats);
}

static void
s_cmd_events(fl_master_t *self, zframe_t *client, const json_t *req)
{
    fl_events_follow(self, client, req);
}

static void
s_cmd_status(fl_master_t *self, zframe_t *client, const json_t *req)
{
    json_t *diag = NULL;
    json_t *status = fl_presence_status(self, fl_json_str(req, "tgt"),
                                        fl_json_str(req, "tgt_type"),
                                        json_is_true(json_object_get(req, "lost")), &diag);
    if (!status) {
        fl_control_reply(self, client, json_pack("{s:s, s:s, s:i, s:o}", "type", "error", "msg",
                                                 "bad target", "exit", 2, "diag", diag));
        return;
    }
    s_result(self, client, status);
}

static void
s_cmd_availability(fl_master_t *self, zframe_t *client, const json_t *req)
{
    json_int_t since = json_integer_value(json_object_get(req, "since"));
    if (since <= 0 || since > fl_time_s()) {
        fl_control_error(self, client, 2, "availability needs a period in the past (--since)");
        return;
    }
    json_t *diag = NULL;
    json_t *out = fl_presence_availability(self, fl_json_str(req, "tgt") ? fl_json_str(req, "tgt")
                                                                         : "*",
                                           fl_json_str(req, "tgt_type"), since, &diag);
    if (!out) {
        fl_control_reply(self, client, json_pack("{s:s, s:s, s:i, s:o}", "type", "error", "msg",
                                                 "bad target", "exit", 2, "diag", diag));
        return;
    }
    s_result(self, client, out);
}

static void
s_cmd_beacons(fl_master_t *self, zframe_t *client, const json_t *req)
{
    const char *id = fl_json_str(req, "id");
    if (!id || !fl_peers_by_id(self, id)) {
        fl_control_error(self, client, 1, "no minion named '%s'", id ? id : "");
        return;
    }
    json_int_t limit = json_integer_value(json_object_get(req, "limit"));
    s_result(self, client,
             fl_store_beacons_get(self->store, id, fl_json_str(req, "name"),
                                  json_integer_value(json_object_get(req, "since")),
                                  limit > 0 && limit <= 100000 ? (int) limit : 1000));
}

typedef void (*s_handler_fn)(fl_master_t *self, zframe_t *client, const json_t *req);

static const struct {
    const char *name;
    s_handler_fn handler;
} s_commands[] = {
    /* sorted by name: bsearch */
    { "availability", s_cmd_availability },
    { "beacons", s_cmd_beacons },
    { "events", s_cmd_events },
    { "job", s_cmd_job },
    { "jobs", s_cmd_jobs },
    { "key.accept", s_cmd_key_accept },
    { "key.delete", s_cmd_key_delete },
    { "key.list", s_cmd_key_list },
    { "key.reject", s_cmd_key_reject },
    { "key.revoke", s_cmd_key_revoke },
    { "key.show", s_cmd_key_show },
    { "ping", s_cmd_ping },
    { "run", s_cmd_run },
    { "state.show", s_cmd_state_show },
    { "stats", s_cmd_stats },
    { "status", s_cmd_status },
};

static int
s_command_compare(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *) elem);
}

int
fl_control_on_readable(zloop_t *loop, zsock_t *sock, void *arg)
{
    FL_UNUSED(loop);
    fl_master_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg) {
        return 0;
    }
    zframe_t *client = zmsg_pop(msg);
    zframe_t *body = zmsg_first(msg);
    json_error_t jerr;
    json_t *req = body && zmsg_size(msg) == 1
                      ? json_loadb((const char *) zframe_data(body), zframe_size(body), 0, &jerr)
                      : NULL;
    const char *cmd = fl_json_str(req, "cmd");
    if (!client || !cmd) {
        if (client) {
            fl_control_error(self, client, 2, "malformed control request");
        }
    } else {
        const void *found = bsearch(cmd, s_commands, FL_ARRAY_LEN(s_commands),
                                    sizeof s_commands[0], s_command_compare);
        if (found) {
            ((const __typeof__(s_commands[0]) *) found)->handler(self, client, req);
        } else {
            fl_control_error(self, client, 2, "unknown control command '%.40s'", cmd);
        }
    }
    json_decref(req);
    zframe_destroy(&client);
    zmsg_destroy(&msg);
    return 0;
}
