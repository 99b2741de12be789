/*  fl_master.c: the master's loop and its side of the minion wire.

    Every message from a minion goes through the same gate before anything
    acts on it: the CURVE handshake already proved the peer holds the key
    named in the frame's User-Id (set by our ZAP handler); then the frames
    and sizes are checked, the signature is verified with the ed25519 key
    bound to that CURVE key, the JSON is parsed with a depth bound, and the
    session and sequence are checked.  Whatever fails is counted, logged
    with the peer, and dropped: nothing stored changes. */
#include "fl_master_int.h"
#include "fl_cert.h"
#include "fl_json.h"
#include "fl_msg.h"
#include "fl_mqtt.h"
#include "fl_util.h"

#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

const fl_cfg_spec_t fl_master_config_spec[] = {
    { "listen", FL_CFG_ENDPOINT, "tcp://0.0.0.0:4506", 0, 0, false,
      "ZeroMQ endpoint minions connect to; tcp://HOST:* picks a free port "
      "(written to DATA_DIR/endpoint)" },
    { "data_dir", FL_CFG_PATH, "/var/lib/fleet", 0, 0, false,
      "keys (master.key, master.pub), the store (fleet.db) and the endpoint file" },
    { "socket", FL_CFG_PATH, "/run/fleet/master.sock", 0, 0, false,
      "control socket for fleetctl; mode 0660, for the master's user and group" },
    { "pki_root", FL_CFG_PATH, NULL, 0, 0, false,
      "fleet root public key (root.pub, or the directory holding it): minions with a "
      "certificate it signed are accepted at once" },
    { "state_dir", FL_CFG_PATH, NULL, 0, 0, false,
      "the state tree: a git work tree or bare repository holding top.sls and SLS files" },
    { "state_ref", FL_CFG_STRING, "HEAD", 0, 0, false,
      "the commit of state_dir that state runs compile from (branch, tag, HEAD or id)" },
    { "pillar_dir", FL_CFG_PATH, NULL, 0, 0, false,
      "pillar: a directory with its own top.sls; each minion gets only what targets it" },
    { "log_level", FL_CFG_LOGLEVEL, "notice", 0, 0, false,
      "error, warning, notice, info or debug" },
    { "job_timeout", FL_CFG_INT, "10", 1, 86400, false,
      "seconds a job waits for returns when fleetctl gives no --timeout" },
    { "lost_after", FL_CFG_INT, "0", 0, 31536000, false,
      "seconds of silence after which a minion is lost (0: three of its heartbeats + 10 s)" },
    { "presence", FL_CFG_LIST, NULL, 0, 0, false,
      "per-class thresholds: [{target: 'G@class:sensor', lost_after: 3600}], first match wins" },
    { "events_max", FL_CFG_INT, "100000", 100, 100000000, false,
      "events kept in the store (the oldest go first)" },
    { "beacon_budget_mb", FL_CFG_INT, "64", 1, 1000000, false,
      "storage for beacon samples; the oldest samples go first" },
    { "beacon_budget_kb", FL_CFG_INT, "0", 0, 1000000000, false,
      "the same budget in KiB, for small devices and tests (wins when set)" },
    { "watermarks", FL_CFG_LIST, NULL, 0, 0, false,
      "alarms: [{beacon: memory, field: used_percent, high: 90, low: 80, target: '*'}]" },
    { "mqtt", FL_CFG_MAP, NULL, 0, 0, false,
      "MQTT bridge: url, topic_prefix, client_id, username, password, ca_file, cert_file, "
      "key_file, keepalive, buffer" },
    { "max_minions", FL_CFG_INT, "100000", 1, 10000000, false,
      "connections the master is sized for (socket queue limits)" },
    { "io_threads", FL_CFG_INT, "0", 0, 64, false,
      "libzmq I/O threads that carry the minions' connections (0: one per CPU, at most 8)" },
    { "verify_threads", FL_CFG_INT, "-1", -1, 64, false,
      "threads besides the loop that verify the signatures of a burst of minion messages "
      "(-1: one per CPU but one, at most 7; 0: the loop alone)" },
};
const size_t fl_master_config_spec_len = FL_ARRAY_LEN(fl_master_config_spec);

static const char *s_counter_names[] = {
#define X(name, doc) #name,
    FL_COUNTERS(X)
#undef X
};
static const char *s_counter_docs[] = {
#define X(name, doc) doc,
    FL_COUNTERS(X)
#undef X
};

const char *
fl_counter_name(fl_counter_t c)
{
    return s_counter_names[c];
}

const char *
fl_counter_doc(fl_counter_t c)
{
    return s_counter_docs[c];
}

static char *
s_data_path(const fl_config_t *config, const char *name)
{
    return fl_path_join(fl_config_str(config, "data_dir"), name);
}

int
fl_master_init_data(const fl_config_t *config, char **err)
{
    const char *dir = fl_config_str(config, "data_dir");
    if (fl_mkdir_p(dir, 0700) != 0) {
        *err = fl_sprintf("%s: %s", dir, strerror(errno));
        return -1;
    }
    char *secret = s_data_path(config, "master.key");
    char *public = s_data_path(config, "master.pub");
    fl_key_t *key = fl_key_load_or_create(secret, public, err);
    free(secret);
    free(public);
    if (!key) {
        return -1;
    }
    fl_key_destroy(&key);
    return 0;
}

