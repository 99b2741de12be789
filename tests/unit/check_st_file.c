/*  check_st_file.c: the file.* states, called directly with a root_dir
    of their own (every NAME below is under the test's directory), and the
    unified diff their changes show. */
#include "fl_test.h"
#include "fl_util.h"
#include "st_core.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char *data;
    size_t len;
} s_buf_t;

static void
s_buf_str(s_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    b->data = fl_realloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

static char *s_dir;
static json_t *s_grains;
static json_t *s_pillar;
static json_t *s_files;
static fl_st_ctx_t s_ctx;
static fl_st_ret_t s_ret;

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_grains = json_pack("{s:s, s:s}", "os", "Debian", "id", "pi-001");
    s_pillar = json_pack("{s:{s:s}}", "motd", "text", "Hello from pillar");
    s_files = json_object();
    s_ctx = (fl_st_ctx_t) { .minion_id = "pi-001", .grains = s_grains, .pillar = s_pillar,
                            .root_dir = s_dir, .cache_dir = s_dir, .test = false,
                            .files = s_files };
    s_ret = (fl_st_ret_t) { FL_ST_TRUE, NULL, NULL };
    /* most tests work in /etc of the root */
    char *etc = fl_sprintf("%s/etc", s_dir);
    ck_assert_int_eq(mkdir(etc, 0755), 0);
    free(etc);
}

static void
s_ret_clear(void)
{
    json_decref(s_ret.changes);
    free(s_ret.comment);
    s_ret = (fl_st_ret_t) { FL_ST_TRUE, NULL, NULL };
}

static void
s_teardown(void)
{
    s_ret_clear();
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

/*  Calls FN on NAME with ARGS (JSON, ' for "); the return is in s_ret. */
static fl_st_result_t
s_call(fl_st_fn_t fn, const char *name, const char *args)
{
    s_ret_clear();
    s_ret.changes = json_object();
    json_t *a = s_json(args ? args : "{}");
    fn(&s_ctx, name, a, &s_ret);
    json_decref(a);
    ck_assert_ptr_nonnull(s_ret.changes);
    return s_ret.result;
}

static const char *
s_comment(void)
{
    return s_ret.comment ? s_ret.comment : "";
}

static const char *
s_change(const char *key)
{
    return json_string_value(json_object_get(s_ret.changes, key));
}

/*  The path of NAME under the root. */
static char *
s_path(const char *name)
{
    return fl_sprintf("%s%s", s_dir, name);
}

/*  Contents of NAME (under the root), or NULL. */
static char *
s_read(const char *name)
{
    char *p = s_path(name);
    char *text = fl_file_read(p, 1 << 20, NULL);
    free(p);
    return text;
}

static void
s_write(const char *name, const char *text)
{
    char *p = s_path(name);
    char *dir = fl_path_dirname(p);
    ck_assert_int_eq(fl_mkdir_p(dir, 0755), 0);
    ck_assert_int_eq(fl_file_write_atomic(p, text, strlen(text), 0644), 0);
    free(dir);
    free(p);
}

static void
s_assert_file(const char *name, const char *want)
{
    char *text = s_read(name);
    ck_assert_msg(text != NULL, "%s missing", name);
    ck_assert_str_eq(text, want);
    free(text);
}

static bool
s_exists(const char *name)
{
    char *p = s_path(name);
    struct stat st;
    bool ok = lstat(p, &st) == 0;
    free(p);
    return ok;
}

static mode_t
s_mode(const char *name)
{
    char *p = s_path(name);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
    free(p);
    return st.st_mode & 07777;
}

#define S_ASSERT_RESULT(fn, name, args, want)                                             \
    do {                                                                                  \
        fl_st_result_t r_ = s_call((fn), (name), (args));                                 \
        ck_assert_msg(r_ == (want), "%s %s: result %d, want %d: %s", #fn, (name), (int) r_, \
                      (int) (want), s_comment());                                         \
    } while (0)

/*  The canonical use: file.managed creates a file, and a second run finds
    nothing to do. */
START_TEST(test_managed_create_then_no_change)
{
    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'contents': 'hello'}", FL_ST_TRUE);
    ck_assert_str_eq(s_change("diff"), "New file");
    ck_assert_str_eq(s_comment(), "File /etc/motd updated");
    s_assert_file("/etc/motd", "hello\n");

    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'contents': 'hello'}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    ck_assert_str_eq(s_comment(), "File /etc/motd is in the correct state");
}
END_TEST

START_TEST(test_managed_parent_missing)
{
    S_ASSERT_RESULT(st_file_managed, "/opt/x", "{'contents': 'hello'}", FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "Parent directory") != NULL);
    ck_assert(!s_exists("/opt"));
    S_ASSERT_RESULT(st_file_managed, "/a/b/c/file", "{'contents': 'x', 'makedirs': true}",
                    FL_ST_TRUE);
    s_assert_file("/a/b/c/file", "x\n");
    ck_assert_int_eq(s_mode("/a/b/c"), 0755);
}
END_TEST

