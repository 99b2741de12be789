/*  check_target.c: Salt targeting (fl_target). */
#include "fl_test.h"
#include "fl_target.h"

//  The canonical usage: compile once (errors go to a diag list), match many.
START_TEST(test_target_usage)
{
    fl_diag_t *diag = fl_diag_new();
    fl_target_t *target = fl_target_new("G@os:Debian and web-* or L@db-1,db-2", FL_TGT_COMPOUND,
                                        diag);
    ck_assert_ptr_nonnull(target);
    ck_assert_uint_eq(fl_diag_count(diag), 0);

    json_t *grains = json_pack("{s:s, s:i, s:[s,s]}", "os", "Debian", "num_cpus", 4, "ipv4",
                               "127.0.0.1", "10.0.0.5");
    ck_assert_ptr_nonnull(grains);
    ck_assert(fl_target_match(target, "web-01", grains));
    ck_assert(!fl_target_match(target, "mail-01", grains));
    ck_assert(fl_target_match(target, "db-2", NULL));
    ck_assert(!fl_target_is_exact(target));

    fl_target_destroy(&target);
    ck_assert_ptr_null(target);
    fl_target_destroy(&target);
    json_decref(grains);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_target_type_names)
{
    static const char *names[] = { "glob", "list", "grain", "grain_pcre", "pcre", "compound" };
    for (size_t i = 0; i < FL_ARRAY_LEN(names); i++) {
        fl_tgt_type_t type = FL_TGT_COMPOUND;
        ck_assert_int_eq(fl_tgt_type_parse(names[i], &type), 0);
        ck_assert_int_eq((int) type, (int) i);
        ck_assert_str_eq(fl_tgt_type_name(type), names[i]);
    }
    fl_tgt_type_t type = FL_TGT_LIST;
    ck_assert_int_eq(fl_tgt_type_parse("nodegroup", &type), -1);
    ck_assert_int_eq(fl_tgt_type_parse("", &type), -1);
    ck_assert_int_eq(fl_tgt_type_parse(NULL, &type), -1);
    ck_assert_int_eq((int) type, FL_TGT_LIST);
}
END_TEST

//  --------------------------------------------------------------------------
//  Positive cases

static const char *s_grains_text =
    "{"
    "  \"os\": \"Debian\", \"os_family\": \"Debian\", \"osmajorrelease\": 12,"
    "  \"num_cpus\": 4, \"mem_gb\": 7.5, \"big\": 100000.0, \"tiny\": 0.0001,"
    "  \"is_vm\": false, \"gpu\": true, \"rack\": null,"
    "  \"kernelrelease\": \"6.1.0-13-amd64\", \"owner\": \"team:infra\","
    "  \"ipv4\": [\"127.0.0.1\", \"10.0.0.5\"], \"roles\": [\"web\", \"db\"],"
    "  \"ip_interfaces\": {\"eth0\": [\"10.0.0.5\", \"fe80::1\"], \"lo\": [\"127.0.0.1\"]},"
    "  \"locale_info\": {\"defaultlanguage\": \"en_US\"},"
    "  \"disks\": [{\"name\": \"sda\", \"size\": 100}],"
    "  \"a\": {\"b\": {\"c\": \"deep\"}}"
    "}";

typedef struct {
    fl_tgt_type_t type;
    const char *expr;
    const char *id;
    bool match;
} s_match_case_t;

#define ID "web-01.example.com"

