/*  fl_beacon_check.c: the master's gate for beacon samples.  The shape of
    each beacon's data is declared in one table (as CFEngine declares its
    syntax), and a single walker checks a sample against it, so adding a
    beacon is adding a row.  Everything a minion sends is untrusted: keys are
    bounded before they are echoed in a message, numbers are bounded with
    comparisons that are false for NaN, and unknown keys are refused. */
#include "fl_beacon_check.h"

#include <assert.h>

/*  How a number is bounded. */
typedef enum {
    S_SIZE,         /* MiB, KiB, bytes, bytes/s, counts: [0, 2^50) */
    S_PERCENT,      /* [0, 100] */
    S_CPU_PERCENT,  /* [0, 100.5]: counters read at slightly different times */
    S_LOAD,         /* [0, 10000] */
    S_CELSIUS,      /* [-100, 200] */
    S_PID,          /* integer [1, 2^31 - 1] */
    S_NAME          /* a string, 1..FL_BEACON_MAX_PROC_NAME bytes */
} s_kind_t;

typedef struct {
    const char *key;
    s_kind_t kind;
    bool required;
} s_field_t;

/*  How the data object is laid out. */
typedef enum {
    S_FLAT,         /* {field: value} */
    S_MAP,          /* {KEY: {field: value}} */
    S_MAP_NUMBER,   /* {KEY: number of kind `kind`} */
    S_LIST          /* {list_key: [{field: value}, ...]} */
} s_shape_t;

typedef struct {
    const char *name;
    s_shape_t shape;
    const s_field_t *fields;    /* S_FLAT, S_MAP, S_LIST; ends with key NULL */
    s_kind_t kind;              /* S_MAP_NUMBER */
    const char *list_key;       /* S_LIST */
} s_beacon_t;

static const s_field_t s_cpu[] = {
    { "load1", S_LOAD, true },
    { "load5", S_LOAD, true },
    { "load15", S_LOAD, true },
    { "busy_percent", S_CPU_PERCENT, false },
    { NULL, S_SIZE, false },
};

static const s_field_t s_memory[] = {
    { "total_mb", S_SIZE, true },
    { "available_mb", S_SIZE, true },
    { "used_percent", S_PERCENT, true },
    { NULL, S_SIZE, false },
};

static const s_field_t s_disk[] = {
    { "total_mb", S_SIZE, true },
    { "used_mb", S_SIZE, true },
    { "used_percent", S_PERCENT, true },
    { NULL, S_SIZE, false },
};

static const s_field_t s_network[] = {
    { "rx_bytes", S_SIZE, true },
    { "tx_bytes", S_SIZE, true },
    { "rx_rate", S_SIZE, false },
    { "tx_rate", S_SIZE, false },
    { NULL, S_SIZE, false },
};

static const s_field_t s_processes[] = {
    { "count", S_SIZE, true },
    { NULL, S_SIZE, false },
};

static const s_field_t s_process[] = {
    { "pid", S_PID, true },
    { "name", S_NAME, true },
    { "rss_kb", S_SIZE, true },
    { NULL, S_SIZE, false },
};

/*  The order is the one fl_beacon_known_list prints. */
static const s_beacon_t s_beacons[] = {
    { "cpu", S_FLAT, s_cpu, S_SIZE, NULL },
    { "memory", S_FLAT, s_memory, S_SIZE, NULL },
    { "disk", S_MAP, s_disk, S_SIZE, NULL },
    { "network", S_MAP, s_network, S_SIZE, NULL },
    { "processes", S_FLAT, s_processes, S_SIZE, NULL },
    { "process_list", S_LIST, s_process, S_SIZE, "top" },
    { "temperature", S_MAP_NUMBER, NULL, S_CELSIUS, NULL },
};

static const s_beacon_t *
s_beacon(const char *name)
{
    for (size_t i = 0; name && i < FL_ARRAY_LEN(s_beacons); i++) {
        if (strcmp(s_beacons[i].name, name) == 0) {
            return &s_beacons[i];
        }
    }
    return NULL;
}

bool
fl_beacon_known(const char *name)
{
    return s_beacon(name) != NULL;
}

