/*  mod_cmd.c: cmd.run.  The arguments are an argv run with execvp, never
    through a shell unless shell=true is asked for, so that a value taken
    from a grain or pillar cannot inject a second command.

    The command gets its own process group, so that a timeout can kill it
    with everything it started without killing the job worker that reports
    the result.  It stays in the worker's session: when the worker itself is
    killed, fl_exec sweeps that session.  stdout and stderr are read with
    poll() together (a chatty stderr cannot block the command while we wait
    on stdout) and capped, so that a runaway command cannot exhaust memory
    or the return message. */
#include "fl_mods.h"
#include "fl_util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/*  After the command exits, how long to go on reading pipes that a
    background child of it still holds open (`daemon &` under a shell). */
#define S_LINGER_MS 2000
/*  After a kill, how long to wait for the pipes to drain. */
#define S_KILL_LINGER_MS 200
/*  How often to look for the command's exit while its pipes stay open. */
#define S_TICK_MS 200
/*  The job budget keeps this much back (at most 1 s) so that our own
    timeout, with the partial output, fires before the worker is killed. */
#define S_BUDGET_MARGIN_MS 1000

typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t dropped;     /* bytes past MOD_CMD_MAX_OUTPUT, read and thrown away */
} s_stream_t;

typedef struct {
    char **argv;            /* NULL-terminated, owned */
    size_t argc;
    char *shell_cmd;        /* the joined argv when shell=true, else NULL */
    const char *cwd;        /* borrowed from kwargs */
    char **envp;            /* NULL = inherit; else entries of environ + env_owned */
    char **env_owned;
    size_t env_owned_n;
    const char *stdin_data; /* NULL = /dev/null */
    size_t stdin_len;
    int64_t timeout_ms;     /* 0 = none */
    double timeout_s;       /* for the message */
} s_opts_t;

/*  What the child reports on its CLOEXEC pipe when it cannot exec. */
typedef struct {
    int stage;              /* S_STAGE_* */
    int errnum;
} s_report_t;

enum { S_STAGE_CWD = 1, S_STAGE_EXEC = 2 };

static void
s_opts_free(s_opts_t *o)
{
    for (size_t i = 0; i < o->argc; i++) {
        free(o->argv[i]);
    }
    free(o->argv);
    free(o->shell_cmd);
    for (size_t i = 0; i < o->env_owned_n; i++) {
        free(o->env_owned[i]);
    }
    free(o->env_owned);
    free(o->envp);
}

/*  An argument as text: strings as they are, numbers as JSON spells them. */
static char *
s_arg_text(const json_t *v)
{
    if (json_is_string(v)) {
        /* an embedded NUL would silently cut the argument */
        if (strlen(json_string_value(v)) != json_string_length(v)) {
            return NULL;
        }
        return fl_strdup(json_string_value(v));
    }
    if (json_is_number(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        char *copy = s ? fl_strdup(s) : NULL;
        free(s);
        return copy;
    }
    return NULL;
}

static size_t
s_key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t) (eq - kv) : strlen(kv);
}

static int
s_env_add(s_opts_t *o, const char *key, const char *value, char **err)
{
    if (!*key || strchr(key, '=') || !value) {
        *err = fl_sprintf("cmd.run: env: bad entry '%s' (want NAME=VALUE, VALUE a string)", key);
        return -1;
    }
    o->env_owned = fl_realloc(o->env_owned, (o->env_owned_n + 1) * sizeof *o->env_owned);
    o->env_owned[o->env_owned_n++] = fl_sprintf("%s=%s", key, value);
    return 0;
}

/*  env= adds to (or replaces in) the worker's environment: an object of
    strings, or a list of "NAME=VALUE". */
