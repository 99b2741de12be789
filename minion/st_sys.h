/*  st_sys.h: the system state modules (fl_st_sys.def binds them): packages
    (st_pkg.c), services (st_service.c), users and groups (st_user.c),
    timezone, locale, keyboard and sysctl (st_system.c); plus the helpers
    they share, defined in st_system.c.

    All of them honour ctx->root_dir: files are read and written under it
    and the tools are pointed at it (dpkg --root, apt -o Dir=, useradd
    --root, runit's service directories under it), so that many minions can
    share one host in the end-to-end tests.  Commands run through
    fl_run_argv (no shell). */
#ifndef ST_SYS_H
#define ST_SYS_H

#include "fl_st.h"

#include <sys/types.h>

/*  st_pkg.c */
void st_pkg_installed(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                      fl_st_ret_t *ret);
void st_pkg_latest(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret);
void st_pkg_removed(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret);
void st_pkgrepo_managed(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                        fl_st_ret_t *ret);

/*  st_service.c */
void st_service_running(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                        fl_st_ret_t *ret);
void st_service_dead(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret);
void st_service_enabled(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                        fl_st_ret_t *ret);
/*  mod_watch of service.running: restart (start when it is down). */
void st_service_mod_watch(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                          fl_st_ret_t *ret);

/*  st_user.c */
void st_user_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret);
void st_user_absent(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret);
void st_group_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                      fl_st_ret_t *ret);

/*  st_system.c */
void st_timezone_system(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                        fl_st_ret_t *ret);
void st_locale_system(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                      fl_st_ret_t *ret);
void st_keyboard_system(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                        fl_st_ret_t *ret);
void st_sysctl_present(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                       fl_st_ret_t *ret);

/*  Shared helpers (st_system.c).  Those taking RET fail the state (result
    False and a comment naming the problem) when they return -1. */

/*  ctx->root_dir without trailing slashes: "" for the real system (also
    when root_dir is "/").  Caller frees. */
char *st_sys_root(const fl_st_ctx_t *ctx);
/*  ARGS[KEY] as text into *OUT (caller frees; NULL when absent or null): a
    string, or a number as YAML wrote it (uid: 1500, version: 2).  -1 for
    other types or an embedded NUL or newline. */
int st_sys_arg_text(const json_t *args, const char *key, char **out, fl_st_ret_t *ret);
/*  ARGS[KEY] as a boolean into *OUT: -1 absent or null, else 0 or 1.
    -1 when it is not a boolean. */
int st_sys_arg_bool(const json_t *args, const char *key, int *out, fl_st_ret_t *ret);
/*  Reads PATH into *TEXT (caller frees; NULL when the file does not exist). */
int st_sys_read(const char *path, char **text, fl_st_ret_t *ret);
/*  Writes TEXT to PATH atomically, creating parent directories (0755). */
int st_sys_write(const char *path, const char *text, mode_t mode, fl_st_ret_t *ret);
/*  Fails the state for a command that exited with RC: the command line, the
    status and the last line of what it printed on stderr (or stdout). */
void st_sys_cmd_failed(fl_st_ret_t *ret, char *const argv[], int rc, const char *out,
                       const char *err);

#endif
