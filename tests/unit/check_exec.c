/*  check_exec.c: job workers driven the way the minion's loop drives them:
    poll() on fl_exec_fd(), fl_exec_on_readable(), fl_exec_check_timeout(). */
#include "fl_test.h"
#include "fl_exec.h"
#include "fl_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

/*  Generous: only there so that a broken worker fails the test instead of
    hanging it. */
#define S_GIVE_UP_MS 15000

static char *s_dir;

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
}

static void
s_teardown(void)
{
    fl_test_tmpdir_free(&s_dir);
}

static fl_exec_t *
s_start(const char *fun, const char *args_json, const char *kwargs_json, int timeout_ms)
{
    json_t *args = json_loads(args_json ? args_json : "[]", 0, NULL);
    json_t *kwargs = json_loads(kwargs_json ? kwargs_json : "{}", 0, NULL);
    ck_assert_ptr_nonnull(args);
    ck_assert_ptr_nonnull(kwargs);
    json_t *grains = json_pack("{s:s}", "id", "pi-001");
    fl_exec_req_t req = {
        .jid = "20240101000000000001",
        .fun = fun,
        .args = args,
        .kwargs = kwargs,
        .ctx = { .minion_id = "pi-001", .grains = grains, .root_dir = "", .timeout_ms = timeout_ms },
    };
    char *err = NULL;
    fl_exec_t *job = fl_exec_start(&req, &err);
    ck_assert_msg(job != NULL, "fl_exec_start: %s", err ? err : "?");
    /* the request is only borrowed: the worker has its own copy */
    json_decref(args);
    json_decref(kwargs);
    json_decref(grains);
    return job;
}

/*  Drives JOBS[0..N) to their ends as an event loop would. */
static void
s_run(fl_exec_t **jobs, size_t n)
{
    int64_t give_up = fl_clock_ms() + S_GIVE_UP_MS;
    bool done[8] = { false };
    ck_assert_uint_le(n, FL_ARRAY_LEN(done));
    for (;;) {
        struct pollfd pfd[8];
        size_t map[8];
        nfds_t nfds = 0;
        int64_t now = fl_clock_ms();
        int64_t next = give_up;
        for (size_t i = 0; i < n; i++) {
            if (!done[i] && fl_exec_check_timeout(jobs[i], now)) {
                done[i] = true;
            }
            if (!done[i]) {
                pfd[nfds] = (struct pollfd) { .fd = fl_exec_fd(jobs[i]), .events = POLLIN };
                map[nfds++] = i;
                if (fl_exec_deadline_ms(jobs[i]) < next) {
                    next = fl_exec_deadline_ms(jobs[i]);
                }
            }
        }
        if (nfds == 0) {
            return;
        }
        ck_assert_msg(now < give_up, "jobs did not finish");
        int64_t wait = next > now ? next - now : 0;
        int rc = poll(pfd, nfds, (int) (wait < 1000 ? wait : 1000));
        ck_assert(rc >= 0 || errno == EINTR);
        for (nfds_t k = 0; rc > 0 && k < nfds; k++) {
            if (pfd[k].revents && fl_exec_on_readable(jobs[map[k]])) {
                done[map[k]] = true;
            }
        }
    }
}

static const json_t *
s_run_one(fl_exec_t *job)
{
    s_run(&job, 1);
    const json_t *result = fl_exec_result(job);
    ck_assert_ptr_nonnull(result);
    ck_assert(json_is_boolean(json_object_get(result, "success")));
    ck_assert(json_is_integer(json_object_get(result, "retcode")));
    ck_assert_ptr_nonnull(json_object_get(result, "ret"));
    return result;
}

static int
s_retcode(const json_t *result)
{
    return (int) json_integer_value(json_object_get(result, "retcode"));
}

static const char *
s_ret_str(const json_t *result)
{
    const char *s = json_string_value(json_object_get(result, "ret"));
    ck_assert_msg(s != NULL, "ret is not a string");
    return s;
}

/*  The session id of PID (field 6 of /proc/PID/stat), or -1. */
static int
s_session_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    char *stat = fl_file_read(path, 4096, NULL);
    const char *rp = stat ? strrchr(stat, ')') : NULL;
    char state;
    int ppid, pgrp, session = -1;
    if (!rp || sscanf(rp + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session) != 4) {
        session = -1;
    }
    free(stat);
    return session;
}

static bool
s_gone(pid_t pid, int wait_ms)
{
    int64_t until = fl_clock_ms() + wait_ms;
    for (;;) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        char *stat = fl_file_read(path, 4096, NULL);
        const char *rp = stat ? strrchr(stat, ')') : NULL;
        bool gone = !stat || (rp && rp[1] == ' ' && rp[2] == 'Z');
        free(stat);
        if (gone) {
            return true;
        }
        if (fl_clock_ms() >= until) {
            return false;
        }
        usleep(10 * 1000);
    }
}

