/*  st_service.c: service.running, service.dead, service.enabled and the
    mod_watch of service.running (a restart).

    Two init systems behind one ops table.  systemd is used only on the
    real system (root_dir "") when PID 1 is systemd (/run/systemd/system
    exists), since systemctl cannot aim at a root directory.  Everywhere
    else runit, whose supervision tree is plain directories and so can live
    under a root: a service is ROOT/etc/sv/NAME (with its run script), it
    is supervised while ROOT/etc/service/NAME links to it (runsvdir watches
    that directory and starts a runsv for each link), and it is enabled
    when linked without a `down` file (runsv does not start a service that
    has one: the same convention Salt's runit module uses).  Every runit
    command names the service by its path, so the right tree is controlled
    whatever SVDIR says.

    sv commands return before runsv has acted, so each change is followed
    by polling `sv status` until the wanted state shows, with a deadline:
    the state reports what runit says happened, never what we asked for. */
#include "st_sys.h"
#include "fl_run.h"
#include "fl_util.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_CMD_TIMEOUT_MS 30000
/*  How long a state change may take to show in `sv status`; runsv waits
    a second before restarting a service that ran for less than one. */
#define S_SETTLE_MS 10000
/*  runsvdir looks at its directory every five seconds. */
#define S_PICKUP_MS 8000
#define S_POLL_MS 100

typedef struct {
    const fl_st_ctx_t *ctx;
    const char *name;
    char *sv_dir;       /* runit: ROOT/etc/sv/NAME */
    char *link;         /* runit: ROOT/etc/service/NAME */
    char *service_dir;  /* runit: ROOT/etc/service */
} s_svc_t;

typedef struct {
    /*  The tool is there (-1 fails the state) and the service exists
        (*AVAILABLE; no comment when it does not). */
    int (*check)(s_svc_t *svc, bool *available, fl_st_ret_t *ret);
    int (*running)(s_svc_t *svc, bool *running, long *pid, fl_st_ret_t *ret);
    int (*enabled)(s_svc_t *svc, bool *enabled, fl_st_ret_t *ret);
    int (*start)(s_svc_t *svc, fl_st_ret_t *ret);
    int (*stop)(s_svc_t *svc, fl_st_ret_t *ret);
    int (*restart)(s_svc_t *svc, fl_st_ret_t *ret);
    int (*enable)(s_svc_t *svc, fl_st_ret_t *ret);
    int (*disable)(s_svc_t *svc, fl_st_ret_t *ret);
} s_ops_t;

static void
s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        continue;
    }
}

/*  Runs ARGV; 0 when it exits 0, else fails the state. */
static int
s_cmd(char *const argv[], fl_st_ret_t *ret)
{
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(argv, NULL, S_CMD_TIMEOUT_MS, &out, &err);
    if (rc != 0) {
        st_sys_cmd_failed(ret, argv, rc, out, err);
    }
    free(out);
    free(err);
    return rc == 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- runit */

typedef enum { S_SV_RUN, S_SV_DOWN, S_SV_UNSUPERVISED } s_sv_state_t;

static bool
s_linked(const s_svc_t *svc)
{
    struct stat st;
    return lstat(svc->link, &st) == 0;
}

/*  `sv status LINK`: run/down (finish counts as down), or no runsv
    answering; *PID of a running service; *TEXT what sv said (may be
    NULL). */
static s_sv_state_t
s_sv_status(const s_svc_t *svc, long *pid, char **text)
{
    char *argv[] = { "sv", "status", svc->link, NULL };
    char *out = NULL, *err = NULL;
    (void) fl_run_argv(argv, NULL, S_CMD_TIMEOUT_MS, &out, &err);  /* judged by its words */
    s_sv_state_t state = S_SV_UNSUPERVISED;
    if (strncmp(out, "run: ", 5) == 0) {
        state = S_SV_RUN;
    } else if (strncmp(out, "down: ", 6) == 0 || strncmp(out, "finish: ", 8) == 0) {
        state = S_SV_DOWN;
    }
    if (pid) {
        const char *p = state == S_SV_RUN ? strstr(out, "(pid ") : NULL;
        *pid = p ? strtol(p + 5, NULL, 10) : 0;
    }
    if (text) {
        const char *said = *out ? out : err;
        *text = fl_strndup(said, strcspn(said, "\n"));
    }
    free(out);
    free(err);
    return state;
}

static int
s_runit_check(s_svc_t *svc, bool *available, fl_st_ret_t *ret)
{
    if (!fl_run_have("sv")) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "runit is not installed (no 'sv' in PATH): install the runit package "
                      "(sv, runsv, runsvdir) to manage service %s", svc->name);
        return -1;
    }
    char *run = fl_sprintf("%s/run", svc->sv_dir);
    *available = access(run, X_OK) == 0;
    free(run);
    return 0;
}

