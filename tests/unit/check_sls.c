/*  check_sls.c: the state compiler: declarations, names, include/exclude/
    extend, order, requisites and their _in forms, placeholders, and every
    error with its position. */
#include "fl_json.h"
#include "fl_sls.h"
#include "fl_test.h"
#include "fl_util.h"

Suite *suite_sls(void);

static char *s_dir;

static const char *s_grains_text =
    "{\"os\": \"Debian\", \"id\": \"web1\", \"num_cpus\": 4, \"roles\": [\"web\"],"
    " \"name\": \"grain-name\", \"net\": {\"ip\": \"10.0.0.1\"}}";
static const char *s_pillar_text =
    "{\"web\": {\"port\": 8080, \"user\": \"www\", \"tls\": true}, \"pkgs\": [\"a\", \"b\"],"
    " \"name\": \"pillar-name\", \"empty\": \"\"}";

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

/*  Writes the tree's file REL (creating directories). */
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

/*  FILES: path, text, path, text, ..., NULL. */
static void
s_put_all(const char *const *files)
{
    for (size_t i = 0; files[i]; i += 2) {
        s_put(files[i], files[i + 1]);
    }
}

/*  Compiles the SLS names in NAMES (JSON text) from the tree. */
static json_t *
s_compile(const char *names, fl_diag_t *diag)
{
    json_t *grains = json_loads(s_grains_text, 0, NULL);
    json_t *pillar = json_loads(s_pillar_text, 0, NULL);
    json_t *list = json_loads(names, 0, NULL);
    ck_assert_ptr_nonnull(list);
    fl_src_t *src = fl_src_dir_new(s_dir);
    json_t *chunks = fl_sls_compile(src, list, "web1", grains, pillar, diag);
    fl_src_destroy(&src);
    json_decref(list);
    json_decref(grains);
    json_decref(pillar);
    return chunks;
}

/*  One line per chunk: "state.fun name[ @id][ args][ require=[..]...]",
    joined with "; ". */
static char *
s_summary(const json_t *chunks)
{
    static const char *const kinds[] = { "require", "watch", "onchanges", "onfail", "prereq" };
    char *out = fl_strdup("");
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c) {
        const char *id = fl_json_str(c, "id");
        const char *name = fl_json_str(c, "name");
        char *line = fl_sprintf("%s%s.%s %s", i ? "; " : "", fl_json_str(c, "state"),
                                fl_json_str(c, "fun"), name);
        char *tmp;
        if (strcmp(id, name) != 0) {
            tmp = fl_sprintf("%s @%s", line, id);
            free(line);
            line = tmp;
        }
        json_t *args = json_object_get(c, "args");
        if (json_object_size(args) > 0) {
            char *a = fl_json_compact(args);
            tmp = fl_sprintf("%s %s", line, a);
            free(a);
            free(line);
            line = tmp;
        }
        for (size_t k = 0; k < FL_ARRAY_LEN(kinds); k++) {
            json_t *l = json_object_get(c, kinds[k]);
            ck_assert_msg(json_is_array(l), "chunk %zu lacks '%s'", i, kinds[k]);
            if (json_array_size(l) > 0) {
                char *a = fl_json_compact(l);
                tmp = fl_sprintf("%s %s=%s", line, kinds[k], a);
                free(a);
                free(line);
                line = tmp;
            }
        }
        tmp = fl_sprintf("%s%s", out, line);
        free(out);
        free(line);
        out = tmp;
    }
    return out;
}

static char *
s_diag_text(fl_diag_t *diag)
{
    return fl_diag_format(diag);
}

/*  Canonical usage: compile SLS names into execution-ordered low chunks
    whose requisites are indices into the returned array. */
START_TEST(test_sls_usage)
{
    s_put("web/init.sls", "include:\n"
                          "  - .conf\n"
                          "nginx:\n"
                          "  service.running:\n"
                          "    - enable: true\n"
                          "    - watch:\n"
                          "      - file: /etc/nginx/nginx.conf\n"
                          "  pkg.installed: []\n");
    s_put("web/conf.sls", "nginx_conf:\n"
                          "  file.managed:\n"
                          "    - name: /etc/nginx/nginx.conf\n"
                          "    - source: salt://web/nginx.conf\n"
                          "    - require:\n"
                          "      - pkg: nginx\n");
    fl_diag_t *diag = fl_diag_new();
    json_t *chunks = s_compile("[\"web\"]", diag);
    if (!chunks) {
        char *why = s_diag_text(diag);
        ck_abort_msg("compile failed: %s", why);
    }
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    ck_assert_uint_eq(json_array_size(chunks), 3);
    char *s = fl_json_compact(json_array_get(chunks, 0));
    ck_assert_str_eq(s, "{\"args\":{},\"col\":3,\"file\":\"web/init.sls\",\"fun\":\"installed\","
                        "\"id\":\"nginx\",\"line\":8,\"name\":\"nginx\",\"onchanges\":[],"
                        "\"onfail\":[],\"order\":3,\"prereq\":[],\"require\":[],\"sls\":\"web\","
                        "\"state\":\"pkg\",\"watch\":[]}");
    free(s);
    s = fl_json_compact(json_array_get(chunks, 1));
    ck_assert_str_eq(s, "{\"args\":{\"source\":\"salt://web/nginx.conf\"},\"col\":3,"
                        "\"file\":\"web/conf.sls\",\"fun\":\"managed\",\"id\":\"nginx_conf\","
                        "\"line\":2,\"name\":\"/etc/nginx/nginx.conf\",\"onchanges\":[],"
                        "\"onfail\":[],\"order\":1,\"prereq\":[],\"require\":[0],"
                        "\"sls\":\"web.conf\",\"state\":\"file\",\"watch\":[]}");
    free(s);
    s = fl_json_compact(json_array_get(chunks, 2));
    ck_assert_str_eq(s, "{\"args\":{\"enable\":true},\"col\":3,\"file\":\"web/init.sls\","
                        "\"fun\":\"running\",\"id\":\"nginx\",\"line\":4,\"name\":\"nginx\","
                        "\"onchanges\":[],\"onfail\":[],\"order\":2,\"prereq\":[],"
                        "\"require\":[],\"sls\":\"web\",\"state\":\"service\",\"watch\":[1]}");
    free(s);
    json_decref(chunks);
    fl_diag_destroy(&diag);
}
END_TEST

