/*  fl_minion.c: the minion's loop and its side of the wire.

    Connection life: libzmq connects and reconnects by itself (with
    exponential backoff and random jitter: reconnect_min_ms ..
    reconnect_max_ms).  A socket monitor tells us when a CURVE handshake
    succeeds; we then wait a random moment (so ten thousand minions do not
    hello in the same millisecond after a master restart) and say hello.
    The master answers welcome (accepted), pending, or refused.  The CURVE
    server key is the one in our bundle: any other master fails the
    handshake, so we never talk to it. */
#include "fl_minion.h"
#include "fl_cert.h"
#include "fl_beacons.h"
#include "fl_exec.h"
#include "fl_fetch.h"
#include "fl_grains.h"
#include "fl_json.h"
#include "fl_keys.h"
#include "fl_log.h"
#include "fl_msg.h"
#include "fl_target.h"
#include "fl_util.h"

#include <czmq.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define FL_SEEN_JIDS 4096       /* job ids remembered against replay */
#define FL_OUTBOX_MAX 1024      /* unacknowledged returns kept */
#define FL_HELLO_TIMEOUT_MS 10000
#define FL_FETCH_TIMEOUT_MS 60000  /* a state job waits this long for its files */

const fl_cfg_spec_t fl_minion_config_spec[] = {
    { "id", FL_CFG_STRING, NULL, 0, 0, false, "minion id (default: the host name)" },
    { "master", FL_CFG_ENDPOINT, NULL, 0, 0, true, "the master's endpoint, tcp://HOST:PORT" },
    { "master_pub", FL_CFG_PATH, "master.pub", 0, 0, false,
      "the master's public key: any other master is refused" },
    { "key", FL_CFG_PATH, "minion.key", 0, 0, false,
      "this minion's secret key (0600; created at first start when missing)" },
    { "cert", FL_CFG_PATH, NULL, 0, 0, false,
      "factory certificate signed by the fleet root (auto-accepted by the master)" },
    { "cache_dir", FL_CFG_PATH, "/var/lib/fleet-minion", 0, 0, false,
      "where the minion keeps what it must remember (job ids seen)" },
    { "root_dir", FL_CFG_PATH, NULL, 0, 0, false,
      "prefix for everything the minion manages (tests, many minions on one host)" },
    { "grains", FL_CFG_MAP, NULL, 0, 0, false, "static grains, merged over the core grains" },
    { "locate", FL_CFG_MAP, NULL, 0, 0, false,
      "fleetctl locate: {led: NAME, trigger: timer} under /sys/class/leds, or {command: CMD}" },
    { "beacons", FL_CFG_MAP, NULL, 0, 0, false,
      "health beacons: {cpu: {interval: 900}, process_list: {enabled: false}, ...}" },
    { "heartbeat", FL_CFG_INT, "30", 1, 86400, false, "seconds between pings to the master" },
    { "grains_refresh", FL_CFG_INT, "600", 1, 86400, false,
      "seconds between grain re-collections (sent when changed)" },
    { "acceptance_wait", FL_CFG_INT, "10", 1, 3600, false,
      "seconds between hellos while the key is pending or refused" },
    { "reconnect_min_ms", FL_CFG_INT, "1000", 10, 600000, false,
      "first reconnect delay; each retry doubles it, plus random jitter" },
    { "reconnect_max_ms", FL_CFG_INT, "30000", 10, 3600000, false, "longest reconnect delay" },
    { "job_timeout", FL_CFG_INT, "3600", 1, 604800, false,
      "seconds a job may run before its worker is killed (fleetctl's --timeout is only how "
      "long the operator waits; late returns are kept)" },
    { "container_socket", FL_CFG_PATH, "/var/run/docker.sock", 0, 0, false,
      "the container engine's Docker API socket (dockerd, or podman's service)" },
    { "max_jobs", FL_CFG_INT, "16", 1, 1024, false, "jobs run at once; more are refused" },
    { "log_level", FL_CFG_LOGLEVEL, "notice", 0, 0, false,
      "error, warning, notice, info or debug" },
};
const size_t fl_minion_config_spec_len = FL_ARRAY_LEN(fl_minion_config_spec);

typedef enum { S_DISCONNECTED, S_HELLO_SENT, S_PENDING, S_READY } s_state_t;

struct fl_minion {
    fl_config_t *config;
    fl_key_t *key;
    fl_key_t *master_key;
    char *cert_text;
    char *id;
    const char *root_dir;
    json_t *grains;
    zloop_t *loop;
    zsock_t *dealer;
    zsock_t *monitor;
    char sid[33];
    uint64_t seq;
    char *master_sid;
    uint64_t master_seq;
    s_state_t state;
    zlistx_t *execs;        /* running fl_exec_t (owner) */
    zhashx_t *fetching;     /* jid -> s_pending_t: state jobs waiting for files */
    fl_beacons_t *beacons;
    json_t *samples;        /* beacon samples not sent yet (bounded) */
    zhashx_t *outbox;       /* jid -> return body (json_t, owner) */
    zlistx_t *outbox_order; /* jids in the order they were queued */
    zhashx_t *seen;         /* jid -> "" */
    zlistx_t *seen_order;   /* jids, oldest first */
    char *seen_path;
    size_t seen_lines;      /* lines in the jobs.seen file */
    int hello_timer;
    int exit_code;
    uint64_t refused;
    unsigned hello_tries;   /* hellos without an answer since the last welcome */
    int fail_kind;          /* the failure that repeats at each retry, 0: none */
    unsigned fail_count;    /* how many times in a row */
};

