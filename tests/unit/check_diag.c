/*  check_diag.c: the diagnostics list and its CFEngine-style printing. */
#include "fl_diag.h"
#include "fl_test.h"

Suite *suite_diag(void);

/*  Canonical usage: a parser adds items, the caller prints them once. */
START_TEST(test_diag_usage)
{
    fl_diag_t *diag = fl_diag_new();
    fl_diag_set_source(diag, "master.yaml", "id: m1\nlistn: tcp://127.0.0.1:4506\n");
    fl_diag_add(diag, "master.yaml", 2, 1, FL_DIAG_ERROR, "did you mean 'listen'?",
                "unknown key '%s'", "listn");
    ck_assert_uint_eq(fl_diag_count(diag), 1);
    ck_assert_uint_eq(fl_diag_errors(diag), 1);

    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_str_eq(item->file, "master.yaml");
    ck_assert_int_eq(item->line, 2);
    ck_assert_int_eq(item->col, 1);
    ck_assert_int_eq(item->severity, FL_DIAG_ERROR);
    ck_assert_str_eq(item->msg, "unknown key 'listn'");
    ck_assert_str_eq(item->hint, "did you mean 'listen'?");
    ck_assert_ptr_null(fl_diag_item(diag, 1));

    char *text = fl_diag_format(diag);
    ck_assert_str_eq(text, "master.yaml:2:1: error: unknown key 'listn'\n"
                           "    listn: tcp://127.0.0.1:4506\n"
                           "    ^\n"
                           "hint: did you mean 'listen'?\n");
    free(text);
    fl_diag_destroy(&diag);
    ck_assert_ptr_null(diag);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_diag_reads_file)
{
    char *dir = fl_test_tmpdir();
    char *path = fl_test_write(dir, "m.yaml", "a: 1\nb:   oops\r\nc: 3");
    fl_diag_t *diag = fl_diag_new();
    fl_diag_error(diag, path, 2, 6, "bad value");
    fl_diag_error(diag, path, 3, 4, "last line");
    char *text = fl_diag_format(diag);
    char *want = fl_sprintf("%s:2:6: error: bad value\n"
                            "    b:   oops\n"
                            "         ^\n"
                            "%s:3:4: error: last line\n"
                            "    c: 3\n"
                            "       ^\n",
                            path, path);
    ck_assert_str_eq(text, want);
    free(want);
    free(text);
    fl_diag_destroy(&diag);
    free(path);
    fl_test_tmpdir_free(&dir);
}
END_TEST

/*  Items without a readable source, without a column or without a line. */
START_TEST(test_diag_positions)
{
    fl_diag_t *diag = fl_diag_new();
    fl_diag_error(diag, "/nonexistent/fleet.yaml", 3, 9, "no source");
    fl_diag_error(diag, "<target>", 1, 0, "no column");
    fl_diag_error(diag, NULL, 0, 0, "no position");
    fl_diag_set_source(diag, "s", "one\n");
    fl_diag_error(diag, "s", 2, 1, "past the end");
    char *text = fl_diag_format(diag);
    ck_assert_str_eq(text, "/nonexistent/fleet.yaml:3:9: error: no source\n"
                           "<target>:1: error: no column\n"
                           "<input>: error: no position\n"
                           "s:2:1: error: past the end\n");
    free(text);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_diag_warnings)
{
    fl_diag_t *diag = fl_diag_new();
    fl_diag_add(diag, "f", 1, 1, FL_DIAG_WARNING, NULL, "just so you know");
    ck_assert_uint_eq(fl_diag_count(diag), 1);
    ck_assert_uint_eq(fl_diag_errors(diag), 0);
    char *text = fl_diag_format(diag);
    ck_assert_str_eq(text, "f:1:1: warning: just so you know\n");
    free(text);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_diag_stops_after_20)
{
    fl_diag_t *diag = fl_diag_new();
    for (int i = 1; i <= 25; i++) {
        fl_diag_error(diag, "f", i, 1, "error %d", i);
    }
    ck_assert_uint_eq(fl_diag_errors(diag), 25);
    char *text = fl_diag_format(diag);
    ck_assert_ptr_nonnull(strstr(text, "f:20:1: error: error 20\n"));
    ck_assert_ptr_null(strstr(text, "error 21"));
    ck_assert_ptr_nonnull(strstr(text, "\n... and 5 more errors\n"));
    free(text);

    fl_diag_t *one = fl_diag_new();
    for (int i = 1; i <= 21; i++) {
        fl_diag_error(one, "f", i, 1, "e");
    }
    text = fl_diag_format(one);
    ck_assert_ptr_nonnull(strstr(text, "\n... and 1 more error\n"));
    free(text);
    fl_diag_destroy(&one);
    fl_diag_destroy(&diag);
}
END_TEST

