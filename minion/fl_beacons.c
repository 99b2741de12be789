/*  fl_beacons.c: the minion's health beacons.  One table names each beacon,
    its default interval and its sampler; the schedule is one deadline per
    beacon, checked in fl_beacons_due (seven beacons: a scan is cheaper
    than a heap).  Samplers read small text files from /proc and /sys (under
    root_dir for tests), never block on the network (network filesystems
    are not measured: statvfs on a dead NFS server would hang the minion's
    loop) and never produce a value fl_beacon_check would refuse: odd
    readings are left out rather than sent. */
#include "fl_beacons.h"
#include "fl_log.h"
#include "fl_util.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/*  /proc/net/dev with many veths, a mount table with many containers. */
#define S_MAX_FILE (1024 * 1024)
/*  At most this many mounts and interfaces in one sample. */
#define S_MAX_ENTRIES 256
/*  Sizes stay below what the master accepts (2^50). */
#define S_MAX_SIZE ((uint64_t) 1 << 50)
#define S_MIB (1024.0 * 1024.0)

typedef json_t *(s_sample_fn)(fl_beacons_t *self, int64_t now_ms, char **err);

static s_sample_fn s_cpu, s_memory, s_disk, s_network, s_processes, s_process_list,
    s_temperature;

typedef struct {
    const char *name;
    int64_t interval_s;     /* default */
    s_sample_fn *sample;
} s_spec_t;

static const s_spec_t s_specs[] = {
    { "cpu", FL_BEACONS_INTERVAL_S, s_cpu },
    { "memory", FL_BEACONS_INTERVAL_S, s_memory },
    { "disk", FL_BEACONS_INTERVAL_S, s_disk },
    { "network", FL_BEACONS_INTERVAL_S, s_network },
    { "processes", FL_BEACONS_INTERVAL_S, s_processes },
    { "process_list", FL_BEACONS_PROCESS_LIST_INTERVAL_S, s_process_list },
    { "temperature", FL_BEACONS_INTERVAL_S, s_temperature },
};

#define S_BEACONS FL_ARRAY_LEN(s_specs)

typedef struct {
    bool enabled;
    int64_t interval_ms;
    bool scheduled;         /* false until the first sample: due at once */
    int64_t next_ms;        /* when due, once scheduled */
    bool failing;           /* the last sample failed (warn once, then debug) */
} s_slot_t;

struct fl_beacons {
    char *root_dir;         /* NULL = /; no trailing slash */
    bool proc_forced;       /* ROOT/proc is a directory: /proc only from there */
    bool sys_forced;        /* same for ROOT/sys */
    s_slot_t slots[S_BEACONS];
    /* the previous cpu sample, for busy_percent */
    bool cpu_have_prev;
    uint64_t cpu_prev_total, cpu_prev_idle;
    /* the previous network sample, for the rates: {iface: [rx, tx]} */
    json_t *net_prev;
    int64_t net_prev_ms;
};

static int
s_fail(char **err, const char *fmt, ...) FL_PRINTF(2, 3);