typedef struct {
    const char *label;
    const char *files[12];
    const char *sls;
    const char *expect;
} s_ok_case_t;

static const s_ok_case_t s_ok[] = {
    { "short form", { "a.sls", "vim: pkg.installed\n", NULL }, "[\"a\"]", "pkg.installed vim" },
    { "module with its function in the list",
      { "a.sls", "vim:\n  pkg:\n    - installed\n    - version: 1.2\n", NULL }, "[\"a\"]",
      "pkg.installed vim {\"version\":1.2}" },
    { "name argument",
      { "a.sls", "cfg:\n  file.managed:\n    - name: /etc/a\n    - mode: '0644'\n", NULL },
      "[\"a\"]", "file.managed /etc/a @cfg {\"mode\":\"0644\"}" },
    { "numeric name kept as written",
      { "a.sls", "port:\n  cmd.run:\n    - name: 0644\n", NULL }, "[\"a\"]",
      "cmd.run 0644 @port" },
    { "two modules in one ID",
      { "a.sls", "nginx:\n  pkg.installed: []\n  service.running:\n    - enable: true\n", NULL },
      "[\"a\"]", "pkg.installed nginx; service.running nginx {\"enable\":true}" },
    { "empty argument list", { "a.sls", "nginx:\n  pkg.installed:\n", NULL }, "[\"a\"]",
      "pkg.installed nginx" },
    { "empty SLS file", { "a.sls", "# nothing\n", "b.sls", "x: pkg.installed\n", NULL },
      "[\"a\", \"b\"]", "pkg.installed x" },
    { "names: strings and maps",
      { "a.sls",
        "pkgs:\n  pkg.installed:\n    - names:\n      - vim\n      - git:\n        - version: 2\n"
        "      - curl\n    - refresh: false\n",
        NULL },
      "[\"a\"]",
      "pkg.installed vim @pkgs {\"refresh\":false}; pkg.installed git @pkgs "
      "{\"refresh\":false,\"version\":2}; pkg.installed curl @pkgs {\"refresh\":false}" },
    { "names wins over name",
      { "a.sls", "x:\n  pkg.installed:\n    - name: ignored\n    - names: [a, b]\n", NULL },
      "[\"a\"]", "pkg.installed a @x; pkg.installed b @x" },
    { "empty names gives no state",
      { "a.sls", "x:\n  pkg.installed:\n    - names: []\ny: pkg.removed\n", NULL }, "[\"a\"]",
      "pkg.removed y" },
    { "include comes first",
      { "web.sls", "include:\n  - core\nnginx: pkg.installed\n", "core/init.sls",
        "vim: pkg.installed\n", NULL },
      "[\"web\"]", "pkg.installed vim; pkg.installed nginx" },
    { "include written last still comes first",
      { "web.sls", "nginx: pkg.installed\ninclude: [core]\n", "core.sls", "vim: pkg.installed\n",
        NULL },
      "[\"web\"]", "pkg.installed vim; pkg.installed nginx" },
    { "include loops and repeats load once",
      { "a.sls", "include: [b, c]\nx: pkg.installed\n", "b.sls",
        "include: [a, c]\ny: pkg.installed\n", "c.sls", "z: pkg.installed\n", NULL },
      "[\"a\", \"c\", \"a\"]", "pkg.installed z; pkg.installed y; pkg.installed x" },
    { "relative includes",
      { "web/init.sls", "include:\n  - .server\nw: pkg.installed\n", "web/server.sls",
        "include:\n  - .common\n  - ..core\ns: pkg.installed\n", "web/common.sls",
        "c: pkg.installed\n", "core.sls", "k: pkg.installed\n", NULL },
      "[\"web\"]", "pkg.installed c; pkg.installed k; pkg.installed s; pkg.installed w" },
    { "NAME.sls wins over NAME/init.sls",
      { "a.sls", "x: pkg.installed\n", "a/init.sls", "y: pkg.installed\n", NULL }, "[\"a\"]",
      "pkg.installed x" },
    { "exclude an SLS",
      { "a.sls", "include: [b, c]\nexclude:\n  - sls: b\nx: pkg.installed\n", "b.sls",
        "y: pkg.installed\n", "c.sls", "z: pkg.installed\n", NULL },
      "[\"a\"]", "pkg.installed z; pkg.installed x" },
    { "exclude an ID and a bare SLS name",
      { "a.sls", "include: [b, c]\nexclude:\n  - id: y1\n  - c\nx: pkg.installed\n", "b.sls",
        "y1: pkg.installed\ny2: pkg.installed\n", "c.sls", "z: pkg.installed\n", NULL },
      "[\"a\"]", "pkg.installed y2; pkg.installed x" },
    { "extend replaces, appends requisites, adds a module",
      { "a.sls",
        "include: [b]\nextend:\n  cfg:\n    file:\n      - source: salt://new\n"
        "      - require:\n        - pkg: vim\n    service.running:\n      - name: svc\n"
        "vim: pkg.installed\n",
        "b.sls",
        "cfg:\n  file.managed:\n    - name: /etc/cfg\n    - source: salt://old\n"
        "    - require:\n      - pkg: git\ngit: pkg.installed\n",
        NULL },
      "[\"a\"]",
      "pkg.installed git; pkg.installed vim; file.managed /etc/cfg @cfg "
      "{\"source\":\"salt://new\"} require=[0,1]; service.running svc @cfg" },
    { "extend replaces the function",
      { "a.sls", "extend:\n  d:\n    file.absent: []\nd:\n  file.directory:\n    - name: /x\n",
        NULL },
      "[\"a\"]", "file.absent /x @d" },
    { "order: first, N, none, negative, last",
      { "a.sls",
        "a1:\n  pkg.installed:\n    - order: last\na2: pkg.installed\na3:\n  pkg.installed:\n"
        "    - order: 2\na4:\n  pkg.installed:\n    - order: first\na5:\n  pkg.installed:\n"
        "    - order: 1\na6:\n  pkg.installed:\n    - order: -1\na7: pkg.installed\n"
        "a8:\n  pkg.installed:\n    - order: -2\n",
        NULL },
      "[\"a\"]",
      "pkg.installed a4; pkg.installed a5; pkg.installed a3; pkg.installed a2; "
      "pkg.installed a7; pkg.installed a8; pkg.installed a6; pkg.installed a1" },
    { "order across names",
      { "a.sls", "x:\n  pkg.installed:\n    - names: [p, q]\ny:\n  pkg.installed:\n"
                 "    - order: 1\n",
        NULL },
      "[\"a\"]", "pkg.installed y; pkg.installed p @x; pkg.installed q @x" },
    { "require moves the required state first",
      { "a.sls", "first:\n  cmd.run:\n    - name: echo 1\n    - require:\n      - pkg: vim\n"
                 "vim: pkg.installed\n",
        NULL },
      "[\"a\"]", "pkg.installed vim; cmd.run echo 1 @first require=[0]" },
    { "require by name, by id, by bare ID and by sls",
      { "a.sls",
        "include: [b]\nuser:\n  cmd.run:\n    - name: go\n    - require:\n"
        "      - file: /etc/conf\n      - id: svc\n      - pkgs\n      - sls: b\n",
        "b.sls",
        "conf:\n  file.managed:\n    - name: /etc/conf\nsvc:\n  service.running: []\n"
        "pkgs: pkg.installed\n",
        NULL },
      "[\"a\"]",
      "file.managed /etc/conf @conf; service.running svc; pkg.installed pkgs; cmd.run go @user "
      "require=[0,1,2]" },
    { "id requisite matches every module of the ID",
      { "a.sls", "n:\n  pkg.installed: []\n  service.running: []\nr:\n  cmd.run:\n"
                 "    - require:\n      - id: n\n",
        NULL },
      "[\"a\"]", "pkg.installed n; service.running n; cmd.run r require=[0,1]" },
    { "sls requisite on its own SLS skips itself",
      { "a.sls", "x: pkg.installed\ny:\n  cmd.run:\n    - require:\n      - sls: a\n", NULL },
      "[\"a\"]", "pkg.installed x; cmd.run y require=[0]" },
    { "glob requisite",
      { "a.sls",
        "f1:\n  file.managed:\n    - name: /etc/app/a\nf2:\n  file.managed:\n"
        "    - name: /etc/app/b\nf3:\n  file.managed:\n    - name: /srv/c\nsvc:\n"
        "  service.running:\n    - watch:\n      - file: /etc/app/*\n",
        NULL },
      "[\"a\"]",
      "file.managed /etc/app/a @f1; file.managed /etc/app/b @f2; file.managed /srv/c @f3; "
      "service.running svc watch=[0,1]" },
    { "watch orders like require",
      { "a.sls", "svc:\n  service.running:\n    - watch:\n      - file: cfg\ncfg:\n"
                 "  file.managed:\n    - name: /etc/x\n",
        NULL },
      "[\"a\"]", "file.managed /etc/x @cfg; service.running svc watch=[0]" },
    { "watch_in and require_in",
      { "a.sls",
        "cfg:\n  file.managed:\n    - name: /etc/nginx.conf\n    - watch_in:\n"
        "      - service: nginx\n    - require_in:\n      - id: site\nnginx:\n"
        "  service.running: []\nsite:\n  file.managed:\n    - name: /srv/site\n",
        NULL },
      "[\"a\"]",
      "file.managed /etc/nginx.conf @cfg; service.running nginx watch=[0]; "
      "file.managed /srv/site @site require=[0]" },
    { "watch_in moves the watched state first",
      { "a.sls", "nginx:\n  service.running: []\ncfg:\n  file.managed:\n    - watch_in:\n"
                 "      - service: nginx\n",
        NULL },
      "[\"a\"]", "file.managed cfg; service.running nginx watch=[0]" },
    { "onchanges, onfail and their _in forms",
      { "a.sls",
        "build:\n  cmd.run:\n    - name: make\nnotify:\n  cmd.run:\n    - name: mail ok\n"
        "    - onchanges:\n      - cmd: build\nrollback:\n  cmd.run:\n    - name: undo\n"
        "    - onfail:\n      - cmd: make\ncleanup:\n  cmd.run:\n    - name: rm tmp\n"
        "    - onchanges_in:\n      - cmd: mail ok\n    - onfail_in:\n      - cmd: rollback\n",
        NULL },
      "[\"a\"]",
      "cmd.run make @build; cmd.run rm tmp @cleanup; cmd.run mail ok @notify onchanges=[0,1]; "
      "cmd.run undo @rollback onfail=[0,1]" },
    { "prereq runs before its target, which keeps its place",
      { "a.sls",
        "site:\n  file.managed:\n    - name: /srv/site\nother:\n  cmd.run:\n"
        "    - name: echo other\nstop:\n  service.dead:\n    - name: web\n    - prereq:\n"
        "      - file: site\n",
        NULL },
      "[\"a\"]",
      "service.dead web @stop prereq=[1]; file.managed /srv/site @site; "
      "cmd.run echo other @other" },
    { "prereq_in",
      { "a.sls", "site:\n  file.managed:\n    - name: /srv/site\n    - prereq_in:\n"
                 "      - service: stop\nstop:\n  service.dead:\n    - name: web\n",
        NULL },
      "[\"a\"]", "service.dead web @stop prereq=[1]; file.managed /srv/site @site" },
    { "a requisite on an ID matches every name; on a name only that one",
      { "a.sls", "pkgs:\n  pkg.installed:\n    - names: [a, b]\nrun:\n  cmd.run:\n"
                 "    - require:\n      - pkg: pkgs\n    - watch:\n      - pkg: b\n",
        NULL },
      "[\"a\"]",
      "pkg.installed a @pkgs; pkg.installed b @pkgs; cmd.run run require=[0,1] watch=[1]" },
    { "requisites given per name",
      { "a.sls", "v: pkg.installed\nf:\n  file.managed:\n    - names:\n      - /a\n"
                 "      - /b:\n        - require:\n          - pkg: v\n        - mode: 1\n",
        NULL },
      "[\"a\"]",
      "pkg.installed v; file.managed /a @f; file.managed /b @f {\"mode\":1} require=[0]" },
    { "order: N with a require on a later state",
      { "a.sls", "late: pkg.installed\nearly:\n  pkg.installed:\n    - order: 1\n"
                 "    - require:\n      - pkg: late\n",
        NULL },
      "[\"a\"]", "pkg.installed late; pkg.installed early require=[0]" },
    { "unless, onlyif, creates, runas, cwd, env are arguments",
      { "a.sls",
        "x:\n  cmd.run:\n    - name: make\n    - unless: test -f /x\n    - onlyif: true\n"
        "    - creates: /x\n    - runas: bob\n    - cwd: /src\n    - env:\n      - A: b\n",
        NULL },
      "[\"a\"]",
      "cmd.run make @x {\"creates\":\"/x\",\"cwd\":\"/src\",\"env\":[{\"A\":\"b\"}],"
      "\"onlyif\":true,\"runas\":\"bob\",\"unless\":\"test -f /x\"}" },
    { "placeholders: typed, interpolated, pillar before grains",
      { "a.sls",
        "web:\n  file.managed:\n    - name: /etc/((web:user)).conf\n    - port: ((web:port))\n"
        "    - tls: (( web:tls ))\n    - url: \"http://((net:ip)):((web:port))/\"\n"
        "    - pkgs: ((pkgs))\n    - who: ((name))\n    - os: ((os))\n"
        "    - quoted: '((web:port))'\n    - shell: echo $((1+2)) $((x)) ((1))\n"
        "    - nested:\n        list: [((num_cpus)), x]\n    - text: !!str ((num_cpus))\n",
        NULL },
      "[\"a\"]",
      "file.managed /etc/www.conf @web {\"nested\":{\"list\":[4,\"x\"]},\"os\":\"Debian\","
      "\"pkgs\":[\"a\",\"b\"],\"port\":8080,\"quoted\":8080,\"shell\":\"echo $((1+2)) $((x)) "
      "((1))\",\"text\":\"4\",\"tls\":true,\"url\":\"http://10.0.0.1:8080/\","
      "\"who\":\"pillar-name\"}" },
    { "placeholders in names and requisite targets",
      { "a.sls", "svc:\n  pkg.installed:\n    - names:\n      - ((os))\n      - ((web:user))\n"
                 "r:\n  cmd.run:\n    - require:\n      - pkg: ((web:user))\n",
        NULL },
      "[\"a\"]", "pkg.installed Debian @svc; pkg.installed www @svc; cmd.run r require=[1]" },
    { "template rendering with grains, pillar, sls and id",
      { "web/tpl.sls",
        "{# a comment #}\npkg_{{ grains.os }}:\n  pkg.installed:\n"
        "    - name: {{ pillar.web.user }}\n"
        "    - from: {{ sls }}\n    - minion: {{ id }}\n",
        NULL },
      "[\"web.tpl\"]", "pkg.installed www @pkg_Debian {\"from\":\"web.tpl\",\"minion\":\"web1\"}" },
};