START_TEST(test_exec_usage)
{
    /* Start a job, watch its fd from the loop, read its result. */
    fl_exec_req_t req = { .jid = "20240101000000000001", .fun = "test.ping",
                          .ctx = { .minion_id = "pi-001", .timeout_ms = 10000 } };
    char *err = NULL;
    fl_exec_t *job = fl_exec_start(&req, &err);
    ck_assert_ptr_nonnull(job);
    ck_assert_str_eq(fl_exec_jid(job), "20240101000000000001");
    ck_assert_int_gt(fl_exec_pid(job), 0);

    int done = 0;
    while (!done) {
        struct pollfd pfd = { .fd = fl_exec_fd(job), .events = POLLIN };
        int64_t wait = fl_exec_deadline_ms(job) - fl_clock_ms();
        if (poll(&pfd, 1, (int) (wait > 0 ? wait : 0)) > 0) {
            done = fl_exec_on_readable(job);
        } else {
            done = fl_exec_check_timeout(job, fl_clock_ms());
        }
    }
    const json_t *result = fl_exec_result(job);
    ck_assert(json_is_true(json_object_get(result, "ret")));
    ck_assert_int_eq(s_retcode(result), 0);
    ck_assert(json_is_true(json_object_get(result, "success")));
    fl_exec_destroy(&job);
    ck_assert_ptr_null(job);
    fl_exec_destroy(&job);      /* safe twice */
}
END_TEST

START_TEST(test_exec_refused)
{
    char *err = NULL;
    fl_exec_req_t req = { .jid = "1", .fun = "test.nope" };
    ck_assert_ptr_null(fl_exec_start(&req, &err));
    ck_assert_ptr_nonnull(strstr(err, "unknown function 'test.nope'"));
    free(err);
    err = NULL;
    /* arity is checked before anything is forked */
    json_t *args = json_pack("[s, s]", "a", "b");
    req.fun = "test.echo";
    req.args = args;
    ck_assert_ptr_null(fl_exec_start(&req, &err));
    ck_assert_ptr_nonnull(strstr(err, "at most 1"));
    free(err);
    err = NULL;
    json_decref(args);
    json_t *not_a_list = json_string("x");
    req.args = not_a_list;
    ck_assert_ptr_null(fl_exec_start(&req, &err));
    ck_assert_ptr_nonnull(err);
    free(err);
    json_decref(not_a_list);
}
END_TEST

START_TEST(test_exec_results)
{
    fl_exec_t *job = s_start("test.echo", "[{\"k\": [1, \"two\"]}]", NULL, 10000);
    const json_t *result = s_run_one(job);
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(result, "ret"), "k"), 1)),
                     "two");
    fl_exec_destroy(&job);

    /* the handler's retcode is the job's */
    job = s_start("cmd.run", "[\"sh\", \"-c\", \"echo out; exit 3\"]", NULL, 10000);
    result = s_run_one(job);
    ck_assert_int_eq(s_retcode(result), 3);
    ck_assert(json_is_false(json_object_get(result, "success")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(result, "ret"), "stdout")),
                     "out");
    fl_exec_destroy(&job);

    job = s_start("grains.get", "[\"id\"]", NULL, 10000);
    ck_assert_str_eq(s_ret_str(s_run_one(job)), "pi-001");
    fl_exec_destroy(&job);

    /* what a job runs knows its job id and its worker (the minion's
       postinst waits for that worker before restarting the minion) */
    job = s_start("cmd.run", "[\"sh\", \"-c\", \"echo $FLEET_JID $FLEET_WORKER_PID\"]", NULL,
                  10000);
    char *want = fl_sprintf("20240101000000000001 %d", (int) fl_exec_pid(job));
    result = s_run_one(job);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(result, "ret"), "stdout")),
                     want);
    free(want);
    fl_exec_destroy(&job);
}
END_TEST