static int
s_fail(char **err, const char *fmt, ...)
{
    if (err && !*err) {
        va_list ap;
        va_start(ap, fmt);
        *err = fl_vsprintf(fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int
s_find(const char *name)
{
    for (size_t i = 0; name && i < S_BEACONS; i++) {
        if (strcmp(s_specs[i].name, name) == 0) {
            return (int) i;
        }
    }
    return -1;
}

/*  --------------------------------------------------------------------
    Paths */

static bool
s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool
s_under(const char *path, const char *top)
{
    size_t n = strlen(top);
    return strncmp(path, top, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*  Where to read PATH (absolute): see the header.  Caller frees. */
static char *
s_path(const fl_beacons_t *self, const char *path)
{
    if (!self->root_dir) {
        return fl_strdup(path);
    }
    char *rooted = fl_sprintf("%s%s", self->root_dir, path);
    bool forced = (self->proc_forced && s_under(path, "/proc"))
                  || (self->sys_forced && s_under(path, "/sys"));
    if (forced || access(rooted, F_OK) == 0) {
        return rooted;
    }
    free(rooted);
    return fl_strdup(path);
}

static char *
s_read(const fl_beacons_t *self, const char *path, char **err)
{
    char *full = s_path(self, path);
    char *text = fl_file_read(full, S_MAX_FILE, NULL);
    if (!text) {
        s_fail(err, "%s: %s", full, strerror(errno));
    }
    free(full);
    return text;
}

/*  --------------------------------------------------------------------
    Small parsers */

/*  x rounded to one decimal, without libm. */
static double
s_round1(double x)
{
    double scaled = x * 10.0 + (x >= 0.0 ? 0.5 : -0.5);
    if (!(scaled > -9e15 && scaled < 9e15)) {
        return x;
    }
    return (double) (int64_t) scaled / 10.0;
}

static double
s_percent(double part, double whole)
{
    if (!(whole > 0.0)) {
        return 0.0;
    }
    double p = s_round1(part / whole * 100.0);
    return p < 0.0 ? 0.0 : p > 100.0 ? 100.0 : p;
}

/*  An unsigned decimal at *P (after blanks); advances *P.  false when there
    is none. */
static bool
s_scan_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (!isdigit((unsigned char) *s)) {
        return false;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE) {
        return false;
    }
    *out = v;
    *p = end;
    return true;
}

/*  The value of "KEY:  VALUE kB" at the start of a line of TEXT. */
static bool
s_field_u64(const char *text, const char *key, uint64_t *out)
{
    size_t n = strlen(key);
    const char *line = text;
    while (line) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            const char *p = line + n + 1;
            return s_scan_u64(&p, out);
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return false;
}

/*  Text fit for a key or a name: control bytes become '?'; then, if it is
    not valid UTF-8 (jansson refuses it), every non-ASCII byte too. */
static json_t *
s_clean_string(char *s)
{
    for (char *p = s; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    json_t *v = json_string(s);
    if (!v) {
        for (char *p = s; *p; p++) {
            if ((unsigned char) *p >= 0x80) {
                *p = '?';
            }
        }
        v = json_string(s);
    }
    return v;
}

static bool
s_all_digits(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (!isdigit((unsigned char) *s)) {
            return false;
        }
    }
    return true;
}

/*  --------------------------------------------------------------------
    cpu: {load1, load5, load15, busy_percent?} */

static bool
s_parse_load(const char **p, double *out)
{
    char *end;
    double v = strtod(*p, &end);
    if (end == *p || !(v >= 0.0 && v <= 10000.0)) {
        return false;
    }
    *out = v;
    *p = end;
    return true;
}

/*  The "cpu " line of /proc/stat: total and idle jiffies.  guest and
    guest_nice are already counted in user and nice, so they are left out;
    iowait counts as idle. */
static bool
s_parse_cpu_line(const char *text, uint64_t *total, uint64_t *idle)
{
    if (strncmp(text, "cpu ", 4) != 0) {
        return false;
    }
    const char *p = text + 4;
    uint64_t v[8] = { 0 };
    size_t n = 0;
    while (n < FL_ARRAY_LEN(v) && s_scan_u64(&p, &v[n])) {
        n++;
    }
    if (n < 4) {
        return false;
    }
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        *total += v[i];
    }
    *idle = v[3] + v[4];
    return true;
}

static json_t *
s_cpu(fl_beacons_t *self, int64_t now_ms, char **err)
{
    FL_UNUSED(now_ms);
    char *text = s_read(self, "/proc/loadavg", err);
    if (!text) {
        return NULL;
    }
    const char *p = text;
    double load[3];
    bool ok = s_parse_load(&p, &load[0]) && s_parse_load(&p, &load[1])
              && s_parse_load(&p, &load[2]);
    free(text);
    if (!ok) {
        s_fail(err, "/proc/loadavg: cannot parse the load averages");
        return NULL;
    }
    json_t *data = json_pack("{s:f, s:f, s:f}", "load1", load[0], "load5", load[1], "load15",
                             load[2]);

    /* busy_percent needs /proc/stat; without it the loads still go out */
    char *stat_err = NULL;
    text = s_read(self, "/proc/stat", &stat_err);
    uint64_t total, idle;
    if (text && s_parse_cpu_line(text, &total, &idle)) {
        /* counters only grow; if they went back (a fake root replaced, a
           wrapped counter) this sample only starts a new difference */
        if (self->cpu_have_prev && total > self->cpu_prev_total && idle >= self->cpu_prev_idle) {
            uint64_t d_total = total - self->cpu_prev_total;
            uint64_t d_idle = idle - self->cpu_prev_idle;
            /* iowait may step back on some kernels: d_idle > d_total then */
            double busy = d_idle >= d_total ? 0.0 : (double) (d_total - d_idle);
            json_object_set_new(data, "busy_percent",
                                json_real(s_percent(busy, (double) d_total)));
        }
        self->cpu_have_prev = true;
        self->cpu_prev_total = total;
        self->cpu_prev_idle = idle;
    } else {
        fl_log_debug("beacon cpu: %s", stat_err ? stat_err : "/proc/stat: no cpu line");
    }
    free(stat_err);
    free(text);
    return data;
}

/*  --------------------------------------------------------------------
    memory: {total_mb, available_mb, used_percent} */

static json_t *
s_memory(fl_beacons_t *self, int64_t now_ms, char **err)
{
    FL_UNUSED(now_ms);
    char *text = s_read(self, "/proc/meminfo", err);
    if (!text) {
        return NULL;
    }
    uint64_t total_kb = 0, avail_kb = 0;
    bool ok = s_field_u64(text, "MemTotal", &total_kb) && total_kb > 0;
    if (ok && !s_field_u64(text, "MemAvailable", &avail_kb)) {
        /* kernels before 3.14: the classic estimate */
        uint64_t free_kb = 0, buffers_kb = 0, cached_kb = 0;
        ok = s_field_u64(text, "MemFree", &free_kb);
        s_field_u64(text, "Buffers", &buffers_kb);
        s_field_u64(text, "Cached", &cached_kb);
        avail_kb = free_kb + buffers_kb + cached_kb;
    }
    free(text);
    if (!ok || total_kb / 1024 >= S_MAX_SIZE) {
        s_fail(err, "/proc/meminfo: no usable MemTotal/MemAvailable");
        return NULL;
    }
    if (avail_kb > total_kb) {
        avail_kb = total_kb;
    }
    return json_pack("{s:I, s:I, s:f}", "total_mb", (json_int_t) (total_kb / 1024),
                     "available_mb", (json_int_t) (avail_kb / 1024), "used_percent",
                     s_percent((double) (total_kb - avail_kb), (double) total_kb));
}

/*  --------------------------------------------------------------------
    disk: {MOUNT: {total_mb, used_mb, used_percent}} */

/*  File systems with nothing to measure (kernel views, memory, read-only
    images that are always full) or that may block (network). */
static const char *const s_skip_fs[] = {
    "9p", "afs", "autofs", "binfmt_misc", "bpf", "ceph", "cgroup", "cgroup2", "cifs",
    "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs", "erofs", "fuse.gvfsd-fuse",
    "fuse.lxcfs", "fuse.portal", "fuse.sshfs", "fusectl", "glusterfs", "hugetlbfs", "iso9660",
    "mqueue", "ncpfs", "nfs", "nfs4", "nfsd", "nsfs", "proc", "pstore", "ramfs", "rpc_pipefs",
    "securityfs", "selinuxfs", "smb3", "smbfs", "squashfs", "sysfs", "tmpfs", "tracefs",
};

static bool
s_skip_fstype(const char *type)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_skip_fs); i++) {
        if (strcmp(s_skip_fs[i], type) == 0) {
            return true;
        }
    }
    return false;
}

