/*  check_yaml.c: the YAML tree with positions, its limits, and YAML 1.1
    typing as Salt reads it. */
#include "fl_json.h"
#include "fl_test.h"
#include "fl_yaml.h"

Suite *suite_yaml(void);

/*  Parses TEXT, expecting success. */
static fl_yaml_doc_t *
s_parse_ok(const char *text, fl_diag_t *diag)
{
    fl_yaml_doc_t *doc = fl_yaml_parse_string("t.yaml", text, strlen(text), diag);
    if (!doc) {
        char *why = fl_diag_format(diag);
        ck_abort_msg("parse failed for [%s]: %s", text, why);
    }
    return doc;
}

/*  The compact JSON of TEXT's root, or NULL when either step failed. */
static char *
s_json_of(const char *text, fl_diag_t *diag)
{
    fl_yaml_doc_t *doc = fl_yaml_parse_string("t.yaml", text, strlen(text), diag);
    if (!doc) {
        return NULL;
    }
    json_t *j = fl_yaml_to_json(fl_yaml_root(doc), "t.yaml", diag);
    fl_yaml_destroy(&doc);
    if (!j) {
        return NULL;
    }
    char *s = fl_json_compact(j);
    json_decref(j);
    return s;
}

/*  Canonical usage: parse, walk the tree with positions, convert to JSON. */
START_TEST(test_yaml_usage)
{
    const char *text = "id: web1\n"
                       "grains:\n"
                       "  roles: [web, 'db']\n"
                       "  port: 8080\n";
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = fl_yaml_parse_string("minion.yaml", text, strlen(text), diag);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    ck_assert_str_eq(fl_yaml_name(doc), "minion.yaml");

    const fl_yaml_node_t *root = fl_yaml_root(doc);
    ck_assert_int_eq(root->kind, FL_YAML_MAP);
    ck_assert_uint_eq(root->count, 2);
    ck_assert_int_eq(root->line, 1);
    ck_assert_int_eq(root->col, 1);

    const fl_yaml_node_t *id = fl_yaml_map_get(root, "id");
    ck_assert_int_eq(id->kind, FL_YAML_SCALAR);
    ck_assert_str_eq(id->value, "web1");
    ck_assert_uint_eq(id->len, 4);
    ck_assert(id->plain);
    ck_assert_int_eq(id->line, 1);
    ck_assert_int_eq(id->col, 5);

    const fl_yaml_node_t *roles = fl_yaml_map_get(fl_yaml_map_get(root, "grains"), "roles");
    ck_assert_int_eq(roles->kind, FL_YAML_SEQ);
    ck_assert_uint_eq(roles->count, 2);
    ck_assert_int_eq(roles->line, 3);
    ck_assert_int_eq(roles->col, 10);
    ck_assert_int_eq(roles->items[1]->col, 16);
    ck_assert(!roles->items[1]->plain);
    ck_assert_ptr_null(fl_yaml_map_get(root, "nope"));
    ck_assert_ptr_null(fl_yaml_map_get(id, "id"));

    json_t *j = fl_yaml_to_json(root, "minion.yaml", diag);
    char *s = fl_json_compact(j);
    ck_assert_str_eq(s, "{\"grains\":{\"port\":8080,\"roles\":[\"web\",\"db\"]},\"id\":\"web1\"}");
    free(s);
    json_decref(j);
    fl_yaml_destroy(&doc);
    ck_assert_ptr_null(doc);
    fl_yaml_destroy(&doc);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_yaml_file)
{
    char *dir = fl_test_tmpdir();
    char *path = fl_test_write(dir, "top.sls", "base:\n  '*':\n    - common\n");
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = fl_yaml_parse_file(path, diag);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(fl_yaml_name(doc), path);
    const fl_yaml_node_t *star = fl_yaml_map_get(fl_yaml_map_get(fl_yaml_root(doc), "base"), "*");
    ck_assert_int_eq(star->kind, FL_YAML_SEQ);
    ck_assert_int_eq(star->line, 3);
    ck_assert_int_eq(star->col, 5);
    ck_assert_str_eq(star->items[0]->value, "common");
    fl_yaml_destroy(&doc);

    /* Missing file, and one over 4 MiB. */
    char *missing = fl_sprintf("%s/missing.sls", dir);
    ck_assert_ptr_null(fl_yaml_parse_file(missing, diag));
    ck_assert_uint_eq(fl_diag_count(diag), 1);
    ck_assert_str_eq(fl_diag_item(diag, 0)->file, missing);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "cannot read"));

    size_t big = 4 * 1024 * 1024 + 1;
    char *text = fl_malloc(big + 1);
    memset(text, '#', big);
    text[big] = '\0';
    char *bigpath = fl_test_write(dir, "big.sls", text);
    ck_assert_ptr_null(fl_yaml_parse_file(bigpath, diag));
    ck_assert_uint_eq(fl_diag_count(diag), 2);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 1)->msg, "larger than 4 MiB"));
    ck_assert_ptr_null(fl_yaml_parse_string("s", text, big, diag));
    ck_assert_uint_eq(fl_diag_count(diag), 3);

    free(text);
    free(bigpath);
    free(missing);
    fl_diag_destroy(&diag);
    free(path);
    fl_test_tmpdir_free(&dir);
}
END_TEST

