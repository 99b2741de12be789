/*  check_st_docker.c: the container states (st_docker.h) against a real
    engine: ONE private podman service and registry for the whole suite
    (tests/engine.sh, registry on 127.0.0.1:5252), started by an unchecked
    fixture before the first test and stopped after the last.  The tests run
    in order and build on each other, as a device's state runs do: the image
    is pulled, a container started from it, changed, updated, stopped and
    removed.  What the engine holds is checked through its API with curl,
    never through the states themselves.

    The registry gets new images behind the same tag while the engine keeps
    the old one (s_publish), which is how a new release reaches a device.

    podman, docker-registry, busybox and curl are needed: without them
    every test fails with a message saying so (CI installs them). */
#include "fl_test.h"
#include "st_docker.h"
#include "fl_json.h"
#include "fl_run.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

Suite *suite_st_docker(void);

#define S_PORT "5252"
#define S_STAGING "127.0.0.1:" S_PORT "/app:staging"
#define S_LIVE "127.0.0.1:" S_PORT "/app:live"
#define S_ENGINE "tests/engine.sh"
#define S_LINKS_NOTE "links are a legacy Docker feature"

/*  Set up once by the unchecked fixture, in the parent process. */
static char *s_dir;              /* the engine's directory */
static char *s_socket;           /* its API socket */
static char *s_engine_error;     /* why there is no engine */
static char *s_staging_id;       /* what the registry holds behind app:staging */

/*  Per test. */
static fl_st_ctx_t s_ctx;
static json_t *s_changes;
static char *s_comment;

/* ---------------------------------------------------------------- the engine */

/*  Runs ARGV; its stdout without the trailing newline into *OUT (may be
    NULL); the exit status. */
static int
s_run(char *const argv[], char **out, char **err_out)
{
    char *out_text = NULL, *err = NULL;
    int rc = fl_run_argv(argv, NULL, 120000, &out_text, &err);
    size_t n = out_text ? strlen(out_text) : 0;
    while (n > 0 && out_text[n - 1] == '\n') {
        out_text[--n] = '\0';
    }
    if (out) {
        *out = out_text;
    } else {
        free(out_text);
    }
    if (err_out) {
        *err_out = err;
    } else {
        free(err);
    }
    return rc;
}

/*  `podman image inspect --format {{.Id}} REF` on the engine's storage, or
    NULL when it has no such image. */
static char *
s_local_image(const char *ref)
{
    char *argv[] = { S_ENGINE, "podman", s_dir, "image", "inspect", "--format", "{{.Id}}",
                     (char *) ref, NULL };
    char *id = NULL;
    if (s_run(argv, &id, NULL) != 0) {
        free(id);
        return NULL;
    }
    return id;
}

/*  Builds an image holding WORD and pushes it to the registry as app:TAG,
    leaving the engine's own images as they were (engine.sh builds in the
    engine's storage): the registry has a new digest behind the tag, the
    device still has the old one.  Returns the new image's id (caller
    frees) or NULL with *ERR. */
static char *
s_publish(const char *tag, const char *word, char **err)
{
    char *ref = fl_sprintf("127.0.0.1:%s/app:%s", S_PORT, tag);
    char *local_ref = fl_sprintf("localhost/app:%s", tag);
    char *old = s_local_image(ref);
    char *old_local = s_local_image(local_ref);
    char *name = fl_sprintf("app:%s", tag);
    char *image[] = { S_ENGINE, "image", s_dir, name, (char *) word, NULL };
    char *new = NULL, *why = NULL;
    *err = NULL;
    int rc = s_run(image, NULL, &why);
    if (rc != 0) {
        *err = fl_sprintf("%s image %s %s: exit %d: %s", S_ENGINE, name, word, rc, why);
    } else if (!(new = s_local_image(ref))) {
        *err = fl_sprintf("the image built for %s is not in the engine", ref);
    }
    free(why);
    why = NULL;
    if (new) {
        char *rmi[] = { S_ENGINE, "podman", s_dir, "rmi", "-f", new, NULL };
        char *tag_old[] = { S_ENGINE, "podman", s_dir, "tag", old, ref, NULL };
        char *tag_old_local[] = { S_ENGINE, "podman", s_dir, "tag", old_local, local_ref, NULL };
        if (s_run(rmi, NULL, &why) != 0 || (old && s_run(tag_old, NULL, NULL) != 0)
            || (old_local && s_run(tag_old_local, NULL, NULL) != 0)) {
            *err = fl_sprintf("cannot restore the engine's %s: %s", ref, why ? why : "");
            free(new);
            new = NULL;
        }
        free(why);
    }
    free(ref);
    free(local_ref);
    free(old);
    free(old_local);
    free(name);
    return new;
}