/*  Undoes the mount table's octal escapes (\040 for a space) in place. */
static void
s_unescape_mount(char *s)
{
    char *out = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7'
            && p[3] >= '0' && p[3] <= '7') {
            *out++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

static bool
s_printable(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > FL_BEACON_MAX_KEY) {
        return false;
    }
    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

static json_t *
s_disk_usage(const char *path)
{
    struct statvfs sv;
    if (statvfs(path, &sv) != 0) {
        fl_log_debug("beacon disk: statvfs %s: %s", path, strerror(errno));
        return NULL;
    }
    double unit = (double) (sv.f_frsize ? sv.f_frsize : sv.f_bsize);
    if (sv.f_blocks == 0 || sv.f_bfree > sv.f_blocks) {
        return NULL;
    }
    double total = (double) sv.f_blocks * unit;
    double used = (double) (sv.f_blocks - sv.f_bfree) * unit;
    double avail = (double) sv.f_bavail * unit;
    if (!(total / S_MIB < (double) S_MAX_SIZE)) {
        return NULL;
    }
    /* as df: the share of what non-root users may use */
    return json_pack("{s:I, s:I, s:f}", "total_mb", (json_int_t) (total / S_MIB), "used_mb",
                     (json_int_t) (used / S_MIB), "used_percent", s_percent(used, used + avail));
}

static json_t *
s_disk(fl_beacons_t *self, int64_t now_ms, char **err)
{
    FL_UNUSED(now_ms);
    /* mount points are measured where the table says they are: under ROOT
       only when the table is ROOT's */
    const char *prefix = "";
    char *table_path = NULL;
    if (self->root_dir) {
        table_path = fl_sprintf("%s/proc/mounts", self->root_dir);
        if (self->proc_forced || access(table_path, F_OK) == 0) {
            prefix = self->root_dir;
        } else {
            free(table_path);
            table_path = NULL;
        }
    }
    if (!table_path) {
        table_path = fl_strdup("/proc/self/mounts");
    }
    char *text = fl_file_read(table_path, S_MAX_FILE, NULL);
    if (!text) {
        s_fail(err, "%s: %s", table_path, strerror(errno));
        free(table_path);
        return NULL;
    }
    free(table_path);

    json_t *data = json_object();
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *fsave = NULL;
        const char *device = strtok_r(line, " \t", &fsave);
        char *mount = device ? strtok_r(NULL, " \t", &fsave) : NULL;
        const char *type = mount ? strtok_r(NULL, " \t", &fsave) : NULL;
        if (!type || s_skip_fstype(type)) {
            continue;
        }
        s_unescape_mount(mount);
        if (mount[0] != '/' || !s_printable(mount)) {
            continue;
        }
        if (json_object_size(data) >= S_MAX_ENTRIES && !json_object_get(data, mount)) {
            fl_log_debug("beacon disk: more than %d mounts; %s left out", S_MAX_ENTRIES, mount);
            continue;
        }
        char *path = fl_sprintf("%s%s", prefix, mount);
        json_t *usage = s_disk_usage(path);
        free(path);
        if (usage) {
            /* a later line mounted over an earlier one: the later is seen.
               On invalid UTF-8 jansson refuses the key and frees usage. */
            json_object_set_new(data, mount, usage);
        }
    }
    free(text);
    return data;
}

