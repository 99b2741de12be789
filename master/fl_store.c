/*  fl_store.c: the master's SQLite store. */
#include "fl_store_int.h"
#include "fl_json.h"
#include "fl_log.h"

#include <sqlite3.h>

/*  Statements stay prepared: on the path of a return (an UPDATE, an event
    INSERT) SQLite spent more time parsing the SQL than running it. */
#define S_STMTS 48

struct fl_store {
    sqlite3 *db;
    int64_t beacon_bytes;   /* sum of beacons.bytes; -1 until first counted */
    struct {
        char *sql;
        sqlite3_stmt *st;
        bool busy;          /* handed out and not yet given back */
    } stmts[S_STMTS];
    size_t nstmts;
};

static const char *s_state_names[] = { "pending", "accepted", "rejected", "revoked" };

const char *
fl_key_state_name(fl_key_state_t state)
{
    return (size_t) state < FL_ARRAY_LEN(s_state_names) ? s_state_names[state] : "unknown";
}

int
fl_key_state_parse(const char *name, fl_key_state_t *out)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_state_names); i++) {
        if (strcmp(name, s_state_names[i]) == 0) {
            *out = (fl_key_state_t) i;
            return 0;
        }
    }
    return -1;
}

void
fl_minion_rec_clear(fl_minion_rec_t *rec)
{
    free(rec->id);
    free(rec->key);
    free(rec->cert_serial);
    free(rec->version);
    json_decref(rec->grains);
    memset(rec, 0, sizeof *rec);
}

/*  Migrations: entry i brings user_version from i to i+1.  Never edit a
    released entry; append a new one. */
static const char *s_migrations[] = {
    "CREATE TABLE minions ("
    "  id TEXT PRIMARY KEY,"
    "  key TEXT NOT NULL UNIQUE,"
    "  state TEXT NOT NULL,"
    "  cert_serial TEXT,"
    "  grains TEXT,"
    "  version TEXT,"
    "  first_seen INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL);"
    "CREATE TABLE revoked ("
    "  key TEXT PRIMARY KEY,"
    "  id TEXT NOT NULL,"
    "  reason TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE TABLE jobs ("
    "  jid TEXT NOT NULL PRIMARY KEY,"
    "  created INTEGER NOT NULL,"
    "  user TEXT,"
    "  tgt TEXT NOT NULL,"
    "  tgt_type TEXT NOT NULL,"
    "  fun TEXT NOT NULL,"
    "  args TEXT NOT NULL,"
    "  kwargs TEXT NOT NULL,"
    "  timeout INTEGER NOT NULL,"
    "  nexpected INTEGER NOT NULL);"
    "CREATE TABLE returns ("
    "  jid TEXT NOT NULL REFERENCES jobs(jid) ON DELETE CASCADE,"
    "  minion TEXT NOT NULL,"
    "  received INTEGER,"
    "  retcode INTEGER,"
    "  success INTEGER,"
    "  ret TEXT,"
    "  PRIMARY KEY (jid, minion)) WITHOUT ROWID;",
    /* 2: the state tree commit a state run was compiled from */
    "ALTER TABLE jobs ADD COLUMN state_commit TEXT;",
    /* 3: liveness and health: events, presence transitions, beacon samples,
       open alarms */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  ts INTEGER NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  data TEXT NOT NULL);"
    "CREATE TABLE presence ("
    "  minion TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  state TEXT NOT NULL);"
    "CREATE INDEX presence_minion ON presence (minion, ts);"
    "CREATE TABLE beacons ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  minion TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  data TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL);"
    "CREATE INDEX beacons_minion ON beacons (minion, name, ts);"
    "CREATE TABLE alarms ("
    "  minion TEXT NOT NULL,"
    "  mark TEXT NOT NULL,"
    "  since INTEGER NOT NULL,"
    "  value REAL,"
    "  PRIMARY KEY (minion, mark)) WITHOUT ROWID;",
};