static void
s_engine_up(void)
{
    const char *tools[] = { "podman", "docker-registry", "busybox", "curl" };
    for (size_t i = 0; i < FL_ARRAY_LEN(tools); i++) {
        if (!fl_run_have(tools[i])) {
            s_engine_error = fl_sprintf("%s is not installed: the container tests need a real "
                                        "engine (apt-get install podman runc docker-registry "
                                        "busybox-static curl); they are never skipped",
                                        tools[i]);
            return;
        }
    }
    if (access(S_ENGINE, X_OK) != 0) {
        s_engine_error = fl_sprintf("%s not found: run check_fleet from the repository root",
                                    S_ENGINE);
        return;
    }
    const char *base = getenv("TMPDIR");
    s_dir = fl_sprintf("%s/fleet-docker-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(s_dir)) {
        s_engine_error = fl_sprintf("mkdtemp %s: %s", s_dir, strerror(errno));
        free(s_dir);
        s_dir = NULL;
        return;
    }
    char *start[] = { S_ENGINE, "start", s_dir, S_PORT, NULL };
    char *err = NULL;
    int rc = s_run(start, &s_socket, &err);
    if (rc != 0 || !s_socket || !*s_socket) {
        s_engine_error = fl_sprintf("%s start %s %s failed (exit %d): %s", S_ENGINE, s_dir,
                                    S_PORT, rc, err ? err : "");
        free(err);
        return;
    }
    free(err);
    char *live = NULL;
    s_staging_id = s_publish("staging", "staging-1", &err);
    if (s_staging_id) {
        live = s_publish("live", "live-1", &err);
    }
    if (!live) {
        s_engine_error = fl_sprintf("cannot push the test images: %s", err ? err : "");
    }
    free(live);
    free(err);
}

static void
s_engine_down(void)
{
    if (s_dir) {
        char *stop[] = { S_ENGINE, "stop", s_dir, NULL };
        (void) s_run(stop, NULL, NULL);
        fl_test_tmpdir_free(&s_dir);
    }
    free(s_socket);
    free(s_engine_error);
    free(s_staging_id);
    s_socket = s_engine_error = s_staging_id = NULL;
}

/* ---------------------------------------------------------------- per test */

static void
s_setup(void)
{
    s_ctx = (fl_st_ctx_t) { .minion_id = "pi-001", .root_dir = "", .cache_dir = "/nonexistent",
                            .container_socket = s_socket };
}

static void
s_teardown(void)
{
    json_decref(s_changes);
    s_changes = NULL;
    free(s_comment);
    s_comment = NULL;
}

/*  Every test that needs the engine starts with this. */
static void
s_need_engine(void)
{
    ck_assert_msg(s_engine_error == NULL, "no container engine: %s", s_engine_error);
    ck_assert_ptr_nonnull(s_socket);
}

/*  Calls FN on NAME with ARGS (JSON text), in test mode when TEST; keeps
    the changes and comment in s_changes and s_comment. */
static fl_st_result_t
s_call(fl_st_fn_t fn, const char *name, const char *args_json, bool test)
{
    json_error_t jerr;
    json_t *args = json_loads(args_json ? args_json : "{}", 0, &jerr);
    ck_assert_msg(args != NULL, "args %s: %s", args_json, jerr.text);
    fl_st_ret_t ret = { FL_ST_FALSE, json_object(), NULL };
    s_ctx.test = test;
    fn(&s_ctx, name, args, &ret);
    s_ctx.test = false;
    json_decref(args);
    json_decref(s_changes);
    free(s_comment);
    s_changes = ret.changes;
    s_comment = ret.comment ? ret.comment : fl_strdup("");
    return ret.result;
}

#define S_EXPECT(call, want)                                                                  \
    do {                                                                                      \
        fl_st_result_t got_ = (call);                                                         \
        char *changes_ = json_dumps(s_changes, JSON_COMPACT);                                 \
        ck_assert_msg(got_ == (want), "%s: result %d, want %d; comment: %s; changes: %s",     \
                      #call, (int) got_, (int) (want), s_comment, changes_);                  \
        free(changes_);                                                                       \
    } while (0)

static void
s_expect_no_changes(void)
{
    char *text = json_dumps(s_changes, JSON_COMPACT);
    ck_assert_msg(json_object_size(s_changes) == 0, "unexpected changes %s (%s)", text, s_comment);
    free(text);
}

static void
s_expect_comment(const char *part)
{
    ck_assert_msg(strstr(s_comment, part) != NULL, "comment '%s' lacks '%s'", s_comment, part);
}

/*  changes[KEY][SUB] as text ("" when null), or NULL when absent. */
static const char *
s_change(const char *key, const char *sub)
{
    const json_t *v = json_object_get(json_object_get(s_changes, key), sub);
    return !v ? NULL : json_is_null(v) ? "" : json_string_value(v);
}

/*  GET PATH on the engine's API (curl, not the driver); NULL on 404. */
static json_t *
s_api(const char *path)
{
    char *url = fl_sprintf("http://d/v1.41%s", path);
    char *argv[] = { "curl", "-s", "--unix-socket", s_socket, url, NULL };
    char *out = NULL;
    int rc = s_run(argv, &out, NULL);
    ck_assert_msg(rc == 0, "curl %s: exit %d", url, rc);
    json_t *v = json_loads(out, 0, NULL);
    ck_assert_msg(v != NULL, "curl %s: not JSON: %s", url, out);
    free(out);
    free(url);
    if (json_integer_value(json_object_get(v, "response")) == 404) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *
s_inspect(const char *name)
{
    char *path = fl_sprintf("/containers/%s/json", name);
    json_t *info = s_api(path);
    free(path);
    return info;
}

/*  The id the engine has for image REF, without "sha256:"; NULL when absent. */
static char *
s_image_id(const char *ref)
{
    char *path = fl_sprintf("/images/%s/json", ref);
    json_t *info = s_api(path);
    free(path);
    const char *id = fl_json_str(info, "Id");
    char *copy = id ? fl_strdup(strncmp(id, "sha256:", 7) == 0 ? id + 7 : id) : NULL;
    json_decref(info);
    return copy;
}

static bool
s_same_id(const char *a, const char *b)
{
    if (!a || !b) {
        return false;
    }
    a += strncmp(a, "sha256:", 7) == 0 ? 7 : 0;
    b += strncmp(b, "sha256:", 7) == 0 ? 7 : 0;
    return strcmp(a, b) == 0;
}

static bool
s_running(const json_t *info)
{
    return json_is_true(json_object_get(json_object_get(info, "State"), "Running"));
}

static bool
s_has_env(const json_t *info, const char *entry)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(json_object_get(info, "Config"), "Env"), i, item) {
        if (strcmp(json_string_value(item), entry) == 0) {
            return true;
        }
    }
    return false;
}