START_TEST(test_managed_modify_diff)
{
    s_write("/etc/hosts", "a\nb\nc\n");
    S_ASSERT_RESULT(st_file_managed, "/etc/hosts", "{'contents': 'a\\nB\\nc'}", FL_ST_TRUE);
    ck_assert_str_eq(s_change("diff"), "--- \n+++ \n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    s_assert_file("/etc/hosts", "a\nB\nc\n");

    S_ASSERT_RESULT(st_file_managed, "/etc/hosts",
                    "{'contents': 'a\\nB\\nc', 'show_changes': false}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_managed, "/etc/hosts", "{'contents': 'z', 'show_changes': false}",
                    FL_ST_TRUE);
    ck_assert_str_eq(s_change("diff"), "<show_changes=False>");
}
END_TEST

START_TEST(test_managed_mode)
{
    s_write("/etc/app.conf", "x\n");
    char *p = s_path("/etc/app.conf");
    ck_assert_int_eq(chmod(p, 0600), 0);
    free(p);
    S_ASSERT_RESULT(st_file_managed, "/etc/app.conf", "{'contents': 'x', 'mode': '0644'}",
                    FL_ST_TRUE);
    ck_assert_str_eq(s_change("mode"), "0644");
    ck_assert_ptr_null(json_object_get(s_ret.changes, "diff"));
    ck_assert_int_eq(s_mode("/etc/app.conf"), 0644);
    /* 640 as YAML reads it without quotes: an integer whose digits are octal */
    S_ASSERT_RESULT(st_file_managed, "/etc/app.conf", "{'mode': 640}", FL_ST_TRUE);
    ck_assert_str_eq(s_change("mode"), "0640");
    ck_assert_int_eq(s_mode("/etc/app.conf"), 0640);
    S_ASSERT_RESULT(st_file_managed, "/etc/app.conf", "{'mode': '640'}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_managed, "/etc/app.conf", "{'mode': '0999'}", FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "not an octal mode") != NULL);
    /* a new file gets its mode at once, in the same change */
    S_ASSERT_RESULT(st_file_managed, "/etc/secret", "{'contents': 's', 'mode': '0600'}",
                    FL_ST_TRUE);
    ck_assert_str_eq(s_change("mode"), "0600");
    ck_assert_int_eq(s_mode("/etc/secret"), 0600);
}
END_TEST

START_TEST(test_managed_test_mode)
{
    s_write("/etc/hosts", "old\n");
    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_managed, "/etc/hosts", "{'contents': 'new', 'mode': '0600'}",
                    FL_ST_NONE);
    ck_assert_str_eq(s_change("diff"), "--- \n+++ \n@@ -1 +1 @@\n-old\n+new\n");
    ck_assert_str_eq(s_change("mode"), "0600");
    ck_assert_str_eq(s_comment(), "The file /etc/hosts is set to be changed");
    s_assert_file("/etc/hosts", "old\n");
    ck_assert_int_eq(s_mode("/etc/hosts"), 0644);

    S_ASSERT_RESULT(st_file_managed, "/etc/new", "{'contents': 'x'}", FL_ST_NONE);
    ck_assert_str_eq(s_change("newfile"), "/etc/new");
    ck_assert(!s_exists("/etc/new"));
    S_ASSERT_RESULT(st_file_managed, "/d/e/new", "{'contents': 'x', 'makedirs': true}",
                    FL_ST_NONE);
    ck_assert(!s_exists("/d"));

    S_ASSERT_RESULT(st_file_managed, "/etc/hosts", "{'contents': 'old'}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
}
END_TEST

START_TEST(test_managed_source)
{
    char *src = fl_test_write(s_dir, "motd.src", "from the master\n");
    json_object_set_new(s_files, "fleet://base/motd", json_string(src));
    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'source': 'fleet://base/motd'}", FL_ST_TRUE);
    s_assert_file("/etc/motd", "from the master\n");
    /* salt:// names the same file */
    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'source': 'salt://base/motd'}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    /* a list: the first one found */
    S_ASSERT_RESULT(st_file_managed, "/etc/motd2",
                    "{'source': ['fleet://nope', 'fleet://base/motd']}", FL_ST_TRUE);
    s_assert_file("/etc/motd2", "from the master\n");
    /* a local path, under root_dir */
    S_ASSERT_RESULT(st_file_managed, "/etc/motd3", "{'source': '/etc/motd'}", FL_ST_TRUE);
    s_assert_file("/etc/motd3", "from the master\n");

    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'source': 'fleet://nope'}", FL_ST_FALSE);
    ck_assert_str_eq(s_comment(), "Source file fleet://nope not found on the master");
    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'source': ['fleet://a', 'fleet://b']}",
                    FL_ST_FALSE);
    ck_assert_str_eq(s_comment(),
                     "None of the sources were found on the master: fleet://a, fleet://b");
    S_ASSERT_RESULT(st_file_managed, "/etc/motd", "{'source': 'https://example.org/x'}",
                    FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "Unsupported source") != NULL);
    S_ASSERT_RESULT(st_file_managed, "/etc/motd",
                    "{'source': 'fleet://base/motd', 'contents': 'x'}", FL_ST_FALSE);
    s_assert_file("/etc/motd", "from the master\n");
    free(src);
}
END_TEST