static int
s_runit_running(s_svc_t *svc, bool *running, long *pid, fl_st_ret_t *ret)
{
    FL_UNUSED(ret);
    *running = s_linked(svc) && s_sv_status(svc, pid, NULL) == S_SV_RUN;
    return 0;
}

static bool
s_runit_has_down(const s_svc_t *svc)
{
    char *down = fl_sprintf("%s/down", svc->sv_dir);
    bool found = access(down, F_OK) == 0;
    free(down);
    return found;
}

static int
s_runit_enabled(s_svc_t *svc, bool *enabled, fl_st_ret_t *ret)
{
    FL_UNUSED(ret);
    *enabled = s_linked(svc) && !s_runit_has_down(svc);
    return 0;
}

/*  Links the service into the service directory (relative, so that the
    link is right seen from inside the root as well as from the host). */
static int
s_runit_link(s_svc_t *svc, fl_st_ret_t *ret)
{
    if (s_linked(svc)) {
        return 0;
    }
    char *target = fl_sprintf("../sv/%s", svc->name);
    int rc = fl_mkdir_p(svc->service_dir, 0755);
    if (rc == 0) {
        rc = symlink(target, svc->link);
    }
    if (rc != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "cannot link %s to %s: %s", svc->link, target, strerror(errno));
    }
    free(target);
    return rc == 0 ? 0 : -1;
}

/*  Waits until runsv answers for the service. */
static int
s_runit_supervised(s_svc_t *svc, fl_st_ret_t *ret)
{
    int64_t deadline = fl_clock_ms() + S_PICKUP_MS;
    for (;;) {
        char *said = NULL;
        s_sv_state_t state = s_sv_status(svc, NULL, &said);
        if (state != S_SV_UNSUPERVISED) {
            free(said);
            return 0;
        }
        if (fl_clock_ms() >= deadline) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Service %s is not supervised: no runsv answered within %d s "
                          "(sv: %s); is runsvdir running on %s?", svc->name, S_PICKUP_MS / 1000,
                          said, svc->service_dir);
            free(said);
            return -1;
        }
        free(said);
        s_sleep_ms(S_POLL_MS);
    }
}

/*  Polls until the service is in WANT (and, for a restart, runs with a
    pid other than OLD_PID). */
static int
s_runit_settle(s_svc_t *svc, s_sv_state_t want, long old_pid, const char *verb,
               fl_st_ret_t *ret)
{
    int64_t deadline = fl_clock_ms() + S_SETTLE_MS;
    for (;;) {
        long pid = 0;
        char *said = NULL;
        s_sv_state_t state = s_sv_status(svc, &pid, &said);
        if (state == want && (want != S_SV_RUN || pid != old_pid)) {
            free(said);
            return 0;
        }
        if (fl_clock_ms() >= deadline) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Service %s did not %s within %d s (sv: %s)", svc->name, verb,
                          S_SETTLE_MS / 1000, said);
            free(said);
            return -1;
        }
        free(said);
        s_sleep_ms(S_POLL_MS);
    }
}

static int
s_runit_start(s_svc_t *svc, fl_st_ret_t *ret)
{
    if (s_runit_link(svc, ret) != 0 || s_runit_supervised(svc, ret) != 0) {
        return -1;
    }
    char *argv[] = { "sv", "up", svc->link, NULL };
    if (s_cmd(argv, ret) != 0) {
        return -1;
    }
    return s_runit_settle(svc, S_SV_RUN, 0, "start", ret);
}

