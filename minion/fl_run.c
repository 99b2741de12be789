/*  fl_run.c: fl_run_argv, the command runner of the system states.  It is
    cmd.run's loop cut down: no stdin, plain strings out.  Whatever the
    command prints is read from both pipes with poll() (a chatty stderr
    cannot block it while we wait on stdout); past the cap the bytes are
    read and dropped, so the command never blocks on a full pipe. */
#include "fl_run.h"
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
    daemon it started may still hold open. */
#define S_LINGER_MS 500
/*  How often to look for the command's exit while its pipes stay open. */
#define S_TICK_MS 100

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static void
s_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/*  Moves FD above stderr, so that the dup2() calls in the child cannot
    overwrite one pipe with another when we run with 0-2 closed. */
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
        fds[0] = fds[1] = -1;
        return -1;
    }
    fds[0] = s_high_fd(fds[0]);
    fds[1] = s_high_fd(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        s_close(&fds[0]);
        s_close(&fds[1]);
        return -1;
    }
    return 0;
}

static size_t
s_key_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t) (eq - kv) : strlen(kv);
}

/*  environ with ENV_ADD laid over it; the strings are borrowed.  Built
    before fork(): the child may only make async-signal-safe calls. */
static char **
s_envp(const char *const *env_add)
{
    size_t n = 0, extra = 0;
    while (environ && environ[n]) {
        n++;
    }
    while (env_add[extra]) {
        extra++;
    }
    char **envp = fl_calloc(n + extra + 1, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t klen = s_key_len(environ[i]);
        bool replaced = false;
        for (size_t j = 0; j < extra && !replaced; j++) {
            replaced = s_key_len(env_add[j]) == klen && strncmp(environ[i], env_add[j], klen) == 0;
        }
        if (!replaced) {
            envp[k++] = environ[i];
        }
    }
    for (size_t j = 0; j < extra; j++) {
        envp[k++] = (char *) env_add[j];
    }
    envp[k] = NULL;
    return envp;
}

/*  Runs in the forked child: async-signal-safe calls only, no return.
    Reports a failed exec as errno on REPORT_FD (close-on-exec, so the
    parent reads EOF when the exec works). */
static void __attribute__((noreturn))
s_child(char *const argv[], char **envp, int null_fd, int out_fd, int err_fd, int report_fd)
{
    /* ignored signals stay ignored across exec: the command gets defaults */
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN) {
            struct sigaction dfl = { .sa_handler = SIG_DFL };
            (void) sigaction(sig, &dfl, NULL);  /* best effort: nobody to tell */
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    if (dup2(null_fd, 0) >= 0 && dup2(out_fd, 1) >= 0 && dup2(err_fd, 2) >= 0) {
        if (envp) {
            environ = envp;
        }
        execvp(argv[0], argv);
    }
    int errnum = errno;
    if (write(report_fd, &errnum, sizeof errnum) != (ssize_t) sizeof errnum) {
        _exit(126);
    }
    _exit(FL_RUN_NOEXEC);
}

/*  Reads what is there into B (keeping the first FL_RUN_MAX_OUTPUT bytes);
    closes *FD at EOF or on error. */