START_TEST(test_managed_contents_forms)
{
    S_ASSERT_RESULT(st_file_managed, "/etc/a", "{'contents': ['one', 'two']}", FL_ST_TRUE);
    s_assert_file("/etc/a", "one\ntwo\n");
    S_ASSERT_RESULT(st_file_managed, "/etc/b", "{'contents': 'raw', 'contents_newline': false}",
                    FL_ST_TRUE);
    s_assert_file("/etc/b", "raw");
    S_ASSERT_RESULT(st_file_managed, "/etc/c", "{'contents': 42}", FL_ST_TRUE);
    s_assert_file("/etc/c", "42\n");
    S_ASSERT_RESULT(st_file_managed, "/etc/d", "{'contents_pillar': 'motd:text'}", FL_ST_TRUE);
    s_assert_file("/etc/d", "Hello from pillar\n");
    S_ASSERT_RESULT(st_file_managed, "/etc/e", "{'contents_pillar': 'motd:nope'}", FL_ST_FALSE);
    /* neither source nor contents: an empty file, then only permissions */
    S_ASSERT_RESULT(st_file_managed, "/etc/empty", "{}", FL_ST_TRUE);
    s_assert_file("/etc/empty", "");
    S_ASSERT_RESULT(st_file_managed, "/etc/a", "{}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    s_assert_file("/etc/a", "one\ntwo\n");
    /* replace: False only creates */
    S_ASSERT_RESULT(st_file_managed, "/etc/a", "{'contents': 'other', 'replace': false}",
                    FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    s_assert_file("/etc/a", "one\ntwo\n");
    S_ASSERT_RESULT(st_file_managed, "/etc/f", "{'contents': 'new', 'replace': false}",
                    FL_ST_TRUE);
    s_assert_file("/etc/f", "new\n");
    S_ASSERT_RESULT(st_file_managed, "relative/path", "{'contents': 'x'}", FL_ST_FALSE);
    ck_assert_str_eq(s_comment(), "Specified file relative/path is not an absolute path");
    S_ASSERT_RESULT(st_file_managed, "/etc", "{'contents': 'x'}", FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "is a directory") != NULL);
}
END_TEST

START_TEST(test_managed_follows_symlink)
{
    s_write("/etc/real.conf", "old\n");
    char *link = s_path("/etc/link.conf");
    ck_assert_int_eq(symlink("real.conf", link), 0);
    S_ASSERT_RESULT(st_file_managed, "/etc/link.conf", "{'contents': 'new'}", FL_ST_TRUE);
    s_assert_file("/etc/real.conf", "new\n");
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    free(link);
}
END_TEST

START_TEST(test_managed_owner)
{
    struct passwd *pw = getpwnam("nobody");
    ck_assert_ptr_nonnull(pw);
    uid_t nobody = pw->pw_uid;
    s_write("/etc/owned", "x\n");
    if (geteuid() == 0) {
        S_ASSERT_RESULT(st_file_managed, "/etc/owned", "{'user': 'nobody'}", FL_ST_TRUE);
        ck_assert_str_eq(s_change("user"), "nobody");
        char *p = s_path("/etc/owned");
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_int_eq(st.st_uid, nobody);
        free(p);
        /* a rewrite keeps the owner it was given */
        S_ASSERT_RESULT(st_file_managed, "/etc/owned", "{'contents': 'y', 'user': 'nobody'}",
                        FL_ST_TRUE);
        ck_assert_ptr_null(json_object_get(s_ret.changes, "user"));
        p = s_path("/etc/owned");
        ck_assert_int_eq(stat(p, &st), 0);
        ck_assert_int_eq(st.st_uid, nobody);
        free(p);
    }
    S_ASSERT_RESULT(st_file_managed, "/etc/owned", "{'user': 'no-such-user-fleet'}", FL_ST_FALSE);
    ck_assert_str_eq(s_comment(), "User no-such-user-fleet is not available");
    S_ASSERT_RESULT(st_file_managed, "/etc/owned", "{'group': 'no-such-group-fleet'}",
                    FL_ST_FALSE);

    /* not root: an owner that differs is a clear failure, not a surprise */
    if (geteuid() == 0) {
        char *p = s_path("/etc");
        ck_assert_int_eq(chmod(s_dir, 0777), 0);
        ck_assert_int_eq(chmod(p, 0777), 0);
        free(p);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            if (setgid(pw->pw_gid) != 0 || setuid(nobody) != 0) {
                _exit(3);
            }
            s_ret.changes = json_object();
            json_t *args = s_json("{'contents': 'z', 'user': 'root'}");
            st_file_managed(&s_ctx, "/etc/mine", args, &s_ret);
            bool ok = s_ret.result == FL_ST_FALSE && s_ret.comment
                      && strstr(s_ret.comment, "not running as root") && !s_exists("/etc/mine");
            _exit(ok ? 0 : 1);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
    }
}
END_TEST

START_TEST(test_managed_template)
{
    S_ASSERT_RESULT(st_file_managed, "/etc/t",
                    "{'contents': '{{ grains.os }} {{ pillar.motd.text }} {{ who }} {{ n }}', "
                    "'template': 'jinja', 'defaults': {'who': 'nobody', 'n': 1}, "
                    "'context': {'who': 'ops'}}",
                    FL_ST_TRUE);
    s_assert_file("/etc/t", "Debian Hello from pillar ops 1\n");
    char *src = fl_test_write(s_dir, "t.src",
                              "{% for x in ['a', 'b'] %}{{ x }}={{ id }}\n{% endfor %}");
    json_object_set_new(s_files, "fleet://t", json_string(src));
    S_ASSERT_RESULT(st_file_managed, "/etc/t2", "{'source': 'fleet://t', 'template': 'jinja'}",
                    FL_ST_TRUE);
    s_assert_file("/etc/t2", "a=pi-001\nb=pi-001\n");
    S_ASSERT_RESULT(st_file_managed, "/etc/t3", "{'contents': '{{ nope }}', 'template': 'jinja'}",
                    FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "template") != NULL);
    ck_assert(!s_exists("/etc/t3"));
    S_ASSERT_RESULT(st_file_managed, "/etc/t4", "{'contents': 'x', 'template': 'mako'}",
                    FL_ST_FALSE);
    free(src);
}
END_TEST

