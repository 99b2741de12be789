/*  check_config.c: typed configuration tables. */
#include "fl_config.h"
#include "fl_json.h"
#include "fl_log.h"
#include "fl_test.h"

#include <signal.h>

Suite *suite_config(void);

static const fl_cfg_spec_t s_spec[] = {
    { "listen", FL_CFG_ENDPOINT, "tcp://*:4506", 0, 0, false, "where the master listens" },
    { "pki_dir", FL_CFG_PATH, "pki", 0, 0, false, "key directory" },
    { "timeout", FL_CFG_INT, "30", 1, 3600, false, "job timeout in seconds" },
    { "log_level", FL_CFG_LOGLEVEL, "notice", 0, 0, false, "log level" },
    { "foreground", FL_CFG_BOOL, "no", 0, 0, false, "stay in the foreground" },
    { "id", FL_CFG_STRING, NULL, 0, 0, false, "minion id" },
    { "grains", FL_CFG_MAP, NULL, 0, 0, false, "static grains" },
    { "masters", FL_CFG_LIST, "[]", 0, 0, false, "extra masters" },
    { "offset", FL_CFG_INT, "0", 0, 0, false, "unbounded integer" },
};

/*  Loads TEXT as "c.yaml" in /etc/fleet. */
static fl_config_t *
s_load(const char *text, fl_diag_t *diag)
{
    return fl_config_load_string("c.yaml", text, "/etc/fleet", s_spec, FL_ARRAY_LEN(s_spec), diag);
}

/*  Canonical usage: a table, a file, typed values. */
START_TEST(test_config_usage)
{
    static const fl_cfg_spec_t spec[] = {
        { "listen", FL_CFG_ENDPOINT, "tcp://*:4506", 0, 0, false, "where the master listens" },
        { "pki_dir", FL_CFG_PATH, "pki", 0, 0, false, "key directory" },
        { "timeout", FL_CFG_INT, "30", 1, 3600, false, "job timeout in seconds" },
        { "log_level", FL_CFG_LOGLEVEL, "notice", 0, 0, false, "log level" },
        { "grains", FL_CFG_MAP, NULL, 0, 0, false, "static grains" },
    };
    char *dir = fl_test_tmpdir();
    char *path = fl_test_write(dir, "master.yaml",
                               "listen: tcp://127.0.0.1:4506\n"
                               "timeout: 90\n"
                               "grains:\n"
                               "  roles: [web]\n");
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *cfg = fl_config_load(path, spec, FL_ARRAY_LEN(spec), diag);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    ck_assert_str_eq(fl_config_file(cfg), path);

    ck_assert_str_eq(fl_config_str(cfg, "listen"), "tcp://127.0.0.1:4506");
    ck_assert(fl_config_is_set(cfg, "listen"));
    ck_assert_int_eq(fl_config_int(cfg, "timeout"), 90);
    /* Defaults: a relative path resolves against the file's directory. */
    char *pki = fl_sprintf("%s/pki", dir);
    ck_assert_str_eq(fl_config_str(cfg, "pki_dir"), pki);
    ck_assert(!fl_config_is_set(cfg, "pki_dir"));
    ck_assert_str_eq(fl_config_str(cfg, "log_level"), "notice");
    ck_assert_int_eq(fl_config_int(cfg, "log_level"), FL_LOG_NOTICE);
    char *grains = fl_json_compact(fl_config_json(cfg, "grains"));
    ck_assert_str_eq(grains, "{\"roles\":[\"web\"]}");
    free(grains);

    fl_config_destroy(&cfg);
    ck_assert_ptr_null(cfg);
    fl_config_destroy(&cfg);
    free(pki);
    fl_diag_destroy(&diag);
    free(path);
    fl_test_tmpdir_free(&dir);
}
END_TEST

