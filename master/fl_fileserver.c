/*  fl_fileserver.c: files from the state tree for state jobs. */
#include "fl_fileserver.h"
#include "fl_json.h"
#include "fl_log.h"
#include "fl_tree.h"

#include <sodium.h>

struct fl_fileserver {
    char *state_dir;
    /* The tree of the last commit asked for: a state run asks for many
       files of one commit in a row. */
    fl_src_t *tree;
    char commit[41];
};

fl_fileserver_t *
fl_fileserver_new(const char *state_dir)
{
    fl_fileserver_t *self = fl_calloc(1, sizeof *self);
    self->state_dir = state_dir ? fl_strdup(state_dir) : NULL;
    return self;
}

void
fl_fileserver_destroy(fl_fileserver_t **self_p)
{
    if (self_p && *self_p) {
        fl_src_destroy(&(*self_p)->tree);
        free((*self_p)->state_dir);
        free(*self_p);
        *self_p = NULL;
    }
}

/*  "fleet://a/b" and "salt://a/b" name a/b in the tree. */
static const char *
s_tree_path(const char *url)
{
    if (strncmp(url, "fleet://", 8) == 0) {
        return url + 8;
    }
    if (strncmp(url, "salt://", 7) == 0) {
        return url + 7;
    }
    return NULL;
}

static json_t *
s_error(const char *jid, const char *url, const char *msg)
{
    return json_pack("{s:s, s:s, s:s}", "jid", jid, "path", url, "error", msg);
}

json_t *
fl_fileserver_answer(fl_fileserver_t *self, const char *commit, const json_t *req,
                     bool *refused)
{
    *refused = false;
    const char *jid = fl_json_str(req, "jid");
    const char *url = fl_json_str(req, "path");
    json_int_t offset = json_integer_value(json_object_get(req, "offset"));
    if (!jid || !url || offset < 0) {
        *refused = true;
        return s_error(jid ? jid : "", url ? url : "", "file_req needs jid, path, offset");
    }
    const char *path = s_tree_path(url);
    char *err = NULL;
    if (!path || fl_src_check_path(path, &err) != 0) {
        *refused = true;
        json_t *reply = s_error(jid, url, err ? err : "not a fleet:// or salt:// URL");
        free(err);
        return reply;
    }
    if (!self->state_dir || !commit || !*commit) {
        return s_error(jid, url, "this job has no state tree");
    }
    if (!self->tree || strcmp(self->commit, commit) != 0) {
        fl_src_destroy(&self->tree);
        char resolved[41];
        self->tree = fl_tree_open(self->state_dir, commit, resolved, &err);
        if (!self->tree) {
            json_t *reply = s_error(jid, url, err);
            fl_log_error("file server: %s", err);
            free(err);
            return reply;
        }
        snprintf(self->commit, sizeof self->commit, "%s", commit);
    }
    char *data = NULL;
    size_t len = 0;
    unsigned mode = 0644;
    int rc = fl_src_read(self->tree, path, &data, &len, &err);
    if (rc == 0) {
        rc = fl_src_stat(self->tree, path, &mode, &err);
    }
    if (rc != 0) {
        json_t *reply = s_error(jid, url, rc == 1 ? "no such file in the state tree" : err);
        /* A symlink or a directory is a refusal; a missing file is not. */
        *refused = rc < 0;
        free(err);
        free(data);
        return reply;
    }
    size_t start = (size_t) offset < len ? (size_t) offset : len;
    size_t n = len - start < FL_FILE_CHUNK ? len - start : FL_FILE_CHUNK;
    size_t b64_len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = fl_malloc(b64_len);
    sodium_bin2base64(b64, b64_len, (const unsigned char *) data + start, n,
                      sodium_base64_VARIANT_ORIGINAL);
    json_t *reply = json_pack("{s:s, s:s, s:I, s:I, s:i, s:s, s:b}", "jid", jid, "path", url,
                              "offset", (json_int_t) start, "size", (json_int_t) len, "mode",
                              (int) mode, "data", b64, "eof", start + n >= len);
    free(b64);
    free(data);
    return reply;
}
