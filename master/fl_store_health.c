/*  fl_store_health.c: what the master learns about the health of the
    fleet: events (bounded), presence transitions (for availability),
    beacon samples (kept within a byte budget, oldest first out) and the
    alarms that are open. */
#include "fl_store_int.h"
#include "fl_json.h"
#include "fl_log.h"

#include <fnmatch.h>

static json_t *
s_json_column(sqlite3_stmt *st, int col)
{
    json_error_t jerr;
    const char *text = (const char *) sqlite3_column_text(st, col);
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &jerr) : NULL;
    return v ? v : json_null();
}

int
fl_store_event_insert(fl_store_t *self, int64_t ts, const char *tag, const json_t *data,
                      int64_t max_events)
{
    sqlite3_stmt *st = fl_store_stmt(self, "INSERT INTO events (ts, tag, data) VALUES (?, ?, ?)");
    if (!st) {
        return -1;
    }
    char *text = fl_json_compact(data);
    sqlite3_bind_int64(st, 1, ts);
    sqlite3_bind_text(st, 2, tag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
    free(text);
    if (fl_store_stmt_run(self, st) != 0) {
        return -1;
    }
    /* Keep the newest MAX_EVENTS: trim in steps, not on every insert. */
    sqlite3_int64 id = sqlite3_last_insert_rowid(fl_store_db(self));
    if (max_events > 0 && id % 100 == 0) {
        st = fl_store_stmt(self, "DELETE FROM events WHERE id <= ?");
        if (st) {
            sqlite3_bind_int64(st, 1, id - max_events);
            return fl_store_stmt_run(self, st);
        }
    }
    return 0;
}

json_t *
fl_store_events_recent(fl_store_t *self, const char *glob, int limit)
{
    json_t *list = json_array();
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT id, ts, tag, data FROM events ORDER BY id DESC");
    if (!st) {
        return list;
    }
    while ((int) json_array_size(list) < limit && sqlite3_step(st) == SQLITE_ROW) {
        const char *tag = (const char *) sqlite3_column_text(st, 2);
        if (glob && fnmatch(glob, tag, 0) != 0) {
            continue;
        }
        json_array_insert_new(list, 0,
                              json_pack("{s:I, s:I, s:s, s:o}", "id",
                                        (json_int_t) sqlite3_column_int64(st, 0), "ts",
                                        (json_int_t) sqlite3_column_int64(st, 1), "tag", tag,
                                        "data", s_json_column(st, 3)));
    }
    fl_store_stmt_done(self, st);
    return list;
}

int
fl_store_presence_insert(fl_store_t *self, const char *minion, int64_t ts, const char *state)
{
    sqlite3_stmt *st =
        fl_store_stmt(self, "INSERT INTO presence (minion, ts, state) VALUES (?, ?, ?)");
    if (!st) {
        return -1;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ts);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_TRANSIENT);
    return fl_store_stmt_run(self, st);
}

void
fl_store_presence_last(fl_store_t *self, const char *minion, char out[16], int64_t *ts)
{
    out[0] = '\0';
    *ts = 0;
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT state, ts FROM presence WHERE minion = ? "
                                       "ORDER BY ts DESC, rowid DESC LIMIT 1");
    if (!st) {
        return;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, 16, "%s", (const char *) sqlite3_column_text(st, 0));
        *ts = sqlite3_column_int64(st, 1);
    }
    fl_store_stmt_done(self, st);
}

int64_t
fl_store_presence_up_seconds(fl_store_t *self, const char *minion, int64_t since, int64_t now,
                             int64_t *known)
{
    *known = 0;
    /* The state in force at SINCE (the last transition before it), then
       every transition within the period. */
    sqlite3_stmt *st = fl_store_stmt(self,
                                 "SELECT ts, state FROM (SELECT ts, state, rowid r FROM presence "
                                 "  WHERE minion = ?1 AND ts <= ?2 ORDER BY ts DESC, rowid DESC "
                                 "  LIMIT 1) "
                                 "UNION ALL SELECT ts, state FROM (SELECT ts, state, rowid r "
                                 "  FROM presence WHERE minion = ?1 AND ts > ?2 AND ts <= ?3 "
                                 "  ORDER BY ts, rowid)");
    if (!st) {
        return 0;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int64(st, 3, now);
    int64_t up = 0, start = -1;
    bool is_up = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t ts = sqlite3_column_int64(st, 0);
        const char *state = (const char *) sqlite3_column_text(st, 1);
        if (ts < since) {
            ts = since;
        }
        if (start >= 0 && is_up) {
            up += ts - start;
        }
        if (start < 0) {
            *known = now - ts;
        }
        start = ts;
        is_up = strcmp(state, "up") == 0;
    }
    fl_store_stmt_done(self, st);
    if (start >= 0 && is_up) {
        up += now - start;
    }
    return up;
}