/*  pki_root names root.pub or the directory that holds it. */
static int
s_load_root(fl_master_t *self, char **err)
{
    const char *path = fl_config_str(self->config, "pki_root");
    if (!path) {
        return 0;
    }
    struct stat st;
    char *file = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? fl_path_join(path, "root.pub")
                                                             : fl_strdup(path);
    fl_key_t *root = fl_key_load_public(file, err);
    free(file);
    if (!root) {
        return -1;
    }
    memcpy(self->root_pk, fl_key_public(root), FL_KEY_BYTES);
    self->have_root = true;
    fl_key_destroy(&root);
    return 0;
}

zmsg_t *
fl_master_encode(fl_master_t *self, const char *type, const json_t *body)
{
    return fl_msg_encode(self->key, type, "master", self->sid, ++self->seq, body, false);
}

int
fl_master_send_encoded(fl_master_t *self, fl_peer_t *peer, const zmsg_t *encoded)
{
    if (!peer->routing) {
        return -1;
    }
    zmsg_t *msg = zmsg_dup((zmsg_t *) encoded);
    zmsg_pushmem(msg, zframe_data(peer->routing), zframe_size(peer->routing));
    if (zmsg_send(&msg, self->router) != 0) {
        zmsg_destroy(&msg);
        peer->connected = false;
        return -1;
    }
    self->counters[FL_CNT_MSG_OUT]++;
    return 0;
}

int
fl_master_send(fl_master_t *self, fl_peer_t *peer, const char *type, const json_t *body)
{
    if (!peer->routing) {
        return -1;
    }
    zmsg_t *msg = fl_master_encode(self, type, body);
    zmsg_pushmem(msg, zframe_data(peer->routing), zframe_size(peer->routing));
    /* ROUTER_MANDATORY: a peer that went away fails with EHOSTUNREACH. */
    if (zmsg_send(&msg, self->router) != 0) {
        zmsg_destroy(&msg);
        peer->connected = false;
        return -1;
    }
    self->counters[FL_CNT_MSG_OUT]++;
    return 0;
}

/*  Replies to a peer we may not hold a record for (before its hello). */
static void
s_send_to_routing(fl_master_t *self, zframe_t *routing, const char *type, const json_t *body)
{
    fl_peer_t tmp = { .routing = routing };
    fl_master_send(self, &tmp, type, body);
}

static void
s_refuse(fl_master_t *self, fl_counter_t counter, const char *peer_desc, const char *fmt, ...)
    FL_PRINTF(4, 5);

static void
s_refuse(fl_master_t *self, fl_counter_t counter, const char *peer_desc, const char *fmt, ...)
{
    self->counters[counter]++;
    if (fl_log_level_current >= FL_LOG_WARN) {
        va_list ap;
        va_start(ap, fmt);
        char *why = fl_vsprintf(fmt, ap);
        va_end(ap);
        fl_log_warnx("refused message from %s: %s", peer_desc, why);
        free(why);
    }
}

/*  Hello: the only message that may come from a key the master has no
    session for.  Binds key and id, checks the certificate, and answers
    welcome, pending or refused. */