/*  HostConfig.Binds has BIND, give or take the options podman adds
    ("/data:/data:ro" is there as "/data:/data:ro,rprivate,rbind"). */
static bool
s_has_bind(const json_t *info, const char *bind)
{
    size_t i, n = strlen(bind);
    json_t *item;
    json_array_foreach(json_object_get(json_object_get(info, "HostConfig"), "Binds"), i, item) {
        const char *s = json_string_value(item);
        if (strncmp(s, bind, n) == 0 && (s[n] == '\0' || s[n] == ':' || s[n] == ',')) {
            return true;
        }
    }
    return false;
}

static const char *
s_container_id(const json_t *info)
{
    return fl_json_str(info, "Id");
}

/*  Makes sure the engine has image REF (tests that do not test pulling). */
static void
s_pull(const char *ref)
{
    S_EXPECT(s_call(st_docker_image_present, ref, NULL, false), FL_ST_TRUE);
}

/*  A bind that needs a directory: s_dir/data. */
static char *
s_data_dir(void)
{
    char *data = fl_sprintf("%s/data", s_dir);
    ck_assert(mkdir(data, 0755) == 0 || errno == EEXIST);
    return data;
}

/*  The arguments of the "web" container of most tests: staging, an
    environment of VALUE, binds and a restart policy. */
static char *
s_web_args(const char *env_value)
{
    char *data = s_data_dir();
    char *args = fl_sprintf("{\"image\": \"%s\", \"command\": \"sleep 100000\", "
                            "\"environment\": [\"MODE=%s\", \"RCAGGREGATOR=aggregator:9091\"], "
                            "\"binds\": [\"%s:/data:ro\", \"/dev/null:/dev/null\"], "
                            "\"restart_policy\": \"on-failure:3\", \"labels\": {\"app\": \"web\"}, "
                            "\"shutdown_timeout\": 1}", S_STAGING, env_value, data);
    free(data);
    return args;
}

/* ---------------------------------------------------------------- canonical usage */

/*  A state function is found by name in the registry and called with a
    context that names the engine's socket; it returns Salt's shape. */
START_TEST(test_usage)
{
    s_need_engine();
    const fl_st_spec_t *spec = fl_st_find("docker_image.present");
    ck_assert_ptr_nonnull(spec);
    S_EXPECT(s_call(spec->fn, S_LIVE, NULL, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("image", "old"), "");
    char *id = s_image_id(S_LIVE);
    ck_assert_msg(s_same_id(s_change("image", "new"), id), "%s vs %s", s_change("image", "new"),
                  id);
    free(id);

    const fl_st_spec_t *running = fl_st_find("docker_container.running");
    ck_assert_ptr_nonnull(running);
    ck_assert(running->mod_watch == st_docker_container_mod_watch);
    const char *names[] = { "docker_container.absent", "docker_container.stopped",
                            "docker_image.absent" };
    for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
        ck_assert_msg(fl_st_find(names[i]) != NULL, "%s not registered", names[i]);
    }
}
END_TEST

/* ---------------------------------------------------------------- docker_image */