START_TEST(test_sls_ok)
{
    const s_ok_case_t *c = &s_ok[_i];
    s_put_all(c->files);
    fl_diag_t *diag = fl_diag_new();
    json_t *chunks = s_compile(c->sls, diag);
    if (!chunks) {
        char *why = s_diag_text(diag);
        ck_abort_msg("%s: compile failed:\n%s", c->label, why);
    }
    ck_assert_msg(fl_diag_count(diag) == 0, "%s: diagnostics", c->label);
    char *got = s_summary(chunks);
    ck_assert_msg(strcmp(got, c->expect) == 0, "%s:\n got [%s]\nwant [%s]", c->label, got,
                  c->expect);
    free(got);
    json_decref(chunks);
    fl_diag_destroy(&diag);
}
END_TEST

typedef struct {
    const char *label;
    const char *files[8];
    const char *file;
    int line, col;
    const char *fragment;
} s_bad_case_t;

static const s_bad_case_t s_bad[] = {
    { "duplicate ID across files",
      { "a.sls", "include: [b]\nnginx: pkg.installed\n", "b.sls", "\nnginx: pkg.removed\n",
        NULL },
      "a.sls", 2, 1, "duplicate ID 'nginx' (also defined in b.sls at line 2, column 1)" },
    { "duplicate key", { "a.sls", "x:\n  pkg.installed: []\n  pkg.installed: []\n", NULL },
      "a.sls", 3, 3, "duplicate key 'pkg.installed'" },
    { "two functions of one module",
      { "a.sls", "x:\n  file.managed: []\n  file.directory: []\n", NULL }, "a.sls", 3, 3,
      "ID 'x' declares two functions of module 'file': 'file.managed' (line 2, column 3) and "
      "'file.directory'" },
    { "two functions in one list",
      { "a.sls", "x:\n  file:\n    - managed\n    - directory\n", NULL }, "a.sls", 4, 7,
      "two functions of module 'file': 'managed' and 'directory'" },
    { "function name with a function in the list",
      { "a.sls", "x:\n  file.managed:\n    - directory\n", NULL }, "a.sls", 3, 7,
      "two functions of module 'file'" },
    { "ID value is a list", { "a.sls", "x:\n  - pkg.installed\n", NULL }, "a.sls", 2, 3,
      "the value of ID 'x' must be a map of state functions" },
    { "ID value is not mod.fun", { "a.sls", "x: installed\n", NULL }, "a.sls", 1, 4,
      "ID 'x': 'installed' is not a state function" },
    { "ID value is a number", { "a.sls", "x: 5\n", NULL }, "a.sls", 1, 4,
      "'5' is not a state function" },
    { "ID value is empty", { "a.sls", "x:\ny: pkg.installed\n", NULL }, "a.sls", 1, 3,
      "the value of ID 'x' must be a map" },
    { "argument is a two-key map",
      { "a.sls", "x:\n  file.managed:\n    - name: a\n      mode: 1\n", NULL }, "a.sls", 3, 7,
      "an argument of 'file.managed' in ID 'x' must be a one-key map" },
    { "argument is a scalar", { "a.sls", "x:\n  file.managed:\n    - /etc/x\n", NULL }, "a.sls",
      3, 7, "must be a one-key map" },
    { "arguments are a map", { "a.sls", "x:\n  file.managed:\n    name: y\n", NULL }, "a.sls", 3,
      5, "the arguments of 'file.managed' in ID 'x' must be a list" },
    { "duplicate argument",
      { "a.sls", "x:\n  file.managed:\n    - mode: 1\n    - mode: 2\n", NULL }, "a.sls", 4, 7,
      "duplicate argument 'mode' (first at line 3, column 7)" },
    { "module without a function", { "a.sls", "x:\n  pkg:\n    - name: vim\n", NULL }, "a.sls",
      2, 3, "'pkg' in ID 'x' names no function" },
    { "requisite written at the ID level",
      { "a.sls", "x:\n  pkg.installed: []\n  require:\n    - pkg: y\n", NULL }, "a.sls", 3, 3,
      "'require' in ID 'x' names no function" },
    { "function name with a bad character", { "a.sls", "x:\n  file.man-aged: []\n", NULL },
      "a.sls", 2, 3, "'file.man-aged' in ID 'x' is not a state function" },
    { "function name with two dots", { "a.sls", "x:\n  file.a.b: []\n", NULL }, "a.sls", 2, 3,
      "is not a state function" },
    { "require naming nothing",
      { "a.sls", "x:\n  cmd.run:\n    - require:\n      - file: /etc/nope\n", NULL }, "a.sls", 4,
      9, "require: file: /etc/nope matches no state" },
    { "require naming a state of another module",
      { "a.sls", "vim: pkg.installed\nx:\n  cmd.run:\n    - require:\n      - file: vim\n",
        NULL },
      "a.sls", 5, 9, "require: file: vim matches no state" },
    { "watch_in naming nothing",
      { "a.sls", "x:\n  cmd.run:\n    - watch_in:\n      - service: nope\n", NULL }, "a.sls", 4,
      9, "watch_in: service: nope matches no state" },
    { "bare ID naming nothing",
      { "a.sls", "x:\n  cmd.run:\n    - onchanges:\n      - nope\n", NULL }, "a.sls", 4, 9,
      "onchanges: id: nope matches no state" },
    { "sls requisite on an SLS not loaded",
      { "a.sls", "x:\n  cmd.run:\n    - prereq:\n      - sls: other\n", NULL }, "a.sls", 4, 9,
      "prereq: sls: other matches no state" },
    { "requisite on an excluded state",
      { "a.sls", "exclude:\n  - id: v\nv: pkg.installed\nx:\n  cmd.run:\n    - onfail:\n"
                 "      - pkg: v\n",
        NULL },
      "a.sls", 7, 9, "onfail: pkg: v matches no state" },
    { "include of a missing SLS", { "a.sls", "include:\n  - nope\n", NULL }, "a.sls", 2, 5,
      "no SLS 'nope'" },
    { "include of a missing nested SLS", { "a.sls", "include:\n  - web.nope\n", NULL }, "a.sls",
      2, 5, "(neither web/nope.sls nor web/nope/init.sls)" },
    { "missing SLS reported where it is included",
      { "a.sls", "include: [b]\n", "b.sls", "\ninclude:\n  - .c\n", NULL }, "b.sls", 3, 5,
      "no SLS 'c'" },
    { "relative include above the top", { "a.sls", "include:\n  - ..x\n", NULL }, "a.sls", 2,
      5, "relative include '..x' in 'a' goes above the top of the tree" },
    { "include that is not a list", { "a.sls", "include: web\n", NULL }, "a.sls", 1, 10,
      "'include' must be a list of SLS names" },
    { "include of a bad name", { "a.sls", "include:\n  - a..b\n", NULL }, "a.sls", 2, 5,
      "invalid SLS name 'a..b'" },
    { "extend of an unknown ID",
      { "a.sls", "extend:\n  nope:\n    file:\n      - mode: 1\n", NULL }, "a.sls", 2, 3,
      "extend of unknown ID 'nope'" },
    { "extend adding a module without a function",
      { "a.sls", "extend:\n  x:\n    service:\n      - enable: true\nx: pkg.installed\n", NULL },
      "a.sls", 3, 5, "extend adds 'service' to ID 'x' without a function" },
    { "unresolved placeholder",
      { "a.sls", "x:\n  file.managed:\n    - mode: ((nope:x))\n", NULL }, "a.sls", 3, 13,
      "unresolved placeholder ((nope:x))" },
    { "unresolved placeholder in a string",
      { "a.sls", "x:\n  file.managed:\n    - name: /etc/((missing))/x\n", NULL }, "a.sls", 3,
      13, "unresolved placeholder ((missing))" },
    { "placeholder giving an empty name",
      { "a.sls", "x:\n  file.managed:\n    - name: ((empty))\n", NULL }, "a.sls", 3, 13,
      "name must be a non-empty string" },
    { "null name", { "a.sls", "x:\n  file.managed:\n    - name: ~\n", NULL }, "a.sls", 3, 13,
      "name must be a non-empty string" },
    { "null requisite target",
      { "a.sls", "x:\n  file.managed:\n    - require:\n      - file: null\n", NULL }, "a.sls", 4,
      15, "a requisite target must be a non-empty string" },
    { "placeholder giving a list as a name",
      { "a.sls", "x:\n  file.managed:\n    - name: ((pkgs))\n", NULL }, "a.sls", 3, 13,
      "a list or a map" },
    { "requisite cycle",
      { "a.sls",
        "/etc/a:\n  file.managed:\n    - require:\n      - service: nginx\nnginx:\n"
        "  service.running:\n    - require:\n      - file: /etc/a\n",
        NULL },
      "a.sls", 2, 3,
      "requisite cycle: file.managed /etc/a -> service.running nginx -> file.managed /etc/a" },
    { "requisite cycle through _in forms",
      { "a.sls",
        "a:\n  cmd.run:\n    - watch_in:\n      - cmd: b\nb:\n  cmd.run:\n    - require_in:\n"
        "      - cmd: c\nc:\n  cmd.run:\n    - onchanges_in:\n      - cmd: a\n",
        NULL },
      "a.sls", 2, 3, "requisite cycle: cmd.run a -> cmd.run c -> cmd.run b -> cmd.run a" },
    { "a state requiring itself",
      { "a.sls", "x:\n  cmd.run:\n    - require:\n      - cmd: x\n", NULL }, "a.sls", 2, 3,
      "requisite cycle: cmd.run x -> cmd.run x" },
    { "prereq and require on the same state",
      { "a.sls", "a:\n  cmd.run:\n    - prereq:\n      - cmd: b\n    - require:\n"
                 "      - cmd: b\nb: cmd.run\n",
        NULL },
      "a.sls", 2, 3, "requisite cycle: cmd.run a -> cmd.run b -> cmd.run a" },
    { "unsupported requisite",
      { "a.sls", "y: file.managed\nx:\n  file.managed:\n    - use:\n      - file: y\n", NULL },
      "a.sls", 4, 7, "requisite 'use' is not supported" },
    { "bad order", { "a.sls", "x:\n  pkg.installed:\n    - order: soon\n", NULL }, "a.sls", 3,
      14, "order must be a number, 'first' or 'last'" },
    { "names that is not a list",
      { "a.sls", "x:\n  pkg.installed:\n    - names: vim\n", NULL }, "a.sls", 3, 14,
      "'names' must be a list" },
    { "name set for one name",
      { "a.sls", "x:\n  pkg.installed:\n    - names:\n      - a:\n        - name: b\n", NULL },
      "a.sls", 5, 11, "'name' cannot be set for one name" },
    { "requisites that are not a list",
      { "a.sls", "x:\n  pkg.installed:\n    - require: pkg\n", NULL }, "a.sls", 3, 16,
      "'require' must be a list of requisites" },
    { "requisite that is a list",
      { "a.sls", "x:\n  pkg.installed:\n    - require:\n      - [a]\n", NULL }, "a.sls", 4, 9,
      "a requisite must be a one-key map or an ID" },
    { "SLS that is a list", { "a.sls", "- a\n- b\n", NULL }, "a.sls", 1, 1,
      "an SLS file must be a map of IDs" },
    { "exclude item that is a list", { "a.sls", "exclude:\n  - [x]\n", NULL }, "a.sls", 2, 5,
      "an exclude item must be" },
    { "exclude that is a map", { "a.sls", "exclude:\n  sls: x\n", NULL }, "a.sls", 2, 3,
      "'exclude' must be a list" },
    { "YAML syntax error", { "a.sls", "x: [a,\n", NULL }, "a.sls", 0, 0, "" },
};

