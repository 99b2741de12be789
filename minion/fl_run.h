/*  fl_run.h: runs one command for a state module and waits for it.  The
    command is an argv run with execvp, never through a shell (a package or
    user name from a pillar cannot become a second command); stdin is
    /dev/null; stdout and stderr are captured, each capped at
    FL_RUN_MAX_OUTPUT; the command gets its own process group, killed as a
    whole on timeout.  Unlike cmd.run (mod_cmd.c) it returns plain C
    strings, for states that parse what dpkg, sv or sysctl print. */
#ifndef FL_RUN_H
#define FL_RUN_H

#include "fl_prelude.h"

#define FL_RUN_MAX_OUTPUT (64 * 1024)
#define FL_RUN_TIMEOUT 124     /* returned when the timeout killed the command */
#define FL_RUN_NOEXEC 127      /* returned when ARGV[0] cannot be executed */

/*  Runs ARGV (NULL-terminated; ARGV[0] looked up in PATH).  ENV_ADD: NULL
    or a NULL-terminated list of "NAME=VALUE" added to, or replacing in, the
    environment.  TIMEOUT_MS <= 0: no timeout.  OUT and ERR: NULL to
    discard, else set to the captured text (malloc'd, NUL-terminated, caller
    frees) whatever the outcome; ERR also says why a command could not run.
    Returns the exit status, 128+N when signal N killed it, FL_RUN_TIMEOUT,
    FL_RUN_NOEXEC, or -1 when it could not be started (fork, pipe) or its
    status was reaped by someone else.  An ignored SIGCHLD is defaulted
    while the command runs, so that its status can be read. */
int fl_run_argv(char *const argv[], const char *const *env_add, int timeout_ms, char **out,
                char **err);

/*  True when PROG (a name looked up in PATH, or a path) is executable. */
bool fl_run_have(const char *prog);

/*  ARGV joined with spaces, for messages; caller frees. */
char *fl_run_text(char *const argv[]);

/*  A growing argv, always NULL-terminated: build with fl_run_args_add,
    pass .argv to fl_run_argv, release with fl_run_args_free. */
typedef struct {
    char **argv;
    size_t argc;
} fl_run_args_t;

/*  Appends one argument, formatted. */
void fl_run_args_add(fl_run_args_t *args, const char *fmt, ...) FL_PRINTF(2, 3);
/*  Frees the arguments; the struct can be reused. */
void fl_run_args_free(fl_run_args_t *args);

#endif