START_TEST(test_image_present)
{
    s_need_engine();
    ck_assert_ptr_null(s_image_id(S_STAGING));

    /* test mode pulls nothing */
    S_EXPECT(s_call(st_docker_image_present, S_STAGING, NULL, true), FL_ST_NONE);
    ck_assert_str_eq(s_change("image", "old"), "");
    ck_assert_ptr_null(s_image_id(S_STAGING));

    S_EXPECT(s_call(st_docker_image_present, S_STAGING, NULL, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("image", "old"), "");
    ck_assert_msg(s_same_id(s_change("image", "new"), s_staging_id), "pulled %s, pushed %s",
                  s_change("image", "new"), s_staging_id);
    char *id = s_image_id(S_STAGING);
    ck_assert(s_same_id(id, s_staging_id));
    free(id);

    /* again: nothing to do; force with the same digest: nothing changes */
    S_EXPECT(s_call(st_docker_image_present, S_STAGING, NULL, false), FL_ST_TRUE);
    s_expect_no_changes();
    s_expect_comment("already present");
    S_EXPECT(s_call(st_docker_image_present, S_STAGING, "{\"force\": true}", false), FL_ST_TRUE);
    s_expect_no_changes();
    s_expect_comment("is already up to date");

    /* the tag argument, Salt's other spelling */
    S_EXPECT(s_call(st_docker_image_present, "127.0.0.1:" S_PORT "/app", "{\"tag\": \"staging\"}",
                    false), FL_ST_TRUE);
    s_expect_no_changes();
}
END_TEST

/*  A new digest behind the same tag: force pulls it and reports both ids. */
START_TEST(test_image_force_new_digest)
{
    s_need_engine();
    char *old = s_image_id(S_STAGING), *err = NULL;
    ck_assert_ptr_nonnull(old);
    char *new = s_publish("staging", "staging-2", &err);
    ck_assert_msg(new != NULL, "%s", err);
    ck_assert(!s_same_id(old, new));
    char *still = s_image_id(S_STAGING);
    ck_assert(s_same_id(still, old));   /* the device has not seen it yet */
    free(still);

    S_EXPECT(s_call(st_docker_image_present, S_STAGING, "{\"force\": true}", true), FL_ST_NONE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_docker_image_present, S_STAGING, NULL, false), FL_ST_TRUE);
    s_expect_no_changes();   /* without force the old one is fine */

    S_EXPECT(s_call(st_docker_image_present, S_STAGING, "{\"force\": true}", false), FL_ST_TRUE);
    ck_assert(s_same_id(s_change("image", "old"), old));
    ck_assert(s_same_id(s_change("image", "new"), new));
    char *now = s_image_id(S_STAGING);
    ck_assert(s_same_id(now, new));
    free(now);
    free(old);
    free(new);
}
END_TEST

START_TEST(test_image_absent)
{
    s_need_engine();
    char *err = NULL;
    char *id = s_publish("old", "old-1", &err);
    ck_assert_msg(id != NULL, "%s", err);
    free(id);
    const char *ref = "127.0.0.1:" S_PORT "/app:old";
    S_EXPECT(s_call(st_docker_image_present, ref, NULL, false), FL_ST_TRUE);

    S_EXPECT(s_call(st_docker_image_absent, ref, NULL, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(s_changes, "removed"), 0)),
                     ref);
    id = s_image_id(ref);
    ck_assert_ptr_nonnull(id);
    free(id);

    S_EXPECT(s_call(st_docker_image_absent, "ignored",
                    "{\"images\": [\"127.0.0.1:" S_PORT "/app:old\", "
                    "\"127.0.0.1:" S_PORT "/app:never\"]}", false), FL_ST_TRUE);
    ck_assert_uint_eq(json_array_size(json_object_get(s_changes, "removed")), 1);
    ck_assert_ptr_null(s_image_id(ref));

    S_EXPECT(s_call(st_docker_image_absent, ref, NULL, false), FL_ST_TRUE);
    s_expect_no_changes();
}
END_TEST

/* ---------------------------------------------------------------- docker_container */

START_TEST(test_container_running)
{
    s_need_engine();
    char *args = s_web_args("blue");
    ck_assert_ptr_null(s_inspect("web"));

    S_EXPECT(s_call(st_docker_container_running, "web", args, true), FL_ST_NONE);
    ck_assert_str_eq(s_change("container_id", "old"), "");
    ck_assert_ptr_null(s_inspect("web"));

    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("container_id", "old"), "");
    json_t *info = s_inspect("web");
    ck_assert_ptr_nonnull(info);
    ck_assert_str_eq(s_change("container_id", "new"), s_container_id(info));
    ck_assert(s_running(info));
    ck_assert(s_has_env(info, "MODE=blue"));
    ck_assert(s_has_env(info, "RCAGGREGATOR=aggregator:9091"));
    char *data_bind = fl_sprintf("%s/data:/data:ro", s_dir);
    ck_assert(s_has_bind(info, data_bind));
    ck_assert(s_has_bind(info, "/dev/null:/dev/null"));
    free(data_bind);
    const json_t *policy = json_object_get(json_object_get(info, "HostConfig"), "RestartPolicy");
    ck_assert_str_eq(fl_json_str(policy, "Name"), "on-failure");
    ck_assert_int_eq(json_integer_value(json_object_get(policy, "MaximumRetryCount")), 3);
    ck_assert_str_eq(fl_json_str(json_object_get(json_object_get(info, "Config"), "Labels"), "app"),
                     "web");
    char *image = s_image_id(S_STAGING);
    ck_assert(s_same_id(fl_json_str(info, "Image"), image));
    free(image);

    /* the second run changes nothing, in test mode or not */
    S_EXPECT(s_call(st_docker_container_running, "web", args, true), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    s_expect_no_changes();
    ck_assert_str_eq(s_comment, "Container web is already running and up to date");
    json_t *again = s_inspect("web");
    ck_assert_str_eq(s_container_id(again), s_container_id(info));
    json_decref(again);
    json_decref(info);
    free(args);
}
END_TEST