START_TEST(test_sls_bad)
{
    const s_bad_case_t *c = &s_bad[_i];
    s_put_all(c->files);
    fl_diag_t *diag = fl_diag_new();
    json_t *chunks = s_compile("[\"a\"]", diag);
    char *all = s_diag_text(diag);
    ck_assert_msg(!chunks, "%s: compiled", c->label);
    ck_assert_msg(fl_diag_errors(diag) > 0, "%s: no error", c->label);
    bool found = false;
    for (size_t i = 0; i < fl_diag_count(diag) && !found; i++) {
        const fl_diag_item_t *it = fl_diag_item(diag, i);
        found = it->severity == FL_DIAG_ERROR && strcmp(it->file, c->file) == 0 &&
                (c->line == 0 || (it->line == c->line && it->col == c->col)) &&
                strstr(it->msg, c->fragment);
    }
    ck_assert_msg(found, "%s: want %s:%d:%d [%s], got:\n%s", c->label, c->file, c->line, c->col,
                  c->fragment, all);
    free(all);
    fl_diag_destroy(&diag);
}
END_TEST

/*  Errors are collected, not stopped at: one run reports them all. */
START_TEST(test_sls_errors_together)
{
    s_put("a.sls", "include: [b, nope]\n"
                   "x:\n"
                   "  pkg:\n"
                   "    - name: vim\n"
                   "y:\n"
                   "  cmd.run:\n"
                   "    - name: ((nope))\n"
                   "    - require:\n"
                   "      - pkg: zzz\n");
    s_put("b.sls", "q: [1]\n");
    fl_diag_t *diag = fl_diag_new();
    ck_assert_ptr_null(s_compile("[\"a\", \"missing\"]", diag));
    char *all = s_diag_text(diag);
    ck_assert_msg(fl_diag_errors(diag) == 5, "%s", all);
    ck_assert_ptr_nonnull(strstr(all, "b.sls:1:4: error: the value of ID 'q'"));
    ck_assert_ptr_nonnull(strstr(all, "a.sls:1:14: error: no SLS 'nope'"));
    ck_assert_ptr_nonnull(strstr(all, "a.sls:3:3: error: 'pkg' in ID 'x' names no function"));
    ck_assert_ptr_nonnull(strstr(all, "a.sls:7:13: error: unresolved placeholder ((nope))"));
    ck_assert_ptr_nonnull(strstr(all, "no SLS 'missing' in "));
    free(all);
    fl_diag_destroy(&diag);
}
END_TEST

