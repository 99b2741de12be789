/*  fl_store_int.h: for the store's own files (fl_store.c: keys and jobs;
    fl_store_health.c: events, presence, beacons, alarms). */
#ifndef FL_STORE_INT_H
#define FL_STORE_INT_H

#include "fl_store.h"

#include <sqlite3.h>

sqlite3 *fl_store_db(fl_store_t *self);
/*  The running total of beacon bytes (-1 until counted), so that storing a
    sample does not sum the whole table each time. */
int64_t *fl_store_beacon_bytes_cache(fl_store_t *self);

#endif
