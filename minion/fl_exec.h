/*  fl_exec.h: one job worker.  The minion forks a child per job (setsid, so
    its process group can be killed on timeout; closed fds; stdin from
    /dev/null); the child runs the handler and writes its result as one JSON
    document on a pipe, then _exits.  The parent watches the pipe from its
    event loop, so heartbeats and other jobs go on meanwhile.  A crashing or
    hung job never takes the minion down.  The child never touches ZeroMQ. */
#ifndef FL_EXEC_H
#define FL_EXEC_H

#include "fl_registry.h"

#include <sys/types.h>

/*  Worker output is capped so that a return always fits in one message. */
#define FL_EXEC_MAX_RESULT (512 * 1024)
/*  Retcodes of jobs that did not end on their own: killed at the deadline
    (as timeout(1) reports it), or the worker crashed, failed or sent too
    much or garbage. */
#define FL_EXEC_RETCODE_TIMEOUT 124
#define FL_EXEC_RETCODE_WORKER 254

typedef struct fl_exec fl_exec_t;

typedef struct {
    const char *jid;
    const char *fun;
    const json_t *args;     /* array (borrowed) */
    const json_t *kwargs;   /* object (borrowed) */
    fl_mod_ctx_t ctx;       /* copied into the child */
} fl_exec_req_t;

/*  Forks the worker.  NULL with a message in *ERR (caller frees) when the
    fork or pipe fails, the function is unknown or not available here, or
    the arity or the shape of args/kwargs is wrong (nothing is forked then).
    NULL args/kwargs mean none. */
fl_exec_t *fl_exec_start(const fl_exec_req_t *req, char **err);
/*  Kills the worker's process group if still running, reaps it, frees. */
void fl_exec_destroy(fl_exec_t **self_p);

/*  The read end of the result pipe, for zloop_poller / poll(). */
int fl_exec_fd(const fl_exec_t *self);
/*  Call when the fd is readable: reads what is there.  Returns 1 when the
    worker has finished (EOF seen and child reaped), 0 when more is to come.
    Once finished, stop polling the fd: it stays at EOF until destroy. */
int fl_exec_on_readable(fl_exec_t *self);
/*  Kills the worker's process group when NOW_MS is past its deadline.
    Returns 1 when the job is over (result available), else 0. */
int fl_exec_check_timeout(fl_exec_t *self, int64_t now_ms);
/*  fl_clock_ms() time of the deadline: start + ctx.timeout_ms, or INT64_MAX
    when ctx.timeout_ms <= 0 (no limit). */
int64_t fl_exec_deadline_ms(const fl_exec_t *self);
pid_t fl_exec_pid(const fl_exec_t *self);
const char *fl_exec_jid(const fl_exec_t *self);
const char *fl_exec_fun(const fl_exec_t *self);

/*  Valid once finished: {"ret": ..., "retcode": N, "success": bool}.
    A timeout gives retcode 124 and a ret naming the limit; a crash gives
    the signal; output over FL_EXEC_MAX_RESULT gives an error.  Borrowed. */
const json_t *fl_exec_result(const fl_exec_t *self);

#endif