static void
s_on_hello(fl_master_t *self, fl_peer_t *peer, zframe_t *routing, const fl_msg_t *msg,
           const char *desc)
{
    json_t *body = fl_msg_body(msg);
    const char *id = fl_msg_from(msg);
    const char *version = fl_json_str(body, "version");
    json_t *grains = json_object_get(body, "grains");
    const char *cert_text = fl_json_str(body, "cert");
    if (!json_is_object(grains) || strlen(id) > 128 || strchr(id, '/')
        || strspn(id, " \t\n") == strlen(id)) {
        s_refuse(self, FL_CNT_BAD_BODY, desc, "hello without grains or with a bad id");
        return;
    }
    if (peer->id && strcmp(peer->id, id) != 0) {
        s_refuse(self, FL_CNT_ID_CLAIM, desc, "key belongs to minion '%s', hello claims '%s'",
                 peer->id, id);
        json_t *why = json_pack("{s:s}", "reason", "this key is registered under another id");
        s_send_to_routing(self, routing, "refused", why);
        json_decref(why);
        return;
    }
    fl_peer_t *owner = fl_peers_by_id(self, id);
    if (owner && owner != peer) {
        s_refuse(self, FL_CNT_ID_CLAIM, desc, "id '%s' belongs to another key", id);
        json_t *why = json_pack("{s:s}", "reason", "this id is registered with another key");
        s_send_to_routing(self, routing, "refused", why);
        json_decref(why);
        return;
    }
    if (peer->sid && strcmp(peer->sid, fl_msg_sid(msg)) == 0
        && fl_msg_seq(msg) <= peer->last_seq) {
        s_refuse(self, FL_CNT_REPLAY, desc, "replayed hello (seq %llu)",
                 (unsigned long long) fl_msg_seq(msg));
        return;
    }
    int64_t now = fl_time_s();
    if (!peer->id) {
        /* A key the store does not know: enrol it. */
        fl_minion_rec_t rec = { .id = (char *) id, .key = peer->ed_hex,
                                .state = FL_KEY_PENDING, .grains = grains,
                                .version = (char *) version, .first_seen = now,
                                .last_seen = now };
        char serial[64] = "";
        if (cert_text) {
            char *err = NULL;
            fl_cert_t *cert = fl_cert_parse(cert_text, strlen(cert_text), &err);
            if (cert && !self->have_root) {
                free(err);
                err = fl_strdup("this master has no pki_root to check certificates against");
            } else if (cert && fl_cert_verify(cert, self->root_pk, now, &err) == 0) {
                if (strcmp(fl_cert_id(cert), id) != 0) {
                    err = fl_sprintf("certificate is for '%s'", fl_cert_id(cert));
                } else if (sodium_memcmp(fl_cert_key(cert), peer->ed_pk, FL_KEY_BYTES) != 0) {
                    err = fl_strdup("certificate names another key");
                }
            }
            if (err) {
                s_refuse(self, FL_CNT_BAD_CERT, desc, "minion '%s': %s", id, err);
                json_t *why = json_pack("{s:s}", "reason", err);
                s_send_to_routing(self, routing, "refused", why);
                json_decref(why);
                free(err);
                fl_cert_destroy(&cert);
                return;
            }
            snprintf(serial, sizeof serial, "%s", fl_cert_serial(cert));
            fl_cert_destroy(&cert);
            rec.state = FL_KEY_ACCEPTED;
            rec.cert_serial = serial;
        }
        if (fl_store_minion_insert(self->store, &rec) != 0) {
            fl_log_error("store: cannot enrol '%s': %s", id, fl_store_errmsg(self->store));
            return;
        }
        fl_peers_set_id(self, peer, id);
        peer->state = rec.state;
        char *tag = fl_sprintf("fleet/key/%s/%s", id, fl_key_state_name(rec.state));
        fl_events_emit(self, tag,
                       json_pack("{s:s, s:s, s:b}", "id", id, "state",
                                 fl_key_state_name(rec.state), "certificate", *serial != 0));
        free(tag);
        fl_log_notice("minion '%s' enrolled (%s%s) from %s", id, fl_key_state_name(rec.state),
                      *serial ? ", factory certificate" : "", desc);
    } else if (peer->state == FL_KEY_REJECTED || peer->state == FL_KEY_REVOKED) {
        s_refuse(self, peer->state == FL_KEY_REVOKED ? FL_CNT_REVOKED : FL_CNT_UNACCEPTED, desc,
                 "minion '%s' is %s", id, fl_key_state_name(peer->state));
        json_t *why = json_pack("{s:s}", "reason", "key rejected by the master");
        s_send_to_routing(self, routing, "refused", why);
        json_decref(why);
        return;
    } else if (fl_store_minion_seen(self->store, id, grains, version, now) != 0) {
        fl_log_error("store: cannot record hello of '%s'", id);
        return;
    }
    json_decref(peer->grains);
    peer->grains = json_incref(grains);
    free(peer->version);
    peer->version = version ? fl_strdup(version) : NULL;
    free(peer->sid);
    peer->sid = fl_strdup(fl_msg_sid(msg));
    peer->last_seq = fl_msg_seq(msg);
    peer->last_seen = now;
    zframe_destroy(&peer->routing);
    peer->routing = zframe_dup(routing);
    peer->connected = true;
    json_int_t heartbeat = json_integer_value(json_object_get(body, "heartbeat"));
    peer->heartbeat_s = heartbeat > 0 && heartbeat <= 86400 ? (int) heartbeat : 30;
    self->counters[FL_CNT_HELLO]++;
    if (peer->state == FL_KEY_ACCEPTED) {
        fl_presence_seen(self, peer);
        json_t *welcome = json_pack("{s:s, s:s}", "id", id, "master_version", FL_VERSION);
        fl_master_send(self, peer, "welcome", welcome);
        json_decref(welcome);
        fl_log_info("minion '%s' connected from %s", id, desc);
    } else if (peer->state == FL_KEY_PENDING) {
        json_t *pending = json_pack("{s:s}", "reason", "key is pending: fleetctl key accept");
        fl_master_send(self, peer, "pending", pending);
        json_decref(pending);
    } else {
        s_refuse(self, peer->state == FL_KEY_REVOKED ? FL_CNT_REVOKED : FL_CNT_UNACCEPTED, desc,
                 "minion '%s' is %s", id, fl_key_state_name(peer->state));
    }
}

