/*  check_docker.c: the container driver (fl_container.c), its Docker Engine
    API backend (fl_docker.c) and the container.* handlers (mod_container.c)
    against a real engine: podman's compatible service and a registry,
    private to this suite (tests/engine.sh), started once for the whole
    test case by an unchecked fixture and stopped by its PIDs afterwards.

    The engine is not optional: when podman (or the registry, or busybox)
    is missing, every test fails and says so; CI installs them. */
#include "fl_test.h"
#include "fl_container.h"
#include "mod_container.h"
#include "fl_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ENGINE_SH "tests/engine.sh"

/*  The suite's engine (set up in the parent process, seen by each forked test). */
static char *s_dir;         /* the engine's private directory */
static char *s_sock;        /* its API socket; NULL when it did not start */
static char *s_ref;         /* 127.0.0.1:PORT/app:staging, in the registry */
static char *s_ref_latest;  /* 127.0.0.1:PORT/app:latest */
static char s_why[2048];    /* why the engine is not there */

/*  Runs tests/engine.sh ARGS (no shell), with stdin from /dev/null and
    every other descriptor closed, so the daemons it leaves running hold
    nothing of ours.  Returns its exit status (-1 when it could not run) and
    the last line of its output in LAST. */
static int
s_engine_sh(char *last, size_t last_size, const char *const *argv)
{
    int fds[2];
    last[0] = '\0';
    if (pipe(fds) != 0) {
        snprintf(last, last_size, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(last, last_size, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0) {
            _exit(126);
        }
        closefrom(3);
        execv(S_ENGINE_SH, (char *const *) argv);
        _exit(127);
    }
    close(fds[1]);
    char out[65536];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], out + len, sizeof out - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
        if (len == sizeof out - 1) {
            len = 0;    /* keep reading; only the end matters */
        }
    }
    close(fds[0]);
    out[len] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        continue;
    }
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r')) {
        out[--len] = '\0';
    }
    const char *nl = strrchr(out, '\n');
    const char *line = nl ? nl + 1 : out;
    size_t n = strlen(line) < last_size - 1 ? strlen(line) : last_size - 1;
    memcpy(last, line, n);
    last[n] = '\0';
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool
s_have(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy = fl_strdup(path && *path ? path : "/usr/bin:/bin:/usr/sbin:/sbin");
    bool found = false;
    for (char *dir = strtok(copy, ":"); dir && !found; dir = strtok(NULL, ":")) {
        char *full = fl_sprintf("%s/%s", dir, prog);
        found = access(full, X_OK) == 0;
        free(full);
    }
    free(copy);
    return found;
}

/*  A loopback port nobody listens on now, for the suite's registry (a
    fixed port would clash with another run of the suite). */
static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sa_len = sizeof sa;
    int port = 5151;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0
        && getsockname(fd, (struct sockaddr *) &sa, &sa_len) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

static void
s_engine_up(void)
{
    static const char *const needed[] = { "podman", "runc", "docker-registry", "busybox", "curl" };
    for (size_t i = 0; i < FL_ARRAY_LEN(needed); i++) {
        if (!s_have(needed[i])) {
            snprintf(s_why, sizeof s_why,
                     "%s is not installed: the docker suite needs podman, runc, docker-registry, "
                     "busybox-static and curl (apt-get install -y podman runc docker-registry "
                     "busybox-static curl)", needed[i]);
            return;
        }
    }
    if (access(S_ENGINE_SH, X_OK) != 0) {
        snprintf(s_why, sizeof s_why,
                 "cannot run %s (%s): run check_fleet from the repository root",
                 S_ENGINE_SH, strerror(errno));
        return;
    }
    s_dir = fl_test_tmpdir();
    char port[16], last[1024];
    snprintf(port, sizeof port, "%d", s_free_port());
    const char *const start[] = { S_ENGINE_SH, "start", s_dir, port, NULL };
    if (s_engine_sh(last, sizeof last, start) != 0 || last[0] != '/') {
        snprintf(s_why, sizeof s_why, "%s start %s %s failed: %s", S_ENGINE_SH, s_dir, port, last);
        return;
    }
    char *sock = fl_strdup(last);
    const char *const staging[] = { S_ENGINE_SH, "image", s_dir, "app:staging", "hello", NULL };
    const char *const latest[] = { S_ENGINE_SH, "image", s_dir, "app:latest", "newest", NULL };
    if (s_engine_sh(last, sizeof last, staging) != 0) {
        snprintf(s_why, sizeof s_why, "%s image app:staging failed: %s", S_ENGINE_SH, last);
        free(sock);
        return;
    }
    s_ref = fl_strdup(last);
    if (s_engine_sh(last, sizeof last, latest) != 0) {
        snprintf(s_why, sizeof s_why, "%s image app:latest failed: %s", S_ENGINE_SH, last);
        free(sock);
        return;
    }
    s_ref_latest = fl_strdup(last);
    s_sock = sock;
}