static void
s_drain(int *fd, s_buf_t *b)
{
    char chunk[8192];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof chunk);
        if (n > 0) {
            size_t room = FL_RUN_MAX_OUTPUT - b->len;
            size_t take = (size_t) n < room ? (size_t) n : room;
            if (take > 0) {
                b->data = fl_realloc(b->data, b->len + take + 1);
                memcpy(b->data + b->len, chunk, take);
                b->len += take;
            }
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

static char *
s_text(s_buf_t *b)
{
    if (!b->data) {
        return fl_strdup("");
    }
    b->data[b->len] = '\0';
    char *text = b->data;
    b->data = NULL;
    return text;
}

/*  Collects the output, enforces the deadline and reaps PID.  Returns
    the status as fl_run_argv does. */
static int
s_supervise(pid_t pid, int timeout_ms, int *out_fd, int *err_fd, s_buf_t *out, s_buf_t *err)
{
    int64_t deadline = timeout_ms > 0 ? fl_clock_ms() + timeout_ms : INT64_MAX;
    int64_t stop_at = INT64_MAX;    /* when to give up on the pipes */
    bool exited = false, timed_out = false, lost = false;
    int status = 0;
    /* The pidfd wakes the poll as soon as the command exits. */
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    while (!exited || *out_fd >= 0 || *err_fd >= 0) {
        int64_t now = fl_clock_ms();
        if (now >= stop_at) {
            break;
        }
        if (now >= deadline) {
            if (!exited) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                timed_out = true;
            }
            break;
        }
        int64_t until = deadline < stop_at ? deadline : stop_at;
        int64_t wait_ms = until - now;
        if (!exited && wait_ms > S_TICK_MS) {
            wait_ms = S_TICK_MS;
        }
        struct pollfd pfd[3];
        nfds_t nfds = 0;
        if (*out_fd >= 0) {
            pfd[nfds++] = (struct pollfd) { .fd = *out_fd, .events = POLLIN };
        }
        if (*err_fd >= 0) {
            pfd[nfds++] = (struct pollfd) { .fd = *err_fd, .events = POLLIN };
        }
        if (!exited && pidfd >= 0) {
            pfd[nfds++] = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        }
        int rc = poll(nfds ? pfd : NULL, nfds, (int) wait_ms);
        if (rc < 0 && errno != EINTR) {
            break;
        }
        for (nfds_t i = 0; rc > 0 && i < nfds; i++) {
            if (!pfd[i].revents || pfd[i].fd == pidfd) {
                continue;
            }
            if (pfd[i].fd == *out_fd) {
                s_drain(out_fd, out);
            } else {
                s_drain(err_fd, err);
            }
        }
        if (!exited) {
            pid_t r = waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD)) {
                /* ECHILD: someone else reaped it; its status is gone */
                lost = r != pid;
                exited = true;
                int64_t linger = fl_clock_ms() + S_LINGER_MS;
                stop_at = linger < deadline ? linger : deadline;
            }
        }
    }
    if (pidfd >= 0) {
        close(pidfd);
    }
    if (!exited) {
        /* a poll error or the deadline: make sure it is gone, then reap */
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            continue;
        }
    }
    if (timed_out) {
        return FL_RUN_TIMEOUT;
    }
    if (lost) {
        errno = ECHILD;
        return -1;
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return 1;
}

