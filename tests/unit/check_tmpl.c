/*  check_tmpl.c: the sandboxed Jinja subset (fl_tmpl): rendering as Jinja
    and Salt do, strict undefined values with positions, and the limits.
    Expected outputs of the positive table were checked against Jinja 3.1
    (StrictUndefined, Salt's json and yaml filters). */
#include "fl_test.h"
#include "fl_tmpl.h"

Suite *suite_tmpl(void);

/*  The context of the tables: what fl_sls hands a Salt state file. */
static const char *s_context_text =
    "{"
    " \"grains\": {\"os_family\": \"Debian\", \"os\": \"Ubuntu\", \"num_cpus\": 4, \"mem\": 7.5,"
    "   \"ipv4\": [\"127.0.0.1\", \"10.0.0.5\"], \"id\": \"web1\", \"virtual\": false,"
    "   \"osrelease\": \"22.04\"},"
    " \"pillar\": {"
    "  \"users\": {\"bob\": 1001, \"al\": 1002},"
    "  \"app\": {\"image\": \"reg/app:1\", \"port\": 8080,"
    "           \"env\": {\"A\": \"1\", \"B\": \"two words\"}},"
    "  \"list\": [3, 1, 2],"
    "  \"empty\": [],"
    "  \"names\": [\"Bob\", \"al\", \"Carl\"],"
    "  \"none\": null,"
    "  \"text\": \"line1\\nline2\\n\","
    "  \"s\": \"Hello World\","
    "  \"nested\": {\"a\": {\"b\": {\"c\": [1, {\"d\": \"deep\"}]}}}"
    " },"
    " \"id\": \"web1\", \"sls\": \"web.apache\", \"num\": 5, \"f\": 2.5, \"t\": true"
    "}";

static json_t *
s_context(const char *text)
{
    json_error_t err;
    json_t *ctx = json_loads(text ? text : s_context_text, 0, &err);
    ck_assert_msg(ctx != NULL, "bad test context: %s", err.text);
    return ctx;
}

/*  Renders TEXT; the output, or NULL with the diagnostics in DIAG. */
static char *
s_render(const char *text, const char *context, fl_diag_t *diag)
{
    json_t *ctx = s_context(context);
    char *out = fl_tmpl_render("t.sls", text, ctx, diag);
    json_decref(ctx);
    return out;
}

//  The canonical usage: render a state file with grains and pillar; on
//  failure the diagnostics name the file, line and column.
START_TEST(test_tmpl_usage)
{
    const char *sls = "{% set pkg = 'apache2' if grains['os_family'] == 'Debian' else 'httpd' %}\n"
                      "{{ pkg }}:\n"
                      "  pkg.installed: []\n"
                      "{% for user, uid in pillar.get('users', {}).items() %}\n"
                      "user_{{ user }}:\n"
                      "  user.present:\n"
                      "    - uid: {{ uid }}\n"
                      "{% endfor %}\n";
    ck_assert(fl_tmpl_has_syntax(sls));
    json_t *ctx = json_pack("{s:{s:s}, s:{s:{s:i, s:i}}}", "grains", "os_family", "Debian",
                            "pillar", "users", "bob", 1001, "al", 1002);
    ck_assert_ptr_nonnull(ctx);
    fl_diag_t *diag = fl_diag_new();
    char *out = fl_tmpl_render("web/init.sls", sls, ctx, diag);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    ck_assert_str_eq(out, "\n"
                          "apache2:\n"
                          "  pkg.installed: []\n"
                          "\n"
                          "user_bob:\n"
                          "  user.present:\n"
                          "    - uid: 1001\n"
                          "\n"
                          "user_al:\n"
                          "  user.present:\n"
                          "    - uid: 1002\n"
                          "\n");
    free(out);

    /* An undefined name is an error at its position; nothing is output. */
    out = fl_tmpl_render("web/init.sls", "line one\n  {{ pillar.missing }}\n", ctx, diag);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(fl_diag_errors(diag), 1);
    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_str_eq(item->file, "web/init.sls");
    ck_assert_int_eq(item->line, 2);
    ck_assert_int_eq(item->col, 13);
    ck_assert_str_eq(item->msg, "undefined key 'missing' in pillar");
    /* The source was registered, so the report shows the line and a caret. */
    char *report = fl_diag_format(diag);
    ck_assert_ptr_nonnull(strstr(report, "web/init.sls:2:13: error: undefined key 'missing'"));
    ck_assert_ptr_nonnull(strstr(report, "{{ pillar.missing }}"));
    free(report);
    fl_diag_destroy(&diag);
    json_decref(ctx);
}
END_TEST