static void
s_engine_down(void)
{
    if (s_dir) {
        char last[1024];
        const char *const stop[] = { S_ENGINE_SH, "stop", s_dir, NULL };
        s_engine_sh(last, sizeof last, stop);
        fl_test_tmpdir_free(&s_dir);
    }
    free(s_sock);
    free(s_ref);
    free(s_ref_latest);
    s_sock = s_ref = s_ref_latest = NULL;
}

/*  A driver on the suite's engine; fails the test when there is none. */
static fl_container_t *
s_driver(void)
{
    ck_assert_msg(s_sock != NULL, "no container engine for the docker suite: %s", s_why);
    fl_container_t *c = fl_container_new(fl_container_docker_ops(), s_sock);
    ck_assert_ptr_nonnull(c);
    return c;
}

#define S_OK(call)                                                                    \
    do {                                                                              \
        char *err_ = NULL;                                                            \
        int rc_ = (call);                                                             \
        ck_assert_msg(rc_ == 0, "%s: rc %d: %s", #call, rc_, err_ ? err_ : "(none)"); \
        ck_assert_ptr_null(err_);                                                     \
    } while (0)

/*  Removes container NAME if it is there (leftovers of a failed run). */
static void
s_gone(fl_container_t *c, const char *name)
{
    char *err = NULL;
    int rc = fl_container_ops(c)->remove(fl_container_impl(c), name, true, &err);
    ck_assert_msg(rc == 0 || rc == 1, "remove %s: %s", name, err ? err : "");
    free(err);
}

/*  The image is in the engine's storage (pulled from the registry). */
static void
s_have_image(fl_container_t *c, const char *ref)
{
    char *err = NULL;
    int rc = fl_container_ops(c)->pull(fl_container_impl(c), ref, &err);
    ck_assert_msg(rc == 0, "pull %s: %s", ref, err ? err : "");
}

static bool
s_list_has(const json_t *list, const char *value)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), value) == 0) {
            return true;
        }
    }
    return false;
}

/*  Creates and starts NAME from the staging image running CMD (sh -c). */
static char *
s_start(fl_container_t *c, const char *name, const char *cmd, bool tty)
{
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    s_gone(c, name);
    s_have_image(c, s_ref);
    json_t *config = json_pack("{s:s, s:[s,s,s], s:b}", "Image", s_ref, "Cmd", "sh", "-c", cmd,
                               "Tty", tty);
    char *id = NULL, *err = NULL;
    int rc = ops->create(impl, name, config, &id, &err);
    ck_assert_msg(rc == 0, "create %s: %s", name, err ? err : "");
    rc = ops->start(impl, name, &err);
    ck_assert_msg(rc == 0, "start %s: %s", name, err ? err : "");
    json_decref(config);
    return id;
}