static void
s_dispatch(fl_master_t *self, fl_peer_t *peer, const fl_msg_t *msg, const char *desc)
{
    const char *type = fl_msg_type(msg);
    if (peer->state != FL_KEY_ACCEPTED) {
        s_refuse(self, peer->state == FL_KEY_REVOKED ? FL_CNT_REVOKED : FL_CNT_UNACCEPTED, desc,
                 "'%s' from minion '%s' which is %s", type, peer->id ? peer->id : "?",
                 fl_key_state_name(peer->state));
        return;
    }
    fl_presence_seen(self, peer);
    if (strcmp(type, "ping") == 0) {
        json_int_t uptime = json_integer_value(json_object_get(fl_msg_body(msg), "uptime"));
        if (uptime > 0) {
            peer->uptime_s = uptime;
        }
        fl_master_send(self, peer, "pong", NULL);
    } else if (strcmp(type, "return") == 0) {
        fl_jobs_on_return(self, peer, fl_msg_body(msg));
    } else if (strcmp(type, "beacon") == 0) {
        fl_health_on_beacon(self, peer, fl_msg_body(msg), desc);
    } else if (strcmp(type, "file_req") == 0) {
        json_t *body = fl_msg_body(msg);
        const char *jid = fl_json_str(body, "jid");
        char commit[41] = "";
        json_t *reply = NULL;
        if (!jid || fl_store_job_commit_for(self->store, jid, peer->id, commit) != 1) {
            s_refuse(self, FL_CNT_FILE_REFUSED, desc, "file request for job %.32s, which "
                     "minion '%s' was not given", jid ? jid : "?", peer->id);
            reply = json_pack("{s:s, s:s, s:s}", "jid", jid ? jid : "", "path",
                              fl_json_str(body, "path") ? fl_json_str(body, "path") : "",
                              "error", "not your job");
        } else {
            bool refused = false;
            reply = fl_fileserver_answer(self->files, commit, body, &refused);
            if (refused) {
                s_refuse(self, FL_CNT_FILE_REFUSED, desc, "file request '%.200s': %s",
                         fl_json_str(reply, "path"), fl_json_str(reply, "error"));
            }
        }
        fl_master_send(self, peer, "file", reply);
        json_decref(reply);
    } else if (strcmp(type, "grains") == 0) {
        json_t *grains = json_object_get(fl_msg_body(msg), "grains");
        if (!json_is_object(grains)) {
            s_refuse(self, FL_CNT_BAD_BODY, desc, "grains message without a grains object");
            return;
        }
        if (fl_store_minion_seen(self->store, peer->id, grains, NULL, peer->last_seen) == 0) {
            json_decref(peer->grains);
            peer->grains = json_incref(grains);
        }
    } else {
        s_refuse(self, FL_CNT_UNKNOWN_TYPE, desc, "unknown message type '%.40s'", type);
    }
}

/*  The messages of a batch are grouped as they come: one group per
    distinct (type, body), each signed once after the commit and sent to
    every peer in it (s_send_after_commit).  The peers are a set: a return
    and its resend in one burst (stored, then a duplicate) ask for the same
    ack, and the same signed bytes twice would look like a replay. */
void
fl_master_send_after_commit(fl_master_t *self, fl_peer_t *peer, const char *type,
                            const json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    char *key = fl_sprintf("%s\n%s", type, text ? text : "");
    json_t *group = json_object_get(self->after_commit, key);
    if (!group) {
        group = json_pack("{s:s, s:O, s:{}}", "type", type, "body", body, "peers");
        json_object_set_new(self->after_commit, key, group);
    }
    json_object_set_new(json_object_get(group, "peers"), peer->curve_hex, json_true());
    free(key);
    free(text);
}

/*  A message from a minion without a session (after a master restart,
    every minion's next message): ask it for a hello.  At most once a
    second per peer, with one log line: while the master works through a
    reconnect storm, the minions keep sending, and a signed rehello plus a
    warning for each of those messages only slows it further. */
static void
s_ask_hello(fl_master_t *self, fl_peer_t *peer, zframe_t *routing, const char *desc,
            const char *why)
{
    int64_t now = fl_clock_ms();
    if (peer && peer->rehello_ms && now - peer->rehello_ms < 1000) {
        self->counters[FL_CNT_NO_SESSION]++;
        return;
    }
    if (peer) {
        peer->rehello_ms = now;
    }
    s_refuse(self, FL_CNT_NO_SESSION, desc, "%s: asked for a hello", why);
    s_send_to_routing(self, routing, "rehello", NULL);
}

/*  One message from a minion, its ROUTING frame apart (see the comment at
    the top of this file).  Takes both.  PRE is what s_verify_prepare
    found: a signature already checked with a given key. */
