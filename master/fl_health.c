/*  fl_health.c: beacon samples from minions, and the water marks that turn
    them into alarms.  A sample is checked (fl_beacon_check: garbage and
    clocks far in the future are refused and counted), stored within the
    beacon budget, and held against every water mark whose beacon and
    target match: above `high` raises an alarm event once; back below `low`
    clears it once.  Between the two nothing happens, so a value that
    wobbles around one threshold does not flap. */
#include "fl_master_int.h"
#include "fl_beacon_check.h"
#include "fl_json.h"
#include "fl_target.h"
#include "fl_util.h"

struct fl_watermark {
    char *beacon;
    char *field;        /* nested with ':' ("/:used_percent" for disk) */
    double high, low;
    fl_target_t *target;
    char *mark;         /* "memory:used_percent" */
};

int
fl_health_init(fl_master_t *self, char **err)
{
    const json_t *marks = fl_config_json(self->config, "watermarks");
    size_t n = json_array_size(marks);
    self->watermarks = fl_calloc(n + 1, sizeof *self->watermarks);
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(marks, i);
        const char *beacon = fl_json_str(m, "beacon");
        const char *field = fl_json_str(m, "field");
        json_t *high = json_object_get(m, "high");
        json_t *low = json_object_get(m, "low");
        if (!beacon || !fl_beacon_known(beacon) || !field || !json_is_number(high)
            || (low && !json_is_number(low))) {
            *err = fl_sprintf("watermark %zu needs beacon (one of %s), field, high (and low)",
                              i + 1, fl_beacon_known_list());
            return -1;
        }
        double hi = json_number_value(high);
        double lo = low ? json_number_value(low) : hi;
        if (lo > hi) {
            *err = fl_sprintf("watermark %zu: low (%g) is above high (%g)", i + 1, lo, hi);
            return -1;
        }
        fl_diag_t *diag = fl_diag_new();
        const char *tgt = fl_json_str(m, "target");
        fl_target_t *target = fl_target_new(tgt ? tgt : "*", FL_TGT_COMPOUND, diag);
        if (!target) {
            char *text = fl_diag_format(diag);
            *err = fl_sprintf("watermark %zu: %s", i + 1, text);
            free(text);
            fl_diag_destroy(&diag);
            return -1;
        }
        fl_diag_destroy(&diag);
        fl_watermark_t *w = fl_calloc(1, sizeof *w);
        w->beacon = fl_strdup(beacon);
        w->field = fl_strdup(field);
        w->high = hi;
        w->low = lo;
        w->target = target;
        w->mark = fl_sprintf("%s:%s", beacon, field);
        self->watermarks[self->watermark_count++] = w;
    }
    self->alarms = fl_store_alarms(self->store);
    return 0;
}

void
fl_health_fini(fl_master_t *self)
{
    for (size_t i = 0; i < self->watermark_count; i++) {
        fl_watermark_t *w = self->watermarks[i];
        free(w->beacon);
        free(w->field);
        free(w->mark);
        fl_target_destroy(&w->target);
        free(w);
    }
    free(self->watermarks);
    self->watermarks = NULL;
    self->watermark_count = 0;
    json_decref(self->alarms);
    self->alarms = NULL;
}

static bool
s_in_alarm(fl_master_t *self, const char *minion, const char *mark)
{
    return json_object_get(json_object_get(self->alarms, minion), mark) != NULL;
}

static void
s_alarm(fl_master_t *self, fl_peer_t *peer, const fl_watermark_t *w, double value, bool raise)
{
    int64_t now = fl_time_s();
    json_t *mine = json_object_get(self->alarms, peer->id);
    if (raise) {
        if (!mine) {
            mine = json_object();
            json_object_set_new(self->alarms, peer->id, mine);
        }
        json_object_set_new(mine, w->mark,
                            json_pack("{s:I, s:f}", "since", (json_int_t) now, "value", value));
        fl_store_alarm_set(self->store, peer->id, w->mark, now, value);
    } else {
        json_object_del(mine, w->mark);
        fl_store_alarm_clear(self->store, peer->id, w->mark);
    }
    char *tag = fl_sprintf("fleet/beacon/%s/%s/%s", peer->id, w->beacon, raise ? "alarm" : "clear");
    fl_events_emit(self, tag,
                   json_pack("{s:s, s:s, s:s, s:f, s:f, s:f}", "id", peer->id, "beacon",
                             w->beacon, "field", w->field, "value", value, "high", w->high, "low",
                             w->low));
    free(tag);
}

static void
s_watermarks(fl_master_t *self, fl_peer_t *peer, const char *name, const json_t *data)
{
    for (size_t i = 0; i < self->watermark_count; i++) {
        const fl_watermark_t *w = self->watermarks[i];
        if (strcmp(w->beacon, name) != 0 || !fl_target_match(w->target, peer->id, peer->grains)) {
            continue;
        }
        const json_t *v = json_object_get(data, w->field);
        if (!v) {
            v = fl_json_lookup(data, w->field);
        }
        if (!json_is_number(v)) {
            continue;
        }
        double value = json_number_value(v);
        bool on = s_in_alarm(self, peer->id, w->mark);
        if (!on && value > w->high) {
            s_alarm(self, peer, w, value, true);
        } else if (on && value < w->low) {
            s_alarm(self, peer, w, value, false);
        }
    }
}

void
fl_health_on_beacon(fl_master_t *self, fl_peer_t *peer, const json_t *body, const char *desc)
{
    json_t *samples = json_object_get(body, "samples");
    if (!json_is_array(samples) || json_array_size(samples) > 64) {
        self->counters[FL_CNT_BAD_BEACON]++;
        fl_log_warnx("refused beacon message from %s: needs samples (at most 64)", desc);
        return;
    }
    int64_t now = fl_time_s();
    int64_t budget = fl_config_int(self->config, "beacon_budget_kb") > 0
                         ? (int64_t) fl_config_int(self->config, "beacon_budget_kb") * 1024
                         : (int64_t) fl_config_int(self->config, "beacon_budget_mb") * 1024 * 1024;
    size_t i;
    json_t *s;
    json_array_foreach(samples, i, s) {
        char *err = NULL;
        if (fl_beacon_check(s, now, &err) != 0) {
            self->counters[FL_CNT_BAD_BEACON]++;
            fl_log_warnx("refused beacon sample from %s: %s", desc, err);
            free(err);
            continue;
        }
        const char *name = fl_json_str(s, "name");
        const json_t *data = json_object_get(s, "data");
        int64_t pruned = fl_store_beacon_insert(self->store, peer->id,
                                                json_integer_value(json_object_get(s, "ts")),
                                                name, data, budget);
        if (pruned < 0) {
            continue;
        }
        self->counters[FL_CNT_BEACONS]++;
        self->counters[FL_CNT_BEACONS_PRUNED] += (uint64_t) pruned;
        s_watermarks(self, peer, name, data);
    }
}