START_TEST(test_sls_names_arg)
{
    fl_diag_t *diag = fl_diag_new();
    fl_src_t *src = fl_src_dir_new(s_dir);
    json_t *bad = json_pack("[s, i]", "x", 1);
    ck_assert_ptr_null(fl_sls_compile(src, bad, "m", NULL, NULL, diag));
    json_decref(bad);
    bad = json_string("x");
    ck_assert_ptr_null(fl_sls_compile(src, bad, "m", NULL, NULL, diag));
    json_decref(bad);
    bad = json_pack("[s]", "../etc");
    ck_assert_ptr_null(fl_sls_compile(src, bad, "m", NULL, NULL, diag));
    json_decref(bad);
    /* "x" does not exist, 1 is not a name, "x" is not a list, "../etc" is
       not a name. */
    ck_assert_uint_eq(fl_diag_errors(diag), 4);
    /* Nothing named: nothing to do. */
    json_t *none = json_array();
    json_t *chunks = fl_sls_compile(src, none, "m", NULL, NULL, diag);
    ck_assert_ptr_nonnull(chunks);
    ck_assert_uint_eq(json_array_size(chunks), 0);
    json_decref(chunks);
    json_decref(none);
    fl_src_destroy(&src);
    fl_diag_destroy(&diag);
}
END_TEST