static int
s_parse_env(s_opts_t *o, const json_t *env, char **err)
{
    if (json_is_object(env)) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *) env, key, value) {
            if (s_env_add(o, key, json_string_value(value), err) != 0) {
                return -1;
            }
        }
    } else if (json_is_array(env)) {
        size_t i;
        json_t *item;
        json_array_foreach(env, i, item) {
            const char *kv = json_string_value(item);
            const char *eq = kv ? strchr(kv, '=') : NULL;
            if (!eq) {
                *err = fl_sprintf("cmd.run: env: list entries must be \"NAME=VALUE\" strings");
                return -1;
            }
            char *key = fl_strndup(kv, (size_t) (eq - kv));
            int rc = s_env_add(o, key, eq + 1, err);
            free(key);
            if (rc != 0) {
                return -1;
            }
        }
    } else {
        *err = fl_sprintf("cmd.run: env must be a mapping or a list of NAME=VALUE");
        return -1;
    }
    size_t n = 0;
    while (environ && environ[n]) {
        n++;
    }
    o->envp = fl_calloc(n + o->env_owned_n + 1, sizeof *o->envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        size_t klen = s_key_len(environ[i]);
        for (size_t j = 0; j < o->env_owned_n && !replaced; j++) {
            replaced = s_key_len(o->env_owned[j]) == klen
                       && strncmp(environ[i], o->env_owned[j], klen) == 0;
        }
        if (!replaced) {
            o->envp[k++] = environ[i];
        }
    }
    for (size_t j = 0; j < o->env_owned_n; j++) {
        o->envp[k++] = o->env_owned[j];
    }
    o->envp[k] = NULL;
    return 0;
}

static int
s_parse(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, s_opts_t *o,
        char **err)
{
    size_t argc = json_array_size(args);
    if (argc == 0) {
        *err = fl_sprintf("cmd.run: no command given");
        return -1;
    }
    o->argv = fl_calloc(argc + 1, sizeof *o->argv);
    for (size_t i = 0; i < argc; i++) {
        o->argv[i] = s_arg_text(json_array_get(args, i));
        if (!o->argv[i]) {
            *err = fl_sprintf("cmd.run: argument %zu must be a string or a number (without NUL)",
                              i + 1);
            return -1;
        }
        o->argc++;
    }
    if (!*o->argv[0]) {
        *err = fl_sprintf("cmd.run: empty command");
        return -1;
    }

    bool shell = false;
    double timeout_s = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) kwargs, key, value) {
        if (strcmp(key, "shell") == 0) {
            if (fl_registry_arg_bool(value, "cmd.run: shell", &shell, err) != 0) {
                return -1;
            }
        } else if (strcmp(key, "timeout") == 0) {
            if (fl_registry_arg_seconds(value, "cmd.run: timeout", &timeout_s, err) != 0) {
                return -1;
            }
        } else if (strcmp(key, "cwd") == 0) {
            o->cwd = json_string_value(value);
            if (!o->cwd || !*o->cwd) {
                *err = fl_sprintf("cmd.run: cwd must be a directory name");
                return -1;
            }
        } else if (strcmp(key, "stdin") == 0) {
            o->stdin_data = json_string_value(value);
            if (!o->stdin_data) {
                *err = fl_sprintf("cmd.run: stdin must be a string");
                return -1;
            }
            o->stdin_len = json_string_length(value);
        } else if (strcmp(key, "env") == 0) {
            if (s_parse_env(o, value, err) != 0) {
                return -1;
            }
        } else {
            /* a misspelt timeout= must not quietly run without one */
            *err = fl_sprintf("cmd.run: unknown keyword argument '%s' "
                              "(known: cwd, env, shell, stdin, timeout)", key);
            return -1;
        }
    }

    if (o->cwd) {
        struct stat st;
        if (stat(o->cwd, &st) != 0) {
            *err = fl_sprintf("cmd.run: cwd '%s': %s", o->cwd, strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            *err = fl_sprintf("cmd.run: cwd '%s': not a directory", o->cwd);
            return -1;
        }
    }

    if (shell) {
        size_t len = 0;
        for (size_t i = 0; i < o->argc; i++) {
            len += strlen(o->argv[i]) + 1;
        }
        o->shell_cmd = fl_malloc(len);
        o->shell_cmd[0] = '\0';
        for (size_t i = 0; i < o->argc; i++) {
            if (i) {
                strcat(o->shell_cmd, " ");
            }
            strcat(o->shell_cmd, o->argv[i]);
        }
    }

    o->timeout_s = timeout_s;
    o->timeout_ms = (int64_t) (timeout_s * 1000.0);
    if (timeout_s > 0 && o->timeout_ms == 0) {
        o->timeout_ms = 1;
    }
    if (ctx && ctx->timeout_ms > 0) {
        int64_t margin = ctx->timeout_ms / 10;
        int64_t budget = ctx->timeout_ms - (margin < S_BUDGET_MARGIN_MS ? margin : S_BUDGET_MARGIN_MS);
        if (o->timeout_ms == 0 || budget < o->timeout_ms) {
            o->timeout_ms = budget > 0 ? budget : 1;
            o->timeout_s = (double) o->timeout_ms / 1000.0;
        }
    }
    return 0;
}

