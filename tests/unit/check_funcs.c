/*  check_funcs.c: the registry of execution functions (fl_funcs). */
#include "fl_test.h"
#include "fl_funcs.h"

//  The canonical usage: look the function up by name, then check the
//  arity once, before dispatch; the message goes back to the caller.
START_TEST(test_funcs_usage)
{
    const fl_func_spec_t *spec = fl_func_find("test.echo");
    ck_assert_ptr_nonnull(spec);
    ck_assert_str_eq(spec->name, "test.echo");

    char *err = NULL;
    ck_assert_int_eq(fl_func_check_arity(spec, 1, &err), 0);
    ck_assert_ptr_null(err);

    ck_assert_int_eq(fl_func_check_arity(spec, 2, &err), -1);
    ck_assert_ptr_nonnull(err);
    ck_assert_str_eq(err, "test.echo takes at most 1 argument, 2 given");
    free(err);

    ck_assert_ptr_null(fl_func_find("test.nope"));
}
END_TEST

START_TEST(test_funcs_table_sorted)
{
    size_t n = fl_func_count();
    ck_assert_uint_gt(n, 0);
    /* Strictly increasing by strcmp, so bsearch finds every entry and no
       name appears twice. */
    for (size_t i = 1; i < n; i++) {
        const char *prev = fl_func_at(i - 1)->name;
        const char *cur = fl_func_at(i)->name;
        ck_assert_msg(strcmp(prev, cur) < 0, "fl_funcs.def: '%s' must sort before '%s'", prev,
                      cur);
    }
    ck_assert_ptr_null(fl_func_at(n));
    ck_assert_ptr_null(fl_func_at(n + 100));
    ck_assert_ptr_null(fl_func_at((size_t) -1));
}
END_TEST

START_TEST(test_funcs_entries_well_formed)
{
    for (size_t i = 0; i < fl_func_count(); i++) {
        const fl_func_spec_t *spec = fl_func_at(i);
        ck_assert_ptr_nonnull(spec);
        ck_assert_ptr_nonnull(spec->name);
        /* module.function, lower case, no spaces */
        const char *dot = strchr(spec->name, '.');
        ck_assert_msg(dot != NULL && dot != spec->name && dot[1] != '\0',
                      "'%s' is not module.function", spec->name);
        ck_assert_msg(strspn(spec->name, "abcdefghijklmnopqrstuvwxyz0123456789._")
                          == strlen(spec->name),
                      "'%s' has odd characters", spec->name);
        ck_assert_msg(spec->min_args >= 0, "%s: min_args %d", spec->name, spec->min_args);
        ck_assert_msg(spec->max_args == -1 || spec->max_args >= spec->min_args,
                      "%s: max_args %d < min_args %d", spec->name, spec->max_args,
                      spec->min_args);
        ck_assert_msg((spec->flags & ~(unsigned) (FL_FN_NEEDS_ROOT | FL_FN_TEST_MODE | FL_FN_STATE)) == 0,
                      "%s: unknown flags %#x", spec->name, spec->flags);
        ck_assert_msg(spec->doc != NULL && strlen(spec->doc) > 10, "%s: no doc", spec->name);
    }
}
END_TEST

START_TEST(test_funcs_find_every_entry)
{
    for (size_t i = 0; i < fl_func_count(); i++) {
        const fl_func_spec_t *spec = fl_func_at(i);
        ck_assert_ptr_eq(fl_func_find(spec->name), spec);
        /* The lookup is by content, not by pointer. */
        char *copy = fl_strdup(spec->name);
        ck_assert_ptr_eq(fl_func_find(copy), spec);
        free(copy);
    }
}
END_TEST

typedef struct {
    const char *name;
    int min_args;
    int max_args;
    unsigned flags;
} s_known_t;

/*  Functions the rest of fleet relies on, with their declared shape. */
static const s_known_t s_known[] = {
    { "cmd.run", 1, -1, FL_FN_NEEDS_ROOT },
    { "grains.get", 1, 2, 0 },
    { "grains.items", 0, 0, 0 },
    { "sys.list_functions", 0, 1, 0 },
    { "test.echo", 1, 1, 0 },
    { "test.ping", 0, 0, 0 },
    { "test.sleep", 1, 1, 0 },
};

START_TEST(test_funcs_find_known)
{
    const s_known_t *k = &s_known[_i];
    const fl_func_spec_t *spec = fl_func_find(k->name);
    ck_assert_msg(spec != NULL, "%s not found", k->name);
    ck_assert_str_eq(spec->name, k->name);
    ck_assert_int_eq(spec->min_args, k->min_args);
    ck_assert_int_eq(spec->max_args, k->max_args);
    /* Only the privilege bit is pinned: other flags may be added later. */
    ck_assert_uint_eq(spec->flags & FL_FN_NEEDS_ROOT, k->flags & FL_FN_NEEDS_ROOT);
}
END_TEST