/*  Diff texts, against what Python's difflib.unified_diff gives. */
START_TEST(test_diff)
{
    static const struct {
        const char *old;
        const char *new;
        const char *diff;
    } cases[] = {
        { "a\n", "a\n", "" },
        { "", "a\n", "--- \n+++ \n@@ -0,0 +1 @@\n+a\n" },
        { "a\n", "", "--- \n+++ \n@@ -1 +0,0 @@\n-a\n" },
        { "a\nb\n", "a\nb",
          "--- \n+++ \n@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n" },
        { "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\n10\n",
          "--- \n+++ \n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n 8\n" },
        /* two changes 7 lines apart: two hunks */
        { "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "A\nb\nc\nd\ne\nf\ng\nh\nI\nj\n",
          "--- \n+++ \n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n"
          "@@ -6,5 +6,5 @@\n f\n g\n h\n-i\n+I\n j\n" },
        /* six apart: one hunk */
        { "a\nb\nc\nd\ne\nf\ng\nh\n", "A\nb\nc\nd\ne\nf\ng\nH\n",
          "--- \n+++ \n@@ -1,8 +1,8 @@\n-a\n+A\n b\n c\n d\n e\n f\n g\n-h\n+H\n" },
        { "x\ny\n", "p\nx\nq\ny\nr\n", "--- \n+++ \n@@ -1,2 +1,5 @@\n+p\n x\n+q\n y\n+r\n" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        char *d = st_file_diff(cases[i].old, strlen(cases[i].old), cases[i].new,
                               strlen(cases[i].new));
        ck_assert_msg(strcmp(d, cases[i].diff) == 0, "case %zu: got\n%s\nwant\n%s", i, d,
                      cases[i].diff);
        free(d);
    }
    char *d = st_file_diff("a\0b", 3, "a", 1);
    ck_assert_str_eq(d, "Replace binary file");
    free(d);
    size_t big = 6000;
    char *many = fl_malloc(big * 2 + 1);
    for (size_t i = 0; i < big; i++) {
        many[2 * i] = 'x';
        many[2 * i + 1] = '\n';
    }
    many[2 * big] = '\0';
    d = st_file_diff(many, 2 * big, "x\n", 2);
    ck_assert_str_eq(d, "<diff too large>");
    free(d);
    free(many);
}
END_TEST

/*  OLD with the hunks of DIFF applied (checking every context and removed
    line against OLD); caller frees. */
static char *
s_patch(const char *old, const char *diff)
{
    size_t cap = strlen(old) + strlen(diff) + 1;
    char *out = fl_calloc(cap, 1);
    const char *o = old;
    size_t oline = 1;
    const char *p = *diff ? strstr(diff, "@@") : "";
    while (p && *p) {
        size_t a_start = 0, a_len = 1;
        ck_assert_int_ge(sscanf(p, "@@ -%zu,%zu", &a_start, &a_len), 1);
        if (a_len == 0) {
            a_start++;  /* an empty range names the line before it */
        }
        for (; oline < a_start; oline++) {
            const char *nl = strchr(o, '\n');
            strncat(out, o, (size_t) (nl - o + 1));
            o = nl + 1;
        }
        p = strchr(p, '\n') + 1;
        while (*p && *p != '@') {
            const char *nl = strchr(p, '\n');
            if (*p == '+') {
                strncat(out, p + 1, (size_t) (nl - p));
            } else {
                ck_assert(*p == ' ' || *p == '-');
                const char *onl = strchr(o, '\n');
                ck_assert_int_eq(strncmp(o, p + 1, (size_t) (onl - o + 1)), 0);
                if (*p == ' ') {
                    strncat(out, o, (size_t) (onl - o + 1));
                }
                o = onl + 1;
                oline++;
            }
            p = nl + 1;
        }
    }
    strcat(out, o);
    return out;
}

/*  Random edits: every diff applies, giving the new text back. */
START_TEST(test_diff_applies)
{
    unsigned seed = 12345;
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t) (rand_r(&seed) % 40);
        char old[512] = "", new[1024] = "";
        for (size_t i = 0; i < n; i++) {
            char line[8];
            snprintf(line, sizeof line, "%c\n", 'a' + rand_r(&seed) % 5);
            strcat(old, line);
            int op = rand_r(&seed) % 4;
            if (op == 0) {
                continue;       /* deleted */
            }
            if (op == 1) {
                snprintf(line, sizeof line, "%c\n", 'A' + rand_r(&seed) % 3);
            }
            strcat(new, line);  /* kept or changed */
            if (op == 2) {
                snprintf(line, sizeof line, "%c\n", 'a' + rand_r(&seed) % 5);
                strcat(new, line);  /* and one inserted */
            }
        }
        char *d = st_file_diff(old, strlen(old), new, strlen(new));
        char *out = s_patch(old, d);
        ck_assert_msg(strcmp(out, new) == 0, "round %d: old\n%s\nnew\n%s\ndiff\n%s\ngot\n%s",
                      round, old, new, d, out);
        free(out);
        free(d);
    }
}
END_TEST

