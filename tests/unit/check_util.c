/*  check_util.c: file, path, time and hex helpers (fl_util). */
#include "fl_test.h"
#include "fl_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static mode_t
s_mode(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static bool
s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*  Number of entries in DIR other than . and .. */
static int
s_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

//  The canonical usage: write a file atomically with a mode, read it back
//  with a size bound, and hex-encode bytes for a text file.
START_TEST(test_util_usage)
{
    char *path = fl_path_join(s_dir, "state.txt");
    const char text[] = "hello, fleet\n";
    ck_assert_int_eq(fl_file_write_atomic(path, text, strlen(text), 0640), 0);
    ck_assert_uint_eq(s_mode(path), 0640);

    size_t len = 0;
    char *back = fl_file_read(path, 1024, &len);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_str_eq(back, text);
    free(back);

    const uint8_t bytes[] = { 0x00, 0x7f, 0x80, 0xff };
    char hex[2 * sizeof bytes + 1];
    fl_hex_encode(bytes, sizeof bytes, hex);
    ck_assert_str_eq(hex, "007f80ff");
    uint8_t decoded[sizeof bytes];
    ck_assert_int_eq(fl_hex_decode(hex, decoded, sizeof decoded), 0);
    ck_assert_mem_eq(decoded, bytes, sizeof bytes);

    char *dir = fl_path_dirname(path);
    ck_assert_str_eq(dir, s_dir);
    free(dir);
    free(path);
}
END_TEST

//  --------------------------------------------------------------------------
//  fl_file_read

/*  FAT and exFAT keep no Unix modes; the file systems tests run on do, and
    so does a path statfs cannot read (the strict answer). */
START_TEST(test_util_fs_keeps_modes)
{
    ck_assert(!fl_fs_type_keeps_modes(0x4d44UL));       /* MSDOS_SUPER_MAGIC: vfat, msdos */
    ck_assert(!fl_fs_type_keeps_modes(0x2011BAB0UL));   /* EXFAT_SUPER_MAGIC */
    ck_assert(fl_fs_type_keeps_modes(0xEF53UL));        /* ext4 */
    ck_assert(fl_fs_type_keeps_modes(0x01021994UL));    /* tmpfs */
    char *dir = fl_test_tmpdir();
    ck_assert(fl_fs_keeps_modes(dir));
    char *gone = fl_path_join(dir, "no/such/file");
    ck_assert(fl_fs_keeps_modes(gone));
    free(gone);
    fl_test_tmpdir_free(&dir);
}
END_TEST

START_TEST(test_util_file_read_max_bytes)
{
    char text[101];
    memset(text, 'x', 100);
    text[100] = '\0';
    char *path = fl_test_write(s_dir, "hundred", text);

    size_t len = 0;
    char *buf = fl_file_read(path, 100, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 100);
    ck_assert_uint_eq(strlen(buf), 100);
    free(buf);

    errno = 0;
    len = 12345;
    ck_assert_ptr_null(fl_file_read(path, 99, &len));
    ck_assert_int_eq(errno, EFBIG);

    errno = 0;
    ck_assert_ptr_null(fl_file_read(path, 0, NULL));
    ck_assert_int_eq(errno, EFBIG);

    /* len_out is optional */
    buf = fl_file_read(path, 1000, NULL);
    ck_assert_ptr_nonnull(buf);
    free(buf);
    free(path);
}
END_TEST

START_TEST(test_util_file_read_large_and_empty)
{
    /* Larger than the initial 4 KiB buffer: the reader must grow it. */
    size_t big = 3 * 4096 + 17;
    char *text = fl_malloc(big + 1);
    for (size_t i = 0; i < big; i++) {
        text[i] = (char) ('a' + i % 26);
    }
    text[big] = '\0';
    char *path = fl_test_write(s_dir, "big", text);
    size_t len = 0;
    char *buf = fl_file_read(path, big, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, big);
    ck_assert_mem_eq(buf, text, big);
    ck_assert_int_eq(buf[big], '\0');
    free(buf);

    errno = 0;
    ck_assert_ptr_null(fl_file_read(path, big - 1, &len));
    ck_assert_int_eq(errno, EFBIG);
    free(path);
    free(text);

    /* Exactly 4095 and 4096 bytes: the buffer boundary. */
    for (size_t n = 4095; n <= 4097; n++) {
        char *t = fl_malloc(n + 1);
        memset(t, 'q', n);
        t[n] = '\0';
        char *p = fl_test_write(s_dir, "edge", t);
        buf = fl_file_read(p, n, &len);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(len, n);
        ck_assert_mem_eq(buf, t, n);
        free(buf);
        free(p);
        free(t);
    }

    path = fl_test_write(s_dir, "empty", "");
    len = 99;
    buf = fl_file_read(path, 0, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(buf, "");
    free(buf);
    free(path);
}
END_TEST

START_TEST(test_util_file_read_missing)
{
    char *path = fl_path_join(s_dir, "nope");
    errno = 0;
    ck_assert_ptr_null(fl_file_read(path, 100, NULL));
    ck_assert_int_eq(errno, ENOENT);
    free(path);

    /* A directory cannot be read as a file. */
    errno = 0;
    ck_assert_ptr_null(fl_file_read(s_dir, 100, NULL));
    ck_assert_int_eq(errno, EISDIR);
}
END_TEST

//  --------------------------------------------------------------------------
//  fl_file_write_atomic

START_TEST(test_util_write_atomic_mode)
{
    /* The mode is exact even when the umask would narrow it. */
    mode_t old = umask(077);
    static const mode_t modes[] = { 0600, 0640, 0644, 0400, 0755 };
    for (size_t i = 0; i < FL_ARRAY_LEN(modes); i++) {
        char *name = fl_sprintf("f%zu", i);
        char *path = fl_path_join(s_dir, name);
        ck_assert_int_eq(fl_file_write_atomic(path, "x", 1, modes[i]), 0);
        ck_assert_msg(s_mode(path) == modes[i], "mode %04o, wanted %04o",
                      (unsigned) s_mode(path), (unsigned) modes[i]);
        free(path);
        free(name);
    }
    umask(old);
    /* No temporary files are left behind. */
    ck_assert_int_eq(s_count_entries(s_dir), (int) FL_ARRAY_LEN(modes));
}
END_TEST

START_TEST(test_util_write_atomic_replaces)
{
    char *path = fl_test_write(s_dir, "conf", "old contents that are longer\n");
    chmod(path, 0644);
    ck_assert_int_eq(fl_file_write_atomic(path, "new", 3, 0600), 0);
    ck_assert_uint_eq(s_mode(path), 0600);
    size_t len = 0;
    char *buf = fl_file_read(path, 100, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 3);
    ck_assert_str_eq(buf, "new");
    free(buf);

    /* Zero bytes is a valid (empty) file. */
    ck_assert_int_eq(fl_file_write_atomic(path, "", 0, 0600), 0);
    buf = fl_file_read(path, 100, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 0);
    free(buf);

    /* Binary data with NULs survives. */
    const uint8_t bin[] = { 1, 0, 2, 0, 255 };
    ck_assert_int_eq(fl_file_write_atomic(path, bin, sizeof bin, 0600), 0);
    buf = fl_file_read(path, 100, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, sizeof bin);
    ck_assert_mem_eq(buf, bin, sizeof bin);
    free(buf);
    ck_assert_int_eq(s_count_entries(s_dir), 1);
    free(path);
}
END_TEST

START_TEST(test_util_write_atomic_fails)
{
    char *path = fl_sprintf("%s/missing-dir/file", s_dir);
    errno = 0;
    ck_assert_int_eq(fl_file_write_atomic(path, "x", 1, 0600), -1);
    ck_assert_int_eq(errno, ENOENT);
    free(path);

    /* Renaming over a directory fails, and the temporary file is removed. */
    char *sub = fl_path_join(s_dir, "sub");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    errno = 0;
    ck_assert_int_eq(fl_file_write_atomic(sub, "x", 1, 0600), -1);
    ck_assert_int_ne(errno, 0);
    ck_assert(s_is_dir(sub));
    ck_assert_int_eq(s_count_entries(s_dir), 1);
    free(sub);
}
END_TEST

//  --------------------------------------------------------------------------
//  fl_mkdir_p

START_TEST(test_util_mkdir_p_nested)
{
    char *path = fl_sprintf("%s/a/b/c/d", s_dir);
    ck_assert_int_eq(fl_mkdir_p(path, 0750), 0);
    ck_assert(s_is_dir(path));
    char *mid = fl_sprintf("%s/a/b", s_dir);
    ck_assert(s_is_dir(mid));

    /* Idempotent, and a trailing slash is fine. */
    ck_assert_int_eq(fl_mkdir_p(path, 0750), 0);
    char *slash = fl_sprintf("%s/a/b/e/", s_dir);
    ck_assert_int_eq(fl_mkdir_p(slash, 0700), 0);
    char *e = fl_sprintf("%s/a/b/e", s_dir);
    ck_assert(s_is_dir(e));

    /* The mode applies to what it creates (narrowed by the umask). */
    mode_t old = umask(022);
    char *m = fl_sprintf("%s/m1/m2", s_dir);
    ck_assert_int_eq(fl_mkdir_p(m, 0700), 0);
    ck_assert_uint_eq(s_mode(m), 0700);
    char *m1 = fl_sprintf("%s/m1", s_dir);
    ck_assert_uint_eq(s_mode(m1), 0700);
    umask(old);

    free(m1);
    free(m);
    free(e);
    free(slash);
    free(mid);
    free(path);
}
END_TEST

START_TEST(test_util_mkdir_p_relative)
{
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(s_dir), 0);
    ck_assert_int_eq(fl_mkdir_p("r1/r2/r3", 0755), 0);
    ck_assert(s_is_dir("r1/r2/r3"));
    ck_assert_int_eq(fl_mkdir_p("single", 0755), 0);
    ck_assert(s_is_dir("single"));
    ck_assert_int_eq(fl_mkdir_p(".", 0755), 0);
    ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_util_mkdir_p_fails)
{
    /* A file in the way of an intermediate component. */
    free(fl_test_write(s_dir, "file", "x"));
    char *path = fl_sprintf("%s/file/sub/dir", s_dir);
    errno = 0;
    ck_assert_int_eq(fl_mkdir_p(path, 0755), -1);
    ck_assert_int_eq(errno, ENOTDIR);
    free(path);

    /* No permission to create inside a read-only directory (not as root). */
    if (geteuid() != 0) {
        char *ro = fl_path_join(s_dir, "ro");
        ck_assert_int_eq(mkdir(ro, 0500), 0);
        char *inside = fl_sprintf("%s/x/y", ro);
        errno = 0;
        ck_assert_int_eq(fl_mkdir_p(inside, 0755), -1);
        ck_assert_int_eq(errno, EACCES);
        chmod(ro, 0700);
        free(inside);
        free(ro);
    }
}
END_TEST

//  --------------------------------------------------------------------------
//  Paths

typedef struct {
    const char *dir;
    const char *name;
    const char *want;
} s_join_case_t;

static const s_join_case_t s_join_cases[] = {
    { "a", "b", "a/b" },
    { "a/", "b", "a/b" },
    { "/etc/fleet", "master.yaml", "/etc/fleet/master.yaml" },
    { "/etc/fleet/", "master.yaml", "/etc/fleet/master.yaml" },
    { "/", "b", "/b" },
    { "a", "/abs/path", "/abs/path" },
    { "", "b", "b" },
    { NULL, "b", "b" },
    { "a", "b/c", "a/b/c" },
};

START_TEST(test_util_path_join)
{
    const s_join_case_t *c = &s_join_cases[_i];
    char *got = fl_path_join(c->dir, c->name);
    ck_assert_msg(strcmp(got, c->want) == 0, "join(%s, %s) = %s, wanted %s",
                  c->dir ? c->dir : "NULL", c->name, got, c->want);
    free(got);
}
END_TEST

typedef struct {
    const char *path;
    const char *want;
} s_dirname_case_t;

static const s_dirname_case_t s_dirname_cases[] = {
    { "a/b/c", "a/b" },
    { "/a/b", "/a" },
    { "/a", "/" },
    { "/", "/" },
    { "file", "." },
    { "", "." },
    { "a/", "a" },
    { "/var/lib/fleet/master.db", "/var/lib/fleet" },
};

START_TEST(test_util_path_dirname)
{
    const s_dirname_case_t *c = &s_dirname_cases[_i];
    char *got = fl_path_dirname(c->path);
    ck_assert_msg(strcmp(got, c->want) == 0, "dirname(%s) = %s, wanted %s", c->path, got,
                  c->want);
    free(got);
}
END_TEST

//  --------------------------------------------------------------------------
//  Hex

START_TEST(test_util_hex_round_trip)
{
    uint8_t all[256];
    for (size_t i = 0; i < sizeof all; i++) {
        all[i] = (uint8_t) i;
    }
    char hex[2 * sizeof all + 1];
    fl_hex_encode(all, sizeof all, hex);
    ck_assert_uint_eq(strlen(hex), 2 * sizeof all);
    ck_assert(strncmp(hex, "000102", 6) == 0);
    ck_assert_str_eq(hex + 2 * 250, "fafbfcfdfeff");
    for (size_t i = 0; hex[i]; i++) {
        ck_assert_msg(strchr("0123456789abcdef", hex[i]) != NULL, "not lower hex: %c",
                      hex[i]);
    }
    uint8_t back[sizeof all];
    ck_assert_int_eq(fl_hex_decode(hex, back, sizeof back), 0);
    ck_assert_mem_eq(back, all, sizeof all);

    /* Upper case decodes too. */
    uint8_t two[2];
    ck_assert_int_eq(fl_hex_decode("ABcd", two, 2), 0);
    ck_assert_uint_eq(two[0], 0xab);
    ck_assert_uint_eq(two[1], 0xcd);

    /* Zero bytes. */
    char empty[1] = { 'x' };
    fl_hex_encode(all, 0, empty);
    ck_assert_str_eq(empty, "");
    ck_assert_int_eq(fl_hex_decode("", two, 0), 0);
}
END_TEST

static const char *s_bad_hex[] = {
    "abc",      /* odd length */
    "ab",       /* too short for 2 bytes */
    "abcdef",   /* too long for 2 bytes */
    "abcg",     /* not a digit */
    "gbcd",
    "ab d",
    " abc",
    "ab-d",
    "0x12",
    "",
};

START_TEST(test_util_hex_bad)
{
    uint8_t out[2] = { 0x5a, 0x5a };
    ck_assert_msg(fl_hex_decode(s_bad_hex[_i], out, 2) == -1, "accepted '%s'", s_bad_hex[_i]);
}
END_TEST

START_TEST(test_util_hex_null)
{
    uint8_t out[1];
    ck_assert_int_eq(fl_hex_decode(NULL, out, 1), -1);
    ck_assert_int_eq(fl_hex_decode(NULL, out, 0), -1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Time

typedef struct {
    int64_t then_s;
    int64_t now_s;
    const char *want;
} s_ago_case_t;

#define NOW 1700000000LL

static const s_ago_case_t s_ago_cases[] = {
    { 0, NOW, "never" },
    { -5, NOW, "never" },
    { NOW, NOW, "0s ago" },
    { NOW - 1, NOW, "1s ago" },
    { NOW - 59, NOW, "59s ago" },
    { NOW - 60, NOW, "1m ago" },
    { NOW - 119, NOW, "1m ago" },
    { NOW - 3599, NOW, "59m ago" },
    { NOW - 3600, NOW, "1h ago" },
    { NOW - 86399, NOW, "23h ago" },
    { NOW - 86400, NOW, "1d ago" },
    { NOW - 10 * 86400 - 5, NOW, "10d ago" },
    { NOW + 30, NOW, "0s ago" },   /* clock skew: never "in the future" */
    { 1, NOW, "19675d ago" },
};

START_TEST(test_util_time_ago)
{
    const s_ago_case_t *c = &s_ago_cases[_i];
    char buf[32];
    const char *got = fl_time_ago(c->then_s, c->now_s, buf, sizeof buf);
    ck_assert_ptr_eq(got, buf);
    ck_assert_str_eq(got, c->want);
}
END_TEST

START_TEST(test_util_time_ago_small_buffer)
{
    char buf[4];
    memset(buf, 'z', sizeof buf);
    const char *got = fl_time_ago(NOW - 59, NOW, buf, sizeof buf);
    ck_assert_ptr_eq(got, buf);
    ck_assert_str_eq(got, "59s");
    got = fl_time_ago(0, NOW, buf, sizeof buf);
    ck_assert_str_eq(got, "nev");
}
END_TEST

START_TEST(test_util_clocks)
{
    int64_t a = fl_clock_ms();
    int64_t b = fl_clock_ms();
    ck_assert_int_ge(b, a);
    ck_assert_int_gt(a, 0);
    int64_t wall = fl_time_s();
    int64_t sys = (int64_t) time(NULL);
    ck_assert_int_le(wall > sys ? wall - sys : sys - wall, 1);
    ck_assert_int_gt(wall, NOW);
}
END_TEST

Suite *suite_util(void);

Suite *
suite_util(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("util");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_util_usage);
    tcase_add_test(tc, test_util_file_read_max_bytes);
    tcase_add_test(tc, test_util_file_read_large_and_empty);
    tcase_add_test(tc, test_util_file_read_missing);
    tcase_add_test(tc, test_util_write_atomic_mode);
    tcase_add_test(tc, test_util_write_atomic_replaces);
    tcase_add_test(tc, test_util_write_atomic_fails);
    tcase_add_test(tc, test_util_mkdir_p_nested);
    tcase_add_test(tc, test_util_mkdir_p_relative);
    tcase_add_test(tc, test_util_mkdir_p_fails);
    tcase_add_loop_test(tc, test_util_path_join, 0, (int) FL_ARRAY_LEN(s_join_cases));
    tcase_add_loop_test(tc, test_util_path_dirname, 0, (int) FL_ARRAY_LEN(s_dirname_cases));
    tcase_add_test(tc, test_util_hex_round_trip);
    tcase_add_loop_test(tc, test_util_hex_bad, 0, (int) FL_ARRAY_LEN(s_bad_hex));
    tcase_add_test(tc, test_util_hex_null);
    tcase_add_loop_test(tc, test_util_time_ago, 0, (int) FL_ARRAY_LEN(s_ago_cases));
    tcase_add_test(tc, test_util_time_ago_small_buffer);
    tcase_add_test(tc, test_util_clocks);
    tcase_add_test(tc, test_util_fs_keeps_modes);
    suite_add_tcase(s, tc);
    return s;
}