static char *
s_text(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/*  Polls NAME's logs until they hold WANT (30 s at most). */
static char *
s_wait_logs(fl_container_t *c, const char *name, int tail, const char *want)
{
    int64_t deadline = fl_clock_ms() + 30000;
    for (;;) {
        char *text = NULL, *err = NULL;
        int rc = fl_container_ops(c)->logs(fl_container_impl(c), name, tail, &text, &err);
        ck_assert_msg(rc == 0, "logs %s: rc %d: %s", name, rc, err ? err : "");
        if (strstr(text, want) || fl_clock_ms() > deadline) {
            return text;
        }
        free(text);
        usleep(100 * 1000);
    }
}

/*  The canonical usage: a driver on the engine's socket, one call. */
START_TEST(test_docker_usage)
{
    fl_container_t *c = s_driver();
    ck_assert_str_eq(fl_container_socket(c), s_sock);
    ck_assert_str_eq(fl_container_ops(c)->name, "docker");
    json_t *version = NULL;
    char *err = NULL;
    int rc = fl_container_ops(c)->version(fl_container_impl(c), &version, &err);
    ck_assert_msg(rc == 0, "version: %s", err ? err : "");
    ck_assert_msg(json_is_string(json_object_get(version, "ApiVersion")), "no ApiVersion");
    ck_assert_msg(json_is_string(json_object_get(version, "Version")), "no Version");
    json_decref(version);
    fl_container_destroy(&c);
    ck_assert_ptr_null(c);
    fl_container_destroy(&c);   /* safe twice */
    fl_container_destroy(NULL);
}
END_TEST

START_TEST(test_docker_available)
{
    char *dir = fl_test_tmpdir();
    char *file = fl_test_write(dir, "plain", "not a socket\n");
    char *missing = fl_sprintf("%s/missing.sock", dir);
    ck_assert(!fl_container_available(NULL));
    ck_assert(!fl_container_available(""));
    ck_assert(!fl_container_available(missing));
    ck_assert(!fl_container_available(file));
    ck_assert(!fl_container_available(dir));
    ck_assert_msg(s_sock != NULL, "no container engine for the docker suite: %s", s_why);
    ck_assert(fl_container_available(s_sock));
    fl_mod_ctx_t ctx = { .container_socket = s_sock };
    ck_assert(mod_container_available(&ctx));
    ctx.container_socket = missing;
    ck_assert(!mod_container_available(&ctx));
    ck_assert_ptr_null(fl_container_new(fl_container_docker_ops(), ""));
    free(missing);
    free(file);
    fl_test_tmpdir_free(&dir);
}
END_TEST

/*  An image pushed to the registry and gone from the engine comes back by
    a pull: by tag, without a tag (latest) and by digest. */
START_TEST(test_docker_pull)
{
    fl_container_t *c = s_driver();
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    char *err = NULL;
    json_t *info = NULL;
    int rc = ops->image_remove(impl, s_ref, true, &err);
    ck_assert_msg(rc == 0 || rc == 1, "image_remove: %s", err ? err : "");
    ck_assert_int_eq(ops->image_inspect(impl, s_ref, &info, &err), 1);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(ops->image_remove(impl, s_ref, false, &err), 1);

    S_OK(ops->pull(impl, s_ref, &err_));
    S_OK(ops->image_inspect(impl, s_ref, &info, &err_));
    ck_assert(s_list_has(json_object_get(info, "RepoTags"), s_ref));
    /* the engine keeps more than one digest (its own manifest's and the
       registry's): the pull by digest must work for one of those of the
       registry's repository */
    json_t *digests = json_incref(json_object_get(info, "RepoDigests"));
    ck_assert_uint_gt(json_array_size(digests), 0);
    json_decref(info);

    /* no tag: latest */
    char *untagged = fl_strndup(s_ref_latest, strlen(s_ref_latest) - strlen(":latest"));
    ck_assert_int_eq(ops->image_remove(impl, s_ref_latest, true, &err) >= 0, 1);
    S_OK(ops->pull(impl, untagged, &err_));
    S_OK(ops->image_inspect(impl, s_ref_latest, &info, &err_));
    json_decref(info);

    /* by digest */
    char *repo = fl_strndup(s_ref, strlen(s_ref) - strlen(":staging"));
    char *prefix = fl_sprintf("%s@sha256:", repo);
    bool pulled = false;
    size_t i;
    json_t *d;
    json_array_foreach(digests, i, d) {
        const char *digest = json_string_value(d);
        if (!pulled && strncmp(digest, prefix, strlen(prefix)) == 0) {
            pulled = ops->pull(impl, digest, &err) == 0;
            free(err);
            err = NULL;
        }
    }
    char *text = s_text(digests);
    ck_assert_msg(pulled, "no pull by digest worked: %s", text);
    free(text);
    free(prefix);
    free(repo);
    json_decref(digests);

    /* the images list holds it */
    json_t *images = NULL;
    S_OK(ops->images(impl, &images, &err_));
    bool found = false;
    json_t *img;
    json_array_foreach(images, i, img) {
        found = found || s_list_has(json_object_get(img, "RepoTags"), s_ref);
    }
    ck_assert_msg(found, "%s not in /images/json", s_ref);
    json_decref(images);
    free(untagged);
    fl_container_destroy(&c);
}
END_TEST

START_TEST(test_docker_pull_missing)
{
    fl_container_t *c = s_driver();
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    /* a tag the registry does not have */
    char *missing = fl_sprintf("%.*s:nope", (int) (strlen(s_ref) - strlen(":staging")), s_ref);
    char *err = NULL;
    ck_assert_int_eq(ops->pull(impl, missing, &err), -1);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strncmp(err, "engine: ", 8) == 0, "%s", err);
    ck_assert_msg(strstr(err, "nope") != NULL, "%s", err);
    free(err);
    err = NULL;
    /* a repository the registry does not have */
    char *nothere = fl_sprintf("%.*s/nothere:1", (int) (strchr(s_ref, '/') - s_ref), s_ref);
    ck_assert_int_eq(ops->pull(impl, nothere, &err), -1);
    ck_assert_msg(err && strncmp(err, "engine: ", 8) == 0, "%s", err ? err : "");
    free(err);
    err = NULL;
    ck_assert_int_eq(ops->pull(impl, "", &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid image reference"));
    free(err);
    free(missing);
    free(nothere);
    fl_container_destroy(&c);
}
END_TEST

/*  create + start + inspect: what was asked for is what runs. */
START_TEST(test_docker_create_start_inspect)
{
    fl_container_t *c = s_driver();
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    s_gone(c, "fleet-t-run");
    s_have_image(c, s_ref);
    char *bind = fl_sprintf("%s:/mnt/host:ro", s_dir);
    json_t *config = json_pack("{s:s, s:[s,s], s:[s,s], s:{s:s}, s:{s:[s], s:{s:s, s:i}}}",
                               "Image", s_ref, "Cmd", "sleep", "1000",
                               "Env", "FLEET_A=1", "FLEET_B=two words",
                               "Labels", "fleet.test", "yes",
                               "HostConfig", "Binds", bind,
                               "RestartPolicy", "Name", "on-failure", "MaximumRetryCount", 3);
    char *id = NULL;
    S_OK(ops->create(impl, "fleet-t-run", config, &id, &err_));
    ck_assert_ptr_nonnull(id);
    ck_assert_uint_ge(strlen(id), 12);
    S_OK(ops->start(impl, "fleet-t-run", &err_));
    S_OK(ops->start(impl, "fleet-t-run", &err_));   /* already running: 304, fine */

    json_t *info = NULL;
    S_OK(ops->inspect(impl, "fleet-t-run", &info, &err_));
    ck_assert_str_eq(json_string_value(json_object_get(info, "Id")), id);
    ck_assert(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
    const json_t *cfg = json_object_get(info, "Config");
    ck_assert(s_list_has(json_object_get(cfg, "Env"), "FLEET_A=1"));
    ck_assert(s_list_has(json_object_get(cfg, "Env"), "FLEET_B=two words"));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(cfg, "Labels"),
                                                       "fleet.test")), "yes");
    const json_t *host = json_object_get(info, "HostConfig");
    const json_t *binds = json_object_get(host, "Binds");
    bool bound = false;
    char *prefix = fl_sprintf("%s:/mnt/host", s_dir);
    size_t i;
    json_t *b;
    json_array_foreach(binds, i, b) {
        bound = bound || strncmp(json_string_value(b), prefix, strlen(prefix)) == 0;
    }
    char *binds_text = json_dumps(binds, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_msg(bound, "binds %s", binds_text);
    free(binds_text);
    const json_t *policy = json_object_get(host, "RestartPolicy");
    ck_assert_str_eq(json_string_value(json_object_get(policy, "Name")), "on-failure");
    ck_assert_int_eq(json_integer_value(json_object_get(policy, "MaximumRetryCount")), 3);
    json_decref(info);

    /* by id too, and in the list of running containers */
    S_OK(ops->inspect(impl, id, &info, &err_));
    json_decref(info);
    json_t *list = NULL;
    S_OK(ops->list(impl, false, &list, &err_));
    bool listed = false;
    json_t *item;
    json_array_foreach(list, i, item) {
        listed = listed || strcmp(json_string_value(json_object_get(item, "Id")), id) == 0;
    }
    ck_assert(listed);
    json_decref(list);

    S_OK(ops->remove(impl, "fleet-t-run", true, &err_));
    free(prefix);
    free(bind);
    free(id);
    json_decref(config);
    fl_container_destroy(&c);
}
END_TEST

/*  The multiplexed log stream comes back as plain text, stderr included. */
START_TEST(test_docker_logs)
{
    fl_container_t *c = s_driver();
    char *id = s_start(c, "fleet-t-logs",
                       "echo hello; echo oops >&2; sleep 1; echo third; sleep 1000",
                       false);
    char *text = s_wait_logs(c, "fleet-t-logs", -1, "third");
    ck_assert_msg(strstr(text, "hello\n") && strstr(text, "oops\n") && strstr(text, "third\n"),
                  "logs: '%s'", text);
    ck_assert_msg(text[0] == 'h' || text[0] == 'o', "frame headers left in: '%s'", text);
    ck_assert_uint_eq(strlen(text), strlen("hello\noops\nthird\n"));
    free(text);
    /* tail */
    text = s_wait_logs(c, "fleet-t-logs", 1, "third");
    ck_assert_str_eq(text, "third\n");
    free(text);
    text = s_wait_logs(c, "fleet-t-logs", 0, "");
    ck_assert_str_eq(text, "");
    free(text);
    S_OK(fl_container_ops(c)->remove(fl_container_impl(c), id, true, &err_));
    free(id);

    /* a TTY container's logs are not multiplexed */
    id = s_start(c, "fleet-t-tty", "echo tty-hello; sleep 1000", true);
    text = s_wait_logs(c, "fleet-t-tty", 10, "tty-hello");
    ck_assert_msg(strncmp(text, "tty-hello", 9) == 0, "logs: '%s'", text);
    free(text);
    S_OK(fl_container_ops(c)->remove(fl_container_impl(c), id, true, &err_));
    free(id);
    fl_container_destroy(&c);
}
END_TEST

START_TEST(test_docker_stop_remove)
{
    fl_container_t *c = s_driver();
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    char *id = s_start(c, "fleet-t-stop", "sleep 1000", false);
    S_OK(ops->stop(impl, "fleet-t-stop", 1, &err_));
    json_t *info = NULL;
    S_OK(ops->inspect(impl, "fleet-t-stop", &info, &err_));
    ck_assert(json_is_false(json_object_get(json_object_get(info, "State"), "Running")));
    json_decref(info);
    S_OK(ops->stop(impl, "fleet-t-stop", 1, &err_));    /* already stopped: 304, fine */
    S_OK(ops->remove(impl, "fleet-t-stop", false, &err_));
    char *err = NULL;
    ck_assert_int_eq(ops->inspect(impl, "fleet-t-stop", &info, &err), 1);
    ck_assert_int_eq(ops->remove(impl, "fleet-t-stop", false, &err), 1);
    ck_assert_int_eq(ops->stop(impl, "fleet-t-stop", 0, &err), 1);
    ck_assert_int_eq(ops->start(impl, "fleet-t-stop", &err), 1);
    char *text = NULL;
    ck_assert_int_eq(ops->logs(impl, "fleet-t-stop", 10, &text, &err), 1);
    ck_assert_ptr_null(text);
    ck_assert_ptr_null(err);

    /* a running container is not removed without force: the engine says why */
    free(id);
    id = s_start(c, "fleet-t-stop", "sleep 1000", false);
    ck_assert_int_eq(ops->remove(impl, "fleet-t-stop", false, &err), -1);
    ck_assert_msg(err && strncmp(err, "engine: ", 8) == 0 && strstr(err, "running"), "%s",
                  err ? err : "");
    free(err);
    S_OK(ops->remove(impl, "fleet-t-stop", true, &err_));
    free(id);
    fl_container_destroy(&c);
}
END_TEST

START_TEST(test_docker_missing)
{
    fl_container_t *c = s_driver();
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    json_t *info = NULL;
    char *err = NULL;
    ck_assert_int_eq(ops->inspect(impl, "fleet-no-such-container", &info, &err), 1);
    ck_assert_ptr_null(info);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(ops->image_inspect(impl, "127.0.0.1:1/no/such:image", &info, &err), 1);
    ck_assert_ptr_null(err);
    /* names that cannot name anything never reach the engine */
    static const char *const bad[] = { "", ".", "..", "a\nb" };
    for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
        ck_assert_int_eq(ops->inspect(impl, bad[i], &info, &err), -1);
        ck_assert_msg(err && strstr(err, "invalid container name"), "%s", err ? err : "");
        free(err);
        err = NULL;
    }
    ck_assert_int_eq(ops->inspect(impl, NULL, &info, &err), -1);
    free(err);
    err = NULL;
    /* escaped: a name with '/', '?' or '#' stays one path segment */
    ck_assert_int_eq(ops->inspect(impl, "../images/json", &info, &err), 1);
    ck_assert_int_eq(ops->inspect(impl, "x?all=1#y", &info, &err), 1);
    ck_assert_ptr_null(err);
    fl_container_destroy(&c);
}
END_TEST