START_TEST(test_tmpl_has_syntax)
{
    ck_assert(fl_tmpl_has_syntax("a {{ b }}"));
    ck_assert(fl_tmpl_has_syntax("{% if x %}"));
    ck_assert(fl_tmpl_has_syntax("x {# note #}"));
    ck_assert(!fl_tmpl_has_syntax("key: {a: 1}\nother: { b }\n"));
    ck_assert(!fl_tmpl_has_syntax("trailing {"));
    ck_assert(!fl_tmpl_has_syntax(""));
    ck_assert(!fl_tmpl_has_syntax(NULL));
}
END_TEST

//  --------------------------------------------------------------------------
//  Positive cases: template, context (NULL: the shared one), output

typedef struct {
    const char *text;
    const char *context;
    const char *expect;
} s_ok_case_t;

static const s_ok_case_t s_ok_cases[] = {
    { "{% if grains['os_family'] == 'Debian' %}apache2{% else %}httpd{% endif %}",
      NULL,
      "apache2" },
    { "{% for user, uid in pillar.get('users', {}).items() %}{{ user }}:{{ uid }}\n"
      "{% endfor %}",
      NULL,
      "bob:1001\n"
      "al:1002\n" },
    { "{{ salt['pillar.get']('app:image', 'registry/app:latest') }}",
      NULL,
      "reg/app:1" },
    { "{{ salt['pillar.get']('app:nope', 'registry/app:latest') }}",
      NULL,
      "registry/app:latest" },
    { "[{{ salt['pillar.get']('nope') }}]",
      NULL,
      "[]" },
    { "{{ salt['pillar.get']('app:port', default=80) }}",
      NULL,
      "8080" },
    { "{{ salt['grains.get']('os') }}/{{ salt['grains.get']('nope', 'x') }}",
      NULL,
      "Ubuntu/x" },
    { "{{ salt['pillar.get']('nested:a:b:c:1:d') }}",
      NULL,
      "deep" },
    { "{{ salt['grains.get']('ipv4:1') }}",
      NULL,
      "10.0.0.5" },
    { "{{ salt['pillar.get']('app|port', delimiter='|') }}",
      NULL,
      "8080" },
    { "{{ pillar.get('app:env:B') }} {{ pillar.get('app:zz') }} {{ "
      "grains.get('os', 'x') }}",
      NULL,
      "two words None Ubuntu" },
    { "{{ pillar['app']['env']['A'] }} {{ pillar.app.env.B }} {{ grains.ipv4[0] "
      "}} {{ grains.ipv4.1 }}",
      NULL,
      "1 two words 127.0.0.1 10.0.0.5" },
    { "{{ salt['pillar.items']()['app']['port'] }}",
      NULL,
      "8080" },
    { "{{ id }} {{ sls }}",
      NULL,
      "web1 web.apache" },
    { "{% if grains.num_cpus > 8 %}big{% elif grains.num_cpus > 2 %}mid{% else "
      "%}small{% endif %}",
      NULL,
      "mid" },
    { "{% if pillar.none is none and x is not defined %}ok{% endif %}",
      NULL,
      "ok" },
    { "{{ 42 }} {{ -7 }} {{ 1.5 }} {{ 2.0 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ "
      "0.1 + 0.2 }} {{ 1e-5 }} {{ 0.0001 }} {{ -0.0 }}",
      NULL,
      "42 -7 1.5 2.0 1e+20 1e+16 1000000000000000.0 0.30000000000000004 1e-05 0.0001 -0.0" },
    { "{{ true }} {{ false }} {{ none }} {{ True }} {{ None }}",
      NULL,
      "True False None True None" },
    { "{{ ['a', 'b'] }} {{ {'k': 'v'} }} {{ [1, 'a', 2.5, none, true, {'x': [1]}] }}",
      NULL,
      "['a', 'b'] {'k': 'v'} [1, 'a', 2.5, None, True, {'x': [1]}]" },
    { "{{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'tab\\t', 'nl\\n', '\\\\'] }}",
      NULL,
      "[\"it's\", 'say \"hi\"', 'both \\' \"', 'tab\\t', 'nl\\n', '\\\\']" },
    { "{{ pillar.app }}",
      NULL,
      "{'image': 'reg/app:1', 'port': 8080, 'env': {'A': '1', 'B': 'two words'}}" },
    { "{{ 'é' }} {{ ['é', '\\u2028'] }}",
      NULL,
      "é ['é', '\\u2028']" },
    { "{{ pillar.app|json }}",
      NULL,
      "{\"env\": {\"A\": \"1\", \"B\": \"two words\"}, \"image\": \"reg/app:1\", \"port\": "
      "8080}" },
    { "{{ {'b': [1, 2.5, none, true], 'a': 'x'}|json }} {{ 'é\"'|json }} {{ "
      "'<&>'|tojson }}",
      NULL,
      "{\"a\": \"x\", \"b\": [1, 2.5, null, true]} \"\\u00e9\\\"\" "
      "\"\\u003c\\u0026\\u003e\"" },
    { "{{ {'a': 1, 'b': ['x', 'y']}|yaml }}",
      NULL,
      "{a: 1, b: [x, y]}" },
    { "{{ [1, 'a b', 'yes', '1.0', '', none, true, 2.5, 'a: b', '#x', '- x', "
      "'x\\ny', 'tab\\tx']|yaml }}",
      NULL,
      "[1, a b, 'yes', '1.0', '', null, true, 2.5, 'a: b', '#x', '- x', 'x\n"
      "\n"
      "    y', \"tab\\tx\"]" },
    { "{{ 'plain'|yaml }}|{{ 'yes'|yaml }}|{{ '123'|yaml }}|{{ ''|yaml }}|{{ "
      "1e20|yaml }}|{{ '2024-01-01'|yaml }}",
      NULL,
      "plain|'yes'|'123'|''|1.0e+20|'2024-01-01'" },
    { "{{ {'a': {'b': [1, {'c': 2}]}, 'z': []}|yaml(False) }}",
      NULL,
      "a:\n"
      "  b:\n"
      "  - 1\n"
      "  - c: 2\n"
      "z: []" },
    { "{{ ['aaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbb', "
      "'cccccccccccccccccccccccc', 'dddddddddddddddddddd']|yaml }}",
      NULL,
      "[aaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbb, "
      "cccccccccccccccccccccccc, dddddddddddddddddddd]" },
    { "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} "
      "{{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 % 2 }}",
      NULL,
      "7 9 3.5 3 -4 2 1024 0.5 1.5" },
    { "{{ 'a' ~ 1 ~ true ~ none }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'ab' * 3 "
      "}} {{ [0] * 3 }}",
      NULL,
      "a1TrueNone ab [1, 2] ababab [0, 0, 0]" },
    { "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' == "
      "1 }} {{ [1, 2] < [1, 3] }} {{ 'a' != 'b' }} {{ 2 >= 2 }}",
      NULL,
      "True False True True False True True True" },
    { "{{ 'a' in 'cat' }} {{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in "
      "[1] }} {{ 'os' in grains }}",
      NULL,
      "True True True True True" },
    { "{{ not true }} {{ true and 'x' }} {{ 0 or 'dflt' }} {{ none or [] }} {{ "
      "not (1 and 0) }}",
      NULL,
      "False x dflt [] True" },
    { "{{ 'yes' if grains.virtual else 'no' }} {{ 'x' if true }}|{{ 'x' if false }}|",
      NULL,
      "no x||" },
    { "{{ 'abc'[1:] }} {{ [1, 2, 3][::-1] }} {{ 'abc'[-1] }} {{ [1, 2, 3, 4, "
      "5][1:4:2] }} {{ grains.osrelease.split('.')[0] }}",
      NULL,
      "bc [3, 2, 1] c [2, 4] 22" },
    { "{{ {'a': {'b': 1}}.get('a') }} {{ {'a': 1}.get('z') }} {{ {'a': "
      "1}.get('z', 5) }} {{ {'a': 1, 'b': 2}.keys()|list }} {{ {'a': 1}.values()|list }}",
      NULL,
      "{'b': 1} None 5 ['a', 'b'] [1]" },
    { "{{ 'a,b'.split(',') }} {{ ' a  b '.split() }} {{ 'x'.upper() }} {{ "
      "'X'.lower() }} {{ ' x '.strip() }} {{ 'abc'.startswith('a') }} {{ "
      "'abc'.endswith('x') }} {{ 'a-b'.replace('-', '_') }} {{ ', '.join(['a', 'b']) }}",
      NULL,
      "['a', 'b'] ['a', 'b'] X x x True False a_b a, b" },
    { "{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} "
      "{{ dict(a=1) }}",
      NULL,
      "[0, 1, 2] [1, 4, 7] [5, 3, 1] {'a': 1}" },
    { "{{ \"dq\" }} {{ 'ad' 'jacent' }} {{ 1_000 }} {{ '\\x41\\u00e9' }}",
      NULL,
      "dq adjacent 1000 Aé" },
    { "{{ x|default('d') }} {{ x|d('d2') }} {{ none|default('n') }} {{ "
      "''|default('e', true) }} {{ pillar.app.port|default(1) }}",
      NULL,
      "d d2 None e 8080" },
    { "{{ 'Hello'|lower }} {{ 'Hello'|upper }} {{ 'hello world'|capitalize }} {{ "
      "'ÀÉ'|lower }} {{ 5|upper }}",
      NULL,
      "hello HELLO Hello world àé 5" },
    { "{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ "
      "'abc'|replace('', '.') }}",
      NULL,
      "a+b+c bba .a.b.c." },
    { "{{ ['a', 'b']|join }} {{ ['a', 1, true]|join(', ') }} {{ {'x': 1, 'y': "
      "2}|join('|') }} {{ [{'n': 'a'}, {'n': 'b'}]|join(',', attribute='n') }}",
      NULL,
      "ab a, 1, True x|y a,b" },
    { "{{ 'héllo'|length }} {{ [1, 2]|length }} {{ {'a': 1}|count }}",
      NULL,
      "5 2 1" },
    { "{{ 5|string ~ '!' }} {{ [1, 2]|string }} {{ '12'|int + 1 }} {{ '3.7'|int "
      "}} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 2.9|int }} {{ true|int }} {{ "
      "'0x1A'|int(base=16) }} {{ '2.5'|float }}",
      NULL,
      "5! [1, 2] 13 3 0 7 2 1 26 2.5" },
    { "[{{ '  x  '|trim }}] [{{ 'xxaxx'|trim('x') }}] {{ [3, 1, 2]|first }} {{ "
      "[3, 1, 2]|last }} {{ 'abc'|first }} {{ []|first|default('none') }}",
      NULL,
      "[x] [a] 3 2 a none" },
    { "{{ [3, 1, 2]|sort }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', "
      "'c']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} {{ "
      "[{'n': 2}, {'n': 1}]|sort(attribute='n') }}",
      NULL,
      "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] [3, 2, 1] [{'n': 1}, {'n': 2}]" },
    { "{{ 'abc'|list }} {{ ['a', 'A', 'b', 'a']|unique|list }} {{ [1, "
      "2]|reverse|list }} {{ 'abc'|reverse }} {{ -3|abs }}",
      NULL,
      "['a', 'b', 'c'] ['a', 'b'] [2, 1] cba 3" },
    { "{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(4, true) }}",
      NULL,
      "a\n"
      "  b\n"
      "\n"
      "  c|    a\n"
      "    b" },
    { "{% for k, v in {'b': 1, 'A': 2, 'a': 3}|dictsort %}{{ k }}={{ v }};{% endfor %}",
      NULL,
      "A=2;a=3;b=1;" },
    { "{{ pillar.names|map('lower')|join(',') }} {{ [{'n': 'a', 'on': true}, "
      "{'n': 'b', 'on': false}]|selectattr('on')|map(attribute='n')|join }} {{ "
      "[1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('odd')|list }}",
      NULL,
      "bob,al,carl a [1, 3] [2, 4]" },
    { "{{ x is defined }} {{ id is defined }} {{ x is undefined }} {{ none is "
      "none }} {{ 1 is number }} {{ 'a' is string }} {{ {} is mapping }} {{ [] "
      "is sequence }} {{ 3 is divisibleby 3 }} {{ 3 is odd }} {{ 2 is even }} {{ "
      "1 is in [1] }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }}",
      NULL,
      "False True True True True True True True True True True True True True True" },
    { "{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ loop.index0 }}{{ "
      "loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ "
      "loop.revindex0 }} {% endfor %}",
      NULL,
      "10TrueFalse332 21FalseFalse321 32FalseTrue310 " },
    { "{% for x in [1, 2, 3] %}{% if not loop.first %},{% endif %}{{ x }}{% endfor %}",
      NULL,
      "1,2,3" },
    { "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %} {% for c in 'héy' "
      "%}[{{ c }}]{% endfor %}",
      NULL,
      "ba [h][é][y]" },
    { "{% for x in [] %}x{% else %}empty{% endfor %} {% for a, b in [[1, 2], [3, "
      "4]] if a > 1 %}{{ a }}{{ b }}{{ loop.length }}{% endfor %}",
      NULL,
      "empty 341" },
    { "{% for i in [1, 2, 3, 4] %}{% if i == 2 %}{% continue %}{% endif %}{% if "
      "i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}",
      NULL,
      "13" },
    { "{% for row in [[1, 2], [3]] %}{% for x in row %}{{ loop.index }}{% endfor "
      "%}{{ loop.index }};{% endfor %}",
      NULL,
      "121;12;" },
    { "{% set x = 0 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}",
      NULL,
      "120" },
    { "{% if true %}{% set z = 3 %}{% endif %}{{ z }} {% set a, b = [1, 2] %}{{ "
      "a }}{{ b }} {% set t = 1, 2 %}{{ t|length }} {% set blk %}[{{ a }}]{% "
      "endset %}{{ blk }}",
      NULL,
      "3 12 2 [1]" },
    { "{% set users = pillar.users %}{% for u in users|sort %}{{ u }}{% endfor %}",
      NULL,
      "albob" },
    { "{% raw %}{{ not a var }}{% endraw %}",
      NULL,
      "{{ not a var }}" },
    { "{# a comment #}x{# another\n"
      "multiline #}y",
      NULL,
      "xy" },
    { "  {%- if true -%}  \n"
      "  x  \n"
      "  {%- endif %}\n"
      "|",
      NULL,
      "x\n"
      "|" },
    { "a\n"
      "{% if true %}\n"
      "b\n"
      "{% endif %}\n"
      "c\n",
      NULL,
      "a\n"
      "\n"
      "b\n"
      "\n"
      "c\n" },
    { "a\n"
      "{%- if true %}\n"
      "b\n"
      "{% endif -%}\n"
      "c",
      NULL,
      "a\n"
      "b\n"
      "c" },
    { "{{- ' x ' -}}  \n"
      " {{ 1 }}  {#- c -#}  2",
      NULL,
      " x 12" },
    { "line\n"
      "{% for i in [1, 2] %}\n"
      "- {{ i }}\n"
      "{% endfor %}\n"
      "end\n",
      NULL,
      "line\n"
      "\n"
      "- 1\n"
      "\n"
      "- 2\n"
      "\n"
      "end\n" },
    { "x {%+ if true %}y{% endif +%} z",
      NULL,
      "x y z" },
    { "{% set pkg = 'apache2' if grains['os_family'] == 'Debian' else 'httpd' %}\n"
      "{{ pkg }}:\n"
      "  pkg.installed: []\n"
      "  service.running:\n"
      "    - enable: True\n"
      "{% for user, uid in pillar.get('users', {}).items() %}\n"
      "user_{{ user }}:\n"
      "  user.present:\n"
      "    - uid: {{ uid }}\n"
      "{% endfor %}\n"
      "/etc/app.conf:\n"
      "  file.managed:\n"
      "    - contents: {{ pillar['app']['env']|yaml }}\n"
      "    - image: {{ salt['pillar.get']('app:image', 'registry/app:latest') }}\n",
      NULL,
      "\n"
      "apache2:\n"
      "  pkg.installed: []\n"
      "  service.running:\n"
      "    - enable: True\n"
      "\n"
      "user_bob:\n"
      "  user.present:\n"
      "    - uid: 1001\n"
      "\n"
      "user_al:\n"
      "  user.present:\n"
      "    - uid: 1002\n"
      "\n"
      "/etc/app.conf:\n"
      "  file.managed:\n"
      "    - contents: {A: '1', B: two words}\n"
      "    - image: reg/app:1\n" },
    /* No context at all, and an empty template. */
    { "{{ 1 + 1 }}", "{}", "2" },
    { "", "{}", "" },
    { "plain text, no tags\n", "{}", "plain text, no tags\n" },
    /* A trailing newline stays (Salt adds back what Jinja strips). */
    { "x\n\n", "{}", "x\n\n" },
    /* Undefined things that Jinja allows. */
    { "{{ pillar.get('a:b:c', 'dflt') }} {{ {}.get('k') }} {{ nope | default(3) }}"
      "{{ nope is defined }}{{ pillar.zz is defined }}{{ grains.ipv4[9] is defined }}",
      NULL, "dflt None 3FalseFalseFalse" },
    /* A context variable named salt hides the lookups. */
    { "{{ salt['x'] }}", "{\"salt\": {\"x\": 1}}", "1" },
    /* pillar.get walks lists by index and through dicts in lists, as Salt does. */
    { "{{ pillar.get('l:1') }} {{ pillar.get('l:k') }} {{ pillar.get('l:-1:k') }}",
      "{\"pillar\": {\"l\": [\"a\", {\"k\": \"v\"}]}}", "{'k': 'v'} v v" },
    /* Unicode in columns and values. */
    { "é{{ 'ü' | upper }}{{ 'ÉTÉ' | lower }}{{ 'ω'|length }}", "{}", "éÜété1" },
};

