/*  check_mods.c: the execution module handlers, called directly (no worker):
    test.*, grains.*, sys.*, cmd.run. */
#include "fl_test.h"
#include "fl_mods.h"
#include "fl_util.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static char *s_dir;
static json_t *s_grains;
static fl_mod_ctx_t s_ctx;

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_grains = json_pack("{s:s, s:s, s:{s:[s,s]}, s:{s:{s:s}}}", "id", "pi-001", "os", "Debian",
                         "ip_interfaces", "eth0", "192.0.2.7", "fd00::7", "hw", "board",
                         "model", "pi4");
    s_ctx = (fl_mod_ctx_t) { .minion_id = "pi-001", .grains = s_grains, .root_dir = "",
                             .jid = "20240101000000000001", .timeout_ms = 0 };
}

static void
s_teardown(void)
{
    json_decref(s_grains);
    fl_test_tmpdir_free(&s_dir);
}

/*  Calls NAME with ARGS and KWARGS given as JSON text; returns the retcode. */
static int
s_call(const char *name, const char *args, const char *kwargs, json_t **ret)
{
    fl_mod_handler_t handler = fl_registry_find(name);
    ck_assert_msg(handler != NULL, "no handler for %s", name);
    json_error_t jerr;
    json_t *a = json_loads(args ? args : "[]", JSON_ALLOW_NUL, &jerr);
    ck_assert_msg(a != NULL, "args: %s", jerr.text);
    json_t *k = json_loads(kwargs ? kwargs : "{}", 0, &jerr);
    ck_assert_msg(k != NULL, "kwargs: %s", jerr.text);
    *ret = NULL;
    int rc = handler(&s_ctx, a, k, ret);
    ck_assert_msg(*ret != NULL, "%s set no return", name);
    json_decref(a);
    json_decref(k);
    return rc;
}

/*  cmd.run with a JSON argv/kwargs; checks the shape of the return. */
static int
s_cmd(const char *args, const char *kwargs, json_t **ret)
{
    int rc = s_call("cmd.run", args, kwargs, ret);
    if (json_is_object(*ret)) {
        ck_assert(json_is_integer(json_object_get(*ret, "pid")));
        ck_assert(json_is_string(json_object_get(*ret, "stdout")));
        ck_assert(json_is_string(json_object_get(*ret, "stderr")));
        ck_assert_int_eq(json_integer_value(json_object_get(*ret, "retcode")), rc);
    }
    return rc;
}

static const char *
s_out(const json_t *ret)
{
    return json_string_value(json_object_get(ret, "stdout"));
}

static const char *
s_err(const json_t *ret)
{
    return json_string_value(json_object_get(ret, "stderr"));
}

/*  True once PID has gone (or is a zombie waiting for init to reap it). */
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

START_TEST(test_mods_usage)
{
    /* Handlers take positional args and kwargs as JSON and give a return
       value and a retcode. */
    fl_mod_handler_t echo = fl_registry_find("test.echo");
    json_t *args = json_pack("[s]", "hello"), *kwargs = json_object(), *ret = NULL;
    ck_assert_int_eq(echo(&s_ctx, args, kwargs, &ret), 0);
    ck_assert_str_eq(json_string_value(ret), "hello");
    json_decref(ret);
    json_decref(args);
    json_decref(kwargs);
}
END_TEST

