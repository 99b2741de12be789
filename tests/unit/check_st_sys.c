/*  check_st_sys.c: the system states (st_sys.h) against a root directory
    made in each test: real dpkg, apt-get, runit and shadow tools, aimed
    at the tree under the root, never at the host.  For every state: the
    change, a second run that changes nothing, test mode that changes
    nothing, and bad input failing with a comment that says why.  And
    fl_run_argv, the command runner under them. */
#include "fl_test.h"
#include "st_sys.h"
#include "fl_run.h"
#include "fl_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

Suite *suite_st_sys(void);

static char *s_dir;      /* the test's tmpdir */
static char *s_root;     /* s_dir/root: the minion's root_dir */
static json_t *s_files;  /* fleet:// URL -> local copy */
static fl_st_ctx_t s_ctx;
static json_t *s_changes;    /* of the last s_call */
static char *s_comment;

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_root = fl_sprintf("%s/root", s_dir);
    ck_assert_int_eq(fl_mkdir_p(s_root, 0755), 0);
    s_files = json_object();
    s_ctx = (fl_st_ctx_t) { .minion_id = "pi-001", .root_dir = s_root, .cache_dir = s_dir,
                            .test = false, .files = s_files };
}

static void
s_teardown(void)
{
    json_decref(s_changes);
    s_changes = NULL;
    free(s_comment);
    s_comment = NULL;
    json_decref(s_files);
    free(s_root);
    fl_test_tmpdir_free(&s_dir);
}

/*  Calls FN on NAME with ARGS (JSON text), in test mode when TEST; keeps
    the changes and comment in s_changes and s_comment. */
static fl_st_result_t
s_call(fl_st_fn_t fn, const char *name, const char *args_json, bool test)
{
    json_error_t jerr;
    json_t *args = json_loads(args_json ? args_json : "{}", 0, &jerr);
    ck_assert_msg(args != NULL, "args: %s", jerr.text);
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

/*  Asserts the last call's result, printing the comment when it differs. */
#define S_EXPECT(call, want)                                                         \
    do {                                                                             \
        fl_st_result_t got_ = (call);                                                \
        ck_assert_msg(got_ == (want), "%s: result %d, want %d; comment: %s", #call, \
                      (int) got_, (int) (want), s_comment);                          \
    } while (0)

static void
s_expect_no_changes(void)
{
    char *text = json_dumps(s_changes, JSON_COMPACT);
    ck_assert_msg(json_object_size(s_changes) == 0, "unexpected changes %s (%s)", text, s_comment);
    free(text);
}

static char *
s_path(const char *rel)
{
    return fl_sprintf("%s%s", s_root, rel);
}

/*  The content of ROOT+REL, or NULL when missing; caller frees. */
static char *
s_read(const char *rel)
{
    char *path = s_path(rel);
    char *text = fl_file_read(path, 1 << 20, NULL);
    free(path);
    return text;
}

static void
s_write(const char *rel, const char *text)
{
    char *path = s_path(rel);
    char *dir = fl_path_dirname(path);
    ck_assert_int_eq(fl_mkdir_p(dir, 0755), 0);
    ck_assert_int_eq(fl_file_write_atomic(path, text, strlen(text), 0644), 0);
    free(dir);
    free(path);
}

static bool
s_exists(const char *rel)
{
    char *path = s_path(rel);
    struct stat st;
    bool found = lstat(path, &st) == 0;
    free(path);
    return found;
}

static void
s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        continue;
    }
}

/* ---------------------------------------------------------------- canonical usage */

/*  A state function is found by name in the registry and called with a
    context whose root_dir confines it. */
START_TEST(test_usage)
{
    const fl_st_spec_t *spec = fl_st_find("timezone.system");
    ck_assert_ptr_nonnull(spec);
    ck_assert_ptr_null(spec->mod_watch);
    S_EXPECT(s_call(spec->fn, "Europe/Berlin", NULL, false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "timezone")), "Europe/Berlin");

    const fl_st_spec_t *svc = fl_st_find("service.running");
    ck_assert_ptr_nonnull(svc);
    ck_assert_ptr_nonnull(svc->mod_watch);
    const char *names[] = { "group.present", "keyboard.system", "locale.system", "pkg.installed",
                            "pkg.latest", "pkg.removed", "pkgrepo.managed", "service.dead",
                            "service.enabled", "sysctl.present", "user.absent", "user.present" };
    for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
        ck_assert_msg(fl_st_find(names[i]) != NULL, "%s not registered", names[i]);
    }
}
END_TEST

/* ---------------------------------------------------------------- fl_run */