static int
s_exec(fl_store_t *self, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fl_log_error("store: %s", msg ? msg : sqlite3_errmsg(self->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int
s_migrate(fl_store_t *self, char **err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(self->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK
        || sqlite3_step(st) != SQLITE_ROW) {
        *err = fl_sprintf("store: %s", sqlite3_errmsg(self->db));
        sqlite3_finalize(st);
        return -1;
    }
    int version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > (int) FL_ARRAY_LEN(s_migrations)) {
        *err = fl_sprintf("store schema version %d is newer than this master (%zu): "
                          "refusing to touch it",
                          version, FL_ARRAY_LEN(s_migrations));
        return -1;
    }
    for (int v = version; v < (int) FL_ARRAY_LEN(s_migrations); v++) {
        char *sql = fl_sprintf("BEGIN; %s PRAGMA user_version = %d; COMMIT;", s_migrations[v],
                               v + 1);
        int rc = s_exec(self, sql);
        free(sql);
        if (rc != 0) {
            s_exec(self, "ROLLBACK");
            *err = fl_sprintf("store: migration to version %d failed", v + 1);
            return -1;
        }
    }
    return 0;
}

fl_store_t *
fl_store_open(const char *path, char **err)
{
    *err = NULL;
    fl_store_t *self = fl_calloc(1, sizeof *self);
    self->beacon_bytes = -1;
    if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)
        != SQLITE_OK) {
        *err = fl_sprintf("%s: %s", path, self->db ? sqlite3_errmsg(self->db) : "cannot open");
        fl_store_destroy(&self);
        return NULL;
    }
    sqlite3_busy_timeout(self->db, 5000);
    if (s_exec(self, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                     "PRAGMA foreign_keys=ON;")
            != 0
        || s_migrate(self, err) != 0) {
        if (!*err) {
            *err = fl_sprintf("%s: %s", path, sqlite3_errmsg(self->db));
        }
        fl_store_destroy(&self);
        return NULL;
    }
    return self;
}

void
fl_store_destroy(fl_store_t **self_p)
{
    if (self_p && *self_p) {
        fl_store_t *self = *self_p;
        for (size_t i = 0; i < self->nstmts; i++) {
            sqlite3_finalize(self->stmts[i].st);
            free(self->stmts[i].sql);
        }
        sqlite3_close((*self_p)->db);
        free(*self_p);
        *self_p = NULL;
    }
}

int
fl_store_begin(fl_store_t *self)
{
    return s_exec(self, "BEGIN IMMEDIATE");
}

int
fl_store_commit(fl_store_t *self)
{
    if (s_exec(self, "COMMIT") != 0) {
        s_exec(self, "ROLLBACK");
        self->beacon_bytes = -1;    /* what the batch stored is gone: count again */
        return -1;
    }
    return 0;
}

int64_t *
fl_store_beacon_bytes_cache(fl_store_t *self)
{
    return &self->beacon_bytes;
}

sqlite3 *
fl_store_db(fl_store_t *self)
{
    return self->db;
}

const char *
fl_store_errmsg(const fl_store_t *self)
{
    return sqlite3_errmsg(self->db);
}

