/*  check_store.c: the master's SQLite store (fl_store). */
#include "fl_test.h"
#include "fl_store.h"
#include "fl_store_int.h"
#include "fl_util.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#define NOW 1700000000LL

static char *s_dir;
static char *s_path;

/*  The store logs each SQLite error it meets; the tests below provoke
    some on purpose.  s_quiet() sends stderr to /dev/null until s_loud()
    (unless FL_TEST_VERBOSE is set). */
static int s_saved_stderr = -1;

static void
s_quiet(void)
{
    if (getenv("FL_TEST_VERBOSE") || s_saved_stderr >= 0) {
        return;
    }
    fflush(stderr);
    s_saved_stderr = dup(STDERR_FILENO);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(null, 0);
    dup2(null, STDERR_FILENO);
    close(null);
}

static void
s_loud(void)
{
    if (s_saved_stderr >= 0) {
        fflush(stderr);
        dup2(s_saved_stderr, STDERR_FILENO);
        close(s_saved_stderr);
        s_saved_stderr = -1;
    }
}

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_path = fl_path_join(s_dir, "fleet.db");
}

static void
s_teardown(void)
{
    s_loud();
    free(s_path);
    s_path = NULL;
    fl_test_tmpdir_free(&s_dir);
}

static fl_store_t *
s_open(void)
{
    char *err = NULL;
    fl_store_t *store = fl_store_open(s_path, &err);
    ck_assert_msg(store != NULL, "open: %s", err ? err : "?");
    ck_assert_ptr_null(err);
    return store;
}

/*  A 64-digit hex key that differs for each N. */
static char *
s_key_hex(int n)
{
    return fl_sprintf("%064x", (unsigned) n);
}

/*  A minion record (fields owned: clear it). */
static fl_minion_rec_t
s_rec(const char *id, int key_n, fl_key_state_t state)
{
    fl_minion_rec_t rec = { 0 };
    rec.id = fl_strdup(id);
    rec.key = s_key_hex(key_n);
    rec.state = state;
    rec.first_seen = NOW;
    rec.last_seen = NOW;
    return rec;
}

static void
s_insert(fl_store_t *store, const char *id, int key_n, fl_key_state_t state)
{
    fl_minion_rec_t rec = s_rec(id, key_n, state);
    ck_assert_int_eq(fl_store_minion_insert(store, &rec), 0);
    fl_minion_rec_clear(&rec);
}

/*  A job record as fl_jobs builds it. */
static json_t *
s_job(const char *jid, int64_t created, const char *fun)
{
    json_t *job = json_pack("{s:s, s:I, s:s, s:s, s:s, s:[s], s:{s:b}, s:i, s:s}", "jid", jid,
                            "created", (json_int_t) created, "tgt", "web-*", "tgt_type", "glob",
                            "fun", fun, "args", "hello", "kwargs", "test", 1, "timeout", 30,
                            "user", "alice");
    ck_assert_ptr_nonnull(job);
    return job;
}

static void
s_insert_job(fl_store_t *store, const char *jid, int64_t created, const char *ids)
{
    json_t *job = s_job(jid, created, "test.echo");
    json_t *expected = json_array();
    char *copy = fl_strdup(ids);
    for (char *save = NULL, *id = strtok_r(copy, ",", &save); id;
         id = strtok_r(NULL, ",", &save)) {
        json_array_append_new(expected, json_string(id));
    }
    free(copy);
    ck_assert_int_eq(fl_store_job_insert(store, job, expected), 0);
    json_decref(expected);
    json_decref(job);
}

static int
s_return(fl_store_t *store, const char *jid, const char *minion, int retcode, bool success)
{
    json_t *ret = json_pack("{s:s, s:i}", "from", minion, "retcode", retcode);
    int rc = fl_store_return_insert(store, jid, minion, retcode, success, ret, NOW + 5);
    json_decref(ret);
    return rc;
}

/*  Runs SQL on the file directly and returns the first column of the first
    row as text (caller frees), or NULL. */