START_TEST(test_mods_test)
{
    json_t *ret;
    ck_assert_int_eq(s_call("test.ping", NULL, NULL, &ret), 0);
    ck_assert(json_is_true(ret));
    json_decref(ret);
    ck_assert_int_eq(s_call("test.echo", "[{\"a\": [1, 2]}]", NULL, &ret), 0);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(ret, "a"), 1)), 2);
    json_decref(ret);
    ck_assert_int_eq(s_call("test.sleep", "[0]", NULL, &ret), 0);
    ck_assert(json_is_true(ret));
    json_decref(ret);
    ck_assert_int_eq(s_call("test.sleep", "[\"0.01\"]", NULL, &ret), 0);
    ck_assert(json_is_true(ret));
    json_decref(ret);
    ck_assert_int_ne(s_call("test.sleep", "[-1]", NULL, &ret), 0);
    ck_assert(json_is_string(ret));
    json_decref(ret);
    ck_assert_int_ne(s_call("test.sleep", "[\"soon\"]", NULL, &ret), 0);
    ck_assert_ptr_nonnull(strstr(json_string_value(ret), "soon"));
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_grains)
{
    json_t *ret;
    ck_assert_int_eq(s_call("grains.get", "[\"os\"]", NULL, &ret), 0);
    ck_assert_str_eq(json_string_value(ret), "Debian");
    json_decref(ret);
    /* nested, with ':' */
    ck_assert_int_eq(s_call("grains.get", "[\"hw:board:model\"]", NULL, &ret), 0);
    ck_assert_str_eq(json_string_value(ret), "pi4");
    json_decref(ret);
    ck_assert_int_eq(s_call("grains.get", "[\"ip_interfaces:eth0\"]", NULL, &ret), 0);
    ck_assert_str_eq(json_string_value(json_array_get(ret, 1)), "fd00::7");
    json_decref(ret);
    /* absent: the default, or "" as Salt answers */
    ck_assert_int_eq(s_call("grains.get", "[\"hw:board:serial\", \"unknown\"]", NULL, &ret), 0);
    ck_assert_str_eq(json_string_value(ret), "unknown");
    json_decref(ret);
    ck_assert_int_eq(s_call("grains.get", "[\"nope\", {\"x\": 1}]", NULL, &ret), 0);
    ck_assert(json_is_object(ret));
    json_decref(ret);
    ck_assert_int_eq(s_call("grains.get", "[\"nope\"]", NULL, &ret), 0);
    ck_assert_str_eq(json_string_value(ret), "");
    json_decref(ret);
    ck_assert_int_ne(s_call("grains.get", "[42]", NULL, &ret), 0);
    json_decref(ret);

    ck_assert_int_eq(s_call("grains.items", NULL, NULL, &ret), 0);
    ck_assert(json_equal(ret, s_grains));
    ck_assert_ptr_ne(ret, s_grains);    /* a copy: the caller owns it */
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_sys)
{
    json_t *ret;
    ck_assert_int_eq(s_call("sys.list_functions", NULL, NULL, &ret), 0);
    /* Every function available here (container.* needs an engine socket). */
    size_t available = 0;
    for (size_t i = 0; i < fl_func_count(); i++) {
        available += fl_registry_available(fl_func_at(i)->name, &s_ctx);
    }
    ck_assert_uint_eq(json_array_size(ret), available);
    for (size_t i = 1; i < json_array_size(ret); i++) {
        ck_assert_int_lt(strcmp(json_string_value(json_array_get(ret, i - 1)),
                                json_string_value(json_array_get(ret, i))),
                         0);
    }
    json_decref(ret);
    static const char *const patterns[] = { "[\"test.*\"]", "[\"test\"]", "[\"test.\"]" };
    for (size_t i = 0; i < FL_ARRAY_LEN(patterns); i++) {
        ck_assert_int_eq(s_call("sys.list_functions", patterns[i], NULL, &ret), 0);
        ck_assert_uint_eq(json_array_size(ret), 3);
        ck_assert_str_eq(json_string_value(json_array_get(ret, 0)), "test.echo");
        json_decref(ret);
    }
    ck_assert_int_eq(s_call("sys.list_functions", "[\"*.get\"]", NULL, &ret), 0);
    ck_assert_uint_eq(json_array_size(ret), 1);
    json_decref(ret);
    ck_assert_int_eq(s_call("sys.list_functions", "[\"nothing.*\"]", NULL, &ret), 0);
    ck_assert_uint_eq(json_array_size(ret), 0);
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_cmd_retcode)
{
    json_t *ret;
    ck_assert_int_eq(s_cmd("[\"true\"]", NULL, &ret), 0);
    ck_assert_str_eq(s_out(ret), "");
    json_decref(ret);
    ck_assert_int_eq(s_cmd("[\"false\"]", NULL, &ret), 1);
    json_decref(ret);
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"echo oops >&2; exit 3\"]", NULL, &ret), 3);
    ck_assert_str_eq(s_err(ret), "oops");
    json_decref(ret);
    /* killed by a signal: 128 + N, as shells say */
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"kill -9 $$\"]", NULL, &ret), 128 + SIGKILL);
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_cmd_argv_no_shell)
{
    json_t *ret;
    /* each argument arrives whole: spaces, quotes and $ are not interpreted */
    ck_assert_int_eq(s_cmd("[\"printf\", \"%s|\", \"a b\", \"'c'\", \"$HOME\", \"`id`\", 7]", NULL,
                           &ret),
                     0);
    ck_assert_str_eq(s_out(ret), "a b|'c'|$HOME|`id`|7|");
    json_decref(ret);
    ck_assert_int_eq(s_cmd("[\"echo\", \"$HOME;\", \"id\"]", NULL, &ret), 0);
    ck_assert_str_eq(s_out(ret), "$HOME; id");
    json_decref(ret);
    /* with shell=true the words are joined and given to /bin/sh -c */
    ck_assert_int_eq(s_cmd("[\"echo\", \"$FLEET_T\", \"&&\", \"echo\", \"b\"]",
                           "{\"shell\": true, \"env\": {\"FLEET_T\": \"a\"}}", &ret),
                     0);
    ck_assert_str_eq(s_out(ret), "a\nb");
    json_decref(ret);
    ck_assert_int_eq(s_cmd("[\"echo $FLEET_T\"]", "{\"shell\": \"yes\", \"env\": [\"FLEET_T=x\"]}",
                           &ret),
                     0);
    ck_assert_str_eq(s_out(ret), "x");
    json_decref(ret);
    ck_assert_int_ne(s_cmd("[\"true\"]", "{\"shell\": \"perhaps\"}", &ret), 0);
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_cmd_env)
{
    json_t *ret;
    setenv("FLEET_KEEP", "kept", 1);
    setenv("FLEET_OVER", "old", 1);
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"echo $FLEET_KEEP $FLEET_OVER $FLEET_NEW\"]",
                           "{\"env\": {\"FLEET_OVER\": \"new\", \"FLEET_NEW\": \"x=y\"}}", &ret),
                     0);
    ck_assert_str_eq(s_out(ret), "kept new x=y");
    json_decref(ret);
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"echo $FLEET_OVER\"]",
                           "{\"env\": [\"FLEET_OVER=listed\"]}", &ret),
                     0);
    ck_assert_str_eq(s_out(ret), "listed");
    json_decref(ret);
    /* PATH given in env= is the one searched */
    char *bin = fl_sprintf("%s/bin", s_dir);
    ck_assert_int_eq(fl_mkdir_p(bin, 0755), 0);
    char *tool = fl_test_write(bin, "fleet-tool", "#!/bin/sh\necho from-tool\n");
    ck_assert_int_eq(chmod(tool, 0755), 0);
    char *kwargs = fl_sprintf("{\"env\": {\"PATH\": \"%s:/usr/bin:/bin\"}}", bin);
    ck_assert_int_eq(s_cmd("[\"fleet-tool\"]", kwargs, &ret), 0);
    ck_assert_str_eq(s_out(ret), "from-tool");
    json_decref(ret);
    free(kwargs);
    free(tool);
    free(bin);
    /* the worker's own environment is untouched */
    ck_assert_str_eq(getenv("FLEET_OVER"), "old");
    /* malformed */
    static const char *const bad[] = { "{\"env\": {\"A\": 1}}", "{\"env\": [\"NOEQUALS\"]}",
                                       "{\"env\": [\"=v\"]}", "{\"env\": \"A=B\"}" };
    for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
        ck_assert_int_ne(s_cmd("[\"true\"]", bad[i], &ret), 0);
        ck_assert_msg(json_is_string(ret) && strstr(json_string_value(ret), "env"), "%s", bad[i]);
        json_decref(ret);
    }
}
END_TEST