enum { S_FAIL_REFUSED = 1, S_FAIL_AUTH, S_FAIL_HANDSHAKE };

/*  A failure that repeats at every retry (another master's key in the
    bundle, a certificate from another fleet) is logged at its 1st, 2nd,
    4th, 8th... time: the log says at once what is wrong and keeps saying
    it, without a line per retry on a device that may wait for weeks. */
static bool
s_fail_should_log(fl_minion_t *self, int kind)
{
    if (self->fail_kind != kind) {
        self->fail_kind = kind;
        self->fail_count = 0;
    }
    self->fail_count++;
    return (self->fail_count & (self->fail_count - 1)) == 0;
}

static void s_seen_compact(fl_minion_t *self);

/*  A state job whose files are being fetched before its worker starts. */
typedef struct {
    fl_fetch_t *fetch;
    json_t *body;   /* the job message body */
} s_pending_t;

static void
s_pending_destroy(s_pending_t **self_p)
{
    if (self_p && *self_p) {
        fl_fetch_destroy(&(*self_p)->fetch);
        json_decref((*self_p)->body);
        free(*self_p);
        *self_p = NULL;
    }
}

static int
s_pointer_compare(const void *a, const void *b)
{
    return a == b ? 0 : a < b ? -1 : 1;
}

static void
s_json_destroy(json_t **p)
{
    json_decref(*p);
    *p = NULL;
}

/*  Job ids seen survive a restart: a captured job cannot be replayed to a
    minion that rebooted. */
static void
s_seen_add(fl_minion_t *self, const char *jid, bool persist)
{
    if (zhashx_lookup(self->seen, jid)) {
        return;
    }
    zhashx_insert(self->seen, jid, (void *) "");
    zlistx_add_end(self->seen_order, (void *) jid);
    while (zlistx_size(self->seen_order) > FL_SEEN_JIDS) {
        char *old = zlistx_first(self->seen_order);
        zhashx_delete(self->seen, old);
        zlistx_delete(self->seen_order, zlistx_cursor(self->seen_order));
    }
    if (persist) {
        int fd = open(self->seen_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            fl_log_warn("cannot record job id in %s", self->seen_path);
            return;
        }
        char line[40];
        int n = snprintf(line, sizeof line, "%s\n", jid);
        if (write(fd, line, (size_t) n) != n || fsync(fd) != 0) {
            fl_log_warn("cannot record job id in %s", self->seen_path);
        }
        close(fd);
        self->seen_lines++;
        s_seen_compact(self);
    }
}

/*  Rewrites the file with the current window once it has grown well past
    it, so that it stays small however long the minion runs. */
static void
s_seen_compact(fl_minion_t *self)
{
    if (self->seen_lines <= 2 * FL_SEEN_JIDS) {
        return;
    }
    size_t cap = zlistx_size(self->seen_order) * 40 + 1, off = 0;
    char *buf = fl_malloc(cap);
    for (char *jid = zlistx_first(self->seen_order); jid; jid = zlistx_next(self->seen_order)) {
        off += (size_t) snprintf(buf + off, cap - off, "%s\n", jid);
    }
    if (fl_file_write_atomic(self->seen_path, buf, off, 0600) != 0) {
        fl_log_warn("cannot compact %s", self->seen_path);
    } else {
        self->seen_lines = zlistx_size(self->seen_order);
    }
    free(buf);
}

static void
s_seen_load(fl_minion_t *self)
{
    size_t len = 0;
    char *text = fl_file_read(self->seen_path, 16 * 1024 * 1024, &len);
    if (!text) {
        return;
    }
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        s_seen_add(self, line, false);
        lines++;
    }
    free(text);
    self->seen_lines = lines;
    s_seen_compact(self);
}

static int
s_send(fl_minion_t *self, const char *type, const json_t *body)
{
    bool hello = strcmp(type, "hello") == 0;
    zmsg_t *msg = fl_msg_encode(self->key, type, self->id, self->sid, ++self->seq, body, hello);
    if (zmsg_send(&msg, self->dealer) != 0) {
        zmsg_destroy(&msg);
        fl_log_warnx("cannot send %s to the master", type);
        return -1;
    }
    return 0;
}

static int s_on_hello_timer(zloop_t *loop, int timer_id, void *arg);

static void
s_schedule_hello(fl_minion_t *self, int delay_ms)
{
    if (self->hello_timer >= 0) {
        zloop_timer_end(self->loop, self->hello_timer);
    }
    self->hello_timer = zloop_timer(self->loop, (size_t) (delay_ms > 0 ? delay_ms : 1), 1,
                                    s_on_hello_timer, self);
}

