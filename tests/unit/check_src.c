/*  check_src.c: file sources: path checks, the directory source and its
    refusal of paths and symlinks that leave the tree. */
#include "fl_src.h"
#include "fl_test.h"
#include "fl_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

Suite *suite_src(void);

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

/*  Writes DIR/REL (creating directories) with TEXT and MODE. */
static void
s_put(const char *dir, const char *rel, const char *text, mode_t mode)
{
    char *path = fl_sprintf("%s/%s", dir, rel);
    char *parent = fl_path_dirname(path);
    ck_assert_int_eq(fl_mkdir_p(parent, 0755), 0);
    free(parent);
    free(fl_test_write(dir, rel, text));
    ck_assert_int_eq(chmod(path, mode), 0);
    free(path);
}

/*  Canonical usage: a directory source reads and stats files by their
    path relative to the tree. */
START_TEST(test_src_usage)
{
    s_put(s_dir, "web/init.sls", "nginx:\n  pkg.installed: []\n", 0644);
    s_put(s_dir, "files/run.sh", "#!/bin/sh\n", 0755);
    fl_src_t *src = fl_src_dir_new(s_dir);
    ck_assert_str_eq(fl_src_describe(src), s_dir);

    char *text = NULL, *err = NULL;
    size_t len = 0;
    ck_assert_int_eq(fl_src_read(src, "web/init.sls", &text, &len, &err), 0);
    ck_assert_str_eq(text, "nginx:\n  pkg.installed: []\n");
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_ptr_null(err);
    free(text);

    unsigned mode = 0;
    ck_assert_int_eq(fl_src_stat(src, "files/run.sh", &mode, &err), 0);
    ck_assert_uint_eq(mode, 0755);
    ck_assert_int_eq(fl_src_stat(src, "web/init.sls", &mode, &err), 0);
    ck_assert_uint_eq(mode, 0644);

    /* Absent files are 1, not errors. */
    ck_assert_int_eq(fl_src_read(src, "web/nope.sls", &text, &len, &err), 1);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(fl_src_read(src, "nodir/x.sls", &text, &len, &err), 1);
    ck_assert_int_eq(fl_src_stat(src, "nope", &mode, &err), 1);
    ck_assert_int_eq(fl_src_read(src, "web/init.sls/x", &text, &len, &err), 1);

    fl_src_destroy(&src);
    ck_assert_ptr_null(src);
    fl_src_destroy(&src);
    fl_src_destroy(NULL);
}
END_TEST

static const struct {
    const char *path;
    const char *fragment;   /* NULL: accepted */
} s_paths[] = {
    { "a", NULL },
    { "a/b.sls", NULL },
    { "web.server/init.sls", NULL },
    { ".hidden/a", NULL },
    { "a..b/...", NULL },
    { "dir/-x_y z", NULL },
    { "", "empty path" },
    { "/etc/passwd", "absolute" },
    { "/", "absolute" },
    { "../x", "'..' segment" },
    { "a/../b", "'..' segment" },
    { "a/..", "'..' segment" },
    { "..", "'..' segment" },
    { "./a", "'.' segment" },
    { "a/./b", "'.' segment" },
    { "a/.", "'.' segment" },
    { "a//b", "empty path segment" },
    { "a/", "empty path segment" },
    { "a\nb", "control character" },
    { "a\tb", "control character" },
    { "a\x1b[2Jb", "control character" },
    { "a\x7f", "control character" },
};

START_TEST(test_src_check_path)
{
    char *err = NULL;
    int rc = fl_src_check_path(s_paths[_i].path, &err);
    if (!s_paths[_i].fragment) {
        ck_assert_msg(rc == 0, "'%s' refused: %s", s_paths[_i].path, err);
        ck_assert_ptr_null(err);
        return;
    }
    ck_assert_msg(rc == -1, "'%s' accepted", s_paths[_i].path);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, s_paths[_i].fragment), "'%s': [%s] lacks [%s]", s_paths[_i].path,
                  err, s_paths[_i].fragment);
    free(err);
}
END_TEST

START_TEST(test_src_check_path_length)
{
    char path[1100];
    memset(path, 'a', sizeof path);
    path[1024] = '\0';
    char *err = NULL;
    ck_assert_int_eq(fl_src_check_path(path, &err), 0);
    path[1024] = 'a';
    path[1025] = '\0';
    ck_assert_int_eq(fl_src_check_path(path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "longer than 1024"));
    free(err);
    ck_assert_int_eq(fl_src_check_path(NULL, &err), -1);
    free(err);
}
END_TEST

/*  Every traversal attempt is refused by the directory source itself,
    before the file system is touched, even where the target exists. */