/*  The caret counts characters, copies tabs, and control bytes are hidden. */
START_TEST(test_diag_caret)
{
    static const struct {
        const char *line;
        int col;
        const char *want;
    } cases[] = {
        { "\tkey: 1", 2, "    \tkey: 1\n    \t^\n" },
        { "n\xc3\xa9" "e: x", 6, "    n\xc3\xa9" "e: x\n         ^\n" },
        { "a: \x1b[31mred", 4, "    a: ?[31mred\n       ^\n" },
        { "ab", 9, "    ab\n      ^\n" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        fl_diag_set_source(diag, "t", cases[i].line);
        fl_diag_error(diag, "t", 1, cases[i].col, "m");
        char *text = fl_diag_format(diag);
        char *want = fl_sprintf("t:1:%d: error: m\n%s", cases[i].col, cases[i].want);
        ck_assert_msg(strcmp(text, want) == 0, "case %zu: got [%s] want [%s]", i, text, want);
        free(want);
        free(text);
        fl_diag_destroy(&diag);
    }
}
END_TEST

START_TEST(test_diag_long_line)
{
    char line[1001];
    memset(line, 'x', 1000);
    line[1000] = '\0';
    line[700] = 'Y';
    fl_diag_t *diag = fl_diag_new();
    fl_diag_set_source(diag, "t", line);
    fl_diag_error(diag, "t", 1, 701, "here");
    char *text = fl_diag_format(diag);
    /* A window: "..." on both sides, the caret under the Y. */
    char *src = strchr(text, '\n') + 1;
    char *caret = strchr(src, '\n') + 1;
    ck_assert(strncmp(src, "    ...", 7) == 0);
    ck_assert_ptr_nonnull(strstr(src, "...\n"));
    size_t y = (size_t) (strchr(src, 'Y') - src);
    size_t c = (size_t) (strchr(caret, '^') - caret);
    ck_assert_uint_eq(y, c);
    ck_assert_uint_lt(strlen(text), 400);
    free(text);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_diag_json_roundtrip)
{
    fl_diag_t *diag = fl_diag_new();
    fl_diag_add(diag, "a.sls", 4, 2, FL_DIAG_ERROR, "try this", "bad %s", "thing");
    fl_diag_add(diag, "b.sls", 0, 0, FL_DIAG_WARNING, NULL, "meh");
    json_t *j = fl_diag_to_json(diag);
    char *s = json_dumps(j, JSON_COMPACT);
    ck_assert_str_eq(s, "[{\"file\":\"a.sls\",\"line\":4,\"col\":2,\"severity\":\"error\","
                        "\"msg\":\"bad thing\",\"hint\":\"try this\"},"
                        "{\"file\":\"b.sls\",\"line\":0,\"col\":0,\"severity\":\"warning\","
                        "\"msg\":\"meh\",\"hint\":null}]");
    free(s);

    fl_diag_t *back = fl_diag_new();
    ck_assert_int_eq(fl_diag_add_json(back, j), 0);
    ck_assert_uint_eq(fl_diag_count(back), 2);
    ck_assert_uint_eq(fl_diag_errors(back), 1);
    char *a = fl_diag_format(diag), *b = fl_diag_format(back);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    const fl_diag_item_t *w = fl_diag_item(back, 1);
    ck_assert_int_eq(w->severity, FL_DIAG_WARNING);
    ck_assert_ptr_null(w->hint);
    json_decref(j);
    fl_diag_destroy(&back);
    fl_diag_destroy(&diag);
}
END_TEST

/*  Bytes that are not UTF-8 must not make the JSON (or the list) vanish. */
START_TEST(test_diag_json_not_utf8)
{
    fl_diag_t *diag = fl_diag_new();
    fl_diag_error(diag, "f", 1, 1, "bad byte \xff here");
    json_t *j = fl_diag_to_json(diag);
    ck_assert_uint_eq(json_array_size(j), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(j, 0), "msg")),
                     "bad byte ? here");
    json_decref(j);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_diag_json_malformed)
{
    static const char *cases[] = {
        "{}",
        "[1]",
        "[{\"line\":1,\"col\":1,\"severity\":\"error\",\"msg\":\"m\"}]",
        "[{\"file\":\"f\",\"line\":-1,\"col\":1,\"severity\":\"error\",\"msg\":\"m\"}]",
        "[{\"file\":\"f\",\"line\":1,\"col\":\"1\",\"severity\":\"error\",\"msg\":\"m\"}]",
        "[{\"file\":\"f\",\"line\":1,\"col\":1,\"severity\":\"fatal\",\"msg\":\"m\"}]",
        "[{\"file\":\"f\",\"line\":1,\"col\":1,\"severity\":\"error\"}]",
        "[{\"file\":\"f\",\"line\":1,\"col\":1,\"severity\":\"error\",\"msg\":\"m\",\"hint\":3}]",
        "[{\"file\":\"f\",\"line\":9999999999,\"col\":1,\"severity\":\"error\",\"msg\":\"m\"}]",
        /* one good item then a bad one: nothing is added */
        "[{\"file\":\"f\",\"line\":1,\"col\":1,\"severity\":\"error\",\"msg\":\"m\"}, 7]",
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        json_t *j = json_loads(cases[i], 0, NULL);
        ck_assert_ptr_nonnull(j);
        fl_diag_t *diag = fl_diag_new();
        ck_assert_msg(fl_diag_add_json(diag, j) == -1, "case %zu accepted", i);
        ck_assert_uint_eq(fl_diag_count(diag), 0);
        fl_diag_destroy(&diag);
        json_decref(j);
    }
    fl_diag_t *diag = fl_diag_new();
    ck_assert_int_eq(fl_diag_add_json(diag, NULL), -1);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_diag_set_source_replaces)
{
    fl_diag_t *diag = fl_diag_new();
    fl_diag_set_source(diag, "x", "old line\n");
    fl_diag_set_source(diag, "x", "new line\n");
    fl_diag_error(diag, "x", 1, 5, "m");
    char *text = fl_diag_format(diag);
    ck_assert_str_eq(text, "x:1:5: error: m\n    new line\n        ^\n");
    free(text);
    fl_diag_destroy(&diag);
}
END_TEST

Suite *
suite_diag(void)
{
    Suite *s = suite_create("diag");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_diag_usage);
    tcase_add_test(tc, test_diag_reads_file);
    tcase_add_test(tc, test_diag_positions);
    tcase_add_test(tc, test_diag_warnings);
    tcase_add_test(tc, test_diag_stops_after_20);
    tcase_add_test(tc, test_diag_caret);
    tcase_add_test(tc, test_diag_long_line);
    tcase_add_test(tc, test_diag_json_roundtrip);
    tcase_add_test(tc, test_diag_json_not_utf8);
    tcase_add_test(tc, test_diag_json_malformed);
    tcase_add_test(tc, test_diag_set_source_replaces);
    suite_add_tcase(s, tc);
    return s;
}
