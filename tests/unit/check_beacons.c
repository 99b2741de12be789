/*  check_beacons.c: the minion's health beacons on a fake device (every
    /proc and /sys file under a root_dir), their schedule and configuration,
    and the master's fl_beacon_check on good and garbage samples. */
#include "fl_test.h"
#include "fl_beacons.h"
#include "fl_json.h"
#include "fl_util.h"

#include <math.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

Suite *suite_beacons(void);

static char *s_root;

static void
s_setup(void)
{
    s_root = fl_test_tmpdir();
}

static void
s_teardown(void)
{
    fl_test_tmpdir_free(&s_root);
}

/*  Writes ROOT/REL, making its directories. */
static void
s_write(const char *rel, const char *text)
{
    char *path = fl_sprintf("%s/%s", s_root, rel);
    char *dir = fl_path_dirname(path);
    ck_assert_int_eq(fl_mkdir_p(dir, 0755), 0);
    free(dir);
    free(path);
    free(fl_test_write(s_root, rel, text));
}

static void
s_mkdir(const char *rel)
{
    char *path = fl_sprintf("%s/%s", s_root, rel);
    ck_assert_int_eq(fl_mkdir_p(path, 0755), 0);
    free(path);
}

static const char s_stat_v1[] = "cpu  100 0 100 700 100 0 0 0 50 0\n"
                                "cpu0 100 0 100 700 100 0 0 0 50 0\n"
                                "intr 12345 0 0\n";
/*  +1000 jiffies, of which 700 idle (600 idle + 100 iowait): 30% busy.
    guest (the 9th value) is in user already and must not count twice. */
static const char s_stat_v2[] = "cpu  300 0 200 1300 200 0 0 0 90 0\n"
                                "cpu0 300 0 200 1300 200 0 0 0 90 0\n";

