/*  check_state.c: the state runner (fl_state_run) over hand-written low
    chunks of test.*, file.* and cmd.* states in a root_dir of their own;
    the cmd.run, test.* and archive.extracted states; state.apply. */
#include "fl_test.h"
#include "fl_util.h"
#include "st_core.h"

#include <pwd.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

static char *s_dir;
static json_t *s_grains;
static json_t *s_pillar;
static json_t *s_files;
static fl_st_ctx_t s_ctx;
static json_t *s_out;       /* the last run's result */
static bool s_failed;

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_grains = json_pack("{s:s}", "os", "Debian");
    s_pillar = json_object();
    s_files = json_object();
    s_ctx = (fl_st_ctx_t) { .minion_id = "pi-001", .grains = s_grains, .pillar = s_pillar,
                            .root_dir = s_dir, .cache_dir = s_dir, .test = false,
                            .files = s_files };
    s_out = NULL;
}

static void
s_teardown(void)
{
    json_decref(s_out);
    json_decref(s_grains);
    json_decref(s_pillar);
    json_decref(s_files);
    fl_test_tmpdir_free(&s_dir);
}

/*  JSON with ' for " (readable literals in C). */
static json_t *
s_json(const char *text)
{
    char *copy = fl_strdup(text);
    for (char *p = copy; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }
    json_error_t err;
    json_t *v = json_loads(copy, JSON_DECODE_ANY, &err);
    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, err.text);
    free(copy);
    return v;
}

/*  Runs the chunks (JSON, ' for "); the result is in s_out. */
static void
s_run(const char *chunks)
{
    json_decref(s_out);
    json_t *c = s_json(chunks);
    s_out = fl_state_run(&s_ctx, c, &s_failed);
    json_decref(c);
    ck_assert(json_is_object(s_out));
}

/*  The result of the chunk with KEY ("state_|-id_|-name_|-fun"). */
static json_t *
s_res(const char *key)
{
    json_t *r = json_object_get(s_out, key);
    if (!r) {
        char *dump = json_dumps(s_out, JSON_INDENT(2));
        ck_abort_msg("no result %s in\n%s", key, dump);
    }
    return r;
}

static const char *
s_comment(const char *key)
{
    return json_string_value(json_object_get(s_res(key), "comment"));
}

static json_t *
s_result(const char *key)
{
    return json_object_get(s_res(key), "result");
}

static size_t
s_changes(const char *key)
{
    return json_object_size(json_object_get(s_res(key), "changes"));
}

static bool
s_exists(const char *name)
{
    char *p = fl_sprintf("%s%s", s_dir, name);
    struct stat st;
    bool ok = lstat(p, &st) == 0;
    free(p);
    return ok;
}

/*  The canonical use: chunks in, Salt's result object out. */
START_TEST(test_run_basic)
{
    s_run("[{'id': 'motd', 'sls': 'web', 'state': 'file', 'fun': 'managed', 'name': '/motd',"
          "  'args': {'contents': 'hi'}},"
          " {'id': 'ok', 'sls': 'web', 'state': 'test', 'fun': 'succeed_without_changes',"
          "  'name': 'ok', 'args': {}}]");
    ck_assert(!s_failed);
    ck_assert_int_eq(json_object_size(s_out), 2);
    json_t *r = s_res("file_|-motd_|-/motd_|-managed");
    ck_assert(json_is_true(json_object_get(r, "result")));
    ck_assert_str_eq(json_string_value(json_object_get(r, "name")), "/motd");
    ck_assert_str_eq(json_string_value(json_object_get(r, "__sls__")), "web");
    ck_assert_str_eq(json_string_value(json_object_get(r, "__id__")), "motd");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "__run_num__")), 0);
    ck_assert(json_is_real(json_object_get(r, "duration")));
    ck_assert(json_real_value(json_object_get(r, "duration")) >= 0);
    const char *start = json_string_value(json_object_get(r, "start_time"));
    ck_assert_int_eq(strlen(start), 15);
    ck_assert(start[2] == ':' && start[5] == ':' && start[8] == '.');
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "changes"), "diff")),
                     "New file");
    ck_assert(s_exists("/motd"));
    r = s_res("test_|-ok_|-ok_|-succeed_without_changes");
    ck_assert_int_eq(json_integer_value(json_object_get(r, "__run_num__")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(r, "comment")), "Success!");
}
END_TEST