START_TEST(test_tmpl_ok_table)
{
    const s_ok_case_t *c = &s_ok_cases[_i];
    fl_diag_t *diag = fl_diag_new();
    char *out = s_render(c->text, c->context, diag);
    if (!out) {
        char *why = fl_diag_format(diag);
        ck_abort_msg("case %d [%s] failed: %s", _i, c->text, why);
    }
    ck_assert_msg(strcmp(out, c->expect) == 0, "case %d [%s]:\n got [%s]\nwant [%s]", _i, c->text,
                  out, c->expect);
    ck_assert_uint_eq(fl_diag_count(diag), 0);
    free(out);
    fl_diag_destroy(&diag);
}
END_TEST

//  --------------------------------------------------------------------------
//  Negative cases: template, line, column, a fragment of the message

typedef struct {
    const char *text;
    int line, col;
    const char *msg;
} s_err_case_t;

static const s_err_case_t s_err_cases[] = {
    /* strict undefined */
    { "{{ nope }}", 1, 4, "undefined variable 'nope'" },
    { "{{ pillar.app.nope }}", 1, 15, "undefined key 'nope' in pillar.app" },
    { "{{ pillar['zz'] }}", 1, 10, "undefined key 'zz' in pillar" },
    { "{{ grains.ipv4[5] }}", 1, 15, "index 5 out of range in grains.ipv4" },
    { "{{ grains.os.x }}", 1, 14, "grains.os (type str) has no attribute 'x'" },
    { "a\nb\n{% for u in pillar.users %}\n  {{ u.name }}\n{% endfor %}", 4, 8,
      "u (type str) has no attribute 'name'" },
    { "{% if nope %}{% endif %}", 1, 7, "undefined variable 'nope'" },
    { "{{ nope|upper }}", 1, 4, "undefined variable 'nope'" },
    { "{{ loop.index }}", 1, 4, "undefined variable 'loop'" },
    { "{% for x in [1] %}{% set y = 1 %}{% endfor %}{{ y }}", 1, 49, "undefined variable 'y'" },
    { "{{ [] | first }}", 1, 9, "no first item" },
    { "{{ salt }}", 1, 4, "'salt' can only be called" },
    /* blocks */
    { "{% if true %}x", 1, 4, "unclosed {% if %}: expected {% endif %}" },
    { "{% for x in [1] %}\n{% if x %}\n{% endfor %}", 3, 4,
      "unexpected {% endfor %}: the innermost open block is 'if' (line 2)" },
    { "x\n{% endfor %}", 2, 4, "unexpected {% endfor %}: no block is open" },
    { "{% if 1 %}{% endif %}{% endif %}", 1, 25, "unexpected {% endif %}" },
    { "{% else %}", 1, 4, "unexpected {% else %}" },
    { "{% for x in [1] %}x", 1, 4, "unclosed {% for %}" },
    { "{% set x %}x", 1, 4, "unclosed {% set %}" },
    { "{% break %}", 1, 4, "{% break %} outside a loop" },
    { "{% include 'other.sls' %}", 1, 4, "unsupported tag 'include'" },
    { "{% import 'map.jinja' as map %}", 1, 4, "unsupported tag 'import'" },
    { "{% macro m() %}{% endmacro %}", 1, 4, "unsupported tag 'macro'" },
    { "{% frob %}", 1, 4, "unknown tag 'frob'" },
    { "{% for loop in [1] %}{% endfor %}", 1, 8, "cannot assign to 'loop'" },
    { "{% for x in [1] recursive %}{% endfor %}", 1, 17, "recursive loops are not supported" },
    { "{% set x 1 %}", 1, 10, "expected '='" },
    /* expressions */
    { "{{ 1 + }}", 1, 8, "expected an expression, got '}}'" },
    { "{{ }}", 1, 4, "expected an expression" },
    { "{% if %}{% endif %}", 1, 7, "expected an expression, got '%}'" },
    { "{{ 1 if 2 else }}", 1, 16, "expected an expression" },
    { "{{ a ; b }}", 1, 6, "unexpected character ';'" },
    { "{{ (1] }}", 1, 6, "unexpected ']', expected ')'" },
    { "{{ 'abc }}", 1, 4, "unterminated string" },
    { "line\n  {{ \"abc", 2, 6, "unterminated string" },
    { "{{ '\\x4' }}", 1, 4, "invalid \\x escape" },
    { "{{ x", 1, 1, "unclosed tag: missing '}}'" },
    { "{% if x", 1, 1, "unclosed tag: missing '%}'" },
    { "{# x", 1, 1, "unclosed comment" },
    { "{% raw %}x", 1, 1, "unclosed {% raw %}" },
    { "{{ 99999999999999999999 }}", 1, 4, "integer too large" },
    { "{{ x|frobnicate }}", 1, 6, "unknown filter 'frobnicate'" },
    { "{{ pillar.app.port|upper|nope }}", 1, 26, "unknown filter 'nope'" },
    { "{{ x is frob }}", 1, 9, "unknown test 'frob'" },
    { "{{ {1: 2} }}", 1, 5, "dict keys must be strings" },
    /* evaluation */
    { "{{ 1 / 0 }}", 1, 6, "division by zero" },
    { "{{ 5 % 0 }}", 1, 6, "division by zero" },
    { "{{ 1 // 0.0 }}", 1, 6, "division by zero" },
    { "{% for x in grains.num_cpus %}{% endfor %}", 1, 20,
      "cannot iterate over grains.num_cpus (type int)" },
    { "{% for a, b in [1, 2] %}{% endfor %}", 1, 4, "cannot unpack type int into 2 names" },
    { "{{ 'a' < 1 }}", 1, 10, "cannot compare str with int" },
    { "{{ 'a' - 1 }}", 1, 8, "unsupported operand types for -: str and int" },
    { "{{ 9223372036854775807 + 1 }}", 1, 24, "integer result out of range" },
    { "{{ 2 ** 0.5 }}", 1, 6, "fractional powers are not supported" },
    { "{{ 'a'|replace('a') }}", 1, 8, "filter 'replace' needs its argument 'new'" },
    { "{{ 'a'|lower(1) }}", 1, 14, "filter 'lower' takes at most 0 arguments" },
    { "{{ 'a'|join(sep=',') }}", 1, 17, "filter 'join' has no argument named 'sep'" },
    { "{{ 5|length }}", 1, 6, "type int has no length" },
    { "{{ ['a']|map('nosuch')|list }}", 1, 10, "unknown filter 'nosuch'" },
    /* the sandbox */
    { "{{ salt['cmd.run']('id') }}", 1, 8, "salt function 'cmd.run' is not available" },
    { "{{ pillar.app.update({}) }}", 1, 15, "unknown method 'update' for type dict" },
    { "{{ pillar.list.append(1) }}", 1, 16, "unknown method 'append' for type list" },
    { "{{ lookup('file', '/etc/shadow') }}", 1, 4, "unknown function 'lookup'" },
    { "{{ pillar.app() }}", 1, 11, "unknown method 'app' for type dict" },
    { "{{ pillar['app']() }}", 1, 17, "pillar['app'] is not callable" },
    /* limits */
    { "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", 1, 32,
      "too many loop iterations: more than 1000000" },
    { "{% for i in range(100000) %}{{ 'x' * 200 }}{% endfor %}", 1, 29,
      "output longer than 16 MiB" },
    { "{{ 'x' * 20000000 }}", 1, 8, "string longer than 16 MiB" },
    { "{{ range(1000000) }}", 1, 9, "range too big" },
};

