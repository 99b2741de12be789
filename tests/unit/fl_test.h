/*  fl_test.h: shared helpers for the Check unit tests.  Each test file
    tests/unit/check_<name>.c defines `Suite *suite_<name>(void)`; the suite
    list is generated from the file names.  The first case in each file is
    the canonical usage example of its class. */
#ifndef FL_TEST_H
#define FL_TEST_H

#include "fl_prelude.h"

#include <check.h>

/*  A fresh mkdtemp directory for one test (removed by fl_test_tmpdir_free). */
char *fl_test_tmpdir(void);
void fl_test_tmpdir_free(char **dir_p);
/*  Writes TEXT to DIR/NAME; returns the path (caller frees). */
char *fl_test_write(const char *dir, const char *name, const char *text);

#endif