static const s_match_case_t s_match_cases[] = {
    //  glob on the id (fnmatch, case-sensitive)
    { FL_TGT_GLOB, "web-*", ID, true },
    { FL_TGT_GLOB, "*", ID, true },
    { FL_TGT_GLOB, "web-0?.example.com", ID, true },
    { FL_TGT_GLOB, "web-[0-9]*", ID, true },
    { FL_TGT_GLOB, "web-[!0]*", ID, false },
    { FL_TGT_GLOB, "*.example.com", ID, true },
    { FL_TGT_GLOB, ID, ID, true },
    { FL_TGT_GLOB, "db*", ID, false },
    { FL_TGT_GLOB, "WEB-*", ID, false },
    { FL_TGT_GLOB, "web-01", ID, false },
    //  list
    { FL_TGT_LIST, "db-1,web-01.example.com", ID, true },
    { FL_TGT_LIST, " db-1 , web-01.example.com ", ID, true },
    { FL_TGT_LIST, "db-1,web-01.example.com", "db-1", true },
    { FL_TGT_LIST, "db-1,web-01", ID, false },
    { FL_TGT_LIST, "web-*", ID, false },
    //  grain: glob on values, case-insensitive as in Salt
    { FL_TGT_GRAIN, "os:Debian", ID, true },
    { FL_TGT_GRAIN, "os:debian", ID, true },
    { FL_TGT_GRAIN, "os:Deb*", ID, true },
    { FL_TGT_GRAIN, "os:RedHat", ID, false },
    { FL_TGT_GRAIN, "OS:Debian", ID, false },
    { FL_TGT_GRAIN, "missing:x", ID, false },
    //  numbers, booleans and null by their Python text
    { FL_TGT_GRAIN, "num_cpus:4", ID, true },
    { FL_TGT_GRAIN, "num_cpus:[2-4]", ID, true },
    { FL_TGT_GRAIN, "num_cpus:8", ID, false },
    { FL_TGT_GRAIN, "osmajorrelease:1*", ID, true },
    { FL_TGT_GRAIN, "mem_gb:7.5", ID, true },
    { FL_TGT_GRAIN, "big:100000.0", ID, true },
    { FL_TGT_GRAIN, "tiny:0.0001", ID, true },
    { FL_TGT_GRAIN, "is_vm:False", ID, true },
    { FL_TGT_GRAIN, "is_vm:false", ID, true },
    { FL_TGT_GRAIN, "is_vm:True", ID, false },
    { FL_TGT_GRAIN, "gpu:True", ID, true },
    { FL_TGT_GRAIN, "gpu:true", ID, true },
    { FL_TGT_GRAIN, "rack:None", ID, true },
    //  list grains: any element
    { FL_TGT_GRAIN, "ipv4:10.0.0.*", ID, true },
    { FL_TGT_GRAIN, "ipv4:127.0.0.1", ID, true },
    { FL_TGT_GRAIN, "ipv4:192.168.*", ID, false },
    { FL_TGT_GRAIN, "roles:db", ID, true },
    //  nested grains and values that contain ':'
    { FL_TGT_GRAIN, "ip_interfaces:eth0:10.0.0.5", ID, true },
    { FL_TGT_GRAIN, "ip_interfaces:eth0:fe80::1", ID, true },
    { FL_TGT_GRAIN, "ip_interfaces:lo:10.*", ID, false },
    { FL_TGT_GRAIN, "ip_interfaces:eth0", ID, true },
    { FL_TGT_GRAIN, "ip_interfaces:*", ID, true },
    { FL_TGT_GRAIN, "ip_interfaces:wlan0", ID, false },
    { FL_TGT_GRAIN, "locale_info:defaultlanguage:en_*", ID, true },
    { FL_TGT_GRAIN, "a:b:c:deep", ID, true },
    { FL_TGT_GRAIN, "a:b:c:shallow", ID, false },
    { FL_TGT_GRAIN, "owner:team:infra", ID, true },
    { FL_TGT_GRAIN, "owner:team:*", ID, true },
    { FL_TGT_GRAIN, "disks:name:sda", ID, true },
    { FL_TGT_GRAIN, "disks:size:100", ID, true },
    { FL_TGT_GRAIN, "disks:name:sdb", ID, false },
    //  grain_pcre: anchored at the start, case-insensitive
    { FL_TGT_GRAIN_PCRE, "os:Deb.*", ID, true },
    { FL_TGT_GRAIN_PCRE, "os:(debian|ubuntu)", ID, true },
    { FL_TGT_GRAIN_PCRE, "os:ian", ID, false },
    { FL_TGT_GRAIN_PCRE, "os:.*ian$", ID, true },
    { FL_TGT_GRAIN_PCRE, "kernelrelease:6\\.1\\..*amd64", ID, true },
    { FL_TGT_GRAIN_PCRE, "num_cpus:[0-9]+", ID, true },
    { FL_TGT_GRAIN_PCRE, "osmajorrelease:1\\d$", ID, true },
    { FL_TGT_GRAIN_PCRE, "ipv4:10\\.0\\.0\\.[0-9]+", ID, true },
    { FL_TGT_GRAIN_PCRE, "ip_interfaces:eth0:fe80::.*", ID, true },
    { FL_TGT_GRAIN_PCRE, "is_vm:f", ID, true },
    //  pcre on the id: anchored at the start only, like re.match
    { FL_TGT_PCRE, "web-[0-9]+", ID, true },
    { FL_TGT_PCRE, "web-\\d+\\.example", ID, true },
    { FL_TGT_PCRE, "(web|db)-0?1", ID, true },
    { FL_TGT_PCRE, ".*example", ID, true },
    { FL_TGT_PCRE, "example", ID, false },
    { FL_TGT_PCRE, "WEB", ID, false },
    //  compound
    { FL_TGT_COMPOUND, "G@os:Debian and web-*", ID, true },
    { FL_TGT_COMPOUND, "G@os:RedHat or L@db-1,web-01.example.com", ID, true },
    { FL_TGT_COMPOUND, "web-* and not E@web-0[0-9]", ID, false },
    { FL_TGT_COMPOUND, "not G@os:RedHat", ID, true },
    { FL_TGT_COMPOUND, "not not web-*", ID, true },
    { FL_TGT_COMPOUND, "web-* not G@os:Debian", ID, false },    /* implicit 'and' */
    { FL_TGT_COMPOUND, "web-* not G@os:RedHat", ID, true },
    { FL_TGT_COMPOUND, "( G@os:RedHat or web-* ) and G@num_cpus:4", ID, true },
    { FL_TGT_COMPOUND, "(G@os:RedHat or web-*) and G@num_cpus:4", ID, true },
    { FL_TGT_COMPOUND, "((web-*))", ID, true },
    { FL_TGT_COMPOUND, "(E@web-(01|02)\\..*)", ID, true },
    { FL_TGT_COMPOUND, "P@os:(Debian|Ubuntu) and E@web-(01|02)\\..*", ID, true },
    { FL_TGT_COMPOUND, "G@ipv4:10.0.0.5 and G@roles:web", ID, true },
    { FL_TGT_COMPOUND, "G@ip_interfaces:eth0:fe80::1", ID, true },
    { FL_TGT_COMPOUND, "  web-*\t", ID, true },
    //  precedence: not > and > or
    { FL_TGT_COMPOUND, "web-* or G@os:RedHat and G@num_cpus:8", ID, true },
    { FL_TGT_COMPOUND, "G@num_cpus:8 and G@os:RedHat or web-*", ID, true },
    { FL_TGT_COMPOUND, "not web-* or G@os:Debian", ID, true },
    { FL_TGT_COMPOUND, "not web-* and G@os:Debian", ID, false },
    { FL_TGT_COMPOUND, "not ( web-* or db-* )", ID, false },
};

