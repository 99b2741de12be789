/*  fuzz_yaml.c: libFuzzer target for the YAML tree, YAML-to-JSON typing,
    typed config loading and diagnostics (print and JSON round trip).
    Built and run by `make fuzz`. */
#include "fl_config.h"
#include "fl_json.h"
#include "fl_yaml.h"

static const fl_cfg_spec_t spec[] = {
    { "listen", FL_CFG_ENDPOINT, "tcp://*:4506", 0, 0, false, "" },
    { "pki_dir", FL_CFG_PATH, "pki", 0, 0, false, "" },
    { "timeout", FL_CFG_INT, "30", 1, 3600, false, "" },
    { "log_level", FL_CFG_LOGLEVEL, "notice", 0, 0, false, "" },
    { "fg", FL_CFG_BOOL, "no", 0, 0, false, "" },
    { "id", FL_CFG_STRING, NULL, 0, 0, false, "" },
    { "grains", FL_CFG_MAP, NULL, 0, 0, false, "" },
    { "masters", FL_CFG_LIST, "[]", 0, 0, false, "" },
};
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_diag_t *d = fl_diag_new();
    char *text = fl_strndup((const char *) data, size);
    fl_diag_set_source(d, "in", text);
    fl_yaml_doc_t *doc = fl_yaml_parse_string("in", (const char *) data, size, d);
    if (doc) {
        json_t *j = fl_yaml_to_json(fl_yaml_root(doc), "in", d);
        json_decref(j);
        fl_yaml_destroy(&doc);
    }
    fl_config_t *c = fl_config_load_string("in", text, "/etc", spec, 8, d);
    fl_config_destroy(&c);
    char *s = fl_diag_format(d);
    free(s);
    json_t *dj = fl_diag_to_json(d);
    fl_diag_t *d2 = fl_diag_new();
    if (fl_diag_add_json(d2, dj) != 0) abort();
    json_decref(dj);
    fl_diag_destroy(&d2);
    fl_diag_destroy(&d);
    free(text);
    return 0;
}
