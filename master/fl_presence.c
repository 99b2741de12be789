/*  fl_presence.c: which minions are up, which went silent ("lost"), which
    were accepted but never seen.  A minion is up while its messages keep
    coming; it is lost when it has been silent longer than its threshold:
    the first `presence:` rule whose target matches it (a sensor that wakes
    once an hour is not lost after a minute), else `lost_after`, else three
    of its own heartbeats plus ten seconds.  Every transition is stored
    with its time (availability is computed from them) and is an event. */
#include "fl_master_int.h"
#include "fl_json.h"
#include "fl_target.h"
#include "fl_util.h"

static const char *s_names[] = { "never", "up", "lost" };

const char *
fl_presence_name(const fl_peer_t *peer)
{
    if (peer->state == FL_KEY_REVOKED) {
        return "revoked";
    }
    if (peer->state != FL_KEY_ACCEPTED) {
        return fl_key_state_name(peer->state);
    }
    return s_names[peer->presence];
}

int
fl_presence_init(fl_master_t *self, char **err)
{
    const json_t *rules = fl_config_json(self->config, "presence");
    size_t n = json_array_size(rules);
    self->presence_targets = fl_calloc(n + 1, sizeof *self->presence_targets);
    self->presence_lost_after = fl_calloc(n + 1, sizeof *self->presence_lost_after);
    for (size_t i = 0; i < n; i++) {
        const json_t *rule = json_array_get(rules, i);
        const char *tgt = fl_json_str(rule, "target");
        json_t *lost = json_object_get(rule, "lost_after");
        if (!tgt || !json_is_integer(lost) || json_integer_value(lost) < 1) {
            *err = fl_sprintf("presence rule %zu needs target (a compound target) and "
                              "lost_after (seconds)", i + 1);
            return -1;
        }
        fl_diag_t *diag = fl_diag_new();
        fl_target_t *target = fl_target_new(tgt, FL_TGT_COMPOUND, diag);
        if (!target) {
            char *text = fl_diag_format(diag);
            *err = fl_sprintf("presence rule %zu: %s", i + 1, text);
            free(text);
            fl_diag_destroy(&diag);
            return -1;
        }
        fl_diag_destroy(&diag);
        self->presence_targets[i] = target;
        self->presence_lost_after[i] = json_integer_value(lost);
        self->presence_count++;
    }
    /* What the store remembers: a minion up before a restart stays up until
       its threshold passes without news from it. */
    for (fl_peer_t *peer = zhashx_first(self->peers_by_id); peer;
         peer = zhashx_next(self->peers_by_id)) {
        char state[16];
        int64_t ts;
        fl_store_presence_last(self->store, peer->id, state, &ts);
        peer->presence = strcmp(state, "up") == 0     ? FL_PRESENCE_UP
                         : strcmp(state, "lost") == 0 ? FL_PRESENCE_LOST
                                                      : FL_PRESENCE_NEVER;
        if (peer->heartbeat_s <= 0) {
            peer->heartbeat_s = 30;
        }
        /* The store keeps the last hello, not the last ping: a minion that
           was up gets its whole threshold from now to show it still is. */
        if (peer->presence == FL_PRESENCE_UP && peer->last_seen < self->started) {
            peer->last_seen = self->started;
        }
    }
    return 0;
}

void
fl_presence_fini(fl_master_t *self)
{
    for (size_t i = 0; i < self->presence_count; i++) {
        fl_target_destroy(&self->presence_targets[i]);
    }
    free(self->presence_targets);
    free(self->presence_lost_after);
    self->presence_targets = NULL;
    self->presence_lost_after = NULL;
    self->presence_count = 0;
}

int64_t
fl_presence_lost_after(fl_master_t *self, const fl_peer_t *peer)
{
    for (size_t i = 0; i < self->presence_count; i++) {
        if (fl_target_match(self->presence_targets[i], peer->id, peer->grains)) {
            return self->presence_lost_after[i];
        }
    }
    long configured = fl_config_int(self->config, "lost_after");
    if (configured > 0) {
        return configured;
    }
    return 3 * (int64_t) (peer->heartbeat_s > 0 ? peer->heartbeat_s : 30) + 10;
}

static void
s_transition(fl_master_t *self, fl_peer_t *peer, fl_presence_t to, const char *event)
{
    int64_t now = fl_time_s();
    peer->presence = to;
    fl_store_presence_insert(self->store, peer->id, now, s_names[to]);
    char *tag = fl_sprintf("fleet/minion/%s/%s", peer->id, event);
    fl_events_emit(self, tag,
                   json_pack("{s:s, s:s, s:I}", "id", peer->id, "state", s_names[to],
                             "last_seen", (json_int_t) peer->last_seen));
    free(tag);
}