static const char s_net_v1[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo:  999999     100    0    0    0     0          0         0   999999     100    0 "
    "   0    0     0       0          0\n"
    "  eth0: 1000000    2000    0    0    0     0          0         0   500000    1000    0 "
    "   0    0     0       0          0\n"
    " wlan0:       0       0    0    0    0     0          0         0        0       0    0 "
    "   0    0     0       0          0\n";

/*  10 s later: eth0 +10000 rx, +5000 tx; wlan0 was reset (counters back). */
static const char s_net_v2[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "  eth0: 1010000    2100    0    0    0     0          0         0   505000    1050    0 "
    "   0    0     0       0          0\n"
    " wlan0:       0       0    0    0    0     0          0         0        0       0    0 "
    "   0    0     0       0          0\n";

static void
s_proc(int pid, const char *name, long rss_kb)
{
    char *rel = fl_sprintf("proc/%d/status", pid);
    char *text = rss_kb >= 0 ? fl_sprintf("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\n"
                                          "VmPeak:\t  99999 kB\nVmRSS:\t  %ld kB\nThreads:\t1\n",
                                          name, rss_kb)
                             : fl_sprintf("Name:\t%s\nState:\tI (idle)\nThreads:\t1\n", name);
    s_write(rel, text);
    free(text);
    free(rel);
}

/*  A whole device under s_root. */
static void
s_fake_device(void)
{
    s_write("proc/loadavg", "0.52 1.25 2.00 2/389 12345\n");
    s_write("proc/stat", s_stat_v1);
    s_write("proc/meminfo", "MemTotal:        2048000 kB\n"
                            "MemFree:          100000 kB\n"
                            "MemAvailable:     512000 kB\n"
                            "Buffers:           10000 kB\n");
    s_write("proc/net/dev", s_net_v1);
    s_write("proc/mounts",
            "/dev/sda1 / ext4 rw,relatime 0 0\n"
            "proc /proc proc rw 0 0\n"
            "sysfs /sys sysfs rw 0 0\n"
            "tmpfs /run tmpfs rw 0 0\n"
            "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
            "/dev/loop0 /snap/core/1 squashfs ro 0 0\n"
            "server:/export /net nfs4 rw 0 0\n"
            "/dev/sda2 /data ext4 rw 0 0\n"
            "/dev/sdb1 /mnt/my\\040disk vfat rw 0 0\n"
            "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
            "/dev/sdc1 /gone ext4 rw 0 0\n");
    s_mkdir("data");
    s_mkdir("mnt/my disk");
    s_mkdir("var/lib/docker/overlay2/x/merged");
    s_proc(1, "systemd", 12000);
    s_proc(42, "postgres", 250000);
    s_proc(7, "kworker/0:1", -1); /* kernel thread: no VmRSS */
    s_proc(99, "odd\001name", 500);
    s_mkdir("proc/self");
    s_mkdir("proc/sys");
    s_write("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
    s_write("sys/class/thermal/thermal_zone0/temp", "45500\n");
    s_write("sys/class/thermal/thermal_zone1/temp", "-5000\n");
    s_write("sys/class/thermal/thermal_zone2/type", "x86_pkg_temp\n");
    s_write("sys/class/thermal/thermal_zone2/temp", "30000\n");
    s_write("sys/class/thermal/thermal_zone3/temp", "garbage\n");
    s_write("sys/class/thermal/thermal_zone4/temp", "999000\n");
    s_mkdir("sys/class/thermal/cooling_device0");
}

static const json_t *
s_find(const json_t *samples, const char *name)
{
    size_t i;
    const json_t *s;
    json_array_foreach(samples, i, s) {
        if (strcmp(fl_json_str(s, "name"), name) == 0) {
            return s;
        }
    }
    return NULL;
}

static void
s_assert_valid(const json_t *sample)
{
    char *err = NULL;
    int rc = fl_beacon_check(sample, fl_time_s(), &err);
    char *text = fl_json_compact(sample);
    ck_assert_msg(rc == 0, "%s refused: %s", text, err);
    free(text);
    free(err);
}

static double
s_num(const json_t *obj, const char *key)
{
    const json_t *v = fl_json_lookup(obj, key);
    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

/*  A sample of NAME taken now; its data (borrowed from *SAMPLE_OUT). */
static const json_t *
s_sample(fl_beacons_t *b, const char *name, json_t **sample_out)
{
    char *err = NULL;
    json_t *sample = fl_beacons_sample(b, name, &err);
    ck_assert_msg(sample != NULL, "%s: %s", name, err);
    ck_assert_str_eq(fl_json_str(sample, "name"), name);
    s_assert_valid(sample);
    *sample_out = sample;
    return json_object_get(sample, "data");
}

START_TEST(test_beacons_usage)
{
    /* The minion's loop: sample what is due, send it, sleep until the next
       one.  Everything is due at the start; then each beacon after its
       interval (900 s; the process list 3600 s). */
    s_fake_device();
    char *err = NULL;
    fl_beacons_t *beacons = fl_beacons_new(s_root, NULL, &err);
    ck_assert_ptr_nonnull(beacons);
    ck_assert_ptr_null(err);

    ck_assert_int_eq(fl_beacons_next_ms(beacons, 0), 0);
    json_t *samples = fl_beacons_due(beacons, 0);
    ck_assert_int_eq(json_array_size(samples), 7);
    size_t i;
    const json_t *s;
    json_array_foreach(samples, i, s) {
        s_assert_valid(s);  /* what the master will accept */
        int64_t ts = json_integer_value(json_object_get(s, "ts"));
        ck_assert(ts > fl_time_s() - 5 && ts <= fl_time_s());
    }
    json_decref(samples);

    ck_assert_int_eq(fl_beacons_next_ms(beacons, 0), 900 * 1000);
    samples = fl_beacons_due(beacons, 1000);
    ck_assert_int_eq(json_array_size(samples), 0);
    json_decref(samples);

    samples = fl_beacons_due(beacons, 900 * 1000);
    ck_assert_int_eq(json_array_size(samples), 6);
    ck_assert_ptr_null(s_find(samples, "process_list"));
    ck_assert_ptr_nonnull(s_find(samples, "cpu"));
    json_decref(samples);
    ck_assert_int_eq(fl_beacons_next_ms(beacons, 900 * 1000), 900 * 1000);

    samples = fl_beacons_due(beacons, 3600 * 1000);
    ck_assert_int_eq(json_array_size(samples), 7);
    json_decref(samples);

    fl_beacons_destroy(&beacons);
    ck_assert_ptr_null(beacons);
    fl_beacons_destroy(&beacons);
}
END_TEST

START_TEST(test_beacons_cpu)
{
    s_fake_device();
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    json_t *sample;
    const json_t *data = s_sample(b, "cpu", &sample);
    ck_assert(s_num(data, "load1") == 0.52);
    ck_assert(s_num(data, "load5") == 1.25);
    ck_assert(s_num(data, "load15") == 2.0);
    ck_assert_ptr_null(json_object_get(data, "busy_percent")); /* first sample */
    ck_assert_int_eq(json_object_size(data), 3);
    json_decref(sample);

    s_write("proc/stat", s_stat_v2);
    data = s_sample(b, "cpu", &sample);
    ck_assert(s_num(data, "busy_percent") == 30.0);
    json_decref(sample);

    /* no time passed: no difference to take */
    data = s_sample(b, "cpu", &sample);
    ck_assert_ptr_null(json_object_get(data, "busy_percent"));
    json_decref(sample);

    /* counters that went back start a new difference, never a wild value */
    s_write("proc/stat", s_stat_v1);
    data = s_sample(b, "cpu", &sample);
    ck_assert_ptr_null(json_object_get(data, "busy_percent"));
    json_decref(sample);

    /* garbage load averages: the sample fails, naming the file */
    s_write("proc/loadavg", "high\n");
    char *err = NULL;
    ck_assert_ptr_null(fl_beacons_sample(b, "cpu", &err));
    ck_assert_ptr_nonnull(strstr(err, "loadavg"));
    free(err);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_memory)
{
    s_fake_device();
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    json_t *sample;
    const json_t *data = s_sample(b, "memory", &sample);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "total_mb")), 2000);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "available_mb")), 500);
    ck_assert(s_num(data, "used_percent") == 75.0);
    json_decref(sample);

    /* kernels before 3.14 have no MemAvailable: free + buffers + cached */
    s_write("proc/meminfo", "MemTotal: 1024000 kB\nMemFree: 256000 kB\nBuffers: 0 kB\n"
                            "Cached: 256000 kB\n");
    data = s_sample(b, "memory", &sample);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "available_mb")), 500);
    ck_assert(s_num(data, "used_percent") == 50.0);
    json_decref(sample);

    s_write("proc/meminfo", "Nothing: here\n");
    char *err = NULL;
    ck_assert_ptr_null(fl_beacons_sample(b, "memory", &err));
    ck_assert_ptr_nonnull(strstr(err, "meminfo"));
    free(err);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_disk)
{
    s_fake_device();
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    json_t *sample;
    const json_t *data = s_sample(b, "disk", &sample);
    /* real file systems (overlay included), measured under the root */
    static const char *const kept[] = { "/", "/data", "/mnt/my disk",
                                         "/var/lib/docker/overlay2/x/merged" };
    for (size_t i = 0; i < FL_ARRAY_LEN(kept); i++) {
        const json_t *m = json_object_get(data, kept[i]);
        ck_assert_msg(m != NULL, "mount %s missing", kept[i]);
        ck_assert(s_num(m, "total_mb") > 0);
        ck_assert(s_num(m, "used_mb") >= 0 && s_num(m, "used_mb") <= s_num(m, "total_mb"));
        ck_assert(s_num(m, "used_percent") >= 0 && s_num(m, "used_percent") <= 100);
    }
    /* pseudo, image and network file systems, and a mount point that is not
       there, are not */
    ck_assert_int_eq(json_object_size(data), FL_ARRAY_LEN(kept));

    struct statvfs sv;
    ck_assert_int_eq(statvfs(s_root, &sv), 0);
    long long total_mb = (long long) ((double) sv.f_blocks * (double) sv.f_frsize / 1048576.0);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_object_get(data, "/data"),
                                                       "total_mb")),
                     total_mb);
    json_decref(sample);

    /* the forced root has no mount table: an error, not the real one */
    char *mounts = fl_sprintf("%s/proc/mounts", s_root);
    ck_assert_int_eq(unlink(mounts), 0);
    free(mounts);
    char *err = NULL;
    ck_assert_ptr_null(fl_beacons_sample(b, "disk", &err));
    ck_assert_ptr_nonnull(strstr(err, s_root));
    free(err);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_network)
{
    s_fake_device();
    json_t *config = json_pack("{s:{s:i}}", "network", "interval", 10);
    fl_beacons_t *b = fl_beacons_new(s_root, config, NULL);
    json_decref(config);

    json_t *samples = fl_beacons_due(b, 5000);
    const json_t *data = json_object_get(s_find(samples, "network"), "data");
    ck_assert_ptr_nonnull(data);
    ck_assert_ptr_null(json_object_get(data, "lo"));
    ck_assert_int_eq(json_object_size(data), 2);
    const json_t *eth0 = json_object_get(data, "eth0");
    ck_assert_int_eq(json_integer_value(json_object_get(eth0, "rx_bytes")), 1000000);
    ck_assert_int_eq(json_integer_value(json_object_get(eth0, "tx_bytes")), 500000);
    ck_assert_ptr_null(json_object_get(eth0, "rx_rate")); /* first sample */
    json_decref(samples);

    s_write("proc/net/dev", s_net_v2);
    samples = fl_beacons_due(b, 15000);
    ck_assert_int_eq(json_array_size(samples), 1);
    s_assert_valid(json_array_get(samples, 0));
    data = json_object_get(s_find(samples, "network"), "data");
    eth0 = json_object_get(data, "eth0");
    ck_assert_int_eq(json_integer_value(json_object_get(eth0, "rx_bytes")), 1010000);
    ck_assert(s_num(eth0, "rx_rate") == 1000.0);
    ck_assert(s_num(eth0, "tx_rate") == 500.0);
    ck_assert(s_num(json_object_get(data, "wlan0"), "rx_rate") == 0.0);
    json_decref(samples);

    /* a counter that went back (driver reset): no rate this time */
    s_write("proc/net/dev", s_net_v1);
    samples = fl_beacons_due(b, 25000);
    eth0 = fl_json_lookup(json_object_get(s_find(samples, "network"), "data"), "eth0");
    ck_assert_ptr_null(json_object_get(eth0, "rx_rate"));
    json_decref(samples);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_processes)
{
    s_fake_device();
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    json_t *sample;
    const json_t *data = s_sample(b, "processes", &sample);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "count")), 4);
    ck_assert_int_eq(json_object_size(data), 1);
    json_decref(sample);

    data = s_sample(b, "process_list", &sample);
    const json_t *top = json_object_get(data, "top");
    /* largest first; the kernel thread has no resident memory of its own */
    ck_assert_int_eq(json_array_size(top), 3);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_array_get(top, 0), "pid")), 42);
    ck_assert_str_eq(fl_json_str(json_array_get(top, 0), "name"), "postgres");
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_array_get(top, 0), "rss_kb")),
                     250000);
    ck_assert_str_eq(fl_json_str(json_array_get(top, 1), "name"), "systemd");
    ck_assert_str_eq(fl_json_str(json_array_get(top, 2), "name"), "odd?name");
    json_decref(sample);

    /* 30 more: only the 20 largest go out, in order */
    for (int i = 0; i < 30; i++) {
        s_proc(1000 + i, "worker", 1000 + i);
    }
    data = s_sample(b, "process_list", &sample);
    top = json_object_get(data, "top");
    ck_assert_int_eq(json_array_size(top), FL_BEACONS_TOP);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_array_get(top, 0), "pid")), 42);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_array_get(top, 1), "pid")), 1);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_array_get(top, 2), "pid")), 1029);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(json_array_get(top, 19), "pid")), 1012);
    json_decref(sample);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_temperature)
{
    s_fake_device();
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    json_t *sample;
    const json_t *data = s_sample(b, "temperature", &sample);
    /* zone0 by its type, zone1 without one, zone2 of the same type as
       zone0; zone3 (unreadable) and zone4 (absurd) left out */
    ck_assert_int_eq(json_object_size(data), 3);
    ck_assert(s_num(data, "x86_pkg_temp") == 45.5);
    ck_assert(s_num(data, "zone1") == -5.0);
    ck_assert(json_number_value(json_object_get(data, "x86_pkg_temp-zone2")) == 30.0);
    json_decref(sample);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_temperature_absent)
{
    /* a device without thermal zones: no sample at all, and no error in the
       loop (ROOT/sys exists, so the real /sys is not looked at) */
    s_fake_device();
    char *thermal = fl_sprintf("%s/sys", s_root);
    ck_assert_int_eq(fl_rm_rf(thermal), 0);
    ck_assert_int_eq(mkdir(thermal, 0755), 0);
    free(thermal);
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    char *err = NULL;
    ck_assert_ptr_null(fl_beacons_sample(b, "temperature", &err));
    ck_assert_ptr_nonnull(strstr(err, "nothing to report"));
    free(err);
    json_t *samples = fl_beacons_due(b, 0);
    ck_assert_int_eq(json_array_size(samples), 6);
    ck_assert_ptr_null(s_find(samples, "temperature"));
    json_decref(samples);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_schedule)
{
    s_fake_device();
    json_t *config = json_pack("{s:{s:i}, s:{s:b}, s:n}", "cpu", "interval", 60, "process_list",
                               "enabled", 0, "memory");
    fl_beacons_t *b = fl_beacons_new(s_root, config, NULL);
    json_decref(config);
    ck_assert_ptr_nonnull(b);
    ck_assert(!fl_beacons_enabled(b, "process_list"));
    ck_assert(fl_beacons_enabled(b, "memory"));
    ck_assert_int_eq(fl_beacons_interval_s(b, "cpu"), 60);
    ck_assert_int_eq(fl_beacons_interval_s(b, "memory"), 900);
    ck_assert_int_eq(fl_beacons_interval_s(b, "process_list"), 3600);

    json_t *samples = fl_beacons_due(b, 1000);
    ck_assert_int_eq(json_array_size(samples), 6);
    ck_assert_ptr_null(s_find(samples, "process_list"));
    json_decref(samples);
    ck_assert_int_eq(fl_beacons_next_ms(b, 1000), 60000);
    ck_assert_int_eq(fl_beacons_next_ms(b, 30000), 31000);

    samples = fl_beacons_due(b, 60999);
    ck_assert_int_eq(json_array_size(samples), 0);
    json_decref(samples);
    ck_assert_int_eq(fl_beacons_next_ms(b, 60999), 1);
    /* a late loop keeps the phase: next at 121000, not 61500 + 60000 */
    samples = fl_beacons_due(b, 61500);
    ck_assert_int_eq(json_array_size(samples), 1);
    ck_assert_ptr_nonnull(s_find(samples, "cpu"));
    json_decref(samples);
    ck_assert_int_eq(fl_beacons_next_ms(b, 61500), 59500);

    /* after a long stall (suspend) one sample each, then a fresh phase */
    samples = fl_beacons_due(b, 10000000);
    ck_assert_int_eq(json_array_size(samples), 6);
    json_decref(samples);
    ck_assert_int_eq(fl_beacons_next_ms(b, 10000000), 60000);
    ck_assert_int_eq(fl_beacons_next_ms(b, 99999999), 0);

    /* fl_beacons_sample ignores the schedule and the enabled flag */
    json_t *sample = fl_beacons_sample(b, "process_list", NULL);
    ck_assert_ptr_nonnull(sample);
    json_decref(sample);
    ck_assert_int_eq(fl_beacons_next_ms(b, 10000000), 60000);
    fl_beacons_destroy(&b);

    /* all disabled: nothing due, ever */
    config = json_object();
    static const char *const names[] = { "cpu", "memory", "disk", "network", "processes",
                                         "process_list", "temperature" };
    for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
        json_object_set_new(config, names[i], json_pack("{s:b}", "enabled", 0));
    }
    b = fl_beacons_new(s_root, config, NULL);
    json_decref(config);
    ck_assert_int_eq(fl_beacons_next_ms(b, 0), -1);
    samples = fl_beacons_due(b, 0);
    ck_assert_int_eq(json_array_size(samples), 0);
    json_decref(samples);
    fl_beacons_destroy(&b);
}
END_TEST

