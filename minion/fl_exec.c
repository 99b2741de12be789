/*  fl_exec.c: job workers.

    The minion's root process forks one worker per job and goes back to its
    loop; the worker runs the handler and writes one JSON document on a pipe.
    Everything that can go wrong in a job (a crash, a hang, a flood of
    output) stays in the worker and comes back as a result with a retcode:

    - the worker calls setsid(), so its pid is also its process group and
      session: a timeout kills the group and then sweeps the session, which
      also catches commands that cmd.run put in groups of their own;
    - it resets signal dispositions and the mask (the minion's handlers would
      otherwise run inside the job), reads /dev/null, keeps only the result
      pipe and stdout/stderr, and is not dumpable (no core file holding the
      minion's keys);
    - it leaves with _exit(), so no atexit handler, stdio flush or ZeroMQ
      teardown of the parent's state runs in the child;
    - the parent reads without blocking, caps what it reads, and reaps. */
#include "fl_exec.h"
#include "fl_log.h"
#include "fl_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*  How long to wait for a worker that closed its pipe (or was killed) to
    become reapable.  A process stuck in the kernel (D state) may take longer:
    then the result is given anyway and destroy tries again. */
#define S_REAP_MS 2000

struct fl_exec {
    char *jid;
    char *fun;
    pid_t pid;
    int fd;                 /* read end of the result pipe */
    int timeout_ms;
    int64_t deadline_ms;
    char *buf;              /* what the worker wrote so far */
    size_t len;
    size_t cap;
    bool reaped;
    bool status_known;      /* false when someone else reaped it (ECHILD) */
    int status;
    json_t *result;         /* set once the job is over */
};

/* ---- the worker (child side) ---------------------------------------- */

/*  Writes the reply and leaves.  Never returns into the parent's code. */
static void __attribute__((noreturn))
s_worker_reply(int wfd, json_t *ret, int retcode)
{
    json_t *reply = json_pack("{s:o, s:i, s:b}", "ret", ret ? ret : json_null(), "retcode",
                              retcode, "success", retcode == 0);
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    if (text && strlen(text) > FL_EXEC_MAX_RESULT) {
        /* said here, plainly, rather than cut off by the parent */
        size_t size = strlen(text);
        free(text);
        reply = json_pack("{s:o, s:i, s:b}", "ret",
                          json_sprintf("job result too large: %zu bytes (limit %d)", size,
                                       FL_EXEC_MAX_RESULT),
                          "retcode", FL_EXEC_RETCODE_WORKER, "success", false);
        text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
        json_decref(reply);
    }
    if (!text) {
        _exit(3);   /* out of memory: the parent reports a failed worker */
    }
    size_t left = strlen(text);
    const char *p = text;
    while (left > 0) {
        ssize_t n = write(wfd, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            _exit(4);   /* the parent has gone: nobody to tell */
        }
        p += n;
        left -= (size_t) n;
    }
    _exit(0);
}

/*  Closes every fd above stderr except KEEP. */
static void
s_close_other_fds(int keep)
{
    if (keep > 3) {
        if (close_range(3, (unsigned) keep - 1, 0) != 0) {
            goto loop;
        }
    }
    if (close_range((unsigned) keep + 1, ~0U, 0) == 0) {
        return;
    }
loop:
    /* kernels before 5.9 have no close_range */
    {
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 65536) {
            max = 65536;
        }
        for (int fd = 3; fd < (int) max; fd++) {
            if (fd != keep) {
                close(fd);
            }
        }
    }
}

/*  Gives the worker clean fds: stdin /dev/null, stdout/stderr open (those of
    the minion, for its log), the result pipe *WFD (moved above stderr when
    the minion runs with 0-2 closed), nothing else.  -1 on failure. */
static int
s_worker_fds(int *wfd)
{
    if (*wfd < 3) {
        int high = fcntl(*wfd, F_DUPFD_CLOEXEC, 3);
        if (high < 0) {
            return -1;
        }
        close(*wfd);
        *wfd = high;
    }
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0) {
        return -1;
    }
    for (int fd = 1; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && dup2(null, fd) < 0) {
            return -1;
        }
    }
    if (null > 2) {
        close(null);
    }
    s_close_other_fds(*wfd);
    return 0;
}