/*  Moves FD above stderr, so that the dup2() calls in the child never
    overwrite one pipe with another (a daemon may run with 0-2 closed).
    Returns the new fd, or -1 (FD closed either way on failure). */
static int
s_high_fd(int fd)
{
    if (fd < 0 || fd >= 3) {
        return fd;
    }
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return high;
}

static int
s_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    fds[0] = s_high_fd(fds[0]);
    fds[1] = s_high_fd(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int saved = errno;
        if (fds[0] >= 0) {
            close(fds[0]);
        }
        if (fds[1] >= 0) {
            close(fds[1]);
        }
        fds[0] = fds[1] = -1;
        errno = saved;
        return -1;
    }
    return 0;
}

static void
s_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/*  Runs in the forked child: async-signal-safe calls only, no return. */
static void __attribute__((noreturn))
s_child(const s_opts_t *o, int in_fd, int out_fd, int err_fd, int report_fd)
{
    s_report_t report = { 0, 0 };
    /* dispositions set to SIG_IGN survive exec; the command must get defaults */
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN) {
            struct sigaction dfl = { .sa_handler = SIG_DFL };
            (void) sigaction(sig, &dfl, NULL);  /* best effort: nothing to report to */
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    /* the pipes are all >= 3 (s_pipe), so these cannot clobber each other */
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
        report.stage = S_STAGE_EXEC;
        goto fail;
    }
    if (o->cwd && chdir(o->cwd) != 0) {
        report.stage = S_STAGE_CWD;
        goto fail;
    }
    if (o->envp) {
        environ = o->envp;
    }
    if (o->shell_cmd) {
        execl("/bin/sh", "sh", "-c", o->shell_cmd, (char *) NULL);
    } else {
        execvp(o->argv[0], o->argv);
    }
    report.stage = S_STAGE_EXEC;
fail:
    report.errnum = errno;
    if (write(report_fd, &report, sizeof report) != (ssize_t) sizeof report) {
        _exit(126);
    }
    _exit(127);
}

static void
s_stream_add(s_stream_t *s, const char *buf, size_t n)
{
    size_t room = MOD_CMD_MAX_OUTPUT - s->len;
    size_t take = n < room ? n : room;
    if (take > 0) {
        if (s->len + take > s->cap) {
            size_t cap = s->cap ? s->cap : 4096;
            while (cap < s->len + take) {
                cap *= 2;
            }
            s->cap = cap < MOD_CMD_MAX_OUTPUT ? cap : MOD_CMD_MAX_OUTPUT;
            s->data = fl_realloc(s->data, s->cap);
        }
        memcpy(s->data + s->len, buf, take);
        s->len += take;
    }
    s->dropped += n - take;
}

/*  Reads what is there; closes *FD at EOF or error. */
static void
s_drain(int *fd, s_stream_t *s)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            s_stream_add(s, buf, (size_t) n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        s_close(fd);
        return;
    }
}

/*  Commands print whatever bytes they like, a JSON string must be UTF-8:
    invalid sequences become U+FFFD, as Python's errors="replace" does. */
static json_t *
s_utf8_json(const char *s, size_t len)
{
    char *out = fl_malloc(3 * len + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t need = 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            need = 0;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80;
            hi = c == 0xED ? 0x9F : 0xBF;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF;
        } else {
            need = SIZE_MAX;
        }
        /* the whole sequence must be there: bytes i .. i + need */
        bool ok = need != SIZE_MAX && need < len - i;
        for (size_t k = 1; ok && k <= need; k++) {
            unsigned b = p[i + k];
            ok = k == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xBF;
        }
        if (ok) {
            memcpy(out + o, p + i, need + 1);
            o += need + 1;
            i += need + 1;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += 1;
        }
    }
    json_t *v = json_stringn(out, o);
    free(out);
    return v;
}

/*  Salt strips trailing whitespace from the output (rstrip=True); a
    truncated stream keeps its bytes and says how many were dropped. */
