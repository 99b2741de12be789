/*  fl_log.h: leveled logging, stderr in the foreground, syslog as a daemon.
    Each line carries the process tag (master, minion, job:JID).  The level
    is checked before anything is formatted.  Never log secrets. */
#ifndef FL_LOG_H
#define FL_LOG_H

#include "fl_prelude.h"

typedef enum {
    FL_LOG_ERROR = 0,
    FL_LOG_WARN,
    FL_LOG_NOTICE,
    FL_LOG_INFO,
    FL_LOG_DEBUG
} fl_log_level_t;

extern fl_log_level_t fl_log_level_current;

void fl_log_open(const char *tag, bool use_syslog);
void fl_log_set_level(fl_log_level_t level);
/*  "error", "warning", "notice", "info", "debug"; -1 when unknown. */
int fl_log_level_parse(const char *name, fl_log_level_t *out);
void fl_log_emit(fl_log_level_t level, int errnum, const char *fmt, ...) FL_PRINTF(3, 4);
void fl_fatal(const char *fmt, ...) FL_PRINTF(1, 2) __attribute__((noreturn));

#define FL_LOG_AT(lvl, errnum, ...)                                  \
    do {                                                             \
        if (fl_log_level_current >= (lvl)) {                         \
            fl_log_emit((lvl), (errnum), __VA_ARGS__);               \
        }                                                            \
    } while (0)

#define fl_log_error(...)  FL_LOG_AT(FL_LOG_ERROR, 0, __VA_ARGS__)
/*  warn appends strerror(errno); warnx does not. */
#define fl_log_warn(...)   FL_LOG_AT(FL_LOG_WARN, errno, __VA_ARGS__)
#define fl_log_warnx(...)  FL_LOG_AT(FL_LOG_WARN, 0, __VA_ARGS__)
#define fl_log_notice(...) FL_LOG_AT(FL_LOG_NOTICE, 0, __VA_ARGS__)
#define fl_log_info(...)   FL_LOG_AT(FL_LOG_INFO, 0, __VA_ARGS__)
#define fl_log_debug(...)  FL_LOG_AT(FL_LOG_DEBUG, 0, __VA_ARGS__)

#endif