static char *
s_sql_text(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(s_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    char *out = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        out = fl_strdup((const char *) sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void
s_sql_exec(const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(s_path, &db), SQLITE_OK);
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
                  msg ? msg : "");
    sqlite3_close(db);
}

//  The canonical usage: open (creating and migrating), enrol a minion,
//  accept it, store a job and a return, read the job back.
START_TEST(test_store_usage)
{
    char *err = NULL;
    fl_store_t *store = fl_store_open(s_path, &err);
    ck_assert_ptr_nonnull(store);

    fl_minion_rec_t rec = { 0 };
    rec.id = "pi-7";
    rec.key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    rec.state = FL_KEY_PENDING;
    rec.first_seen = rec.last_seen = NOW;
    ck_assert_int_eq(fl_store_minion_insert(store, &rec), 0);
    ck_assert_int_eq(fl_store_minion_set_state(store, "pi-7", FL_KEY_ACCEPTED), 0);

    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-7", &got), 1);
    ck_assert_int_eq(got.state, FL_KEY_ACCEPTED);
    fl_minion_rec_clear(&got);

    json_t *job = json_pack("{s:s, s:I, s:s, s:s, s:s, s:[], s:{}, s:i, s:s}", "jid",
                            "20240101120000000001", "created", (json_int_t) NOW, "tgt", "pi-*",
                            "tgt_type", "glob", "fun", "test.ping", "args", "kwargs",
                            "timeout", 10, "user", "root");
    json_t *expected = json_pack("[s]", "pi-7");
    ck_assert_int_eq(fl_store_job_insert(store, job, expected), 0);
    json_t *ret = json_true();
    ck_assert_int_eq(
        fl_store_return_insert(store, "20240101120000000001", "pi-7", 0, true, ret, NOW + 1), 1);

    json_t *back = fl_store_job_get(store, "20240101120000000001");
    ck_assert_ptr_nonnull(back);
    ck_assert(json_is_true(json_object_get(json_object_get(json_object_get(back, "returns"),
                                                           "pi-7"),
                                           "ret")));
    json_decref(back);
    json_decref(ret);
    json_decref(expected);
    json_decref(job);

    fl_store_destroy(&store);
    ck_assert_ptr_null(store);
    fl_store_destroy(&store);
    fl_store_destroy(NULL);
}
END_TEST

//  --------------------------------------------------------------------------
//  Opening, schema, migrations

START_TEST(test_store_schema)
{
    fl_store_t *store = s_open();
    char *version = s_sql_text("PRAGMA user_version");
    ck_assert_str_eq(version, "3");
    char *journal = s_sql_text("PRAGMA journal_mode");
    ck_assert_str_eq(journal, "wal");
    static const char *tables[] = { "jobs", "minions", "returns", "revoked" };
    for (size_t i = 0; i < FL_ARRAY_LEN(tables); i++) {
        char *sql = fl_sprintf("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                               "name = '%s'",
                               tables[i]);
        char *name = s_sql_text(sql);
        ck_assert_msg(name != NULL, "table %s missing", tables[i]);
        free(name);
        free(sql);
    }
    free(journal);
    free(version);
    fl_store_destroy(&store);

    /* Opening again does not migrate again. */
    store = s_open();
    version = s_sql_text("PRAGMA user_version");
    ck_assert_str_eq(version, "3");
    free(version);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_reopen_keeps_data)
{
    fl_store_t *store = s_open();
    fl_minion_rec_t rec = s_rec("pi-1", 1, FL_KEY_ACCEPTED);
    rec.grains = json_pack("{s:s}", "os", "Debian");
    rec.version = fl_strdup("0.1.0");
    ck_assert_int_eq(fl_store_minion_insert(store, &rec), 0);
    fl_minion_rec_clear(&rec);
    s_insert(store, "pi-2", 2, FL_KEY_PENDING);
    char *key3 = s_key_hex(3);
    ck_assert_int_eq(fl_store_revoke(store, "pi-3", key3, "stolen", NOW), 0);
    s_insert_job(store, "20240101000000000001", NOW, "pi-1,pi-2");
    ck_assert_int_eq(s_return(store, "20240101000000000001", "pi-1", 0, true), 1);
    fl_store_destroy(&store);

    store = s_open();
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
    ck_assert_int_eq(got.state, FL_KEY_ACCEPTED);
    ck_assert_str_eq(json_string_value(json_object_get(got.grains, "os")), "Debian");
    ck_assert_str_eq(got.version, "0.1.0");
    fl_minion_rec_clear(&got);
    ck_assert_int_eq(fl_store_minion_get(store, "pi-2", &got), 1);
    fl_minion_rec_clear(&got);
    ck_assert(fl_store_key_is_revoked(store, key3));
    json_t *job = fl_store_job_get(store, "20240101000000000001");
    ck_assert_ptr_nonnull(job);
    ck_assert_uint_eq(json_object_size(json_object_get(job, "returns")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(job, "missing")), 1);
    /* A return stored before the restart is still a duplicate after it. */
    ck_assert_int_eq(s_return(store, "20240101000000000001", "pi-1", 0, true), 2);
    ck_assert_int_eq(s_return(store, "20240101000000000001", "pi-2", 0, true), 1);
    json_decref(job);
    free(key3);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_newer_schema_refused)
{
    fl_store_t *store = s_open();
    s_insert(store, "pi-1", 1, FL_KEY_ACCEPTED);
    fl_store_destroy(&store);
    s_sql_exec("PRAGMA user_version = 99");

    char *err = NULL;
    store = fl_store_open(s_path, &err);
    ck_assert_ptr_null(store);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "99") != NULL && strstr(err, "newer") != NULL, "%s", err);
    free(err);

    /* The data and version are left as they were. */
    char *version = s_sql_text("PRAGMA user_version");
    ck_assert_str_eq(version, "99");
    free(version);
    char *id = s_sql_text("SELECT id FROM minions");
    ck_assert_str_eq(id, "pi-1");
    free(id);
}
END_TEST