START_TEST(test_container_env_change)
{
    s_need_engine();
    json_t *before = s_inspect("web");
    ck_assert_ptr_nonnull(before);
    char *args = s_web_args("green");

    /* test mode reports the difference and changes nothing */
    S_EXPECT(s_call(st_docker_container_running, "web", args, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(s_changes, "env"), "old"), "MODE")),
                     "blue");
    json_t *same = s_inspect("web");
    ck_assert_str_eq(s_container_id(same), s_container_id(before));
    ck_assert(s_has_env(same, "MODE=blue"));
    json_decref(same);

    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    const json_t *env = json_object_get(s_changes, "env");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "old"), "MODE")),
                     "blue");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "new"), "MODE")),
                     "green");
    ck_assert_ptr_null(json_object_get(json_object_get(env, "new"), "RCAGGREGATOR"));
    ck_assert_ptr_null(json_object_get(s_changes, "image"));
    ck_assert_str_eq(s_change("container_id", "old"), s_container_id(before));
    json_t *after = s_inspect("web");
    ck_assert_str_eq(s_change("container_id", "new"), s_container_id(after));
    ck_assert_str_ne(s_container_id(after), s_container_id(before));
    ck_assert(s_running(after));
    ck_assert(s_has_env(after, "MODE=green"));
    json_decref(after);

    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* a different restart policy or bind set is a difference too */
    char *other = fl_sprintf("{\"image\": \"%s\", \"command\": \"sleep 100000\", "
                             "\"environment\": {\"MODE\": \"green\"}, \"restart_policy\": "
                             "\"always\", \"shutdown_timeout\": 1}", S_STAGING);
    S_EXPECT(s_call(st_docker_container_running, "web", other, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("restart_policy", "old"), "on-failure:3");
    ck_assert_str_eq(s_change("restart_policy", "new"), "always");
    ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(s_changes, "binds"), "new")),
                      0);
    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    ck_assert_ptr_nonnull(json_object_get(s_changes, "binds"));
    free(other);
    json_decref(before);
    free(args);
}
END_TEST

/*  A new digest behind the same tag (docker_image.present with force)
    replaces the container, and changes say which image it ran and runs. */
START_TEST(test_container_image_update)
{
    s_need_engine();
    char *args = s_web_args("green");
    json_t *before = s_inspect("web");
    ck_assert_ptr_nonnull(before);
    char *err = NULL;
    char *new = s_publish("staging", "staging-3", &err);
    ck_assert_msg(new != NULL, "%s", err);

    /* the device has the old image: nothing to do yet */
    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    s_expect_no_changes();

    S_EXPECT(s_call(st_docker_image_present, S_STAGING, "{\"force\": true}", false), FL_ST_TRUE);
    ck_assert(s_same_id(s_change("image", "new"), new));

    S_EXPECT(s_call(st_docker_container_running, "web", args, true), FL_ST_NONE);
    ck_assert(s_same_id(s_change("image", "new"), new));
    json_t *same = s_inspect("web");
    ck_assert_str_eq(s_container_id(same), s_container_id(before));
    json_decref(same);

    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    ck_assert(s_same_id(s_change("image", "old"), fl_json_str(before, "Image")));
    ck_assert(s_same_id(s_change("image", "new"), new));
    ck_assert_ptr_null(json_object_get(s_changes, "env"));
    json_t *after = s_inspect("web");
    ck_assert(s_same_id(fl_json_str(after, "Image"), new));
    ck_assert(s_running(after));
    json_decref(after);

    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    s_expect_no_changes();
    json_decref(before);
    free(new);
    free(args);
}
END_TEST