START_TEST(test_yaml_empty)
{
    static const char *cases[] = { "", "# just a comment\n", "---\n", "---\n...\n", "\n\n" };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        fl_yaml_doc_t *doc = s_parse_ok(cases[i], diag);
        ck_assert_msg(fl_yaml_root(doc) == NULL, "case %zu has a root", i);
        json_t *j = fl_yaml_to_json(fl_yaml_root(doc), "t", diag);
        ck_assert(json_is_null(j));
        json_decref(j);
        fl_yaml_destroy(&doc);
        fl_diag_destroy(&diag);
    }
    /* A quoted empty string is a value, not an empty document. */
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = s_parse_ok("''", diag);
    ck_assert_ptr_nonnull(fl_yaml_root(doc));
    fl_yaml_destroy(&doc);
    fl_diag_destroy(&diag);
}
END_TEST

/*  YAML 1.1 typing as PyYAML (and so Salt) does it. */
START_TEST(test_yaml_typing)
{
    static const struct {
        const char *yaml;
        const char *json;
    } cases[] = {
        { "yes", "true" },
        { "No", "false" },
        { "ON", "true" },
        { "oFf", "false" },
        { "True", "true" },
        { "FALSE", "false" },
        { "y", "\"y\"" },
        { "'yes'", "\"yes\"" },
        { "\"on\"", "\"on\"" },
        { "!!str yes", "\"yes\"" },
        { "! 12", "\"12\"" },
        { "~", "null" },
        { "null", "null" },
        { "Null", "null" },
        { "NULL", "null" },
        { "nUll", "\"nUll\"" },
        { "", "null" },
        { "'~'", "\"~\"" },
        { "0", "0" },
        { "-7", "-7" },
        { "+12", "12" },
        { "1_000", "1000" },
        { "0x1F", "31" },
        { "-0x10", "-16" },
        { "017", "17" },     /* leading zero: decimal (file modes), not YAML 1.1 octal */
        { "0644", "644" },
        { "0o17", "15" },
        { "08", "8" },
        { "0b101", "5" },
        { "9223372036854775807", "9223372036854775807" },
        { "-9223372036854775808", "-9223372036854775808" },
        { "22:22", "\"22:22\"" },
        { "1.5", "1.5" },
        { ".5", "0.5" },
        { "1.", "1.0" },
        { "-1.5e-3", "-0.0015" },
        { "1.5e+3", "1500.0" },
        { "1e5", "\"1e5\"" },
        { "1.0e5", "\"1.0e5\"" },
        { "1.2.3", "\"1.2.3\"" },
        { "!!int '12'", "12" },
        { "!!float 3", "3.0" },
        { "!!bool yes", "true" },
        { "!!null whatever", "null" },
        { "'0x1F'", "\"0x1F\"" },
        { "|\n  a\n  b\n", "\"a\\nb\\n\"" },
        { ">\n  a\n  b\n", "\"a b\\n\"" },
        { "\"tab\\there\"", "\"tab\\there\"" },
        { "!!map {a: 1}", "{\"a\":1}" },
        { "!!seq [1]", "[1]" },
        { "{1: a, yes: b, ~: c}", "{\"1\":\"a\",\"yes\":\"b\",\"~\":\"c\"}" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        char *got = s_json_of(cases[i].yaml, diag);
        ck_assert_msg(got != NULL, "case %zu [%s] failed", i, cases[i].yaml);
        ck_assert_msg(strcmp(got, cases[i].json) == 0, "case %zu [%s]: got %s want %s", i,
                      cases[i].yaml, got, cases[i].json);
        free(got);
        fl_diag_destroy(&diag);
    }
}
END_TEST

START_TEST(test_yaml_aliases_and_merge)
{
    static const struct {
        const char *yaml;
        const char *json;
    } cases[] = {
        { "a: &x [1, 2]\nb: *x\nc: [*x, *x]\n",
          "{\"a\":[1,2],\"b\":[1,2],\"c\":[[1,2],[1,2]]}" },
        { "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
          "{\"base\":{\"x\":1,\"y\":2},\"m\":{\"x\":1,\"y\":3}}" },
        /* explicit keys win even when written before the merge */
        { "a: &a {k: 1}\nm: {k: 2, <<: *a}\n", "{\"a\":{\"k\":1},\"m\":{\"k\":2}}" },
        /* the first merged map wins */
        { "a: &a {k: 1, p: 1}\nb: &b {k: 2, q: 2}\nm: {<<: [*a, *b]}\n",
          "{\"a\":{\"k\":1,\"p\":1},\"b\":{\"k\":2,\"q\":2},\"m\":{\"k\":1,\"p\":1,\"q\":2}}" },
        /* a quoted "<<" is an ordinary key */
        { "'<<': 1\n", "{\"<<\":1}" },
        /* an anchored merge value (or a node in it) can be aliased later */
        { "b: {<<: &y {p: &z 2}, q: 1}\nc: *y\nd: *z\n",
          "{\"b\":{\"p\":2,\"q\":1},\"c\":{\"p\":2},\"d\":2}" },
        /* an anchored map sees its merged keys */
        { "a: &a {k: 1}\nb: &b {<<: *a, l: 2}\nc: *b\n",
          "{\"a\":{\"k\":1},\"b\":{\"k\":1,\"l\":2},\"c\":{\"k\":1,\"l\":2}}" },
        /* an anchor may be redefined; aliases see the latest */
        { "a: &x 1\nb: &x 2\nc: *x\n", "{\"a\":1,\"b\":2,\"c\":2}" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        char *got = s_json_of(cases[i].yaml, diag);
        ck_assert_msg(got != NULL, "case %zu failed", i);
        ck_assert_msg(strcmp(got, cases[i].json) == 0, "case %zu: got %s want %s", i, got,
                      cases[i].json);
        free(got);
        fl_diag_destroy(&diag);
    }
}
END_TEST

/*  Input that must be refused, with the exact position and a fragment of
    the message (and of the hint, when there is one). */
START_TEST(test_yaml_bad_input)
{
    static const struct {
        const char *yaml;
        int line, col;
        const char *msg;
        const char *hint;
    } cases[] = {
        { "a: [1, 2\n", 2, 1, "did not find expected ',' or ']'", NULL },
        { "a: 'abc\n", 2, 1, "found unexpected end of stream", NULL },
        { "a: b: c\n", 1, 5, "mapping values are not allowed", NULL },
        { "a: 1\n b: 2\n", 2, 3, "mapping values are not allowed", NULL },
        { "- a\nb: 1\n", 2, 1, "did not find expected '-' indicator", NULL },
        { "key: [a, b]]\n", 1, 12, "did not find expected key", NULL },
        { "{a: 1\n", 2, 1, "did not find expected ',' or '}'", NULL },
        { "a:\n\tb: 1\n", 2, 1, "cannot start any token", "tabs" },
        { "a:\n  b: 1\n\tc: 2\n", 3, 1, "tab", "tabs" },
        { "a: \xff\n", 1, 4, "invalid leading UTF-8 octet", "UTF-8" },
        { "a: \"x\xc3\xa9\" \xfe\n", 1, 9, "invalid leading UTF-8 octet", "UTF-8" },
        { "a: 1\nb: 2\na: 3\n", 3, 1, "duplicate key 'a' (first defined at line 1, column 1)",
          NULL },
        { "top:\n  x: 1\n  'x': 2\n", 3, 3, "duplicate key 'x' (first defined at line 2, column 3)",
          NULL },
        { "{k: 1, k: 2}", 1, 8, "duplicate key 'k'", NULL },
        { "a: &a {x: 1}\nm:\n  <<: *a\n  <<: *a\n", 4, 3, "duplicate key '<<'", NULL },
        { "a: *x\n", 1, 4, "undefined alias '*x'", "&name" },
        { "a: &x [1, *x]\n", 1, 11, "recursive alias '*x'", NULL },
        { "a: 1\n---\nb: 2\n", 2, 1, "expected a single document", "---" },
        { "m: {<<: 1}\n", 1, 9, "merge key '<<' must be a map or a list of maps", "<<:" },
        { "m: {<<: [{a: 1}, 2]}\n", 1, 9, "merge key", NULL },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        const char *y = cases[i].yaml;
        fl_yaml_doc_t *doc = fl_yaml_parse_string("bad.yaml", y, strlen(y), diag);
        ck_assert_msg(doc == NULL, "case %zu [%s] was accepted", i, y);
        ck_assert_msg(fl_diag_errors(diag) == 1, "case %zu: %zu errors", i, fl_diag_errors(diag));
        const fl_diag_item_t *item = fl_diag_item(diag, 0);
        ck_assert_str_eq(item->file, "bad.yaml");
        ck_assert_msg(item->line == cases[i].line && item->col == cases[i].col,
                      "case %zu: at %d:%d, want %d:%d (%s)", i, item->line, item->col,
                      cases[i].line, cases[i].col, item->msg);
        ck_assert_msg(strstr(item->msg, cases[i].msg) != NULL, "case %zu: msg [%s]", i,
                      item->msg);
        if (cases[i].hint) {
            ck_assert_msg(item->hint && strstr(item->hint, cases[i].hint), "case %zu: hint [%s]",
                          i, item->hint ? item->hint : "(none)");
        }
        fl_diag_destroy(&diag);
    }
}
END_TEST

/*  Every duplicate is reported, each naming the first occurrence. */
START_TEST(test_yaml_duplicates_all_reported)
{
    fl_diag_t *diag = fl_diag_new();
    const char *y = "a: 1\nb: 2\na: 3\nb: 4\na: 5\n";
    ck_assert_ptr_null(fl_yaml_parse_string("d", y, strlen(y), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 3);
    ck_assert_int_eq(fl_diag_item(diag, 2)->line, 5);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 2)->msg, "first defined at line 1, column 1"));
    fl_diag_destroy(&diag);

    /* A big map goes through the hash table: the duplicate is still found. */
    char *big = fl_strdup("");
    for (int i = 0; i < 3000; i++) {
        char *next = fl_sprintf("%sk%d: %d\n", big, i, i);
        free(big);
        big = next;
    }
    char *withdup = fl_sprintf("%sk1234: again\n", big);
    diag = fl_diag_new();
    fl_yaml_doc_t *doc = fl_yaml_parse_string("d", big, strlen(big), diag);
    ck_assert_ptr_nonnull(doc);
    ck_assert_uint_eq(fl_yaml_root(doc)->count, 3000);
    fl_yaml_destroy(&doc);
    ck_assert_ptr_null(fl_yaml_parse_string("d", withdup, strlen(withdup), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    ck_assert_int_eq(fl_diag_item(diag, 0)->line, 3001);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "line 1235, column 1"));
    fl_diag_destroy(&diag);
    free(withdup);
    free(big);
}
END_TEST