START_TEST(test_store_open_fails)
{
    /* A directory that does not exist. */
    char *path = fl_sprintf("%s/missing/fleet.db", s_dir);
    char *err = NULL;
    ck_assert_ptr_null(fl_store_open(path, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, path) != NULL, "%s", err);
    free(err);
    free(path);

    /* A file that is not a database. */
    char junk[4096];
    memset(junk, 'j', sizeof junk - 1);
    junk[sizeof junk - 1] = '\0';
    path = fl_test_write(s_dir, "junk.db", junk);
    err = NULL;
    s_quiet();
    ck_assert_ptr_null(fl_store_open(path, &err));
    s_loud();
    ck_assert_ptr_nonnull(err);
    ck_assert(*err != '\0');
    free(err);
    free(path);

    /* A directory where the file should be. */
    err = NULL;
    ck_assert_ptr_null(fl_store_open(s_dir, &err));
    ck_assert_ptr_nonnull(err);
    free(err);
}
END_TEST

START_TEST(test_store_two_handles)
{
    /* WAL: a second connection (fleetctl-style reader) sees committed
       writes at once. */
    fl_store_t *a = s_open();
    fl_store_t *b = s_open();
    s_insert(a, "pi-1", 1, FL_KEY_PENDING);
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(b, "pi-1", &got), 1);
    fl_minion_rec_clear(&got);
    ck_assert_int_eq(fl_store_minion_set_state(b, "pi-1", FL_KEY_ACCEPTED), 0);
    ck_assert_int_eq(fl_store_minion_get(a, "pi-1", &got), 1);
    ck_assert_int_eq(got.state, FL_KEY_ACCEPTED);
    fl_minion_rec_clear(&got);
    fl_store_destroy(&b);
    fl_store_destroy(&a);
}
END_TEST

START_TEST(test_store_key_state_names)
{
    static const char *names[] = { "pending", "accepted", "rejected", "revoked" };
    for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
        ck_assert_str_eq(fl_key_state_name((fl_key_state_t) i), names[i]);
        fl_key_state_t state = FL_KEY_REVOKED;
        ck_assert_int_eq(fl_key_state_parse(names[i], &state), 0);
        ck_assert_int_eq(state, (int) i);
    }
    ck_assert_str_eq(fl_key_state_name((fl_key_state_t) 4), "unknown");
    ck_assert_str_eq(fl_key_state_name((fl_key_state_t) -1), "unknown");
    fl_key_state_t state = FL_KEY_PENDING;
    ck_assert_int_eq(fl_key_state_parse("Accepted", &state), -1);
    ck_assert_int_eq(fl_key_state_parse("", &state), -1);
    ck_assert_int_eq(fl_key_state_parse("denied", &state), -1);
    ck_assert_int_eq(state, FL_KEY_PENDING);
}
END_TEST

//  --------------------------------------------------------------------------
//  Minions

