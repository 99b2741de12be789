/*  check_main.c: runs every unit suite (the list is generated from the
    names of the tests/unit/check_*.c files). */
#include "fl_test.h"
#include "fl_log.h"

#include <ftw.h>
#include <unistd.h>

#define FL_SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef FL_SUITE

char *
fl_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *tmpl = fl_sprintf("%s/fleet-unit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        ck_abort_msg("mkdtemp: %s", strerror(errno));
    }
    return tmpl;
}

static int
s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    FL_UNUSED(st);
    FL_UNUSED(flag);
    FL_UNUSED(ftw);
    return remove(path);
}

void
fl_test_tmpdir_free(char **dir_p)
{
    if (dir_p && *dir_p) {
        nftw(*dir_p, s_rm, 16, FTW_DEPTH | FTW_PHYS);
        free(*dir_p);
        *dir_p = NULL;
    }
}

char *
fl_test_write(const char *dir, const char *name, const char *text)
{
    char *path = fl_sprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

int
main(int argc, char **argv)
{
    /* Tests exercise error paths on purpose: keep their logs quiet. */
    fl_log_set_level(getenv("FL_TEST_VERBOSE") ? FL_LOG_DEBUG : FL_LOG_ERROR);
    SRunner *runner = srunner_create(NULL);
#define FL_SUITE(name) srunner_add_suite(runner, suite_##name());
#include "suites.h"
#undef FL_SUITE
    /* `check_fleet NAME` runs one suite. */
    const char *only = argc > 1 ? argv[1] : NULL;
    srunner_run(runner, only, NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