static void
s_on_message(fl_master_t *self, zframe_t *routing, zmsg_t *msg, const fl_verify_task_t *pre)
{
    self->counters[FL_CNT_MSG_IN]++;
    zframe_t *first = zmsg_first(msg);
    const char *curve_hex = first ? zframe_meta(first, "User-Id") : NULL;
    const char *address = first ? zframe_meta(first, "Peer-Address") : NULL;
    char desc[160];
    snprintf(desc, sizeof desc, "%s (key %.12s)", address ? address : "?",
             curve_hex ? curve_hex : "?");
    zframe_t *env, *sig, *pk;
    fl_msg_err_t err = first && curve_hex ? fl_msg_split(msg, &env, &sig, &pk) : FL_MSG_E_FRAMES;
    if (err != FL_MSG_OK) {
        s_refuse(self, err == FL_MSG_E_SIZE ? FL_CNT_OVERSIZED : FL_CNT_BAD_FRAMES, desc, "%s",
                 fl_msg_err_name(err));
        goto done;
    }
    fl_peer_t *peer = fl_peers_by_curve(self, curve_hex);
    if (peer && peer->state == FL_KEY_REVOKED) {
        s_refuse(self, FL_CNT_REVOKED, desc, "revoked key");
        goto done;
    }
    const uint8_t *signer = NULL;
    bool new_peer = false;
    if (pk) {
        /* Hello carries the signer's ed25519 key: it must be the key whose
           CURVE form completed the handshake. */
        uint8_t curve[FL_KEY_BYTES];
        char hex[2 * FL_KEY_BYTES + 1];
        if (fl_key_curve_from_ed(zframe_data(pk), curve) != 0) {
            s_refuse(self, FL_CNT_KEY_MISMATCH, desc, "signing key is not a valid point");
            goto done;
        }
        fl_hex_encode(curve, FL_KEY_BYTES, hex);
        if (strcmp(hex, curve_hex) != 0) {
            s_refuse(self, FL_CNT_KEY_MISMATCH, desc, "signing key is not the CURVE key");
            goto done;
        }
        if (peer && memcmp(peer->ed_pk, zframe_data(pk), FL_KEY_BYTES) != 0) {
            s_refuse(self, FL_CNT_KEY_MISMATCH, desc, "signing key changed");
            goto done;
        }
        signer = zframe_data(pk);
    } else if (peer && peer->sid) {
        signer = peer->ed_pk;
    } else {
        s_ask_hello(self, peer, routing, desc, "message before hello");
        goto done;
    }
    fl_msg_t *m = NULL;
    if (pre->wanted && memcmp(pre->pk, signer, FL_KEY_BYTES) == 0) {
        err = pre->ok ? fl_msg_parse_verified(env, &m) : FL_MSG_E_SIG;
    } else {
        err = fl_msg_open(env, sig, signer, &m);
    }
    if (err != FL_MSG_OK) {
        static const fl_counter_t map[FL_MSG_E__COUNT] = {
            [FL_MSG_E_FRAMES] = FL_CNT_BAD_FRAMES, [FL_MSG_E_SIZE] = FL_CNT_OVERSIZED,
            [FL_MSG_E_SIG] = FL_CNT_BAD_SIG,       [FL_MSG_E_JSON] = FL_CNT_BAD_JSON,
            [FL_MSG_E_FIELDS] = FL_CNT_BAD_ENVELOPE,
        };
        s_refuse(self, map[err], desc, "%s", fl_msg_err_name(err));
        goto done;
    }
    if (strcmp(fl_msg_type(m), "hello") == 0) {
        if (!pk) {
            s_refuse(self, FL_CNT_BAD_FRAMES, desc, "hello without its key frame");
        } else {
            if (!peer) {
                peer = fl_peer_new(curve_hex);
                memcpy(peer->ed_pk, zframe_data(pk), FL_KEY_BYTES);
                fl_hex_encode(peer->ed_pk, FL_KEY_BYTES, peer->ed_hex);
                fl_peers_add(self, peer);
                new_peer = true;
            }
            s_on_hello(self, peer, routing, m, desc);
            if (new_peer && !peer->id) {
                fl_peers_remove(self, peer);  /* refused: keep no trace */
            }
        }
    } else if (pk) {
        s_refuse(self, FL_CNT_BAD_FRAMES, desc, "key frame on a '%.40s' message",
                 fl_msg_type(m));
    } else if (strcmp(fl_msg_sid(m), peer->sid) != 0) {
        /* A session we do not know: the minion restarted and its hello was
           lost, or the master restarted.  Ask for a hello. */
        s_ask_hello(self, peer, routing, desc, "unknown session");
    } else if (fl_msg_seq(m) <= peer->last_seq) {
        s_refuse(self, FL_CNT_REPLAY, desc, "sequence %llu in session %.16s (expected > %llu)",
                 (unsigned long long) fl_msg_seq(m), fl_msg_sid(m),
                 (unsigned long long) peer->last_seq);
    } else if (strcmp(fl_msg_from(m), peer->id) != 0) {
        s_refuse(self, FL_CNT_ID_CLAIM, desc, "minion '%s' claims to be '%.64s'", peer->id,
                 fl_msg_from(m));
    } else {
        peer->last_seq = fl_msg_seq(m);
        if (!zframe_eq(peer->routing, routing)) {
            zframe_destroy(&peer->routing);
            peer->routing = zframe_dup(routing);
        }
        peer->connected = true;
        s_dispatch(self, peer, m, desc);
    }
    fl_msg_destroy(&m);
done:
    zframe_destroy(&routing);
    zmsg_destroy(&msg);
}

/*  Sends what the batch stored, group by group in the order they began
    (jansson keeps an object's insertion order), so that a minion with acks
    in two groups sees its master's sequence grow.  The acks of one job's
    returns are the same {jid, refused} for every minion: ten thousand
    ed25519 signatures per job (and as many verifications on the devices)
    bought nothing. */
static void
s_send_after_commit(fl_master_t *self)
{
    const char *key;
    json_t *group;
    json_object_foreach(self->after_commit, key, group) {
        zmsg_t *encoded = fl_master_encode(self, fl_json_str(group, "type"),
                                           json_object_get(group, "body"));
        const char *curve;
        json_t *yes;
        json_object_foreach(json_object_get(group, "peers"), curve, yes) {
            fl_peer_t *peer = fl_peers_by_curve(self, curve);
            if (peer) {
                fl_master_send_encoded(self, peer, encoded);
            }
        }
        zmsg_destroy(&encoded);
    }
    json_object_clear(self->after_commit);
}

