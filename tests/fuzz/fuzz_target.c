/*  fuzz_target.c: libFuzzer target for the target compiler (fl_target).
    Compiles the input as a compound target and matches it against a fixed
    minion.  Not built by default:

        clang -fsanitize=fuzzer,address -Icommon $(pkg-config --cflags jansson) \
            tests/fuzz/fuzz_target.c common/fl_target.c common/fl_diag.c \
            common/fl_json.c common/fl_prelude.c common/fl_util.c \
            $(pkg-config --libs jansson)
        ./a.out -max_len=4200 */
#include "fl_target.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *s_grains_text =
    "{\"os\": \"Debian\", \"num_cpus\": 4, \"mem_gb\": 7.5, \"is_vm\": false,"
    " \"rack\": null, \"ipv4\": [\"127.0.0.1\", \"10.0.0.5\"],"
    " \"ip_interfaces\": {\"eth0\": [\"10.0.0.5\", \"fe80::1\"]},"
    " \"disks\": [{\"name\": \"sda\", \"size\": 100}, [\"nested\"]],"
    " \"a\": {\"b\": {\"c\": \"deep:er\"}}}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *grains;
    if (!grains) {
        grains = json_loads(s_grains_text, 0, NULL);
        assert(grains);
    }
    char *expr = fl_malloc(size + 1);
    memcpy(expr, data, size);
    expr[size] = '\0';

    fl_diag_t *diag = fl_diag_new();
    fl_target_t *target = fl_target_new(expr, FL_TGT_COMPOUND, diag);
    if (target) {
        assert(fl_diag_count(diag) == 0);
        (void) fl_target_match(target, "web-01.example.com", grains);
        (void) fl_target_match(target, "db-1", NULL);
        (void) fl_target_is_exact(target);
        fl_target_destroy(&target);
    } else {
        //  Every refusal is explained, with a position on line 1.
        assert(fl_diag_errors(diag) > 0);
        const fl_diag_item_t *item = fl_diag_item(diag, 0);
        assert(item && item->line == 1 && item->col >= 1);
        assert((size_t) item->col <= size + 1 || size > 4096);
        char *text = fl_diag_format(diag);
        free(text);
    }
    fl_diag_destroy(&diag);
    free(expr);
    return 0;
}