START_TEST(test_run_order)
{
    s_run("[{'id': 'c', 'sls': 's', 'state': 'test', 'fun': 'nop', 'name': 'c', 'args': {}},"
          " {'id': 'a', 'sls': 's', 'state': 'test', 'fun': 'nop', 'name': 'a', 'args': {}},"
          " {'id': 'b', 'sls': 's', 'state': 'test', 'fun': 'nop', 'name': 'b', 'args': {}}]");
    ck_assert_int_eq(json_integer_value(json_object_get(s_res("test_|-c_|-c_|-nop"),
                                                        "__run_num__")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(s_res("test_|-a_|-a_|-nop"),
                                                        "__run_num__")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(s_res("test_|-b_|-b_|-nop"),
                                                        "__run_num__")), 2);
    /* the object keeps run order too */
    const char *first = json_object_iter_key(json_object_iter(s_out));
    ck_assert_str_eq(first, "test_|-c_|-c_|-nop");
    s_run("[]");
    ck_assert_int_eq(json_object_size(s_out), 0);
    ck_assert(!s_failed);
}
END_TEST

START_TEST(test_require)
{
    s_run("[{'id': 'a', 'sls': 'web', 'state': 'test', 'fun': 'fail_without_changes', 'name': 'a',"
          "  'args': {}},"
          " {'id': 'b', 'sls': 'web', 'state': 'file', 'fun': 'managed', 'name': '/b',"
          "  'args': {'contents': 'x'}, 'require': [0]},"
          " {'id': 'c', 'sls': 'db', 'state': 'test', 'fun': 'nop', 'name': 'c', 'args': {},"
          "  'require': [1]},"
          " {'id': 'd', 'sls': 'db', 'state': 'test', 'fun': 'nop', 'name': 'd', 'args': {}},"
          " {'id': 'e', 'sls': 'db', 'state': 'test', 'fun': 'nop', 'name': 'e', 'args': {},"
          "  'require': [3]},"
          " {'id': 'f', 'sls': 'db', 'state': 'test', 'fun': 'nop', 'name': 'f', 'args': {},"
          "  'require': [0, 3, 1]}]");
    ck_assert(s_failed);
    ck_assert(json_is_false(s_result("test_|-a_|-a_|-fail_without_changes")));
    ck_assert(json_is_false(s_result("file_|-b_|-/b_|-managed")));
    ck_assert_str_eq(s_comment("file_|-b_|-/b_|-managed"), "One or more requisite failed: web.a");
    ck_assert(!s_exists("/b"));
    ck_assert_str_eq(s_comment("test_|-c_|-c_|-nop"), "One or more requisite failed: web.b");
    ck_assert(json_is_true(s_result("test_|-e_|-e_|-nop")));
    ck_assert_str_eq(s_comment("test_|-f_|-f_|-nop"),
                     "One or more requisite failed: web.a, web.b");
}
END_TEST

START_TEST(test_watch)
{
    s_run("[{'id': 'conf', 'sls': 'web', 'state': 'test', 'fun': 'succeed_with_changes',"
          "  'name': 'conf', 'args': {}},"
          " {'id': 'same', 'sls': 'web', 'state': 'test', 'fun': 'nop', 'name': 'same',"
          "  'args': {}},"
          " {'id': 'svc', 'sls': 'web', 'state': 'test', 'fun': 'succeed_without_changes',"
          "  'name': 'svc', 'args': {}, 'watch': [1, 0]},"
          " {'id': 'quiet', 'sls': 'web', 'state': 'test', 'fun': 'succeed_without_changes',"
          "  'name': 'quiet', 'args': {}, 'watch': [1]},"
          " {'id': 'busy', 'sls': 'web', 'state': 'test', 'fun': 'succeed_with_changes',"
          "  'name': 'busy', 'args': {}, 'watch': [0]},"
          " {'id': 'bad', 'sls': 'web', 'state': 'test', 'fun': 'fail_without_changes',"
          "  'name': 'bad', 'args': {}},"
          " {'id': 'w', 'sls': 'web', 'state': 'test', 'fun': 'nop', 'name': 'w', 'args': {},"
          "  'watch': [5]},"
          " {'id': 'f', 'sls': 'web', 'state': 'file', 'fun': 'managed', 'name': '/f',"
          "  'args': {'contents': 'x'}, 'watch': [0]}]");
    /* a watched change fires mod_watch after the function */
    ck_assert_str_eq(s_comment("test_|-svc_|-svc_|-succeed_without_changes"),
                     "Success!\nWatch statement fired.");
    ck_assert_str_eq(s_comment("test_|-quiet_|-quiet_|-succeed_without_changes"), "Success!");
    /* a function that changed something itself needs no mod_watch (Salt) */
    ck_assert_str_eq(s_comment("test_|-busy_|-busy_|-succeed_with_changes"), "Success!");
    /* a failed watched state is a failed requisite */
    ck_assert(json_is_false(s_result("test_|-w_|-w_|-nop")));
    ck_assert_str_eq(s_comment("test_|-w_|-w_|-nop"), "One or more requisite failed: web.bad");
    /* no mod_watch: the function alone */
    ck_assert_str_eq(s_comment("file_|-f_|-/f_|-managed"), "File /f updated");
}
END_TEST