START_TEST(test_store_minion_round_trip)
{
    fl_store_t *store = s_open();
    fl_minion_rec_t rec = s_rec("web-01", 7, FL_KEY_REJECTED);
    rec.cert_serial = fl_strdup("0123456789abcdef0123456789abcdef");
    rec.grains = json_pack("{s:s, s:i, s:[s,s], s:{s:s}}", "os", "Debian", "num_cpus", 4,
                           "ipv4", "127.0.0.1", "10.0.0.5", "locale_info", "lang", "en_US");
    rec.version = fl_strdup("0.1.0");
    rec.first_seen = NOW - 100;
    rec.last_seen = NOW;
    ck_assert_int_eq(fl_store_minion_insert(store, &rec), 0);

    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "web-01", &got), 1);
    ck_assert_str_eq(got.id, rec.id);
    ck_assert_str_eq(got.key, rec.key);
    ck_assert_int_eq(got.state, FL_KEY_REJECTED);
    ck_assert_str_eq(got.cert_serial, rec.cert_serial);
    ck_assert(json_equal(got.grains, rec.grains));
    ck_assert_str_eq(got.version, "0.1.0");
    ck_assert_int_eq(got.first_seen, NOW - 100);
    ck_assert_int_eq(got.last_seen, NOW);
    fl_minion_rec_clear(&got);
    ck_assert_ptr_null(got.id);

    /* By key: the same record. */
    ck_assert_int_eq(fl_store_minion_get_by_key(store, rec.key, &got), 1);
    ck_assert_str_eq(got.id, "web-01");
    fl_minion_rec_clear(&got);

    /* Optional fields stay NULL. */
    fl_minion_rec_t bare = s_rec("bare", 8, FL_KEY_PENDING);
    ck_assert_int_eq(fl_store_minion_insert(store, &bare), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "bare", &got), 1);
    ck_assert_ptr_null(got.cert_serial);
    ck_assert_ptr_null(got.grains);
    ck_assert_ptr_null(got.version);
    ck_assert_int_eq(got.state, FL_KEY_PENDING);
    fl_minion_rec_clear(&got);

    fl_minion_rec_clear(&bare);
    fl_minion_rec_clear(&rec);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_minion_not_found)
{
    fl_store_t *store = s_open();
    s_insert(store, "pi-1", 1, FL_KEY_ACCEPTED);
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-2", &got), 0);
    ck_assert_ptr_null(got.id);
    ck_assert_int_eq(fl_store_minion_get(store, "PI-1", &got), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "", &got), 0);
    char *other = s_key_hex(2);
    ck_assert_int_eq(fl_store_minion_get_by_key(store, other, &got), 0);
    ck_assert_ptr_null(got.id);
    /* An id that looks like SQL is just an id. */
    ck_assert_int_eq(fl_store_minion_get(store, "x' OR '1'='1", &got), 0);
    free(other);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_minion_set_state)
{
    fl_store_t *store = s_open();
    s_insert(store, "pi-1", 1, FL_KEY_PENDING);
    s_insert(store, "pi-2", 2, FL_KEY_PENDING);
    for (int s = FL_KEY_PENDING; s <= FL_KEY_REVOKED; s++) {
        ck_assert_int_eq(fl_store_minion_set_state(store, "pi-1", (fl_key_state_t) s), 0);
        fl_minion_rec_t got = { 0 };
        ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
        ck_assert_int_eq(got.state, s);
        fl_minion_rec_clear(&got);
    }
    /* The other minion is untouched. */
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-2", &got), 1);
    ck_assert_int_eq(got.state, FL_KEY_PENDING);
    fl_minion_rec_clear(&got);
    /* An unknown id changes nothing and is not an error. */
    ck_assert_int_eq(fl_store_minion_set_state(store, "nobody", FL_KEY_ACCEPTED), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "nobody", &got), 0);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_minion_seen)
{
    fl_store_t *store = s_open();
    fl_minion_rec_t rec = s_rec("pi-1", 1, FL_KEY_ACCEPTED);
    rec.grains = json_pack("{s:s}", "os", "Debian");
    rec.version = fl_strdup("0.1.0");
    ck_assert_int_eq(fl_store_minion_insert(store, &rec), 0);

    /* A heartbeat: no grains, no version; only last_seen moves. */
    ck_assert_int_eq(fl_store_minion_seen(store, "pi-1", NULL, NULL, NOW + 60), 0);
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
    ck_assert(json_equal(got.grains, rec.grains));
    ck_assert_str_eq(got.version, "0.1.0");
    ck_assert_int_eq(got.last_seen, NOW + 60);
    ck_assert_int_eq(got.first_seen, NOW);
    ck_assert_int_eq(got.state, FL_KEY_ACCEPTED);
    fl_minion_rec_clear(&got);

    /* A hello with new grains and version replaces them. */
    json_t *grains = json_pack("{s:s, s:i}", "os", "Ubuntu", "num_cpus", 8);
    ck_assert_int_eq(fl_store_minion_seen(store, "pi-1", grains, "0.2.0", NOW + 120), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
    ck_assert(json_equal(got.grains, grains));
    ck_assert_str_eq(got.version, "0.2.0");
    ck_assert_int_eq(got.last_seen, NOW + 120);
    fl_minion_rec_clear(&got);

    /* Version only: grains kept. */
    ck_assert_int_eq(fl_store_minion_seen(store, "pi-1", NULL, "0.3.0", NOW + 180), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
    ck_assert(json_equal(got.grains, grains));
    ck_assert_str_eq(got.version, "0.3.0");
    fl_minion_rec_clear(&got);

    /* Unknown minion: nothing to update, not an error. */
    ck_assert_int_eq(fl_store_minion_seen(store, "nobody", grains, "x", NOW), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "nobody", &got), 0);

    json_decref(grains);
    fl_minion_rec_clear(&rec);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_minion_delete)
{
    fl_store_t *store = s_open();
    s_insert(store, "pi-1", 1, FL_KEY_ACCEPTED);
    s_insert(store, "pi-2", 2, FL_KEY_ACCEPTED);
    ck_assert_int_eq(fl_store_minion_delete(store, "pi-1"), 0);
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 0);
    char *key1 = s_key_hex(1);
    ck_assert_int_eq(fl_store_minion_get_by_key(store, key1, &got), 0);
    ck_assert_int_eq(fl_store_minion_get(store, "pi-2", &got), 1);
    fl_minion_rec_clear(&got);
    /* Deleting twice, or an unknown id, is fine. */
    ck_assert_int_eq(fl_store_minion_delete(store, "pi-1"), 0);
    ck_assert_int_eq(fl_store_minion_delete(store, "nobody"), 0);
    /* The id and key can be enrolled again (not revoked). */
    s_insert(store, "pi-1", 1, FL_KEY_PENDING);
    ck_assert(!fl_store_key_is_revoked(store, key1));
    free(key1);
    fl_store_destroy(&store);
}
END_TEST

typedef struct {
    char ids[8][16];
    int count;
    int stop_after;   /* returns -1 on this call (1-based); 0 = never */
} s_visit_t;

static int
s_visit(const fl_minion_rec_t *rec, void *arg)
{
    s_visit_t *v = arg;
    ck_assert_int_lt(v->count, 8);
    ck_assert_ptr_nonnull(rec->id);
    ck_assert_ptr_nonnull(rec->key);
    snprintf(v->ids[v->count], sizeof v->ids[0], "%s", rec->id);
    v->count++;
    return v->stop_after && v->count == v->stop_after ? -1 : 0;
}