const char *
fl_beacon_known_list(void)
{
    return "cpu, memory, disk, network, processes, process_list, temperature";
}

/*  The first error wins; later ones are dropped (the walk stops anyway). */
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

/*  A map key (mount point, interface, zone) that can be stored and echoed:
    not empty, bounded, no control characters. */
static bool
s_key_ok(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > FL_BEACON_MAX_KEY) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char) key[i] < 0x20 || key[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

/*  PATH names the value in messages ("data.load1", "data[\"/boot\"].used_mb",
    "data.top[3].pid"). */
static int
s_check_value(const s_beacon_t *b, const char *path, s_kind_t kind, const json_t *v,
              char **err)
{
    if (kind == S_NAME) {
        const char *s = json_string_value(v);
        /* strlen catches an embedded NUL */
        if (!s || strlen(s) != json_string_length(v) || strlen(s) > FL_BEACON_MAX_PROC_NAME
            || !s_key_ok(s)) {
            return s_fail(err, "beacon %s: %s must be a string of 1..%d printable bytes",
                          b->name, path, FL_BEACON_MAX_PROC_NAME);
        }
        return 0;
    }
    if (!json_is_number(v)) {
        return s_fail(err, "beacon %s: %s must be a number", b->name, path);
    }
    double x = json_number_value(v);
    double lo = 0.0, hi = 0.0;
    bool hi_open = false;
    switch (kind) {
    case S_SIZE:
        hi = 1125899906842624.0; /* 2^50 */
        hi_open = true;
        break;
    case S_PERCENT:
        hi = 100.0;
        break;
    case S_CPU_PERCENT:
        hi = 100.5;
        break;
    case S_LOAD:
        hi = 10000.0;
        break;
    case S_CELSIUS:
        lo = -100.0;
        hi = 200.0;
        break;
    case S_PID:
        if (!json_is_integer(v)) {
            return s_fail(err, "beacon %s: %s must be an integer", b->name, path);
        }
        lo = 1.0;
        hi = 2147483647.0;
        break;
    case S_NAME:
        assert(false);
        break;
    }
    /* written so that NaN (which jansson should never hold) fails too */
    bool in_range = x >= lo && (hi_open ? x < hi : x <= hi);
    if (!in_range) {
        return s_fail(err, "beacon %s: %s = %g is out of range [%g, %g%s", b->name, path, x, lo,
                      hi, hi_open ? ")" : "]");
    }
    return 0;
}

/*  {field: value} against FIELDS; WHERE names the object in messages
    ("data", "data[\"/boot\"]", "data.top[3]"). */
static int
s_check_fields(const s_beacon_t *b, const char *where, const s_field_t *fields,
               const json_t *obj, char **err)
{
    if (!json_is_object(obj)) {
        return s_fail(err, "beacon %s: %s must be an object", b->name, where);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) obj, key, v) {
        const s_field_t *f = fields;
        while (f->key && strcmp(f->key, key) != 0) {
            f++;
        }
        if (!f->key) {
            if (!s_key_ok(key) || strlen(key) > 64) {
                return s_fail(err, "beacon %s: %s has a malformed key", b->name, where);
            }
            return s_fail(err, "beacon %s: %s.%s is not a %s field", b->name, where, key,
                          b->name);
        }
        char *path = fl_sprintf("%s.%s", where, key);
        int rc = s_check_value(b, path, f->kind, v, err);
        free(path);
        if (rc != 0) {
            return -1;
        }
    }
    for (const s_field_t *f = fields; f->key; f++) {
        if (f->required && !json_object_get(obj, f->key)) {
            return s_fail(err, "beacon %s: %s.%s is missing", b->name, where, f->key);
        }
    }
    return 0;
}

