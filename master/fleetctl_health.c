/*  fleetctl_health.c: the commands that answer "which devices are up, which
    went silent, which are sick": status, availability, events, beacons. */
#include "fleetctl.h"
#include "fl_json.h"
#include "fl_util.h"

#include <time.h>

int64_t
fleetctl_parse_duration(const char *text)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || end == text || n < 0) {
        return -1;
    }
    int64_t unit = 1;
    if (*end) {
        switch (*end) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 7 * 86400; break;
        default: return -1;
        }
        if (end[1]) {
            return -1;
        }
    }
    return (int64_t) n * unit;
}

static const char *
s_uptime(int64_t s, char *buf, size_t size)
{
    if (s <= 0) {
        snprintf(buf, size, "-");
    } else if (s < 3600) {
        snprintf(buf, size, "%lldm", (long long) (s / 60));
    } else if (s < 86400) {
        snprintf(buf, size, "%lldh%02lldm", (long long) (s / 3600), (long long) (s % 3600 / 60));
    } else {
        snprintf(buf, size, "%lldd%02lldh", (long long) (s / 86400), (long long) (s % 86400 / 3600));
    }
    return buf;
}

void
fleetctl_print_status(const json_t *data)
{
    int64_t now = json_integer_value(json_object_get(data, "now"));
    printf("%-24s %-9s %-10s %-8s %-8s %s\n", "ID", "STATE", "LAST SEEN", "VERSION", "UPTIME",
           "ALARMS");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(data, "minions"), i, m) {
        char seen[32], up[32];
        char alarms[256] = "-";
        size_t off = 0;
        const char *mark;
        json_t *a;
        json_object_foreach(json_object_get(m, "alarms"), mark, a) {
            FL_UNUSED(a);
            off += (size_t) snprintf(alarms + off, off < sizeof alarms ? sizeof alarms - off : 0,
                                     "%s%s", off ? "," : "", mark);
            if (off >= sizeof alarms) {
                break;
            }
        }
        const char *state = fl_json_str(m, "state");
        bool live = strcmp(state, "up") == 0;
        printf("%-24s %-9s %-10s %-8s %-8s %s\n", fl_json_str(m, "id"), state,
               fl_time_ago(json_integer_value(json_object_get(m, "last_seen")), now, seen,
                           sizeof seen),
               fl_json_str(m, "version") ? fl_json_str(m, "version") : "-",
               live ? s_uptime(json_integer_value(json_object_get(m, "uptime")), up, sizeof up)
                    : "-",
               alarms);
    }
    json_t *c = json_object_get(data, "counts");
    json_int_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) {
        total += json_integer_value(v);
    }
    printf("%lld minions: %lld up, %lld lost, %lld never seen, %lld revoked",
           (long long) total, (long long) json_integer_value(json_object_get(c, "up")),
           (long long) json_integer_value(json_object_get(c, "lost")),
           (long long) json_integer_value(json_object_get(c, "never")),
           (long long) json_integer_value(json_object_get(c, "revoked")));
    if (json_integer_value(json_object_get(c, "other")) > 0) {
        printf(", %lld pending or rejected",
               (long long) json_integer_value(json_object_get(c, "other")));
    }
    putchar('\n');
}

void
fleetctl_print_availability(const json_t *data)
{
    printf("%-24s %8s %12s\n", "ID", "UP", "UP TIME");
    const char *id;
    json_t *m;
    json_object_foreach(json_object_get(data, "minions"), id, m) {
        char up[32];
        printf("%-24s %7.2f%% %12s\n", id, json_real_value(json_object_get(m, "percent")),
               s_uptime(json_integer_value(json_object_get(m, "up_seconds")), up, sizeof up));
    }
}

void
fleetctl_print_event(const json_t *e)
{
    char when[32];
    time_t t = (time_t) json_integer_value(json_object_get(e, "ts"));
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    char *data = json_dumps(json_object_get(e, "data"), JSON_COMPACT | JSON_SORT_KEYS);
    printf("%s %s %s\n", when, fl_json_str(e, "tag"), data ? data : "{}");
    free(data);
    fflush(stdout);
}

void
fleetctl_print_beacons(const json_t *samples)
{
    size_t i;
    json_t *s;
    json_array_foreach(samples, i, s) {
        char when[32];
        time_t t = (time_t) json_integer_value(json_object_get(s, "ts"));
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        char *data = json_dumps(json_object_get(s, "data"), JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s %-12s %s\n", when, fl_json_str(s, "name"), data ? data : "{}");
        free(data);
    }
}