typedef struct {
    const char *config;     /* JSON */
    const char *expect;     /* in the message */
} s_bad_config_t;

static const s_bad_config_t s_bad_configs[] = {
    { "[1, 2]", "beacons: must be a mapping" },
    { "\"cpu\"", "beacons: must be a mapping" },
    { "{\"gpu\": {}}", "beacons.gpu: unknown beacon" },
    { "{\"cpu\": 60}", "beacons.cpu: must be a mapping" },
    { "{\"cpu\": true}", "beacons.cpu: must be a mapping" },
    { "{\"cpu\": {\"interval\": \"60\"}}", "beacons.cpu.interval" },
    { "{\"cpu\": {\"interval\": 60.5}}", "beacons.cpu.interval" },
    { "{\"cpu\": {\"interval\": 0}}", "beacons.cpu.interval: must be a whole number of seconds "
                                      "in [1, 604800]" },
    { "{\"disk\": {\"interval\": -900}}", "beacons.disk.interval" },
    { "{\"disk\": {\"interval\": 1000000000}}", "beacons.disk.interval" },
    { "{\"memory\": {\"enabled\": \"yes\"}}", "beacons.memory.enabled: must be true or false" },
    { "{\"memory\": {\"enabled\": null}}", "beacons.memory.enabled" },
    { "{\"network\": {\"treshold\": 3}}", "beacons.network.treshold: unknown key" },
    { "{\"cpu\": {}, \"process_list\": {\"interval\": 0}}", "beacons.process_list.interval" },
};

