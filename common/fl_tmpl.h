/*  fl_tmpl.h: the sandboxed subset of Jinja that real Salt state trees use.
    A template reads data (grains, pillar, what {% set %} defines); it never
    reads files, runs commands or touches the process.  Undefined variables
    are errors (strict), each naming file:line:column.

    Supported:
      {{ expr }}  {# comment #}  {% if %}/{% elif %}/{% else %}/{% endif %}
      {% for x in list %} / {% for k, v in map.items() %} ... {% endfor %}
      (loop.index, loop.index0, loop.first, loop.last, loop.length)
      {% set name = expr %}
      whitespace control with {%- -%} {{- -}} {#- -#}
      expressions: literals (strings '..' "..", integers, floats, true/false/
      none/True/False/None, lists [..], dicts {k: v}), names, attribute and
      item access (a.b, a['b'], a[0]), comparisons (== != < <= > >= in,
      not in), and/or/not, + - * / % (numbers; + also joins strings and
      lists), ~ (string concatenation), parentheses, `is defined`,
      `is not defined`, `is none`, inline if (a if c else b), calls of the
      lookups salt['pillar.get'](key, default), salt['grains.get'](key,
      default), pillar.get(key, default), grains.get(key, default) (keys
      nested with ':'), dict.get(key, default), dict.items(), dict.keys(),
      dict.values().
      filters: default(v) / d(v), lower, upper, replace(a, b), join(sep),
      length / count, yaml, json, string, int, trim, first, last, sort.
    Rendering produces text; JSON-typed values print as Salt does (True,
    False, None for scalars; yaml and json filters for structures). */
#ifndef FL_TMPL_H
#define FL_TMPL_H

#include "fl_diag.h"

#include <jansson.h>

/*  Renders TEXT (named NAME in positions) with CONTEXT, an object whose
    members are the top-level variables (grains, pillar, sls, id ...).
    Returns the output (caller frees), or NULL after adding every error to
    DIAG (positions are of the template source).  The output is capped at
    16 MiB and loops at 1,000,000 iterations in all: a template cannot hang
    the master. */
char *fl_tmpl_render(const char *name, const char *text, const json_t *context, fl_diag_t *diag);

/*  True when TEXT contains template syntax ({{, {%, {#): plain files skip
    the renderer. */
bool fl_tmpl_has_syntax(const char *text);

#endif