void
fl_presence_seen(fl_master_t *self, fl_peer_t *peer)
{
    peer->last_seen = fl_time_s();
    if (peer->state != FL_KEY_ACCEPTED || peer->presence == FL_PRESENCE_UP) {
        return;
    }
    bool back = peer->presence == FL_PRESENCE_LOST;
    if (back) {
        fl_log_notice("minion '%s' is back", peer->id);
    }
    s_transition(self, peer, FL_PRESENCE_UP, back ? "back" : "up");
}

void
fl_presence_tick(fl_master_t *self)
{
    int64_t now = fl_time_s();
    for (fl_peer_t *peer = zhashx_first(self->peers_by_id); peer;
         peer = zhashx_next(self->peers_by_id)) {
        if (peer->presence != FL_PRESENCE_UP || peer->state != FL_KEY_ACCEPTED) {
            continue;
        }
        int64_t limit = fl_presence_lost_after(self, peer);
        if (now - peer->last_seen > limit) {
            fl_log_notice("minion '%s' is lost: silent for %llds (threshold %llds)", peer->id,
                          (long long) (now - peer->last_seen), (long long) limit);
            s_transition(self, peer, FL_PRESENCE_LOST, "lost");
        }
    }
}

json_t *
fl_presence_status(fl_master_t *self, const char *tgt, const char *tgt_type, bool lost_only,
                   json_t **diag)
{
    /* Status covers every key, not only accepted ones: resolve by hand. */
    fl_tgt_type_t type;
    fl_diag_t *d = fl_diag_new();
    fl_target_t *target = NULL;
    if (fl_tgt_type_parse(tgt_type ? tgt_type : "glob", &type) != 0) {
        fl_diag_error(d, "<target>", 0, 0, "unknown target type '%s'", tgt_type);
    } else {
        target = fl_target_new(tgt ? tgt : "*", type, d);
    }
    if (!target) {
        *diag = fl_diag_to_json(d);
        fl_diag_destroy(&d);
        return NULL;
    }
    fl_diag_destroy(&d);
    json_t *alarms = fl_store_alarms(self->store);
    json_t *rows = json_array();
    json_t *counts = json_pack("{s:i, s:i, s:i, s:i, s:i}", "up", 0, "lost", 0, "never", 0,
                               "revoked", 0, "other", 0);
    for (fl_peer_t *peer = zhashx_first(self->peers_by_id); peer;
         peer = zhashx_next(self->peers_by_id)) {
        if (!fl_target_match(target, peer->id, peer->grains)) {
            continue;
        }
        const char *state = fl_presence_name(peer);
        if (lost_only && strcmp(state, "lost") != 0) {
            continue;
        }
        json_t *count = json_object_get(counts, state);
        if (!count) {
            count = json_object_get(counts, "other");
        }
        json_integer_set(count, json_integer_value(count) + 1);
        json_t *mine = json_object_get(alarms, peer->id);
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:I, s:s?, s:I, s:I, s:o}", "id", peer->id, "state",
                            state, "last_seen", (json_int_t) peer->last_seen, "version",
                            peer->version, "uptime", (json_int_t) peer->uptime_s, "lost_after",
                            (json_int_t) fl_presence_lost_after(self, peer), "alarms",
                            mine ? json_incref(mine) : json_object()));
    }
    fl_target_destroy(&target);
    json_decref(alarms);
    return json_pack("{s:o, s:o, s:I}", "minions", rows, "counts", counts, "now",
                     (json_int_t) fl_time_s());
}

json_t *
fl_presence_availability(fl_master_t *self, const char *tgt, const char *tgt_type,
                         int64_t since, json_t **diag)
{
    json_t *ids = fl_peers_resolve(self, tgt, tgt_type ? tgt_type : "glob", diag);
    if (!ids) {
        return NULL;
    }
    int64_t now = fl_time_s();
    json_t *out = json_object();
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        int64_t known = 0;
        int64_t up = fl_store_presence_up_seconds(self->store, json_string_value(id), since,
                                                  now, &known);
        int64_t period = now - since;
        json_object_set_new(out, json_string_value(id),
                            json_pack("{s:I, s:I, s:I, s:f}", "up_seconds", (json_int_t) up,
                                      "period_seconds", (json_int_t) period, "known_seconds",
                                      (json_int_t) known, "percent",
                                      period > 0 ? 100.0 * (double) up / (double) period : 0.0));
    }
    json_decref(ids);
    return json_pack("{s:I, s:I, s:o}", "since", (json_int_t) since, "now", (json_int_t) now,
                     "minions", out);
}