static void
s_send_hello(fl_minion_t *self)
{
    json_t *body = json_pack("{s:s, s:O, s:I}", "version", FL_VERSION, "grains", self->grains,
                             "heartbeat", (json_int_t) fl_config_int(self->config, "heartbeat"));
    if (self->cert_text) {
        json_object_set_new(body, "cert", json_string(self->cert_text));
    }
    s_send(self, "hello", body);
    json_decref(body);
    if (self->state != S_PENDING) {
        self->state = S_HELLO_SENT;
    }
    /* No answer (master restarting, message lost): try again, waiting
       10, 20, 40, then 80 s, with a quarter of jitter, so that a master
       still busy with a reconnect storm is not sent the same hellos again. */
    unsigned shift = self->hello_tries < 3 ? self->hello_tries : 3;
    self->hello_tries++;
    int wait = FL_HELLO_TIMEOUT_MS << shift;
    s_schedule_hello(self, wait + (int) randombytes_uniform((uint32_t) wait / 4));
}

static int
s_on_hello_timer(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_minion_t *self = arg;
    self->hello_timer = -1;
    if (self->state != S_READY) {
        s_send_hello(self);
    }
    return 0;
}

static void
s_send_return(fl_minion_t *self, json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    if (!zhashx_lookup(self->outbox, jid)) {
        if (zhashx_size(self->outbox) >= FL_OUTBOX_MAX) {
            char *oldest = zlistx_first(self->outbox_order);
            fl_log_warnx("outbox full: dropping the unacknowledged return of job %s", oldest);
            zhashx_delete(self->outbox, oldest);
            zlistx_delete(self->outbox_order, zlistx_cursor(self->outbox_order));
        }
        zhashx_insert(self->outbox, jid, json_incref(body));
        zlistx_add_end(self->outbox_order, (void *) jid);
    }
    if (self->state == S_READY) {
        s_send(self, "return", body);
    }
    json_decref(body);
}

static void
s_return_error(fl_minion_t *self, const char *jid, const char *fun, int retcode, const char *msg)
{
    json_t *body = json_pack("{s:s, s:s, s:s, s:i, s:b}", "jid", jid, "fun", fun, "ret", msg,
                             "retcode", retcode, "success", 0);
    s_send_return(self, body);
}

static int s_on_exec(zloop_t *loop, zmq_pollitem_t *item, void *arg);
static void s_flush_outbox(fl_minion_t *self);
static void s_start(fl_minion_t *self, const char *jid, const char *fun, const json_t *args,
                    const json_t *kwargs);
static void s_fetch_then_start(fl_minion_t *self, const json_t *body);
static char *s_files_dir(fl_minion_t *self, const char *jid);
static void s_fetch_step(fl_minion_t *self, s_pending_t *pending);

static void
s_on_job(fl_minion_t *self, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    const char *fun = fl_json_str(body, "fun");
    const char *tgt = fl_json_str(body, "tgt");
    const char *tgt_type = fl_json_str(body, "tgt_type");
    json_t *args = json_object_get(body, "args");
    json_t *kwargs = json_object_get(body, "kwargs");
    if (!jid || strlen(jid) > 31 || !fun || !tgt || !tgt_type || !json_is_array(args)
        || !json_is_object(kwargs)) {
        self->refused++;
        fl_log_warnx("refused a malformed job from the master");
        return;
    }
    if (zhashx_lookup(self->seen, jid)) {
        self->refused++;
        fl_log_warnx("refused job %s: already run (replay)", jid);
        return;
    }
    s_seen_add(self, jid, true);
    /* The master resolved the target; we check it again with our grains. */
    fl_tgt_type_t type;
    fl_diag_t *diag = fl_diag_new();
    fl_target_t *target = fl_tgt_type_parse(tgt_type, &type) == 0
                              ? fl_target_new(tgt, type, diag)
                              : NULL;
    bool match = target && fl_target_match(target, self->id, self->grains);
    fl_target_destroy(&target);
    fl_diag_destroy(&diag);
    if (!match) {
        fl_log_warnx("job %s: target '%s' does not match this minion", jid, tgt);
        s_return_error(self, jid, fun, 2, "target does not match this minion");
        return;
    }
    const fl_func_spec_t *spec = fl_func_find(fun);
    char *err = NULL;
    if (!spec) {
        s_return_error(self, jid, fun, 2, "unknown function");
        return;
    }
    if (fl_func_check_arity(spec, json_array_size(args), &err) != 0) {
        s_return_error(self, jid, fun, 2, err);
        free(err);
        return;
    }
    if ((long) (zlistx_size(self->execs) + zhashx_size(self->fetching))
        >= fl_config_int(self->config, "max_jobs")) {
        s_return_error(self, jid, fun, 1, "minion busy: too many jobs running");
        return;
    }
    if (spec->flags & FL_FN_STATE) {
        s_fetch_then_start(self, body);
        return;
    }
    s_start(self, jid, fun, args, kwargs);
}