START_TEST(test_docker_unreachable)
{
    char *dir = fl_test_tmpdir();
    char *path = fl_sprintf("%s/nothere.sock", dir);
    fl_container_t *c = fl_container_new(fl_container_docker_ops(), path);
    ck_assert_ptr_nonnull(c);
    json_t *out = NULL;
    char *err = NULL;
    ck_assert_int_eq(fl_container_ops(c)->version(fl_container_impl(c), &out, &err), -1);
    ck_assert_ptr_null(out);
    char *want = fl_sprintf("cannot reach the container engine at %s: ", path);
    ck_assert_msg(err && strncmp(err, want, strlen(want)) == 0, "%s", err ? err : "");
    ck_assert_msg(strstr(err, "No such file or directory"), "%s", err);
    free(err);
    err = NULL;
    ck_assert_int_eq(fl_container_ops(c)->pull(fl_container_impl(c), "app:1", &err), -1);
    ck_assert_msg(err && strncmp(err, want, strlen(want)) == 0, "%s", err ? err : "");
    free(err);
    err = NULL;
    fl_container_destroy(&c);

    /* a socket nobody accepts on */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    ck_assert(fl_container_available(path));
    c = fl_container_new(fl_container_docker_ops(), path);
    ck_assert_int_eq(fl_container_ops(c)->list(fl_container_impl(c), true, &out, &err), -1);
    ck_assert_msg(err && strncmp(err, want, strlen(want)) == 0, "%s", err ? err : "");
    free(err);
    err = NULL;
    fl_container_destroy(&c);
    close(fd);

    /* the handlers say the same */
    fl_mod_ctx_t ctx = { .container_socket = path };
    json_t *args = json_array(), *kwargs = json_object(), *ret = NULL;
    ck_assert_int_eq(mod_container_list(&ctx, args, kwargs, &ret), 1);
    ck_assert_msg(strstr(json_string_value(ret),
                         "container.list: cannot reach the container engine"),
                  "%s", json_string_value(ret));
    json_decref(ret);
    json_decref(args);
    json_decref(kwargs);
    free(want);
    free(path);
    fl_test_tmpdir_free(&dir);
}
END_TEST