START_TEST(test_beacons_config_errors)
{
    const s_bad_config_t *c = &s_bad_configs[_i];
    json_error_t jerr;
    json_t *config = json_loads(c->config, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(config != NULL, "%s: %s", c->config, jerr.text);
    char *err = NULL;
    fl_beacons_t *b = fl_beacons_new(s_root, config, &err);
    ck_assert_msg(b == NULL, "%s accepted", c->config);
    ck_assert_msg(err && strstr(err, c->expect), "%s: got '%s', want '%s'", c->config, err,
                  c->expect);
    free(err);
    /* ERR may be NULL */
    ck_assert_ptr_null(fl_beacons_new(s_root, config, NULL));
    json_decref(config);
}
END_TEST

START_TEST(test_beacons_config_ok)
{
    static const char *const good[] = {
        "null", "{}", "{\"cpu\": null}", "{\"cpu\": {}}",
        "{\"cpu\": {\"interval\": 10, \"enabled\": true}}",
        "{\"temperature\": {\"interval\": 604800}, \"disk\": {\"enabled\": false}}",
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(good); i++) {
        json_t *config = json_loads(good[i], JSON_DECODE_ANY, NULL);
        char *err = NULL;
        fl_beacons_t *b = fl_beacons_new(NULL, config, &err);
        ck_assert_msg(b != NULL, "%s refused: %s", good[i], err);
        fl_beacons_destroy(&b);
        json_decref(config);
    }
}
END_TEST

START_TEST(test_beacons_sample_unknown)
{
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    char *err = NULL;
    ck_assert_ptr_null(fl_beacons_sample(b, "gpu", &err));
    ck_assert_ptr_nonnull(strstr(err, "unknown beacon 'gpu'"));
    free(err);
    ck_assert_ptr_null(fl_beacons_sample(b, NULL, NULL));
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_root_forced)
{
    /* ROOT/proc exists: /proc files come from there only, never from the
       real /proc (a test must not see the machine it runs on) */
    s_mkdir("proc");
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    char *err = NULL;
    ck_assert_ptr_null(fl_beacons_sample(b, "cpu", &err));
    char *want = fl_sprintf("%s/proc/loadavg", s_root);
    ck_assert_ptr_nonnull(strstr(err, want));
    free(want);
    free(err);
    json_t *sample = fl_beacons_sample(b, "processes", NULL);
    ck_assert_int_eq(json_integer_value(fl_json_lookup(sample, "data:count")), 0);
    json_decref(sample);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_root_fallback)
{
    /* a root without proc/: /proc files come from the real /proc, as the
       grains do */
    s_write("etc/hostname", "kiosk\n");
    fl_beacons_t *b = fl_beacons_new(s_root, NULL, NULL);
    json_t *sample = fl_beacons_sample(b, "memory", NULL);
    ck_assert_ptr_nonnull(sample);
    s_assert_valid(sample);
    json_decref(sample);
    fl_beacons_destroy(&b);

    char *trailing = fl_sprintf("%s/", s_root);
    b = fl_beacons_new(trailing, NULL, NULL);
    free(trailing);
    sample = fl_beacons_sample(b, "processes", NULL);
    ck_assert(json_integer_value(fl_json_lookup(sample, "data:count")) > 0);
    json_decref(sample);
    fl_beacons_destroy(&b);
}
END_TEST

START_TEST(test_beacons_real_device)
{
    /* the machine the tests run on: whatever it reports, the master takes */
    fl_beacons_t *b = fl_beacons_new(NULL, NULL, NULL);
    static const char *const names[] = { "cpu", "memory", "disk", "network", "processes",
                                         "process_list", "temperature" };
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
            ck_assert(fl_beacon_known(names[i]));
            char *err = NULL;
            json_t *sample = fl_beacons_sample(b, names[i], &err);
            if (strcmp(names[i], "temperature") != 0) {
                ck_assert_msg(sample != NULL, "%s: %s", names[i], err);
            }
            if (sample) {
                s_assert_valid(sample);
            }
            json_decref(sample);
            free(err);
        }
    }
    json_t *samples = fl_beacons_due(b, fl_clock_ms());
    ck_assert(json_array_size(samples) >= 6);
    json_decref(samples);
    fl_beacons_destroy(&b);
}
END_TEST