START_TEST(test_mods_cmd_cwd)
{
    json_t *ret;
    char real[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(s_dir, real));
    char *kwargs = fl_sprintf("{\"cwd\": \"%s\"}", real);
    ck_assert_int_eq(s_cmd("[\"pwd\", \"-P\"]", kwargs, &ret), 0);
    ck_assert_str_eq(s_out(ret), real);
    json_decref(ret);
    free(kwargs);

    kwargs = fl_sprintf("{\"cwd\": \"%s/missing\"}", s_dir);
    ck_assert_int_ne(s_cmd("[\"pwd\"]", kwargs, &ret), 0);
    ck_assert(json_is_string(ret));
    ck_assert_ptr_nonnull(strstr(json_string_value(ret), "cwd"));
    ck_assert_ptr_nonnull(strstr(json_string_value(ret), "No such file or directory"));
    json_decref(ret);
    free(kwargs);
}
END_TEST

START_TEST(test_mods_cmd_stdin)
{
    json_t *ret;
    ck_assert_int_eq(s_cmd("[\"cat\"]", "{\"stdin\": \"hello\\nworld\\n\"}", &ret), 0);
    ck_assert_str_eq(s_out(ret), "hello\nworld");
    json_decref(ret);
    /* without stdin= the command reads /dev/null, never the minion's stdin */
    ck_assert_int_eq(s_cmd("[\"cat\"]", NULL, &ret), 0);
    ck_assert_str_eq(s_out(ret), "");
    json_decref(ret);
    /* a command that reads only some of a big stdin: no hang, no SIGPIPE */
    size_t big = 1024 * 1024;
    char *data = fl_malloc(big + 1);
    memset(data, 'x', big);
    data[big] = '\0';
    json_t *args = json_pack("[s, s, s]", "head", "-c", "10");
    json_t *kwargs = json_pack("{s:s, s:i}", "stdin", data, "timeout", 20);
    fl_mod_handler_t run = fl_registry_find("cmd.run");
    ck_assert_int_eq(run(&s_ctx, args, kwargs, &ret), 0);
    ck_assert_str_eq(s_out(ret), "xxxxxxxxxx");
    json_decref(ret);
    json_decref(args);
    json_decref(kwargs);
    free(data);
}
END_TEST