/*  Past the edit bound the changed middle is one replaced block: still a
    diff that applies. */
START_TEST(test_diff_many_edits)
{
    s_buf_t a = { 0 }, b = { 0 };
    char line[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(line, sizeof line, "same %d\n", i);
        if (i % 2 == 0) {
            s_buf_str(&a, line);
            s_buf_str(&b, line);
        }
        snprintf(line, sizeof line, "old %d\n", i);
        s_buf_str(&a, line);
        snprintf(line, sizeof line, "new %d\n", i);
        s_buf_str(&b, line);
    }
    char *d = st_file_diff(a.data, a.len, b.data, b.len);
    ck_assert(strncmp(d, "--- \n+++ \n@@ ", 13) == 0);
    char *out = s_patch(a.data, d);
    ck_assert(strcmp(out, b.data) == 0);
    free(out);
    free(d);
    free(a.data);
    free(b.data);
}
END_TEST

START_TEST(test_directory)
{
    S_ASSERT_RESULT(st_file_directory, "/srv/app", "{}", FL_ST_FALSE);
    ck_assert(!s_exists("/srv"));
    S_ASSERT_RESULT(st_file_directory, "/srv/app", "{'makedirs': true, 'mode': '0750'}",
                    FL_ST_TRUE);
    ck_assert_str_eq(s_change("/srv/app"), "New Dir");
    ck_assert_int_eq(s_mode("/srv/app"), 0750);
    S_ASSERT_RESULT(st_file_directory, "/srv/app", "{'dir_mode': 750}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    ck_assert_str_eq(s_comment(), "Directory /srv/app is in the correct state");
    S_ASSERT_RESULT(st_file_directory, "/srv/app", "{'dir_mode': '0755'}", FL_ST_TRUE);
    ck_assert_str_eq(s_change("mode"), "0755");

    s_write("/srv/app/sub/f", "x");
    char *sub = s_path("/srv/app/sub");
    ck_assert_int_eq(chmod(sub, 0700), 0);
    free(sub);
    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_directory, "/srv/app",
                    "{'dir_mode': '0755', 'file_mode': '0600', 'recurse': ['mode']}", FL_ST_NONE);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_ret.changes,
                                                                       "/srv/app/sub"), "mode")),
                     "0755");
    ck_assert_int_eq(s_mode("/srv/app/sub"), 0700);
    s_ctx.test = false;
    S_ASSERT_RESULT(st_file_directory, "/srv/app",
                    "{'dir_mode': '0755', 'file_mode': '0600', 'recurse': ['mode']}", FL_ST_TRUE);
    ck_assert_int_eq(s_mode("/srv/app/sub"), 0755);
    ck_assert_int_eq(s_mode("/srv/app/sub/f"), 0600);
    S_ASSERT_RESULT(st_file_directory, "/srv/app",
                    "{'dir_mode': '0755', 'file_mode': '0600', 'recurse': ['mode']}", FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_directory, "/srv/app/sub/f", "{}", FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "exists and is a file") != NULL);
    S_ASSERT_RESULT(st_file_directory, "/srv/app", "{'recurse': ['bogus']}", FL_ST_FALSE);
}
END_TEST