START_TEST(test_run_argv)
{
    char *out = NULL, *err = NULL;
    char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
    ck_assert_int_eq(fl_run_argv(echo, NULL, 5000, &out, &err), 3);
    ck_assert_str_eq(out, "out\n");
    ck_assert_str_eq(err, "err\n");
    free(out);
    free(err);

    /* no shell: metacharacters are plain bytes of the argument */
    char *literal[] = { "echo", "$(id); rm -rf /", NULL };
    ck_assert_int_eq(fl_run_argv(literal, NULL, 5000, &out, NULL), 0);
    ck_assert_str_eq(out, "$(id); rm -rf /\n");
    free(out);

    const char *env[] = { "FLEET_RUN_TEST=yes", "HOME=/nonexistent", NULL };
    char *printenv[] = { "sh", "-c", "echo $FLEET_RUN_TEST $HOME", NULL };
    ck_assert_int_eq(fl_run_argv(printenv, env, 5000, &out, NULL), 0);
    ck_assert_str_eq(out, "yes /nonexistent\n");
    free(out);

    char *missing[] = { "fleet-no-such-program", NULL };
    ck_assert_int_eq(fl_run_argv(missing, NULL, 5000, &out, &err), FL_RUN_NOEXEC);
    ck_assert_msg(strstr(err, "fleet-no-such-program") && strstr(err, "No such file"), "%s", err);
    free(out);
    free(err);

    int64_t t0 = fl_clock_ms();
    char *slow[] = { "sleep", "10", NULL };
    ck_assert_int_eq(fl_run_argv(slow, NULL, 300, NULL, &err), FL_RUN_TIMEOUT);
    ck_assert_int_lt(fl_clock_ms() - t0, 5000);
    ck_assert_msg(strstr(err, "timed out"), "%s", err);
    free(err);

    /* output is capped, and the command is not blocked by it */
    char *seq[] = { "seq", "1", "100000", NULL };
    ck_assert_int_eq(fl_run_argv(seq, NULL, 10000, &out, NULL), 0);
    ck_assert_uint_eq(strlen(out), FL_RUN_MAX_OUTPUT);
    free(out);

    /* an ignored SIGCHLD (daemons set it) must not lose the status */
    signal(SIGCHLD, SIG_IGN);
    ck_assert_int_eq(fl_run_argv(echo, NULL, 5000, NULL, NULL), 3);
    signal(SIGCHLD, SIG_DFL);

    ck_assert(fl_run_have("sh"));
    ck_assert(!fl_run_have("fleet-no-such-program"));
    char *text = fl_run_text(echo);
    ck_assert_str_eq(text, "sh -c echo out; echo err >&2; exit 3");
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- timezone ... sysctl */

START_TEST(test_timezone)
{
    S_EXPECT(s_call(st_timezone_system, "Europe/Berlin", NULL, false), FL_ST_TRUE);
    char *tz = s_read("/etc/timezone");
    ck_assert_str_eq(tz, "Europe/Berlin\n");
    free(tz);
    char *lt = s_path("/etc/localtime");
    char link[256];
    ssize_t n = readlink(lt, link, sizeof link - 1);
    ck_assert_int_gt(n, 0);
    link[n] = '\0';
    ck_assert_str_eq(link, "/usr/share/zoneinfo/Europe/Berlin");

    S_EXPECT(s_call(st_timezone_system, "Europe/Berlin", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* test mode: says what would change, changes nothing */
    S_EXPECT(s_call(st_timezone_system, "America/New_York", NULL, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "timezone")),
                     "America/New_York");
    tz = s_read("/etc/timezone");
    ck_assert_str_eq(tz, "Europe/Berlin\n");
    free(tz);
    S_EXPECT(s_call(st_timezone_system, "Europe/Berlin", NULL, true), FL_ST_TRUE);
    s_expect_no_changes();

    /* a link someone replaced is put back */
    unlink(lt);
    ck_assert_int_eq(symlink("/usr/share/zoneinfo/UTC", lt), 0);
    S_EXPECT(s_call(st_timezone_system, "Europe/Berlin", NULL, false), FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_changes), 1);
    free(lt);

    S_EXPECT(s_call(st_timezone_system, "Mars/Olympus_Mons", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Unknown timezone 'Mars/Olympus_Mons'"), "%s", s_comment);
    S_EXPECT(s_call(st_timezone_system, "../../etc/passwd", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid timezone"), "%s", s_comment);
    s_expect_no_changes();
}
END_TEST

START_TEST(test_locale_keyboard)
{
    s_write("/etc/default/locale", "# system locale\nLANG=C\nLANGUAGE=en_US:en\n");
    S_EXPECT(s_call(st_locale_system, "en_US.UTF-8", NULL, false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "locale")), "en_US.UTF-8");
    char *text = s_read("/etc/default/locale");
    ck_assert_str_eq(text, "# system locale\nLANG=en_US.UTF-8\nLANGUAGE=en_US:en\n");
    free(text);
    S_EXPECT(s_call(st_locale_system, "en_US.UTF-8", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_locale_system, "de_DE.UTF-8", NULL, true), FL_ST_NONE);
    ck_assert_int_eq(json_object_size(s_changes), 1);
    text = s_read("/etc/default/locale");
    ck_assert_ptr_nonnull(strstr(text, "LANG=en_US.UTF-8\n"));
    free(text);
    S_EXPECT(s_call(st_locale_system, "en_US.UTF-8\nLC_ALL=x", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid locale"), "%s", s_comment);

    /* keyboard: a new file; then Debian's full file keeps its other lines */
    S_EXPECT(s_call(st_keyboard_system, "de", NULL, false), FL_ST_TRUE);
    text = s_read("/etc/default/keyboard");
    ck_assert_str_eq(text, "XKBLAYOUT=\"de\"\n");
    free(text);
    s_write("/etc/default/keyboard", "XKBMODEL=\"pc105\"\nXKBLAYOUT=\"us\"\nXKBVARIANT=\"\"\n"
                                     "BACKSPACE=\"guess\"\n");
    S_EXPECT(s_call(st_keyboard_system, "de", NULL, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "layout")), "de");
    S_EXPECT(s_call(st_keyboard_system, "de", NULL, false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "layout")), "de");
    text = s_read("/etc/default/keyboard");
    ck_assert_str_eq(text, "XKBMODEL=\"pc105\"\nXKBLAYOUT=\"de\"\nXKBVARIANT=\"\"\n"
                           "BACKSPACE=\"guess\"\n");
    free(text);
    S_EXPECT(s_call(st_keyboard_system, "de", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_keyboard_system, "de\" ; reboot", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid keyboard layout"), "%s", s_comment);
}
END_TEST

START_TEST(test_sysctl)
{
    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness", "{\"value\": 10}", false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "vm.swappiness")), "10");
    S_EXPECT(s_call(st_sysctl_present, "net.ipv4.tcp_rmem", "{\"value\": \"4096  87380 6291456\"}",
                    false), FL_ST_TRUE);
    char *text = s_read("/etc/sysctl.d/99-fleet.conf");
    ck_assert_str_eq(text, "vm.swappiness = 10\nnet.ipv4.tcp_rmem = 4096 87380 6291456\n");
    free(text);
    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness", "{\"value\": \"10\"}", false), FL_ST_TRUE);
    s_expect_no_changes();

    /* a new value replaces the key's line, in test mode only in words */
    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness", "{\"value\": 60}", true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "vm.swappiness")), "60");
    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness", "{\"value\": 60}", false), FL_ST_TRUE);
    text = s_read("/etc/sysctl.d/99-fleet.conf");
    ck_assert_str_eq(text, "vm.swappiness = 60\nnet.ipv4.tcp_rmem = 4096 87380 6291456\n");
    free(text);

    S_EXPECT(s_call(st_sysctl_present, "kernel.panic",
                    "{\"value\": 5, \"config\": \"/etc/sysctl.d/10-panic.conf\"}", false),
             FL_ST_TRUE);
    ck_assert(s_exists("/etc/sysctl.d/10-panic.conf"));

    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "value is required"), "%s", s_comment);
    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness = 1\nkernel.x", "{\"value\": 1}", false),
             FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid sysctl key"), "%s", s_comment);
    S_EXPECT(s_call(st_sysctl_present, "vm.swappiness", "{\"value\": [1]}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "value must be"), "%s", s_comment);
}
END_TEST

/* ---------------------------------------------------------------- users and groups */

static void
s_minimal_etc(void)
{
    s_write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    s_write("/etc/group", "root:x:0:\nusers:x:100:\n");
    s_write("/etc/shadow", "root:*:19000:0:99999:7:::\n");
    s_write("/etc/gshadow", "root:*::\nusers:*::\n");
}

START_TEST(test_user_group)
{
    s_minimal_etc();
    S_EXPECT(s_call(st_group_present, "devs", "{\"gid\": 2000}", true), FL_ST_NONE);
    ck_assert_int_eq(json_integer_value(json_object_get(s_changes, "gid")), 2000);
    S_EXPECT(s_call(st_group_present, "devs", "{\"gid\": 2000}", false), FL_ST_TRUE);
    ck_assert_int_eq(json_integer_value(json_object_get(s_changes, "gid")), 2000);
    char *group = s_read("/etc/group");
    ck_assert_msg(strstr(group, "\ndevs:x:2000:\n"), "%s", group);
    free(group);
    S_EXPECT(s_call(st_group_present, "devs", "{\"gid\": 2000}", false), FL_ST_TRUE);
    s_expect_no_changes();

    const char *alice = "{\"uid\": 1500, \"gid\": \"users\", \"groups\": [\"devs\"], "
                        "\"home\": \"/home/alice\", \"shell\": \"/bin/bash\", "
                        "\"fullname\": \"Alice A\", \"password\": \"$6$salt$hash\"}";
    S_EXPECT(s_call(st_user_present, "alice", alice, true), FL_ST_NONE);
    ck_assert_int_eq(json_integer_value(json_object_get(s_changes, "uid")), 1500);
    char *passwd = s_read("/etc/passwd");
    ck_assert_ptr_null(strstr(passwd, "alice"));
    free(passwd);

    S_EXPECT(s_call(st_user_present, "alice", alice, false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "name")), "alice");
    ck_assert_int_eq(json_integer_value(json_object_get(s_changes, "uid")), 1500);
    ck_assert_int_eq(json_integer_value(json_object_get(s_changes, "gid")), 100);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(s_changes, "groups"), 0)),
                     "devs");
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "passwd")), "XXX-REDACTED-XXX");
    passwd = s_read("/etc/passwd");
    ck_assert_msg(strstr(passwd, "\nalice:x:1500:100:Alice A:/home/alice:/bin/bash\n"), "%s",
                  passwd);
    free(passwd);
    char *shadow = s_read("/etc/shadow");
    ck_assert_msg(strstr(shadow, "\nalice:$6$salt$hash:"), "%s", shadow);
    free(shadow);
    ck_assert(s_exists("/home/alice"));
    group = s_read("/etc/group");
    ck_assert_msg(strstr(group, "\ndevs:x:2000:alice\n"), "%s", group);
    free(group);

    S_EXPECT(s_call(st_user_present, "alice", alice, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* one attribute differs: test mode names it, the real run changes it */
    const char *zsh = "{\"uid\": 1500, \"shell\": \"/bin/zsh\", \"groups\": []}";
    S_EXPECT(s_call(st_user_present, "alice", zsh, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "shell")), "/bin/zsh");
    ck_assert_ptr_nonnull(json_object_get(s_changes, "groups"));
    ck_assert_ptr_null(json_object_get(s_changes, "uid"));
    passwd = s_read("/etc/passwd");
    ck_assert_ptr_nonnull(strstr(passwd, ":/bin/bash\n"));
    free(passwd);
    S_EXPECT(s_call(st_user_present, "alice", zsh, false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "shell")), "/bin/zsh");
    ck_assert_int_eq(json_array_size(json_object_get(s_changes, "groups")), 0);
    ck_assert_int_eq(json_object_size(s_changes), 2);
    group = s_read("/etc/group");
    ck_assert_msg(strstr(group, "\ndevs:x:2000:\n"), "%s", group);
    free(group);

    /* group members: exact list; second run nothing */
    S_EXPECT(s_call(st_group_present, "devs", "{\"members\": [\"alice\", \"root\"]}", false),
             FL_ST_TRUE);
    ck_assert_int_eq(json_array_size(json_object_get(s_changes, "members")), 2);
    group = s_read("/etc/group");
    ck_assert_msg(strstr(group, "\ndevs:x:2000:alice,root\n"), "%s", group);
    free(group);
    S_EXPECT(s_call(st_group_present, "devs", "{\"members\": [\"root\", \"alice\"]}", false),
             FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_group_present, "devs", "{\"delusers\": [\"root\"]}", false), FL_ST_TRUE);
    group = s_read("/etc/group");
    ck_assert_msg(strstr(group, "\ndevs:x:2000:alice\n"), "%s", group);
    free(group);

    /* bad input fails before anything runs, saying why */
    S_EXPECT(s_call(st_user_present, "bob", "{\"uid\": \"abc\"}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "uid must be a non-negative integer"), "%s", s_comment);
    S_EXPECT(s_call(st_user_present, "bob", "{\"uid\": -5}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "uid must be"), "%s", s_comment);
    S_EXPECT(s_call(st_user_present, "bob", "{\"groups\": [\"nosuch\"]}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "group(s) are not present: nosuch"), "%s", s_comment);
    S_EXPECT(s_call(st_user_present, "bob", "{\"gid\": \"nosuch\"}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "no such group"), "%s", s_comment);
    S_EXPECT(s_call(st_user_present, "-o", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid user name"), "%s", s_comment);
    S_EXPECT(s_call(st_group_present, "ops", "{\"members\": [\"ghost\"]}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "users are not present: ghost"), "%s", s_comment);
    /* a uid taken by another user: the tool's own words */
    S_EXPECT(s_call(st_user_present, "bob", "{\"uid\": 1500, \"createhome\": false}", false),
             FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "useradd") && strstr(s_comment, "1500"), "%s", s_comment);
    passwd = s_read("/etc/passwd");
    ck_assert_ptr_null(strstr(passwd, "bob"));
    free(passwd);

    S_EXPECT(s_call(st_user_absent, "alice", NULL, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "alice")), "removed");
    S_EXPECT(s_call(st_user_absent, "alice", "{\"purge\": true}", false), FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "alice")), "removed");
    passwd = s_read("/etc/passwd");
    ck_assert_ptr_null(strstr(passwd, "alice"));
    free(passwd);
    ck_assert(!s_exists("/home/alice"));
    S_EXPECT(s_call(st_user_absent, "alice", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* no passwd file under the root: said plainly */
    char *path = s_path("/etc/passwd");
    unlink(path);
    S_EXPECT(s_call(st_user_present, "carol", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, path) && strstr(s_comment, "does not exist"), "%s", s_comment);
    free(path);
}
END_TEST

/* ---------------------------------------------------------------- packages */

/*  Builds DIR/NAME_VERSION.deb: package fleet-test-pkg with one file,
    /usr/share/fleet-test/hello.  Returns its path. */
static char *
s_build_deb(const char *dir, const char *version)
{
    char *tree = fl_sprintf("%s/pkg-%s", s_dir, version);
    char *control_dir = fl_sprintf("%s/DEBIAN", tree);
    char *share = fl_sprintf("%s/usr/share/fleet-test", tree);
    ck_assert_int_eq(fl_mkdir_p(control_dir, 0755), 0);
    ck_assert_int_eq(fl_mkdir_p(share, 0755), 0);
    char *control = fl_sprintf("Package: fleet-test-pkg\nVersion: %s\nArchitecture: all\n"
                               "Maintainer: Fleet <fleet@example.org>\n"
                               "Description: fleet unit test package\n", version);
    free(fl_test_write(control_dir, "control", control));
    free(fl_test_write(share, "hello", "hello\n"));
    ck_assert_int_eq(fl_mkdir_p(dir, 0755), 0);
    char *deb = fl_sprintf("%s/fleet-test-pkg_%s_all.deb", dir, version);
    char *argv[] = { "dpkg-deb", "--root-owner-group", "--build", tree, deb, NULL };
    char *err = NULL;
    int rc = fl_run_argv(argv, NULL, 30000, NULL, &err);
    ck_assert_msg(rc == 0, "dpkg-deb: %s", err);
    free(err);
    free(control);
    free(share);
    free(control_dir);
    free(tree);
    return deb;
}

static void
s_dpkg_root(void)
{
    s_write("/var/lib/dpkg/status", "");
    s_write("/var/lib/dpkg/available", "");
    char *info = s_path("/var/lib/dpkg/info");
    char *updates = s_path("/var/lib/dpkg/updates");
    ck_assert_int_eq(fl_mkdir_p(info, 0755), 0);
    ck_assert_int_eq(fl_mkdir_p(updates, 0755), 0);
    free(info);
    free(updates);
}

/*  dpkg-query's "Status Version" of fleet-test-pkg under the root. */
static char *
s_dpkg_status(void)
{
    char *admindir = fl_sprintf("--admindir=%s/var/lib/dpkg", s_root);
    char *argv[] = { "dpkg-query", admindir, "-W", "-f=${Status} ${Version}", "fleet-test-pkg",
                     NULL };
    char *out = NULL;
    (void) fl_run_argv(argv, NULL, 30000, &out, NULL);  /* missing: empty output */
    free(admindir);
    return out;
}

START_TEST(test_pkg_deb)
{
    s_dpkg_root();
    char *deb = s_build_deb(s_dir, "1.0");
    char *args = fl_sprintf("{\"sources\": [{\"fleet-test-pkg\": \"%s\"}]}", deb);

    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", args, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_changes, "fleet-test-pkg"),
                                                       "new")), "1.0");
    ck_assert(!s_exists("/usr/share/fleet-test/hello"));

    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", args, false), FL_ST_TRUE);
    json_t *change = json_object_get(s_changes, "fleet-test-pkg");
    ck_assert_str_eq(json_string_value(json_object_get(change, "old")), "");
    ck_assert_str_eq(json_string_value(json_object_get(change, "new")), "1.0");
    char *status = s_dpkg_status();
    ck_assert_str_eq(status, "install ok installed 1.0");
    free(status);
    char *hello = s_read("/usr/share/fleet-test/hello");
    ck_assert_str_eq(hello, "hello\n");
    free(hello);
    ck_assert(s_exists("/var/log/dpkg.log"));

    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", args, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", "{\"version\": \"1.0\"}", false),
             FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", "{\"version\": \">=0.9\"}", false),
             FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_pkg_installed, "ignored", "{\"pkgs\": [\"fleet-test-pkg\"]}", false),
             FL_ST_TRUE);
    s_expect_no_changes();

    /* removal: test mode, then real, then nothing left to do */
    S_EXPECT(s_call(st_pkg_removed, "fleet-test-pkg", NULL, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_changes, "fleet-test-pkg"),
                                                       "old")), "1.0");
    ck_assert(s_exists("/usr/share/fleet-test/hello"));
    S_EXPECT(s_call(st_pkg_removed, "fleet-test-pkg", "{\"version\": \"2.0\"}", false),
             FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_pkg_removed, "fleet-test-pkg", NULL, false), FL_ST_TRUE);
    change = json_object_get(s_changes, "fleet-test-pkg");
    ck_assert_str_eq(json_string_value(json_object_get(change, "old")), "1.0");
    ck_assert_str_eq(json_string_value(json_object_get(change, "new")), "");
    ck_assert(!s_exists("/usr/share/fleet-test/hello"));
    S_EXPECT(s_call(st_pkg_removed, "fleet-test-pkg", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* a fleet:// source is the minion's fetched copy */
    json_object_set_new(s_files, "fleet://pkgs/fleet-test-pkg.deb", json_string(deb));
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg",
                    "{\"sources\": [{\"fleet-test-pkg\": \"salt://pkgs/fleet-test-pkg.deb\"}]}",
                    false), FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_changes), 1);
    ck_assert(s_exists("/usr/share/fleet-test/hello"));

    /* bad input */
    S_EXPECT(s_call(st_pkg_installed, "nopkg",
                    "{\"sources\": [{\"nopkg\": \"fleet://pkgs/none.deb\"}]}", false),
             FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "source not found on the master"), "%s", s_comment);
    char *wrong = fl_sprintf("{\"sources\": [{\"other-pkg\": \"%s\"}]}", deb);
    S_EXPECT(s_call(st_pkg_installed, "other-pkg", wrong, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "holds package 'fleet-test-pkg', not other-pkg"), "%s",
                  s_comment);
    free(wrong);
    S_EXPECT(s_call(st_pkg_installed, "nopkg",
                    "{\"sources\": [{\"nopkg\": \"http://example.org/x.deb\"}]}", false),
             FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "unsupported source"), "%s", s_comment);
    S_EXPECT(s_call(st_pkg_installed, "--force-all", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid package name"), "%s", s_comment);
    S_EXPECT(s_call(st_pkg_installed, "ignored", "{\"pkgs\": [{\"ab\": 1, \"cd\": 2}]}", false),
             FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "pkgs entry 1"), "%s", s_comment);

    /* a root without a dpkg database */
    char *status_path = s_path("/var/lib/dpkg/status");
    unlink(status_path);
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", args, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "No dpkg database"), "%s", s_comment);
    free(status_path);
    free(args);
    free(deb);
}
END_TEST