START_TEST(test_tmpl_error_table)
{
    const s_err_case_t *c = &s_err_cases[_i];
    fl_diag_t *diag = fl_diag_new();
    char *out = s_render(c->text, NULL, diag);
    ck_assert_msg(out == NULL, "case %d [%s] rendered [%s]", _i, c->text, out ? out : "");
    ck_assert_uint_ge(fl_diag_errors(diag), 1);
    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_str_eq(item->file, "t.sls");
    ck_assert_msg(item->line == c->line && item->col == c->col,
                  "case %d [%s]: at %d:%d, want %d:%d (%s)", _i, c->text, item->line, item->col,
                  c->line, c->col, item->msg);
    ck_assert_msg(strstr(item->msg, c->msg) != NULL, "case %d [%s]: message [%s] lacks [%s]", _i,
                  c->text, item->msg, c->msg);
    fl_diag_destroy(&diag);
}
END_TEST

//  --------------------------------------------------------------------------
//  Limits built by repetition

/*  TEXT repeated N times, with PREFIX and SUFFIX. */
static char *
s_repeat(const char *prefix, const char *text, int n, const char *suffix)
{
    size_t len = strlen(prefix) + strlen(text) * (size_t) n + strlen(suffix);
    char *s = fl_malloc(len + 1);
    strcpy(s, prefix);
    for (int i = 0; i < n; i++) {
        strcat(s, text);
    }
    strcat(s, suffix);
    return s;
}