START_TEST(test_absent)
{
    s_write("/etc/old.conf", "x");
    s_write("/var/cache/app/a/b", "x");
    S_ASSERT_RESULT(st_file_absent, "/nope", "{}", FL_ST_TRUE);
    ck_assert_str_eq(s_comment(), "File /nope is not present");
    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_absent, "/etc/old.conf", "{}", FL_ST_NONE);
    ck_assert_str_eq(s_change("removed"), "/etc/old.conf");
    ck_assert(s_exists("/etc/old.conf"));
    s_ctx.test = false;
    S_ASSERT_RESULT(st_file_absent, "/etc/old.conf", "{}", FL_ST_TRUE);
    ck_assert_str_eq(s_comment(), "Removed file /etc/old.conf");
    ck_assert(!s_exists("/etc/old.conf"));
    S_ASSERT_RESULT(st_file_absent, "/var/cache/app", "{}", FL_ST_TRUE);
    ck_assert(!s_exists("/var/cache/app"));
    ck_assert(s_exists("/var/cache"));
    /* a symlink goes, what it points to stays */
    char *link = s_path("/var/link");
    ck_assert_int_eq(symlink("cache", link), 0);
    free(link);
    S_ASSERT_RESULT(st_file_absent, "/var/link", "{}", FL_ST_TRUE);
    ck_assert(!s_exists("/var/link"));
    ck_assert(s_exists("/var/cache"));
    S_ASSERT_RESULT(st_file_absent, "/", "{}", FL_ST_FALSE);
    ck_assert(s_exists("/var"));
}
END_TEST

START_TEST(test_symlink)
{
    s_write("/etc/nginx/sites-available/site", "x");
    const char *args = "{'target': '../sites-available/site', 'makedirs': true}";
    S_ASSERT_RESULT(st_file_symlink, "/etc/nginx/sites-enabled/site", args, FL_ST_TRUE);
    ck_assert_str_eq(s_change("new"), "/etc/nginx/sites-enabled/site");
    s_assert_file("/etc/nginx/sites-enabled/site", "x");
    S_ASSERT_RESULT(st_file_symlink, "/etc/nginx/sites-enabled/site", args, FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_symlink, "/etc/nginx/sites-enabled/site", "{'target': '/elsewhere'}",
                    FL_ST_TRUE);
    char buf[64] = "";
    char *p = s_path("/etc/nginx/sites-enabled/site");
    ck_assert_int_gt(readlink(p, buf, sizeof buf - 1), 0);
    ck_assert_str_eq(buf, "/elsewhere");
    free(p);

    s_write("/etc/file", "x");
    S_ASSERT_RESULT(st_file_symlink, "/etc/file", "{'target': '/t'}", FL_ST_FALSE);
    ck_assert_str_eq(s_comment(), "File exists where the symlink /etc/file should be");
    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_symlink, "/etc/file", "{'target': '/t', 'force': true}", FL_ST_NONE);
    s_assert_file("/etc/file", "x");
    s_ctx.test = false;
    S_ASSERT_RESULT(st_file_symlink, "/etc/file", "{'target': '/t', 'force': true}", FL_ST_TRUE);
    ck_assert_ptr_nonnull(s_change("forced"));
    p = s_path("/etc/file");
    memset(buf, 0, sizeof buf);
    ck_assert_int_gt(readlink(p, buf, sizeof buf - 1), 0);
    ck_assert_str_eq(buf, "/t");
    free(p);
    S_ASSERT_RESULT(st_file_symlink, "/etc/x", "{}", FL_ST_FALSE);
}
END_TEST