/*  Forks the worker for a job that passed every check. */
static void
s_start(fl_minion_t *self, const char *jid, const char *fun, const json_t *args,
        const json_t *kwargs)
{
    char *err = NULL;
    fl_exec_req_t req = {
        .jid = jid, .fun = fun, .args = args, .kwargs = kwargs,
        .ctx = { .minion_id = self->id, .grains = self->grains, .root_dir = self->root_dir,
                 .jid = jid,
                 .timeout_ms = (int) fl_config_int(self->config, "job_timeout") * 1000,
                 .container_socket = fl_config_str(self->config, "container_socket"),
                 .locate = fl_config_json(self->config, "locate") },
    };
    if (!fl_registry_available(fun, &req.ctx)) {
        s_return_error(self, jid, fun, 2, "function not available on this minion");
        return;
    }
    fl_exec_t *exec = fl_exec_start(&req, &err);
    if (!exec) {
        s_return_error(self, jid, fun, 1, err ? err : "cannot start job");
        free(err);
        char *dir = s_files_dir(self, jid);
        fl_rm_rf(dir);
        free(dir);
        return;
    }
    fl_log_info("job %s: %s started (pid %d)", jid, fun, (int) fl_exec_pid(exec));
    zlistx_add_end(self->execs, exec);
    zmq_pollitem_t item = { NULL, fl_exec_fd(exec), ZMQ_POLLIN, 0 };
    zloop_poller(self->loop, &item, s_on_exec, self);
}

static char *
s_files_dir(fl_minion_t *self, const char *jid)
{
    return fl_sprintf("%s/files/%s", fl_config_str(self->config, "cache_dir"), jid);
}

/*  A state job's files are all here (or given up on): start its worker with
    the map of local copies and the reasons for any that are missing. */
static void
s_start_state(fl_minion_t *self, const json_t *body, const fl_fetch_t *fetch)
{
    const char *jid = fl_json_str(body, "jid");
    json_t *kwargs = json_deep_copy(json_object_get(body, "kwargs"));
    json_object_set_new(kwargs, "__files__",
                        fetch ? json_deep_copy(fl_fetch_files(fetch)) : json_object());
    json_object_set_new(kwargs, "__file_errors__",
                        fetch ? json_deep_copy(fl_fetch_errors(fetch)) : json_object());
    json_object_set_new(kwargs, "__cache_dir__",
                        json_string(fl_config_str(self->config, "cache_dir")));
    s_start(self, jid, fl_json_str(body, "fun"), json_object_get(body, "args"), kwargs);
    json_decref(kwargs);
}

static void
s_fetch_then_start(fl_minion_t *self, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    json_t *urls = fl_fetch_urls(json_object_get(json_object_get(body, "kwargs"), "__chunks__"));
    if (json_array_size(urls) == 0) {
        json_decref(urls);
        s_start_state(self, body, NULL);
        return;
    }
    char *dir = s_files_dir(self, jid);
    s_pending_t *pending = fl_calloc(1, sizeof *pending);
    pending->fetch = fl_fetch_new(jid, urls, dir);
    pending->body = json_deep_copy(body);
    free(dir);
    fl_log_info("job %s: fetching %zu file(s) from the master", jid, json_array_size(urls));
    json_decref(urls);
    zhashx_insert(self->fetching, jid, pending);
    s_fetch_step(self, pending);
}

/*  Asks for the next piece, or starts the job when every file is in. */
static void
s_fetch_step(fl_minion_t *self, s_pending_t *pending)
{
    json_t *req = fl_fetch_request(pending->fetch);
    if (req) {
        s_send(self, "file_req", req);
        json_decref(req);
        return;
    }
    char *jid = fl_strdup(fl_json_str(pending->body, "jid"));
    s_start_state(self, pending->body, pending->fetch);
    zhashx_delete(self->fetching, jid);  /* destroys PENDING */
    free(jid);
}

static void
s_on_file(fl_minion_t *self, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    s_pending_t *pending = jid ? zhashx_lookup(self->fetching, jid) : NULL;
    if (!pending || fl_fetch_on_reply(pending->fetch, body) != 0) {
        fl_log_warnx("file reply for no pending request (job %.32s)", jid ? jid : "?");
        return;
    }
    s_fetch_step(self, pending);
}

/*  A worker finished: send its result and forget it. */
static void
s_exec_done(fl_minion_t *self, fl_exec_t *exec)
{
    zmq_pollitem_t item = { NULL, fl_exec_fd(exec), ZMQ_POLLIN, 0 };
    zloop_poller_end(self->loop, &item);
    const json_t *result = fl_exec_result(exec);
    json_t *body = json_deep_copy(result);
    if (!json_is_object(body)) {
        json_decref(body);
        body = json_pack("{s:s, s:i, s:b}", "ret", "job produced no result", "retcode", 1,
                         "success", 0);
    }
    json_object_set_new(body, "jid", json_string(fl_exec_jid(exec)));
    json_object_set_new(body, "fun", json_string(fl_exec_fun(exec)));
    fl_log_info("job %s finished, retcode %lld", fl_exec_jid(exec),
                (long long) json_integer_value(json_object_get(body, "retcode")));
    s_send_return(self, body);
    char *dir = s_files_dir(self, fl_exec_jid(exec));
    fl_rm_rf(dir);
    free(dir);
    void *handle = zlistx_find(self->execs, exec);
    zlistx_delete(self->execs, handle);  /* destroys EXEC */
}