/*  What s_on_message will verify MSG with, when that is known before it
    runs: a message of a peer in session, with no key frame.  Anything else
    (hello, strangers, malformed frames) is verified, or refused, there. */
static void
s_verify_prepare(fl_master_t *self, zmsg_t *msg, fl_verify_task_t *task)
{
    task->wanted = false;
    task->ok = false;
    zframe_t *env, *sig, *pk;
    if (fl_msg_split(msg, &env, &sig, &pk) != FL_MSG_OK || pk) {
        return;
    }
    const char *curve_hex = zframe_meta(env, "User-Id");
    fl_peer_t *peer = curve_hex ? fl_peers_by_curve(self, curve_hex) : NULL;
    if (!peer || !peer->sid || peer->state == FL_KEY_REVOKED) {
        return;
    }
    memcpy(task->pk, peer->ed_pk, FL_KEY_BYTES);
    task->data = zframe_data(env);
    task->len = zframe_size(env);
    task->sig = zframe_data(sig);
    task->wanted = true;
}

/*  Messages come in bursts (ten thousand returns of one job): each wake-up
    takes up to 256 of them inside one store transaction, so a burst costs
    one fsync instead of two per return, and the acknowledgements go out
    only after the commit. */
static int
s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    FL_UNUSED(loop);
    fl_master_t *self = arg;
    zmsg_t *msgs[FL_MASTER_BURST];
    zframe_t *routings[FL_MASTER_BURST];
    fl_verify_task_t *tasks = self->verify_tasks;
    /* The router's receive timeout is 0: the burst ends at the first
       EAGAIN, without asking ZMQ_EVENTS (a system call) after each one. */
    int n = 0;
    while (n < FL_MASTER_BURST && (msgs[n] = zmsg_recv(sock)) != NULL) {
        routings[n] = zmsg_pop(msgs[n]);
        n++;
    }
    if (n == 0) {
        return 0;   /* woken for nothing (a reconnection's events, say) */
    }
    for (int i = 0; i < n; i++) {
        s_verify_prepare(self, msgs[i], &tasks[i]);
    }
    fl_verifier_run(self->verifier, tasks, (size_t) n);
    bool batch = fl_store_begin(self->store) == 0;
    for (int i = 0; i < n; i++) {
        s_on_message(self, routings[i], msgs[i], &tasks[i]);
    }
    if (batch && fl_store_commit(self->store) != 0) {
        /* Nothing of the batch is stored: no acks, the minions send again. */
        fl_log_error("store: a batch of %d messages was not committed", n);
        json_object_clear(self->after_commit);
    }
    s_send_after_commit(self);
    fl_jobs_flush(self);
    return 0;
}

/*  ZAP (RFC 27): libzmq asks us about every CURVE handshake.  Revoked and
    rejected keys are denied here, so they never get a session; every other
    key may connect and say hello (that is how new minions enrol).  The
    User-Id we return is the CURVE key in hex: it comes back as metadata on
    every message of that connection, authenticated. */
static int
s_on_zap(zloop_t *loop, zsock_t *sock, void *arg)
{
    FL_UNUSED(loop);
    fl_master_t *self = arg;
    zmsg_t *req = zmsg_recv(sock);
    if (!req) {
        return 0;
    }
    char *version = zmsg_popstr(req);
    char *request_id = zmsg_popstr(req);
    char *domain = zmsg_popstr(req);
    char *address = zmsg_popstr(req);
    zframe_t *identity = zmsg_pop(req);
    char *mechanism = zmsg_popstr(req);
    zframe_t *client_key = zmsg_pop(req);
    const char *status = "400", *text = "denied";
    char hex[2 * FL_KEY_BYTES + 1] = "";
    if (mechanism && strcmp(mechanism, "CURVE") == 0 && client_key
        && zframe_size(client_key) == FL_KEY_BYTES) {
        fl_hex_encode(zframe_data(client_key), FL_KEY_BYTES, hex);
        fl_peer_t *peer = fl_peers_by_curve(self, hex);
        if (zhashx_lookup(self->revoked_curve, hex)
            || (peer && (peer->state == FL_KEY_REVOKED || peer->state == FL_KEY_REJECTED))) {
            self->counters[FL_CNT_ZAP_DENIED]++;
            fl_log_warnx("denied handshake from %s: key %.12s is %s", address ? address : "?",
                         hex, peer ? fl_key_state_name(peer->state) : "revoked");
            text = "key revoked or rejected";
            hex[0] = '\0';
        } else {
            status = "200";
            text = "OK";
        }
    }
    zmsg_t *rep = zmsg_new();
    zmsg_addstr(rep, "1.0");
    zmsg_addstr(rep, request_id ? request_id : "");
    zmsg_addstr(rep, status);
    zmsg_addstr(rep, text);
    zmsg_addstr(rep, hex);
    zmsg_addmem(rep, NULL, 0);
    zmsg_send(&rep, sock);
    free(version);
    free(request_id);
    free(domain);
    free(address);
    free(mechanism);
    zframe_destroy(&identity);
    zframe_destroy(&client_key);
    zmsg_destroy(&req);
    return 0;
}