sqlite3_stmt *
fl_store_stmt(fl_store_t *self, const char *sql)
{
    for (size_t i = 0; i < self->nstmts; i++) {
        if (!self->stmts[i].busy && strcmp(self->stmts[i].sql, sql) == 0) {
            self->stmts[i].busy = true;
            return self->stmts[i].st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fl_log_error("store: %s: %s", sqlite3_errmsg(self->db), sql);
        sqlite3_finalize(st);
        return NULL;
    }
    if (self->nstmts < S_STMTS) {
        self->stmts[self->nstmts].sql = fl_strdup(sql);
        self->stmts[self->nstmts].st = st;
        self->stmts[self->nstmts].busy = true;
        self->nstmts++;
    }
    return st;
}

void
fl_store_stmt_done(fl_store_t *self, sqlite3_stmt *st)
{
    if (!st) {
        return;
    }
    for (size_t i = 0; i < self->nstmts; i++) {
        if (self->stmts[i].st == st) {
            /* A reset ends the statement's read transaction: a SELECT left
               half-stepped would hold back every WAL checkpoint. */
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            self->stmts[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(st);
}

static void
s_bind_text(sqlite3_stmt *st, int index, const char *text)
{
    if (text) {
        sqlite3_bind_text(st, index, text, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, index);
    }
}

static char *
s_column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? fl_strdup((const char *) t) : NULL;
}

static json_t *
s_column_json(sqlite3_stmt *st, int col)
{
    const char *t = (const char *) sqlite3_column_text(st, col);
    if (!t) {
        return NULL;
    }
    json_error_t jerr;
    return json_loads(t, JSON_DECODE_ANY, &jerr);
}

#define MINION_COLS "id, key, state, cert_serial, grains, version, first_seen, last_seen"

static void
s_read_minion(sqlite3_stmt *st, fl_minion_rec_t *rec)
{
    rec->id = s_column_dup(st, 0);
    rec->key = s_column_dup(st, 1);
    if (fl_key_state_parse((const char *) sqlite3_column_text(st, 2), &rec->state) != 0) {
        rec->state = FL_KEY_REJECTED;
    }
    rec->cert_serial = s_column_dup(st, 3);
    rec->grains = s_column_json(st, 4);
    rec->version = s_column_dup(st, 5);
    rec->first_seen = sqlite3_column_int64(st, 6);
    rec->last_seen = sqlite3_column_int64(st, 7);
}

static int
s_minion_get(fl_store_t *self, const char *sql, const char *arg, fl_minion_rec_t *rec)
{
    sqlite3_stmt *st = fl_store_stmt(self, sql);
    if (!st) {
        return -1;
    }
    s_bind_text(st, 1, arg);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        s_read_minion(st, rec);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        fl_log_error("store: %s", sqlite3_errmsg(self->db));
        found = -1;
    }
    fl_store_stmt_done(self, st);
    return found;
}

int
fl_store_minion_get(fl_store_t *self, const char *id, fl_minion_rec_t *rec)
{
    return s_minion_get(self, "SELECT " MINION_COLS " FROM minions WHERE id = ?", id, rec);
}

int
fl_store_minion_get_by_key(fl_store_t *self, const char *key_hex, fl_minion_rec_t *rec)
{
    return s_minion_get(self, "SELECT " MINION_COLS " FROM minions WHERE key = ?", key_hex,
                        rec);
}

int
fl_store_stmt_run(fl_store_t *self, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        fl_log_error("store: %s", sqlite3_errmsg(self->db));
    }
    fl_store_stmt_done(self, st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
fl_store_minion_insert(fl_store_t *self, const fl_minion_rec_t *rec)
{
    sqlite3_stmt *st = fl_store_stmt(self, "INSERT INTO minions (" MINION_COLS
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!st) {
        return -1;
    }
    char *grains = rec->grains ? fl_json_compact(rec->grains) : NULL;
    s_bind_text(st, 1, rec->id);
    s_bind_text(st, 2, rec->key);
    s_bind_text(st, 3, fl_key_state_name(rec->state));
    s_bind_text(st, 4, rec->cert_serial);
    s_bind_text(st, 5, grains);
    s_bind_text(st, 6, rec->version);
    sqlite3_bind_int64(st, 7, rec->first_seen);
    sqlite3_bind_int64(st, 8, rec->last_seen);
    free(grains);
    return fl_store_stmt_run(self, st);
}

int
fl_store_minion_set_state(fl_store_t *self, const char *id, fl_key_state_t state)
{
    sqlite3_stmt *st = fl_store_stmt(self, "UPDATE minions SET state = ? WHERE id = ?");
    if (!st) {
        return -1;
    }
    s_bind_text(st, 1, fl_key_state_name(state));
    s_bind_text(st, 2, id);
    return fl_store_stmt_run(self, st);
}

int
fl_store_minion_seen(fl_store_t *self, const char *id, const json_t *grains,
                     const char *version, int64_t now)
{
    sqlite3_stmt *st = fl_store_stmt(self, "UPDATE minions SET grains = coalesce(?, grains), "
                                       "version = coalesce(?, version), last_seen = ? "
                                       "WHERE id = ?");
    if (!st) {
        return -1;
    }
    char *text = grains ? fl_json_compact(grains) : NULL;
    s_bind_text(st, 1, text);
    s_bind_text(st, 2, version);
    sqlite3_bind_int64(st, 3, now);
    s_bind_text(st, 4, id);
    free(text);
    return fl_store_stmt_run(self, st);
}

int
fl_store_minion_delete(fl_store_t *self, const char *id)
{
    sqlite3_stmt *st = fl_store_stmt(self, "DELETE FROM minions WHERE id = ?");
    if (!st) {
        return -1;
    }
    s_bind_text(st, 1, id);
    return fl_store_stmt_run(self, st);
}

int
fl_store_minion_foreach(fl_store_t *self, int (*fn)(const fl_minion_rec_t *rec, void *arg),
                        void *arg)
{
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT " MINION_COLS " FROM minions ORDER BY id");
    if (!st) {
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fl_minion_rec_t rec = { 0 };
        s_read_minion(st, &rec);
        int stop = fn(&rec, arg);
        fl_minion_rec_clear(&rec);
        if (stop < 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE) {
        fl_log_error("store: %s", sqlite3_errmsg(self->db));
    }
    fl_store_stmt_done(self, st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
fl_store_revoke(fl_store_t *self, const char *id, const char *key_hex, const char *reason,
                int64_t now)
{
    if (s_exec(self, "BEGIN IMMEDIATE") != 0) {
        return -1;
    }
    sqlite3_stmt *st = fl_store_stmt(self, "INSERT OR IGNORE INTO revoked (key, id, reason, at) "
                                       "VALUES (?, ?, ?, ?)");
    int rc = -1;
    if (st) {
        s_bind_text(st, 1, key_hex);
        s_bind_text(st, 2, id);
        s_bind_text(st, 3, reason);
        sqlite3_bind_int64(st, 4, now);
        rc = fl_store_stmt_run(self, st);
    }
    if (rc == 0) {
        rc = fl_store_minion_set_state(self, id, FL_KEY_REVOKED);
    }
    s_exec(self, rc == 0 ? "COMMIT" : "ROLLBACK");
    return rc;
}

bool
fl_store_key_is_revoked(fl_store_t *self, const char *key_hex)
{
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT 1 FROM revoked WHERE key = ?");
    if (!st) {
        return true;   /* fail closed */
    }
    s_bind_text(st, 1, key_hex);
    int rc = sqlite3_step(st);
    fl_store_stmt_done(self, st);
    return rc != SQLITE_DONE;
}

json_t *
fl_store_revoked_list(fl_store_t *self)
{
    json_t *list = json_array();
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT key FROM revoked ORDER BY key");
    if (st) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_array_append_new(list, json_string((const char *) sqlite3_column_text(st, 0)));
        }
        fl_store_stmt_done(self, st);
    }
    return list;
}

int
fl_store_job_insert(fl_store_t *self, const json_t *job, const json_t *expected)
{
    if (s_exec(self, "BEGIN IMMEDIATE") != 0) {
        return -1;
    }
    int rc = -1;
    sqlite3_stmt *st = fl_store_stmt(self, "INSERT INTO jobs (jid, created, user, tgt, tgt_type, "
                                       "fun, args, kwargs, timeout, nexpected, state_commit) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (st) {
        char *args = fl_json_compact(json_object_get(job, "args"));
        char *kwargs = fl_json_compact(json_object_get(job, "kwargs"));
        s_bind_text(st, 1, fl_json_str(job, "jid"));
        sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(job, "created")));
        s_bind_text(st, 3, fl_json_str(job, "user"));
        s_bind_text(st, 4, fl_json_str(job, "tgt"));
        s_bind_text(st, 5, fl_json_str(job, "tgt_type"));
        s_bind_text(st, 6, fl_json_str(job, "fun"));
        s_bind_text(st, 7, args);
        s_bind_text(st, 8, kwargs);
        sqlite3_bind_int64(st, 9, json_integer_value(json_object_get(job, "timeout")));
        sqlite3_bind_int64(st, 10, (sqlite3_int64) json_array_size(expected));
        s_bind_text(st, 11, fl_json_str(job, "commit"));
        free(args);
        free(kwargs);
        rc = fl_store_stmt_run(self, st);
    }
    st = rc == 0 ? fl_store_stmt(self, "INSERT INTO returns (jid, minion) VALUES (?, ?)") : NULL;
    if (st) {
        size_t i;
        json_t *id;
        json_array_foreach(expected, i, id) {
            sqlite3_reset(st);
            s_bind_text(st, 1, fl_json_str(job, "jid"));
            s_bind_text(st, 2, json_string_value(id));
            if (sqlite3_step(st) != SQLITE_DONE) {
                fl_log_error("store: %s", sqlite3_errmsg(self->db));
                rc = -1;
                break;
            }
        }
        fl_store_stmt_done(self, st);
    } else {
        rc = -1;
    }
    s_exec(self, rc == 0 ? "COMMIT" : "ROLLBACK");
    return rc;
}

int
fl_store_return_insert(fl_store_t *self, const char *jid, const char *minion, int retcode,
                       bool success, const json_t *ret, int64_t now)
{
    /* One statement both checks that the job expects MINION and that it has
       not returned yet: the row exists with a NULL received. */
    sqlite3_stmt *st = fl_store_stmt(self, "UPDATE returns SET received = ?, retcode = ?, "
                                       "success = ?, ret = ? "
                                       "WHERE jid = ? AND minion = ? AND received IS NULL");
    if (!st) {
        return -1;
    }
    char *text = fl_json_compact(ret);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, retcode);
    sqlite3_bind_int(st, 3, success ? 1 : 0);
    s_bind_text(st, 4, text);
    s_bind_text(st, 5, jid);
    s_bind_text(st, 6, minion);
    free(text);
    if (fl_store_stmt_run(self, st) != 0) {
        return -1;
    }
    if (sqlite3_changes(self->db) == 1) {
        return 1;
    }
    st = fl_store_stmt(self, "SELECT 1 FROM returns WHERE jid = ? AND minion = ?");
    if (!st) {
        return -1;
    }
    s_bind_text(st, 1, jid);
    s_bind_text(st, 2, minion);
    int rc = sqlite3_step(st);
    fl_store_stmt_done(self, st);
    return rc == SQLITE_ROW ? 2 : rc == SQLITE_DONE ? 0 : -1;
}

static json_t *
s_job_row(sqlite3_stmt *st)
{
    json_t *job = json_pack("{s:s, s:I, s:s?, s:s, s:s, s:s, s:I, s:I}", "jid",
                            sqlite3_column_text(st, 0), "created",
                            (json_int_t) sqlite3_column_int64(st, 1), "user",
                            sqlite3_column_text(st, 2), "tgt", sqlite3_column_text(st, 3),
                            "tgt_type", sqlite3_column_text(st, 4), "fun",
                            sqlite3_column_text(st, 5), "timeout",
                            (json_int_t) sqlite3_column_int64(st, 8), "expected_count",
                            (json_int_t) sqlite3_column_int64(st, 9));
    json_t *args = s_column_json(st, 6);
    json_t *kwargs = s_column_json(st, 7);
    json_object_set_new(job, "args", args ? args : json_array());
    json_object_set_new(job, "kwargs", kwargs ? kwargs : json_object());
    if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
        json_object_set_new(job, "commit", json_string((const char *) sqlite3_column_text(st, 10)));
    }
    return job;
}