static int
s_on_exec(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    FL_UNUSED(loop);
    fl_minion_t *self = arg;
    for (fl_exec_t *exec = zlistx_first(self->execs); exec; exec = zlistx_next(self->execs)) {
        if (fl_exec_fd(exec) == item->fd) {
            if (fl_exec_on_readable(exec) == 1) {
                s_exec_done(self, exec);
            }
            break;
        }
    }
    return 0;
}

static int
s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_minion_t *self = arg;
    int64_t now = fl_clock_ms();
    /* A state job whose files do not come (master gone) runs without them:
       its states that need them fail with the reason. */
    for (s_pending_t *p = zhashx_first(self->fetching); p; p = zhashx_next(self->fetching)) {
        if (now - fl_fetch_started_ms(p->fetch) > FL_FETCH_TIMEOUT_MS) {
            fl_fetch_abandon(p->fetch, "the master did not send the file in time");
            s_fetch_step(self, p);
            break;  /* the table changed; the next tick sees the others */
        }
    }
    /* s_exec_done changes the list: start over after each finished job. */
    bool again = true;
    while (again) {
        again = false;
        for (fl_exec_t *exec = zlistx_first(self->execs); exec;
             exec = zlistx_next(self->execs)) {
            if (fl_exec_check_timeout(exec, now) == 1) {
                s_exec_done(self, exec);
                again = true;
                break;
            }
        }
    }
    return 0;
}

#define FL_SAMPLES_MAX 256

static void
s_send_samples(fl_minion_t *self)
{
    if (self->state != S_READY || json_array_size(self->samples) == 0) {
        return;
    }
    /* In pieces the master accepts (at most 64 samples a message). */
    while (json_array_size(self->samples) > 0) {
        json_t *batch = json_array();
        while (json_array_size(batch) < 32 && json_array_size(self->samples) > 0) {
            json_array_append(batch, json_array_get(self->samples, 0));
            json_array_remove(self->samples, 0);
        }
        json_t *body = json_pack("{s:o}", "samples", batch);
        s_send(self, "beacon", body);
        json_decref(body);
    }
}

/*  Every second: the beacons whose time has come are sampled and sent;
    while the master is away they wait (the newest FL_SAMPLES_MAX). */
static int
s_on_beacons(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_minion_t *self = arg;
    json_t *due = fl_beacons_due(self->beacons, fl_clock_ms());
    size_t i;
    json_t *s;
    json_array_foreach(due, i, s) {
        json_array_append(self->samples, s);
    }
    json_decref(due);
    while (json_array_size(self->samples) > FL_SAMPLES_MAX) {
        json_array_remove(self->samples, 0);
    }
    s_send_samples(self);
    return 0;
}

static int
s_on_heartbeat(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_minion_t *self = arg;
    if (self->state == S_READY) {
        /* The device's uptime rides on the ping: `fleetctl status` shows it. */
        json_t *body = json_object();
        char *text = fl_file_read("/proc/uptime", 256, NULL);
        if (text) {
            json_object_set_new(body, "uptime", json_integer(strtoll(text, NULL, 10)));
            free(text);
        }
        s_send(self, "ping", body);
        json_decref(body);
        /* Returns still unacknowledged (lost on the way) go again. */
        s_flush_outbox(self);
    }
    return 0;
}

static int
s_on_grains_refresh(zloop_t *loop, int timer_id, void *arg)
{
    FL_UNUSED(loop);
    FL_UNUSED(timer_id);
    fl_minion_t *self = arg;
    json_t *grains = fl_grains_collect(self->id, self->root_dir,
                                       fl_config_json(self->config, "grains"));
    if (!json_equal(grains, self->grains)) {
        json_decref(self->grains);
        self->grains = grains;
        if (self->state == S_READY) {
            json_t *body = json_pack("{s:O}", "grains", self->grains);
            s_send(self, "grains", body);
            json_decref(body);
        }
        fl_log_info("grains changed");
    } else {
        json_decref(grains);
    }
    return 0;
}

static void
s_flush_outbox(fl_minion_t *self)
{
    for (char *jid = zlistx_first(self->outbox_order); jid;
         jid = zlistx_next(self->outbox_order)) {
        json_t *body = zhashx_lookup(self->outbox, jid);
        if (body) {
            s_send(self, "return", body);
        }
    }
}

/*  Messages from the master: verified with the master's key from our
    bundle, then checked for session and sequence. */