static int
s_runit_stop(s_svc_t *svc, fl_st_ret_t *ret)
{
    if (!s_linked(svc) || s_sv_status(svc, NULL, NULL) == S_SV_UNSUPERVISED) {
        return 0;   /* no runsv: nothing runs it */
    }
    char *argv[] = { "sv", "down", svc->link, NULL };
    if (s_cmd(argv, ret) != 0) {
        return -1;
    }
    return s_runit_settle(svc, S_SV_DOWN, 0, "stop", ret);
}

static int
s_runit_restart(s_svc_t *svc, fl_st_ret_t *ret)
{
    long pid = 0;
    if (!s_linked(svc) || s_sv_status(svc, &pid, NULL) != S_SV_RUN) {
        return s_runit_start(svc, ret);
    }
    char *argv[] = { "sv", "restart", svc->link, NULL };
    if (s_cmd(argv, ret) != 0) {
        return -1;
    }
    return s_runit_settle(svc, S_SV_RUN, pid, "restart", ret);
}

static int
s_runit_enable(s_svc_t *svc, fl_st_ret_t *ret)
{
    char *down = fl_sprintf("%s/down", svc->sv_dir);
    int rc = unlink(down) == 0 || errno == ENOENT ? 0 : -1;
    if (rc != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "cannot remove %s: %s", down, strerror(errno));
    }
    free(down);
    return rc == 0 ? s_runit_link(svc, ret) : -1;
}

/*  A `down` file: runsv leaves the service stopped when it starts. */
static int
s_runit_disable(s_svc_t *svc, fl_st_ret_t *ret)
{
    char *down = fl_sprintf("%s/down", svc->sv_dir);
    int rc = access(down, F_OK) == 0 ? 0 : st_sys_write(down, "", 0644, ret);
    free(down);
    return rc;
}

static const s_ops_t s_runit = {
    s_runit_check, s_runit_running, s_runit_enabled, s_runit_start,
    s_runit_stop,  s_runit_restart, s_runit_enable,  s_runit_disable,
};

/* ---------------------------------------------------------------- systemd */

static int
s_systemctl(s_svc_t *svc, const char *verb, fl_st_ret_t *ret)
{
    char *argv[] = { "systemctl", (char *) verb, "--", (char *) svc->name, NULL };
    return s_cmd(argv, ret);
}

static bool
s_systemctl_quiet(s_svc_t *svc, const char *verb)
{
    char *argv[] = { "systemctl", (char *) verb, "--quiet", "--", (char *) svc->name, NULL };
    return fl_run_argv(argv, NULL, S_CMD_TIMEOUT_MS, NULL, NULL) == 0;
}

static int
s_systemd_check(s_svc_t *svc, bool *available, fl_st_ret_t *ret)
{
    if (!fl_run_have("systemctl")) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "systemd runs this system but systemctl is not in PATH");
        return -1;
    }
    /* LoadState "not-found": no unit of that name */
    char *argv[] = { "systemctl", "show", "--property=LoadState", "--value", "--",
                     (char *) svc->name, NULL };
    char *out = NULL;
    int rc = fl_run_argv(argv, NULL, S_CMD_TIMEOUT_MS, &out, NULL);
    *available = rc == 0 && strncmp(out, "not-found", 9) != 0;
    free(out);
    return 0;
}

static int
s_systemd_running(s_svc_t *svc, bool *running, long *pid, fl_st_ret_t *ret)
{
    FL_UNUSED(ret);
    *running = s_systemctl_quiet(svc, "is-active");
    if (pid) {
        *pid = 0;
    }
    return 0;
}

static int
s_systemd_enabled(s_svc_t *svc, bool *enabled, fl_st_ret_t *ret)
{
    FL_UNUSED(ret);
    *enabled = s_systemctl_quiet(svc, "is-enabled");
    return 0;
}

static int
s_systemd_start(s_svc_t *svc, fl_st_ret_t *ret)
{
    return s_systemctl(svc, "start", ret);
}

static int
s_systemd_stop(s_svc_t *svc, fl_st_ret_t *ret)
{
    return s_systemctl(svc, "stop", ret);
}

static int
s_systemd_restart(s_svc_t *svc, fl_st_ret_t *ret)
{
    return s_systemctl(svc, "restart", ret);
}

static int
s_systemd_enable(s_svc_t *svc, fl_st_ret_t *ret)
{
    return s_systemctl(svc, "enable", ret);
}