#define JOB_COLS \
    "jid, created, user, tgt, tgt_type, fun, args, kwargs, timeout, nexpected, state_commit"

json_t *
fl_store_job_get(fl_store_t *self, const char *jid)
{
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT " JOB_COLS " FROM jobs WHERE jid = ?");
    if (!st) {
        return NULL;
    }
    s_bind_text(st, 1, jid);
    json_t *job = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        job = s_job_row(st);
    }
    fl_store_stmt_done(self, st);
    if (!job) {
        return NULL;
    }
    st = fl_store_stmt(self, "SELECT minion, received, retcode, success, ret FROM returns "
                         "WHERE jid = ? ORDER BY minion");
    json_t *returns = json_object();
    json_t *missing = json_array();
    if (st) {
        s_bind_text(st, 1, jid);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *minion = (const char *) sqlite3_column_text(st, 0);
            if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
                json_array_append_new(missing, json_string(minion));
                continue;
            }
            json_t *ret = s_column_json(st, 4);
            json_object_set_new(returns, minion,
                                json_pack("{s:o, s:i, s:b, s:I}", "ret",
                                          ret ? ret : json_null(), "retcode",
                                          sqlite3_column_int(st, 2), "success",
                                          sqlite3_column_int(st, 3), "received",
                                          (json_int_t) sqlite3_column_int64(st, 1)));
        }
        fl_store_stmt_done(self, st);
    }
    json_object_set_new(job, "returns", returns);
    json_object_set_new(job, "missing", missing);
    return job;
}