static int
s_on_dealer(zloop_t *loop, zsock_t *sock, void *arg)
{
    FL_UNUSED(loop);
    fl_minion_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg) {
        return 0;
    }
    zframe_t *env, *sig, *pk;
    fl_msg_t *m = NULL;
    fl_msg_err_t err = fl_msg_split(msg, &env, &sig, &pk);
    if (err == FL_MSG_OK && !pk) {
        err = fl_msg_open(env, sig, fl_key_public(self->master_key), &m);
    } else if (err == FL_MSG_OK) {
        err = FL_MSG_E_FRAMES;
    }
    zmsg_destroy(&msg);
    if (err != FL_MSG_OK) {
        self->refused++;
        fl_log_warnx("refused message from the master: %s", fl_msg_err_name(err));
        return 0;
    }
    const char *type = fl_msg_type(m);
    bool session_start = strcmp(type, "welcome") == 0 || strcmp(type, "pending") == 0
                         || strcmp(type, "refused") == 0 || strcmp(type, "rehello") == 0;
    if (!self->master_sid || strcmp(self->master_sid, fl_msg_sid(m)) != 0) {
        if (!session_start) {
            self->refused++;
            fl_log_warnx("refused '%s' from an unknown master session", type);
            fl_msg_destroy(&m);
            return 0;
        }
        free(self->master_sid);
        self->master_sid = fl_strdup(fl_msg_sid(m));
    } else if (fl_msg_seq(m) <= self->master_seq) {
        self->refused++;
        fl_log_warnx("refused '%s' from the master: replayed sequence", type);
        fl_msg_destroy(&m);
        return 0;
    }
    self->master_seq = fl_msg_seq(m);
    json_t *body = fl_msg_body(m);
    int rc = 0;
    if (strcmp(type, "welcome") == 0) {
        if (self->state != S_READY) {
            fl_log_notice("accepted by the master; ready");
        }
        self->state = S_READY;
        self->fail_kind = 0;
        self->hello_tries = 0;
        if (self->hello_timer >= 0) {
            zloop_timer_end(self->loop, self->hello_timer);
            self->hello_timer = -1;
        }
        s_flush_outbox(self);
        s_send_samples(self);
        /* File requests lost with the old connection are asked again. */
        for (s_pending_t *p = zhashx_first(self->fetching); p; p = zhashx_next(self->fetching)) {
            json_t *req = fl_fetch_request(p->fetch);
            if (req) {
                s_send(self, "file_req", req);
                json_decref(req);
            }
        }
    } else if (strcmp(type, "pending") == 0) {
        if (self->state != S_PENDING) {
            fl_log_notice("key pending on the master (fleetctl key accept %s)", self->id);
        }
        self->state = S_PENDING;
        s_schedule_hello(self, (int) fl_config_int(self->config, "acceptance_wait") * 1000);
    } else if (strcmp(type, "refused") == 0) {
        if (s_fail_should_log(self, S_FAIL_REFUSED)) {
            fl_log_error("the master refused this minion: %s (attempt %u; trying again every %d s)",
                         fl_json_str(body, "reason") ? fl_json_str(body, "reason") : "no reason",
                         self->fail_count, (int) fl_config_int(self->config, "acceptance_wait"));
        }
        self->state = S_PENDING;
        s_schedule_hello(self, (int) fl_config_int(self->config, "acceptance_wait") * 1000);
    } else if (strcmp(type, "rehello") == 0) {
        self->state = S_HELLO_SENT;
        s_send_hello(self);
    } else if (strcmp(type, "job") == 0) {
        if (self->state == S_READY) {
            s_on_job(self, body);
        } else {
            fl_log_warnx("job ignored: not accepted yet");
        }
    } else if (strcmp(type, "file") == 0) {
        s_on_file(self, body);
    } else if (strcmp(type, "ack") == 0) {
        const char *jid = fl_json_str(body, "jid");
        void *handle = jid ? zlistx_find(self->outbox_order, (void *) jid) : NULL;
        if (handle) {
            zhashx_delete(self->outbox, jid);
            zlistx_delete(self->outbox_order, handle);
        }
    } else if (strcmp(type, "pong") == 0) {
        /* liveness only */
    } else if (strcmp(type, "retire") == 0) {
        fl_log_error("retired by the master (%s): this key is revoked; stopping",
                     fl_json_str(body, "reason") ? fl_json_str(body, "reason") : "revoked");
        self->exit_code = 0;
        rc = -1;  /* ends zloop */
    } else {
        self->refused++;
        fl_log_warnx("unknown message type '%.40s' from the master", type);
    }
    fl_msg_destroy(&m);
    return rc;
}

static int
s_on_monitor(zloop_t *loop, zsock_t *sock, void *arg)
{
    FL_UNUSED(loop);
    fl_minion_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg) {
        return 0;
    }
    zframe_t *head = zmsg_first(msg);
    if (head && zframe_size(head) >= 6) {
        uint16_t event;
        int32_t value;
        memcpy(&event, zframe_data(head), 2);
        memcpy(&value, zframe_data(head) + 2, 4);
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: {
            /* Spread hellos over the first reconnect interval. */
            int spread = (int) fl_config_int(self->config, "reconnect_min_ms");
            int delay = (int) randombytes_uniform((uint32_t) spread) + 1;
            fl_log_info("connected to the master; hello in %d ms", delay);
            self->state = S_HELLO_SENT;
            s_schedule_hello(self, delay);
            break;
        }
        case ZMQ_EVENT_DISCONNECTED:
            if (self->state != S_DISCONNECTED) {
                fl_log_notice("lost the master; reconnecting");
            }
            self->state = S_DISCONNECTED;
            if (self->hello_timer >= 0) {
                zloop_timer_end(self->loop, self->hello_timer);
                self->hello_timer = -1;
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            if (s_fail_should_log(self, S_FAIL_AUTH)) {
                fl_log_error("the master refused our key at the handshake (revoked or "
                             "rejected?) (attempt %u)", self->fail_count);
            }
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            if (s_fail_should_log(self, S_FAIL_HANDSHAKE)) {
                fl_log_error("handshake with the master at %s failed: it does not hold the "
                             "key in %s (a bundle for another master?) (attempt %u)",
                             fl_config_str(self->config, "master"),
                             fl_config_str(self->config, "master_pub"), self->fail_count);
            }
            break;
        default:
            break;
        }
    }
    zmsg_destroy(&msg);
    return 0;
}