/*  fl_beacon_check: samples as text, with "TS" standing for now. */
#define S_NOW 1700000000

typedef struct {
    const char *sample;
    const char *expect;     /* NULL: accepted; else in the message */
} s_check_case_t;

static const s_check_case_t s_check_cases[] = {
    /* accepted */
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":0.5,\"load5\":1,\"load15\":0}}", NULL },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":0.5,\"load5\":1,\"load15\":0,"
      "\"busy_percent\":100.4}}", NULL },
    { "{\"name\":\"memory\",\"ts\":TS,\"data\":{\"total_mb\":2000,\"available_mb\":500,"
      "\"used_percent\":75.0}}", NULL },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{}}", NULL },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{\"/\":{\"total_mb\":10,\"used_mb\":5,"
      "\"used_percent\":50},\"/my disk\":{\"total_mb\":0,\"used_mb\":0,\"used_percent\":0}}}",
      NULL },
    { "{\"name\":\"network\",\"ts\":TS,\"data\":{\"eth0\":{\"rx_bytes\":1,\"tx_bytes\":2,"
      "\"rx_rate\":0.5,\"tx_rate\":0}}}", NULL },
    { "{\"name\":\"processes\",\"ts\":TS,\"data\":{\"count\":312}}", NULL },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1,\"name\":\"init\","
      "\"rss_kb\":1000}]}}", NULL },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[]}}", NULL },
    { "{\"name\":\"temperature\",\"ts\":TS,\"data\":{\"acpitz\":-20.5,\"cpu\":99}}", NULL },
    { "{\"name\":\"cpu\",\"ts\":TS+300,\"data\":{\"load1\":0,\"load5\":0,\"load15\":0}}", NULL },
    { "{\"name\":\"cpu\",\"ts\":TS-2592000,\"data\":{\"load1\":0,\"load5\":0,\"load15\":0}}",
      NULL },

    /* the envelope */
    { "[]", "beacon sample must be an object" },
    { "\"cpu\"", "beacon sample must be an object" },
    { "{\"ts\":TS,\"data\":{}}", "name must be a string" },
    { "{\"name\":7,\"ts\":TS,\"data\":{}}", "name must be a string" },
    { "{\"name\":\"gpu\",\"ts\":TS,\"data\":{}}", "name 'gpu' is not a known beacon" },
    { "{\"name\":\"cpu\\u0001\",\"ts\":TS,\"data\":{}}", "name is not a known beacon" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{},\"extra\":1}", "unknown key 'extra'" },
    { "{\"name\":\"cpu\",\"data\":{}}", "cpu: ts must be an integer" },
    { "{\"name\":\"cpu\",\"ts\":\"TS\",\"data\":{}}", "cpu: ts must be an integer" },
    { "{\"name\":\"cpu\",\"ts\":1.5,\"data\":{}}", "cpu: ts must be an integer" },
    { "{\"name\":\"cpu\",\"ts\":TS+301,\"data\":{}}", "ahead of the master's clock" },
    { "{\"name\":\"cpu\",\"ts\":9223372036854775807,\"data\":{}}", "ahead of the master's clock" },
    { "{\"name\":\"cpu\",\"ts\":TS-2592001,\"data\":{}}", "older than 30 days" },
    { "{\"name\":\"cpu\",\"ts\":-9223372036854775807,\"data\":{}}", "older than 30 days" },
    { "{\"name\":\"cpu\",\"ts\":TS}", "cpu: data must be an object" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":[1,2,3]}", "cpu: data must be an object" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":\"busy\"}", "cpu: data must be an object" },

    /* the data */
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":\"NaN\",\"load5\":0,\"load15\":0}}",
      "cpu: data.load1 must be a number" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":true,\"load5\":0,\"load15\":0}}",
      "data.load1 must be a number" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":null,\"load5\":0,\"load15\":0}}",
      "data.load1 must be a number" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":-1,\"load5\":0,\"load15\":0}}",
      "data.load1 = -1 is out of range [0, 10000]" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":1e6,\"load5\":0,\"load15\":0}}",
      "data.load1 = 1e+06 is out of range" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load5\":0,\"load15\":0}}", "data.load1 is missing" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":0,\"load5\":0,\"load15\":0,"
      "\"busy_percent\":500}}", "data.busy_percent = 500 is out of range [0, 100.5]" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":0,\"load5\":0,\"load15\":0,"
      "\"busy_percent\":100.6}}", "data.busy_percent" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":0,\"load5\":0,\"load15\":0,"
      "\"steal\":1}}", "data.steal is not a cpu field" },
    { "{\"name\":\"cpu\",\"ts\":TS,\"data\":{\"load1\":[0],\"load5\":0,\"load15\":0}}",
      "data.load1 must be a number" },
    { "{\"name\":\"memory\",\"ts\":TS,\"data\":{\"total_mb\":-1,\"available_mb\":0,"
      "\"used_percent\":0}}", "memory: data.total_mb = -1 is out of range" },
    { "{\"name\":\"memory\",\"ts\":TS,\"data\":{\"total_mb\":1125899906842624,"
      "\"available_mb\":0,\"used_percent\":0}}", "data.total_mb" },
    { "{\"name\":\"memory\",\"ts\":TS,\"data\":{\"total_mb\":1,\"available_mb\":0,"
      "\"used_percent\":500}}", "data.used_percent = 500 is out of range [0, 100]" },
    { "{\"name\":\"memory\",\"ts\":TS,\"data\":{\"total_mb\":1,\"available_mb\":0,"
      "\"used_percent\":100.1}}", "data.used_percent" },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{\"/\":5}}", "disk: data[\"/\"] must be an object" },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{\"/\":{\"total_mb\":10,\"used_mb\":-5,"
      "\"used_percent\":50}}}", "data[\"/\"].used_mb = -5 is out of range" },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{\"/\":{\"total_mb\":10,\"used_mb\":5}}}",
      "data[\"/\"].used_percent is missing" },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{\"\":{\"total_mb\":1,\"used_mb\":0,"
      "\"used_percent\":0}}}", "data has a key that is empty" },
    { "{\"name\":\"disk\",\"ts\":TS,\"data\":{\"/a\\nb\":{\"total_mb\":1,\"used_mb\":0,"
      "\"used_percent\":0}}}", "control characters" },
    { "{\"name\":\"network\",\"ts\":TS,\"data\":{\"eth0\":{\"rx_bytes\":1}}}",
      "data[\"eth0\"].tx_bytes is missing" },
    { "{\"name\":\"network\",\"ts\":TS,\"data\":{\"eth0\":{\"rx_bytes\":1,\"tx_bytes\":2,"
      "\"rx_rate\":\"fast\"}}}", "data[\"eth0\"].rx_rate must be a number" },
    { "{\"name\":\"processes\",\"ts\":TS,\"data\":{\"count\":-3}}", "data.count = -3" },
    { "{\"name\":\"processes\",\"ts\":TS,\"data\":{}}", "data.count is missing" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{}}", "data.top must be an array" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":{}}}", "data.top must be an array" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[],\"all\":[]}}",
      "data.all is not a process_list field" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[7]}}",
      "data.top[0] must be an object" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1.5,\"name\":\"a\","
      "\"rss_kb\":1}]}}", "data.top[0].pid must be an integer" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":0,\"name\":\"a\","
      "\"rss_kb\":1}]}}", "data.top[0].pid = 0 is out of range" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1,\"name\":\"\","
      "\"rss_kb\":1}]}}", "data.top[0].name must be a string" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1,\"name\":3,"
      "\"rss_kb\":1}]}}", "data.top[0].name must be a string" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1,\"name\":\"a\\u0000b\","
      "\"rss_kb\":1}]}}", "data.top[0].name must be a string" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1,\"name\":"
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
      "\"rss_kb\":1}]}}", "data.top[0].name must be a string" },
    { "{\"name\":\"process_list\",\"ts\":TS,\"data\":{\"top\":[{\"pid\":1,\"name\":\"a\","
      "\"rss_kb\":1},{\"pid\":2,\"name\":\"b\",\"rss_kb\":-1}]}}", "data.top[1].rss_kb = -1" },
    { "{\"name\":\"temperature\",\"ts\":TS,\"data\":{\"cpu\":9999}}",
      "temperature: data[\"cpu\"] = 9999 is out of range [-100, 200]" },
    { "{\"name\":\"temperature\",\"ts\":TS,\"data\":{\"cpu\":-273}}", "data[\"cpu\"] = -273" },
    { "{\"name\":\"temperature\",\"ts\":TS,\"data\":{\"cpu\":\"hot\"}}",
      "data[\"cpu\"] must be a number" },
    { "{\"name\":\"temperature\",\"ts\":TS,\"data\":{\"cpu\":{\"c\":1}}}",
      "data[\"cpu\"] must be a number" },
};