int64_t
fl_store_beacon_bytes(fl_store_t *self)
{
    int64_t *cache = fl_store_beacon_bytes_cache(self);
    if (*cache >= 0) {
        return *cache;
    }
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT coalesce(sum(bytes), 0) FROM beacons");
    int64_t bytes = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        bytes = sqlite3_column_int64(st, 0);
        *cache = bytes;
    }
    fl_store_stmt_done(self, st);
    return bytes;
}

int64_t
fl_store_beacon_insert(fl_store_t *self, const char *minion, int64_t ts, const char *name,
                       const json_t *data, int64_t budget_bytes)
{
    char *text = fl_json_compact(data);
    /* What a row costs: its text plus the row's overhead, roughly. */
    int64_t bytes = (int64_t) (strlen(text) + strlen(minion) + strlen(name) + 48);
    sqlite3_stmt *st = fl_store_stmt(self, "INSERT INTO beacons (minion, ts, name, data, bytes) "
                                       "VALUES (?, ?, ?, ?, ?)");
    if (!st) {
        free(text);
        return -1;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, ts);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, bytes);
    free(text);
    int64_t total = fl_store_beacon_bytes(self);   /* counted before the insert */
    if (fl_store_stmt_run(self, st) != 0) {
        return -1;
    }
    int64_t *cache = fl_store_beacon_bytes_cache(self);
    total += bytes;
    *cache = total;
    if (budget_bytes <= 0 || total <= budget_bytes) {
        return 0;
    }
    /* Oldest samples go first, until what is left fits the budget. */
    st = fl_store_stmt(self, "SELECT id, bytes FROM beacons ORDER BY id");
    if (!st) {
        return -1;
    }
    int64_t cut = -1, removed = 0;
    while (total > budget_bytes && sqlite3_step(st) == SQLITE_ROW) {
        cut = sqlite3_column_int64(st, 0);
        total -= sqlite3_column_int64(st, 1);
        removed++;
    }
    fl_store_stmt_done(self, st);
    if (cut < 0) {
        return 0;
    }
    st = fl_store_stmt(self, "DELETE FROM beacons WHERE id <= ?");
    if (!st) {
        *cache = -1;
        return -1;
    }
    sqlite3_bind_int64(st, 1, cut);
    if (fl_store_stmt_run(self, st) != 0) {
        *cache = -1;    /* unsure what went: count again next time */
        return -1;
    }
    *cache = total;
    return removed;
}

json_t *
fl_store_beacons_get(fl_store_t *self, const char *minion, const char *name, int64_t since,
                     int limit)
{
    json_t *list = json_array();
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT ts, name, data FROM (SELECT id, ts, name, data "
                                       "FROM beacons WHERE minion = ?1 AND (?2 IS NULL OR "
                                       "name = ?2) AND ts >= ?3 ORDER BY id DESC LIMIT ?4) "
                                       "ORDER BY id");
    if (!st) {
        return list;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    if (name) {
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    } else {
        sqlite3_bind_null(st, 2);
    }
    sqlite3_bind_int64(st, 3, since);
    sqlite3_bind_int(st, 4, limit);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(list, json_pack("{s:I, s:s, s:o}", "ts",
                                              (json_int_t) sqlite3_column_int64(st, 0), "name",
                                              (const char *) sqlite3_column_text(st, 1), "data",
                                              s_json_column(st, 2)));
    }
    fl_store_stmt_done(self, st);
    return list;
}

int
fl_store_alarm_set(fl_store_t *self, const char *minion, const char *mark, int64_t since,
                   double value)
{
    sqlite3_stmt *st = fl_store_stmt(self, "INSERT OR REPLACE INTO alarms (minion, mark, since, "
                                       "value) VALUES (?, ?, ?, ?)");
    if (!st) {
        return -1;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, mark, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, since);
    sqlite3_bind_double(st, 4, value);
    return fl_store_stmt_run(self, st);
}

int
fl_store_alarm_clear(fl_store_t *self, const char *minion, const char *mark)
{
    sqlite3_stmt *st = fl_store_stmt(self, "DELETE FROM alarms WHERE minion = ? AND mark = ?");
    if (!st) {
        return -1;
    }
    sqlite3_bind_text(st, 1, minion, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, mark, -1, SQLITE_TRANSIENT);
    return fl_store_stmt_run(self, st);
}

json_t *
fl_store_alarms(fl_store_t *self)
{
    json_t *all = json_object();
    sqlite3_stmt *st = fl_store_stmt(self, "SELECT minion, mark, since, value FROM alarms");
    if (!st) {
        return all;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *minion = (const char *) sqlite3_column_text(st, 0);
        json_t *m = json_object_get(all, minion);
        if (!m) {
            m = json_object();
            json_object_set_new(all, minion, m);
        }
        json_object_set_new(m, (const char *) sqlite3_column_text(st, 1),
                            json_pack("{s:I, s:f}", "since",
                                      (json_int_t) sqlite3_column_int64(st, 2), "value",
                                      sqlite3_column_double(st, 3)));
    }
    fl_store_stmt_done(self, st);
    return all;
}