/*  The apt path: a file: repository with version 2.0, configured by
    pkgrepo.managed, installed by pkg.latest/pkg.installed through apt-get
    with its directories under the root. */
START_TEST(test_pkg_apt)
{
    s_dpkg_root();
    char *repo = fl_sprintf("%s/repo", s_dir);
    char *deb1 = s_build_deb(s_dir, "1.0");
    char *deb2 = s_build_deb(repo, "2.0");
    char *scan[] = { "dpkg-scanpackages", ".", "/dev/null", NULL };
    char *packages = NULL, *err = NULL;
    char *cwd = getcwd(NULL, 0);
    ck_assert_int_eq(chdir(repo), 0);
    int rc = fl_run_argv(scan, NULL, 30000, &packages, &err);
    ck_assert_int_eq(chdir(cwd), 0);
    free(cwd);
    ck_assert_msg(rc == 0, "dpkg-scanpackages: %s", err);
    free(fl_test_write(repo, "Packages", packages));
    free(packages);
    free(err);

    char *line = fl_sprintf("deb [trusted=yes] file:%s ./", repo);
    char *repo_args = fl_sprintf("{\"humanname\": \"fleet test\", \"file\": "
                                 "\"/etc/apt/sources.list.d/fleet-test.list\"}");
    S_EXPECT(s_call(st_pkgrepo_managed, line, repo_args, true), FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "repo")), line);
    ck_assert(!s_exists("/etc/apt/sources.list.d/fleet-test.list"));
    S_EXPECT(s_call(st_pkgrepo_managed, line, repo_args, false), FL_ST_TRUE);
    char *list = s_read("/etc/apt/sources.list.d/fleet-test.list");
    char *want = fl_sprintf("# Managed by fleet: fleet test\n%s\n", line);
    ck_assert_str_eq(list, want);
    free(want);
    free(list);
    S_EXPECT(s_call(st_pkgrepo_managed, line, repo_args, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* the old version from a file, then pkg.latest brings the candidate */
    char *src = fl_sprintf("{\"sources\": [{\"fleet-test-pkg\": \"%s\"}]}", deb1);
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", src, false), FL_ST_TRUE);
    /* before a refresh, apt knows only the installed version */
    S_EXPECT(s_call(st_pkg_latest, "fleet-test-pkg", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_pkg_latest, "fleet-test-pkg", "{\"refresh\": true}", true), FL_ST_TRUE);
    s_expect_no_changes();
    ck_assert_msg(strstr(s_comment, "not refreshed in test mode"), "%s", s_comment);
    S_EXPECT(s_call(st_pkg_latest, "nopkg", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "No candidate version for nopkg"), "%s", s_comment);
    S_EXPECT(s_call(st_pkg_latest, "fleet-test-pkg", "{\"refresh\": true}", false), FL_ST_TRUE);
    json_t *change = json_object_get(s_changes, "fleet-test-pkg");
    ck_assert_str_eq(json_string_value(json_object_get(change, "old")), "1.0");
    ck_assert_str_eq(json_string_value(json_object_get(change, "new")), "2.0");
    char *status = s_dpkg_status();
    ck_assert_str_eq(status, "install ok installed 2.0");
    free(status);
    S_EXPECT(s_call(st_pkg_latest, "fleet-test-pkg", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* by name and version through apt; test mode first */
    S_EXPECT(s_call(st_pkg_removed, "fleet-test-pkg", NULL, false), FL_ST_TRUE);
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", "{\"version\": \"2.0\"}", true),
             FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_changes, "fleet-test-pkg"),
                                                       "new")), "2.0");
    status = s_dpkg_status();
    ck_assert_msg(!strstr(status, "installed 2.0"), "%s", status);
    free(status);
    S_EXPECT(s_call(st_pkg_installed, "ignored", "{\"pkgs\": [{\"fleet-test-pkg\": \"2.0\"}]}",
                    false),
             FL_ST_TRUE);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_changes, "fleet-test-pkg"),
                                                       "new")), "2.0");
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", "{\"version\": \"2.0\"}", false),
             FL_ST_TRUE);
    s_expect_no_changes();

    /* apt's own words when it cannot do it */
    S_EXPECT(s_call(st_pkg_installed, "fleet-no-such-pkg", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "apt-get") && strstr(s_comment, "fleet-no-such-pkg"), "%s",
                  s_comment);
    S_EXPECT(s_call(st_pkg_installed, "fleet-test-pkg", "{\"version\": \"9.9\"}", false),
             FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "9.9"), "%s", s_comment);

    free(src);
    free(repo_args);
    free(line);
    free(deb2);
    free(deb1);
    free(repo);
}
END_TEST