/*  The case's text with TS, TS+N and TS-N replaced by numbers. */
static char *
s_expand(const char *text)
{
    char *out = fl_strdup(text);
    char *p;
    while ((p = strstr(out, "TS")) != NULL) {
        char *end = p + 2;
        long long ts = S_NOW;
        if (*end == '+' || *end == '-') {
            ts += strtoll(end, &end, 10);
        }
        *p = '\0';
        char *next = fl_sprintf("%s%lld%s", out, ts, end);
        free(out);
        out = next;
    }
    return out;
}

START_TEST(test_beacon_check_table)
{
    const s_check_case_t *c = &s_check_cases[_i];
    char *text = s_expand(c->sample);
    json_error_t jerr;
    json_t *sample = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(sample != NULL, "%s: %s", text, jerr.text);
    char *err = NULL;
    int rc = fl_beacon_check(sample, S_NOW, &err);
    if (!c->expect) {
        ck_assert_msg(rc == 0, "%s refused: %s", text, err);
        ck_assert_ptr_null(err);
    } else {
        ck_assert_msg(rc == -1, "%s accepted", text);
        ck_assert_msg(err && strstr(err, c->expect), "%s: got '%s', want '%s'", text, err,
                      c->expect);
        /* ERR may be NULL */
        ck_assert_int_eq(fl_beacon_check(sample, S_NOW, NULL), -1);
    }
    free(err);
    json_decref(sample);
    free(text);
}
END_TEST

