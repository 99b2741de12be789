/*  fl_tree.c: a git commit as an fl_src_t (libgit2).  Only regular files
    are served: symlinks, submodules and directories are refused, so nothing
    outside the commit can ever be reached through the tree. */
#include "fl_tree.h"

#include <git2.h>

#define FL_TREE_MAX_FILE (16 * 1024 * 1024)

typedef struct {
    git_repository *repo;
    git_tree *tree;
    char describe[160];
} s_tree_t;

static char *
s_git_error(const char *what)
{
    const git_error *e = git_error_last();
    return fl_sprintf("%s: %s", what, e && e->message ? e->message : "unknown git error");
}

static int
s_lookup(s_tree_t *self, const char *path, git_tree_entry **entry, char **err)
{
    int rc = git_tree_entry_bypath(entry, self->tree, path);
    if (rc == GIT_ENOTFOUND) {
        return 1;
    }
    if (rc != 0) {
        *err = s_git_error(path);
        return -1;
    }
    git_filemode_t mode = git_tree_entry_filemode(*entry);
    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE) {
        *err = fl_sprintf("%s: not a regular file in %s (symlinks and directories are not "
                          "served)", path, self->describe);
        git_tree_entry_free(*entry);
        *entry = NULL;
        return -1;
    }
    return 0;
}

static int
s_read(void *impl, const char *path, char **text, size_t *len, char **err)
{
    s_tree_t *self = impl;
    git_tree_entry *entry = NULL;
    int rc = s_lookup(self, path, &entry, err);
    if (rc != 0) {
        return rc;
    }
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, self->repo, git_tree_entry_id(entry)) != 0) {
        *err = s_git_error(path);
        git_tree_entry_free(entry);
        return -1;
    }
    git_tree_entry_free(entry);
    git_object_size_t size = git_blob_rawsize(blob);
    if (size > FL_TREE_MAX_FILE) {
        *err = fl_sprintf("%s: larger than %d MiB", path, FL_TREE_MAX_FILE >> 20);
        git_blob_free(blob);
        return -1;
    }
    *text = fl_malloc((size_t) size + 1);
    memcpy(*text, git_blob_rawcontent(blob), (size_t) size);
    (*text)[size] = '\0';
    *len = (size_t) size;
    git_blob_free(blob);
    return 0;
}

static int
s_stat(void *impl, const char *path, unsigned *mode, char **err)
{
    s_tree_t *self = impl;
    git_tree_entry *entry = NULL;
    int rc = s_lookup(self, path, &entry, err);
    if (rc != 0) {
        return rc;
    }
    *mode = git_tree_entry_filemode(entry) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
    git_tree_entry_free(entry);
    return 0;
}

static void
s_destroy(void *impl)
{
    s_tree_t *self = impl;
    git_tree_free(self->tree);
    git_repository_free(self->repo);
    free(self);
    git_libgit2_shutdown();
}

static const char *
s_describe(void *impl)
{
    return ((s_tree_t *) impl)->describe;
}

static const fl_src_ops_t s_ops = { s_read, s_stat, s_destroy, s_describe };

fl_src_t *
fl_tree_open(const char *repo_path, const char *ref, char commit_out[41], char **err)
{
    git_libgit2_init();
    /* The master runs as its own user and only reads the tree the operator
       named in master.yaml: a tree owned by root (or a deploy user) is
       expected, not a sign of a hostile repository. */
    git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
    s_tree_t *self = fl_calloc(1, sizeof *self);
    git_object *obj = NULL, *commit = NULL;
    if (git_repository_open_ext(&self->repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL)
        != 0) {
        *err = s_git_error(repo_path);
        goto fail;
    }
    if (git_revparse_single(&obj, self->repo, ref) != 0) {
        *err = s_git_error(ref);
        goto fail;
    }
    if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) != 0
        || git_commit_tree(&self->tree, (git_commit *) commit) != 0) {
        *err = s_git_error(ref);
        goto fail;
    }
    git_oid_tostr(commit_out, 41, git_object_id(commit));
    snprintf(self->describe, sizeof self->describe, "%s@%.12s", repo_path, commit_out);
    git_object_free(obj);
    git_object_free(commit);
    return fl_src_new(&s_ops, self);
fail:
    git_object_free(obj);
    git_object_free(commit);
    s_destroy(self);
    return NULL;
}