START_TEST(test_config_defaults)
{
    static const char *empty[] = { "", "# nothing\n", "---\n", "~\n" };
    for (size_t i = 0; i < FL_ARRAY_LEN(empty); i++) {
        fl_diag_t *diag = fl_diag_new();
        fl_config_t *cfg = s_load(empty[i], diag);
        ck_assert_msg(cfg != NULL, "case %zu failed", i);
        ck_assert_str_eq(fl_config_str(cfg, "listen"), "tcp://*:4506");
        ck_assert_str_eq(fl_config_str(cfg, "pki_dir"), "/etc/fleet/pki");
        ck_assert_int_eq(fl_config_int(cfg, "timeout"), 30);
        ck_assert_str_eq(fl_config_str(cfg, "timeout"), "30");
        ck_assert(!fl_config_bool(cfg, "foreground"));
        ck_assert_str_eq(fl_config_str(cfg, "foreground"), "false");
        ck_assert_ptr_null(fl_config_str(cfg, "id"));
        ck_assert_ptr_null(fl_config_json(cfg, "grains"));
        ck_assert(json_is_array(fl_config_json(cfg, "masters")));
        ck_assert_uint_eq(json_array_size(fl_config_json(cfg, "masters")), 0);
        ck_assert(!fl_config_is_set(cfg, "timeout"));
        fl_config_destroy(&cfg);
        fl_diag_destroy(&diag);
    }
}
END_TEST

/*  Every type, set from the file. */
START_TEST(test_config_values)
{
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *cfg = s_load("listen: ipc://run/master.sock\n"
                              "pki_dir: /var/lib/fleet/pki\n"
                              "timeout: 0x10\n"
                              "log_level: warn\n"
                              "foreground: Yes\n"
                              "id: yes\n"
                              "grains: {a: 1, b: [true, ~]}\n"
                              "masters:\n  - tcp://m1:4506\n  - tcp://m2:4506\n"
                              "offset: -123456789012\n",
                              diag);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_str_eq(fl_config_str(cfg, "listen"), "ipc:///etc/fleet/run/master.sock");
    ck_assert_str_eq(fl_config_str(cfg, "pki_dir"), "/var/lib/fleet/pki");
    ck_assert_int_eq(fl_config_int(cfg, "timeout"), 16);
    ck_assert_str_eq(fl_config_str(cfg, "log_level"), "warning");
    ck_assert_int_eq(fl_config_int(cfg, "log_level"), FL_LOG_WARN);
    ck_assert(fl_config_bool(cfg, "foreground"));
    ck_assert_int_eq(fl_config_int(cfg, "foreground"), 1);
    /* A string key keeps the text: "yes" is not turned into a boolean. */
    ck_assert_str_eq(fl_config_str(cfg, "id"), "yes");
    char *s = fl_json_compact(fl_config_json(cfg, "grains"));
    ck_assert_str_eq(s, "{\"a\":1,\"b\":[true,null]}");
    free(s);
    s = fl_json_compact(fl_config_json(cfg, "masters"));
    ck_assert_str_eq(s, "[\"tcp://m1:4506\",\"tcp://m2:4506\"]");
    free(s);
    ck_assert_int_eq(fl_config_int(cfg, "offset"), -123456789012L);
    for (size_t i = 0; i < FL_ARRAY_LEN(s_spec); i++) {
        ck_assert_msg(fl_config_is_set(cfg, s_spec[i].name), "%s not set", s_spec[i].name);
    }
    fl_config_destroy(&cfg);
    fl_diag_destroy(&diag);
}
END_TEST