/*  --------------------------------------------------------------------
    network: {IFACE: {rx_bytes, tx_bytes, rx_rate?, tx_rate?}} */

static json_t *
s_network(fl_beacons_t *self, int64_t now_ms, char **err)
{
    char *text = s_read(self, "/proc/net/dev", err);
    if (!text) {
        return NULL;
    }
    json_t *data = json_object();
    json_t *counters = json_object();
    int64_t dt_ms = self->net_prev ? now_ms - self->net_prev_ms : 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* "  eth0: RX bytes packets errs drop fifo frame compressed
           multicast TX bytes ..."; the two header lines have no colon */
        char *colon = strchr(line, ':');
        if (!colon) {
            continue;
        }
        *colon = '\0';
        char *name = line + strspn(line, " \t");
        const char *p = colon + 1;
        uint64_t v[9] = { 0 };
        size_t n = 0;
        while (n < FL_ARRAY_LEN(v) && s_scan_u64(&p, &v[n])) {
            n++;
        }
        uint64_t rx = v[0], tx = v[8];
        if (n < FL_ARRAY_LEN(v) || strcmp(name, "lo") == 0 || !s_printable(name)
            || rx >= S_MAX_SIZE || tx >= S_MAX_SIZE) {
            continue;
        }
        if (json_object_size(data) >= S_MAX_ENTRIES) {
            fl_log_debug("beacon network: more than %d interfaces; %s left out", S_MAX_ENTRIES,
                         name);
            continue;
        }
        json_t *entry = json_pack("{s:I, s:I}", "rx_bytes", (json_int_t) rx, "tx_bytes",
                                  (json_int_t) tx);
        const json_t *prev = self->net_prev ? json_object_get(self->net_prev, name) : NULL;
        if (prev && dt_ms > 0) {
            uint64_t prx = (uint64_t) json_integer_value(json_array_get(prev, 0));
            uint64_t ptx = (uint64_t) json_integer_value(json_array_get(prev, 1));
            /* a counter that went back (driver reset) starts over */
            if (rx >= prx && tx >= ptx) {
                double s = (double) dt_ms / 1000.0;
                json_object_set_new(entry, "rx_rate", json_real(s_round1((double) (rx - prx) / s)));
                json_object_set_new(entry, "tx_rate", json_real(s_round1((double) (tx - ptx) / s)));
            }
        }
        if (json_object_set_new(data, name, entry) == 0) {
            json_object_set_new(counters, name,
                                json_pack("[I, I]", (json_int_t) rx, (json_int_t) tx));
        }
    }
    free(text);
    json_decref(self->net_prev);
    self->net_prev = counters;
    self->net_prev_ms = now_ms;
    return data;
}

