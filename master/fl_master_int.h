/*  fl_master_int.h: the master's state, shared by the master's own files
    (fl_master.c: loop and minion wire; fl_peers.c: who is who;
    fl_control.c: fleetctl requests; fl_jobs.c: jobs and returns). */
#ifndef FL_MASTER_INT_H
#define FL_MASTER_INT_H

#include "fl_config.h"
#include "fl_fileserver.h"
#include "fl_keys.h"
#include "fl_src.h"
#include "fl_log.h"
#include "fl_master.h"
#include "fl_store.h"
#include "fl_verify.h"

#include <czmq.h>
#include <jansson.h>

/*  Everything refused or notable is counted; `fleetctl stats` shows them. */
#define FL_COUNTERS(X)                                                          \
    X(MSG_IN, "messages received")                                              \
    X(MSG_OUT, "messages sent")                                                 \
    X(BAD_FRAMES, "refused: wrong frames")                                      \
    X(OVERSIZED, "refused: oversized")                                          \
    X(BAD_SIG, "refused: bad signature")                                        \
    X(BAD_JSON, "refused: not JSON or too deep")                                \
    X(BAD_ENVELOPE, "refused: bad envelope fields")                             \
    X(BAD_BODY, "refused: bad message body")                                    \
    X(KEY_MISMATCH, "refused: signing key does not match the CURVE key")        \
    X(NO_SESSION, "refused: no session (hello first)")                          \
    X(REPLAY, "refused: replayed or out-of-order sequence")                     \
    X(ID_CLAIM, "refused: id claimed by another key")                           \
    X(UNKNOWN_TYPE, "refused: unknown message type")                            \
    X(UNACCEPTED, "refused: minion not accepted")                               \
    X(REVOKED, "refused: revoked key")                                          \
    X(BAD_CERT, "refused: invalid certificate")                                 \
    X(FOREIGN_RETURN, "refused: return for a job the minion was not given")     \
    X(DUP_RETURN, "refused: second return for the same job")                    \
    X(ZAP_DENIED, "handshakes denied (revoked or rejected key)")                \
    X(FILE_REFUSED, "file requests refused (not its job, or an unsafe path)")       \
    X(BAD_BEACON, "beacon samples refused (garbage, or a clock far off)")           \
    X(BEACONS, "beacon samples stored")                                            \
    X(BEACONS_PRUNED, "beacon samples removed to keep within beacon_budget_mb")                \
    X(HELLO, "hellos")                                                          \
    X(RETURNS, "returns stored")                                                \
    X(JOBS, "jobs created")

typedef enum {
#define X(name, doc) FL_CNT_##name,
    FL_COUNTERS(X)
#undef X
    FL_CNT__COUNT
} fl_counter_t;

/*  One minion the master knows of: from the store, or a new key that has
    just said hello. */
typedef struct {
    char curve_hex[2 * FL_KEY_BYTES + 1];
    uint8_t ed_pk[FL_KEY_BYTES];
    char ed_hex[2 * FL_KEY_BYTES + 1];
    char *id;
    fl_key_state_t state;
    json_t *grains;         /* owned */
    char *version;
    zframe_t *routing;      /* ROUTER routing id of the live connection */
    char *sid;              /* the minion's session id; NULL before hello */
    uint64_t last_seq;
    int64_t last_seen;
    bool connected;
    /* presence: never seen, up, lost (revoked shows from state) */
    int presence;           /* fl_presence_t */
    int heartbeat_s;        /* the minion's ping interval, from its hello */
    int64_t uptime_s;       /* the device's uptime at its last ping */
    int64_t rehello_ms;     /* when it was last asked for a hello */
} fl_peer_t;

typedef enum { FL_PRESENCE_NEVER = 0, FL_PRESENCE_UP, FL_PRESENCE_LOST } fl_presence_t;

/*  Minion messages taken per wake-up of the loop: verified together, then
    handled in one store transaction. */
#define FL_MASTER_BURST 256

typedef struct fl_job fl_job_t;
typedef struct fl_watermark fl_watermark_t;

struct fl_master {
    fl_config_t *config;
    fl_key_t *key;
    uint8_t root_pk[FL_KEY_BYTES];
    bool have_root;
    fl_store_t *store;
    zloop_t *loop;
    zsock_t *router;
    zsock_t *control;
    zsock_t *zap;
    char *endpoint;         /* resolved listen endpoint */
    char *socket_path;
    char sid[33];           /* this process' session id */
    uint64_t seq;
    zhashx_t *peers_by_curve;   /* curve hex -> fl_peer_t (owner) */
    zhashx_t *peers_by_id;      /* id -> fl_peer_t (borrowed) */
    zhashx_t *revoked_curve;    /* curve hex -> "" */
    zhashx_t *jobs;             /* jid -> fl_job_t (owner): jobs with a watcher */
    zlistx_t *jobs_batched;     /* jids (copies) with returns waiting for fl_jobs_flush */
    fl_fileserver_t *files;
    /* sent once the batch is stored: {"type\nbody": {type, body, peers: {curve: true}}} */
    json_t *after_commit;
    fl_verifier_t *verifier;    /* a burst's signatures, on several threads */
    fl_verify_task_t verify_tasks[FL_MASTER_BURST];  /* one per message of a burst */
    zlistx_t *followers;        /* fleetctl clients following events (owner) */
    struct fl_target **presence_targets;  /* `presence:` rules, compiled */
    int64_t *presence_lost_after;
    size_t presence_count;
    struct fl_mqtt *mqtt;       /* NULL without `mqtt:` */
    fl_watermark_t **watermarks;
    size_t watermark_count;
    json_t *alarms;             /* {minion: {mark: {since, value}}}, as in the store */
    char last_jid[32];
    uint64_t counters[FL_CNT__COUNT];
    int64_t started;
};

