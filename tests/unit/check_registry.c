/*  check_registry.c: every function declared in fl_funcs.def has a handler
    on the minion, and every handler a declaration. */
#include "fl_test.h"
#include "fl_registry.h"

START_TEST(test_registry_usage)
{
    /* Find a handler by name and call it as a job worker does. */
    fl_mod_handler_t handler = fl_registry_find("test.ping");
    ck_assert_ptr_nonnull(handler);
    fl_mod_ctx_t ctx = { .minion_id = "pi-001", .root_dir = "", .jid = "1" };
    json_t *args = json_array(), *kwargs = json_object(), *ret = NULL;
    ck_assert_int_eq(handler(&ctx, args, kwargs, &ret), 0);
    ck_assert(json_is_true(ret));
    ck_assert(fl_registry_available("test.ping", &ctx));
    json_decref(ret);
    json_decref(args);
    json_decref(kwargs);
}
END_TEST

START_TEST(test_registry_complete)
{
    for (size_t i = 0; i < fl_func_count(); i++) {
        const char *name = fl_func_at(i)->name;
        ck_assert_msg(fl_registry_find(name) != NULL, "%s is in fl_funcs.def but has no handler",
                      name);
    }
    for (size_t i = 0; i < fl_registry_count(); i++) {
        const char *name = fl_registry_name_at(i);
        ck_assert_msg(fl_func_find(name) != NULL, "%s has a handler but no fl_funcs.def entry",
                      name);
        if (i > 0) {
            ck_assert_msg(strcmp(fl_registry_name_at(i - 1), name) < 0,
                          "registry not sorted at %s (bsearch needs it)", name);
        }
    }
    ck_assert_uint_eq(fl_registry_count(), fl_func_count());
    ck_assert_ptr_null(fl_registry_name_at(fl_registry_count()));
}
END_TEST

START_TEST(test_registry_unknown)
{
    fl_mod_ctx_t ctx = { 0 };
    ck_assert_ptr_null(fl_registry_find("test.nope"));
    ck_assert_ptr_null(fl_registry_find(""));
    ck_assert_ptr_null(fl_registry_find(NULL));
    ck_assert(!fl_registry_available("test.nope", &ctx));
}
END_TEST

typedef struct {
    const char *json;
    int rc;
    double want;
} s_seconds_case_t;

static const s_seconds_case_t s_seconds[] = {
    { "5", 0, 5 },          { "2.5", 0, 2.5 },       { "0", 0, 0 },
    { "\"5\"", 0, 5 },      { "\"0.25\"", 0, 0.25 }, { "-1", -1, 0 },
    { "\"-1\"", -1, 0 },    { "\"abc\"", -1, 0 },    { "\"5s\"", -1, 0 },
    { "\"\"", -1, 0 },      { "\"inf\"", -1, 0 },    { "\"nan\"", -1, 0 },
    { "true", -1, 0 },      { "null", -1, 0 },       { "[1]", -1, 0 },
    { "1e12", -1, 0 },
};

START_TEST(test_registry_arg_seconds)
{
    const s_seconds_case_t *c = &s_seconds[_i];
    json_t *v = json_loads(c->json, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    double secs = -42;
    char *err = NULL;
    int rc = fl_registry_arg_seconds(v, "t", &secs, &err);
    ck_assert_msg(rc == c->rc, "%s: rc %d", c->json, rc);
    if (rc == 0) {
        ck_assert(secs == c->want);
        ck_assert_ptr_null(err);
    } else {
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strncmp(err, "t: ", 3) == 0, "message names the argument: %s", err);
    }
    free(err);
    json_decref(v);
}
END_TEST

START_TEST(test_registry_arg_bool)
{
    static const char *const yes[] = { "true", "\"true\"", "\"Yes\"", "\"1\"", "\"on\"" };
    static const char *const no[] = { "false", "\"FALSE\"", "\"no\"", "\"0\"", "\"off\"" };
    static const char *const bad[] = { "1", "\"maybe\"", "null", "\"\"" };
    char *err = NULL;
    bool b;
    for (size_t i = 0; i < FL_ARRAY_LEN(yes); i++) {
        json_t *v = json_loads(yes[i], JSON_DECODE_ANY, NULL);
        b = false;
        ck_assert_int_eq(fl_registry_arg_bool(v, "b", &b, &err), 0);
        ck_assert(b);
        json_decref(v);
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(no); i++) {
        json_t *v = json_loads(no[i], JSON_DECODE_ANY, NULL);
        b = true;
        ck_assert_int_eq(fl_registry_arg_bool(v, "b", &b, &err), 0);
        ck_assert(!b);
        json_decref(v);
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(bad); i++) {
        json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        ck_assert_int_eq(fl_registry_arg_bool(v, "b", &b, &err), -1);
        ck_assert_ptr_nonnull(err);
        free(err);
        err = NULL;
        json_decref(v);
    }
}
END_TEST

Suite *suite_registry(void);

Suite *
suite_registry(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_usage);
    tcase_add_test(tc, test_registry_complete);
    tcase_add_test(tc, test_registry_unknown);
    tcase_add_loop_test(tc, test_registry_arg_seconds, 0, (int) FL_ARRAY_LEN(s_seconds));
    tcase_add_test(tc, test_registry_arg_bool);
    suite_add_tcase(s, tc);
    return s;
}
