/*  check_top.c: top files (each match type) and pillar compilation
    (merging, include, rendering with the pillar so far). */
#include "fl_json.h"
#include "fl_sls.h"
#include "fl_test.h"
#include "fl_util.h"

Suite *suite_top(void);

static char *s_dir;

static const char *s_grains_text =
    "{\"os\": \"Debian\", \"roles\": [\"web\", \"db\"], \"num_cpus\": 4}";
static const char *s_pillar_text = "{\"role\": \"edge\", \"app\": {\"tier\": \"front\"}}";

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

static void
s_put(const char *rel, const char *text)
{
    char *path = fl_sprintf("%s/%s", s_dir, rel);
    char *parent = fl_path_dirname(path);
    ck_assert_int_eq(fl_mkdir_p(parent, 0755), 0);
    free(parent);
    free(path);
    free(fl_test_write(s_dir, rel, text));
}

/*  The compact JSON of the top file's SLS names for MINION, or NULL. */
static char *
s_top(const char *minion, fl_diag_t *diag)
{
    json_t *grains = json_loads(s_grains_text, 0, NULL);
    json_t *pillar = json_loads(s_pillar_text, 0, NULL);
    fl_src_t *src = fl_src_dir_new(s_dir);
    json_t *names = fl_top_match(src, minion, grains, pillar, diag);
    fl_src_destroy(&src);
    json_decref(grains);
    json_decref(pillar);
    if (!names) {
        return NULL;
    }
    char *s = fl_json_compact(names);
    json_decref(names);
    return s;
}

/*  The compact JSON of MINION's pillar, or NULL. */
static char *
s_pillar(const char *minion, fl_diag_t *diag)
{
    json_t *grains = json_loads(s_grains_text, 0, NULL);
    fl_src_t *src = fl_src_dir_new(s_dir);
    json_t *pillar = fl_pillar_compile(src, minion, grains, diag);
    fl_src_destroy(&src);
    json_decref(grains);
    if (!pillar) {
        return NULL;
    }
    char *s = fl_json_compact(pillar);
    json_decref(pillar);
    return s;
}

/*  Canonical usage: which SLS a minion gets, then compile them. */
START_TEST(test_top_usage)
{
    s_put("top.sls", "base:\n"
                     "  '*':\n"
                     "    - core\n"
                     "  'os:Debian':\n"
                     "    - match: grain\n"
                     "    - web\n"
                     "  'db*':\n"
                     "    - db\n");
    s_put("core.sls", "vim: pkg.installed\n");
    s_put("web/init.sls", "nginx: pkg.installed\n");
    json_t *grains = json_loads(s_grains_text, 0, NULL);
    fl_diag_t *diag = fl_diag_new();
    fl_src_t *src = fl_src_dir_new(s_dir);
    json_t *names = fl_top_match(src, "web1", grains, NULL, diag);
    ck_assert_ptr_nonnull(names);
    char *s = fl_json_compact(names);
    ck_assert_str_eq(s, "[\"core\",\"web\"]");
    free(s);
    json_t *chunks = fl_sls_compile(src, names, "web1", grains, NULL, diag);
    ck_assert_ptr_nonnull(chunks);
    ck_assert_uint_eq(json_array_size(chunks), 2);
    ck_assert_str_eq(fl_json_str(json_array_get(chunks, 1), "name"), "nginx");
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    json_decref(chunks);
    json_decref(names);
    fl_src_destroy(&src);
    json_decref(grains);
    fl_diag_destroy(&diag);
}
END_TEST