/*  A long require chain is walked without recursion; the order field
    is the place the order keys give, before requisites move chunks. */
START_TEST(test_sls_long_chain)
{
    size_t n = 3000, cap = n * 64 + 64, used = 0;
    char *text = fl_malloc(cap);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n) {
            used += (size_t) snprintf(text + used, cap - used,
                                      "s%zu:\n  cmd.run:\n    - require:\n      - cmd: s%zu\n", i,
                                      i + 1);
        } else {
            used += (size_t) snprintf(text + used, cap - used, "s%zu: cmd.run\n", i);
        }
    }
    s_put("a.sls", text);
    free(text);
    fl_diag_t *diag = fl_diag_new();
    json_t *chunks = s_compile("[\"a\"]", diag);
    ck_assert_ptr_nonnull(chunks);
    ck_assert_uint_eq(json_array_size(chunks), n);
    json_t *first = json_array_get(chunks, 0);
    ck_assert_str_eq(fl_json_str(first, "id"), "s2999");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "order")), 3000);
    json_t *last = json_array_get(chunks, n - 1);
    ck_assert_str_eq(fl_json_str(last, "id"), "s0");
    ck_assert_int_eq(json_integer_value(json_object_get(last, "order")), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(last, "require"), 0)),
                     (json_int_t) n - 2);
    json_decref(chunks);
    fl_diag_destroy(&diag);

    /* Close the chain into a ring: one cycle, its message cut short. */
    s_put("a.sls", "a0:\n  cmd.run:\n    - require:\n      - cmd: a19\n");
    text = fl_strdup("");
    for (int i = 0; i < 20; i++) {
        char *t = fl_sprintf("%sa%d:\n  cmd.run:\n    - require:\n      - cmd: a%d\n", text, i,
                             (i + 19) % 20);
        free(text);
        text = t;
    }
    s_put("a.sls", text);
    free(text);
    diag = fl_diag_new();
    ck_assert_ptr_null(s_compile("[\"a\"]", diag));
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    const char *msg = fl_diag_item(diag, 0)->msg;
    ck_assert_msg(strstr(msg, "requisite cycle: cmd.run a0 -> cmd.run a19 -> cmd.run a18"), "%s",
                  msg);
    ck_assert_msg(strstr(msg, " -> ... (4 more) -> cmd.run a0"), "%s", msg);
    fl_diag_destroy(&diag);
}
END_TEST