START_TEST(test_src_dir_refuses_traversal)
{
    char *tree = fl_sprintf("%s/tree", s_dir);
    s_put(s_dir, "tree/a/b", "inside\n", 0644);
    s_put(s_dir, "secret", "outside\n", 0600);
    fl_src_t *src = fl_src_dir_new(tree);
    const char *bad[] = { "../secret", "/etc/passwd", "a//b", "a/./b", "a/../../secret",
                          "a/../b", "./a/b", "" };
    for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
        char *text = NULL, *err = NULL;
        size_t len = 0;
        unsigned mode = 0;
        ck_assert_msg(fl_src_read(src, bad[i], &text, &len, &err) == -1, "read '%s'", bad[i]);
        ck_assert_ptr_null(text);
        ck_assert_ptr_nonnull(err);
        free(err);
        err = NULL;
        ck_assert_msg(fl_src_stat(src, bad[i], &mode, &err) == -1, "stat '%s'", bad[i]);
        free(err);
    }
    fl_src_destroy(&src);
    free(tree);
}
END_TEST

START_TEST(test_src_dir_symlinks)
{
    char *tree = fl_sprintf("%s/tree", s_dir);
    s_put(s_dir, "tree/real/file.sls", "x: y\n", 0644);
    s_put(s_dir, "outside/secret.sls", "secret\n", 0600);
    s_put(s_dir, "tree2/other.sls", "other\n", 0644);
    char *p;
    /* Inside the tree: followed. */
    p = fl_sprintf("%s/link.sls", tree);
    ck_assert_int_eq(symlink("real/file.sls", p), 0);
    free(p);
    p = fl_sprintf("%s/linkdir", tree);
    ck_assert_int_eq(symlink("real", p), 0);
    free(p);
    /* Leaving it: refused (file, directory, absolute, a sibling whose
       name starts like the tree's). */
    p = fl_sprintf("%s/out.sls", tree);
    ck_assert_int_eq(symlink("../outside/secret.sls", p), 0);
    free(p);
    p = fl_sprintf("%s/outdir", tree);
    ck_assert_int_eq(symlink("../outside", p), 0);
    free(p);
    p = fl_sprintf("%s/abs.sls", tree);
    char *target = fl_sprintf("%s/outside/secret.sls", s_dir);
    ck_assert_int_eq(symlink(target, p), 0);
    free(target);
    free(p);
    p = fl_sprintf("%s/sib.sls", tree);
    ck_assert_int_eq(symlink("../tree2/other.sls", p), 0);
    free(p);
    p = fl_sprintf("%s/passwd", tree);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);
    free(p);
    p = fl_sprintf("%s/dangling", tree);
    ck_assert_int_eq(symlink("../nowhere", p), 0);
    free(p);

    fl_src_t *src = fl_src_dir_new(tree);
    char *text = NULL, *err = NULL;
    size_t len = 0;
    unsigned mode = 0;
    ck_assert_int_eq(fl_src_read(src, "link.sls", &text, &len, &err), 0);
    ck_assert_str_eq(text, "x: y\n");
    free(text);
    ck_assert_int_eq(fl_src_read(src, "linkdir/file.sls", &text, &len, &err), 0);
    free(text);
    ck_assert_int_eq(fl_src_stat(src, "link.sls", &mode, &err), 0);
    ck_assert_uint_eq(mode, 0644);

    const char *out[] = { "out.sls", "outdir/secret.sls", "abs.sls", "sib.sls", "passwd" };
    for (size_t i = 0; i < FL_ARRAY_LEN(out); i++) {
        text = NULL;
        err = NULL;
        ck_assert_msg(fl_src_read(src, out[i], &text, &len, &err) == -1, "read '%s'", out[i]);
        ck_assert_ptr_null(text);
        ck_assert_msg(strstr(err, "leaves the tree"), "%s: %s", out[i], err);
        free(err);
        err = NULL;
        ck_assert_msg(fl_src_stat(src, out[i], &mode, &err) == -1, "stat '%s'", out[i]);
        free(err);
    }
    /* A dangling link is an absent file. */
    ck_assert_int_eq(fl_src_read(src, "dangling", &text, &len, &err), 1);
    fl_src_destroy(&src);

    /* The tree itself may be reached through a symlink. */
    p = fl_sprintf("%s/alias", s_dir);
    ck_assert_int_eq(symlink("tree", p), 0);
    src = fl_src_dir_new(p);
    ck_assert_int_eq(fl_src_read(src, "real/file.sls", &text, &len, &err), 0);
    free(text);
    ck_assert_int_eq(fl_src_read(src, "out.sls", &text, &len, &err), -1);
    free(err);
    fl_src_destroy(&src);
    free(p);
    free(tree);
}
END_TEST