START_TEST(test_store_minion_foreach)
{
    fl_store_t *store = s_open();
    s_visit_t v = { .count = 0 };
    ck_assert_int_eq(fl_store_minion_foreach(store, s_visit, &v), 0);
    ck_assert_int_eq(v.count, 0);

    /* Inserted out of order; visited in id order. */
    static const char *ids[] = { "web-2", "db-1", "web-10", "app", "web-1" };
    static const char *sorted[] = { "app", "db-1", "web-1", "web-10", "web-2" };
    for (size_t i = 0; i < FL_ARRAY_LEN(ids); i++) {
        s_insert(store, ids[i], (int) i + 1, FL_KEY_ACCEPTED);
    }
    ck_assert_int_eq(fl_store_minion_foreach(store, s_visit, &v), 0);
    ck_assert_int_eq(v.count, (int) FL_ARRAY_LEN(sorted));
    for (size_t i = 0; i < FL_ARRAY_LEN(sorted); i++) {
        ck_assert_str_eq(v.ids[i], sorted[i]);
    }

    /* Stops early when the callback returns -1. */
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    ck_assert_int_eq(fl_store_minion_foreach(store, s_visit, &v), 0);
    ck_assert_int_eq(v.count, 2);
    ck_assert_str_eq(v.ids[1], "db-1");
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_minion_unique)
{
    fl_store_t *store = s_open();
    s_insert(store, "pi-1", 1, FL_KEY_ACCEPTED);

    /* Same id, another key. */
    s_quiet();
    fl_minion_rec_t dup_id = s_rec("pi-1", 2, FL_KEY_PENDING);
    ck_assert_int_eq(fl_store_minion_insert(store, &dup_id), -1);
    /* Another id, the same key. */
    fl_minion_rec_t dup_key = s_rec("pi-2", 1, FL_KEY_PENDING);
    ck_assert_int_eq(fl_store_minion_insert(store, &dup_key), -1);
    ck_assert_ptr_nonnull(fl_store_errmsg(store));
    ck_assert_ptr_nonnull(strstr(fl_store_errmsg(store), "UNIQUE"));
    s_loud();

    /* The first record is untouched; neither duplicate was stored. */
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
    char *key1 = s_key_hex(1);
    ck_assert_str_eq(got.key, key1);
    ck_assert_int_eq(got.state, FL_KEY_ACCEPTED);
    fl_minion_rec_clear(&got);
    ck_assert_int_eq(fl_store_minion_get(store, "pi-2", &got), 0);
    s_visit_t v = { .count = 0 };
    fl_store_minion_foreach(store, s_visit, &v);
    ck_assert_int_eq(v.count, 1);

    /* The store is still usable after a constraint error. */
    s_insert(store, "pi-3", 3, FL_KEY_PENDING);

    free(key1);
    fl_minion_rec_clear(&dup_key);
    fl_minion_rec_clear(&dup_id);
    fl_store_destroy(&store);
}
END_TEST

//  --------------------------------------------------------------------------
//  Revocation

START_TEST(test_store_revoke)
{
    fl_store_t *store = s_open();
    s_insert(store, "pi-1", 1, FL_KEY_ACCEPTED);
    s_insert(store, "pi-2", 2, FL_KEY_ACCEPTED);
    char *key1 = s_key_hex(1);
    char *key2 = s_key_hex(2);
    ck_assert(!fl_store_key_is_revoked(store, key1));

    ck_assert_int_eq(fl_store_revoke(store, "pi-1", key1, "laptop stolen", NOW), 0);
    ck_assert(fl_store_key_is_revoked(store, key1));
    ck_assert(!fl_store_key_is_revoked(store, key2));
    fl_minion_rec_t got = { 0 };
    ck_assert_int_eq(fl_store_minion_get(store, "pi-1", &got), 1);
    ck_assert_int_eq(got.state, FL_KEY_REVOKED);
    fl_minion_rec_clear(&got);
    ck_assert_int_eq(fl_store_minion_get(store, "pi-2", &got), 1);
    ck_assert_int_eq(got.state, FL_KEY_ACCEPTED);
    fl_minion_rec_clear(&got);

    /* The reason and time are recorded. */
    char *reason = s_sql_text("SELECT reason FROM revoked");
    ck_assert_str_eq(reason, "laptop stolen");
    free(reason);

    /* Revocation survives `key delete`... */
    ck_assert_int_eq(fl_store_minion_delete(store, "pi-1"), 0);
    ck_assert(fl_store_key_is_revoked(store, key1));
    /* ...and a reopen. */
    fl_store_destroy(&store);
    store = s_open();
    ck_assert(fl_store_key_is_revoked(store, key1));

    /* Revoking again is harmless. */
    ck_assert_int_eq(fl_store_revoke(store, "pi-1", key1, "again", NOW + 1), 0);
    json_t *list = fl_store_revoked_list(store);
    ck_assert_uint_eq(json_array_size(list), 1);
    json_decref(list);

    /* A key can be revoked without a minion record (pre-emptively). */
    char *key9 = s_key_hex(9);
    ck_assert_int_eq(fl_store_revoke(store, "ghost", key9, NULL, NOW), 0);
    ck_assert(fl_store_key_is_revoked(store, key9));
    ck_assert_int_eq(fl_store_minion_get(store, "ghost", &got), 0);

    free(key9);
    free(key2);
    free(key1);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_revoked_list)
{
    fl_store_t *store = s_open();
    json_t *list = fl_store_revoked_list(store);
    ck_assert(json_is_array(list));
    ck_assert_uint_eq(json_array_size(list), 0);
    json_decref(list);

    int order[] = { 30, 10, 20 };
    for (size_t i = 0; i < FL_ARRAY_LEN(order); i++) {
        char *id = fl_sprintf("pi-%d", order[i]);
        char *key = s_key_hex(order[i]);
        s_insert(store, id, order[i], FL_KEY_ACCEPTED);
        ck_assert_int_eq(fl_store_revoke(store, id, key, "test", NOW), 0);
        free(key);
        free(id);
    }
    list = fl_store_revoked_list(store);
    ck_assert_uint_eq(json_array_size(list), 3);
    int sorted[] = { 10, 20, 30 };
    for (size_t i = 0; i < FL_ARRAY_LEN(sorted); i++) {
        char *key = s_key_hex(sorted[i]);
        ck_assert_str_eq(json_string_value(json_array_get(list, i)), key);
        free(key);
    }
    json_decref(list);
    fl_store_destroy(&store);
}
END_TEST