const char *fl_counter_doc(fl_counter_t c);
const char *fl_counter_name(fl_counter_t c);

/*  fl_master.c: sends a signed message to a peer; -1 when it is gone. */
int fl_master_send(fl_master_t *self, fl_peer_t *peer, const char *type, const json_t *body);
/*  One signed message for many peers (a job is the same for every minion:
    signed once, not once per minion; each minion only needs the master's
    sequence to grow).  Caller owns the zmsg. */
zmsg_t *fl_master_encode(fl_master_t *self, const char *type, const json_t *body);
int fl_master_send_encoded(fl_master_t *self, fl_peer_t *peer, const zmsg_t *encoded);
/*  Sends it once what the current batch of messages wrote is committed:
    an acknowledgement must never run ahead of the store.  Messages of the
    batch with the same type and body are signed once for all their peers. */
void fl_master_send_after_commit(fl_master_t *self, fl_peer_t *peer, const char *type,
                                 const json_t *body);

/*  fl_peers.c */
fl_peer_t *fl_peer_new(const char *curve_hex);
void fl_peer_destroy(fl_peer_t **self_p);
int fl_peers_load(fl_master_t *self);
fl_peer_t *fl_peers_by_curve(fl_master_t *self, const char *curve_hex);
fl_peer_t *fl_peers_by_id(fl_master_t *self, const char *id);
/*  Registers PEER under its curve key (taking ownership) and its id. */
void fl_peers_add(fl_master_t *self, fl_peer_t *peer);
void fl_peers_set_id(fl_master_t *self, fl_peer_t *peer, const char *id);
void fl_peers_remove(fl_master_t *self, fl_peer_t *peer);
/*  Accepted minions matching TARGET, sorted.  NULL + DIAG on a bad target. */
json_t *fl_peers_resolve(fl_master_t *self, const char *tgt, const char *tgt_type,
                         json_t **diag_json);

/*  fl_jobs.c */
/*  Handles a fleetctl `run`: replies on the control socket to CLIENT. */
void fl_jobs_run(fl_master_t *self, zframe_t *client, const json_t *req);
void fl_jobs_on_return(fl_master_t *self, fl_peer_t *peer, const json_t *body);
void fl_jobs_flush(fl_master_t *self);
/*  The jid -> job table, owning its jobs. */
zhashx_t *fl_jobs_table_new(void);

/*  fl_states.c */
fl_src_t *fl_states_open_tree(fl_master_t *self, char commit[41], char **err);
/*  NULL when no pillar_dir is configured (every minion gets {}). */
fl_src_t *fl_states_open_pillar(fl_master_t *self);
/*  {"chunks": [...], "pillar": {...}} for one minion, or NULL with DIAG. */
json_t *fl_states_compile(fl_src_t *tree, fl_src_t *pillar_src, const char *id,
                          const json_t *grains, const json_t *sls_args, fl_diag_t *diag);
/*  The errors of DIAG as Salt returns them: a list of strings. */
json_t *fl_states_errors(const fl_diag_t *diag);

/*  fl_events.c: every notable thing is an event with a tag and JSON data:
    stored (bounded), sent to the fleetctl clients following it, published
    to MQTT.  Steals DATA. */
void fl_events_emit(fl_master_t *self, const char *tag, json_t *data);
void fl_events_follow(fl_master_t *self, zframe_t *client, const json_t *req);
void fl_events_destroy_followers(fl_master_t *self);
void fl_events_keepalive(fl_master_t *self);

/*  fl_presence.c */
int fl_presence_init(fl_master_t *self, char **err);
void fl_presence_fini(fl_master_t *self);
/*  A valid message from PEER: it is up (an event when it was not). */
void fl_presence_seen(fl_master_t *self, fl_peer_t *peer);
/*  Called every second: minions silent past their threshold are lost. */
void fl_presence_tick(fl_master_t *self);
int64_t fl_presence_lost_after(fl_master_t *self, const fl_peer_t *peer);
const char *fl_presence_name(const fl_peer_t *peer);
json_t *fl_presence_status(fl_master_t *self, const char *tgt, const char *tgt_type,
                           bool lost_only, json_t **diag);
json_t *fl_presence_availability(fl_master_t *self, const char *tgt, const char *tgt_type,
                                 int64_t since, json_t **diag);

/*  fl_health.c: beacon samples and water marks. */
int fl_health_init(fl_master_t *self, char **err);
void fl_health_fini(fl_master_t *self);
void fl_health_on_beacon(fl_master_t *self, fl_peer_t *peer, const json_t *body,
                         const char *desc);

/*  fl_control.c */
int fl_control_on_readable(zloop_t *loop, zsock_t *sock, void *arg);
/*  Sends one JSON reply to a fleetctl client (steals REPLY). */
void fl_control_reply(fl_master_t *self, zframe_t *client, json_t *reply);
void fl_control_error(fl_master_t *self, zframe_t *client, int exit_code, const char *fmt, ...)
    FL_PRINTF(4, 5);

#endif