/*  Renders TEXT expecting an error whose message holds FRAGMENT. */
static void
s_expect_error(const char *text, const char *fragment)
{
    fl_diag_t *diag = fl_diag_new();
    char *out = s_render(text, "{}", diag);
    ck_assert_ptr_null(out);
    ck_assert_uint_ge(fl_diag_errors(diag), 1);
    const fl_diag_item_t *item = fl_diag_item(diag, 0);
    ck_assert_msg(strstr(item->msg, fragment) != NULL, "[%s] lacks [%s]", item->msg, fragment);
    ck_assert_int_ge(item->line, 1);
    ck_assert_int_ge(item->col, 1);
    fl_diag_destroy(&diag);
}

static void
s_expect_output(const char *text, const char *expect)
{
    fl_diag_t *diag = fl_diag_new();
    char *out = s_render(text, "{}", diag);
    ck_assert_msg(out != NULL, "[%.60s...] failed", text);
    ck_assert_str_eq(out, expect);
    free(out);
    fl_diag_destroy(&diag);
}

START_TEST(test_tmpl_nesting_limits)
{
    /* 64 nested blocks are fine, 65 are not. */
    char *t = s_repeat("", "{% if 1 %}", 64, "x");
    char *u = s_repeat(t, "{% endif %}", 64, "");
    s_expect_output(u, "x");
    free(t);
    free(u);
    t = s_repeat("", "{% for i in [1] %}", 65, "x");
    u = s_repeat(t, "{% endfor %}", 65, "");
    s_expect_error(u, "blocks nested too deeply (limit 64)");
    free(t);
    free(u);
    /* Expressions: brackets, parentheses, unary operators, long chains. */
    t = s_repeat("{{ ", "[", 70, "1");
    u = s_repeat(t, "]", 70, " }}");
    s_expect_error(u, "expression nested too deeply (limit 64)");
    free(t);
    free(u);
    t = s_repeat("{{ ", "(", 10000, "");
    s_expect_error(t, "nested too deeply");
    free(t);
    t = s_repeat("{{ ", "not ", 100, "1 }}");
    s_expect_error(t, "expression nested too deeply");
    free(t);
    t = s_repeat("{{ 1", " + 1", 100, " }}");
    s_expect_error(t, "expression nested too deeply");
    free(t);
    t = s_repeat("{{ 1", " ~ 1", 1000, " }}");
    u = s_repeat("", "1", 1001, "");
    s_expect_output(t, u);  /* ~ is n-ary: a long chain is flat */
    free(t);
    free(u);
    /* Values built by a template cannot nest without bound either. */
    t = s_repeat("{% set a = 1 %}", "{% set a = [[[[[[[[[[a]]]]]]]]]] %}", 30, "{{ a|length }}");
    s_expect_error(t, "value nested too deeply");
    free(t);
}
END_TEST