START_TEST(test_beacon_check_bounds)
{
    /* jansson holds no NaN or infinity: the sampler cannot send one and the
       master cannot receive one (the walker refuses them anyway) */
    ck_assert_ptr_null(json_real(NAN));
    ck_assert_ptr_null(json_real(INFINITY));
    ck_assert_ptr_null(json_loads("{\"x\": NaN}", 0, NULL));

    /* too many entries, too many processes */
    json_t *data = json_object();
    for (int i = 0; i <= FL_BEACON_MAX_ENTRIES; i++) {
        char name[16];
        snprintf(name, sizeof name, "z%d", i);
        json_object_set_new(data, name, json_real(20.0));
    }
    json_t *sample = json_pack("{s:s, s:I, s:o}", "name", "temperature", "ts",
                               (json_int_t) S_NOW, "data", data);
    char *err = NULL;
    ck_assert_int_eq(fl_beacon_check(sample, S_NOW, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "entries"));
    free(err);
    json_decref(sample);

    json_t *top = json_array();
    for (int i = 0; i <= FL_BEACON_MAX_TOP; i++) {
        json_array_append_new(top, json_pack("{s:i, s:s, s:i}", "pid", i + 1, "name", "x",
                                             "rss_kb", 1));
    }
    sample = json_pack("{s:s, s:I, s:{s:o}}", "name", "process_list", "ts", (json_int_t) S_NOW,
                       "data", "top", top);
    err = NULL;
    ck_assert_int_eq(fl_beacon_check(sample, S_NOW, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "data.top has 101 entries"));
    free(err);
    json_decref(sample);

    ck_assert(!fl_beacon_known("gpu"));
    ck_assert(!fl_beacon_known(NULL));
    ck_assert(fl_beacon_known("process_list"));
}
END_TEST