START_TEST(test_onchanges_onfail)
{
    s_run("[{'id': 'ch', 'sls': 's', 'state': 'test', 'fun': 'succeed_with_changes',"
          "  'name': 'ch', 'args': {}},"
          " {'id': 'same', 'sls': 's', 'state': 'test', 'fun': 'nop', 'name': 'same', 'args': {}},"
          " {'id': 'bad', 'sls': 's', 'state': 'test', 'fun': 'fail_without_changes',"
          "  'name': 'bad', 'args': {}},"
          " {'id': 'oc1', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/oc1',"
          "  'args': {}, 'onchanges': [1]},"
          " {'id': 'oc2', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/oc2',"
          "  'args': {}, 'onchanges': [1, 0]},"
          " {'id': 'of1', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/of1',"
          "  'args': {}, 'onfail': [1]},"
          " {'id': 'of2', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/of2',"
          "  'args': {}, 'onfail': [2]}]");
    ck_assert(json_is_true(s_result("file_|-oc1_|-/oc1_|-managed")));
    ck_assert_str_eq(s_comment("file_|-oc1_|-/oc1_|-managed"),
                     "State was not run because none of the onchanges reqs changed");
    ck_assert(!s_exists("/oc1"));
    ck_assert(s_exists("/oc2"));
    ck_assert(json_is_true(s_result("file_|-of1_|-/of1_|-managed")));
    ck_assert_str_eq(s_comment("file_|-of1_|-/of1_|-managed"),
                     "State was not run because onfail req did not change");
    ck_assert(!s_exists("/of1"));
    ck_assert(s_exists("/of2"));
    ck_assert(json_is_true(s_result("file_|-of2_|-/of2_|-managed")));
}
END_TEST

START_TEST(test_prereq)
{
    /* A (prereq X) runs before X only when X would change */
    s_run("[{'id': 'pre', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/pre',"
          "  'args': {'contents': 'down'}, 'prereq': [1]},"
          " {'id': 'x', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/x',"
          "  'args': {'contents': 'v1'}}]");
    ck_assert(!s_failed);
    ck_assert(s_exists("/pre"));
    ck_assert(s_exists("/x"));
    ck_assert_int_eq(json_integer_value(json_object_get(s_res("file_|-pre_|-/pre_|-managed"),
                                                        "__run_num__")), 0);
    char *pre = fl_sprintf("%s/pre", s_dir);
    ck_assert_int_eq(unlink(pre), 0);
    free(pre);
    /* the same again: X is in its state, so A does nothing */
    s_run("[{'id': 'pre', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/pre',"
          "  'args': {'contents': 'down'}, 'prereq': [1]},"
          " {'id': 'x', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/x',"
          "  'args': {'contents': 'v1'}}]");
    ck_assert(json_is_true(s_result("file_|-pre_|-/pre_|-managed")));
    ck_assert_str_eq(s_comment("file_|-pre_|-/pre_|-managed"), "No changes detected");
    ck_assert(!s_exists("/pre"));
    /* A failing stops X */
    s_run("[{'id': 'pre', 'sls': 's', 'state': 'test', 'fun': 'fail_without_changes',"
          "  'name': 'pre', 'args': {}, 'prereq': [1]},"
          " {'id': 'x', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/x',"
          "  'args': {'contents': 'v2'}}]");
    ck_assert(s_failed);
    ck_assert(json_is_false(s_result("file_|-x_|-/x_|-managed")));
    ck_assert_str_eq(s_comment("file_|-x_|-/x_|-managed"), "One or more requisite failed: s.pre");
    /* in test mode A is only predicted too */
    s_ctx.test = true;
    s_run("[{'id': 'pre', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/pre',"
          "  'args': {'contents': 'down'}, 'prereq': [1]},"
          " {'id': 'x', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/x',"
          "  'args': {'contents': 'v3'}}]");
    ck_assert(json_is_null(s_result("file_|-pre_|-/pre_|-managed")));
    ck_assert(json_is_null(s_result("file_|-x_|-/x_|-managed")));
    ck_assert(!s_exists("/pre"));
}
END_TEST