START_TEST(test_pkgrepo)
{
    const char *deb = "deb http://deb.debian.org/debian bookworm";
    const char *args = "{\"comps\": [\"main\", \"contrib\"], \"key_text\": "
                       "\"-----BEGIN PGP PUBLIC KEY BLOCK-----\\nabc\\n"
                       "-----END PGP PUBLIC KEY BLOCK-----\\n\"}";
    S_EXPECT(s_call(st_pkgrepo_managed, deb, args, false), FL_ST_TRUE);
    const char *line = "deb [signed-by=/etc/apt/keyrings/deb.debian.org_debian_bookworm.asc] "
                       "http://deb.debian.org/debian bookworm main contrib";
    ck_assert_str_eq(json_string_value(json_object_get(s_changes, "repo")), line);
    char *list = s_read("/etc/apt/sources.list.d/deb.debian.org_debian_bookworm.list");
    ck_assert_ptr_nonnull(list);
    ck_assert_ptr_nonnull(strstr(list, line));
    free(list);
    char *key = s_read("/etc/apt/keyrings/deb.debian.org_debian_bookworm.asc");
    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(strstr(key, "BEGIN PGP"));
    free(key);
    S_EXPECT(s_call(st_pkgrepo_managed, deb, args, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* key_url cannot be fetched here: said, not failed */
    S_EXPECT(s_call(st_pkgrepo_managed, "deb https://example.org/apt stable main",
                    "{\"key_url\": \"https://example.org/key.asc\"}", false), FL_ST_TRUE);
    ck_assert_msg(strstr(s_comment, "key_url is not fetched"), "%s", s_comment);

    S_EXPECT(s_call(st_pkgrepo_managed, "ppa:foo/bar", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "one-line sources.list entry"), "%s", s_comment);
    S_EXPECT(s_call(st_pkgrepo_managed, "deb http://x/debian", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "no suite"), "%s", s_comment);
    S_EXPECT(s_call(st_pkgrepo_managed, "deb http://x/debian stable", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "no components"), "%s", s_comment);
    S_EXPECT(s_call(st_pkgrepo_managed, "deb http://x/debian stable main",
                    "{\"file\": \"../../etc/passwd\"}", false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "absolute path ending in .list"), "%s", s_comment);
}
END_TEST

/* ---------------------------------------------------------------- services (runit) */

static pid_t s_runsvdir = -1;

/*  Starts runsvdir on ROOT/etc/service, as the init of a real system
    would. */
static void
s_start_runsvdir(void)
{
    ck_assert_msg(fl_run_have("runsvdir"), "runsvdir not installed: apt-get install runit");
    char *service_dir = s_path("/etc/service");
    ck_assert_int_eq(fl_mkdir_p(service_dir, 0755), 0);
    s_runsvdir = fork();
    ck_assert_int_ge(s_runsvdir, 0);
    if (s_runsvdir == 0) {
        setpgid(0, 0);
        execlp("runsvdir", "runsvdir", service_dir, (char *) NULL);
        _exit(127);
    }
    free(service_dir);
}

/*  The pids of runsvdir's children (the runsv processes). */
static size_t
s_children(pid_t parent, pid_t *pids, size_t max)
{
    size_t n = 0;
    char *argv[] = { "ps", "-o", "pid=", "--ppid", NULL, NULL };
    char *ppid = fl_sprintf("%d", (int) parent);
    argv[4] = ppid;
    char *out = NULL;
    (void) fl_run_argv(argv, NULL, 10000, &out, NULL);  /* none: empty */
    for (char *p = out; p && *p && n < max;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (pid > 0) {
            pids[n++] = (pid_t) pid;
        }
        p = end;
    }
    free(out);
    free(ppid);
    return n;
}

/*  HUP makes runsvdir TERM its runsv children, which stop their services;
    whatever is left is killed by pid. */
static void
s_stop_runsvdir(pid_t service_pid)
{
    if (s_runsvdir <= 0) {
        return;
    }
    pid_t runsv[16];
    size_t n = s_children(s_runsvdir, runsv, FL_ARRAY_LEN(runsv));
    kill(s_runsvdir, SIGHUP);
    int status;
    int64_t deadline = fl_clock_ms() + 5000;
    while (waitpid(s_runsvdir, &status, WNOHANG) == 0 && fl_clock_ms() < deadline) {
        s_sleep_ms(50);
    }
    kill(s_runsvdir, SIGKILL);
    waitpid(s_runsvdir, &status, 0);
    for (size_t i = 0; i < n; i++) {
        deadline = fl_clock_ms() + 3000;
        while (kill(runsv[i], 0) == 0 && fl_clock_ms() < deadline) {
            s_sleep_ms(50);
        }
        kill(runsv[i], SIGKILL);
    }
    if (service_pid > 0) {
        deadline = fl_clock_ms() + 3000;
        while (kill(service_pid, 0) == 0 && fl_clock_ms() < deadline) {
            s_sleep_ms(50);
        }
        kill(service_pid, SIGKILL);
    }
    s_runsvdir = -1;
}

/*  The pid runsv recorded for the sleeper service (0 when down). */
static long
s_service_pid(void)
{
    char *text = s_read("/etc/sv/sleeper/supervise/pid");
    long pid = text ? strtol(text, NULL, 10) : 0;
    free(text);
    return pid;
}

START_TEST(test_service_runit)
{
    s_write("/etc/sv/sleeper/run", "#!/bin/sh\nexec sleep 1000\n");
    char *run = s_path("/etc/sv/sleeper/run");
    ck_assert_int_eq(chmod(run, 0755), 0);
    free(run);
    s_start_runsvdir();

    S_EXPECT(s_call(st_service_running, "sleeper", NULL, true), FL_ST_NONE);
    ck_assert(json_is_true(json_object_get(s_changes, "sleeper")));
    ck_assert(!s_exists("/etc/service/sleeper"));

    S_EXPECT(s_call(st_service_running, "sleeper", NULL, false), FL_ST_TRUE);
    ck_assert(json_is_true(json_object_get(s_changes, "sleeper")));
    ck_assert(s_exists("/etc/service/sleeper"));
    long pid = s_service_pid();
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(kill((pid_t) pid, 0), 0);

    S_EXPECT(s_call(st_service_running, "sleeper", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();
    S_EXPECT(s_call(st_service_enabled, "sleeper", NULL, false), FL_ST_TRUE);
    s_expect_no_changes();

    /* mod_watch restarts: a new process */
    S_EXPECT(s_call(st_service_mod_watch, "sleeper", NULL, true), FL_ST_NONE);
    ck_assert_int_eq(s_service_pid(), pid);
    S_EXPECT(s_call(st_service_mod_watch, "sleeper", NULL, false), FL_ST_TRUE);
    ck_assert(json_is_true(json_object_get(s_changes, "sleeper")));
    ck_assert_str_eq(s_comment, "Service restarted");
    long pid2 = s_service_pid();
    ck_assert_int_gt(pid2, 0);
    ck_assert_int_ne(pid2, pid);

    /* dead, disabled: a down file keeps it down when runsv starts again */
    S_EXPECT(s_call(st_service_dead, "sleeper", "{\"enable\": false}", true), FL_ST_NONE);
    ck_assert_int_eq(kill((pid_t) pid2, 0), 0);
    S_EXPECT(s_call(st_service_dead, "sleeper", "{\"enable\": false}", false), FL_ST_TRUE);
    ck_assert(json_is_true(json_object_get(s_changes, "sleeper")));
    ck_assert(s_exists("/etc/sv/sleeper/down"));
    int64_t deadline = fl_clock_ms() + 3000;
    while (kill((pid_t) pid2, 0) == 0 && fl_clock_ms() < deadline) {
        s_sleep_ms(50);
    }
    ck_assert_int_ne(kill((pid_t) pid2, 0), 0);
    S_EXPECT(s_call(st_service_dead, "sleeper", "{\"enable\": false}", false), FL_ST_TRUE);
    s_expect_no_changes();

    S_EXPECT(s_call(st_service_enabled, "sleeper", NULL, true), FL_ST_NONE);
    ck_assert(s_exists("/etc/sv/sleeper/down"));
    S_EXPECT(s_call(st_service_enabled, "sleeper", NULL, false), FL_ST_TRUE);
    ck_assert(!s_exists("/etc/sv/sleeper/down"));
    S_EXPECT(s_call(st_service_running, "sleeper", "{\"enable\": true}", false), FL_ST_TRUE);
    ck_assert(json_is_true(json_object_get(s_changes, "sleeper")));
    long pid3 = s_service_pid();
    ck_assert_int_gt(pid3, 0);

    /* running but disabled: linked, with a down file for the next boot */
    S_EXPECT(s_call(st_service_dead, "sleeper", NULL, false), FL_ST_TRUE);
    char *link = s_path("/etc/service/sleeper");
    ck_assert_int_eq(unlink(link), 0);
    free(link);
    S_EXPECT(s_call(st_service_running, "sleeper", "{\"enable\": false}", true), FL_ST_NONE);
    ck_assert_msg(strstr(s_comment, "set to start and be disabled"), "%s", s_comment);
    S_EXPECT(s_call(st_service_running, "sleeper", "{\"enable\": false}", false), FL_ST_TRUE);
    ck_assert(s_exists("/etc/sv/sleeper/down"));
    ck_assert(s_exists("/etc/service/sleeper"));
    pid3 = s_service_pid();
    ck_assert_int_gt(pid3, 0);
    S_EXPECT(s_call(st_service_running, "sleeper", "{\"enable\": false}", false), FL_ST_TRUE);
    s_expect_no_changes();

    /* unknown service: running fails, dead has nothing to do */
    S_EXPECT(s_call(st_service_running, "nosuch", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "not available") && strstr(s_comment, "/etc/sv/nosuch"), "%s",
                  s_comment);
    S_EXPECT(s_call(st_service_dead, "nosuch", NULL, false), FL_ST_TRUE);
    S_EXPECT(s_call(st_service_running, "../../bin", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "Invalid service name"), "%s", s_comment);

    s_stop_runsvdir(pid3);
}
END_TEST

/*  Without a runsvdir watching the root, service.running says so instead
    of hanging; without runit at all, it says to install it. */
START_TEST(test_service_unsupervised)
{
    s_write("/etc/sv/lonely/run", "#!/bin/sh\nexec sleep 1000\n");
    char *run = s_path("/etc/sv/lonely/run");
    ck_assert_int_eq(chmod(run, 0755), 0);
    free(run);
    S_EXPECT(s_call(st_service_running, "lonely", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "is runsvdir running on"), "%s", s_comment);

    char *empty = fl_sprintf("%s/empty-path", s_dir);
    ck_assert_int_eq(fl_mkdir_p(empty, 0755), 0);
    setenv("PATH", empty, 1);   /* this test runs in its own process */
    S_EXPECT(s_call(st_service_running, "lonely", NULL, false), FL_ST_FALSE);
    ck_assert_msg(strstr(s_comment, "runit is not installed"), "%s", s_comment);
    free(empty);
}
END_TEST

Suite *
suite_st_sys(void)
{
    Suite *s = suite_create("st_sys");
    TCase *tc = tcase_create("st_sys");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    /* runit picks services up within seconds; apt and dpkg take a while */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_run_argv);
    tcase_add_test(tc, test_timezone);
    tcase_add_test(tc, test_locale_keyboard);
    tcase_add_test(tc, test_sysctl);
    tcase_add_test(tc, test_user_group);
    tcase_add_test(tc, test_pkg_deb);
    tcase_add_test(tc, test_pkg_apt);
    tcase_add_test(tc, test_pkgrepo);
    tcase_add_test(tc, test_service_runit);
    tcase_add_test(tc, test_service_unsupervised);
    suite_add_tcase(s, tc);
    return s;
}