//  --------------------------------------------------------------------------
//  Jobs and returns

#define JID1 "20240101120000000001"
#define JID2 "20240101120000000002"
#define JID3 "20240101120500000000"

START_TEST(test_store_returns)
{
    fl_store_t *store = s_open();
    s_insert_job(store, JID1, NOW, "pi-1,pi-2,pi-3");

    /* First return stored; a second from the same minion is a duplicate;
       a minion the job never went to is refused. */
    ck_assert_int_eq(s_return(store, JID1, "pi-1", 0, true), 1);
    ck_assert_int_eq(s_return(store, JID1, "pi-1", 5, false), 2);
    ck_assert_int_eq(s_return(store, JID1, "pi-9", 0, true), 0);
    ck_assert_int_eq(s_return(store, "20991231000000000000", "pi-1", 0, true), 0);
    ck_assert_int_eq(s_return(store, JID1, "pi-2", 2, false), 1);
    ck_assert_int_eq(s_return(store, JID1, "pi-2", 2, false), 2);

    /* The duplicate did not overwrite the first return. */
    json_t *job = fl_store_job_get(store, JID1);
    json_t *r1 = json_object_get(json_object_get(job, "returns"), "pi-1");
    ck_assert_ptr_nonnull(r1);
    ck_assert_int_eq(json_integer_value(json_object_get(r1, "retcode")), 0);
    ck_assert(json_is_true(json_object_get(r1, "success")));
    /* The refused minion does not appear anywhere. */
    ck_assert_ptr_null(json_object_get(json_object_get(job, "returns"), "pi-9"));
    json_decref(job);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_job_get)
{
    fl_store_t *store = s_open();
    s_insert_job(store, JID1, NOW, "pi-3,pi-1,pi-2");
    ck_assert_int_eq(s_return(store, JID1, "pi-2", 3, false), 1);

    json_t *job = fl_store_job_get(store, JID1);
    ck_assert_ptr_nonnull(job);
    ck_assert_str_eq(json_string_value(json_object_get(job, "jid")), JID1);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "created")), NOW);
    ck_assert_str_eq(json_string_value(json_object_get(job, "user")), "alice");
    ck_assert_str_eq(json_string_value(json_object_get(job, "tgt")), "web-*");
    ck_assert_str_eq(json_string_value(json_object_get(job, "tgt_type")), "glob");
    ck_assert_str_eq(json_string_value(json_object_get(job, "fun")), "test.echo");
    ck_assert_int_eq(json_integer_value(json_object_get(job, "timeout")), 30);
    ck_assert_int_eq(json_integer_value(json_object_get(job, "expected_count")), 3);
    json_t *args = json_pack("[s]", "hello");
    json_t *kwargs = json_pack("{s:b}", "test", 1);
    ck_assert(json_equal(json_object_get(job, "args"), args));
    ck_assert(json_equal(json_object_get(job, "kwargs"), kwargs));

    /* Returns keyed by minion; missing in id order. */
    json_t *returns = json_object_get(job, "returns");
    ck_assert_uint_eq(json_object_size(returns), 1);
    json_t *r = json_object_get(returns, "pi-2");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "retcode")), 3);
    ck_assert(json_is_false(json_object_get(r, "success")));
    ck_assert_int_eq(json_integer_value(json_object_get(r, "received")), NOW + 5);
    json_t *want_ret = json_pack("{s:s, s:i}", "from", "pi-2", "retcode", 3);
    ck_assert(json_equal(json_object_get(r, "ret"), want_ret));
    json_t *missing = json_object_get(job, "missing");
    ck_assert_uint_eq(json_array_size(missing), 2);
    ck_assert_str_eq(json_string_value(json_array_get(missing, 0)), "pi-1");
    ck_assert_str_eq(json_string_value(json_array_get(missing, 1)), "pi-3");
    json_decref(want_ret);
    json_decref(kwargs);
    json_decref(args);
    json_decref(job);

    /* Unknown job. */
    ck_assert_ptr_null(fl_store_job_get(store, "nope"));
    ck_assert_ptr_null(fl_store_job_get(store, ""));
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_job_return_values)
{
    /* Any JSON value is a valid return, including scalars and null. */
    fl_store_t *store = s_open();
    s_insert_job(store, JID1, NOW, "a,b,c,d");
    json_t *values[] = { json_null(), json_string("text"), json_integer(-7),
                         json_pack("[i,{s:[]}]", 1, "x") };
    const char *ids[] = { "a", "b", "c", "d" };
    for (size_t i = 0; i < FL_ARRAY_LEN(values); i++) {
        ck_assert_int_eq(
            fl_store_return_insert(store, JID1, ids[i], -1, i % 2 == 0, values[i], NOW), 1);
    }
    json_t *job = fl_store_job_get(store, JID1);
    json_t *returns = json_object_get(job, "returns");
    ck_assert_uint_eq(json_object_size(returns), 4);
    ck_assert_uint_eq(json_array_size(json_object_get(job, "missing")), 0);
    for (size_t i = 0; i < FL_ARRAY_LEN(values); i++) {
        json_t *r = json_object_get(returns, ids[i]);
        ck_assert_msg(json_equal(json_object_get(r, "ret"), values[i]), "ret of %s", ids[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(r, "retcode")), -1);
        ck_assert(json_boolean_value(json_object_get(r, "success")) == (i % 2 == 0));
        json_decref(values[i]);
    }
    json_decref(job);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_job_insert_atomic)
{
    fl_store_t *store = s_open();
    s_insert_job(store, JID1, NOW, "pi-1");

    /* The same jid again is refused, and the first job is unchanged. */
    json_t *job = s_job(JID1, NOW + 1, "cmd.run");
    json_t *expected = json_pack("[s,s]", "pi-2", "pi-3");
    s_quiet();
    ck_assert_int_eq(fl_store_job_insert(store, job, expected), -1);
    s_loud();
    json_decref(expected);
    json_decref(job);
    json_t *got = fl_store_job_get(store, JID1);
    ck_assert_str_eq(json_string_value(json_object_get(got, "fun")), "test.echo");
    ck_assert_int_eq(json_integer_value(json_object_get(got, "expected_count")), 1);
    ck_assert_uint_eq(json_array_size(json_object_get(got, "missing")), 1);
    json_decref(got);
    ck_assert_int_eq(s_return(store, JID1, "pi-2", 0, true), 0);

    /* A failure while adding the expected minions (a duplicate id) rolls
       the whole job back. */
    job = s_job(JID2, NOW, "test.ping");
    expected = json_pack("[s,s,s]", "pi-1", "pi-2", "pi-1");
    s_quiet();
    ck_assert_int_eq(fl_store_job_insert(store, job, expected), -1);
    s_loud();
    ck_assert_ptr_null(fl_store_job_get(store, JID2));
    ck_assert_int_eq(s_return(store, JID2, "pi-1", 0, true), 0);
    json_decref(expected);

    /* ...and the store still takes the job once it is well-formed. */
    expected = json_pack("[s,s]", "pi-1", "pi-2");
    ck_assert_int_eq(fl_store_job_insert(store, job, expected), 0);
    ck_assert_int_eq(s_return(store, JID2, "pi-1", 0, true), 1);
    json_decref(expected);
    json_decref(job);
    fl_store_destroy(&store);
}
END_TEST