START_TEST(test_unless_onlyif_creates)
{
    char *marker = fl_test_write(s_dir, "marker", "");
    char *chunks = fl_sprintf(
        "[{'id': 'u1', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/u1',"
        "  'args': {'unless': 'true'}},"
        " {'id': 'u2', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/u2',"
        "  'args': {'unless': ['true', 'false']}},"
        " {'id': 'o1', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/o1',"
        "  'args': {'onlyif': ['true', 'exit 3']}},"
        " {'id': 'o2', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/o2',"
        "  'args': {'onlyif': 'test -e %s'}},"
        " {'id': 'c1', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/c1',"
        "  'args': {'creates': ['/marker']}},"
        " {'id': 'c2', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/c2',"
        "  'args': {'creates': ['/marker', '/nope']}},"
        " {'id': 'bad', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/bad',"
        "  'args': {'unless': 5}}]",
        marker);
    s_run(chunks);
    ck_assert_str_eq(s_comment("file_|-u1_|-/u1_|-managed"), "unless condition is true");
    ck_assert(json_is_true(s_result("file_|-u1_|-/u1_|-managed")));
    ck_assert(!s_exists("/u1"));
    ck_assert(s_exists("/u2"));
    ck_assert_str_eq(s_comment("file_|-o1_|-/o1_|-managed"), "onlyif condition is false");
    ck_assert(!s_exists("/o1"));
    ck_assert(s_exists("/o2"));
    ck_assert_str_eq(s_comment("file_|-c1_|-/c1_|-managed"), "All files in creates exist");
    ck_assert(!s_exists("/c1"));
    ck_assert(s_exists("/c2"));
    ck_assert(json_is_false(s_result("file_|-bad_|-/bad_|-managed")));
    /* the function never sees them */
    ck_assert_int_eq(s_changes("file_|-u2_|-/u2_|-managed"), 1);
    free(chunks);
    free(marker);
}
END_TEST

START_TEST(test_unknown_and_malformed)
{
    s_run("[{'id': 'x', 'sls': 'web', 'state': 'foo', 'fun': 'bar', 'name': 'x', 'args': {}},"
          " {'id': 'y', 'sls': 'web', 'state': 'test', 'fun': 'nop', 'name': 'y', 'args': {},"
          "  'require': [0]},"
          " {'id': 'z', 'sls': 'web', 'name': 'z'},"
          " {'id': 'r', 'sls': 'web', 'state': 'test', 'fun': 'nop', 'name': 'r', 'args': {},"
          "  'require': [99]}]");
    ck_assert(s_failed);
    ck_assert(json_is_false(s_result("foo_|-x_|-x_|-bar")));
    ck_assert_str_eq(s_comment("foo_|-x_|-x_|-bar"), "State 'foo.bar' was not found in SLS 'web'");
    ck_assert_str_eq(s_comment("test_|-y_|-y_|-nop"), "One or more requisite failed: web.x");
    ck_assert(json_is_false(s_result("_|-z_|-z_|-")));
    ck_assert(json_is_false(s_result("test_|-r_|-r_|-nop")));
}
END_TEST

