/*  fl_beacons.h: the minion's health beacons (as Salt's beacons): small
    samples of the device's health, taken on a schedule and sent to the
    master, which checks them with fl_beacon_check (common/fl_beacon_check.h
    documents the data of each beacon) before it stores them.

        cpu           load averages, and percent busy since the previous
                      cpu sample (the first sample has no percent)
        memory        total and available MiB, percent used
        disk          per real mount point: total and used MiB, percent used
        network       per interface (not lo): byte counters and bytes per
                      second since the previous network sample
        processes     how many processes run
        process_list  the 20 largest processes by resident memory
        temperature   every thermal zone, in degrees Celsius (no sample at
                      all where there is no thermal zone)

    Every beacon runs each 900 s (process_list: 3600 s) unless minion.yaml
    says otherwise:

        beacons:
          cpu: {interval: 60}
          process_list: {enabled: false}

    The minion's loop calls fl_beacons_due when fl_beacons_next_ms says so
    and sends what it returns.

    Files are read under ROOT_DIR, so tests can fake a device: when ROOT/proc
    (or ROOT/sys) is a directory, every /proc (/sys) file is read from there
    and nowhere else; otherwise a file is read under ROOT when it exists
    there, else from the real path (as the grains do).  The mount table is
    ROOT/proc/mounts when it exists, else /proc/self/mounts; mount points
    are measured under ROOT only when the table came from ROOT. */
#ifndef FL_BEACONS_H
#define FL_BEACONS_H

#include "fl_beacon_check.h"

typedef struct fl_beacons fl_beacons_t;

/*  Default intervals, seconds, and the bounds a configured one must keep. */
#define FL_BEACONS_INTERVAL_S 900
#define FL_BEACONS_PROCESS_LIST_INTERVAL_S 3600
#define FL_BEACONS_MIN_INTERVAL_S 1
#define FL_BEACONS_MAX_INTERVAL_S (7 * 86400)
/*  How many processes process_list reports. */
#define FL_BEACONS_TOP 20

/*  ROOT_DIR: NULL or "" = /.  CONFIG: the `beacons:` map of minion.yaml, or
    NULL for the defaults: {NAME: {interval: SECONDS, enabled: BOOL}} (a
    beacon mapped to null keeps its defaults).  NULL when CONFIG names an
    unknown beacon or key or holds a bad value, with a message naming the
    key in *ERR (caller frees; ERR may be NULL). */
fl_beacons_t *fl_beacons_new(const char *root_dir, const json_t *config, char **err);
void fl_beacons_destroy(fl_beacons_t **self_p);

/*  Samples every enabled beacon whose time has come at NOW_MS (monotonic
    ms, as fl_clock_ms): all of them on the first call, then each after its
    interval.  Returns an array (possibly empty; caller owns) of samples
        [{"name": "cpu", "ts": WALL_SECONDS, "data": {...}}, ...]
    A beacon that cannot read its files is logged (warning the first time,
    debug after) and left out. */
json_t *fl_beacons_due(fl_beacons_t *self, int64_t now_ms);
/*  Ms from NOW_MS until the next beacon is due (0 when one is due now), or
    -1 when every beacon is disabled: a poll-style timeout. */
int64_t fl_beacons_next_ms(const fl_beacons_t *self, int64_t now_ms);
/*  Samples beacon NAME now, whatever its schedule or enabled flag (for tests
    and `fleetctl beacons --now`).  The sample is one fl_beacons_due would
    return (caller owns), and counts as the previous sample for the cpu and
    network differences.  NULL with a reason in *ERR (caller frees; ERR may
    be NULL) when NAME is unknown, the files cannot be read or the beacon
    has nothing to report. */
json_t *fl_beacons_sample(fl_beacons_t *self, const char *name, char **err);

/*  Whether beacon NAME (which must be known) is enabled, and its interval
    in seconds: what the configuration resolved to. */
bool fl_beacons_enabled(const fl_beacons_t *self, const char *name);
int64_t fl_beacons_interval_s(const fl_beacons_t *self, const char *name);

#endif