static int
s_systemd_disable(s_svc_t *svc, fl_st_ret_t *ret)
{
    return s_systemctl(svc, "disable", ret);
}

static const s_ops_t s_systemd = {
    s_systemd_check, s_systemd_running, s_systemd_enabled, s_systemd_start,
    s_systemd_stop,  s_systemd_restart, s_systemd_enable,  s_systemd_disable,
};

/* ---------------------------------------------------------------- the states */

/*  Fills SVC and picks the init system; -1 fails the state (bad name). */
static int
s_open(const fl_st_ctx_t *ctx, const char *name, s_svc_t *svc, const s_ops_t **ops,
       fl_st_ret_t *ret)
{
    *svc = (s_svc_t) { .ctx = ctx, .name = name };
    bool ok = name && *name && *name != '.' && *name != '-';
    for (const char *p = name; ok && *p; p++) {
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
             || strchr("_.@:-", *p);
    }
    if (!ok) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Invalid service name '%s'", name ? name : "");
        return -1;
    }
    char *root = st_sys_root(ctx);
    struct stat st;
    bool systemd = !*root && stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
    free(root);
    char *sv_rel = fl_sprintf("/etc/sv/%s", name);
    char *link_rel = fl_sprintf("/etc/service/%s", name);
    svc->sv_dir = fl_st_path(ctx, sv_rel);
    svc->link = fl_st_path(ctx, link_rel);
    svc->service_dir = fl_st_path(ctx, "/etc/service");
    free(sv_rel);
    free(link_rel);
    *ops = systemd ? &s_systemd : &s_runit;
    return 0;
}

static void
s_close(s_svc_t *svc)
{
    free(svc->sv_dir);
    free(svc->link);
    free(svc->service_dir);
}

/*  Brings enablement to ENABLE (-1: leave it). */
static int
s_set_enable(const s_ops_t *ops, s_svc_t *svc, int enable, bool enabled, fl_st_ret_t *ret)
{
    if (enable == 1 && !enabled) {
        return ops->enable(svc, ret);
    }
    if (enable == 0 && enabled) {
        return ops->disable(svc, ret);
    }
    return 0;
}

/*  "enabled"/"disabled" when enablement is to change, else NULL. */
static const char *
s_enable_word(int enable, bool enabled)
{
    if (enable == 1 && !enabled) {
        return "enabled";
    }
    if (enable == 0 && enabled) {
        return "disabled";
    }
    return NULL;
}

/*  service.running and the start half of mod_watch. */
void
st_service_running(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                   fl_st_ret_t *ret)
{
    s_svc_t svc;
    const s_ops_t *ops;
    int enable = -1;
    bool available = false, running = false, enabled = false;
    if (st_sys_arg_bool(args, "enable", &enable, ret) != 0
        || s_open(ctx, name, &svc, &ops, ret) != 0) {
        return;
    }
    if (ops->check(&svc, &available, ret) != 0) {
        goto done;
    }
    if (!available) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "The named service %s is not available%s%s%s", name,
                      ops == &s_runit ? " (no runit service directory: " : "",
                      ops == &s_runit ? svc.sv_dir : "", ops == &s_runit ? "/run)" : "");
        goto done;
    }
    if (ops->running(&svc, &running, NULL, ret) != 0 || ops->enabled(&svc, &enabled, ret) != 0) {
        goto done;
    }
    /* with runit, starting links the service, which enables it unless a
       down file is there: judge enablement as it will be after the start */
    if (!running && ops == &s_runit) {
        enabled = !s_runit_has_down(&svc);
    }
    bool enable_ok = enable == -1 || (enable == 1) == enabled;
    if (running && enable_ok) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "The service %s is already running", name);
        goto done;
    }
    const char *word = s_enable_word(enable, enabled);
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, name, json_true());
        if (running) {
            fl_st_comment(ret, "Service %s is running, would be %s", name, word);
        } else {
            fl_st_comment(ret, "Service %s is set to start%s%s", name, word ? " and be " : "",
                          word ? word : "");
        }
        goto done;
    }
    if ((!running && ops->start(&svc, ret) != 0) || ops->enabled(&svc, &enabled, ret) != 0
        || s_set_enable(ops, &svc, enable, enabled, ret) != 0) {
        goto done;
    }
    ret->result = FL_ST_TRUE;
    json_object_set_new(ret->changes, name, json_true());
    if (running) {
        fl_st_comment(ret, "Service %s is running, has been %s", name, word);
    } else {
        fl_st_comment(ret, "Started service %s%s%s", name, word ? ", has been " : "",
                      word ? word : "");
    }