START_TEST(test_mods_cmd_not_found)
{
    json_t *ret;
    ck_assert_int_eq(s_cmd("[\"/nonexistent/fleet-binary\", \"x\"]", NULL, &ret), 127);
    ck_assert_ptr_nonnull(strstr(s_err(ret), "cannot execute '/nonexistent/fleet-binary'"));
    ck_assert_ptr_nonnull(strstr(s_err(ret), "No such file or directory"));
    json_decref(ret);
    ck_assert_int_eq(s_cmd("[\"fleet-no-such-command\"]", NULL, &ret), 127);
    json_decref(ret);
    /* not executable */
    char *file = fl_test_write(s_dir, "plain", "not a program\n");
    char *args = fl_sprintf("[\"%s\"]", file);
    ck_assert_int_eq(s_cmd(args, NULL, &ret), 127);
    ck_assert_ptr_nonnull(strstr(s_err(ret), "Permission denied"));
    json_decref(ret);
    free(args);
    free(file);
    /* bad arguments never start anything */
    static const char *const bad[] = { "[\"\"]", "[[\"ls\"]]", "[\"ls\", null]", "[\"a\\u0000b\"]" };
    for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
        ck_assert_int_eq(s_cmd(bad[i], NULL, &ret), 1);
        ck_assert(json_is_string(ret));
        json_decref(ret);
    }
    ck_assert_int_eq(s_cmd("[\"true\"]", "{\"timout\": 5}", &ret), 1);
    ck_assert_ptr_nonnull(strstr(json_string_value(ret), "timout"));
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_cmd_timeout)
{
    json_t *ret;
    /* the background sleep is in the command's process group: killed too */
    int64_t start = fl_clock_ms();
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"sleep 30 & echo $!; wait; echo never\"]",
                           "{\"timeout\": 0.5}", &ret),
                     124);
    ck_assert_int_lt(fl_clock_ms() - start, 15000);
    const char *out = s_out(ret);
    ck_assert_ptr_null(strstr(out, "never"));
    pid_t bg = (pid_t) atoi(out);
    ck_assert_int_gt(bg, 0);
    ck_assert_msg(s_gone(bg, 5000), "background process %d survived the timeout", (int) bg);
    ck_assert_ptr_nonnull(strstr(s_err(ret), "timed out after 0.5 s"));
    json_decref(ret);

    /* the job's own budget also bounds the command */
    s_ctx.timeout_ms = 600;
    start = fl_clock_ms();
    ck_assert_int_eq(s_cmd("[\"sleep\", \"30\"]", NULL, &ret), 124);
    ck_assert_int_lt(fl_clock_ms() - start, 15000);
    json_decref(ret);
    ck_assert_int_ne(s_cmd("[\"true\"]", "{\"timeout\": \"-3\"}", &ret), 0);
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_cmd_background_holder)
{
    /* a daemon started with & keeps stdout open: the run still ends soon
       after the command itself, the daemon is left alone */
    json_t *ret;
    int64_t start = fl_clock_ms();
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"sleep 30 & echo $!\"]", "{\"timeout\": 25}", &ret),
                     0);
    ck_assert_int_lt(fl_clock_ms() - start, 15000);
    pid_t bg = (pid_t) atoi(s_out(ret));
    ck_assert_int_gt(bg, 0);
    ck_assert_int_eq(kill(bg, 0), 0);
    kill(bg, SIGKILL);
    json_decref(ret);
}
END_TEST