/*  Nesting: 64 levels are fine, 65 are not, also when an alias adds them. */
START_TEST(test_yaml_depth)
{
    char open[70], close[70];
    memset(open, '[', 64);
    memset(close, ']', 64);
    open[64] = close[64] = '\0';
    char *ok = fl_sprintf("%s%s", open, close);
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = s_parse_ok(ok, diag);
    fl_yaml_destroy(&doc);

    char *deep = fl_sprintf("[%s%s]", open, close);
    ck_assert_ptr_null(fl_yaml_parse_string("d", deep, strlen(deep), diag));
    ck_assert_int_eq(fl_diag_item(diag, 0)->line, 1);
    ck_assert_int_eq(fl_diag_item(diag, 0)->col, 65);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "nesting deeper than 64"));

    /* 60 levels anchored, then used 10 levels down: 70 after expansion. */
    memset(open, '[', 60);
    memset(close, ']', 60);
    open[60] = close[60] = '\0';
    char *alias = fl_sprintf("a: &x %s%s\nb: [[[[[[[[[*x]]]]]]]]]\n", open, close);
    ck_assert_ptr_null(fl_yaml_parse_string("d", alias, strlen(alias), diag));
    ck_assert_uint_eq(fl_diag_count(diag), 2);
    ck_assert_int_eq(fl_diag_item(diag, 1)->line, 2);
    ck_assert_int_eq(fl_diag_item(diag, 1)->col, 13);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 1)->msg, "after alias expansion"));
    free(alias);
    free(deep);
    free(ok);
    fl_diag_destroy(&diag);
}
END_TEST