done:
    s_close(&svc);
}

void
st_service_dead(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_svc_t svc;
    const s_ops_t *ops;
    int enable = -1;
    bool available = false, running = false, enabled = false;
    if (st_sys_arg_bool(args, "enable", &enable, ret) != 0
        || s_open(ctx, name, &svc, &ops, ret) != 0) {
        return;
    }
    if (ops->check(&svc, &available, ret) != 0) {
        goto done;
    }
    if (!available) {
        /* nothing can run what does not exist */
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "The named service %s is not available", name);
        goto done;
    }
    if (ops->running(&svc, &running, NULL, ret) != 0 || ops->enabled(&svc, &enabled, ret) != 0) {
        goto done;
    }
    bool enable_ok = enable == -1 || (enable == 1) == enabled;
    if (!running && enable_ok) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "The service %s is already dead", name);
        goto done;
    }
    const char *word = s_enable_word(enable, enabled);
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, name, json_true());
        if (running) {
            fl_st_comment(ret, "Service %s is set to be killed%s%s", name, word ? " and be " : "",
                          word ? word : "");
        } else {
            fl_st_comment(ret, "Service %s is dead, would be %s", name, word);
        }
        goto done;
    }
    if (s_set_enable(ops, &svc, enable, enabled, ret) != 0) {
        goto done;
    }
    /* runit starts a service as soon as it is linked without `down`: an
       enable may have started it, so look again */
    if (enable == 1 && ops == &s_runit && !running
        && (s_runit_supervised(&svc, ret) != 0 || ops->running(&svc, &running, NULL, ret) != 0)) {
        goto done;
    }
    if (running && ops->stop(&svc, ret) != 0) {
        goto done;
    }
    ret->result = FL_ST_TRUE;
    json_object_set_new(ret->changes, name, json_true());
    if (running) {
        fl_st_comment(ret, "Service %s was killed%s%s", name, word ? ", has been " : "",
                      word ? word : "");
    } else {
        fl_st_comment(ret, "Service %s is dead, has been %s", name, word);
    }
done:
    s_close(&svc);
}

void
st_service_enabled(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                   fl_st_ret_t *ret)
{
    FL_UNUSED(args);
    s_svc_t svc;
    const s_ops_t *ops;
    bool available = false, enabled = false;
    if (s_open(ctx, name, &svc, &ops, ret) != 0) {
        return;
    }
    if (ops->check(&svc, &available, ret) != 0) {
        goto done;
    }
    if (!available) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "The named service %s is not available", name);
        goto done;
    }
    if (ops->enabled(&svc, &enabled, ret) != 0) {
        goto done;
    }
    if (enabled) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Service %s is already enabled, and is in the desired state", name);
        goto done;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, name, json_true());
        fl_st_comment(ret, "Service %s set to be enabled", name);
        goto done;
    }
    if (ops->enable(&svc, ret) != 0) {
        goto done;
    }
    ret->result = FL_ST_TRUE;
    json_object_set_new(ret->changes, name, json_true());
    fl_st_comment(ret, "Service %s has been enabled", name);
done:
    s_close(&svc);
}

/*  A watched state changed: restart (start when it is not running), as
    Salt's mod_watch for service.running does. */
void
st_service_mod_watch(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret)
{
    FL_UNUSED(args);
    s_svc_t svc;
    const s_ops_t *ops;
    bool available = false;
    if (s_open(ctx, name, &svc, &ops, ret) != 0) {
        return;
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        json_object_set_new(ret->changes, name, json_true());
        fl_st_comment(ret, "Service is set to be restarted");
        goto done;
    }
    if (ops->check(&svc, &available, ret) != 0) {
        goto done;
    }
    if (!available) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "The named service %s is not available", name);
        goto done;
    }
    if (ops->restart(&svc, ret) != 0) {
        goto done;
    }
    ret->result = FL_ST_TRUE;
    json_object_set_new(ret->changes, name, json_true());
    fl_st_comment(ret, "Service restarted");
done:
    s_close(&svc);
}