int
fl_store_job_commit_for(fl_store_t *self, const char *jid, const char *minion,
                        char commit_out[41])
{
    commit_out[0] = '\0';
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT j.state_commit FROM jobs j JOIN returns r "
                                       "ON r.jid = j.jid WHERE j.jid = ? AND r.minion = ?");
    if (!st) {
        return -1;
    }
    s_bind_text(st, 1, jid);
    s_bind_text(st, 2, minion);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(commit_out, 41, "%s", (const char *) sqlite3_column_text(st, 0));
    }
    fl_store_stmt_done(self, st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void
fl_store_last_jid(fl_store_t *self, char out[32])
{
    out[0] = '\0';
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT max(jid) FROM jobs");
    if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(out, 32, "%s", (const char *) sqlite3_column_text(st, 0));
    }
    fl_store_stmt_done(self, st);
}

json_t *
fl_store_jobs_list(fl_store_t *self, int limit)
{
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT " JOB_COLS ", "
                                       "(SELECT count(received) FROM returns r "
                                       " WHERE r.jid = j.jid), "
                                       "(SELECT count(*) FROM returns r WHERE r.jid = j.jid "
                                       " AND r.success = 0) "
                                       "FROM jobs j ORDER BY jid DESC LIMIT ?");
    json_t *list = json_array();
    if (!st) {
        return list;
    }
    sqlite3_bind_int(st, 1, limit);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *job = s_job_row(st);
        json_object_set_new(job, "returned", json_integer(sqlite3_column_int64(st, 11)));
        json_object_set_new(job, "failed", json_integer(sqlite3_column_int64(st, 12)));
        json_array_append_new(list, job);
    }
    fl_store_stmt_done(self, st);
    return list;
}