/*  A null value unsets a string/path/map/list key, default or not. */
START_TEST(test_config_null_unsets)
{
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *cfg = s_load("pki_dir: ~\nmasters:\nid:\n", diag);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_ptr_null(fl_config_str(cfg, "pki_dir"));
    ck_assert(fl_config_is_set(cfg, "pki_dir"));
    ck_assert_ptr_null(fl_config_json(cfg, "masters"));
    ck_assert_ptr_null(fl_config_str(cfg, "id"));
    fl_config_destroy(&cfg);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_config_endpoints_ok)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        { "tcp://*:4506", "tcp://*:4506" },
        { "tcp://*:*", "tcp://*:*" },
        { "tcp://127.0.0.1:1", "tcp://127.0.0.1:1" },
        { "tcp://master.example.com:65535", "tcp://master.example.com:65535" },
        { "tcp://eth0:4506", "tcp://eth0:4506" },
        { "tcp://[::1]:4506", "tcp://[::1]:4506" },
        { "tcp://[fe80::1%eth0]:4506", "tcp://[fe80::1%eth0]:4506" },
        { "ipc:///run/fleet/master.sock", "ipc:///run/fleet/master.sock" },
        { "ipc://master.sock", "ipc:///etc/fleet/master.sock" },
        { "ipc://@fleet", "ipc://@fleet" },
        { "'tcp://*:4506'", "tcp://*:4506" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        char *text = fl_sprintf("listen: %s\n", cases[i].text);
        fl_diag_t *diag = fl_diag_new();
        fl_config_t *cfg = s_load(text, diag);
        ck_assert_msg(cfg != NULL, "case %zu [%s] refused: %s", i, cases[i].text,
                      fl_diag_count(diag) ? fl_diag_item(diag, 0)->msg : "?");
        ck_assert_str_eq(fl_config_str(cfg, "listen"), cases[i].want);
        fl_config_destroy(&cfg);
        fl_diag_destroy(&diag);
        free(text);
    }
}
END_TEST

/*  Table-driven refusals: exact position, a message fragment and, when
    given, a hint fragment (NULL hint: there must be none, "" : any). */
