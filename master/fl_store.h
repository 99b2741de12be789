/*  fl_store.h: the master's store: one SQLite file in WAL mode under
    data_dir.  Minions (key, state, grains, seen times), revoked keys, jobs,
    the minions each job expects and their returns.  Schema changes are
    migrations keyed on PRAGMA user_version.  Every write is one
    transaction: a killed master loses nothing it acknowledged. */
#ifndef FL_STORE_H
#define FL_STORE_H

#include "fl_prelude.h"

#include <jansson.h>

typedef struct fl_store fl_store_t;

typedef enum {
    FL_KEY_PENDING = 0,
    FL_KEY_ACCEPTED,
    FL_KEY_REJECTED,
    FL_KEY_REVOKED
} fl_key_state_t;

const char *fl_key_state_name(fl_key_state_t state);
int fl_key_state_parse(const char *name, fl_key_state_t *out);

typedef struct {
    char *id;
    char *key;          /* ed25519 public key, hex */
    fl_key_state_t state;
    char *cert_serial;  /* NULL when enrolled without a certificate */
    json_t *grains;     /* owned; may be NULL */
    char *version;
    int64_t first_seen;
    int64_t last_seen;
} fl_minion_rec_t;

void fl_minion_rec_clear(fl_minion_rec_t *rec);

/*  Opens (creating when needed) and migrates.  NULL with *ERR set. */
fl_store_t *fl_store_open(const char *path, char **err);
void fl_store_destroy(fl_store_t **self_p);
const char *fl_store_errmsg(const fl_store_t *self);

/*  A transaction around a burst of writes: one fsync for all of them.
    commit returns -1 (after rolling back) when the writes did not stick. */
int fl_store_begin(fl_store_t *self);
int fl_store_commit(fl_store_t *self);

/*  Minions.  get: 1 found (REC filled; clear it), 0 not found, -1 error. */
int fl_store_minion_get(fl_store_t *self, const char *id, fl_minion_rec_t *rec);
int fl_store_minion_get_by_key(fl_store_t *self, const char *key_hex, fl_minion_rec_t *rec);
int fl_store_minion_insert(fl_store_t *self, const fl_minion_rec_t *rec);
int fl_store_minion_set_state(fl_store_t *self, const char *id, fl_key_state_t state);
/*  Records a hello: grains (NULL keeps them), version, last_seen. */
int fl_store_minion_seen(fl_store_t *self, const char *id, const json_t *grains,
                         const char *version, int64_t now);
int fl_store_minion_delete(fl_store_t *self, const char *id);
/*  Calls FN for every minion in id order; stops early when FN returns -1. */
int fl_store_minion_foreach(fl_store_t *self, int (*fn)(const fl_minion_rec_t *rec, void *arg),
                            void *arg);

/*  Revocation is forever: the key stays refused even after `key delete`. */
int fl_store_revoke(fl_store_t *self, const char *id, const char *key_hex, const char *reason,
                    int64_t now);
bool fl_store_key_is_revoked(fl_store_t *self, const char *key_hex);
/*  Every revoked key (hex), as a new array. */
json_t *fl_store_revoked_list(fl_store_t *self);

/*  Jobs.  JOB is {"jid","created","tgt","tgt_type","fun","args","kwargs",
    "timeout","user"}; EXPECTED is an array of minion ids.  One transaction. */
int fl_store_job_insert(fl_store_t *self, const json_t *job, const json_t *expected);
/*  Stores a return.  1 stored, 0 refused because the job does not expect
    MINION, 2 refused because MINION already returned, -1 error. */
int fl_store_return_insert(fl_store_t *self, const char *jid, const char *minion, int retcode,
                           bool success, const json_t *ret, int64_t now);
/*  The job with its expected minions and returns (late ones included), or
    NULL when unknown.  Caller owns. */
json_t *fl_store_job_get(fl_store_t *self, const char *jid);
/*  For the file server: 1 when job JID expects MINION (COMMIT_OUT gets the
    job's state tree commit, "" when none), 0 when not, -1 on error. */
int fl_store_job_commit_for(fl_store_t *self, const char *jid, const char *minion,
                            char commit_out[41]);
/*  The highest job id stored ("" when none) into OUT (32 bytes). */
void fl_store_last_jid(fl_store_t *self, char out[32]);
/*  The LIMIT most recent jobs with return counts.  Caller owns. */
json_t *fl_store_jobs_list(fl_store_t *self, int limit);

/*  Health: events (bounded), presence transitions, beacon samples (within
    a byte budget), open alarms.  fl_store_health.c. */
int fl_store_event_insert(fl_store_t *self, int64_t ts, const char *tag, const json_t *data,
                          int64_t max_events);
/*  The LIMIT most recent events whose tag matches GLOB (NULL = all), oldest
    first: [{"id","ts","tag","data"}]. */
json_t *fl_store_events_recent(fl_store_t *self, const char *glob, int limit);
int fl_store_presence_insert(fl_store_t *self, const char *minion, int64_t ts, const char *state);
/*  The last recorded presence state of MINION ("" when none) into OUT. */
void fl_store_presence_last(fl_store_t *self, const char *minion, char out[16], int64_t *ts);
/*  Seconds MINION was up within [SINCE, NOW], from its transitions; *KNOWN
    is the part of the period covered by any record. */
int64_t fl_store_presence_up_seconds(fl_store_t *self, const char *minion, int64_t since,
                                     int64_t now, int64_t *known);
/*  Stores one sample; then removes the oldest samples until all of them
    fit in BUDGET_BYTES.  Returns the number removed, or -1. */
int64_t fl_store_beacon_insert(fl_store_t *self, const char *minion, int64_t ts, const char *name,
                               const json_t *data, int64_t budget_bytes);
/*  Samples of MINION (NAME NULL = all) since SINCE, oldest first. */
json_t *fl_store_beacons_get(fl_store_t *self, const char *minion, const char *name,
                             int64_t since, int limit);
int64_t fl_store_beacon_bytes(fl_store_t *self);
int fl_store_alarm_set(fl_store_t *self, const char *minion, const char *mark, int64_t since,
                       double value);
int fl_store_alarm_clear(fl_store_t *self, const char *minion, const char *mark);
/*  {minion: {mark: {"since", "value"}}} of every open alarm. */
json_t *fl_store_alarms(fl_store_t *self);

#endif
