/*  fleetctl_out.c: output for people, in the shape of Salt's nested
    outputter, so operators coming from Salt read it at once. */
#include "fleetctl.h"

static void
s_indent(FILE *out, int n)
{
    fprintf(out, "%*s", n, "");
}

static void
s_scalar(FILE *out, const json_t *v, int indent)
{
    s_indent(out, indent);
    switch (json_typeof(v)) {
    case JSON_TRUE: fputs("True\n", out); break;
    case JSON_FALSE: fputs("False\n", out); break;
    case JSON_NULL: fputs("None\n", out); break;
    case JSON_INTEGER: fprintf(out, "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v)); break;
    case JSON_REAL: fprintf(out, "%g\n", json_real_value(v)); break;
    case JSON_STRING: {
        /* Multi-line text keeps its lines, each indented. */
        const char *s = json_string_value(v);
        for (const char *p = s; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t) (nl - p) : strlen(p);
            fwrite(p, 1, n, out);
            fputc('\n', out);
            p += n + (nl ? 1 : 0);
            if (nl && p[0]) {
                s_indent(out, indent);
            }
        }
        if (!*s) {
            fputc('\n', out);
        }
        break;
    }
    default: fputc('\n', out); break;
    }
}

void
fleetctl_print_nested(FILE *out, const json_t *v, int indent)
{
    if (json_is_object(v)) {
        s_indent(out, indent);
        fputs("----------\n", out);
        const char **keys = fl_calloc(json_object_size(v) + 1, sizeof *keys);
        size_t n = 0;
        const char *key;
        json_t *child;
        json_object_foreach((json_t *) v, key, child) {
            keys[n++] = key;
        }
        /* Sorted, as Salt prints them. */
        for (size_t i = 1; i < n; i++) {
            for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
                const char *t = keys[j];
                keys[j] = keys[j - 1];
                keys[j - 1] = t;
            }
        }
        for (size_t i = 0; i < n; i++) {
            child = json_object_get(v, keys[i]);
            s_indent(out, indent);
            fprintf(out, "%s:\n", keys[i]);
            if (!(json_is_string(child) && !*json_string_value(child))) {
                fleetctl_print_nested(out, child, indent + 4);
            }
        }
        free(keys);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            if (json_is_object(child) || json_is_array(child)) {
                s_indent(out, indent);
                fputs("|_\n", out);
                fleetctl_print_nested(out, child, indent + 2);
            } else {
                s_indent(out, indent);
                fputs("- ", out);
                s_scalar(out, child, 0);
            }
        }
    } else {
        s_scalar(out, v, indent);
    }
}

json_t *
fleetctl_parse_value(const char *text)
{
    if (strcmp(text, "true") == 0 || strcmp(text, "True") == 0) {
        return json_true();
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "False") == 0) {
        return json_false();
    }
    if (strcmp(text, "null") == 0 || strcmp(text, "None") == 0) {
        return json_null();
    }
    char *end = NULL;
    errno = 0;
    long long i = strtoll(text, &end, 10);
    if (*text && end && !*end && errno == 0) {
        return json_integer(i);
    }
    double d = strtod(text, &end);
    if (*text && end && !*end && errno == 0) {
        return json_real(d);
    }
    return json_string(text);
}