Suite *
suite_beacons(void)
{
    Suite *s = suite_create("beacons");
    TCase *tc = tcase_create("beacons");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_beacons_usage);
    tcase_add_test(tc, test_beacons_cpu);
    tcase_add_test(tc, test_beacons_memory);
    tcase_add_test(tc, test_beacons_disk);
    tcase_add_test(tc, test_beacons_network);
    tcase_add_test(tc, test_beacons_processes);
    tcase_add_test(tc, test_beacons_temperature);
    tcase_add_test(tc, test_beacons_temperature_absent);
    tcase_add_test(tc, test_beacons_schedule);
    tcase_add_loop_test(tc, test_beacons_config_errors, 0, (int) FL_ARRAY_LEN(s_bad_configs));
    tcase_add_test(tc, test_beacons_config_ok);
    tcase_add_test(tc, test_beacons_sample_unknown);
    tcase_add_test(tc, test_beacons_root_forced);
    tcase_add_test(tc, test_beacons_root_fallback);
    tcase_add_test(tc, test_beacons_real_device);
    tcase_add_loop_test(tc, test_beacon_check_table, 0, (int) FL_ARRAY_LEN(s_check_cases));
    tcase_add_test(tc, test_beacon_check_bounds);
    suite_add_tcase(s, tc);
    return s;
}