int
fl_run_argv(char *const argv[], const char *const *env_add, int timeout_ms, char **out,
            char **err)
{
    if (!argv || !argv[0] || !*argv[0]) {
        if (out) {
            *out = fl_strdup("");
        }
        if (err) {
            *err = fl_strdup("no command given");
        }
        errno = EINVAL;
        return -1;
    }
    int null_fd = -1, out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
    int report_pipe[2] = { -1, -1 };
    char **envp = env_add ? s_envp(env_add) : NULL;
    s_buf_t obuf = { NULL, 0 }, ebuf = { NULL, 0 };
    int rc = -1;
    struct sigaction old_chld;
    bool chld_ignored = false;

    null_fd = s_high_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null_fd < 0 || s_pipe(out_pipe) != 0 || s_pipe(err_pipe) != 0
        || s_pipe(report_pipe) != 0) {
        goto sys_fail;
    }
    /* an ignored SIGCHLD makes the kernel reap the command before we can
       read its status: default it for the duration */
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    chld_ignored = sigaction(SIGCHLD, NULL, &old_chld) == 0 && old_chld.sa_handler == SIG_IGN;
    if (chld_ignored) {
        sigaction(SIGCHLD, &dfl, NULL);
    }
    pid_t pid = fork();
    if (pid < 0) {
        goto sys_fail;
    }
    if (pid == 0) {
        s_child(argv, envp, null_fd, out_pipe[1], err_pipe[1], report_pipe[1]);
    }
    /* also from here, so that the group exists before any kill of it */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH) {
        kill(pid, SIGKILL);
    }
    s_close(&null_fd);
    s_close(&out_pipe[1]);
    s_close(&err_pipe[1]);
    s_close(&report_pipe[1]);

    int errnum = 0;
    ssize_t n;
    while ((n = read(report_pipe[0], &errnum, sizeof errnum)) < 0 && errno == EINTR) {
        continue;
    }
    s_close(&report_pipe[0]);
    if (n == (ssize_t) sizeof errnum) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            continue;
        }
        ebuf.data = fl_sprintf("cannot execute '%s': %s", argv[0], strerror(errnum));
        ebuf.len = strlen(ebuf.data);
        rc = FL_RUN_NOEXEC;
    } else {
        fcntl(out_pipe[0], F_SETFL, fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);
        fcntl(err_pipe[0], F_SETFL, fcntl(err_pipe[0], F_GETFL) | O_NONBLOCK);
        rc = s_supervise(pid, timeout_ms, &out_pipe[0], &err_pipe[0], &obuf, &ebuf);
        if (rc == FL_RUN_TIMEOUT || rc < 0) {
            char *note = rc < 0 ? fl_sprintf("%s%s: exit status lost (reaped elsewhere)",
                                             ebuf.len ? "\n" : "", argv[0])
                                : fl_sprintf("%s%s: timed out after %d ms, killed",
                                             ebuf.len ? "\n" : "", argv[0], timeout_ms);
            size_t nlen = strlen(note);
            ebuf.data = fl_realloc(ebuf.data, ebuf.len + nlen + 1);
            memcpy(ebuf.data + ebuf.len, note, nlen);
            ebuf.len += nlen;
            free(note);
        }
    }
    goto done;

sys_fail:
    free(ebuf.data);
    ebuf.data = fl_sprintf("cannot start '%s': %s", argv[0], strerror(errno));
    ebuf.len = strlen(ebuf.data);
    rc = -1;
done:
    if (chld_ignored) {
        sigaction(SIGCHLD, &old_chld, NULL);
    }
    s_close(&null_fd);
    s_close(&out_pipe[0]);
    s_close(&out_pipe[1]);
    s_close(&err_pipe[0]);
    s_close(&err_pipe[1]);
    s_close(&report_pipe[0]);
    s_close(&report_pipe[1]);
    free(envp);
    if (out) {
        *out = s_text(&obuf);
    }
    if (err) {
        *err = s_text(&ebuf);
    }
    free(obuf.data);
    free(ebuf.data);
    return rc;
}

bool
fl_run_have(const char *prog)
{
    if (!prog || !*prog) {
        return false;
    }
    if (strchr(prog, '/')) {
        return access(prog, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) {
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    }
    bool found = false;
    const char *p = path;
    while (!found) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        char *full = len ? fl_sprintf("%.*s/%s", (int) len, p, prog) : fl_sprintf("./%s", prog);
        struct stat st;
        found = stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0;
        free(full);
        if (!end) {
            break;
        }
        p = end + 1;
    }
    return found;
}

char *
fl_run_text(char *const argv[])
{
    size_t len = 1;
    for (size_t i = 0; argv && argv[i]; i++) {
        len += strlen(argv[i]) + 1;
    }
    char *text = fl_malloc(len);
    text[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; argv && argv[i]; i++) {
        off += (size_t) sprintf(text + off, "%s%s", i ? " " : "", argv[i]);
    }
    return text;
}

void
fl_run_args_add(fl_run_args_t *args, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *arg = fl_vsprintf(fmt, ap);
    va_end(ap);
    args->argv = fl_realloc(args->argv, (args->argc + 2) * sizeof *args->argv);
    args->argv[args->argc++] = arg;
    args->argv[args->argc] = NULL;
}

void
fl_run_args_free(fl_run_args_t *args)
{
    for (size_t i = 0; i < args->argc; i++) {
        free(args->argv[i]);
    }
    free(args->argv);
    args->argv = NULL;
    args->argc = 0;
}