START_TEST(test_store_job_no_targets)
{
    fl_store_t *store = s_open();
    json_t *job = s_job(JID1, NOW, "test.ping");
    json_t *expected = json_array();
    ck_assert_int_eq(fl_store_job_insert(store, job, expected), 0);
    json_t *got = fl_store_job_get(store, JID1);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(json_integer_value(json_object_get(got, "expected_count")), 0);
    ck_assert_uint_eq(json_object_size(json_object_get(got, "returns")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(got, "missing")), 0);
    ck_assert_int_eq(s_return(store, JID1, "pi-1", 0, true), 0);
    json_decref(got);
    json_decref(expected);
    json_decref(job);
    fl_store_destroy(&store);
}
END_TEST

static json_t *
s_find_job(json_t *list, const char *jid)
{
    size_t i;
    json_t *job;
    json_array_foreach(list, i, job) {
        if (strcmp(json_string_value(json_object_get(job, "jid")), jid) == 0) {
            return job;
        }
    }
    return NULL;
}

START_TEST(test_store_jobs_list)
{
    fl_store_t *store = s_open();
    json_t *list = fl_store_jobs_list(store, 10);
    ck_assert(json_is_array(list));
    ck_assert_uint_eq(json_array_size(list), 0);
    json_decref(list);

    /* Inserted out of order: listed newest (highest jid) first. */
    s_insert_job(store, JID2, NOW + 1, "a,b,c");
    s_insert_job(store, JID1, NOW, "a");
    s_insert_job(store, JID3, NOW + 300, "a,b");
    ck_assert_int_eq(s_return(store, JID2, "a", 0, true), 1);
    ck_assert_int_eq(s_return(store, JID2, "b", 1, false), 1);
    ck_assert_int_eq(s_return(store, JID2, "c", 2, false), 1);
    ck_assert_int_eq(s_return(store, JID3, "b", 0, true), 1);

    list = fl_store_jobs_list(store, 10);
    ck_assert_uint_eq(json_array_size(list), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "jid")), JID3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "jid")), JID2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "jid")), JID1);

    json_t *j2 = s_find_job(list, JID2);
    ck_assert_int_eq(json_integer_value(json_object_get(j2, "expected_count")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j2, "returned")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(j2, "failed")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(j2, "fun")), "test.echo");
    json_t *j3 = s_find_job(list, JID3);
    ck_assert_int_eq(json_integer_value(json_object_get(j3, "returned")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j3, "failed")), 0);
    json_t *j1 = s_find_job(list, JID1);
    ck_assert_int_eq(json_integer_value(json_object_get(j1, "returned")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(j1, "failed")), 0);
    /* Listing does not carry the per-minion returns. */
    ck_assert_ptr_null(json_object_get(j2, "returns"));
    json_decref(list);

    /* LIMIT keeps the newest. */
    list = fl_store_jobs_list(store, 2);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "jid")), JID3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "jid")), JID2);
    json_decref(list);
    list = fl_store_jobs_list(store, 0);
    ck_assert_uint_eq(json_array_size(list), 0);
    json_decref(list);
    fl_store_destroy(&store);
}
END_TEST