/*  --------------------------------------------------------------------
    processes: {count}; process_list: {top: [{pid, name, rss_kb}]} */

static DIR *
s_open_proc(const fl_beacons_t *self, char **err, char **dir_out)
{
    char *dir = s_path(self, "/proc");
    DIR *d = opendir(dir);
    if (!d) {
        s_fail(err, "%s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    *dir_out = dir;
    return d;
}

static json_t *
s_processes(fl_beacons_t *self, int64_t now_ms, char **err)
{
    FL_UNUSED(now_ms);
    char *dir = NULL;
    DIR *d = s_open_proc(self, err, &dir);
    if (!d) {
        return NULL;
    }
    json_int_t count = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if ((e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) && s_all_digits(e->d_name)) {
            count++;
        }
    }
    closedir(d);
    free(dir);
    return json_pack("{s:I}", "count", count);
}

typedef struct {
    long pid;
    uint64_t rss_kb;
    char name[FL_BEACON_MAX_PROC_NAME + 1];
} s_proc_t;

/*  Largest first; equal sizes by pid, so the order is stable. */
static bool
s_proc_before(const s_proc_t *a, const s_proc_t *b)
{
    return a->rss_kb > b->rss_kb || (a->rss_kb == b->rss_kb && a->pid < b->pid);
}

/*  Reads DIR/PID/status; false for a kernel thread (no VmRSS) or a process
    that exited meanwhile. */
static bool
s_read_proc(const char *dir, const char *pid, s_proc_t *out)
{
    char *path = fl_sprintf("%s/%s/status", dir, pid);
    char *text = fl_file_read(path, 64 * 1024, NULL);
    free(path);
    if (!text) {
        return false;
    }
    bool ok = s_field_u64(text, "VmRSS", &out->rss_kb) && out->rss_kb < S_MAX_SIZE;
    const char *name = strstr(text, "Name:");
    if (ok && name && (name == text || name[-1] == '\n')) {
        name += strlen("Name:");
        name += strspn(name, " \t");
        size_t n = strcspn(name, "\n");
        if (n > FL_BEACON_MAX_PROC_NAME) {
            n = FL_BEACON_MAX_PROC_NAME;
        }
        memcpy(out->name, name, n);
        out->name[n] = '\0';
    } else {
        ok = false;
    }
    free(text);
    if (!out->name[0]) {
        snprintf(out->name, sizeof out->name, "?");
    }
    out->pid = strtol(pid, NULL, 10);
    return ok && out->pid > 0 && out->pid <= 2147483647L;
}

static json_t *
s_process_list(fl_beacons_t *self, int64_t now_ms, char **err)
{
    FL_UNUSED(now_ms);
    char *dir = NULL;
    DIR *d = s_open_proc(self, err, &dir);
    if (!d) {
        return NULL;
    }
    s_proc_t top[FL_BEACONS_TOP];
    size_t n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        s_proc_t p = { 0 };
        if (!s_all_digits(e->d_name) || strlen(e->d_name) > 10
            || !s_read_proc(dir, e->d_name, &p)) {
            continue;
        }
        /* insertion into the sorted top N */
        if (n == FL_BEACONS_TOP && !s_proc_before(&p, &top[n - 1])) {
            continue;
        }
        size_t i = n < FL_BEACONS_TOP ? n++ : n - 1;
        while (i > 0 && s_proc_before(&p, &top[i - 1])) {
            top[i] = top[i - 1];
            i--;
        }
        top[i] = p;
    }
    closedir(d);
    free(dir);

    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *name = s_clean_string(top[i].name);
        json_array_append_new(list, json_pack("{s:I, s:o, s:I}", "pid", (json_int_t) top[i].pid,
                                              "name", name, "rss_kb", (json_int_t) top[i].rss_kb));
    }
    return json_pack("{s:o}", "top", list);
}