START_TEST(test_test_mode)
{
    char *existing = fl_test_write(s_dir, "old", "keep\n");
    s_ctx.test = true;
    s_run("[{'id': 'f', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/new',"
          "  'args': {'contents': 'x'}},"
          " {'id': 'g', 'sls': 's', 'state': 'file', 'fun': 'absent', 'name': '/old', 'args': {}},"
          " {'id': 'h', 'sls': 's', 'state': 'file', 'fun': 'managed', 'name': '/old',"
          "  'args': {'contents': 'keep'}},"
          " {'id': 'c', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'touch /tmp/nope',"
          "  'args': {}},"
          " {'id': 't', 'sls': 's', 'state': 'test', 'fun': 'succeed_with_changes', 'name': 't',"
          "  'args': {}},"
          " {'id': 'oc', 'sls': 's', 'state': 'file', 'fun': 'directory', 'name': '/d',"
          "  'args': {}, 'onchanges': [0]}]");
    ck_assert(!s_failed);
    ck_assert(json_is_null(s_result("file_|-f_|-/new_|-managed")));
    ck_assert_int_eq(s_changes("file_|-f_|-/new_|-managed"), 1);
    ck_assert(!s_exists("/new"));
    ck_assert(json_is_null(s_result("file_|-g_|-/old_|-absent")));
    ck_assert(s_exists("/old"));
    ck_assert(json_is_true(s_result("file_|-h_|-/old_|-managed")));
    ck_assert_str_eq(s_comment("file_|-h_|-/old_|-managed"), "File /old is in the correct state");
    ck_assert(json_is_null(s_result("cmd_|-c_|-touch /tmp/nope_|-run")));
    ck_assert_str_eq(s_comment("cmd_|-c_|-touch /tmp/nope_|-run"),
                     "Command \"touch /tmp/nope\" would have been executed");
    ck_assert(json_is_null(s_result("test_|-t_|-t_|-succeed_with_changes")));
    /* predicted changes trigger onchanges, in test mode as well */
    ck_assert(json_is_null(s_result("file_|-oc_|-/d_|-directory")));
    ck_assert(!s_exists("/d"));
    free(existing);
}
END_TEST

/*  cmd.run as a state: through a shell, Salt's changes and comment. */
START_TEST(test_cmd_run)
{
    s_run("[{'id': 'a', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'echo $X; echo e >&2',"
          "  'args': {'env': [{'X': 'hi'}]}},"
          " {'id': 'b', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'exit 3', 'args': {}},"
          " {'id': 'c', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'pwd',"
          "  'args': {'cwd': '/tmp', 'env': {'N': 1}}},"
          " {'id': 'd', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'sleep 5',"
          "  'args': {'timeout': 0.2}},"
          " {'id': 'e', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'true',"
          "  'args': {'cwd': '/no/such/dir'}},"
          " {'id': 'f', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'true',"
          "  'args': {'runas': 'no-such-user-fleet'}}]");
    json_t *a = s_res("cmd_|-a_|-echo $X; echo e >&2_|-run");
    ck_assert(json_is_true(json_object_get(a, "result")));
    ck_assert_str_eq(json_string_value(json_object_get(a, "comment")),
                     "Command \"echo $X; echo e >&2\" run");
    json_t *ch = json_object_get(a, "changes");
    ck_assert_str_eq(json_string_value(json_object_get(ch, "stdout")), "hi");
    ck_assert_str_eq(json_string_value(json_object_get(ch, "stderr")), "e");
    ck_assert_int_eq(json_integer_value(json_object_get(ch, "retcode")), 0);
    ck_assert(json_integer_value(json_object_get(ch, "pid")) > 0);
    json_t *b = s_res("cmd_|-b_|-exit 3_|-run");
    ck_assert(json_is_false(json_object_get(b, "result")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(b, "changes"),
                                                        "retcode")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_res("cmd_|-c_|-pwd_|-run"),
                                                                       "changes"), "stdout")),
                     "/tmp");
    ck_assert(json_is_false(s_result("cmd_|-d_|-sleep 5_|-run")));
    ck_assert(json_is_false(s_result("cmd_|-e_|-true_|-run")));
    ck_assert_str_eq(s_comment("cmd_|-e_|-true_|-run"),
                     "Desired working directory \"/no/such/dir\" is not available");
    ck_assert(json_is_false(s_result("cmd_|-f_|-true_|-run")));
    ck_assert(s_failed);
}
END_TEST

START_TEST(test_cmd_runas)
{
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    uid_t uid = pw->pw_uid;
    s_run("[{'id': 'a', 'sls': 's', 'state': 'cmd', 'fun': 'run', 'name': 'id -u; echo $USER',"
          "  'args': {'runas': 'nobody', 'cwd': '/'}}]");
    json_t *r = s_res("cmd_|-a_|-id -u; echo $USER_|-run");
    if (geteuid() != 0) {
        ck_assert(json_is_false(json_object_get(r, "result")));
        ck_assert(strstr(json_string_value(json_object_get(r, "comment")), "root") != NULL);
        return;
    }
    ck_assert_msg(json_is_true(json_object_get(r, "result")), "%s",
                  json_string_value(json_object_get(r, "comment")));
    char want[64];
    snprintf(want, sizeof want, "%u\nnobody", (unsigned) uid);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "changes"), "stdout")),
                     want);
}
END_TEST

