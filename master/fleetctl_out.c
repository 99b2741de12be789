/*  fleetctl_out.c: output for people, in the shape of Salt's nested
    outputter, so operators coming from Salt read it at once. */
#include "fleetctl.h"
#include "fl_json.h"

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

typedef struct {
    const char *key;
    const json_t *v;
    json_int_t run_num;
} s_state_row_t;

static int
s_row_compare(const void *a, const void *b)
{
    json_int_t x = ((const s_state_row_t *) a)->run_num, y = ((const s_state_row_t *) b)->run_num;
    return x < y ? -1 : x > y;
}

/*  "file_|-ID_|-NAME_|-managed" -> "file.managed" */
static void
s_function_of(const char *key, char *out, size_t size)
{
    const char *first = strstr(key, "_|-");
    const char *last = NULL;
    for (const char *p = key; (p = strstr(p, "_|-")); p += 3) {
        last = p;
    }
    if (!first || !last || first == last) {
        snprintf(out, size, "%s", key);
        return;
    }
    snprintf(out, size, "%.*s.%s", (int) (first - key), key, last + 3);
}

int
fleetctl_print_highstate(FILE *out, const char *minion, const json_t *ret)
{
    fprintf(out, "%s:\n", minion);
    if (!json_is_object(ret)) {
        /* Compile errors (a list of strings) or a worker failure. */
        fputs("    Data failed to compile:\n----------\n", out);
        fleetctl_print_nested(out, ret, 4);
        return 1;
    }
    size_t n = json_object_size(ret);
    s_state_row_t *rows = fl_calloc(n + 1, sizeof *rows);
    size_t count = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) ret, key, v) {
        rows[count].key = key;
        rows[count].v = v;
        rows[count].run_num = json_integer_value(json_object_get(v, "__run_num__"));
        count++;
    }
    qsort(rows, count, sizeof *rows, s_row_compare);
    int ok = 0, changed = 0, failed = 0;
    double total_ms = 0;
    for (size_t i = 0; i < count; i++) {
        const json_t *r = rows[i].v;
        const json_t *result = json_object_get(r, "result");
        const json_t *changes = json_object_get(r, "changes");
        char fun[256];
        s_function_of(rows[i].key, fun, sizeof fun);
        double ms = json_number_value(json_object_get(r, "duration"));
        total_ms += ms;
        bool has_changes = json_is_object(changes) && json_object_size(changes) > 0;
        if (json_is_false(result)) {
            failed++;
        } else {
            ok++;
            changed += has_changes;
        }
        fprintf(out, "----------\n          ID: %s\n    Function: %s\n        Name: %s\n"
                     "      Result: %s\n",
                fl_json_str(r, "__id__") ? fl_json_str(r, "__id__") : "?", fun,
                fl_json_str(r, "name") ? fl_json_str(r, "name") : "",
                json_is_true(result) ? "True" : json_is_false(result) ? "False" : "None");
        const char *comment = fl_json_str(r, "comment");
        fputs("     Comment: ", out);
        if (comment && *comment) {
            /* continuation lines line up under the first */
            for (const char *p = comment; *p; p++) {
                fputc(*p, out);
                if (*p == '\n' && p[1]) {
                    fputs("              ", out);
                }
            }
        }
        fputc('\n', out);
        fprintf(out, "     Started: %s\n    Duration: %.3f ms\n     Changes:\n",
                fl_json_str(r, "start_time") ? fl_json_str(r, "start_time") : "", ms);
        if (has_changes) {
            fleetctl_print_nested(out, changes, 14);
        }
    }
    fprintf(out, "\nSummary for %s\n------------\nSucceeded: %d", minion, ok);
    if (changed) {
        fprintf(out, " (changed=%d)", changed);
    }
    fprintf(out, "\nFailed:    %d\n------------\nTotal states run:     %zu\n"
                 "Total run time: %9.3f ms\n",
            failed, count, total_ms);
    free(rows);
    return failed;
}

static void
s_print_requisites(FILE *out, const json_t *chunks, const json_t *chunk, const char *kind)
{
    const json_t *list = json_object_get(chunk, kind);
    size_t i;
    json_t *index;
    json_array_foreach(list, i, index) {
        const json_t *other = json_array_get(chunks, (size_t) json_integer_value(index));
        fprintf(out, "    %s: %s.%s %s (%s)\n", kind, fl_json_str(other, "state"),
                fl_json_str(other, "fun"), fl_json_str(other, "name"), fl_json_str(other, "id"));
    }
}

void
fleetctl_print_chunks(FILE *out, const json_t *chunks)
{
    static const char *kinds[] = { "require", "watch", "onchanges", "onfail", "prereq" };
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c) {
        fprintf(out, "%zu. %s.%s %s  [%s, %s:%lld:%lld, order %lld]\n", i + 1,
                fl_json_str(c, "state"), fl_json_str(c, "fun"), fl_json_str(c, "name"),
                fl_json_str(c, "id"), fl_json_str(c, "file"),
                (long long) json_integer_value(json_object_get(c, "line")),
                (long long) json_integer_value(json_object_get(c, "col")),
                (long long) json_integer_value(json_object_get(c, "order")));
        for (size_t k = 0; k < FL_ARRAY_LEN(kinds); k++) {
            s_print_requisites(out, chunks, c, kinds[k]);
        }
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(c, "args"), key, v) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            fprintf(out, "    %s: %s\n", key, text);
            free(text);
        }
    }
}