START_TEST(test_config_errors)
{
    static const struct {
        const char *text;
        int line, col;
        const char *msg;
        const char *hint;
    } cases[] = {
        /* unknown keys */
        { "id: m1\nlistn: tcp://127.0.0.1:4506\n", 2, 1, "unknown key 'listn'",
          "did you mean 'listen'?" },
        { "LISTEN: tcp://*:1\n", 1, 1, "unknown key 'LISTEN'", "did you mean 'listen'?" },
        { "pki-dir: /x\n", 1, 1, "unknown key 'pki-dir'", "did you mean 'pki_dir'?" },
        { "tmeout: 5\n", 1, 1, "unknown key 'tmeout'", "did you mean 'timeout'?" },
        { "colour: blue\n", 1, 1, "unknown key 'colour'", NULL },
        { "x: 1\n", 1, 1, "unknown key 'x'", NULL },
        { "? [a, b]\n: 1\n", 1, 3, "a key must be a plain name", NULL },
        /* root */
        { "- a\n- b\n", 1, 1, "must be a map, found a list", "key: value" },
        { "just text\n", 1, 1, "must be a map, found 'just text'", "" },
        /* integers */
        { "timeout: abc\n", 1, 10, "'timeout' expects an integer, found 'abc'", NULL },
        { "timeout: 0\n", 1, 10, "'timeout' must be between 1 and 3600, found 0", NULL },
        { "timeout: 3601\n", 1, 10, "between 1 and 3600, found 3601", NULL },
        { "timeout: -5\n", 1, 10, "found -5", NULL },
        { "timeout: '30'\n", 1, 10, "expects an integer, found '30'", "without quotes" },
        { "timeout: 1.5\n", 1, 10, "expects an integer, found '1.5'", NULL },
        { "timeout: [1]\n", 1, 10, "expects an integer, found a list", NULL },
        { "timeout:\n", 1, 9, "'timeout' needs a value", NULL },
        { "offset: 99999999999999999999\n", 1, 9, "does not fit in 64 bits", "quote" },
        /* booleans */
        { "foreground: maybe\n", 1, 13, "'foreground' expects a boolean, found 'maybe'", "yes/no" },
        { "foreground: 'yes'\n", 1, 13, "expects a boolean", "without quotes" },
        { "foreground: 1\n", 1, 13, "expects a boolean, found '1'", "" },
        /* log levels */
        { "log_level: verbose\n", 1, 12, "'log_level' expects a log level, found 'verbose'",
          "one of error, warning" },
        { "log_level: inf\n", 1, 12, "expects a log level", "did you mean 'info'?" },
        { "log_level: {a: 1}\n", 1, 12, "expects a log level, found a map", NULL },
        /* endpoints */
        { "listen: tcp://127.0.0.1\n", 1, 9, "'listen' expects an endpoint", ":PORT" },
        { "listen: tcp://127.0.0.1:0\n", 1, 9, "found 'tcp://127.0.0.1:0'", "1 to 65535" },
        { "listen: tcp://127.0.0.1:65536\n", 1, 9, "expects an endpoint", "1 to 65535" },
        { "listen: tcp://127.0.0.1:45x\n", 1, 9, "expects an endpoint", "1 to 65535" },
        { "listen: 'tcp://127.0.0.1:'\n", 1, 9, "expects an endpoint", "1 to 65535" },
        { "listen: tcp://:4506\n", 1, 9, "expects an endpoint", "host is missing" },
        { "listen: tcp://a b:4506\n", 1, 9, "expects an endpoint", "bad character" },
        { "listen: tcp://[::1:4506\n", 1, 9, "expects an endpoint", "[ADDR]" },
        { "listen: tcp://[::1]\n", 1, 9, "expects an endpoint", ":PORT" },
        { "listen: http://m:4506\n", 1, 9, "expects an endpoint", "tcp:// or ipc://" },
        { "listen: ipc://\n", 1, 9, "expects an endpoint", "socket path" },
        { "listen: 4506\n", 1, 9, "found '4506'", "tcp:// or ipc://" },
        { "listen: [tcp://a:1]\n", 1, 9,
          "expects an endpoint like tcp://HOST:PORT or ipc://PATH, found a list", NULL },
        /* strings, paths, maps, lists */
        { "id: {a: 1}\n", 1, 5, "'id' expects a string, found a map", NULL },
        { "pki_dir: ''\n", 1, 10, "'pki_dir' expects a path, found ''", NULL },
        { "pki_dir: [a]\n", 1, 10, "expects a path, found a list", NULL },
        { "grains: [a]\n", 1, 9, "'grains' expects a map, found a list", NULL },
        { "grains: text\n", 1, 9, "expects a map, found 'text'", NULL },
        { "grains: {a: .inf}\n", 1, 13, "JSON cannot hold", "" },
        { "masters: {a: 1}\n", 1, 10, "'masters' expects a list, found a map", NULL },
        /* YAML errors come through with their positions */
        { "timeout: 5\ntimeout: 6\n", 2, 1, "duplicate key 'timeout'", NULL },
        { "id: m1\n\tlisten: x\n", 2, 1, "tab character", "tabs" },
        { "id: 'm1\n", 2, 1, "unexpected end of stream", NULL },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        fl_diag_t *diag = fl_diag_new();
        fl_config_t *cfg = s_load(cases[i].text, diag);
        ck_assert_msg(cfg == NULL, "case %zu [%s] was accepted", i, cases[i].text);
        ck_assert_msg(fl_diag_errors(diag) == 1, "case %zu: %zu errors", i, fl_diag_errors(diag));
        const fl_diag_item_t *item = fl_diag_item(diag, 0);
        ck_assert_str_eq(item->file, "c.yaml");
        ck_assert_msg(item->line == cases[i].line && item->col == cases[i].col,
                      "case %zu: at %d:%d, want %d:%d (%s)", i, item->line, item->col,
                      cases[i].line, cases[i].col, item->msg);
        ck_assert_msg(strstr(item->msg, cases[i].msg) != NULL, "case %zu: msg [%s]", i,
                      item->msg);
        if (!cases[i].hint) {
            ck_assert_msg(item->hint == NULL, "case %zu: unexpected hint [%s]", i, item->hint);
        } else {
            ck_assert_msg(item->hint && strstr(item->hint, cases[i].hint), "case %zu: hint [%s]",
                          i, item->hint ? item->hint : "(none)");
        }
        fl_diag_destroy(&diag);
    }
}
END_TEST