static const struct {
    const char *label;
    const char *top;
    const char *minion;
    const char *expect;
    size_t warnings;
} s_match[] = {
    { "glob", "base:\n  'web*':\n    - a\n  'db*':\n    - b\n", "web1", "[\"a\"]", 0 },
    { "glob is the default, '*' matches all", "base:\n  '*':\n    - a\n", "x", "[\"a\"]", 0 },
    { "list", "base:\n  'x,web1,y':\n    - match: list\n    - a\n  'x,y':\n    - match: list\n"
              "    - b\n",
      "web1", "[\"a\"]", 0 },
    { "grain", "base:\n  'os:Debian':\n    - match: grain\n    - a\n  'os:RedHat':\n"
               "    - match: grain\n    - b\n",
      "web1", "[\"a\"]", 0 },
    { "grain in a list grain", "base:\n  'roles:db':\n    - match: grain\n    - a\n", "web1",
      "[\"a\"]", 0 },
    { "grain_pcre", "base:\n  'os:Deb.*':\n    - match: grain_pcre\n    - a\n  'os:Red.*':\n"
                    "    - match: grain_pcre\n    - b\n",
      "web1", "[\"a\"]", 0 },
    { "pcre", "base:\n  'web[0-9]+':\n    - match: pcre\n    - a\n  'db[0-9]+':\n"
              "    - match: pcre\n    - b\n",
      "web1", "[\"a\"]", 0 },
    { "compound", "base:\n  'G@os:Debian and web*':\n    - match: compound\n    - a\n"
                  "  'G@os:RedHat or L@x':\n    - match: compound\n    - b\n",
      "web1", "[\"a\"]", 0 },
    { "pillar", "base:\n  'role:edge':\n    - match: pillar\n    - a\n  'app:tier:front':\n"
                "    - match: pillar\n    - b\n  'role:core':\n    - match: pillar\n    - c\n",
      "web1", "[\"a\",\"b\"]", 0 },
    { "match written after the names", "base:\n  'web1':\n    - a\n    - match: list\n", "web1",
      "[\"a\"]", 0 },
    { "top-file order without repeats", "base:\n  '*':\n    - a\n    - b\n  web1:\n    - b\n"
                                        "    - c\n    - a\n",
      "web1", "[\"a\",\"b\",\"c\"]", 0 },
    { "other environments are ignored with a warning",
      "dev:\n  '*':\n    - x\nbase:\n  '*':\n    - a\nprod:\n  '*':\n    - y\n", "web1",
      "[\"a\"]", 2 },
    { "empty top file", "# nothing yet\n", "web1", "[]", 0 },
    { "empty target and empty base", "base:\n  '*':\n", "web1", "[]", 0 },
    { "nothing matches", "base:\n  'db*':\n    - a\n", "web1", "[]", 0 },
    { "rendered top file", "base:\n  '{{ id }}':\n    - a_{{ grains.os }}\n", "web1",
      "[\"a_Debian\"]", 0 },
};

START_TEST(test_top_match)
{
    s_put("top.sls", s_match[_i].top);
    fl_diag_t *diag = fl_diag_new();
    char *got = s_top(s_match[_i].minion, diag);
    char *why = fl_diag_format(diag);
    ck_assert_msg(got, "%s: failed: %s", s_match[_i].label, why);
    ck_assert_msg(strcmp(got, s_match[_i].expect) == 0, "%s: got %s want %s", s_match[_i].label,
                  got, s_match[_i].expect);
    ck_assert_msg(fl_diag_count(diag) == s_match[_i].warnings && fl_diag_errors(diag) == 0,
                  "%s: %s", s_match[_i].label, why);
    free(why);
    free(got);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_top_absent)
{
    fl_diag_t *diag = fl_diag_new();
    char *got = s_top("web1", diag);
    ck_assert_str_eq(got, "[]");
    free(got);
    got = s_pillar("web1", diag);
    ck_assert_str_eq(got, "{}");
    free(got);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    fl_diag_destroy(&diag);
}
END_TEST

static const struct {
    const char *label;
    const char *top;
    int line, col;
    const char *fragment;
} s_top_bad[] = {
    { "unknown match type", "base:\n  'x':\n    - match: nodegroup\n    - a\n", 3, 14,
      "unknown match type 'nodegroup'" },
    { "bad regex", "base:\n  'web[':\n    - match: pcre\n    - a\n", 2, 4, "target 'web['" },
    { "bad compound, column inside the target",
      "base:\n  'G@os:Debian and and x':\n    - match: compound\n    - a\n", 2, 20,
      "target 'G@os:Debian and and x'" },
    { "bad SLS name", "base:\n  '*':\n    - a..b\n", 3, 7, "invalid SLS name 'a..b'" },
    { "item that is neither name nor match", "base:\n  '*':\n    - foo: bar\n", 3, 7,
      "must be an SLS name or '- match: TYPE'" },
    { "second match", "base:\n  '*':\n    - match: glob\n    - match: list\n    - a\n", 4, 7,
      "second 'match' for target '*' (first at line 3)" },
    { "target without a list", "base:\n  '*': core\n", 2, 8,
      "target '*' must have a list of SLS names" },
    { "base that is not a map", "base:\n  - core\n", 2, 3,
      "'base' must map targets to lists of SLS names" },
    { "top file that is a list", "- base\n", 1, 1, "a top file must be a map of environments" },
    { "duplicate target", "base:\n  '*':\n    - a\n  '*':\n    - b\n", 4, 3,
      "duplicate key '*'" },
};