START_TEST(test_exec_timeout)
{
    fl_exec_t *job = s_start("test.sleep", "[30]", NULL, 300);
    pid_t pid = fl_exec_pid(job);
    int64_t start = fl_clock_ms();
    const json_t *result = s_run_one(job);
    ck_assert_int_lt(fl_clock_ms() - start, S_GIVE_UP_MS);
    ck_assert_int_eq(s_retcode(result), FL_EXEC_RETCODE_TIMEOUT);
    ck_assert(json_is_false(json_object_get(result, "success")));
    ck_assert_str_eq(s_ret_str(result), "job timed out after 0.3 s");
    /* the worker's process group is gone */
    ck_assert_int_eq(kill(-pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    fl_exec_destroy(&job);
}
END_TEST

START_TEST(test_exec_destroy_kills_commands)
{
    /* cmd.run puts its command in a process group of its own; killing the
       worker (destroy here, the deadline alike) sweeps its session, so the
       command goes with it. */
    char *pidfile = fl_sprintf("%s/pid", s_dir);
    char *args = fl_sprintf("[\"sh\", \"-c\", \"echo $$ > %s; exec sleep 30\"]", pidfile);
    fl_exec_t *job = s_start("cmd.run", args, NULL, 0);
    pid_t cmd = 0;
    int64_t give_up = fl_clock_ms() + S_GIVE_UP_MS;
    while (cmd <= 0) {
        char *text = fl_file_read(pidfile, 64, NULL);
        cmd = text ? (pid_t) atoi(text) : 0;
        free(text);
        ck_assert_msg(fl_clock_ms() < give_up, "the command never started");
        usleep(10 * 1000);
    }
    ck_assert_int_eq(s_session_of(cmd), fl_exec_pid(job));
    ck_assert_int_eq(fl_exec_deadline_ms(job), INT64_MAX);    /* no limit given */
    /* destroying a running job kills it and all it started */
    fl_exec_destroy(&job);
    ck_assert_msg(s_gone(cmd, 5000), "command %d survived its job", (int) cmd);
    free(args);
    free(pidfile);
}
END_TEST

START_TEST(test_exec_parallel)
{
    fl_exec_t *jobs[3] = {
        s_start("test.sleep", "[0.5]", NULL, 10000),
        s_start("test.sleep", "[\"0.5\"]", NULL, 10000),
        s_start("test.echo", "[\"quick\"]", NULL, 10000),
    };
    ck_assert_int_ne(fl_exec_pid(jobs[0]), fl_exec_pid(jobs[1]));
    s_run(jobs, 3);
    for (size_t i = 0; i < 3; i++) {
        const json_t *result = fl_exec_result(jobs[i]);
        ck_assert_ptr_nonnull(result);
        ck_assert_int_eq(s_retcode(result), 0);
        fl_exec_destroy(&jobs[i]);
    }
}
END_TEST

START_TEST(test_exec_worker_killed)
{
    fl_exec_t *job = s_start("test.sleep", "[30]", NULL, 0);
    pid_t pid = fl_exec_pid(job);
    /* setsid() comes after the signal reset: once it shows, SIGSEGV has its
       default action (and the worker, not dumpable, leaves no core) */
    int64_t give_up = fl_clock_ms() + S_GIVE_UP_MS;
    while (s_session_of(pid) != pid) {
        ck_assert_msg(fl_clock_ms() < give_up, "worker never called setsid");
        usleep(5 * 1000);
    }
    ck_assert_int_eq(kill(pid, SIGSEGV), 0);
    const json_t *result = s_run_one(job);
    ck_assert_int_eq(s_retcode(result), FL_EXEC_RETCODE_WORKER);
    ck_assert(json_is_false(json_object_get(result, "success")));
    ck_assert_str_eq(s_ret_str(result), "job worker died: signal 11 (Segmentation fault)");
    fl_exec_destroy(&job);
}
END_TEST

START_TEST(test_exec_worker_fds)
{
    /* an fd the minion holds (say, its ZeroMQ socket) never reaches a job */
    int leak = open("/dev/null", O_RDONLY);     /* no O_CLOEXEC on purpose */
    ck_assert_int_ge(leak, 3);
    fl_exec_t *job = s_start("cmd.run", "[\"ls\", \"/proc/self/fd\"]", NULL, 10000);
    const json_t *result = s_run_one(job);
    ck_assert_int_eq(s_retcode(result), 0);
    const char *out = json_string_value(json_object_get(json_object_get(result, "ret"), "stdout"));
    /* 0, 1, 2 and the directory ls itself has open */
    int count = 0;
    for (const char *p = out; *p; p++) {
        count += *p == '\n';
    }
    ck_assert_msg(count + 1 <= 4, "fds in a job: %s", out);
    fl_exec_destroy(&job);
    close(leak);
}
END_TEST

START_TEST(test_exec_result_too_large)
{
    /* a return over FL_EXEC_MAX_RESULT becomes an error, not a cut document */
    size_t big = FL_EXEC_MAX_RESULT + 1000;
    char *text = fl_malloc(big + 1);
    memset(text, 'y', big);
    text[big] = '\0';
    json_t *args = json_pack("[s]", text);
    fl_exec_req_t req = { .jid = "2", .fun = "test.echo", .args = args,
                          .ctx = { .timeout_ms = 10000 } };
    char *err = NULL;
    fl_exec_t *job = fl_exec_start(&req, &err);
    ck_assert_ptr_nonnull(job);
    const json_t *result = s_run_one(job);
    ck_assert_int_eq(s_retcode(result), FL_EXEC_RETCODE_WORKER);
    ck_assert_ptr_nonnull(strstr(s_ret_str(result), "too large"));
    fl_exec_destroy(&job);
    json_decref(args);
    free(text);
}
END_TEST

Suite *suite_exec(void);

Suite *
suite_exec(void)
{
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("exec");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_exec_usage);
    tcase_add_test(tc, test_exec_refused);
    tcase_add_test(tc, test_exec_results);
    tcase_add_test(tc, test_exec_timeout);
    tcase_add_test(tc, test_exec_destroy_kills_commands);
    tcase_add_test(tc, test_exec_parallel);
    tcase_add_test(tc, test_exec_worker_killed);
    tcase_add_test(tc, test_exec_worker_fds);
    tcase_add_test(tc, test_exec_result_too_large);
    suite_add_tcase(s, tc);
    return s;
}
