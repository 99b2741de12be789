/*  fl_tree.h: the state tree as a git commit, read with libgit2.  state_dir
    is a work tree or a bare repository; state_ref names the commit (a
    branch, a tag, HEAD, or a commit id).  What a state run compiles and
    what the file server sends both come from one commit, and the job
    records its id, so a run can always be traced to the exact files. */
#ifndef FL_TREE_H
#define FL_TREE_H

#include "fl_src.h"

/*  A source reading REF's tree in the repository at REPO_PATH.  COMMIT_OUT
    receives the full commit id.  NULL with *ERR set (caller frees). */
fl_src_t *fl_tree_open(const char *repo_path, const char *ref, char commit_out[41], char **err);

#endif
