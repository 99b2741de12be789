/*  st_core.h: the core state functions (file, cmd, test, archive), their
    shared helpers, and the state.apply execution function.  Each state
    function has the fl_st_fn_t shape (fl_st.h) and is bound to its name in
    fl_st_core.def. */
#ifndef ST_CORE_H
#define ST_CORE_H

#include "fl_registry.h"
#include "fl_st.h"

/*  st_file.c (managed, directory, absent, symlink) and st_file_edit.c
    (append, line, replace, comment) */
void st_file_managed(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret);
void st_file_directory(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                       fl_st_ret_t *ret);
void st_file_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                    fl_st_ret_t *ret);
void st_file_symlink(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret);
void st_file_append(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                    fl_st_ret_t *ret);
void st_file_line(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret);
void st_file_replace(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret);
void st_file_comment(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret);

/*  st_file_diff.c */
/*  Unified diff (3 lines of context, "--- \n+++ \n@@ ... @@" as Salt's
    difflib output, GNU's "\ No newline at end of file") of two texts.
    "Replace binary file" when either holds a NUL byte, "<diff too large>"
    past 1 MiB or 5,000 lines; "" when they are equal.  Caller frees. */
char *st_file_diff(const char *old_text, size_t old_len, const char *new_text, size_t new_len);

/*  st_cmd.c */
void st_cmd_run(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret);
/*  Runs CMDLINE with /bin/sh -c, output discarded; returns its exit status
    (127 when it cannot run).  For unless/onlyif. */
int st_cmd_shell(const char *cmdline);

/*  st_test.c */
void st_test_succeed_without_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                     fl_st_ret_t *ret);
void st_test_fail_without_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                  fl_st_ret_t *ret);
void st_test_succeed_with_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                  fl_st_ret_t *ret);
void st_test_fail_with_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                               fl_st_ret_t *ret);
void st_test_nop(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret);
void st_test_show_notification(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                               fl_st_ret_t *ret);
/*  The mod_watch of every test.* state: "Watch statement fired." */
void st_test_mod_watch(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                       fl_st_ret_t *ret);

/*  st_archive.c */
void st_archive_extracted(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                          fl_st_ret_t *ret);

/*  mod_state.c: state.apply.  KWARGS carry "__chunks__" (array of low
    chunks), "__pillar__" (object), "__files__" (object: URL -> local copy),
    "test" (bool) and "__cache_dir__" (string).  *RET is the runner's
    result object; returns 0 when no state failed, 2 when one did (Salt's
    retcode for failed states), 1 on bad arguments (*RET a message). */
int mod_state_apply(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                    json_t **ret);

#endif
