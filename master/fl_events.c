/*  fl_events.c: the event bus.  Every notable thing (a key decision, a
    minion up/lost/back, a job and its returns, a beacon alarm) becomes an
    event: a tag such as fleet/minion/pi-7/lost and JSON data.  Events are
    kept in the store (the newest events_max), pushed to every fleetctl
    that follows a matching tag, and published to MQTT when configured. */
#include "fl_master_int.h"
#include "fl_json.h"
#include "fl_mqtt.h"
#include "fl_util.h"

#include <fnmatch.h>

typedef struct {
    zframe_t *client;
    char *glob;
} s_follower_t;

static void
s_follower_destroy(s_follower_t **self_p)
{
    if (self_p && *self_p) {
        zframe_destroy(&(*self_p)->client);
        free((*self_p)->glob);
        free(*self_p);
        *self_p = NULL;
    }
}

static bool
s_send(fl_master_t *self, zframe_t *client, const json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    zmsg_t *m = zmsg_new();
    zmsg_addmem(m, zframe_data(client), zframe_size(client));
    zmsg_addstr(m, text);
    free(text);
    if (zmsg_send(&m, self->control) != 0) {
        zmsg_destroy(&m);
        return false;
    }
    return true;
}

void
fl_events_emit(fl_master_t *self, const char *tag, json_t *data)
{
    int64_t now = fl_time_s();
    if (fl_store_event_insert(self->store, now, tag, data,
                              fl_config_int(self->config, "events_max"))
        != 0) {
        fl_log_error("cannot store event %s", tag);
    }
    json_t *event = json_pack("{s:s, s:I, s:s, s:O}", "type", "event", "ts", (json_int_t) now,
                              "tag", tag, "data", data);
    if (self->followers) {
        s_follower_t *f = zlistx_first(self->followers);
        while (f) {
            void *handle = zlistx_cursor(self->followers);
            s_follower_t *next = zlistx_next(self->followers);
            if (fnmatch(f->glob, tag, 0) == 0 && !s_send(self, f->client, event)) {
                /* fleetctl went away (or stopped reading): forget it */
                zlistx_delete(self->followers, handle);
            }
            f = next;
        }
    }
    if (self->mqtt) {
        char *payload = json_dumps(event, JSON_COMPACT);
        fl_mqtt_publish(self->mqtt, tag, payload);
        free(payload);
    }
    fl_log_debug("event %s", tag);
    json_decref(event);
    json_decref(data);
}

/*  fleetctl events: the last N matching events, then every new one. */
void
fl_events_follow(fl_master_t *self, zframe_t *client, const json_t *req)
{
    const char *glob = fl_json_str(req, "tag");
    json_int_t last = json_integer_value(json_object_get(req, "last"));
    /* Sent in one burst: stay well inside the control socket's queue. */
    if (last > 500) {
        last = 500;
    }
    if (!self->followers) {
        self->followers = zlistx_new();
        zlistx_set_destructor(self->followers, (zlistx_destructor_fn *) s_follower_destroy);
    }
    json_t *recent = fl_store_events_recent(self->store, glob ? glob : "*",
                                            last > 0 ? (int) last : 0);
    size_t i;
    json_t *e;
    bool ok = true;
    json_array_foreach(recent, i, e) {
        json_object_set_new(e, "type", json_string("event"));
        ok = ok && s_send(self, client, e);
    }
    json_decref(recent);
    json_t *hello = json_pack("{s:s}", "type", "following");
    ok = ok && s_send(self, client, hello);
    json_decref(hello);
    if (ok) {
        s_follower_t *f = fl_calloc(1, sizeof *f);
        f->client = zframe_dup(client);
        f->glob = fl_strdup(glob ? glob : "*");
        zlistx_add_end(self->followers, f);
    }
}

void
fl_events_destroy_followers(fl_master_t *self)
{
    zlistx_destroy(&self->followers);
}

/*  A keepalive to every follower (every 10 s), so a fleetctl that waits
    for events knows the master is still there. */
void
fl_events_keepalive(fl_master_t *self)
{
    if (!self->followers || zlistx_size(self->followers) == 0) {
        return;
    }
    json_t *msg = json_pack("{s:s}", "type", "keepalive");
    s_follower_t *f = zlistx_first(self->followers);
    while (f) {
        void *handle = zlistx_cursor(self->followers);
        s_follower_t *next = zlistx_next(self->followers);
        if (!s_send(self, f->client, msg)) {
            zlistx_delete(self->followers, handle);
        }
        f = next;
    }
    json_decref(msg);
}