/*  What the engine refuses comes back in its own words. */
START_TEST(test_docker_engine_errors)
{
    fl_container_t *c = s_driver();
    const fl_container_ops_t *ops = fl_container_ops(c);
    void *impl = fl_container_impl(c);
    s_gone(c, "fleet-t-bad");
    s_have_image(c, s_ref);
    json_t *config = json_pack("{s:s, s:{s:[s]}}", "Image", s_ref, "HostConfig", "Binds",
                               "nocolon");
    char *id = NULL, *err = NULL;
    ck_assert_int_eq(ops->create(impl, "fleet-t-bad", config, &id, &err), -1);
    ck_assert_ptr_null(id);
    ck_assert_msg(err && strncmp(err, "engine: ", 8) == 0 && strstr(err, "nocolon"), "%s",
                  err ? err : "");
    free(err);
    err = NULL;
    json_decref(config);

    /* an image that is not there: a 404 from create is an error, not "absent" */
    config = json_pack("{s:s}", "Image", "127.0.0.1:1/no/such:image");
    ck_assert_int_eq(ops->create(impl, "fleet-t-bad", config, &id, &err), -1);
    ck_assert_msg(err && strncmp(err, "engine: ", 8) == 0 && strstr(err, "no/such"), "%s",
                  err ? err : "");
    free(err);
    err = NULL;
    json_decref(config);

    /* a name the engine refuses */
    config = json_pack("{s:s}", "Image", s_ref);
    ck_assert_int_eq(ops->create(impl, "bad name!", config, &id, &err), -1);
    ck_assert_msg(err && strncmp(err, "engine: ", 8) == 0, "%s", err ? err : "");
    free(err);
    err = NULL;
    ck_assert_int_eq(ops->create(impl, "fleet-t-bad", NULL, &id, &err), -1);
    free(err);
    json_decref(config);
    fl_container_destroy(&c);
}
END_TEST