static int
s_check_map(const s_beacon_t *b, const json_t *data, char **err)
{
    if (json_object_size(data) > FL_BEACON_MAX_ENTRIES) {
        return s_fail(err, "beacon %s: data has %zu entries (at most %d)", b->name,
                      json_object_size(data), FL_BEACON_MAX_ENTRIES);
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) data, key, v) {
        if (!s_key_ok(key)) {
            return s_fail(err, "beacon %s: data has a key that is empty, longer than %d bytes "
                          "or holds control characters", b->name, FL_BEACON_MAX_KEY);
        }
        char *where = fl_sprintf("data[\"%s\"]", key);
        int rc = b->shape == S_MAP_NUMBER ? s_check_value(b, where, b->kind, v, err)
                                          : s_check_fields(b, where, b->fields, v, err);
        free(where);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

static int
s_check_list(const s_beacon_t *b, const json_t *data, char **err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) data, key, v) {
        if (strcmp(key, b->list_key) != 0) {
            if (!s_key_ok(key) || strlen(key) > 64) {
                return s_fail(err, "beacon %s: data has a malformed key", b->name);
            }
            return s_fail(err, "beacon %s: data.%s is not a %s field", b->name, key, b->name);
        }
    }
    const json_t *list = json_object_get(data, b->list_key);
    if (!json_is_array(list)) {
        return s_fail(err, "beacon %s: data.%s must be an array", b->name, b->list_key);
    }
    if (json_array_size(list) > FL_BEACON_MAX_TOP) {
        return s_fail(err, "beacon %s: data.%s has %zu entries (at most %d)", b->name,
                      b->list_key, json_array_size(list), FL_BEACON_MAX_TOP);
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        char *where = fl_sprintf("data.%s[%zu]", b->list_key, i);
        int rc = s_check_fields(b, where, b->fields, json_array_get(list, i), err);
        free(where);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

int
fl_beacon_check(const json_t *sample, int64_t now_s, char **err)
{
    if (err) {
        *err = NULL;
    }
    if (!json_is_object(sample)) {
        return s_fail(err, "beacon sample must be an object");
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) sample, key, v) {
        if (strcmp(key, "name") != 0 && strcmp(key, "ts") != 0 && strcmp(key, "data") != 0) {
            if (!s_key_ok(key) || strlen(key) > 64) {
                return s_fail(err, "beacon sample has a malformed key");
            }
            return s_fail(err, "beacon sample: unknown key '%s' (expected name, ts, data)", key);
        }
    }

    const json_t *jname = json_object_get(sample, "name");
    if (!json_is_string(jname)) {
        return s_fail(err, "beacon sample: name must be a string");
    }
    const s_beacon_t *b = s_beacon(json_string_value(jname));
    if (!b) {
        const char *name = json_string_value(jname);
        if (!s_key_ok(name) || strlen(name) > 64) {
            return s_fail(err, "beacon sample: name is not a known beacon (%s)",
                          fl_beacon_known_list());
        }
        return s_fail(err, "beacon sample: name '%s' is not a known beacon (%s)", name,
                      fl_beacon_known_list());
    }

    const json_t *jts = json_object_get(sample, "ts");
    if (!json_is_integer(jts)) {
        return s_fail(err, "beacon %s: ts must be an integer (seconds since the epoch)", b->name);
    }
    int64_t ts = (int64_t) json_integer_value(jts);
    /* ts may be anything: differences in unsigned arithmetic cannot
       overflow, and are exact when the sign is known */
    if (ts > now_s && (uint64_t) ts - (uint64_t) now_s > FL_BEACON_MAX_AHEAD_S) {
        return s_fail(err, "beacon %s: ts %lld is %llu s ahead of the master's clock (at most %d)",
                      b->name, (long long) ts,
                      (unsigned long long) ((uint64_t) ts - (uint64_t) now_s),
                      FL_BEACON_MAX_AHEAD_S);
    }
    if (ts < now_s && (uint64_t) now_s - (uint64_t) ts > FL_BEACON_MAX_AGE_S) {
        return s_fail(err, "beacon %s: ts %lld is older than %d days", b->name, (long long) ts,
                      FL_BEACON_MAX_AGE_S / 86400);
    }

    const json_t *data = json_object_get(sample, "data");
    if (!json_is_object(data)) {
        return s_fail(err, "beacon %s: data must be an object", b->name);
    }
    switch (b->shape) {
    case S_FLAT:
        return s_check_fields(b, "data", b->fields, data, err);
    case S_MAP:
    case S_MAP_NUMBER:
        return s_check_map(b, data, err);
    case S_LIST:
        return s_check_list(b, data, err);
    }
    return s_fail(err, "beacon %s: unknown shape", b->name);
}