/*  Statements stay prepared between calls: given back, one is reset (no
    half-read rows, no read transaction left open) with its bindings
    cleared; the same SQL asked for while its statement is in use gets a
    second one. */
START_TEST(test_store_statements_kept)
{
    fl_store_t *store = s_open();
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "m%d", i);
        fl_minion_rec_t rec = s_rec(id, i, FL_KEY_ACCEPTED);
        ck_assert_int_eq(fl_store_minion_insert(store, &rec), 0);
        fl_minion_rec_clear(&rec);
    }
    const char *sql = "SELECT id FROM minions ORDER BY id";
    sqlite3_stmt *a = fl_store_stmt(store, sql);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(sqlite3_step(a), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_stmt_busy(a), 1);
    sqlite3_stmt *b = fl_store_stmt(store, sql);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    int rows = 0;
    while (sqlite3_step(b) == SQLITE_ROW) {
        rows++;
    }
    ck_assert_int_eq(rows, 3);
    fl_store_stmt_done(store, a);
    ck_assert_int_eq(sqlite3_stmt_busy(a), 0);
    sqlite3_stmt *c = fl_store_stmt(store, sql);
    ck_assert_ptr_eq(c, a);
    ck_assert_int_eq(sqlite3_step(c), SQLITE_ROW);
    ck_assert_str_eq((const char *) sqlite3_column_text(c, 0), "m0");
    fl_store_stmt_done(store, c);
    fl_store_stmt_done(store, b);

    sqlite3_stmt *p = fl_store_stmt(store, "SELECT ?1");
    sqlite3_bind_int(p, 1, 5);
    ck_assert_int_eq(sqlite3_step(p), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(p, 0), 5);
    fl_store_stmt_done(store, p);
    ck_assert_ptr_eq(fl_store_stmt(store, "SELECT ?1"), p);
    ck_assert_int_eq(sqlite3_step(p), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_type(p, 0), SQLITE_NULL);
    fl_store_stmt_done(store, p);

    s_quiet();
    ck_assert_ptr_null(fl_store_stmt(store, "SELECT nonsense FROM"));
    s_loud();
    fl_store_stmt_done(store, NULL);
    /* Destroying the store with statements kept closes the database:
       LeakSanitizer (make check-asan) sees a close that failed. */
    fl_store_destroy(&store);
    ck_assert_ptr_null(store);
}
END_TEST

Suite *suite_store(void);

Suite *
suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_store_usage);
    tcase_add_test(tc, test_store_schema);
    tcase_add_test(tc, test_store_reopen_keeps_data);
    tcase_add_test(tc, test_store_newer_schema_refused);
    tcase_add_test(tc, test_store_open_fails);
    tcase_add_test(tc, test_store_two_handles);
    tcase_add_test(tc, test_store_key_state_names);
    tcase_add_test(tc, test_store_minion_round_trip);
    tcase_add_test(tc, test_store_minion_not_found);
    tcase_add_test(tc, test_store_minion_set_state);
    tcase_add_test(tc, test_store_minion_seen);
    tcase_add_test(tc, test_store_minion_delete);
    tcase_add_test(tc, test_store_minion_foreach);
    tcase_add_test(tc, test_store_minion_unique);
    tcase_add_test(tc, test_store_revoke);
    tcase_add_test(tc, test_store_revoked_list);
    tcase_add_test(tc, test_store_returns);
    tcase_add_test(tc, test_store_job_get);
    tcase_add_test(tc, test_store_job_return_values);
    tcase_add_test(tc, test_store_job_insert_atomic);
    tcase_add_test(tc, test_store_job_no_targets);
    tcase_add_test(tc, test_store_jobs_list);
    tcase_add_test(tc, test_store_statements_kept);
    suite_add_tcase(s, tc);
    return s;
}