START_TEST(test_target_match_table)
{
    json_error_t jerr;
    json_t *grains = json_loads(s_grains_text, 0, &jerr);
    ck_assert_msg(grains, "grains: %s", jerr.text);
    const s_match_case_t *c = &s_match_cases[_i];
    fl_diag_t *diag = fl_diag_new();
    fl_target_t *target = fl_target_new(c->expr, c->type, diag);
    ck_assert_msg(target, "%s '%s' did not compile", fl_tgt_type_name(c->type), c->expr);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    ck_assert_msg(fl_target_match(target, c->id, grains) == c->match, "%s '%s' on %s: expected %s",
                  fl_tgt_type_name(c->type), c->expr, c->id, c->match ? "match" : "no match");
    fl_target_destroy(&target);
    fl_diag_destroy(&diag);
    json_decref(grains);
}
END_TEST

START_TEST(test_target_no_grains)
{
    fl_target_t *target = fl_target_new("G@os:Debian", FL_TGT_COMPOUND, NULL);
    ck_assert_ptr_nonnull(target);
    ck_assert(!fl_target_match(target, "web-1", NULL));
    fl_target_destroy(&target);

    target = fl_target_new("web-* or G@os:Debian", FL_TGT_COMPOUND, NULL);
    ck_assert(fl_target_match(target, "web-1", NULL));
    json_t *not_an_object = json_pack("[s]", "os");
    ck_assert(!fl_target_match(target, "db-1", not_an_object));
    json_decref(not_an_object);
    fl_target_destroy(&target);
}
END_TEST

