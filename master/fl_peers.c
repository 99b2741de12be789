/*  fl_peers.c: the minions the master knows, in memory, keyed both by CURVE
    key (what the handshake proves) and by id (what operators target).
    Loaded from the store at start; the store stays the record. */
#include "fl_master_int.h"
#include "fl_target.h"
#include "fl_util.h"

fl_peer_t *
fl_peer_new(const char *curve_hex)
{
    fl_peer_t *self = fl_calloc(1, sizeof *self);
    snprintf(self->curve_hex, sizeof self->curve_hex, "%s", curve_hex);
    return self;
}

void
fl_peer_destroy(fl_peer_t **self_p)
{
    if (self_p && *self_p) {
        fl_peer_t *self = *self_p;
        free(self->id);
        free(self->sid);
        free(self->version);
        json_decref(self->grains);
        zframe_destroy(&self->routing);
        free(self);
        *self_p = NULL;
    }
}

static int
s_load_one(const fl_minion_rec_t *rec, void *arg)
{
    fl_master_t *self = arg;
    uint8_t ed[FL_KEY_BYTES], curve[FL_KEY_BYTES];
    char curve_hex[2 * FL_KEY_BYTES + 1];
    if (fl_hex_decode(rec->key, ed, FL_KEY_BYTES) != 0 || fl_key_curve_from_ed(ed, curve) != 0) {
        fl_log_warnx("store: minion '%s' has an unusable key; ignored", rec->id);
        return 0;
    }
    fl_hex_encode(curve, FL_KEY_BYTES, curve_hex);
    fl_peer_t *peer = fl_peer_new(curve_hex);
    memcpy(peer->ed_pk, ed, FL_KEY_BYTES);
    snprintf(peer->ed_hex, sizeof peer->ed_hex, "%s", rec->key);
    peer->state = rec->state;
    peer->grains = json_incref(rec->grains);
    peer->version = rec->version ? fl_strdup(rec->version) : NULL;
    peer->last_seen = rec->last_seen;
    fl_peers_add(self, peer);
    fl_peers_set_id(self, peer, rec->id);
    return 0;
}

int
fl_peers_load(fl_master_t *self)
{
    if (fl_store_minion_foreach(self->store, s_load_one, self) != 0) {
        return -1;
    }
    json_t *revoked = fl_store_revoked_list(self->store);
    size_t i;
    json_t *hex;
    json_array_foreach(revoked, i, hex) {
        uint8_t ed[FL_KEY_BYTES], curve[FL_KEY_BYTES];
        char curve_hex[2 * FL_KEY_BYTES + 1];
        if (fl_hex_decode(json_string_value(hex), ed, FL_KEY_BYTES) == 0
            && fl_key_curve_from_ed(ed, curve) == 0) {
            fl_hex_encode(curve, FL_KEY_BYTES, curve_hex);
            zhashx_insert(self->revoked_curve, curve_hex, (void *) "");
        }
    }
    json_decref(revoked);
    fl_log_info("loaded %zu minions, %zu revoked keys", zhashx_size(self->peers_by_id),
                zhashx_size(self->revoked_curve));
    return 0;
}

fl_peer_t *
fl_peers_by_curve(fl_master_t *self, const char *curve_hex)
{
    return zhashx_lookup(self->peers_by_curve, curve_hex);
}

fl_peer_t *
fl_peers_by_id(fl_master_t *self, const char *id)
{
    return zhashx_lookup(self->peers_by_id, id);
}

void
fl_peers_add(fl_master_t *self, fl_peer_t *peer)
{
    zhashx_insert(self->peers_by_curve, peer->curve_hex, peer);
}

void
fl_peers_set_id(fl_master_t *self, fl_peer_t *peer, const char *id)
{
    if (peer->id) {
        zhashx_delete(self->peers_by_id, peer->id);
        free(peer->id);
    }
    peer->id = fl_strdup(id);
    zhashx_insert(self->peers_by_id, peer->id, peer);
}

void
fl_peers_remove(fl_master_t *self, fl_peer_t *peer)
{
    if (peer->id && zhashx_lookup(self->peers_by_id, peer->id) == peer) {
        zhashx_delete(self->peers_by_id, peer->id);
    }
    zhashx_delete(self->peers_by_curve, peer->curve_hex);  /* destroys PEER */
}

static int
s_compare_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *) a), json_string_value(*(json_t *const *) b));
}

json_t *
fl_peers_resolve(fl_master_t *self, const char *tgt, const char *tgt_type, json_t **diag_json)
{
    fl_tgt_type_t type;
    fl_diag_t *diag = fl_diag_new();
    if (fl_tgt_type_parse(tgt_type, &type) != 0) {
        fl_diag_error(diag, "<target>", 0, 0, "unknown target type '%s'", tgt_type);
        *diag_json = fl_diag_to_json(diag);
        fl_diag_destroy(&diag);
        return NULL;
    }
    fl_target_t *target = fl_target_new(tgt, type, diag);
    if (!target) {
        *diag_json = fl_diag_to_json(diag);
        fl_diag_destroy(&diag);
        return NULL;
    }
    fl_diag_destroy(&diag);
    size_t n = zhashx_size(self->peers_by_id);
    json_t **found = fl_calloc(n ? n : 1, sizeof *found);
    size_t count = 0;
    for (fl_peer_t *peer = zhashx_first(self->peers_by_id); peer;
         peer = zhashx_next(self->peers_by_id)) {
        if (peer->state == FL_KEY_ACCEPTED && fl_target_match(target, peer->id, peer->grains)) {
            found[count++] = json_string(peer->id);
        }
    }
    fl_target_destroy(&target);
    qsort(found, count, sizeof *found, s_compare_str);
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
        json_array_append_new(list, found[i]);
    }
    free(found);
    return list;
}
