/*  fl_log.c: leveled logging to stderr or syslog. */
#include "fl_log.h"

#include <syslog.h>
#include <time.h>
#include <unistd.h>

fl_log_level_t fl_log_level_current = FL_LOG_NOTICE;

static char s_tag[64] = "fleet";
static bool s_syslog;

static const char *s_names[] = { "error", "warning", "notice", "info", "debug" };
static const int s_priorities[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

void
fl_log_open(const char *tag, bool use_syslog)
{
    snprintf(s_tag, sizeof s_tag, "%s", tag);
    s_syslog = use_syslog;
    if (use_syslog) {
        openlog(s_tag, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

void
fl_log_set_level(fl_log_level_t level)
{
    fl_log_level_current = level;
}

int
fl_log_level_parse(const char *name, fl_log_level_t *out)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_names); i++) {
        if (strcmp(name, s_names[i]) == 0) {
            *out = (fl_log_level_t) i;
            return 0;
        }
    }
    if (strcmp(name, "warn") == 0) {
        *out = FL_LOG_WARN;
        return 0;
    }
    return -1;
}

static void
s_vemit(fl_log_level_t level, int errnum, const char *fmt, va_list ap)
{
    char line[2048];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (errnum && n >= 0 && (size_t) n < sizeof line) {
        snprintf(line + n, sizeof line - (size_t) n, ": %s", strerror(errnum));
    }
    if (s_syslog) {
        syslog(s_priorities[level], "%s", line);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            s_tag, (int) getpid(), s_names[level], line);
}

void
fl_log_emit(fl_log_level_t level, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vemit(level, errnum, fmt, ap);
    va_end(ap);
}

void
fl_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vemit(FL_LOG_ERROR, 0, fmt, ap);
    va_end(ap);
    exit(1);
}