START_TEST(test_target_is_exact)
{
    static const struct {
        fl_tgt_type_t type;
        const char *expr;
        bool exact;
    } cases[] = {
        { FL_TGT_LIST, "a,b,c", true },
        { FL_TGT_GLOB, "web-01", true },
        { FL_TGT_GLOB, "web-*", false },
        { FL_TGT_GLOB, "web-0?", false },
        { FL_TGT_GLOB, "web-[12]", false },
        { FL_TGT_PCRE, "web-01", false },
        { FL_TGT_GRAIN, "os:Debian", false },
        { FL_TGT_COMPOUND, "L@a,b", false },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_target_t *target = fl_target_new(cases[i].expr, cases[i].type, NULL);
        ck_assert_ptr_nonnull(target);
        ck_assert_msg(fl_target_is_exact(target) == cases[i].exact, "%s", cases[i].expr);
        fl_target_destroy(&target);
    }
    ck_assert(!fl_target_is_exact(NULL));
    ck_assert(!fl_target_match(NULL, "a", NULL));
}
END_TEST

//  --------------------------------------------------------------------------
//  Negative cases: the first error's column and a fragment of its message

typedef struct {
    fl_tgt_type_t type;
    const char *expr;
    int col;
    const char *fragment;
} s_error_case_t;

static const s_error_case_t s_error_cases[] = {
    { FL_TGT_GLOB, "", 1, "empty target" },
    { FL_TGT_COMPOUND, "", 1, "empty target" },
    { FL_TGT_COMPOUND, "  \t ", 1, "empty target" },
    { FL_TGT_LIST, " ", 1, "empty target" },
    //  dangling operators
    { FL_TGT_COMPOUND, "web-* and", 7, "missing a target after 'and'" },
    { FL_TGT_COMPOUND, "web-* or", 7, "missing a target after 'or'" },
    { FL_TGT_COMPOUND, "not", 1, "missing a target after 'not'" },
    { FL_TGT_COMPOUND, "web-* and not", 11, "missing a target after 'not'" },
    { FL_TGT_COMPOUND, "and web-*", 1, "unexpected 'and'" },
    { FL_TGT_COMPOUND, "or web-*", 1, "unexpected 'or'" },
    { FL_TGT_COMPOUND, "web-* or or db", 10, "unexpected 'or'" },
    { FL_TGT_COMPOUND, "web-* and or db", 11, "unexpected 'or'" },
    { FL_TGT_COMPOUND, "not and web-*", 5, "unexpected 'and'" },
    { FL_TGT_COMPOUND, "web-* db-*", 7, "expected 'and' or 'or' before 'db-*'" },
    { FL_TGT_COMPOUND, "web-* (db-*)", 7, "expected 'and' or 'or' before '('" },
    //  parentheses
    { FL_TGT_COMPOUND, "( web-*", 1, "unclosed '('" },
    { FL_TGT_COMPOUND, "web-* and ((db-* or a)", 11, "unclosed '('" },
    { FL_TGT_COMPOUND, "(", 1, "unclosed '('" },
    { FL_TGT_COMPOUND, "web-* )", 7, "unmatched ')'" },
    { FL_TGT_COMPOUND, "(web-* or db)) and a", 14, "unmatched ')'" },
    { FL_TGT_COMPOUND, ")", 1, "unexpected ')'" },
    { FL_TGT_COMPOUND, "web-* and )", 11, "unexpected ')'" },
    { FL_TGT_COMPOUND, "()", 2, "empty parentheses" },
    { FL_TGT_COMPOUND, "( web-* db )", 9, "expected 'and' or 'or' before 'db'" },
    //  terms
    { FL_TGT_COMPOUND, "X@foo", 1, "unknown target type 'X@'" },
    { FL_TGT_COMPOUND, "web-* and g@os:Debian", 11, "unknown target type 'g@'" },
    { FL_TGT_COMPOUND, "web-* and I@role:web", 11, "unsupported target type I@ (pillar)" },
    { FL_TGT_COMPOUND, "S@10.0.0.0/8", 1, "(subnet)" },
    { FL_TGT_COMPOUND, "G@", 1, "empty pattern after 'G@'" },
    { FL_TGT_COMPOUND, "a or L@", 6, "empty pattern after 'L@'" },
    { FL_TGT_COMPOUND, "web-* and G@os", 11, "has no ':'" },
    { FL_TGT_COMPOUND, "G@:Debian", 3, "empty grain name" },
    { FL_TGT_GRAIN, "os", 1, "has no ':'" },
    { FL_TGT_GRAIN_PCRE, "os", 1, "has no ':'" },
    { FL_TGT_GRAIN, ":Debian", 1, "empty grain name" },
    { FL_TGT_LIST, "a,,b", 3, "empty item in list" },
    { FL_TGT_LIST, "a, ,b", 3, "empty item in list" },
    { FL_TGT_LIST, ",a", 1, "empty item in list" },
    { FL_TGT_LIST, "a,b,", 5, "empty item in list" },
    { FL_TGT_COMPOUND, "web-* or L@a,,b", 14, "empty item in list" },
    //  regular expressions, with regerror's text
    { FL_TGT_PCRE, "web-(", 1, "invalid regular expression: Unmatched ( or \\(" },
    { FL_TGT_PCRE, "web-[0-9", 1, "Unmatched [" },
    { FL_TGT_PCRE, "a{2,1}", 1, "invalid regular expression" },
    { FL_TGT_COMPOUND, "web-* and E@web-(", 13, "Unmatched ( or \\(" },
    { FL_TGT_GRAIN_PCRE, "os:Deb(", 4, "Unmatched ( or \\(" },
    { FL_TGT_GRAIN_PCRE, "ip_interfaces:eth0:[", 15, "invalid regular expression" },
    { FL_TGT_COMPOUND, "P@os:Deb(", 6, "Unmatched ( or \\(" },
    { FL_TGT_PCRE, "((a{99}){99}){99}", 1, "too complex" },
    { FL_TGT_COMPOUND, "E@(x{1000}){1000}", 3, "too complex" },
    { FL_TGT_PCRE, "x*{57}*{99}", 1, "too complex" },
    { FL_TGT_PCRE, "((x*){22}*){22}", 1, "too complex" },
    { FL_TGT_COMPOUND, "E@(x*){900} or E@(y*){900} or E@(z*){900}", 33,
      "regular expressions of this target too complex" },
};