static json_t *
s_stream_json(s_stream_t *s, const char *note)
{
    size_t len = s->len;
    if (s->dropped == 0) {
        while (len > 0 && strchr(" \t\r\n\v\f", s->data[len - 1])) {
            len--;
        }
    }
    char *text = fl_malloc(len + 128 + (note ? strlen(note) : 0));
    if (len > 0) {
        memcpy(text, s->data, len);
    }
    int n = 0;
    if (s->dropped > 0) {
        n = snprintf(text + len, 64, "\n...[truncated %zu bytes]", s->dropped);
    }
    if (note) {
        n += sprintf(text + len + (size_t) n, "%s%s", len + (size_t) n > 0 ? "\n" : "", note);
    }
    json_t *v = s_utf8_json(text, len + (size_t) n);
    free(text);
    return v;
}

static json_t *
s_result(pid_t pid, int retcode, json_t *out, json_t *err)
{
    return json_pack("{s:i, s:i, s:o, s:o}", "pid", (int) pid, "retcode", retcode, "stdout", out,
                     "stderr", err);
}

/*  Feeds stdin, collects stdout/stderr, enforces the timeout and reaps the
    command.  Returns its retcode; *TIMED_OUT tells a kill by the deadline. */
static int
s_supervise(const s_opts_t *o, pid_t pid, int *in_fd, int *out_fd, int *err_fd, s_stream_t *out,
            s_stream_t *err, bool *timed_out)
{
    int64_t now = fl_clock_ms();
    int64_t deadline = o->timeout_ms > 0 ? now + o->timeout_ms : INT64_MAX;
    int64_t stop_at = INT64_MAX;    /* when to give up on the pipes */
    size_t stdin_off = 0;
    bool exited = false;
    int status = 0;
    *timed_out = false;
    if (*in_fd >= 0 && o->stdin_len == 0) {
        s_close(in_fd);
    }

    /* A pidfd wakes the poll the moment the command exits, so a command
       that closed its pipes is reaped at once instead of at the next tick. */
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    while (!exited || *out_fd >= 0 || *err_fd >= 0) {
        now = fl_clock_ms();
        if (now >= deadline && !*timed_out) {
            if (exited) {
                break;  /* only a background child is left holding the pipes */
            }
            /* the command and its group, the whole tree it started */
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            *timed_out = true;
            s_close(in_fd);
            stop_at = now + S_KILL_LINGER_MS;
        }
        if (now >= stop_at) {
            break;
        }
        int64_t until = deadline < stop_at ? deadline : stop_at;
        if (*timed_out) {
            until = stop_at;
        }
        int64_t wait = until - now;
        if (!exited && wait > S_TICK_MS) {
            wait = S_TICK_MS;
        }
        struct pollfd pfd[4];
        nfds_t nfds = 0;
        int *fds[3] = { out_fd, err_fd, in_fd };
        for (int i = 0; i < 3; i++) {
            if (*fds[i] >= 0) {
                pfd[nfds].fd = *fds[i];
                pfd[nfds].events = i < 2 ? POLLIN : POLLOUT;
                pfd[nfds].revents = 0;
                nfds++;
            }
        }
        if (!exited && pidfd >= 0) {
            pfd[nfds].fd = pidfd;
            pfd[nfds].events = POLLIN;
            pfd[nfds].revents = 0;
            nfds++;
        }
        int rc = poll(nfds ? pfd : NULL, nfds, (int) (wait > INT32_MAX ? INT32_MAX : wait));
        if (rc < 0 && errno != EINTR) {
            break;
        }
        for (nfds_t i = 0; rc > 0 && i < nfds; i++) {
            if (!pfd[i].revents || pfd[i].fd == pidfd) {
                continue;
            }
            if (pfd[i].fd == *out_fd) {
                s_drain(out_fd, out);
            } else if (pfd[i].fd == *err_fd) {
                s_drain(err_fd, err);
            } else if (pfd[i].revents & (POLLERR | POLLHUP)) {
                s_close(in_fd);     /* the command closed its stdin: fine */
            } else {
                ssize_t n = write(*in_fd, o->stdin_data + stdin_off, o->stdin_len - stdin_off);
                if (n > 0) {
                    stdin_off += (size_t) n;
                }
                if ((n < 0 && errno != EINTR && errno != EAGAIN) || stdin_off == o->stdin_len) {
                    s_close(in_fd);
                }
            }
        }
        if (!exited) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD)) {
                exited = true;
                s_close(in_fd);
                int64_t t = fl_clock_ms();
                if (!*timed_out) {
                    stop_at = t + S_LINGER_MS < deadline ? t + S_LINGER_MS : deadline;
                }
            }
        }
    }
    if (pidfd >= 0) {
        close(pidfd);
    }
    if (!exited) {
        /* left the loop on a poll error or after the kill: make sure it is
           gone, then reap it */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            continue;
        }
    }
    if (*timed_out) {
        return 124;
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);  /* as shells report it */
    }
    return 1;
}