static char *
s_pub_path(const char *secret)
{
    size_t n = strlen(secret);
    if (n > 4 && strcmp(secret + n - 4, ".key") == 0) {
        return fl_sprintf("%.*s.pub", (int) (n - 4), secret);
    }
    return fl_sprintf("%s.pub", secret);
}

static int
s_load_identity(fl_minion_t *self, char **err)
{
    const char *id = fl_config_str(self->config, "id");
    char host[256] = "";
    if (!id) {
        gethostname(host, sizeof host - 1);
        id = host;
    }
    if (!*id || strlen(id) > 128 || strchr(id, '/')) {
        *err = fl_sprintf("minion id '%s' is not usable (1..128 characters, no '/')", id);
        return -1;
    }
    self->id = fl_strdup(id);
    const char *key_path = fl_config_str(self->config, "key");
    char *pub = s_pub_path(key_path);
    self->key = fl_key_load_or_create(key_path, pub, err);
    free(pub);
    if (!self->key) {
        return -1;
    }
    self->master_key = fl_key_load_public(fl_config_str(self->config, "master_pub"), err);
    if (!self->master_key) {
        return -1;
    }
    const char *cert_path = fl_config_str(self->config, "cert");
    if (cert_path) {
        size_t len = 0;
        self->cert_text = fl_file_read(cert_path, FL_CERT_MAX_BYTES, &len);
        if (!self->cert_text) {
            *err = fl_sprintf("%s: %s", cert_path, strerror(errno));
            return -1;
        }
        fl_cert_t *cert = fl_cert_parse(self->cert_text, len, err);
        if (!cert) {
            char *why = *err;
            *err = fl_sprintf("%s: %s", cert_path, why);
            free(why);
            return -1;
        }
        int rc = 0;
        if (strcmp(fl_cert_id(cert), self->id) != 0) {
            *err = fl_sprintf("%s: certificate is for '%s' but this minion is '%s'", cert_path,
                              fl_cert_id(cert), self->id);
            rc = -1;
        } else if (memcmp(fl_cert_key(cert), fl_key_public(self->key), FL_KEY_BYTES) != 0) {
            *err = fl_sprintf("%s: certificate names another key than %s", cert_path, key_path);
            rc = -1;
        }
        fl_cert_destroy(&cert);
        return rc;
    }
    return 0;
}