START_TEST(test_target_error_table)
{
    const s_error_case_t *c = &s_error_cases[_i];
    fl_diag_t *diag = fl_diag_new();
    fl_target_t *target = fl_target_new(c->expr, c->type, diag);
    ck_assert_msg(!target, "%s '%s' compiled", fl_tgt_type_name(c->type), c->expr);
    ck_assert_uint_ge(fl_diag_errors(diag), 1);
    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_ptr_nonnull(item);
    ck_assert_str_eq(item->file, "<target>");
    ck_assert_int_eq(item->line, 1);
    ck_assert_int_eq(item->severity, FL_DIAG_ERROR);
    ck_assert_msg(item->col == c->col, "'%s': col %d, expected %d (%s)", c->expr, item->col,
                  c->col, item->msg);
    ck_assert_msg(strstr(item->msg, c->fragment), "'%s': message '%s' lacks '%s'", c->expr,
                  item->msg, c->fragment);
    fl_diag_destroy(&diag);
}
END_TEST

//  Errors in separate terms are all reported, not only the first.
START_TEST(test_target_many_errors)
{
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(fl_target_new("G@os and X@y or E@(", FL_TGT_COMPOUND, diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 3);
    ck_assert_int_eq(fl_diag_item(diag, 0)->col, 1);
    ck_assert_int_eq(fl_diag_item(diag, 1)->col, 10);
    ck_assert_int_eq(fl_diag_item(diag, 2)->col, 19);
    fl_diag_destroy(&diag);

    //  ... up to a limit, then one line with the count of the rest.
    diag = fl_diag_new();
    char expr[600] = "";
    for (int i = 0; i < 50; i++) {
        strcat(expr, i ? " or X@a" : "X@a");
    }
    ck_assert_ptr_null(fl_target_new(expr, FL_TGT_COMPOUND, diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 21);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 20)->msg, "30 more errors"));
    fl_diag_destroy(&diag);

    //  A NULL diag is allowed.
    ck_assert_ptr_null(fl_target_new("and", FL_TGT_COMPOUND, NULL));
    ck_assert_ptr_null(fl_target_new(NULL, FL_TGT_GLOB, NULL));
}
END_TEST