int
mod_cmd_run(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs, json_t **ret)
{
    s_opts_t o = { 0 };
    char *err = NULL;
    if (s_parse(ctx, args, kwargs, &o, &err) != 0) {
        s_opts_free(&o);
        *ret = json_string(err);
        free(err);
        return 1;
    }

    int in_pipe[2] = { -1, -1 }, out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
    int report_pipe[2] = { -1, -1 };
    int devnull = -1;
    if (o.stdin_data) {
        if (s_pipe(in_pipe) != 0) {
            goto sys_fail;
        }
    } else {
        devnull = s_high_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
        if (devnull < 0) {
            goto sys_fail;
        }
        in_pipe[0] = devnull;
    }
    if (s_pipe(out_pipe) != 0 || s_pipe(err_pipe) != 0 || s_pipe(report_pipe) != 0) {
        goto sys_fail;
    }
    /* a command that does not read its stdin must give us EPIPE, not kill
       the worker with SIGPIPE */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
    if (sigaction(SIGPIPE, &ign, &old_pipe) != 0) {
        goto sys_fail;
    }

    pid_t pid = fork();
    if (pid < 0) {
        sigaction(SIGPIPE, &old_pipe, NULL);
        goto sys_fail;
    }
    if (pid == 0) {
        s_child(&o, in_pipe[0], out_pipe[1], err_pipe[1], report_pipe[1]);
    }
    /* also from here: whichever runs first, the group exists before a kill */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH) {
        /* EACCES: it has exec'd already, having set its group itself */
        kill(pid, SIGKILL);
    }
    s_close(&in_pipe[0]);
    s_close(&out_pipe[1]);
    s_close(&err_pipe[1]);
    s_close(&report_pipe[1]);

    s_report_t report;
    ssize_t n;
    while ((n = read(report_pipe[0], &report, sizeof report)) < 0 && errno == EINTR) {
        continue;
    }
    s_close(&report_pipe[0]);
    if (n == (ssize_t) sizeof report) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            continue;
        }
        sigaction(SIGPIPE, &old_pipe, NULL);
        char *msg = report.stage == S_STAGE_CWD
                        ? fl_sprintf("cmd.run: cannot change to directory '%s': %s", o.cwd,
                                     strerror(report.errnum))
                        : fl_sprintf("cmd.run: cannot execute '%s': %s",
                                     o.shell_cmd ? "/bin/sh" : o.argv[0], strerror(report.errnum));
        *ret = s_result(pid, 127, json_string(""), s_utf8_json(msg, strlen(msg)));
        free(msg);
        s_close(&in_pipe[1]);
        s_close(&out_pipe[0]);
        s_close(&err_pipe[0]);
        s_opts_free(&o);
        return 127;
    }

    int fds[3] = { in_pipe[1], out_pipe[0], err_pipe[0] };
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0) {
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        }
    }
    s_stream_t out = { 0 }, errs = { 0 };
    bool timed_out = false;
    int retcode = s_supervise(&o, pid, &in_pipe[1], &out_pipe[0], &err_pipe[0], &out, &errs,
                              &timed_out);
    sigaction(SIGPIPE, &old_pipe, NULL);
    s_close(&in_pipe[1]);
    s_close(&out_pipe[0]);
    s_close(&err_pipe[0]);

    char *note = timed_out ? fl_sprintf("cmd.run: timed out after %g s, killed", o.timeout_s) : NULL;
    *ret = s_result(pid, retcode, s_stream_json(&out, NULL), s_stream_json(&errs, note));
    free(note);
    free(out.data);
    free(errs.data);
    s_opts_free(&o);
    return retcode;

sys_fail:
    err = fl_sprintf("cmd.run: cannot start '%s': %s", o.argv[0], strerror(errno));
    *ret = json_string(err);
    free(err);
    s_close(&in_pipe[0]);
    s_close(&in_pipe[1]);
    s_close(&out_pipe[0]);
    s_close(&out_pipe[1]);
    s_close(&err_pipe[0]);
    s_close(&err_pipe[1]);
    s_close(&report_pipe[0]);
    s_close(&report_pipe[1]);
    s_opts_free(&o);
    return 1;
}