/*  A watched state changed: the matching container is replaced. */
START_TEST(test_container_mod_watch)
{
    s_need_engine();
    char *args = s_web_args("green");
    json_t *before = s_inspect("web");
    ck_assert_ptr_nonnull(before);
    S_EXPECT(s_call(st_docker_container_mod_watch, "web", args, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("container_id", "old"), s_container_id(before));
    json_t *after = s_inspect("web");
    ck_assert_str_eq(s_change("container_id", "new"), s_container_id(after));
    ck_assert(s_running(after));
    json_decref(after);
    json_decref(before);
    free(args);
}
END_TEST

START_TEST(test_container_stopped)
{
    s_need_engine();
    char *args = s_web_args("green");
    const char *stop_args = "{\"shutdown_timeout\": 1}";
    json_t *before = s_inspect("web");
    ck_assert(s_running(before));

    S_EXPECT(s_call(st_docker_container_stopped, "web", stop_args, true), FL_ST_NONE);
    ck_assert_str_eq(s_change("state", "new"), "stopped");
    json_t *info = s_inspect("web");
    ck_assert(s_running(info));
    json_decref(info);

    S_EXPECT(s_call(st_docker_container_stopped, "web", stop_args, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("state", "old"), "running");
    ck_assert_str_eq(s_change("state", "new"), "stopped");
    info = s_inspect("web");
    ck_assert(!s_running(info));
    ck_assert_str_eq(s_container_id(info), s_container_id(before));
    json_decref(info);
    S_EXPECT(s_call(st_docker_container_stopped, "web", stop_args, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* running again: it matches, so it is only started */
    S_EXPECT(s_call(st_docker_container_running, "web", args, true), FL_ST_NONE);
    ck_assert_str_eq(s_change("state", "new"), "running");
    S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_TRUE);
    ck_assert_str_eq(s_change("state", "old"), "stopped");
    ck_assert_str_eq(s_change("state", "new"), "running");
    info = s_inspect("web");
    ck_assert(s_running(info));
    ck_assert_str_eq(s_container_id(info), s_container_id(before));
    json_decref(info);

    /* a missing container is an error unless error_on_absent is False */
    S_EXPECT(s_call(st_docker_container_stopped, "nosuch", NULL, false), FL_ST_FALSE);
    ck_assert_str_eq(s_comment, "Container nosuch does not exist");
    S_EXPECT(s_call(st_docker_container_stopped, "nosuch", "{\"error_on_absent\": false}", false),
             FL_ST_TRUE);
    s_expect_no_changes();
    json_decref(before);
    free(args);
}
END_TEST

START_TEST(test_container_absent)
{
    s_need_engine();
    json_t *before = s_inspect("web");
    ck_assert(s_running(before));

    /* running: only with force, as Salt */
    S_EXPECT(s_call(st_docker_container_absent, "web", NULL, false), FL_ST_FALSE);
    s_expect_comment("force");
    S_EXPECT(s_call(st_docker_container_absent, "web", "{\"force\": true}", true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "removed")),
                     s_container_id(before));
    json_t *still = s_inspect("web");
    ck_assert_ptr_nonnull(still);
    json_decref(still);

    S_EXPECT(s_call(st_docker_container_absent, "web", "{\"force\": true}", false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "removed")),
                     s_container_id(before));
    ck_assert_ptr_null(s_inspect("web"));
    S_EXPECT(s_call(st_docker_container_absent, "web", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* a stopped one goes without force */
    s_pull(S_LIVE);
    char *args = fl_sprintf("{\"image\": \"%s\"}", S_LIVE);
    S_EXPECT(s_call(st_docker_container_running, "idle", args, false), FL_ST_TRUE);
    S_EXPECT(s_call(st_docker_container_stopped, "idle", "{\"shutdown_timeout\": 0}", false),
             FL_ST_TRUE);
    S_EXPECT(s_call(st_docker_container_absent, "idle", NULL, false), FL_ST_TRUE);
    ck_assert_ptr_null(s_inspect("idle"));
    free(args);
    json_decref(before);
}
END_TEST

/*  The shape of the seed example: the environment as a list of one-key
    maps (YAML's "- RCAGGREGATOR: aggregator:9091"), binds as one string
    built from a placeholder's value, a command string with quotes. */
START_TEST(test_seed_example)
{
    s_need_engine();
    s_pull(S_LIVE);
    const char *device = "/dev/null";   /* what ((device)) resolved to */
    char *args = fl_sprintf("{\"image\": \"%s\", \"environment\": [{\"RCAGGREGATOR\": "
                            "\"aggregator:9091\"}, {\"RCPORT\": 9091}, {\"RCDEBUG\": true}], "
                            "\"binds\": \"%s:%s\", \"restart_policy\": \"always\", "
                            "\"command\": \"sh -c 'echo \\\"started\\\"; exec sleep 100000'\", "
                            "\"shutdown_timeout\": 0}", S_LIVE, device, device);
    S_EXPECT(s_call(st_docker_container_running, "rcagent", args, false), FL_ST_TRUE);
    json_t *info = s_inspect("rcagent");
    ck_assert(s_running(info));
    ck_assert(s_has_env(info, "RCAGGREGATOR=aggregator:9091"));
    ck_assert(s_has_env(info, "RCPORT=9091"));
    ck_assert(s_has_env(info, "RCDEBUG=True"));
    ck_assert(s_has_bind(info, "/dev/null:/dev/null"));
    char *cmd = json_dumps(json_object_get(json_object_get(info, "Config"), "Cmd"), JSON_COMPACT);
    ck_assert_str_eq(cmd, "[\"sh\",\"-c\",\"echo \\\"started\\\"; exec sleep 100000\"]");
    free(cmd);
    ck_assert_str_eq(fl_json_str(json_object_get(json_object_get(info, "HostConfig"),
                                                 "RestartPolicy"), "Name"), "always");
    json_decref(info);

    S_EXPECT(s_call(st_docker_container_running, "rcagent", args, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_docker_container_absent, "rcagent", "{\"force\": true}", false),
             FL_ST_TRUE);
    free(args);
}
END_TEST

/*  links: passed on, never a failure; the comment says what to use. */
START_TEST(test_links)
{
    s_need_engine();
    s_pull(S_LIVE);
    char *args = fl_sprintf("{\"image\": \"%s\", \"links\": [\"aggregator:agg\"], "
                            "\"shutdown_timeout\": 0}", S_LIVE);
    S_EXPECT(s_call(st_docker_container_running, "linked", args, false), FL_ST_TRUE);
    s_expect_comment(S_LINKS_NOTE);
    s_expect_comment("use a shared network (network:) instead");
    json_t *info = s_inspect("linked");
    ck_assert(s_running(info));
    json_decref(info);
    S_EXPECT(s_call(st_docker_container_running, "linked", args, false), FL_ST_TRUE);
    s_expect_no_changes();
    s_expect_comment(S_LINKS_NOTE);
    S_EXPECT(s_call(st_docker_container_absent, "linked", "{\"force\": true}", false), FL_ST_TRUE);
    free(args);
}
END_TEST

/*  A named network and published ports (the engine picks the host port,
    so nothing here can collide with another suite), and idempotency on
    both.  The network is podman's own "podman": podman keeps the networks
    it creates in /etc/containers/networks, outside the test's directory. */
START_TEST(test_network_ports)
{
    s_need_engine();
    s_pull(S_LIVE);
    char *args = fl_sprintf("{\"image\": \"%s\", \"network\": \"podman\", "
                            "\"port_bindings\": [\"127.0.0.1::80\", \"53/udp\"], "
                            "\"shutdown_timeout\": 0}", S_LIVE);
    S_EXPECT(s_call(st_docker_container_running, "netted", args, false), FL_ST_TRUE);
    json_t *info = s_inspect("netted");
    ck_assert(s_running(info));
    ck_assert_ptr_nonnull(json_object_get(
        json_object_get(json_object_get(info, "NetworkSettings"), "Networks"), "podman"));
    const json_t *ports = json_object_get(json_object_get(info, "HostConfig"), "PortBindings");
    ck_assert_ptr_nonnull(json_object_get(ports, "80/tcp"));
    ck_assert_ptr_nonnull(json_object_get(ports, "53/udp"));
    json_decref(info);
    S_EXPECT(s_call(st_docker_container_running, "netted", args, false), FL_ST_TRUE);
    s_expect_no_changes();

    char *map = fl_sprintf("{\"image\": \"%s\", \"network\": \"podman\", "
                           "\"port_bindings\": {\"80\": \"127.0.0.1:\"}, "
                           "\"shutdown_timeout\": 0}", S_LIVE);
    S_EXPECT(s_call(st_docker_container_running, "netted", map, false), FL_ST_TRUE);
    ck_assert_ptr_nonnull(json_object_get(s_changes, "port_bindings"));
    S_EXPECT(s_call(st_docker_container_running, "netted", map, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_docker_container_absent, "netted", "{\"force\": true}", false), FL_ST_TRUE);
    free(map);
    free(args);
}
END_TEST

/* ---------------------------------------------------------------- bad input */

START_TEST(test_missing_image)
{
    s_need_engine();
    const char *nope = "127.0.0.1:" S_PORT "/app:nope";
    S_EXPECT(s_call(st_docker_image_present, nope, NULL, false), FL_ST_FALSE);
    s_expect_comment("Failed to pull image 127.0.0.1:" S_PORT "/app:nope");
    s_expect_no_changes();

    char *args = fl_sprintf("{\"image\": \"%s\"}", nope);
    S_EXPECT(s_call(st_docker_container_running, "orphan", args, false), FL_ST_FALSE);
    ck_assert_str_eq(s_comment, "image 127.0.0.1:" S_PORT "/app:nope is not present; "
                     "use docker_image.present first");
    ck_assert_ptr_null(s_inspect("orphan"));
    /* test mode: what would happen once docker_image.present pulled it */
    S_EXPECT(s_call(st_docker_container_running, "orphan", args, true), FL_ST_NONE);
    s_expect_comment("not present yet");
    free(args);

    /* a registry nobody listens on */
    S_EXPECT(s_call(st_docker_image_present, "127.0.0.1:1/app:x", NULL, false), FL_ST_FALSE);
    s_expect_comment("Failed to pull image 127.0.0.1:1/app:x: ");
}
END_TEST

/*  An engine that does not answer: no socket, or a socket nobody accepts
    on.  Needs no engine. */
START_TEST(test_unreachable)
{
    char *dir = fl_test_tmpdir();
    char *missing = fl_sprintf("%s/none.sock", dir);
    char *dead = fl_sprintf("%s/dead.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(dead), sizeof sa.sun_path);
    memcpy(sa.sun_path, dead, strlen(dead) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    close(fd);   /* the file stays; nobody listens */

    const char *socks[] = { missing, dead };
    for (size_t i = 0; i < FL_ARRAY_LEN(socks); i++) {
        s_ctx.container_socket = socks[i];
        S_EXPECT(s_call(st_docker_image_present, S_LIVE, NULL, false), FL_ST_FALSE);
        s_expect_comment("cannot reach the container engine");
        s_expect_comment(socks[i]);
        char *args = fl_sprintf("{\"image\": \"%s\"}", S_LIVE);
        S_EXPECT(s_call(st_docker_container_running, "web", args, false), FL_ST_FALSE);
        s_expect_comment("cannot reach the container engine");
        free(args);
        S_EXPECT(s_call(st_docker_container_stopped, "web", NULL, false), FL_ST_FALSE);
        s_expect_comment("cannot reach the container engine");
        S_EXPECT(s_call(st_docker_container_absent, "web", NULL, true), FL_ST_FALSE);
        s_expect_comment("cannot reach the container engine");
        S_EXPECT(s_call(st_docker_image_absent, S_LIVE, NULL, false), FL_ST_FALSE);
        s_expect_comment("cannot reach the container engine");
    }
    free(missing);
    free(dead);
    fl_test_tmpdir_free(&dir);
}
END_TEST

/*  Arguments are checked before the engine is asked anything: the socket
    here does not exist, and the comment names the argument, not the
    engine. */
START_TEST(test_bad_arguments)
{
    s_ctx.container_socket = "/nonexistent/engine.sock";
    static const struct {
        const char *args;
        const char *comment;
    } cases[] = {
        { "{\"image\": \"app\", \"binds\": [\"nocolon\"]}", "malformed bind \"nocolon\"" },
        { "{\"image\": \"app\", \"binds\": \"nocolon\"}", "malformed bind \"nocolon\"" },
        { "{\"image\": \"app\", \"binds\": [\":/data\"]}", "the host path is empty" },
        { "{\"image\": \"app\", \"binds\": [\"/srv:\"]}", "the container path is empty" },
        { "{\"image\": \"app\", \"binds\": [\"/srv:data\"]}", "must be absolute" },
        { "{\"image\": \"app\", \"binds\": [\"/srv:/data:\"]}", "mode" },
        { "{\"image\": \"app\", \"binds\": [\"/srv:/data:rx\"]}", "mode" },
        { "{\"image\": \"app\", \"binds\": [\"/a:/b:ro:x\"]}", "too many" },
        { "{\"image\": \"app\", \"binds\": [42]}", "malformed bind 42" },
        { "{\"image\": \"app\", \"binds\": {\"a\": 1}}", "binds must be" },
        { "{}", "needs an image" },
        { "{\"image\": \"my app\"}", "blanks" },
        { "{\"image\": \"app\", \"command\": \"sh -c 'echo\"}", "unterminated single quote" },
        { "{\"image\": \"app\", \"command\": \"echo \\\"hi\"}", "unterminated double quote" },
        { "{\"image\": \"app\", \"command\": \"  \"}", "command has no words" },
        { "{\"image\": \"app\", \"command\": [\"a\", {}]}", "command has a list item" },
        { "{\"image\": \"app\", \"environment\": [\"NOVALUE\"]}", "'NOVALUE' must be KEY=VALUE" },
        { "{\"image\": \"app\", \"environment\": [\"=x\"]}", "empty name" },
        { "{\"image\": \"app\", \"environment\": [{\"K\": [1]}]}", "string or number value" },
        { "{\"image\": \"app\", \"environment\": 5}", "environment must be" },
        { "{\"image\": \"app\", \"restart_policy\": \"sometimes\"}", "restart_policy 'sometimes'" },
        { "{\"image\": \"app\", \"restart_policy\": \"on-failure:x\"}", "restart_policy" },
        { "{\"image\": \"app\", \"port_bindings\": [\"80:99999\"]}", "malformed port binding" },
        { "{\"image\": \"app\", \"port_bindings\": [\"a:b:c:d\"]}", "malformed port binding" },
        { "{\"image\": \"app\", \"port_bindings\": [\"80/icmp\"]}", "malformed port binding" },
        { "{\"image\": \"app\", \"port_bindings\": {\"80\": \"x\"}}", "malformed port binding" },
        { "{\"image\": \"app\", \"links\": [\"db:\"]}", "links must be" },
        { "{\"image\": \"app\", \"force\": \"yes\"}", "force must be True or False" },
        { "{\"image\": \"app\", \"shutdown_timeout\": -1}", "shutdown_timeout" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        S_EXPECT(s_call(st_docker_container_running, "web", cases[i].args, false), FL_ST_FALSE);
        ck_assert_msg(strstr(s_comment, cases[i].comment) != NULL,
                      "%s: comment '%s' lacks '%s'", cases[i].args, s_comment, cases[i].comment);
        s_expect_no_changes();
    }
    S_EXPECT(s_call(st_docker_container_running, "bad/name", "{\"image\": \"app\"}", false),
             FL_ST_FALSE);
    s_expect_comment("container name");
    S_EXPECT(s_call(st_docker_image_present, "app:1", "{\"tag\": \"2\"}", false), FL_ST_FALSE);
    s_expect_comment("already has a tag");
    S_EXPECT(s_call(st_docker_image_present, "", NULL, false), FL_ST_FALSE);
    s_expect_comment("image name is required");
    S_EXPECT(s_call(st_docker_container_stopped, "web", "{\"error_on_absent\": 1}", false),
             FL_ST_FALSE);
    s_expect_comment("error_on_absent must be True or False");
}
END_TEST

Suite *
suite_st_docker(void)
{
    Suite *s = suite_create("st_docker");
    TCase *tc = tcase_create("st_docker");
    tcase_add_unchecked_fixture(tc, s_engine_up, s_engine_down);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_image_present);
    tcase_add_test(tc, test_image_force_new_digest);
    tcase_add_test(tc, test_image_absent);
    tcase_add_test(tc, test_container_running);
    tcase_add_test(tc, test_container_env_change);
    tcase_add_test(tc, test_container_image_update);
    tcase_add_test(tc, test_container_mod_watch);
    tcase_add_test(tc, test_container_stopped);
    tcase_add_test(tc, test_container_absent);
    tcase_add_test(tc, test_seed_example);
    tcase_add_test(tc, test_links);
    tcase_add_test(tc, test_network_ports);
    tcase_add_test(tc, test_missing_image);
    tcase_add_test(tc, test_unreachable);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