/*  --------------------------------------------------------------------
    temperature: {ZONE: celsius} */

static int
s_cmp_long(const void *a, const void *b)
{
    long x = *(const long *) a, y = *(const long *) b;
    return (x > y) - (x < y);
}

/*  The zone's name: its type file, else "zoneN". */
static char *
s_zone_name(const char *dir, long zone)
{
    char *path = fl_sprintf("%s/thermal_zone%ld/type", dir, zone);
    char *type = fl_file_read(path, 4096, NULL);
    free(path);
    if (type) {
        type[strcspn(type, "\n")] = '\0';
        if (type[0] && strlen(type) <= 64 && s_printable(type)) {
            return type;
        }
        free(type);
    }
    return fl_sprintf("zone%ld", zone);
}

static json_t *
s_temperature(fl_beacons_t *self, int64_t now_ms, char **err)
{
    FL_UNUSED(now_ms);
    FL_UNUSED(err);
    char *dir = s_path(self, "/sys/class/thermal");
    DIR *d = opendir(dir);
    if (!d) {
        /* no thermal zone: nothing to report, and nothing wrong */
        free(dir);
        return NULL;
    }
    long zones[S_MAX_ENTRIES];
    size_t n = 0;
    for (struct dirent *e = readdir(d); e && n < S_MAX_ENTRIES; e = readdir(d)) {
        const char *num = e->d_name + strlen("thermal_zone");
        if (strncmp(e->d_name, "thermal_zone", strlen("thermal_zone")) == 0 && s_all_digits(num)
            && strlen(num) < 9) {
            zones[n++] = strtol(num, NULL, 10);
        }
    }
    closedir(d);
    qsort(zones, n, sizeof zones[0], s_cmp_long);

    json_t *data = json_object();
    for (size_t i = 0; i < n; i++) {
        char *path = fl_sprintf("%s/thermal_zone%ld/temp", dir, zones[i]);
        char *text = fl_file_read(path, 4096, NULL);
        free(path);
        char *end = NULL;
        long long milli = text ? strtoll(text, &end, 10) : 0;
        /* some sensors answer EIO or ENODATA when asleep: skipped */
        bool ok = text && end != text && (*end == '\n' || *end == '\0');
        free(text);
        double celsius = s_round1((double) milli / 1000.0);
        if (!ok || !(celsius >= -100.0 && celsius <= 200.0)) {
            continue;
        }
        char *name = s_zone_name(dir, zones[i]);
        if (json_object_get(data, name)) {
            /* two zones of one type (two "acpitz"): the later one says which */
            char *unique = fl_sprintf("%s-zone%ld", name, zones[i]);
            free(name);
            name = unique;
        }
        json_object_set_new(data, name, json_real(celsius));
        free(name);
    }
    free(dir);
    if (json_object_size(data) == 0) {
        json_decref(data);
        return NULL;
    }
    return data;
}