/*  The SLS and file of each chunk, and the renderer's errors. */
START_TEST(test_sls_files_and_render_errors)
{
    s_put("web/init.sls", "include: [web.server]\nw: pkg.installed\n");
    s_put("web/server.sls", "s: pkg.installed\n");
    fl_diag_t *diag = fl_diag_new();
    json_t *chunks = s_compile("[\"web\"]", diag);
    ck_assert_ptr_nonnull(chunks);
    ck_assert_str_eq(fl_json_str(json_array_get(chunks, 0), "sls"), "web.server");
    ck_assert_str_eq(fl_json_str(json_array_get(chunks, 0), "file"), "web/server.sls");
    ck_assert_str_eq(fl_json_str(json_array_get(chunks, 1), "sls"), "web");
    ck_assert_str_eq(fl_json_str(json_array_get(chunks, 1), "file"), "web/init.sls");
    json_decref(chunks);

    s_put("t.sls", "x:\n  pkg.installed:\n    - name: {{ nope_undefined }}\n");
    ck_assert_ptr_null(s_compile("[\"t\"]", diag));
    ck_assert_uint_ge(fl_diag_errors(diag), 1);
    const fl_diag_item_t *it = fl_diag_item(diag, fl_diag_count(diag) - 1);
    ck_assert_str_eq(it->file, "t.sls");
    ck_assert_int_eq(it->line, 3);
    fl_diag_destroy(&diag);
}
END_TEST

Suite *
suite_sls(void)
{
    Suite *s = suite_create("sls");
    TCase *tc = tcase_create("sls");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_sls_usage);
    tcase_add_loop_test(tc, test_sls_ok, 0, (int) FL_ARRAY_LEN(s_ok));
    tcase_add_loop_test(tc, test_sls_bad, 0, (int) FL_ARRAY_LEN(s_bad));
    tcase_add_test(tc, test_sls_errors_together);
    tcase_add_test(tc, test_sls_names_arg);
    tcase_add_test(tc, test_sls_long_chain);
    tcase_add_test(tc, test_sls_files_and_render_errors);
    suite_add_tcase(s, tc);
    return s;
}
