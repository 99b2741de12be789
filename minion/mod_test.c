/*  mod_test.c: test.* functions, for checking that a minion answers and for
    exercising timeouts. */
#include "fl_mods.h"

#include <math.h>
#include <time.h>

int
mod_test_ping(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    FL_UNUSED(ctx);
    FL_UNUSED(args);
    FL_UNUSED(kwargs);
    *ret = json_true();
    return 0;
}

int
mod_test_echo(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    FL_UNUSED(ctx);
    FL_UNUSED(kwargs);
    const json_t *arg = json_array_get(args, 0);
    if (!arg) {
        *ret = json_string("test.echo: missing argument");
        return 1;
    }
    *ret = json_deep_copy(arg);
    return 0;
}

int
mod_test_sleep(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    FL_UNUSED(ctx);
    FL_UNUSED(kwargs);
    double secs;
    char *err = NULL;
    if (fl_registry_arg_seconds(json_array_get(args, 0), "test.sleep", &secs, &err) != 0) {
        *ret = json_string(err);
        free(err);
        return 1;
    }
    /* An absolute deadline, so that signals interrupting the sleep do not
       stretch it. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double whole = floor(secs);
    until.tv_sec += (time_t) whole;
    until.tv_nsec += (long) ((secs - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL)) == EINTR) {
        continue;
    }
    if (rc != 0) {
        *ret = json_sprintf("test.sleep: %s", strerror(rc));
        return 1;
    }
    *ret = json_true();
    return 0;
}