START_TEST(test_test_states)
{
    s_run("[{'id': 'a', 'sls': 's', 'state': 'test', 'fun': 'succeed_with_changes', 'name': 'a',"
          "  'args': {'comment': 'mine'}},"
          " {'id': 'b', 'sls': 's', 'state': 'test', 'fun': 'fail_with_changes', 'name': 'b',"
          "  'args': {}},"
          " {'id': 'c', 'sls': 's', 'state': 'test', 'fun': 'show_notification', 'name': 'c',"
          "  'args': {'text': 'note'}}]");
    ck_assert_str_eq(s_comment("test_|-a_|-a_|-succeed_with_changes"), "mine");
    ck_assert_int_eq(s_changes("test_|-a_|-a_|-succeed_with_changes"), 1);
    ck_assert(json_is_false(s_result("test_|-b_|-b_|-fail_with_changes")));
    ck_assert_int_eq(s_changes("test_|-b_|-b_|-fail_with_changes"), 1);
    ck_assert_str_eq(s_comment("test_|-c_|-c_|-show_notification"), "note");
    ck_assert_ptr_nonnull(fl_st_find("test.nop"));
    ck_assert_ptr_nonnull(fl_st_find("file.managed"));
    ck_assert_ptr_nonnull(fl_st_find("test.nop")->mod_watch);
}
END_TEST

START_TEST(test_archive)
{
    /* a tarball with one file, and its sha256 */
    char *cmd = fl_sprintf("cd %s && mkdir -p pkg/app && echo v1 > pkg/app/VERSION"
                           " && tar -czf app.tgz -C pkg app", s_dir);
    ck_assert_int_eq(st_cmd_shell(cmd), 0);
    free(cmd);
    char *tgz = fl_sprintf("%s/app.tgz", s_dir);
    size_t len;
    char *data = fl_file_read(tgz, 1 << 20, &len);
    ck_assert_ptr_nonnull(data);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) data, len);
    char hex[65];
    fl_hex_encode(digest, sizeof digest, hex);
    free(data);
    json_object_set_new(s_files, "fleet://app.tgz", json_string(tgz));

    char *chunks = fl_sprintf(
        "[{'id': 'a', 'sls': 's', 'state': 'archive', 'fun': 'extracted', 'name': '/opt',"
        "  'args': {'source': 'fleet://app.tgz', 'source_hash': 'sha256=%s'}}]", hex);
    s_ctx.test = true;
    s_run(chunks);
    ck_assert(json_is_null(s_result("archive_|-a_|-/opt_|-extracted")));
    ck_assert(!s_exists("/opt"));
    s_ctx.test = false;
    s_run(chunks);
    json_t *r = s_res("archive_|-a_|-/opt_|-extracted");
    ck_assert_msg(json_is_true(json_object_get(r, "result")), "%s",
                  json_string_value(json_object_get(r, "comment")));
    ck_assert(s_exists("/opt/app/VERSION"));
    char *marker = fl_sprintf("/opt/.fleet-archive-%s", hex);
    ck_assert(s_exists(marker));
    free(marker);
    ck_assert_int_gt(json_array_size(json_object_get(json_object_get(r, "changes"),
                                                     "extracted_files")), 0);
    s_run(chunks);
    ck_assert(json_is_true(s_result("archive_|-a_|-/opt_|-extracted")));
    ck_assert_int_eq(s_changes("archive_|-a_|-/opt_|-extracted"), 0);
    free(chunks);

    /* no hash, a wrong hash, a bad hash, skip_verify */
    s_run("[{'id': 'a', 'sls': 's', 'state': 'archive', 'fun': 'extracted', 'name': '/o2',"
          "  'args': {'source': 'fleet://app.tgz'}},"
          " {'id': 'b', 'sls': 's', 'state': 'archive', 'fun': 'extracted', 'name': '/o3',"
          "  'args': {'source': 'fleet://app.tgz', 'source_hash':"
          "   '0000000000000000000000000000000000000000000000000000000000000000'}},"
          " {'id': 'c', 'sls': 's', 'state': 'archive', 'fun': 'extracted', 'name': '/o4',"
          "  'args': {'source': 'fleet://app.tgz', 'source_hash': 'md5=abc'}},"
          " {'id': 'd', 'sls': 's', 'state': 'archive', 'fun': 'extracted', 'name': '/o5',"
          "  'args': {'source': 'fleet://app.tgz', 'skip_verify': true}},"
          " {'id': 'e', 'sls': 's', 'state': 'archive', 'fun': 'extracted', 'name': '/o6',"
          "  'args': {'source': 'fleet://missing.tgz', 'skip_verify': true}}]");
    ck_assert(json_is_false(s_result("archive_|-a_|-/o2_|-extracted")));
    ck_assert(strstr(s_comment("archive_|-a_|-/o2_|-extracted"), "source_hash is required"));
    ck_assert(json_is_false(s_result("archive_|-b_|-/o3_|-extracted")));
    ck_assert(strstr(s_comment("archive_|-b_|-/o3_|-extracted"), "Hash mismatch"));
    ck_assert(!s_exists("/o3"));
    ck_assert(json_is_false(s_result("archive_|-c_|-/o4_|-extracted")));
    ck_assert(json_is_true(s_result("archive_|-d_|-/o5_|-extracted")));
    ck_assert(s_exists("/o5/app/VERSION"));
    ck_assert(json_is_false(s_result("archive_|-e_|-/o6_|-extracted")));
    free(tgz);
}
END_TEST