/*  "Billion laughs": aliases of aliases hit the node bound, quickly. */
START_TEST(test_yaml_billion_laughs)
{
    const char *y = "a: &a [1,2,3,4,5,6,7,8,9,10]\n"
                    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(fl_yaml_parse_string("lol", y, strlen(y), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_int_eq(item->line, 5);
    ck_assert_int_eq(item->col, 29);
    ck_assert_ptr_nonnull(strstr(item->msg, "more than 100000 nodes"));
    fl_diag_destroy(&diag);

    /* Few nodes but large scalars: the byte bound stops it. */
    char *blob = fl_malloc(1024 * 1024 + 1);
    memset(blob, 'x', 1024 * 1024);
    blob[1024 * 1024] = '\0';
    char *big = fl_sprintf("a: &a %s\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n"
                           "c: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
                           blob);
    diag = fl_diag_new();
    ck_assert_ptr_null(fl_yaml_parse_string("lol", big, strlen(big), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    ck_assert_int_eq(fl_diag_item(diag, 0)->line, 3);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "MiB of text"));
    fl_diag_destroy(&diag);
    free(big);
    free(blob);
}
END_TEST

/*  Trees that parse but cannot become JSON. */
START_TEST(test_yaml_bad_json)
{
    static const struct {
        const char *yaml;
        int line, col;
        const char *msg;
    } cases[] = {
        { "v: 99999999999999999999\n", 1, 4, "does not fit in 64 bits" },
        { "v: -9223372036854775809\n", 1, 4, "does not fit in 64 bits" },
        { "v: [1, .inf]\n", 1, 8, "JSON cannot hold" },
        { "v: -.Inf\n", 1, 4, "JSON cannot hold" },
        { "v: .nan\n", 1, 4, "JSON cannot hold" },
        { "v: 1.0e+999\n", 1, 4, "JSON cannot hold" },
        { "v: !foo x\n", 1, 4, "unsupported tag '!foo'" },
        { "v: !!binary aGk=\n", 1, 4, "unsupported tag '!!binary'" },
        { "v: !!set {a}\n", 1, 4, "unsupported tag '!!set'" },
        { "v: !!int abc\n", 1, 4, "not an integer: 'abc'" },
        { "v: !!bool maybe\n", 1, 4, "not a boolean: 'maybe'" },
        { "v: !!float x\n", 1, 4, "not a float" },
        { "? [a]\n: 1\n", 1, 3, "map key must be a scalar" },
        { "x:\n  ? {k: v}\n  : 1\n", 2, 5, "map key must be a scalar" },
        { "\"a\\0b\": 1\n", 1, 1, "NUL" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        const char *y = cases[i].yaml;
        fl_yaml_doc_t *doc = fl_yaml_parse_string("j.yaml", y, strlen(y), diag);
        ck_assert_msg(doc != NULL, "case %zu did not parse", i);
        json_t *j = fl_yaml_to_json(fl_yaml_root(doc), "j.yaml", diag);
        ck_assert_msg(j == NULL, "case %zu converted", i);
        ck_assert_uint_eq(fl_diag_errors(diag), 1);
        const fl_diag_item_t *item = fl_diag_item(diag, 0);
        ck_assert_str_eq(item->file, "j.yaml");
        ck_assert_msg(item->line == cases[i].line && item->col == cases[i].col,
                      "case %zu: at %d:%d, want %d:%d (%s)", i, item->line, item->col,
                      cases[i].line, cases[i].col, item->msg);
        ck_assert_msg(strstr(item->msg, cases[i].msg) != NULL, "case %zu: msg [%s]", i,
                      item->msg);
        fl_yaml_destroy(&doc);
        fl_diag_destroy(&diag);
    }
}
END_TEST

/*  Positions count characters, not bytes, as libyaml does. */
START_TEST(test_yaml_positions_utf8)
{
    const char *y = "n\xc3\xa9: [\xc3\xa9t\xc3\xa9, x]\n";
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = s_parse_ok(y, diag);
    const fl_yaml_node_t *seq = fl_yaml_root(doc)->items[0];
    ck_assert_int_eq(seq->col, 5);
    ck_assert_int_eq(seq->items[1]->col, 11);
    fl_yaml_destroy(&doc);
    fl_diag_destroy(&diag);
}
END_TEST

/*  Scalars keep embedded NULs and their exact length. */
START_TEST(test_yaml_scalar_bytes)
{
    const char *y = "v: \"a\\0b\"\nw: !!str 12\n";
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = s_parse_ok(y, diag);
    const fl_yaml_node_t *v = fl_yaml_map_get(fl_yaml_root(doc), "v");
    ck_assert_uint_eq(v->len, 3);
    ck_assert(memcmp(v->value, "a\0b", 4) == 0);
    const fl_yaml_node_t *w = fl_yaml_map_get(fl_yaml_root(doc), "w");
    ck_assert_str_eq(w->tag, "!!str");
    json_t *j = fl_yaml_to_json(v, "t", diag);
    ck_assert_uint_eq(json_string_length(j), 3);
    json_decref(j);
    fl_yaml_destroy(&doc);
    fl_diag_destroy(&diag);
}
END_TEST

Suite *
suite_yaml(void)
{
    Suite *s = suite_create("yaml");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_yaml_usage);
    tcase_add_test(tc, test_yaml_file);
    tcase_add_test(tc, test_yaml_empty);
    tcase_add_test(tc, test_yaml_typing);
    tcase_add_test(tc, test_yaml_aliases_and_merge);
    tcase_add_test(tc, test_yaml_bad_input);
    tcase_add_test(tc, test_yaml_duplicates_all_reported);
    tcase_add_test(tc, test_yaml_depth);
    tcase_add_test(tc, test_yaml_billion_laughs);
    tcase_add_test(tc, test_yaml_bad_json);
    tcase_add_test(tc, test_yaml_positions_utf8);
    tcase_add_test(tc, test_yaml_scalar_bytes);
    suite_add_tcase(s, tc);
    return s;
}