static int
s_connect(fl_minion_t *self, char **err)
{
    uint8_t secret[FL_KEY_BYTES], public[FL_KEY_BYTES], server[FL_KEY_BYTES];
    fl_key_curve_secret(self->key, secret);
    fl_key_curve_public(self->key, public);
    fl_key_curve_public(self->master_key, server);
    self->dealer = zsock_new(ZMQ_DEALER);
    zsock_set_curve_serverkey_bin(self->dealer, server);
    zsock_set_curve_publickey_bin(self->dealer, public);
    zsock_set_curve_secretkey_bin(self->dealer, secret);
    sodium_memzero(secret, sizeof secret);
    zsock_set_maxmsgsize(self->dealer, FL_MSG_WIRE_MAX);
    zsock_set_linger(self->dealer, 1000);
    /* Never block the loop on a full queue while the master is away: a
       return that cannot go now stays in the outbox and goes after the
       next welcome. */
    zsock_set_sndtimeo(self->dealer, 0);
    zsock_set_reconnect_ivl(self->dealer, (int) fl_config_int(self->config, "reconnect_min_ms"));
    zsock_set_reconnect_ivl_max(self->dealer,
                                (int) fl_config_int(self->config, "reconnect_max_ms"));
    int hb_ms = (int) fl_config_int(self->config, "heartbeat") * 1000;
    zsock_set_heartbeat_ivl(self->dealer, hb_ms);
    zsock_set_heartbeat_timeout(self->dealer, hb_ms * 3);
    char *monitor_ep = fl_sprintf("inproc://fleet-minion-monitor-%p", (void *) self);
    if (zmq_socket_monitor(zsock_resolve(self->dealer), monitor_ep,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                               | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                               | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                               | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        != 0) {
        *err = fl_sprintf("cannot monitor the socket: %s", zmq_strerror(errno));
        free(monitor_ep);
        return -1;
    }
    self->monitor = zsock_new(ZMQ_PAIR);
    int rc = zsock_connect(self->monitor, "%s", monitor_ep);
    free(monitor_ep);
    if (rc != 0) {
        *err = fl_strdup("cannot connect the socket monitor");
        return -1;
    }
    const char *master = fl_config_str(self->config, "master");
    if (zsock_connect(self->dealer, "%s", master) != 0) {
        *err = fl_sprintf("cannot connect to %s: %s", master, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

fl_minion_t *
fl_minion_new(fl_config_t **config_p, char **err)
{
    if (!zmq_has("curve")) {
        *err = fl_strdup("libzmq was built without CURVE support");
        return NULL;
    }
    fl_minion_t *self = fl_calloc(1, sizeof *self);
    self->config = *config_p;
    *config_p = NULL;
    self->hello_timer = -1;
    self->root_dir = fl_config_str(self->config, "root_dir");
    if (!self->root_dir) {
        self->root_dir = "";
    }
    uint8_t sid[16];
    randombytes_buf(sid, sizeof sid);
    fl_hex_encode(sid, sizeof sid, self->sid);
    self->execs = zlistx_new();
    zlistx_set_destructor(self->execs, (zlistx_destructor_fn *) fl_exec_destroy);
    zlistx_set_comparator(self->execs, s_pointer_compare);
    self->fetching = zhashx_new();
    zhashx_set_destructor(self->fetching, (zhashx_destructor_fn *) s_pending_destroy);
    self->outbox = zhashx_new();
    zhashx_set_destructor(self->outbox, (zhashx_destructor_fn *) s_json_destroy);
    self->outbox_order = zlistx_new();
    zlistx_set_duplicator(self->outbox_order, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor(self->outbox_order, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_comparator(self->outbox_order, (zlistx_comparator_fn *) strcmp);
    self->seen = zhashx_new();
    self->seen_order = zlistx_new();
    zlistx_set_duplicator(self->seen_order, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor(self->seen_order, (zlistx_destructor_fn *) zstr_free);
    const char *cache = fl_config_str(self->config, "cache_dir");
    if (fl_mkdir_p(cache, 0700) != 0) {
        *err = fl_sprintf("%s: %s", cache, strerror(errno));
        goto fail;
    }
    self->seen_path = fl_path_join(cache, "jobs.seen");
    /* Files fetched for jobs of an earlier run are of no use now. */
    char *files = fl_path_join(cache, "files");
    if (fl_rm_rf(files) != 0) {
        fl_log_warn("cannot clean %s", files);
    }
    free(files);
    s_seen_load(self);
    if (s_load_identity(self, err) != 0) {
        goto fail;
    }
    self->grains = fl_grains_collect(self->id, self->root_dir,
                                     fl_config_json(self->config, "grains"));
    self->samples = json_array();
    self->beacons = fl_beacons_new(self->root_dir, fl_config_json(self->config, "beacons"), err);
    if (!self->beacons) {
        char *why = *err;
        *err = fl_sprintf("%s: beacons: %s", fl_config_file(self->config), why);
        free(why);
        goto fail;
    }
    if (s_connect(self, err) != 0) {
        goto fail;
    }
    self->loop = zloop_new();
    zloop_reader(self->loop, self->dealer, s_on_dealer, self);
    zloop_reader(self->loop, self->monitor, s_on_monitor, self);
    zloop_timer(self->loop, 200, 0, s_on_tick, self);
    zloop_timer(self->loop, 1000, 0, s_on_beacons, self);
    zloop_timer(self->loop, (size_t) fl_config_int(self->config, "heartbeat") * 1000, 0,
                s_on_heartbeat, self);
    zloop_timer(self->loop, (size_t) fl_config_int(self->config, "grains_refresh") * 1000, 0,
                s_on_grains_refresh, self);
    return self;
fail:
    fl_minion_destroy(&self);
    return NULL;
}

void
fl_minion_destroy(fl_minion_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_minion_t *self = *self_p;
    zlistx_destroy(&self->execs);
    zhashx_destroy(&self->fetching);
    fl_beacons_destroy(&self->beacons);
    json_decref(self->samples);
    zloop_destroy(&self->loop);
    if (self->dealer) {
        zmq_socket_monitor(zsock_resolve(self->dealer), NULL, 0);
    }
    zsock_destroy(&self->monitor);
    zsock_destroy(&self->dealer);
    zhashx_destroy(&self->outbox);
    zlistx_destroy(&self->outbox_order);
    zhashx_destroy(&self->seen);
    zlistx_destroy(&self->seen_order);
    free(self->seen_path);
    free(self->master_sid);
    free(self->cert_text);
    free(self->id);
    json_decref(self->grains);
    fl_key_destroy(&self->key);
    fl_key_destroy(&self->master_key);
    fl_config_destroy(&self->config);
    free(self);
    *self_p = NULL;
}

int
fl_minion_run(fl_minion_t *self)
{
    char fp[FL_FINGERPRINT_LEN];
    fl_key_fingerprint(self->key, fp);
    fl_log_notice("fleet-minion %s '%s' connecting to %s, key %s", FL_VERSION, self->id,
                  fl_config_str(self->config, "master"), fp);
    self->exit_code = 0;
    zloop_start(self->loop);
    fl_log_notice("fleet-minion stopping");
    return self->exit_code;
}