/*  Once a second: presence; every ten: keepalives to event followers. */
static int
s_on_second(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_master_t *self = arg;
    fl_presence_tick(self);
    static int ticks;
    if (++ticks % 10 == 0) {
        fl_events_keepalive(self);
    }
    return 0;
}

/*  The MQTT bridge's socket changes with every reconnection, so it is
    polled here rather than registered with the loop. */
static int
s_on_mqtt(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_master_t *self = arg;
    int fd = fl_mqtt_fd(self->mqtt);
    if (fd >= 0) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (fl_mqtt_want_write(self->mqtt)) {
            pfd.events |= POLLOUT;
        }
        if (poll(&pfd, 1, 0) > 0) {
            fl_mqtt_on_io(self->mqtt, (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0,
                          (pfd.revents & POLLOUT) != 0);
        }
    }
    fl_mqtt_on_tick(self->mqtt, fl_clock_ms());
    return 0;
}

static int
s_bind_router(fl_master_t *self, char **err)
{
    uint8_t curve_secret[FL_KEY_BYTES];
    if (fl_key_curve_secret(self->key, curve_secret) != 0) {
        *err = fl_strdup("master key has no secret part");
        return -1;
    }
    self->router = zsock_new(ZMQ_ROUTER);
    /* The ZAP handler must be bound before the first handshake. */
    self->zap = zsock_new(ZMQ_REP);
    if (zsock_bind(self->zap, "inproc://zeromq.zap.01") != 0) {
        *err = fl_sprintf("cannot bind the ZAP handler: %s", zmq_strerror(errno));
        sodium_memzero(curve_secret, sizeof curve_secret);
        return -1;
    }
    zsock_set_zap_domain(self->router, "fleet");
    zsock_set_curve_server(self->router, 1);
    zsock_set_curve_secretkey_bin(self->router, curve_secret);
    sodium_memzero(curve_secret, sizeof curve_secret);
    zsock_set_maxmsgsize(self->router, FL_MSG_WIRE_MAX);
    zsock_set_router_mandatory(self->router, 1);
    /* One peer that stops reading must not stall the loop: a send that
       cannot go at once fails (and the peer counts as gone). */
    zsock_set_sndtimeo(self->router, 0);
    zsock_set_rcvtimeo(self->router, 0);
    int hwm = (int) fl_config_int(self->config, "max_minions") * 4;
    zsock_set_sndhwm(self->router, hwm);
    zsock_set_rcvhwm(self->router, hwm);
    zsock_set_linger(self->router, 0);
    /* After a master restart every minion reconnects at once.  libzmq's
       listen backlog of 100 dropped most of 10,000 SYNs, and TCP retries a
       dropped SYN after 1, 3, 7, 15 and 31 s: the storm took 34 s.  The
       kernel caps this at net.core.somaxconn. */
    zsock_set_backlog(self->router, (int) fl_config_int(self->config, "max_minions") < 65535
                                        ? (int) fl_config_int(self->config, "max_minions")
                                        : 65535);
    const char *listen = fl_config_str(self->config, "listen");
    if (zsock_bind(self->router, "%s", listen) < 0) {
        *err = fl_sprintf("cannot listen on %s: %s", listen, zmq_strerror(errno));
        return -1;
    }
    self->endpoint = zsock_last_endpoint(self->router);
    char *path = s_data_path(self->config, "endpoint");
    char *line = fl_sprintf("%s\n", self->endpoint);
    int rc = fl_file_write_atomic(path, line, strlen(line), 0644);
    free(line);
    free(path);
    if (rc != 0) {
        *err = fl_sprintf("cannot write the endpoint file: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int
s_bind_control(fl_master_t *self, char **err)
{
    self->socket_path = fl_strdup(fl_config_str(self->config, "socket"));
    char *dir = fl_path_dirname(self->socket_path);
    if (fl_mkdir_p(dir, 0750) != 0) {
        *err = fl_sprintf("%s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    free(dir);
    unlink(self->socket_path);
    self->control = zsock_new(ZMQ_ROUTER);
    zsock_set_router_mandatory(self->control, 1);
    zsock_set_sndtimeo(self->control, 0);
    /* A run over the whole fleet streams one reply per minion to fleetctl:
       the queue must hold them all if fleetctl reads more slowly. */
    zsock_set_sndhwm(self->control, (int) fl_config_int(self->config, "max_minions") * 2 + 1000);
    zsock_set_linger(self->control, 0);
    zsock_set_maxmsgsize(self->control, FL_MSG_WIRE_MAX);
    /* Only the master's user and group may talk to it. */
    mode_t old = umask(0117);
    int rc = zsock_bind(self->control, "ipc://%s", self->socket_path);
    umask(old);
    if (rc != 0 || chmod(self->socket_path, 0660) != 0) {
        *err = fl_sprintf("cannot bind the control socket %s: %s", self->socket_path,
                          zmq_strerror(errno));
        return -1;
    }
    return 0;
}

/*  Every minion is a connection: take all the descriptors we may. */
static void
s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fl_log_warn("cannot raise the open-file limit");
        }
    }
}

/*  The CPUs online, 1 to 8: the default for io_threads, and one more than
    the default for verify_threads. */
static int64_t
s_cpus(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 8 ? 8 : cpus;
}

fl_master_t *
fl_master_new(fl_config_t **config_p, char **err)
{
    if (!zmq_has("curve")) {
        *err = fl_strdup("libzmq was built without CURVE support");
        return NULL;
    }
    s_raise_nofile();
    /* Before any socket exists.  libzmq cancels a timer (the handshake's,
       a heartbeat's) by walking every timer of its I/O thread, so with all
       connections on one thread a reconnect storm costs O(N^2).  More
       threads than cores only add context switches (docs/PERFORMANCE.md). */
    int64_t io_threads = fl_config_int(*config_p, "io_threads");
    if (io_threads == 0) {
        io_threads = s_cpus();
    }
    zsys_set_io_threads((size_t) io_threads);
    fl_master_t *self = fl_calloc(1, sizeof *self);
    self->config = *config_p;
    *config_p = NULL;
    self->started = fl_time_s();
    uint8_t sid[16];
    randombytes_buf(sid, sizeof sid);
    fl_hex_encode(sid, sizeof sid, self->sid);
    self->peers_by_curve = zhashx_new();
    zhashx_set_destructor(self->peers_by_curve, (zhashx_destructor_fn *) fl_peer_destroy);
    self->peers_by_id = zhashx_new();
    self->revoked_curve = zhashx_new();
    self->jobs = fl_jobs_table_new();
    self->jobs_batched = zlistx_new();
    zlistx_set_duplicator(self->jobs_batched, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor(self->jobs_batched, (zlistx_destructor_fn *) zstr_free);
    self->files = fl_fileserver_new(fl_config_str(self->config, "state_dir"));
    self->after_commit = json_object();
    int64_t helpers = fl_config_int(self->config, "verify_threads");
    if (helpers < 0) {
        helpers = s_cpus() - 1;    /* the loop verifies too */
    }
    self->verifier = fl_verifier_new((size_t) helpers);
    if (!self->verifier) {
        *err = fl_sprintf("cannot start %lld verify threads", (long long) helpers);
        goto fail;
    }
    if (fl_master_init_data(self->config, err) != 0) {
        goto fail;
    }
    char *secret = s_data_path(self->config, "master.key");
    self->key = fl_key_load_secret(secret, err);
    free(secret);
    if (!self->key || s_load_root(self, err) != 0) {
        goto fail;
    }
    char *db = s_data_path(self->config, "fleet.db");
    self->store = fl_store_open(db, err);
    free(db);
    if (self->store) {
        /* Job ids keep increasing across restarts, even if the clock stepped back. */
        fl_store_last_jid(self->store, self->last_jid);
    }
    if (!self->store || fl_peers_load(self) != 0) {
        if (!*err) {
            *err = fl_strdup("cannot load minions from the store");
        }
        goto fail;
    }
    if (s_bind_router(self, err) != 0 || s_bind_control(self, err) != 0) {
        goto fail;
    }
    if (fl_presence_init(self, err) != 0 || fl_health_init(self, err) != 0) {
        goto fail;
    }
    if (fl_config_json(self->config, "mqtt")) {
        self->mqtt = fl_mqtt_new(fl_config_json(self->config, "mqtt"), err);
        if (!self->mqtt) {
            goto fail;
        }
    }
    self->loop = zloop_new();
    zloop_timer(self->loop, 1000, 0, s_on_second, self);
    if (self->mqtt) {
        zloop_timer(self->loop, 50, 0, s_on_mqtt, self);
    }
    zloop_reader(self->loop, self->zap, s_on_zap, self);
    zloop_reader(self->loop, self->router, s_on_router, self);
    zloop_reader(self->loop, self->control, fl_control_on_readable, self);
    return self;
fail:
    fl_master_destroy(&self);
    return NULL;
}

void
fl_master_destroy(fl_master_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_master_t *self = *self_p;
    zhashx_destroy(&self->jobs);
    zlistx_destroy(&self->jobs_batched);
    fl_fileserver_destroy(&self->files);
    json_decref(self->after_commit);
    fl_events_destroy_followers(self);
    fl_presence_fini(self);
    fl_health_fini(self);
    fl_mqtt_destroy(&self->mqtt);
    fl_verifier_destroy(&self->verifier);
    zloop_destroy(&self->loop);
    zsock_destroy(&self->router);
    zsock_destroy(&self->control);
    zsock_destroy(&self->zap);
    if (self->socket_path) {
        unlink(self->socket_path);
        free(self->socket_path);
    }
    zhashx_destroy(&self->peers_by_id);
    zhashx_destroy(&self->peers_by_curve);
    zhashx_destroy(&self->revoked_curve);
    fl_store_destroy(&self->store);
    fl_key_destroy(&self->key);
    fl_config_destroy(&self->config);
    zstr_free(&self->endpoint);
    free(self);
    *self_p = NULL;
}

int
fl_master_run(fl_master_t *self)
{
    char fp[FL_FINGERPRINT_LEN];
    fl_key_fingerprint(self->key, fp);
    fl_log_notice("fleet-master %s listening on %s (control %s), key %s", FL_VERSION,
                  self->endpoint, self->socket_path, fp);
    int rc = zloop_start(self->loop);
    fl_log_notice("fleet-master stopping");
    return rc == 0 || zsys_interrupted ? 0 : -1;
}