START_TEST(test_top_bad)
{
    s_put("top.sls", s_top_bad[_i].top);
    fl_diag_t *diag = fl_diag_new();
    char *got = s_top("web1", diag);
    char *all = fl_diag_format(diag);
    ck_assert_msg(!got, "%s: accepted: %s", s_top_bad[_i].label, got);
    bool found = false;
    for (size_t i = 0; i < fl_diag_count(diag) && !found; i++) {
        const fl_diag_item_t *it = fl_diag_item(diag, i);
        found = it->severity == FL_DIAG_ERROR && strcmp(it->file, "top.sls") == 0 &&
                it->line == s_top_bad[_i].line && it->col == s_top_bad[_i].col &&
                strstr(it->msg, s_top_bad[_i].fragment);
    }
    ck_assert_msg(found, "%s: want top.sls:%d:%d [%s], got:\n%s", s_top_bad[_i].label,
                  s_top_bad[_i].line, s_top_bad[_i].col, s_top_bad[_i].fragment, all);
    free(all);
    fl_diag_destroy(&diag);
}
END_TEST

/*  Pillar: files merged in top-file order, maps recursively, later values
    win, lists replaced. */
START_TEST(test_top_pillar_merge)
{
    s_put("top.sls", "base:\n"
                     "  '*':\n"
                     "    - common\n"
                     "  'web*':\n"
                     "    - web\n"
                     "  'db*':\n"
                     "    - db\n");
    s_put("common.sls", "a: 1\nnested:\n  x: 1\n  y: [1, 2]\n  deep: {k: 1}\nover: map\n");
    s_put("web/init.sls", "nested:\n  y: [3]\n  z: 2\n  deep: {j: 2}\nb: 2\nover: {now: map}\n");
    s_put("db.sls", "db: true\n");
    fl_diag_t *diag = fl_diag_new();
    char *got = s_pillar("web1", diag);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "{\"a\":1,\"b\":2,\"nested\":{\"deep\":{\"j\":2,\"k\":1},\"x\":1,"
                          "\"y\":[3],\"z\":2},\"over\":{\"now\":\"map\"}}");
    free(got);
    got = s_pillar("other", diag);
    ck_assert_str_eq(got, "{\"a\":1,\"nested\":{\"deep\":{\"k\":1},\"x\":1,\"y\":[1,2]},"
                          "\"over\":\"map\"}");
    free(got);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_top_pillar_include)
{
    s_put("top.sls", "base:\n  '*':\n    - web\n    - web.base\n");
    s_put("web/init.sls", "include:\n"
                          "  - .base\n"
                          "  - users:\n"
                          "      key: people\n"
                          "w: 1\n"
                          "shared: web\n");
    s_put("web/base.sls", "shared: base\nb: 1\n");
    s_put("users.sls", "alice: {uid: 1000}\n");
    fl_diag_t *diag = fl_diag_new();
    char *got = s_pillar("web1", diag);
    char *why = fl_diag_format(diag);
    ck_assert_msg(got, "%s", why);
    free(why);
    /* The including file wins; web.base, loaded already, is not merged
       again over it. */
    ck_assert_str_eq(got, "{\"b\":1,\"people\":{\"alice\":{\"uid\":1000}},\"shared\":\"web\","
                          "\"w\":1}");
    free(got);
    fl_diag_destroy(&diag);
}
END_TEST

/*  Each pillar file is rendered with the grains, the id and the pillar
    merged so far. */