static void __attribute__((noreturn))
s_worker(const fl_exec_req_t *req, fl_mod_handler_t handler, const json_t *args,
         const json_t *kwargs, int wfd)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            /* fails only for the C library's reserved signals: nothing to reset */
            (void) sigaction(sig, &dfl, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (setsid() < 0) {
        s_worker_reply(wfd, json_sprintf("job worker: setsid: %s", strerror(errno)),
                       FL_EXEC_RETCODE_WORKER);
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        s_worker_reply(wfd, json_sprintf("job worker: prctl: %s", strerror(errno)),
                       FL_EXEC_RETCODE_WORKER);
    }
    if (s_worker_fds(&wfd) != 0) {
        s_worker_reply(wfd, json_sprintf("job worker: fds: %s", strerror(errno)),
                       FL_EXEC_RETCODE_WORKER);
    }

    fl_mod_ctx_t ctx = req->ctx;
    if (!ctx.jid) {
        ctx.jid = req->jid;
    }
    /* What the job runs may need to know it runs under fleet: the minion's
       postinst, upgraded by a job, waits for this worker before it
       restarts the minion (packaging/debian/fleet-minion.postinst). */
    char pid_text[24];
    snprintf(pid_text, sizeof pid_text, "%ld", (long) getpid());
    if (setenv("FLEET_WORKER_PID", pid_text, 1) != 0
        || setenv("FLEET_JID", ctx.jid ? ctx.jid : "", 1) != 0) {
        s_worker_reply(wfd, json_sprintf("job worker: setenv: %s", strerror(errno)),
                       FL_EXEC_RETCODE_WORKER);
    }
    json_t *ret = NULL;
    int retcode = handler(&ctx, args, kwargs, &ret);
    s_worker_reply(wfd, ret, retcode);
}

/* ---- the parent side ------------------------------------------------- */

/*  Kills what is left in session SID, other than its leader: commands that
    cmd.run moved into process groups of their own.  Only called while the
    leader is unreaped, so SID cannot have been reused. */
static void
s_kill_session(pid_t sid)
{
    /* repeated, as a process may fork while we look */
    for (int pass = 0; pass < 3; pass++) {
        DIR *dir = opendir("/proc");
        if (!dir) {
            fl_log_warn("job worker %d: opendir /proc", (int) sid);
            return;
        }
        int killed = 0;
        struct dirent *e;
        while ((e = readdir(dir))) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid <= 0 || pid == sid) {
                continue;
            }
            char path[64];
            snprintf(path, sizeof path, "/proc/%ld/stat", pid);
            char *stat = fl_file_read(path, 4096, NULL);
            /* "pid (comm) state ppid pgrp session ...": comm may hold ") " */
            const char *rp = stat ? strrchr(stat, ')') : NULL;
            char state;
            int ppid, pgrp, session;
            if (rp && sscanf(rp + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) == 4
                && session == sid && state != 'Z' && kill((pid_t) pid, SIGKILL) == 0) {
                killed++;
            }
            free(stat);
        }
        closedir(dir);
        if (killed == 0) {
            return;
        }
    }
}

static void
s_kill(fl_exec_t *self)
{
    if (self->reaped) {
        return;     /* the pid may belong to someone else by now */
    }
    /* the group, and the pid itself in case it has not reached setsid() */
    kill(-self->pid, SIGKILL);
    kill(self->pid, SIGKILL);
    s_kill_session(self->pid);
}