/*  --------------------------------------------------------------------
    Configuration */

static int
s_configure_one(fl_beacons_t *self, size_t i, const json_t *conf, char **err)
{
    const char *name = s_specs[i].name;
    if (json_is_null(conf)) {
        return 0;
    }
    if (!json_is_object(conf)) {
        return s_fail(err, "beacons.%s: must be a mapping {interval: SECONDS, enabled: BOOL}",
                      name);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) conf, key, v) {
        if (strcmp(key, "interval") == 0) {
            json_int_t s = json_integer_value(v);
            if (!json_is_integer(v) || s < FL_BEACONS_MIN_INTERVAL_S
                || s > FL_BEACONS_MAX_INTERVAL_S) {
                return s_fail(err, "beacons.%s.interval: must be a whole number of seconds "
                              "in [%d, %d]", name, FL_BEACONS_MIN_INTERVAL_S,
                              FL_BEACONS_MAX_INTERVAL_S);
            }
            self->slots[i].interval_ms = (int64_t) s * 1000;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                return s_fail(err, "beacons.%s.enabled: must be true or false", name);
            }
            self->slots[i].enabled = json_is_true(v);
        } else {
            return s_fail(err, "beacons.%s.%s: unknown key (expected interval, enabled)", name,
                          key);
        }
    }
    return 0;
}