START_TEST(test_state_apply)
{
    fl_mod_ctx_t mctx = { .minion_id = "pi-001", .grains = s_grains, .root_dir = s_dir,
                          .jid = "1", .timeout_ms = 0 };
    json_t *kwargs = s_json(
        "{'__chunks__': [{'id': 'f', 'sls': 's', 'state': 'file', 'fun': 'managed',"
        "  'name': '/f', 'args': {'contents': '{{ pillar.x }}', 'template': 'jinja'}}],"
        " '__pillar__': {'x': 'from pillar'}, '__files__': {}, 'test': 'true',"
        " '__cache_dir__': '/tmp'}");
    json_t *args = json_array();
    json_t *ret = NULL;
    ck_assert_int_eq(mod_state_apply(&mctx, args, kwargs, &ret), 0);
    ck_assert(json_is_null(json_object_get(json_object_get(ret, "file_|-f_|-/f_|-managed"),
                                           "result")));
    ck_assert(!s_exists("/f"));
    json_decref(ret);
    json_object_set_new(kwargs, "test", json_false());
    ck_assert_int_eq(mod_state_apply(&mctx, args, kwargs, &ret), 0);
    json_decref(ret);
    char *p = fl_sprintf("%s/f", s_dir);
    char *text = fl_file_read(p, 1024, NULL);
    ck_assert_str_eq(text, "from pillar\n");
    free(text);
    free(p);
    json_object_set_new(kwargs, "__chunks__",
                        s_json("[{'id': 'a', 'sls': 's', 'state': 'test',"
                               "  'fun': 'fail_without_changes', 'name': 'a', 'args': {}}]"));
    ck_assert_int_eq(mod_state_apply(&mctx, args, kwargs, &ret), 2);
    json_decref(ret);
    json_object_del(kwargs, "__chunks__");
    ck_assert_int_eq(mod_state_apply(&mctx, args, kwargs, &ret), 1);
    ck_assert(json_is_string(ret));
    json_decref(ret);
    json_decref(args);
    json_decref(kwargs);
}
END_TEST

Suite *suite_state(void);

Suite *
suite_state(void)
{
    Suite *s = suite_create("state");
    TCase *tc = tcase_create("runner");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_run_basic);
    tcase_add_test(tc, test_run_order);
    tcase_add_test(tc, test_require);
    tcase_add_test(tc, test_watch);
    tcase_add_test(tc, test_onchanges_onfail);
    tcase_add_test(tc, test_prereq);
    tcase_add_test(tc, test_unless_onlyif_creates);
    tcase_add_test(tc, test_unknown_and_malformed);
    tcase_add_test(tc, test_test_mode);
    tcase_add_test(tc, test_cmd_run);
    tcase_add_test(tc, test_cmd_runas);
    tcase_add_test(tc, test_test_states);
    tcase_add_test(tc, test_archive);
    tcase_add_test(tc, test_state_apply);
    suite_add_tcase(s, tc);
    return s;
}