//  Pathological input: length and nesting limits.
START_TEST(test_target_limits)
{
    fl_diag_t *diag = fl_diag_new();
    char *expr = fl_malloc(4098);
    memset(expr, 'a', 4097);
    expr[4097] = '\0';
    ck_assert_ptr_null(fl_target_new(expr, FL_TGT_GLOB, diag));
    ck_assert_int_eq(fl_diag_item(diag, 0)->col, 4097);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "longer than 4096"));
    expr[4096] = '\0';
    fl_target_t *target = fl_target_new(expr, FL_TGT_GLOB, diag);
    ck_assert_ptr_nonnull(target);
    fl_target_destroy(&target);
    fl_diag_destroy(&diag);

    //  64 levels are fine, 65 are not: parentheses ...
    char *nested = fl_malloc(200);
    for (int depth = 64; depth <= 65; depth++) {
        diag = fl_diag_new();
        memset(nested, '(', (size_t) depth);
        nested[depth] = 'a';
        memset(nested + depth + 1, ')', (size_t) depth);
        nested[2 * depth + 1] = '\0';
        target = fl_target_new(nested, FL_TGT_COMPOUND, diag);
        if (depth == 64) {
            ck_assert_ptr_nonnull(target);
            ck_assert(fl_target_match(target, "a", NULL));
        } else {
            ck_assert_ptr_null(target);
            ck_assert_int_eq(fl_diag_item(diag, 0)->col, 65);
            ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "nesting deeper than 64"));
        }
        fl_target_destroy(&target);
        fl_diag_destroy(&diag);
    }
    free(nested);

    //  ... and 'not's (64 of them cancel out).
    char *nots = fl_calloc(1, 65 * 4 + 2);
    for (int i = 0; i < 64; i++) {
        strcat(nots, "not ");
    }
    strcat(nots, "a");
    target = fl_target_new(nots, FL_TGT_COMPOUND, NULL);
    ck_assert_ptr_nonnull(target);
    ck_assert(fl_target_match(target, "a", NULL));
    fl_target_destroy(&target);
    diag = fl_diag_new();
    memmove(nots + 4, nots, strlen(nots) + 1);
    memcpy(nots, "not ", 4);
    ck_assert_ptr_null(fl_target_new(nots, FL_TGT_COMPOUND, diag));
    ck_assert_int_eq(fl_diag_item(diag, 0)->col, 64 * 4 + 1);
    fl_diag_destroy(&diag);
    free(nots);

    //  A long flat chain is not nesting.
    char *chain = fl_calloc(1, 4096);
    strcpy(chain, "a");
    while (strlen(chain) + 5 < 4096) {
        strcat(chain, " or b");
    }
    target = fl_target_new(chain, FL_TGT_COMPOUND, NULL);
    ck_assert_ptr_nonnull(target);
    ck_assert(fl_target_match(target, "b", NULL));
    fl_target_destroy(&target);
    free(chain);
    free(expr);
}
END_TEST

Suite *suite_target(void);

Suite *
suite_target(void)
{
    Suite *s = suite_create("target");
    TCase *tc = tcase_create("target");
    tcase_add_test(tc, test_target_usage);
    tcase_add_test(tc, test_target_type_names);
    tcase_add_loop_test(tc, test_target_match_table, 0, (int) FL_ARRAY_LEN(s_match_cases));
    tcase_add_test(tc, test_target_no_grains);
    tcase_add_test(tc, test_target_is_exact);
    tcase_add_loop_test(tc, test_target_error_table, 0, (int) FL_ARRAY_LEN(s_error_cases));
    tcase_add_test(tc, test_target_many_errors);
    tcase_add_test(tc, test_target_limits);
    suite_add_tcase(s, tc);
    return s;
}
