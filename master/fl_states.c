/*  fl_states.c: what the master does for state runs.  For each minion it
    compiles the pillar (from pillar_dir, targeted by the pillar top file),
    the list of SLS (given, or the highstate from the state tree's top.sls)
    and the low chunks, all from one git commit of state_dir.  A minion
    gets only its own pillar; a compile error is that minion's result and
    nothing is sent to it. */
#include "fl_master_int.h"
#include "fl_sls.h"
#include "fl_tree.h"

fl_src_t *
fl_states_open_tree(fl_master_t *self, char commit[41], char **err)
{
    const char *dir = fl_config_str(self->config, "state_dir");
    if (!dir) {
        *err = fl_strdup("state_dir is not set in the master's configuration");
        return NULL;
    }
    return fl_tree_open(dir, fl_config_str(self->config, "state_ref"), commit, err);
}

fl_src_t *
fl_states_open_pillar(fl_master_t *self)
{
    const char *dir = fl_config_str(self->config, "pillar_dir");
    return dir ? fl_src_dir_new(dir) : NULL;
}

json_t *
fl_states_compile(fl_src_t *tree, fl_src_t *pillar_src, const char *id, const json_t *grains,
                  const json_t *sls_args, fl_diag_t *diag)
{
    json_t *pillar = pillar_src ? fl_pillar_compile(pillar_src, id, grains, diag) : json_object();
    if (!pillar) {
        return NULL;
    }
    json_t *names = json_array_size(sls_args) > 0 ? json_incref((json_t *) sls_args)
                                                  : fl_top_match(tree, id, grains, pillar, diag);
    if (!names) {
        json_decref(pillar);
        return NULL;
    }
    json_t *chunks = fl_sls_compile(tree, names, id, grains, pillar, diag);
    json_decref(names);
    if (!chunks) {
        json_decref(pillar);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "chunks", chunks, "pillar", pillar);
}

json_t *
fl_states_errors(const fl_diag_t *diag)
{
    /* As Salt returns compile errors: a list of strings. */
    json_t *list = json_array();
    for (size_t i = 0; i < fl_diag_count(diag); i++) {
        const fl_diag_item_t *d = fl_diag_item(diag, i);
        if (d->severity != FL_DIAG_ERROR) {
            continue;
        }
        json_array_append_new(list, json_sprintf("%s:%d:%d: %s%s%s%s", d->file, d->line, d->col,
                                                 d->msg, d->hint ? " (" : "",
                                                 d->hint ? d->hint : "", d->hint ? ")" : ""));
    }
    if (json_array_size(list) == 0) {
        json_array_append_new(list, json_string("state compilation failed"));
    }
    return list;
}