/*  Calls handler H with ARGS and KWARGS given as JSON text. */
static int
s_mod(int (*h)(const fl_mod_ctx_t *, const json_t *, const json_t *, json_t **),
      const char *args, const char *kwargs, json_t **ret)
{
    fl_mod_ctx_t ctx = { .minion_id = "pi-001", .root_dir = "", .container_socket = s_sock };
    json_error_t jerr;
    json_t *a = json_loads(args, 0, &jerr);
    ck_assert_msg(a != NULL, "args: %s", jerr.text);
    json_t *k = json_loads(kwargs, 0, &jerr);
    ck_assert_msg(k != NULL, "kwargs: %s", jerr.text);
    *ret = NULL;
    int rc = h(&ctx, a, k, ret);
    ck_assert_msg(*ret != NULL, "no return");
    json_decref(a);
    json_decref(k);
    return rc;
}

#define S_MOD_OK(h, args, kwargs, ret)                                       \
    do {                                                                     \
        int rc_ = s_mod((h), (args), (kwargs), (ret));                       \
        char *t_ = s_text(*(ret));                                           \
        ck_assert_msg(rc_ == 0, "%s %s %s: rc %d: %s", #h, (args), (kwargs), \
                      rc_, t_);                                              \
        free(t_);                                                            \
    } while (0)

/*  Checks a failure: retcode 1 and a message containing WANT. */
static void
s_mod_fails(int (*h)(const fl_mod_ctx_t *, const json_t *, const json_t *, json_t **),
            const char *args, const char *kwargs, const char *want)
{
    json_t *ret = NULL;
    int rc = s_mod(h, args, kwargs, &ret);
    char *t = s_text(ret);
    ck_assert_msg(rc == 1 && json_is_string(ret) && strstr(json_string_value(ret), want),
                  "%s %s: rc %d: %s (want '%s')", args, kwargs, rc, t, want);
    free(t);
    json_decref(ret);
}

