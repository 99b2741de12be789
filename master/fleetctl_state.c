/*  fleetctl_state.c: `fleetctl state show` without a master.  Compiles a
    state tree on disk for given grains and pillar, exactly as the master
    would, so a tree can be checked in its own CI before it is pushed:
        fleetctl state show --states DIR --grains FILE [--pillar FILE |
            --pillar-dir DIR] [--id ID] [SLS...]
    With no SLS, the highstate of top.sls for that minion. */
#include "fleetctl.h"
#include "fl_diag.h"
#include "fl_sls.h"
#include "fl_yaml.h"

#include <getopt.h>

/*  A YAML (or JSON: YAML's flow style) file holding one mapping. */
static json_t *
s_load_map(const char *path, fl_diag_t *diag)
{
    fl_yaml_doc_t *doc = fl_yaml_parse_file(path, diag);
    if (!doc) {
        return NULL;
    }
    const fl_yaml_node_t *root = fl_yaml_root(doc);
    json_t *v = root ? fl_yaml_to_json(root, path, diag) : json_object();
    fl_yaml_destroy(&doc);
    if (v && !json_is_object(v)) {
        fl_diag_error(diag, path, 1, 1, "expected a mapping of names to values");
        json_decref(v);
        return NULL;
    }
    return v;
}

int
fleetctl_state_show_offline(int argc, char **argv, bool json)
{
    static const struct option options[] = {
        { "states", required_argument, NULL, 's' }, { "grains", required_argument, NULL, 'g' },
        { "pillar", required_argument, NULL, 'p' }, { "pillar-dir", required_argument, NULL, 'P' },
        { "id", required_argument, NULL, 'i' },     { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    const char *states = ".", *grains_path = NULL, *pillar_path = NULL, *pillar_dir = NULL;
    const char *id = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's': states = optarg; break;
        case 'g': grains_path = optarg; break;
        case 'p': pillar_path = optarg; break;
        case 'P': pillar_dir = optarg; break;
        case 'i': id = optarg; break;
        case 'j': json = true; break;
        default: return CTL_USAGE;
        }
    }
    if (!grains_path || (pillar_path && pillar_dir)) {
        fprintf(stderr, "usage: fleetctl state show --states DIR --grains FILE [--pillar FILE | "
                        "--pillar-dir DIR] [--id ID] [SLS...]\n");
        return CTL_USAGE;
    }
    fl_diag_t *diag = fl_diag_new();
    json_t *grains = s_load_map(grains_path, diag);
    json_t *pillar = NULL, *names = NULL, *chunks = NULL;
    fl_src_t *tree = fl_src_dir_new(states);
    if (!id && grains) {
        id = json_string_value(json_object_get(grains, "id"));
    }
    if (!id) {
        id = "minion";
    }
    if (grains) {
        if (pillar_path) {
            pillar = s_load_map(pillar_path, diag);
        } else if (pillar_dir) {
            fl_src_t *psrc = fl_src_dir_new(pillar_dir);
            pillar = fl_pillar_compile(psrc, id, grains, diag);
            fl_src_destroy(&psrc);
        } else {
            pillar = json_object();
        }
    }
    if (pillar) {
        names = json_array();
        for (int i = optind; i < argc; i++) {
            json_array_append_new(names, json_string(argv[i]));
        }
        if (json_array_size(names) == 0) {
            json_decref(names);
            names = fl_top_match(tree, id, grains, pillar, diag);
        }
    }
    if (names) {
        chunks = fl_sls_compile(tree, names, id, grains, pillar, diag);
    }
    int rc = CTL_OK;
    if (!chunks) {
        fl_diag_print(diag, stderr);
        rc = CTL_USAGE;
    } else if (json) {
        char *text = json_dumps(chunks, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(text);
        free(text);
    } else {
        fleetctl_print_chunks(stdout, chunks);
    }
    json_decref(chunks);
    json_decref(names);
    json_decref(pillar);
    json_decref(grains);
    fl_src_destroy(&tree);
    fl_diag_destroy(&diag);
    return rc;
}
