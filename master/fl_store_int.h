/*  fl_store_int.h: for the store's own files (fl_store.c: keys and jobs;
    fl_store_health.c: events, presence, beacons, alarms). */
#ifndef FL_STORE_INT_H
#define FL_STORE_INT_H

#include "fl_store.h"

#include <sqlite3.h>

sqlite3 *fl_store_db(fl_store_t *self);
/*  A prepared statement for SQL, kept prepared for the next caller once it
    is given back with fl_store_stmt_done (reset, bindings cleared).  NULL
    (logged) when SQL does not prepare. */
sqlite3_stmt *fl_store_stmt(fl_store_t *self, const char *sql);
void fl_store_stmt_done(fl_store_t *self, sqlite3_stmt *st);
/*  Steps ST, a statement that returns no rows, and gives it back: 0, or -1
    (logged) when it did not run to the end. */
int fl_store_stmt_run(fl_store_t *self, sqlite3_stmt *st);
/*  The running total of beacon bytes (-1 until counted), so that storing a
    sample does not sum the whole table each time. */
int64_t *fl_store_beacon_bytes_cache(fl_store_t *self);

#endif