/*  container.* end to end: pull, run, list, inspect, logs, stop, rm, images. */
START_TEST(test_docker_mod_container)
{
    fl_container_t *c = s_driver();
    s_gone(c, "fleet-t-mod");
    s_gone(c, "fleet-t-split");
    /* run pulls what is not there */
    char *err = NULL;
    int rc = fl_container_ops(c)->image_remove(fl_container_impl(c), s_ref, true, &err);
    ck_assert_msg(rc == 0 || rc == 1, "%s", err ? err : "");
    fl_container_destroy(&c);

    char *image_args = fl_sprintf("[\"%s\"]", s_ref);
    char *bind = fl_sprintf("%s:/mnt/host:ro", s_dir);
    char *run_kwargs = fl_sprintf(
        "{\"name\": \"fleet-t-mod\","
        " \"command\": [\"sh\", \"-c\", \"echo mod-hello; echo $FLEET_ENV; sleep 1000\"],"
        " \"environment\": [{\"FLEET_ENV\": \"from-list\"}, \"FLEET_B=2\", {\"FLEET_N\": 7}],"
        " \"binds\": [\"%s\"], \"restart_policy\": \"on-failure:2\"}", bind);
    json_t *ret = NULL;
    S_MOD_OK(mod_container_run, image_args, run_kwargs, &ret);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "name")), "fleet-t-mod");
    char *id = fl_strdup(json_string_value(json_object_get(ret, "id")));
    json_decref(ret);

    /* list */
    S_MOD_OK(mod_container_list, "[]", "{}", &ret);
    bool listed = false;
    size_t i;
    json_t *item;
    json_array_foreach(ret, i, item) {
        if (s_list_has(json_object_get(item, "names"), "fleet-t-mod")) {
            listed = true;
            ck_assert_str_eq(json_string_value(json_object_get(item, "id")), id);
            ck_assert_str_eq(json_string_value(json_object_get(item, "state")), "running");
            ck_assert_str_eq(json_string_value(json_object_get(item, "image")), s_ref);
            ck_assert(json_is_string(json_object_get(item, "status")));
        }
    }
    ck_assert(listed);
    json_decref(ret);

    /* inspect: what run asked for */
    S_MOD_OK(mod_container_inspect, "[\"fleet-t-mod\"]", "{}", &ret);
    const json_t *env = json_object_get(json_object_get(ret, "Config"), "Env");
    ck_assert(s_list_has(env, "FLEET_ENV=from-list"));
    ck_assert(s_list_has(env, "FLEET_B=2"));
    ck_assert(s_list_has(env, "FLEET_N=7"));
    const json_t *policy = json_object_get(json_object_get(ret, "HostConfig"), "RestartPolicy");
    ck_assert_str_eq(json_string_value(json_object_get(policy, "Name")), "on-failure");
    ck_assert_int_eq(json_integer_value(json_object_get(policy, "MaximumRetryCount")), 2);
    json_decref(ret);

    /* logs */
    int64_t deadline = fl_clock_ms() + 30000;
    for (;;) {
        S_MOD_OK(mod_container_logs, "[\"fleet-t-mod\"]", "{\"tail\": \"all\"}", &ret);
        if (strstr(json_string_value(ret), "from-list") || fl_clock_ms() > deadline) {
            break;
        }
        json_decref(ret);
        usleep(100 * 1000);
    }
    ck_assert_str_eq(json_string_value(ret), "mod-hello\nfrom-list\n");
    json_decref(ret);
    S_MOD_OK(mod_container_logs, "[\"fleet-t-mod\"]", "{\"tail\": 1}", &ret);
    ck_assert_str_eq(json_string_value(ret), "from-list\n");
    json_decref(ret);
    S_MOD_OK(mod_container_logs, "[\"fleet-t-mod\"]", "{}", &ret);
    ck_assert(json_is_string(ret));
    json_decref(ret);

    /* images */
    S_MOD_OK(mod_container_images, "[]", "{}", &ret);
    bool found = false;
    json_array_foreach(ret, i, item) {
        found = found || s_list_has(json_object_get(item, "tags"), s_ref);
        ck_assert(json_is_string(json_object_get(item, "id")));
    }
    ck_assert(found);
    json_decref(ret);

    /* pull */
    S_MOD_OK(mod_container_pull, image_args, "{}", &ret);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "image")), s_ref);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ret, "id")), "sha256:"));
    json_decref(ret);

    /* stop, twice */
    S_MOD_OK(mod_container_stop, "[\"fleet-t-mod\"]", "{\"timeout\": \"1\"}", &ret);
    ck_assert(json_is_true(json_object_get(ret, "result")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ret, "state"), "old")),
                     "running");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ret, "state"), "new")),
                     "exited");
    ck_assert_str_eq(json_string_value(json_object_get(ret, "comment")),
                     "Container 'fleet-t-mod' was stopped");
    json_decref(ret);
    S_MOD_OK(mod_container_stop, "[\"fleet-t-mod\"]", "{}", &ret);
    ck_assert_str_eq(json_string_value(json_object_get(ret, "comment")),
                     "Container 'fleet-t-mod' is already stopped");
    json_decref(ret);
    S_MOD_OK(mod_container_list, "[]", "{\"all\": \"true\"}", &ret);
    listed = false;
    json_array_foreach(ret, i, item) {
        listed = listed || s_list_has(json_object_get(item, "names"), "fleet-t-mod");
    }
    ck_assert_msg(listed, "all=true lists stopped containers");
    json_decref(ret);

    /* rm: the ids removed, as Salt */
    S_MOD_OK(mod_container_rm, "[\"fleet-t-mod\"]", "{}", &ret);
    ck_assert_str_eq(json_string_value(json_array_get(ret, 0)), id);
    json_decref(ret);
    s_mod_fails(mod_container_inspect, "[\"fleet-t-mod\"]", "{}",
                "container.inspect: no such container: fleet-t-mod");
    s_mod_fails(mod_container_rm, "[\"fleet-t-mod\"]", "{}",
                "container.rm: no such container: fleet-t-mod");
    s_mod_fails(mod_container_stop, "[\"fleet-t-mod\"]", "{}",
                "container.stop: no such container: fleet-t-mod");
    s_mod_fails(mod_container_logs, "[\"fleet-t-mod\"]", "{}",
                "container.logs: no such container: fleet-t-mod");

    /* a command string is split on spaces; no name: the engine names it;
       a running container needs force to go */
    S_MOD_OK(mod_container_run, image_args,
             "{\"command\": \"sleep  1000\", \"environment\": {\"A\": \"1\"},"
             " \"restart_policy\": \"always\"}", &ret);
    const char *gen_name = json_string_value(json_object_get(ret, "name"));
    ck_assert_msg(gen_name && *gen_name, "no generated name");
    char *name_args = fl_sprintf("[\"%s\"]", gen_name);
    json_decref(ret);
    S_MOD_OK(mod_container_inspect, name_args, "{}", &ret);
    const json_t *cmd = json_object_get(json_object_get(ret, "Config"), "Cmd");
    ck_assert_uint_eq(json_array_size(cmd), 2);
    ck_assert_str_eq(json_string_value(json_array_get(cmd, 0)), "sleep");
    ck_assert_str_eq(json_string_value(json_array_get(cmd, 1)), "1000");
    json_decref(ret);
    s_mod_fails(mod_container_rm, name_args, "{}", "container.rm: engine: ");
    S_MOD_OK(mod_container_rm, name_args, "{\"force\": true}", &ret);
    json_decref(ret);
    free(name_args);

    /* arguments refused before anything runs */
    s_mod_fails(mod_container_run, image_args, "{\"nmae\": \"x\"}",
                "container.run: unknown keyword argument 'nmae'");
    s_mod_fails(mod_container_run, image_args, "{\"restart_policy\": \"sometimes\"}",
                "container.run: restart_policy 'sometimes'");
    s_mod_fails(mod_container_run, image_args, "{\"restart_policy\": \"always:3\"}",
                "only on-failure takes a retry count");
    s_mod_fails(mod_container_run, image_args, "{\"command\": \"  \"}", "command is empty");
    s_mod_fails(mod_container_run, image_args, "{\"environment\": 5}", "environment must be");
    s_mod_fails(mod_container_run, image_args, "{\"binds\": [1]}", "binds: list items");
    s_mod_fails(mod_container_run, "[1]", "{}", "the image must be a non-empty string");
    s_mod_fails(mod_container_list, "[]", "{\"all\": \"perhaps\"}", "expected true or false");
    s_mod_fails(mod_container_logs, "[\"x\"]", "{\"tail\": \"some\"}", "tail must be");
    s_mod_fails(mod_container_stop, "[\"x\"]", "{\"timeout\": -1}", "timeout");
    /* refused by the engine, nothing left behind */
    s_mod_fails(mod_container_run, image_args,
                "{\"name\": \"fleet-t-bad\", \"binds\": \"nocolon\"}",
                "container.run: engine: ");
    s_mod_fails(mod_container_inspect, "[\"fleet-t-bad\"]", "{}", "no such container");
    char *nothere = fl_sprintf("[\"%.*s/nothere:1\"]", (int) (strchr(s_ref, '/') - s_ref), s_ref);
    s_mod_fails(mod_container_pull, nothere, "{}", "container.pull: engine: ");
    free(nothere);

    free(id);
    free(run_kwargs);
    free(bind);
    free(image_args);
}
END_TEST

Suite *suite_docker(void);

Suite *
suite_docker(void)
{
    Suite *s = suite_create("docker");
    TCase *tc = tcase_create("docker");
    /* one engine for the whole case, started and stopped in the parent */
    tcase_add_unchecked_fixture(tc, s_engine_up, s_engine_down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_docker_usage);
    tcase_add_test(tc, test_docker_available);
    tcase_add_test(tc, test_docker_pull);
    tcase_add_test(tc, test_docker_pull_missing);
    tcase_add_test(tc, test_docker_create_start_inspect);
    tcase_add_test(tc, test_docker_logs);
    tcase_add_test(tc, test_docker_stop_remove);
    tcase_add_test(tc, test_docker_missing);
    tcase_add_test(tc, test_docker_unreachable);
    tcase_add_test(tc, test_docker_engine_errors);
    tcase_add_test(tc, test_docker_mod_container);
    suite_add_tcase(s, tc);
    return s;
}
