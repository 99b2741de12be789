/*  fuzz_tmpl.c: libFuzzer target for the template engine (fl_tmpl).
    Renders the input with a small fixed context (grains, pillar, id) and
    checks what the API promises: either output and no diagnostics, or no
    output and at least one error with a position inside the template.
    Built and run by `make fuzz` (with every source file of common/).
    Jinja's words make a useful dictionary for it: {{ }} {% %} {# #} if
    elif else endif for in endfor set endset raw endraw | is not and or
    ~ loop.index items() salt['pillar.get'] default yaml json. */
#include "fl_tmpl.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *s_context_text =
    "{\"grains\": {\"os\": \"Debian\", \"os_family\": \"Debian\", \"num_cpus\": 4,"
    "  \"mem_gb\": 7.5, \"virtual\": false, \"rack\": null,"
    "  \"ipv4\": [\"127.0.0.1\", \"10.0.0.5\"],"
    "  \"ip_interfaces\": {\"eth0\": [\"10.0.0.5\", \"fe80::1\"]}},"
    " \"pillar\": {\"users\": {\"bob\": 1001, \"al\": 1002},"
    "  \"app\": {\"image\": \"registry/app:1\", \"port\": 8080, \"env\": {\"A\": \"x y\"}},"
    "  \"list\": [3, 1, 2, \"a\", 1.5, null, true, {\"k\": [\"v\"]}],"
    "  \"text\": \"line1\\nline2 'q' \\\"dq\\\" : # - [x]\\n\", \"empty\": {}},"
    " \"id\": \"web-01\", \"sls\": \"web.init\"}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *context;
    if (!context) {
        context = json_loads(s_context_text, 0, NULL);
        assert(context);
    }
    /* The template is a C string: the input up to its first NUL. */
    char *text = fl_malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    int lines = 1;
    for (size_t i = 0; i < len; i++) {
        lines += text[i] == '\n';
    }

    fl_diag_t *diag = fl_diag_new();
    (void) fl_tmpl_has_syntax(text);
    char *out = fl_tmpl_render("fuzz.sls", text, context, diag);
    if (out) {
        assert(fl_diag_count(diag) == 0);
        assert(strlen(out) <= 16u * 1024 * 1024);
        free(out);
    } else {
        /* Every refusal is explained, at a position inside the template. */
        assert(fl_diag_errors(diag) > 0);
        const fl_diag_item_t *item = fl_diag_item(diag, 0);
        assert(item && !strcmp(item->file, "fuzz.sls"));
        assert(item->line >= 1 && item->line <= lines);
        assert(item->col >= 1 && (size_t) item->col <= len + 1);
        char *report = fl_diag_format(diag);
        free(report);
    }
    fl_diag_destroy(&diag);
    free(text);
    return 0;
}