START_TEST(test_top_pillar_render)
{
    s_put("top.sls", "base:\n  '*':\n    - first\n  '{{ id }}':\n    - second\n");
    s_put("first.sls", "first: one\n");
    s_put("second.sls", "from_first: {{ pillar.first }}\nos: {{ grains.os }}\nme: {{ id }}\n");
    fl_diag_t *diag = fl_diag_new();
    char *got = s_pillar("web1", diag);
    char *why = fl_diag_format(diag);
    ck_assert_msg(got, "%s", why);
    free(why);
    ck_assert_str_eq(got, "{\"first\":\"one\",\"from_first\":\"one\",\"me\":\"web1\","
                          "\"os\":\"Debian\"}");
    free(got);
    fl_diag_destroy(&diag);
}
END_TEST

static const struct {
    const char *label;
    const char *files[8];
    const char *file;
    int line, col;
    const char *fragment;
} s_pillar_bad[] = {
    { "missing pillar SLS", { "top.sls", "base:\n  '*':\n    - nope\n", NULL }, "top.sls", 3, 7,
      "no pillar SLS 'nope'" },
    { "pillar SLS that is a list",
      { "top.sls", "base:\n  '*':\n    - a\n", "a.sls", "- x\n", NULL }, "a.sls", 1, 1,
      "a pillar SLS must be a map" },
    { "missing include",
      { "top.sls", "base:\n  '*':\n    - a\n", "a.sls", "include:\n  - gone\nx: 1\n", NULL },
      "a.sls", 2, 5, "no pillar SLS 'gone'" },
    { "bad include option",
      { "top.sls", "base:\n  '*':\n    - a\n", "a.sls", "include:\n  - b:\n      defaults: 1\n",
        NULL },
      "a.sls", 3, 7, "include options must be a map with 'key'" },
    { "duplicate key",
      { "top.sls", "base:\n  '*':\n    - a\n", "a.sls", "x: 1\nx: 2\n", NULL }, "a.sls", 2, 1,
      "duplicate key 'x'" },
    { "undefined template variable",
      { "top.sls", "base:\n  '*':\n    - a\n", "a.sls", "x: {{ nope }}\n", NULL }, "a.sls", 1,
      0, "" },
};

START_TEST(test_top_pillar_bad)
{
    for (size_t i = 0; s_pillar_bad[_i].files[i]; i += 2) {
        s_put(s_pillar_bad[_i].files[i], s_pillar_bad[_i].files[i + 1]);
    }
    fl_diag_t *diag = fl_diag_new();
    char *got = s_pillar("web1", diag);
    char *all = fl_diag_format(diag);
    ck_assert_msg(!got, "%s: accepted: %s", s_pillar_bad[_i].label, got);
    bool found = false;
    for (size_t i = 0; i < fl_diag_count(diag) && !found; i++) {
        const fl_diag_item_t *it = fl_diag_item(diag, i);
        found = it->severity == FL_DIAG_ERROR && strcmp(it->file, s_pillar_bad[_i].file) == 0 &&
                it->line == s_pillar_bad[_i].line &&
                (s_pillar_bad[_i].col == 0 || it->col == s_pillar_bad[_i].col) &&
                strstr(it->msg, s_pillar_bad[_i].fragment);
    }
    ck_assert_msg(found, "%s: want %s:%d:%d [%s], got:\n%s", s_pillar_bad[_i].label,
                  s_pillar_bad[_i].file, s_pillar_bad[_i].line, s_pillar_bad[_i].col,
                  s_pillar_bad[_i].fragment, all);
    free(all);
    fl_diag_destroy(&diag);
}
END_TEST

Suite *
suite_top(void)
{
    Suite *s = suite_create("top");
    TCase *tc = tcase_create("top");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_top_usage);
    tcase_add_loop_test(tc, test_top_match, 0, (int) FL_ARRAY_LEN(s_match));
    tcase_add_test(tc, test_top_absent);
    tcase_add_loop_test(tc, test_top_bad, 0, (int) FL_ARRAY_LEN(s_top_bad));
    tcase_add_test(tc, test_top_pillar_merge);
    tcase_add_test(tc, test_top_pillar_include);
    tcase_add_test(tc, test_top_pillar_render);
    tcase_add_loop_test(tc, test_top_pillar_bad, 0, (int) FL_ARRAY_LEN(s_pillar_bad));
    suite_add_tcase(s, tc);
    return s;
}