START_TEST(test_tmpl_work_limits)
{
    /* Loops count in total, across nesting and filters. */
    s_expect_output("{% for i in range(999) %}{% for j in range(1000) %}{% endfor %}"
                    "{% endfor %}done",
                    "done");
    s_expect_error("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
                   "too many loop iterations");
    /* Output just under and over 16 MiB. */
    s_expect_error("{% for i in range(16385) %}{{ 'x' * 1024 }}{% endfor %}", "output longer");
    fl_diag_t *diag = fl_diag_new();
    json_t *ctx = json_object();
    char *out = fl_tmpl_render("big", "{% for i in range(16384) %}{{ 'x' * 1024 }}{% endfor %}",
                               ctx, diag);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(strlen(out), 16u * 1024 * 1024);
    free(out);
    /* A block set captures into a string under the same cap. */
    out = fl_tmpl_render("big", "{% set s %}{% for i in range(17000) %}{{ 'x' * 1024 }}"
                         "{% endfor %}{% endset %}", ctx, diag);
    ck_assert_ptr_null(out);
    json_decref(ctx);
    fl_diag_destroy(&diag);
    /* Doubling a list or a string stops at its limit, not at memory's. */
    char *t = s_repeat("{% set a = [1] %}", "{% set a = a + a %}", 40, "");
    s_expect_error(t, "list longer than");
    free(t);
    t = s_repeat("{% set a = 'x' %}", "{% set a = a ~ a %}", 40, "");
    s_expect_error(t, "longer than 16 MiB");
    free(t);
    /* Work without output or iterations is bounded too. */
    t = s_repeat("{% set a = range(100000)|list %}", "{% set b = a|sort|reverse|list %}", 300, "");
    s_expect_error(t, "too expensive");
    free(t);
}
END_TEST