START_TEST(test_src_dir_limits)
{
    s_put(s_dir, "dir/x", "x", 0644);
    char *big = fl_sprintf("%s/big.sls", s_dir);
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 16 * 1024 * 1024), 0);
    close(fd);
    fl_src_t *src = fl_src_dir_new(s_dir);
    char *text = NULL, *err = NULL;
    size_t len = 0;
    /* Exactly 16 MiB is read. */
    ck_assert_int_eq(fl_src_read(src, "big.sls", &text, &len, &err), 0);
    ck_assert_uint_eq(len, 16 * 1024 * 1024);
    free(text);
    fd = open(big, O_WRONLY);
    ck_assert_int_eq(ftruncate(fd, 16 * 1024 * 1024 + 1), 0);
    close(fd);
    ck_assert_int_eq(fl_src_read(src, "big.sls", &text, &len, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "larger than 16 MiB"));
    free(err);
    /* A directory is not a file. */
    ck_assert_int_eq(fl_src_read(src, "dir", &text, &len, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    free(err);
    /* Nor is a FIFO (it is never opened: that would block). */
    char *fifo = fl_sprintf("%s/fifo", s_dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    free(fifo);
    ck_assert_int_eq(fl_src_read(src, "fifo", &text, &len, &err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    free(err);
    /* An empty file. */
    s_put(s_dir, "empty", "", 0600);
    ck_assert_int_eq(fl_src_read(src, "empty", &text, &len, &err), 0);
    ck_assert_str_eq(text, "");
    ck_assert_uint_eq(len, 0);
    free(text);
    unsigned mode = 0;
    ck_assert_int_eq(fl_src_stat(src, "empty", &mode, &err), 0);
    ck_assert_uint_eq(mode, 0600);
    fl_src_destroy(&src);
    free(big);

    /* A source over a directory that does not exist reads nothing. */
    char *gone = fl_sprintf("%s/gone", s_dir);
    src = fl_src_dir_new(gone);
    ck_assert_int_eq(fl_src_read(src, "x", &text, &len, &err), -1);
    ck_assert_ptr_nonnull(err);
    free(err);
    fl_src_destroy(&src);
    free(gone);
}
END_TEST

/*  A custom backend: paths are checked before its ops run; it is
    destroyed with the source. */
typedef struct {
    int reads, stats, destroys;
} s_fake_t;

static int s_fake_destroyed;

static int
s_fake_read(void *impl, const char *path, char **text, size_t *len, char **err)
{
    s_fake_t *f = impl;
    f->reads++;
    if (strcmp(path, "fail") == 0) {
        *err = fl_strdup("backend failure");
        return -1;
    }
    *text = fl_sprintf("content of %s", path);
    *len = strlen(*text);
    return 0;
}

static int
s_fake_stat(void *impl, const char *path, unsigned *mode, char **err)
{
    FL_UNUSED(path);
    FL_UNUSED(err);
    s_fake_t *f = impl;
    f->stats++;
    *mode = 0600;
    return 0;
}

static void
s_fake_destroy(void *impl)
{
    s_fake_destroyed++;
    free(impl);
}

static const char *
s_fake_describe(void *impl)
{
    FL_UNUSED(impl);
    return "fake@1234";
}

START_TEST(test_src_custom_ops)
{
    static const fl_src_ops_t ops = {
        .read = s_fake_read,
        .stat = s_fake_stat,
        .destroy = s_fake_destroy,
        .describe = s_fake_describe,
    };
    s_fake_destroyed = 0;
    s_fake_t *fake = fl_calloc(1, sizeof *fake);
    fl_src_t *src = fl_src_new(&ops, fake);
    ck_assert_str_eq(fl_src_describe(src), "fake@1234");
    char *text = NULL, *err = NULL;
    size_t len = 0;
    unsigned mode = 0;
    ck_assert_int_eq(fl_src_read(src, "a/b", &text, &len, &err), 0);
    ck_assert_str_eq(text, "content of a/b");
    free(text);
    ck_assert_int_eq(fl_src_read(src, "../a", &text, &len, &err), -1);
    free(err);
    ck_assert_int_eq(fl_src_stat(src, "a//b", &mode, &err), -1);
    free(err);
    ck_assert_int_eq(fl_src_read(src, "fail", &text, &len, &err), -1);
    ck_assert_str_eq(err, "backend failure");
    free(err);
    ck_assert_int_eq(fl_src_stat(src, "x", &mode, &err), 0);
    ck_assert_uint_eq(mode, 0600);
    ck_assert_int_eq(fake->reads, 2);
    ck_assert_int_eq(fake->stats, 1);
    fl_src_destroy(&src);
    ck_assert_int_eq(s_fake_destroyed, 1);
}
END_TEST

Suite *
suite_src(void)
{
    Suite *s = suite_create("src");
    TCase *tc = tcase_create("src");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_src_usage);
    tcase_add_loop_test(tc, test_src_check_path, 0, (int) FL_ARRAY_LEN(s_paths));
    tcase_add_test(tc, test_src_check_path_length);
    tcase_add_test(tc, test_src_dir_refuses_traversal);
    tcase_add_test(tc, test_src_dir_symlinks);
    tcase_add_test(tc, test_src_dir_limits);
    tcase_add_test(tc, test_src_custom_ops);
    suite_add_tcase(s, tc);
    return s;
}