START_TEST(test_mods_cmd_big_output)
{
    json_t *ret;
    ck_assert_int_eq(s_cmd("[\"head -c 400000 /dev/zero | tr '\\\\0' x\"]",
                           "{\"shell\": true, \"timeout\": 20}", &ret),
                     0);
    const char *out = s_out(ret);
    ck_assert_uint_eq(strspn(out, "x"), MOD_CMD_MAX_OUTPUT);
    ck_assert_str_eq(out + MOD_CMD_MAX_OUTPUT, "\n...[truncated 137856 bytes]");
    json_decref(ret);

    /* a chatty stderr written first cannot deadlock a reader of stdout */
    ck_assert_int_eq(s_cmd("[\"sh\", \"-c\", \"head -c 1000000 /dev/zero >&2; echo done\"]",
                           "{\"timeout\": 20}", &ret),
                     0);
    ck_assert_str_eq(s_out(ret), "done");
    /* stderr holds NUL bytes: look at its full length */
    const json_t *err = json_object_get(ret, "stderr");
    const char *marker = "\n...[truncated 737856 bytes]";
    ck_assert_uint_eq(json_string_length(err), MOD_CMD_MAX_OUTPUT + strlen(marker));
    ck_assert_str_eq(json_string_value(err) + MOD_CMD_MAX_OUTPUT, marker);
    json_decref(ret);

    /* bytes that are not UTF-8 become U+FFFD, the rest is kept */
    ck_assert_int_eq(s_cmd("[\"printf\", \"a\\\\377b\\\\303\\\\251\"]", NULL, &ret), 0);
    ck_assert_str_eq(s_out(ret), "a\xEF\xBF\xBD" "b\xC3\xA9");
    json_decref(ret);
}
END_TEST

Suite *suite_mods(void);

Suite *
suite_mods(void)
{
    Suite *s = suite_create("mods");
    TCase *tc = tcase_create("mods");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_mods_usage);
    tcase_add_test(tc, test_mods_test);
    tcase_add_test(tc, test_mods_grains);
    tcase_add_test(tc, test_mods_sys);
    tcase_add_test(tc, test_mods_cmd_retcode);
    tcase_add_test(tc, test_mods_cmd_argv_no_shell);
    tcase_add_test(tc, test_mods_cmd_env);
    tcase_add_test(tc, test_mods_cmd_cwd);
    tcase_add_test(tc, test_mods_cmd_stdin);
    tcase_add_test(tc, test_mods_cmd_not_found);
    tcase_add_test(tc, test_mods_cmd_timeout);
    tcase_add_test(tc, test_mods_cmd_background_holder);
    tcase_add_test(tc, test_mods_cmd_big_output);
    suite_add_tcase(s, tc);
    return s;
}
