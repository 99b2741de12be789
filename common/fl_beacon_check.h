/*  fl_beacon_check.h: what the master accepts as a beacon sample.  A
    minion's health beacons (minion/fl_beacons.h) send samples shaped

        {"name": "cpu", "ts": 1700000000, "data": {...}}

    and the master must not store garbage from a broken or hostile minion:
    every sample goes through fl_beacon_check first.  The data of each
    beacon, as the minion's sampler produces it:

        cpu           {load1, load5, load15, busy_percent?}
        memory        {total_mb, available_mb, used_percent}
        disk          {MOUNT: {total_mb, used_mb, used_percent}, ...}
        network       {IFACE: {rx_bytes, tx_bytes, rx_rate?, tx_rate?}, ...}
        processes     {count}
        process_list  {top: [{pid, name, rss_kb}, ...]}
        temperature   {ZONE: celsius, ...}

    (? = optional: the first cpu and network samples have no previous one
    to take a difference from).  Rates are bytes per second.  No libm, no
    minion code: the master links this alone. */
#ifndef FL_BEACON_CHECK_H
#define FL_BEACON_CHECK_H

#include "fl_prelude.h"

#include <jansson.h>

/*  How far a sample's ts may run ahead of the master's clock, and how old
    it may be, in seconds. */
#define FL_BEACON_MAX_AHEAD_S 300
#define FL_BEACON_MAX_AGE_S (30 * 86400)
/*  Bounds on the size of a sample: entries of a per-mount, per-interface or
    per-zone map, and processes in a process_list. */
#define FL_BEACON_MAX_ENTRIES 1024
#define FL_BEACON_MAX_TOP 100
/*  Longest map key (mount point, interface, zone) and process name, bytes. */
#define FL_BEACON_MAX_KEY 255
#define FL_BEACON_MAX_PROC_NAME 64

/*  True when NAME is a beacon this version knows ("cpu", "memory", "disk",
    "network", "processes", "process_list", "temperature"). */
bool fl_beacon_known(const char *name);
/*  The known names, comma separated, for error messages.  Static. */
const char *fl_beacon_known_list(void);

/*  0 when SAMPLE is a well-formed sample of a known beacon, with a ts
    within [NOW_S - 30 days, NOW_S + 300 s] and data shaped and bounded as
    above (percent 0..100, cpu busy_percent 0..100.5, loads 0..10000,
    celsius -100..200, sizes, counts and rates 0..2^50, pids positive
    integers); unknown keys are refused at every level.  Else -1 with a
    message naming the field in *ERR (caller frees; ERR may be NULL). */
int fl_beacon_check(const json_t *sample, int64_t now_s, char **err);

#endif