static int
s_configure(fl_beacons_t *self, const json_t *config, char **err)
{
    if (!config || json_is_null(config)) {
        return 0;
    }
    if (!json_is_object(config)) {
        return s_fail(err, "beacons: must be a mapping of beacon names (%s)",
                      fl_beacon_known_list());
    }
    const char *name;
    json_t *conf;
    json_object_foreach((json_t *) config, name, conf) {
        int i = s_find(name);
        if (i < 0) {
            return s_fail(err, "beacons.%s: unknown beacon (known: %s)", name,
                          fl_beacon_known_list());
        }
        if (s_configure_one(self, (size_t) i, conf, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/*  --------------------------------------------------------------------
    The class */

fl_beacons_t *
fl_beacons_new(const char *root_dir, const json_t *config, char **err)
{
    if (err) {
        *err = NULL;
    }
    fl_beacons_t *self = fl_calloc(1, sizeof *self);
    if (root_dir && *root_dir) {
        size_t len = strlen(root_dir);
        while (len > 1 && root_dir[len - 1] == '/') {
            len--;
        }
        if (!(len == 1 && root_dir[0] == '/')) {
            self->root_dir = fl_strndup(root_dir, len);
        }
    }
    if (self->root_dir) {
        char *proc = fl_sprintf("%s/proc", self->root_dir);
        char *sys = fl_sprintf("%s/sys", self->root_dir);
        self->proc_forced = s_is_dir(proc);
        self->sys_forced = s_is_dir(sys);
        free(proc);
        free(sys);
    }
    for (size_t i = 0; i < S_BEACONS; i++) {
        assert(fl_beacon_known(s_specs[i].name));
        self->slots[i].enabled = true;
        self->slots[i].interval_ms = s_specs[i].interval_s * 1000;
    }
    if (s_configure(self, config, err) != 0) {
        fl_beacons_destroy(&self);
        return NULL;
    }
    return self;
}

void
fl_beacons_destroy(fl_beacons_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_beacons_t *self = *self_p;
    json_decref(self->net_prev);
    free(self->root_dir);
    free(self);
    *self_p = NULL;
}

/*  One sample of beacon I; NULL with *ERR on failure, NULL alone when the
    beacon has nothing to report. */
static json_t *
s_take(fl_beacons_t *self, size_t i, int64_t now_ms, char **err)
{
    json_t *data = s_specs[i].sample(self, now_ms, err);
    if (!data) {
        return NULL;
    }
    return json_pack("{s:s, s:I, s:o}", "name", s_specs[i].name, "ts", (json_int_t) fl_time_s(),
                     "data", data);
}

json_t *
fl_beacons_due(fl_beacons_t *self, int64_t now_ms)
{
    assert(self);
    json_t *samples = json_array();
    for (size_t i = 0; i < S_BEACONS; i++) {
        s_slot_t *slot = &self->slots[i];
        if (!slot->enabled || (slot->scheduled && now_ms < slot->next_ms)) {
            continue;
        }
        char *err = NULL;
        json_t *sample = s_take(self, i, now_ms, &err);
        if (sample) {
            json_array_append_new(samples, sample);
            slot->failing = false;
        } else if (err) {
            if (slot->failing) {
                fl_log_debug("beacon %s: %s", s_specs[i].name, err);
            } else {
                fl_log_warnx("beacon %s: %s", s_specs[i].name, err);
            }
            slot->failing = true;
            free(err);
        }
        /* keep the phase; after a long stall (suspend), start afresh
           rather than catch up with a burst */
        slot->next_ms = slot->scheduled ? slot->next_ms + slot->interval_ms
                                        : now_ms + slot->interval_ms;
        if (slot->next_ms <= now_ms) {
            slot->next_ms = now_ms + slot->interval_ms;
        }
        slot->scheduled = true;
    }
    return samples;
}

int64_t
fl_beacons_next_ms(const fl_beacons_t *self, int64_t now_ms)
{
    assert(self);
    int64_t best = -1;
    for (size_t i = 0; i < S_BEACONS; i++) {
        const s_slot_t *slot = &self->slots[i];
        if (!slot->enabled) {
            continue;
        }
        int64_t wait = slot->scheduled ? slot->next_ms - now_ms : 0;
        if (wait < 0) {
            wait = 0;
        }
        if (best < 0 || wait < best) {
            best = wait;
        }
    }
    return best;
}

json_t *
fl_beacons_sample(fl_beacons_t *self, const char *name, char **err)
{
    assert(self);
    if (err) {
        *err = NULL;
    }
    int i = s_find(name);
    if (i < 0) {
        s_fail(err, "unknown beacon '%s' (known: %s)", name ? name : "(null)",
               fl_beacon_known_list());
        return NULL;
    }
    char *why = NULL;
    json_t *sample = s_take(self, (size_t) i, fl_clock_ms(), &why);
    if (!sample) {
        s_fail(err, "beacon %s: %s", name, why ? why : "nothing to report on this device");
    }
    free(why);
    return sample;
}

bool
fl_beacons_enabled(const fl_beacons_t *self, const char *name)
{
    int i = s_find(name);
    assert(self && i >= 0);
    return i >= 0 && self->slots[i].enabled;
}

int64_t
fl_beacons_interval_s(const fl_beacons_t *self, const char *name)
{
    int i = s_find(name);
    assert(self && i >= 0);
    return i >= 0 ? self->slots[i].interval_ms / 1000 : 0;
}