/*  Every error of a file is reported at once, in file order. */
START_TEST(test_config_all_errors)
{
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(s_load("listn: tcp://*:1\ntimeout: 0\nforeground: 2\n", diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 3);
    ck_assert_int_eq(fl_diag_item(diag, 0)->line, 1);
    ck_assert_int_eq(fl_diag_item(diag, 1)->line, 2);
    ck_assert_int_eq(fl_diag_item(diag, 2)->line, 3);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_config_required)
{
    static const fl_cfg_spec_t spec[] = {
        { "id", FL_CFG_STRING, NULL, 0, 0, false, "minion id" },
        { "master", FL_CFG_ENDPOINT, NULL, 0, 0, true, "the master" },
        { "grains", FL_CFG_MAP, NULL, 0, 0, true, "required map" },
    };
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(fl_config_load_string("minion.yaml", "id: m1\n", NULL, spec,
                                             FL_ARRAY_LEN(spec), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 2);
    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_str_eq(item->file, "minion.yaml");
    ck_assert_int_eq(item->line, 1);
    ck_assert_int_eq(item->col, 1);
    ck_assert_str_eq(item->msg, "missing required key 'master' (endpoint)");
    ck_assert_str_eq(fl_diag_item(diag, 1)->msg, "missing required key 'grains' (map)");
    fl_diag_destroy(&diag);

    /* Present but empty is not enough. */
    diag = fl_diag_new();
    ck_assert_ptr_null(fl_config_load_string("minion.yaml", "master: tcp://m:1\ngrains:\n", NULL,
                                             spec, FL_ARRAY_LEN(spec), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    ck_assert_int_eq(fl_diag_item(diag, 0)->line, 2);
    ck_assert_int_eq(fl_diag_item(diag, 0)->col, 8);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "'grains' needs a value"));
    fl_diag_destroy(&diag);

    diag = fl_diag_new();
    fl_config_t *cfg = fl_config_load_string("minion.yaml", "master: tcp://m:1\ngrains: {}\n",
                                             NULL, spec, FL_ARRAY_LEN(spec), diag);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_ptr_null(fl_config_str(cfg, "id"));
    ck_assert_uint_eq(json_object_size(fl_config_json(cfg, "grains")), 0);
    fl_config_destroy(&cfg);
    fl_diag_destroy(&diag);
}
END_TEST

/*  Defaults go through the same conversion: a bad one is reported. */
START_TEST(test_config_bad_default)
{
    static const fl_cfg_spec_t spec[] = {
        { "port", FL_CFG_INT, "70000", 1, 65535, false, "bad default" },
        { "where", FL_CFG_ENDPOINT, "tcp://x", 0, 0, false, "bad default" },
    };
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(
        fl_config_load_string("c.yaml", "", NULL, spec, FL_ARRAY_LEN(spec), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 2);
    ck_assert_str_eq(fl_diag_item(diag, 0)->file, "<default of 'port'>");
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "between 1 and 65535"));
    ck_assert_str_eq(fl_diag_item(diag, 1)->file, "<default of 'where'>");
    fl_diag_destroy(&diag);

    /* The file may fix what the default gets wrong. */
    diag = fl_diag_new();
    fl_config_t *cfg = fl_config_load_string("c.yaml", "port: 80\nwhere: tcp://x:1\n", NULL,
                                             spec, FL_ARRAY_LEN(spec), diag);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_int_eq(fl_config_int(cfg, "port"), 80);
    fl_config_destroy(&cfg);
    fl_diag_destroy(&diag);
}
END_TEST

/*  The CFEngine-style report of a config error, from a real file. */
START_TEST(test_config_report)
{
    char *dir = fl_test_tmpdir();
    char *path = fl_test_write(dir, "master.yaml",
                               "id: m1\ntimeout: 30\nlistn: tcp://127.0.0.1:4506\n");
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(fl_config_load(path, s_spec, FL_ARRAY_LEN(s_spec), diag));
    char *text = fl_diag_format(diag);
    char *want = fl_sprintf("%s:3:1: error: unknown key 'listn'\n"
                            "    listn: tcp://127.0.0.1:4506\n"
                            "    ^\n"
                            "hint: did you mean 'listen'?\n",
                            path);
    ck_assert_str_eq(text, want);
    free(want);
    free(text);
    fl_diag_destroy(&diag);

    /* A missing file is one error naming it. */
    char *missing = fl_sprintf("%s/nope.yaml", dir);
    diag = fl_diag_new();
    ck_assert_ptr_null(fl_config_load(missing, s_spec, FL_ARRAY_LEN(s_spec), diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    ck_assert_str_eq(fl_diag_item(diag, 0)->file, missing);
    fl_diag_destroy(&diag);
    free(missing);
    free(path);
    fl_test_tmpdir_free(&dir);
}
END_TEST

/*  ipc paths are limited by sun_path. */
START_TEST(test_config_ipc_too_long)
{
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    char *text = fl_sprintf("listen: ipc:///%s\n", longpath);
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(s_load(text, diag));
    ck_assert_int_eq(fl_diag_item(diag, 0)->col, 9);
    ck_assert_ptr_nonnull(strstr(fl_diag_item(diag, 0)->msg, "longer than 107"));
    fl_diag_destroy(&diag);
    free(text);
}
END_TEST

START_TEST(test_config_print_spec)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    fl_config_print_spec(s_spec, FL_ARRAY_LEN(s_spec), out);
    fclose(out);
    ck_assert_ptr_nonnull(strstr(buf, "listen"));
    ck_assert_ptr_nonnull(strstr(buf, "endpoint"));
    ck_assert_ptr_nonnull(strstr(buf, "tcp://*:4506"));
    ck_assert_ptr_nonnull(strstr(buf, "job timeout in seconds [1..3600]\n"));
    ck_assert_ptr_nonnull(strstr(buf, "unbounded integer\n"));
    size_t lines = 0;
    for (char *p = buf; *p; p++) {
        lines += *p == '\n';
    }
    ck_assert_uint_eq(lines, FL_ARRAY_LEN(s_spec));
    free(buf);
}
END_TEST

/*  Asking for a key that is not in the table is a programming error. */
START_TEST(test_config_unknown_name_aborts)
{
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *cfg = s_load("", diag);
    ck_assert_ptr_nonnull(cfg);
    fl_config_str(cfg, "no_such_key");
}
END_TEST

START_TEST(test_config_wrong_type_aborts)
{
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *cfg = s_load("", diag);
    ck_assert_ptr_nonnull(cfg);
    fl_config_json(cfg, "timeout");
}
END_TEST

Suite *
suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_config_usage);
    tcase_add_test(tc, test_config_defaults);
    tcase_add_test(tc, test_config_values);
    tcase_add_test(tc, test_config_null_unsets);
    tcase_add_test(tc, test_config_endpoints_ok);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_config_all_errors);
    tcase_add_test(tc, test_config_required);
    tcase_add_test(tc, test_config_bad_default);
    tcase_add_test(tc, test_config_report);
    tcase_add_test(tc, test_config_ipc_too_long);
    tcase_add_test(tc, test_config_print_spec);
    suite_add_tcase(s, tc);
    /* Apart, so that CK_FORK=no CK_RUN_CASE=core can run the rest. */
    TCase *tc_abort = tcase_create("abort");
    tcase_add_test_raise_signal(tc_abort, test_config_unknown_name_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc_abort, test_config_wrong_type_aborts, SIGABRT);
    suite_add_tcase(s, tc_abort);
    return s;
}