START_TEST(test_append)
{
    s_write("/etc/profile", "export A=1\nexport B=2");
    S_ASSERT_RESULT(st_file_append, "/etc/profile", "{'text': ['export B=2', 'export C=3']}",
                    FL_ST_TRUE);
    s_assert_file("/etc/profile", "export A=1\nexport B=2\nexport C=3\n");
    ck_assert_str_eq(s_comment(), "Appended 1 line");
    ck_assert(strstr(s_change("diff"), "+export C=3\n") != NULL);
    S_ASSERT_RESULT(st_file_append, "/etc/profile", "{'text': 'export C=3\\nexport A=1'}",
                    FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_append, "/etc/profile", "{'text': 'export D=4'}", FL_ST_NONE);
    s_assert_file("/etc/profile", "export A=1\nexport B=2\nexport C=3\n");
    s_ctx.test = false;
    S_ASSERT_RESULT(st_file_append, "/etc/new", "{'text': 'first'}", FL_ST_TRUE);
    s_assert_file("/etc/new", "first\n");
    S_ASSERT_RESULT(st_file_append, "/etc/new", "{}", FL_ST_FALSE);
}
END_TEST

START_TEST(test_line)
{
    s_write("/etc/ssh/sshd_config", "Port 22\n  PermitRootLogin yes\nUsePAM yes\n");
    /* replace keeps the indentation of the line it replaces */
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'replace', 'match': '^ *PermitRootLogin', "
                    "'content': 'PermitRootLogin no'}",
                    FL_ST_TRUE);
    s_assert_file("/etc/ssh/sshd_config", "Port 22\n  PermitRootLogin no\nUsePAM yes\n");
    ck_assert_str_eq(s_comment(), "Changes were made");
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'replace', 'match': '^ *PermitRootLogin', "
                    "'content': 'PermitRootLogin no'}",
                    FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    ck_assert_str_eq(s_comment(), "No changes needed to be made");

    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'insert', 'location': 'start', 'content': '# managed'}", FL_ST_TRUE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'insert', 'location': 'end', 'content': 'X11Forwarding no'}",
                    FL_ST_TRUE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'insert', 'before': '^UsePAM', 'content': 'MaxAuthTries 3'}",
                    FL_ST_TRUE);
    s_assert_file("/etc/ssh/sshd_config", "# managed\nPort 22\n  PermitRootLogin no\n"
                                          "MaxAuthTries 3\nUsePAM yes\nX11Forwarding no\n");
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'insert', 'before': '^UsePAM', 'content': 'MaxAuthTries 3'}",
                    FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);

    /* ensure after: the line right after the anchor is made the content */
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'ensure', 'after': '^Port', 'content': 'AddressFamily inet'}",
                    FL_ST_TRUE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'ensure', 'after': '^Port', 'content': 'AddressFamily inet'}",
                    FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'ensure', 'after': '^Port', 'match': '^AddressFamily', "
                    "'content': 'AddressFamily any'}",
                    FL_ST_TRUE);
    /* ensure without anchors: replace the match, else append */
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'ensure', 'match': '^UsePAM', 'content': 'UsePAM no'}", FL_ST_TRUE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'delete', 'content': 'X11Forwarding'}", FL_ST_TRUE);
    s_assert_file("/etc/ssh/sshd_config", "# managed\nPort 22\nAddressFamily any\n"
                                          "  PermitRootLogin no\nMaxAuthTries 3\nUsePAM no\n");

    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'delete', 'match': '^Port'}", FL_ST_NONE);
    ck_assert(strstr(s_change("diff"), "-Port 22\n") != NULL);
    s_ctx.test = false;
    s_assert_file("/etc/ssh/sshd_config", "# managed\nPort 22\nAddressFamily any\n"
                                          "  PermitRootLogin no\nMaxAuthTries 3\nUsePAM no\n");

    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'insert', 'after': '^Nope', 'content': 'x'}", FL_ST_FALSE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config", "{'content': 'x'}", FL_ST_FALSE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/sshd_config",
                    "{'mode': 'bogus', 'content': 'x'}", FL_ST_FALSE);
    S_ASSERT_RESULT(st_file_line, "/etc/missing", "{'mode': 'ensure', 'content': 'x'}",
                    FL_ST_FALSE);
    S_ASSERT_RESULT(st_file_line, "/etc/ssh/new",
                    "{'mode': 'ensure', 'content': 'x', 'create': true}", FL_ST_TRUE);
    s_assert_file("/etc/ssh/new", "x\n");
}
END_TEST