START_TEST(test_tmpl_odd_input)
{
    fl_diag_t *diag = fl_diag_new();
    /* A NULL context is an empty one; a NULL name is a placeholder. */
    char *out = fl_tmpl_render(NULL, "{{ 1 }}{{ x | default('-') }}", NULL, diag);
    ck_assert_str_eq(out, "1-");
    free(out);
    out = fl_tmpl_render(NULL, "{{ x }}", NULL, diag);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(fl_diag_item(diag, 0)->file, "<template>");
    out = fl_tmpl_render("t", NULL, NULL, diag);
    ck_assert_ptr_null(out);
    /* Bytes that are not UTF-8 pass through text and count as characters. */
    out = fl_tmpl_render("t", "\xff{{ '\xfe'|length }}{{ ['\xfd'] }}", NULL, diag);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, "\xff" "1['\\udcfd']");
    free(out);
    /* Columns count characters, not bytes. */
    fl_diag_t *d2 = fl_diag_new();
    out = fl_tmpl_render("t", "ééé {{ nope }}", NULL, d2);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(fl_diag_item(d2, 0)->col, 8);
    fl_diag_destroy(&d2);
    fl_diag_destroy(&diag);
}
END_TEST

Suite *
suite_tmpl(void)
{
    Suite *s = suite_create("tmpl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tmpl_usage);
    tcase_add_test(tc, test_tmpl_has_syntax);
    tcase_add_loop_test(tc, test_tmpl_ok_table, 0, (int) FL_ARRAY_LEN(s_ok_cases));
    tcase_add_loop_test(tc, test_tmpl_error_table, 0, (int) FL_ARRAY_LEN(s_err_cases));
    tcase_add_test(tc, test_tmpl_odd_input);
    suite_add_tcase(s, tc);
    TCase *limits = tcase_create("limits");
    tcase_set_timeout(limits, 60);
    tcase_add_test(limits, test_tmpl_nesting_limits);
    tcase_add_test(limits, test_tmpl_work_limits);
    suite_add_tcase(s, limits);
    return s;
}