/*  Waits up to WAIT_MS for the worker to be reapable.  True when reaped. */
static bool
s_reap(fl_exec_t *self, int wait_ms)
{
    int64_t until = fl_clock_ms() + wait_ms;
    while (!self->reaped) {
        pid_t r = waitpid(self->pid, &self->status, WNOHANG);
        if (r == self->pid) {
            self->reaped = true;
            self->status_known = true;
        } else if (r < 0 && errno == ECHILD) {
            self->reaped = true;    /* reaped elsewhere: the pipe has to tell */
        } else if (r < 0 && errno != EINTR) {
            fl_log_warn("job %s: waitpid %d", self->jid, (int) self->pid);
            return false;
        } else if (r == 0) {
            if (fl_clock_ms() >= until) {
                return false;
            }
            struct timespec ts = { 0, 5 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    return true;
}

static void
s_set_result(fl_exec_t *self, json_t *ret, int retcode)
{
    json_decref(self->result);
    self->result = json_pack("{s:o, s:i, s:b}", "ret", ret ? ret : json_null(), "retcode",
                             retcode, "success", retcode == 0);
}

/*  Reads what the pipe holds.  1 at EOF, 0 when more is to come, -1 when
    the worker sent more than FL_EXEC_MAX_RESULT. */
static int
s_read(fl_exec_t *self)
{
    for (;;) {
        if (self->cap - self->len < 4096) {
            self->cap = self->cap ? self->cap * 2 : 16384;
            self->buf = fl_realloc(self->buf, self->cap);
        }
        ssize_t n = read(self->fd, self->buf + self->len, self->cap - self->len);
        if (n > 0) {
            self->len += (size_t) n;
            if (self->len > FL_EXEC_MAX_RESULT) {
                return -1;
            }
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return 0;
        }
        if (n < 0) {
            fl_log_warn("job %s: reading the result", self->jid);
        }
        return 1;   /* EOF, or an error that no retry will mend */
    }
}

/*  Turns what the worker left (exit status and text) into the result. */
static void
s_conclude(fl_exec_t *self)
{
    if (self->status_known && WIFSIGNALED(self->status)) {
        int sig = WTERMSIG(self->status);
        s_set_result(self, json_sprintf("job worker died: signal %d (%s)", sig, strsignal(sig)),
                     FL_EXEC_RETCODE_WORKER);
        return;
    }
    if (self->status_known && WIFEXITED(self->status) && WEXITSTATUS(self->status) != 0) {
        s_set_result(self,
                     json_sprintf("job worker failed: exit status %d", WEXITSTATUS(self->status)),
                     FL_EXEC_RETCODE_WORKER);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(self->buf ? self->buf : "", self->len, 0, &jerr);
    json_t *ret = json_object_get(doc, "ret");
    json_t *retcode = json_object_get(doc, "retcode");
    if (!doc || !ret || !json_is_integer(retcode)) {
        s_set_result(self,
                     json_sprintf("job worker returned garbage: %s",
                                  doc ? "no ret or retcode" : jerr.text),
                     FL_EXEC_RETCODE_WORKER);
    } else {
        json_int_t rc = json_integer_value(retcode);
        s_set_result(self, json_incref(ret), rc >= INT32_MIN && rc <= INT32_MAX ? (int) rc : 1);
    }
    json_decref(doc);
}

/*  The pipe is at EOF: the worker has finished or died. */
static void
s_finish(fl_exec_t *self)
{
    if (!s_reap(self, S_REAP_MS)) {
        /* it closed the pipe but lingers: it has nothing more to say */
        s_kill(self);
        s_reap(self, S_REAP_MS);
    }
    s_conclude(self);
}

static void
s_overflow(fl_exec_t *self)
{
    s_kill(self);
    s_reap(self, S_REAP_MS);
    s_set_result(self, json_sprintf("job result too large: over %d bytes", FL_EXEC_MAX_RESULT),
                 FL_EXEC_RETCODE_WORKER);
}

fl_exec_t *
fl_exec_start(const fl_exec_req_t *req, char **err)
{
    const char *fun = req->fun ? req->fun : "";
    const fl_func_spec_t *spec = fl_func_find(fun);
    fl_mod_handler_t handler = fl_registry_find(fun);
    if (!spec || !handler) {
        *err = fl_sprintf("unknown function '%s'", fun);
        return NULL;
    }
    if (!fl_registry_available(fun, &req->ctx)) {
        *err = fl_sprintf("function '%s' is not available on this minion", fun);
        return NULL;
    }
    if ((req->args && !json_is_array(req->args)) || (req->kwargs && !json_is_object(req->kwargs))) {
        *err = fl_sprintf("%s: args must be a list and kwargs a mapping", fun);
        return NULL;
    }
    /* handlers are promised checked arity, whoever called us */
    if (fl_func_check_arity(spec, json_array_size(req->args), err) != 0) {
        return NULL;
    }

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *err = fl_sprintf("%s: pipe: %s", fun, strerror(errno));
        return NULL;
    }
    json_t *args = req->args ? json_incref((json_t *) req->args) : json_array();
    json_t *kwargs = req->kwargs ? json_incref((json_t *) req->kwargs) : json_object();
    pid_t pid = fork();
    if (pid < 0) {
        *err = fl_sprintf("%s: fork: %s", fun, strerror(errno));
        close(fds[0]);
        close(fds[1]);
        json_decref(args);
        json_decref(kwargs);
        return NULL;
    }
    if (pid == 0) {
        close(fds[0]);
        s_worker(req, handler, args, kwargs, fds[1]);
    }
    close(fds[1]);
    json_decref(args);
    json_decref(kwargs);
    if (fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) != 0) {
        /* a blocking read would stall the minion's loop: not worth the risk */
        *err = fl_sprintf("%s: fcntl: %s", fun, strerror(errno));
        kill(pid, SIGKILL);
        close(fds[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            continue;
        }
        return NULL;
    }

    fl_exec_t *self = fl_calloc(1, sizeof *self);
    self->jid = fl_strdup(req->jid ? req->jid : "");
    self->fun = fl_strdup(fun);
    self->pid = pid;
    self->fd = fds[0];
    self->timeout_ms = req->ctx.timeout_ms;
    self->deadline_ms =
        req->ctx.timeout_ms > 0 ? fl_clock_ms() + req->ctx.timeout_ms : INT64_MAX;
    fl_log_debug("job %s: %s started in worker %d", self->jid, fun, (int) pid);
    return self;
}

void
fl_exec_destroy(fl_exec_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_exec_t *self = *self_p;
    if (!self->reaped) {
        s_kill(self);
        if (!s_reap(self, S_REAP_MS)) {
            fl_log_warnx("job %s: worker %d did not die; left unreaped", self->jid,
                         (int) self->pid);
        }
    }
    if (self->fd >= 0) {
        close(self->fd);
    }
    json_decref(self->result);
    free(self->buf);
    free(self->jid);
    free(self->fun);
    free(self);
    *self_p = NULL;
}

int
fl_exec_fd(const fl_exec_t *self)
{
    return self->fd;
}

int
fl_exec_on_readable(fl_exec_t *self)
{
    if (self->result) {
        return 1;
    }
    int rc = s_read(self);
    if (rc < 0) {
        s_overflow(self);
        return 1;
    }
    if (rc > 0) {
        s_finish(self);
        return 1;
    }
    return 0;
}

int
fl_exec_check_timeout(fl_exec_t *self, int64_t now_ms)
{
    if (self->result) {
        return 1;
    }
    if (now_ms < self->deadline_ms) {
        return 0;
    }
    /* it may have finished just now, with its answer still in the pipe */
    if (fl_exec_on_readable(self)) {
        return 1;
    }
    s_kill(self);
    s_reap(self, S_REAP_MS);
    fl_log_notice("job %s: timed out after %d ms, worker %d killed", self->jid, self->timeout_ms,
                  (int) self->pid);
    s_set_result(self, json_sprintf("job timed out after %g s", self->timeout_ms / 1000.0),
                 FL_EXEC_RETCODE_TIMEOUT);
    return 1;
}

int64_t
fl_exec_deadline_ms(const fl_exec_t *self)
{
    return self->deadline_ms;
}

pid_t
fl_exec_pid(const fl_exec_t *self)
{
    return self->pid;
}

const char *
fl_exec_fun(const fl_exec_t *self)
{
    return self->fun;
}

const char *
fl_exec_jid(const fl_exec_t *self)
{
    return self->jid;
}

const json_t *
fl_exec_result(const fl_exec_t *self)
{
    return self->result;
}