START_TEST(test_replace)
{
    s_write("/etc/app.ini", "port = 80\nhost = a\nport = 81\n");
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini",
                    "{'pattern': '^port = (\\\\d+)$', 'repl': 'port = 9\\\\1'}", FL_ST_TRUE);
    s_assert_file("/etc/app.ini", "port = 980\nhost = a\nport = 981\n");
    ck_assert_str_eq(s_comment(), "Changes were made");
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini",
                    "{'pattern': '^port = 9', 'repl': 'port = ', 'count': 1}", FL_ST_TRUE);
    s_assert_file("/etc/app.ini", "port = 80\nhost = a\nport = 981\n");
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini", "{'pattern': 'nothing', 'repl': 'x'}",
                    FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    ck_assert_str_eq(s_comment(), "No changes needed to be made");

    /* append_if_not_found: once */
    const char *args = "{'pattern': '^debug=.*', 'repl': 'debug=1', 'append_if_not_found': true}";
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini", args, FL_ST_TRUE);
    s_assert_file("/etc/app.ini", "port = 80\nhost = a\nport = 981\ndebug=1\n");
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini", args, FL_ST_TRUE);
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini",
                    "{'pattern': '^#!', 'repl': 'x', 'prepend_if_not_found': true, "
                    "'not_found_content': '# head'}",
                    FL_ST_TRUE);
    s_assert_file("/etc/app.ini", "# head\nport = 80\nhost = a\nport = 981\ndebug=1\n");
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini",
                    "{'pattern': 'HOST', 'repl': 'server', 'flags': ['IGNORECASE']}", FL_ST_TRUE);
    s_assert_file("/etc/app.ini", "# head\nport = 80\nserver = a\nport = 981\ndebug=1\n");

    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini", "{'pattern': 'a', 'repl': 'b'}", FL_ST_NONE);
    ck_assert_ptr_nonnull(s_change("diff"));
    s_ctx.test = false;
    s_assert_file("/etc/app.ini", "# head\nport = 80\nserver = a\nport = 981\ndebug=1\n");

    S_ASSERT_RESULT(st_file_replace, "/etc/app.ini", "{'pattern': '(', 'repl': 'b'}",
                    FL_ST_FALSE);
    ck_assert(strstr(s_comment(), "Invalid pattern") != NULL);
    S_ASSERT_RESULT(st_file_replace, "/etc/none", "{'pattern': 'a', 'repl': 'b'}", FL_ST_FALSE);
    S_ASSERT_RESULT(st_file_replace, "/etc/none",
                    "{'pattern': 'a', 'repl': 'b', 'ignore_if_missing': true}", FL_ST_TRUE);
    ck_assert(!s_exists("/etc/none"));
}
END_TEST

START_TEST(test_comment)
{
    s_write("/etc/fstab", "/dev/sda1 / ext4\n/dev/sdb1 /data ext4\n");
    S_ASSERT_RESULT(st_file_comment, "/etc/fstab", "{'regex': '^/dev/sdb1'}", FL_ST_TRUE);
    s_assert_file("/etc/fstab", "/dev/sda1 / ext4\n#/dev/sdb1 /data ext4\n");
    ck_assert_str_eq(s_comment(), "Commented lines successfully");
    S_ASSERT_RESULT(st_file_comment, "/etc/fstab", "{'regex': '^/dev/sdb1'}", FL_ST_TRUE);
    ck_assert_str_eq(s_comment(), "Pattern already commented");
    ck_assert_int_eq(json_object_size(s_ret.changes), 0);
    S_ASSERT_RESULT(st_file_comment, "/etc/fstab", "{'regex': '/dev/sdc'}", FL_ST_FALSE);
    ck_assert_str_eq(s_comment(), "/dev/sdc: Pattern not found");
    s_ctx.test = true;
    S_ASSERT_RESULT(st_file_comment, "/etc/fstab", "{'regex': '/dev/sda1', 'char': '; '}",
                    FL_ST_NONE);
    s_ctx.test = false;
    S_ASSERT_RESULT(st_file_comment, "/etc/fstab", "{'regex': '/dev/sda1', 'char': '; '}",
                    FL_ST_TRUE);
    s_assert_file("/etc/fstab", "; /dev/sda1 / ext4\n#/dev/sdb1 /data ext4\n");
}
END_TEST

Suite *suite_st_file(void);

Suite *
suite_st_file(void)
{
    Suite *s = suite_create("st_file");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_managed_create_then_no_change);
    tcase_add_test(tc, test_managed_parent_missing);
    tcase_add_test(tc, test_managed_modify_diff);
    tcase_add_test(tc, test_managed_mode);
    tcase_add_test(tc, test_managed_test_mode);
    tcase_add_test(tc, test_managed_source);
    tcase_add_test(tc, test_managed_contents_forms);
    tcase_add_test(tc, test_managed_follows_symlink);
    tcase_add_test(tc, test_managed_owner);
    tcase_add_test(tc, test_managed_template);
    tcase_add_test(tc, test_diff);
    tcase_add_test(tc, test_diff_applies);
    tcase_add_test(tc, test_diff_many_edits);
    tcase_add_test(tc, test_directory);
    tcase_add_test(tc, test_absent);
    tcase_add_test(tc, test_symlink);
    tcase_add_test(tc, test_append);
    tcase_add_test(tc, test_line);
    tcase_add_test(tc, test_replace);
    tcase_add_test(tc, test_comment);
    suite_add_tcase(s, tc);
    return s;
}