static const char *s_unknown[] = {
    "",
    "test",
    "test.",
    ".ping",
    "test.pin",
    "test.pingg",
    "TEST.PING",
    "Test.ping",
    "test.ping ",
    " test.ping",
    "test_ping",
    "cmd.run_all",
    "aaa.first",
    "zzz.last",
    "state.highstate",
    "grains",
};

START_TEST(test_funcs_find_unknown)
{
    ck_assert_msg(fl_func_find(s_unknown[_i]) == NULL, "'%s' found", s_unknown[_i]);
}
END_TEST

//  --------------------------------------------------------------------------
//  Arity

typedef struct {
    const char *name;
    size_t nargs;
    const char *want;   /* NULL: accepted */
} s_arity_case_t;

static const s_arity_case_t s_arity_cases[] = {
    { "test.ping", 0, NULL },
    { "test.ping", 1, "test.ping takes at most 0 arguments, 1 given" },
    { "test.ping", 5, "test.ping takes at most 0 arguments, 5 given" },
    { "test.echo", 0, "test.echo takes at least 1 argument, 0 given" },
    { "test.echo", 1, NULL },
    { "test.echo", 2, "test.echo takes at most 1 argument, 2 given" },
    { "grains.get", 0, "grains.get takes at least 1 argument, 0 given" },
    { "grains.get", 1, NULL },
    { "grains.get", 2, NULL },
    { "grains.get", 3, "grains.get takes at most 2 arguments, 3 given" },
    { "grains.items", 1, "grains.items takes at most 0 arguments, 1 given" },
    { "sys.list_functions", 0, NULL },
    { "sys.list_functions", 1, NULL },
    { "sys.list_functions", 2, "sys.list_functions takes at most 1 argument, 2 given" },
    { "cmd.run", 0, "cmd.run takes at least 1 argument, 0 given" },
    { "cmd.run", 1, NULL },
    { "cmd.run", 2, NULL },
    { "cmd.run", 1000, NULL },
    { "test.sleep", 0, "test.sleep takes at least 1 argument, 0 given" },
};

START_TEST(test_funcs_arity)
{
    const s_arity_case_t *c = &s_arity_cases[_i];
    const fl_func_spec_t *spec = fl_func_find(c->name);
    ck_assert_ptr_nonnull(spec);
    char *err = NULL;
    int rc = fl_func_check_arity(spec, c->nargs, &err);
    if (c->want) {
        ck_assert_msg(rc == -1, "%s with %zu args accepted", c->name, c->nargs);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, c->want);
        free(err);
    } else {
        ck_assert_msg(rc == 0, "%s with %zu args: %s", c->name, c->nargs, err ? err : "");
        ck_assert_ptr_null(err);
    }
}
END_TEST

START_TEST(test_funcs_arity_custom_specs)
{
    /* Specs built by hand: plural forms and unbounded maxima. */
    const fl_func_spec_t two_three = { "x.two", 2, 3, 0, "two or three" };
    const fl_func_spec_t any = { "x.any", 0, -1, 0, "anything" };
    const fl_func_spec_t one_up = { "x.one", 1, -1, 0, "one or more" };
    char *err = NULL;

    ck_assert_int_eq(fl_func_check_arity(&two_three, 1, &err), -1);
    ck_assert_str_eq(err, "x.two takes at least 2 arguments, 1 given");
    free(err);
    err = NULL;
    ck_assert_int_eq(fl_func_check_arity(&two_three, 2, &err), 0);
    ck_assert_int_eq(fl_func_check_arity(&two_three, 3, &err), 0);
    ck_assert_int_eq(fl_func_check_arity(&two_three, 4, &err), -1);
    ck_assert_str_eq(err, "x.two takes at most 3 arguments, 4 given");
    free(err);
    err = NULL;

    for (size_t n = 0; n < 300; n += 37) {
        ck_assert_int_eq(fl_func_check_arity(&any, n, &err), 0);
    }
    ck_assert_ptr_null(err);
    ck_assert_int_eq(fl_func_check_arity(&one_up, 0, &err), -1);
    ck_assert_str_eq(err, "x.one takes at least 1 argument, 0 given");
    free(err);
}
END_TEST

Suite *suite_funcs(void);

Suite *
suite_funcs(void)
{
    Suite *s = suite_create("funcs");
    TCase *tc = tcase_create("funcs");
    tcase_add_test(tc, test_funcs_usage);
    tcase_add_test(tc, test_funcs_table_sorted);
    tcase_add_test(tc, test_funcs_entries_well_formed);
    tcase_add_test(tc, test_funcs_find_every_entry);
    tcase_add_loop_test(tc, test_funcs_find_known, 0, (int) FL_ARRAY_LEN(s_known));
    tcase_add_loop_test(tc, test_funcs_find_unknown, 0, (int) FL_ARRAY_LEN(s_unknown));
    tcase_add_loop_test(tc, test_funcs_arity, 0, (int) FL_ARRAY_LEN(s_arity_cases));
    tcase_add_test(tc, test_funcs_arity_custom_specs);
    suite_add_tcase(s, tc);
    return s;
}
