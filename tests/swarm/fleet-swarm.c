/*  fleet-swarm: N simulated minions in one process, against a real
    fleet-master (like Salt's minionswarm).  Each simulated minion has its
    own ed25519 key, its own CURVE DEALER socket (one zmq context for all),
    its own session and sequence numbers, and signs every message; it checks
    the master's signature, session and sequence on every message it gets,
    exactly as fleet-minion does.  It enrols with a factory certificate the
    swarm issues itself from the fleet root key (--root), so the master
    accepts it at its first hello.

    It answers test.ping, test.echo, grains.items and cmd.run (a fake
    result: nothing runs); any other function is refused with retcode 2,
    as a minion without that module would.  The target of every job is
    checked again against the minion's grains with fl_target.

    One thread, one epoll set over every socket's ZMQ_FD, no socket
    monitors (a monitor costs two more sockets, and so two more
    descriptors, per minion).  A zmq_poll over every socket costs O(N) at
    each wake-up, even an idle tick: at 10,000 minions it was ~80% of the
    swarm's CPU, taken from the master it shares the machine with.  epoll
    hands back only the sockets whose state changed.

    Reconnection is libzmq's; after a master restart the next ping of each
    minion meets no session, the master answers rehello and the
    minion says hello again.  So a swarm is back within one heartbeat (plus
    libzmq's reconnect interval) of the master.

    usage: fleet-swarm --master tcp://HOST:PORT --master-pub FILE --count N
                       [--root DIR] [--keys DIR] [--prefix swarm-]
                       [--grain KEY=VAL[:WEIGHT],VAL[:WEIGHT]...]...
                       [--heartbeat S] [--ready-file F] [--grains-out F]
                       [--reconnect-ms MS] [--io-threads N] [--verbose]

    SIGTERM or SIGINT prints a summary line and exits 0. */
#include "fl_cert.h"
#include "fl_funcs.h"
#include "fl_json.h"
#include "fl_keys.h"
#include "fl_log.h"
#include "fl_msg.h"
#include "fl_target.h"
#include "fl_util.h"

#include <assert.h>
#include <czmq.h>
#include <getopt.h>
#include <sodium.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <zmq.h>

#define SW_FDS_PER_MINION 2     /* the DEALER's mailbox and its TCP connection */
#define SW_FDS_SPARE 64         /* the context's own (reaper, io thread, epoll), our epoll set,
                                   stdio, files; tests/bench/lib.sh counts with the same 64 */
#define SW_HELLO_TIMEOUT_MS 10000
#define SW_PENDING_WAIT_MS 5000
#define SW_REHELLO_QUIET_MS 1000 /* a burst of rehellos (queued pings) gets one hello */
#define SW_SEEN_JIDS 16
#define SW_OUTBOX_MAX 64
#define SW_TICK_MS 50
#define SW_RECV_BURST 64         /* messages from one minion before the others get a turn */
#define SW_EPOLL_BATCH 256
#define SW_GRAINS_MAX 16
#define SW_CHOICES_MAX 64

typedef enum { S_HELLO_SENT, S_PENDING, S_READY } s_state_t;

typedef struct {
    char *value;
    unsigned weight;
} s_choice_t;

/*  One --grain option: KEY and its weighted values. */
typedef struct {
    char *key;
    s_choice_t choices[SW_CHOICES_MAX];
    size_t nchoices;
    unsigned total;
} s_grain_t;

typedef struct {
    char *id;
    fl_key_t *key;
    char *cert_text;
    json_t *grains;
    zsock_t *dealer;
    int fd;                 /* the dealer's ZMQ_FD while in the epoll set, else -1 */
    bool marked;            /* in sw->marked: ZMQ_EVENTS is to be asked */
    s_state_t state;
    char sid[33];
    uint64_t seq;
    char master_sid[33];
    uint64_t master_seq;
    int64_t next_ping_ms;
    int64_t next_hello_ms;  /* 0: none due */
    int64_t last_hello_ms;
    unsigned hello_tries;   /* hellos without an answer since the last welcome */
    json_t *outbox;         /* unacknowledged return bodies, oldest first */
    char seen[SW_SEEN_JIDS][32];
    size_t seen_next;
} s_minion_t;

/*  A signed message the master sends to many minions alike, verified. */
typedef struct {
    zframe_t *env;
    uint8_t sig[64];
    fl_msg_t *msg;
} s_shared_t;

#define SW_SHARED 8

typedef struct {
    /* options */
    const char *master, *master_pub, *root_dir, *keys_dir, *prefix, *ready_file, *grains_out;
    long count;
    int heartbeat_s;
    int reconnect_ms;
    int io_threads;
    s_grain_t grains[SW_GRAINS_MAX];
    size_t ngrains;
    /* state */
    fl_key_t *master_key;
    fl_key_t *root;
    s_minion_t *minions;
    int epfd;
    /* Minions whose ZMQ_EVENTS must be asked before the next wait: their
       fd fired, or something was sent on their socket.  Each at most once. */
    s_minion_t **marked;
    s_minion_t **marked_spare;  /* the list being drained */
    size_t nmarked;
    int64_t started_ms;
    int64_t all_welcomed_ms;    /* when all were welcomed the first time */
    size_t ready;               /* minions in S_READY */
    size_t last_ready;
    /* The last signed jobs and acks, each verified once for the whole
       swarm.  The master signs a job once for all its minions, and the
       acks of one burst of returns once for all of them, so every
       simulated minion gets the same bytes; a real device verifies them
       once on its own CPU.  Verifying them N times here would only measure
       this machine's share of N devices, taken from the master being
       measured. */
    s_shared_t shared[SW_SHARED];
    size_t shared_next;         /* the slot the next one replaces */
    /* the last job target, compiled once for the whole swarm */
    char *tgt_expr;
    fl_tgt_type_t tgt_type;
    fl_target_t *target;
    bool tgt_valid;
    /* counters for the summary */
    uint64_t hellos, welcomes, pendings, refusals, rehellos, jobs, returns, acks, pings, bad_in,
        send_fail;
} s_swarm_t;

static void
s_usage(void)
{
    fprintf(stderr,
            "usage: fleet-swarm --master tcp://HOST:PORT --master-pub FILE --count N\n"
            "                   [--root DIR] [--keys DIR] [--prefix swarm-]\n"
            "                   [--grain KEY=VAL[:WEIGHT],VAL[:WEIGHT]...]...\n"
            "                   [--heartbeat S] [--reconnect-ms MS] [--io-threads N (2)]\n"
            "                   [--ready-file F]\n"
            "                   [--grains-out F] [--verbose]\n");
    exit(2);
}

/*  "channel=staging:30,live:70" -> key and weighted choices.  A value
    without ":WEIGHT" weighs 1. */
static int
s_grain_parse(s_grain_t *g, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1]) {
        return -1;
    }
    g->key = fl_strndup(spec, (size_t) (eq - spec));
    char *list = fl_strdup(eq + 1);
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (g->nchoices == SW_CHOICES_MAX) {
            free(list);
            return -1;
        }
        unsigned weight = 1;
        char *colon = strrchr(item, ':');
        if (colon) {
            char *end = NULL;
            long w = strtol(colon + 1, &end, 10);
            if (end == colon + 1 || *end || w < 0 || w > 1000000) {
                free(list);
                return -1;
            }
            weight = (unsigned) w;
            *colon = '\0';
        }
        if (!*item) {
            free(list);
            return -1;
        }
        g->choices[g->nchoices].value = fl_strdup(item);
        g->choices[g->nchoices].weight = weight;
        g->nchoices++;
        g->total += weight;
    }
    free(list);
    return g->nchoices > 0 && g->total > 0 ? 0 : -1;
}

/*  A value drawn for minion ID: a hash of the id and the key, so that the
    same id gets the same grains on every run (a --keys cache stays true). */
static const char *
s_grain_draw(const s_grain_t *g, const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = g->key; *p; p++) {
        h = (h ^ (uint8_t) *p) * 16777619u;
    }
    for (const char *p = id; *p; p++) {
        h = (h ^ (uint8_t) *p) * 16777619u;
    }
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    unsigned pick = h % g->total;
    for (size_t i = 0; i < g->nchoices; i++) {
        if (pick < g->choices[i].weight) {
            return g->choices[i].value;
        }
        pick -= g->choices[i].weight;
    }
    return g->choices[g->nchoices - 1].value;
}

/*  Each DEALER needs its mailbox and its connection.  Raise the soft limit
    to the hard one, and say plainly when even that is too small. */
static int
s_raise_fd_limit(long count)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fl_log_warn("getrlimit");
        return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fl_log_warn("cannot raise the open file limit");
        }
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t need = (rlim_t) count * SW_FDS_PER_MINION + SW_FDS_SPARE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        fprintf(stderr,
                "fleet-swarm: the system allows only %llu open files: %ld minions cannot "
                "connect (they need about %llu: %d per minion + %d); raise the hard limit "
                "(ulimit -Hn, limits.conf, LimitNOFILE=) or use --count %llu at most\n",
                (unsigned long long) rl.rlim_cur, count, (unsigned long long) need,
                SW_FDS_PER_MINION, SW_FDS_SPARE,
                (unsigned long long) (rl.rlim_cur > SW_FDS_SPARE
                                          ? (rl.rlim_cur - SW_FDS_SPARE) / SW_FDS_PER_MINION
                                          : 0));
        return -1;
    }
    return 0;
}

static json_t *
s_grains_new(s_swarm_t *sw, const char *id)
{
    json_t *grains = json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", id, "os", "Debian",
                               "os_family", "Debian", "kernel", "Linux", "swarm", 1);
    for (size_t i = 0; i < sw->ngrains; i++) {
        json_object_set_new(grains, sw->grains[i].key,
                            json_string(s_grain_draw(&sw->grains[i], id)));
    }
    return grains;
}

/*  The minion's key (from the cache, or fresh) and certificate (from the
    cache, else issued with the root key; none without one: pending). */
static int
s_identity(s_swarm_t *sw, s_minion_t *m)
{
    char *err = NULL;
    char *cert_path = NULL;
    if (sw->keys_dir) {
        char *name = fl_sprintf("%s.key", m->id);
        char *pub_name = fl_sprintf("%s.pub", m->id);
        char *cert_name = fl_sprintf("%s.cert", m->id);
        char *key_path = fl_path_join(sw->keys_dir, name);
        char *pub_path = fl_path_join(sw->keys_dir, pub_name);
        cert_path = fl_path_join(sw->keys_dir, cert_name);
        m->key = fl_key_load_or_create(key_path, pub_path, &err);
        free(name);
        free(pub_name);
        free(cert_name);
        free(key_path);
        free(pub_path);
    } else {
        m->key = fl_key_generate();
    }
    if (!m->key) {
        fprintf(stderr, "fleet-swarm: %s: %s\n", m->id, err ? err : "no key");
        free(err);
        free(cert_path);
        return -1;
    }
    if (cert_path) {
        size_t len = 0;
        m->cert_text = fl_file_read(cert_path, FL_CERT_MAX_BYTES, &len);
        fl_cert_t *cert = m->cert_text ? fl_cert_parse(m->cert_text, len, &err) : NULL;
        bool usable = cert && strcmp(fl_cert_id(cert), m->id) == 0
                      && memcmp(fl_cert_key(cert), fl_key_public(m->key), FL_KEY_BYTES) == 0
                      && fl_cert_not_after(cert) > fl_time_s() + 86400;
        fl_cert_destroy(&cert);
        free(err);
        err = NULL;
        if (!usable) {
            free(m->cert_text);
            m->cert_text = NULL;
        }
    }
    if (!m->cert_text && sw->root) {
        char serial[33];
        int64_t now = fl_time_s();
        m->cert_text = fl_cert_issue(sw->root, m->id, fl_key_public(m->key), now - 300,
                                     now + 365 * 86400, serial);
        if (cert_path
            && fl_file_write_atomic(cert_path, m->cert_text, strlen(m->cert_text), 0644) != 0) {
            fl_log_warn("cannot cache the certificate in %s", cert_path);
        }
    }
    free(cert_path);
    return 0;
}

static void
s_mark(s_swarm_t *sw, s_minion_t *m)
{
    if (!m->marked) {
        assert(sw->nmarked < (size_t) sw->count);
        m->marked = true;
        sw->marked[sw->nmarked++] = m;
    }
}

/*  A socket leaves the epoll set before it is closed: zmq_close leaves
    the descriptor to libzmq's reaper, which closes it later, so the set
    would go on waking us with this minion's pointer (and the number may
    then come back for another socket). */
static void
s_disconnect(s_swarm_t *sw, s_minion_t *m)
{
    if (m->fd >= 0 && epoll_ctl(sw->epfd, EPOLL_CTL_DEL, m->fd, NULL) != 0) {
        fl_log_warn("%s: epoll_ctl(DEL)", m->id);
    }
    m->fd = -1;
    zsock_destroy(&m->dealer);
}

static int
s_connect(s_swarm_t *sw, s_minion_t *m)
{
    m->fd = -1;
    uint8_t secret[FL_KEY_BYTES], public[FL_KEY_BYTES], server[FL_KEY_BYTES];
    fl_key_curve_secret(m->key, secret);
    fl_key_curve_public(m->key, public);
    fl_key_curve_public(sw->master_key, server);
    m->dealer = zsock_new(ZMQ_DEALER);
    if (!m->dealer) {
        fprintf(stderr, "fleet-swarm: cannot create socket %s: %s\n", m->id,
                zmq_strerror(zmq_errno()));
        return -1;
    }
    zsock_set_curve_serverkey_bin(m->dealer, server);
    zsock_set_curve_publickey_bin(m->dealer, public);
    zsock_set_curve_secretkey_bin(m->dealer, secret);
    sodium_memzero(secret, sizeof secret);
    zsock_set_maxmsgsize(m->dealer, FL_MSG_WIRE_MAX);
    zsock_set_linger(m->dealer, 0);
    zsock_set_sndtimeo(m->dealer, 0);
    zsock_set_rcvtimeo(m->dealer, 0);
    zsock_set_reconnect_ivl(m->dealer, sw->reconnect_ms);
    zsock_set_reconnect_ivl_max(m->dealer, sw->reconnect_ms * 5);
    zsock_set_heartbeat_ivl(m->dealer, sw->heartbeat_s * 1000);
    zsock_set_heartbeat_timeout(m->dealer, sw->heartbeat_s * 3000);
    if (zsock_connect(m->dealer, "%s", sw->master) != 0) {
        fprintf(stderr, "fleet-swarm: cannot connect to %s: %s\n", sw->master,
                zmq_strerror(zmq_errno()));
        return -1;
    }
    /*  Level-triggered: ZMQ_FD only says that the socket's state changed
        (libzmq's edge), but the descriptor stays readable until ZMQ_EVENTS
        has taken the signal, so a wake-up not yet acted on comes again
        instead of being lost.  s_drain asks ZMQ_EVENTS each time. */
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = m };
    int fd = zsock_fd(m->dealer);
    if (epoll_ctl(sw->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        fprintf(stderr, "fleet-swarm: %s: epoll_ctl: %s\n", m->id, strerror(errno));
        return -1;
    }
    m->fd = fd;
    return 0;
}

static void s_write_ready(s_swarm_t *sw, size_t ready);

/*  Every state change goes through here: the ready count stays exact. */
static void
s_set_state(s_swarm_t *sw, s_minion_t *m, s_state_t state, int64_t now)
{
    if (m->state == S_READY && state != S_READY) {
        sw->ready--;
    } else if (m->state != S_READY && state == S_READY) {
        sw->ready++;
        if (sw->ready == (size_t) sw->count && !sw->all_welcomed_ms) {
            sw->all_welcomed_ms = now;
            fl_log_notice("all %ld minions welcomed, %lld ms after start", sw->count,
                          (long long) (now - sw->started_ms));
            s_write_ready(sw, sw->ready);  /* now, not at the next second */
        }
    }
    m->state = state;
}

static void
s_send(s_swarm_t *sw, s_minion_t *m, const char *type, const json_t *body)
{
    bool hello = strcmp(type, "hello") == 0;
    zmsg_t *msg = fl_msg_encode(m->key, type, m->id, m->sid, ++m->seq, body, hello);
    if (zmsg_send(&msg, m->dealer) != 0) {
        zmsg_destroy(&msg);
        sw->send_fail++;
        fl_log_debug("%s: cannot send %s", m->id, type);
    }
    /* The send may have taken the signal of a message that came in
       meanwhile: ZMQ_FD would then stay quiet about it. */
    s_mark(sw, m);
}

static void
s_send_hello(s_swarm_t *sw, s_minion_t *m, int64_t now)
{
    json_t *body = json_pack("{s:s, s:O, s:i}", "version", FL_VERSION, "grains", m->grains,
                             "heartbeat", sw->heartbeat_s);
    if (m->cert_text) {
        json_object_set_new(body, "cert", json_string(m->cert_text));
    }
    s_send(sw, m, "hello", body);
    json_decref(body);
    sw->hellos++;
    if (m->state != S_PENDING) {
        s_set_state(sw, m, S_HELLO_SENT, now);
    }
    m->last_hello_ms = now;
    /* No answer: again after 10, 20, 40, then 80 s (+ jitter), as fleet-minion does. */
    unsigned shift = m->hello_tries < 3 ? m->hello_tries : 3;
    m->hello_tries++;
    int64_t wait = (int64_t) SW_HELLO_TIMEOUT_MS << shift;
    m->next_hello_ms = now + wait + (int64_t) randombytes_uniform((uint32_t) wait / 4);
}

static void
s_flush_outbox(s_swarm_t *sw, s_minion_t *m)
{
    size_t i;
    json_t *body;
    json_array_foreach(m->outbox, i, body) {
        s_send(sw, m, "return", body);
    }
}

/*  Takes BODY.  Kept until the master acknowledges it. */
static void
s_send_return(s_swarm_t *sw, s_minion_t *m, json_t *body)
{
    if (json_array_size(m->outbox) >= SW_OUTBOX_MAX) {
        json_array_remove(m->outbox, 0);
    }
    json_array_append(m->outbox, body);
    s_send(sw, m, "return", body);
    json_decref(body);
    sw->returns++;
}

static json_t *
s_result(const char *jid, const char *fun, json_t *ret, int retcode)
{
    return json_pack("{s:s, s:s, s:o, s:i, s:b}", "jid", jid, "fun", fun, "ret", ret, "retcode",
                     retcode, "success", retcode == 0);
}

/*  The target compiled once per distinct (expression, type): every minion
    of the swarm receives the same job. */
static const fl_target_t *
s_target(s_swarm_t *sw, const char *expr, const char *type_name)
{
    fl_tgt_type_t type;
    if (fl_tgt_type_parse(type_name, &type) != 0) {
        return NULL;
    }
    if (!sw->tgt_expr || strcmp(sw->tgt_expr, expr) != 0 || sw->tgt_type != type) {
        free(sw->tgt_expr);
        fl_target_destroy(&sw->target);
        fl_diag_t *diag = fl_diag_new();
        sw->target = fl_target_new(expr, type, diag);
        fl_diag_destroy(&diag);
        sw->tgt_expr = fl_strdup(expr);
        sw->tgt_type = type;
    }
    return sw->target;
}

/*  What the modules would answer, without running anything. */
static json_t *
s_run(s_minion_t *m, const char *fun, const json_t *args, int *retcode)
{
    *retcode = 0;
    if (strcmp(fun, "test.ping") == 0) {
        return json_true();
    }
    if (strcmp(fun, "test.echo") == 0) {
        return json_deep_copy(json_array_get(args, 0));
    }
    if (strcmp(fun, "grains.items") == 0) {
        return json_deep_copy(m->grains);
    }
    if (strcmp(fun, "cmd.run") == 0) {
        char *cmd = fl_json_compact(args);
        char *out = fl_sprintf("swarm: %s would run %s", m->id, cmd);
        free(cmd);
        json_t *ret = json_pack("{s:i, s:i, s:s, s:s}", "pid", 0, "retcode", 0, "stdout", out,
                                "stderr", "");
        free(out);
        return ret;
    }
    *retcode = 2;
    return json_string("function not available on this minion");
}

/*  The checks of fl_minion.c's s_on_job, in its order. */
static void
s_on_job(s_swarm_t *sw, s_minion_t *m, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    const char *fun = fl_json_str(body, "fun");
    const char *tgt = fl_json_str(body, "tgt");
    const char *tgt_type = fl_json_str(body, "tgt_type");
    json_t *args = json_object_get(body, "args");
    json_t *kwargs = json_object_get(body, "kwargs");
    if (!jid || strlen(jid) > 31 || !fun || !tgt || !tgt_type || !json_is_array(args)
        || !json_is_object(kwargs)) {
        sw->bad_in++;
        fl_log_warnx("%s: refused a malformed job", m->id);
        return;
    }
    for (size_t i = 0; i < SW_SEEN_JIDS; i++) {
        if (strcmp(m->seen[i], jid) == 0) {
            sw->bad_in++;
            fl_log_warnx("%s: refused job %s: already run (replay)", m->id, jid);
            return;
        }
    }
    snprintf(m->seen[m->seen_next], sizeof m->seen[0], "%s", jid);
    m->seen_next = (m->seen_next + 1) % SW_SEEN_JIDS;
    sw->jobs++;
    const fl_target_t *target = s_target(sw, tgt, tgt_type);
    if (!target || !fl_target_match(target, m->id, m->grains)) {
        fl_log_warnx("%s: job %s: target '%s' does not match", m->id, jid, tgt);
        s_send_return(sw, m, s_result(jid, fun, json_string("target does not match this minion"),
                                      2));
        return;
    }
    const fl_func_spec_t *spec = fl_func_find(fun);
    if (!spec) {
        s_send_return(sw, m, s_result(jid, fun, json_string("unknown function"), 2));
        return;
    }
    char *err = NULL;
    if (fl_func_check_arity(spec, json_array_size(args), &err) != 0) {
        s_send_return(sw, m, s_result(jid, fun, json_string(err), 2));
        free(err);
        return;
    }
    int retcode;
    json_t *ret = s_run(m, fun, args, &retcode);
    s_send_return(sw, m, s_result(jid, fun, ret, retcode));
}

static void
s_on_ack(s_minion_t *m, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    size_t i;
    json_t *ret;
    json_array_foreach(m->outbox, i, ret) {
        const char *rjid = fl_json_str(ret, "jid");
        if (jid && rjid && strcmp(jid, rjid) == 0) {
            json_array_remove(m->outbox, i);
            return;
        }
    }
}

/*  The verified message with exactly these bytes, or NULL. */
static fl_msg_t *
s_shared_find(s_swarm_t *sw, zframe_t *env, zframe_t *sig)
{
    if (zframe_size(sig) != 64) {
        return NULL;
    }
    for (size_t i = 0; i < SW_SHARED; i++) {
        s_shared_t *c = &sw->shared[i];
        if (c->msg && memcmp(zframe_data(sig), c->sig, 64) == 0 && zframe_eq(env, c->env)) {
            return c->msg;
        }
    }
    return NULL;
}

/*  Keeps IN (verified) when it is of a type the master signs once for
    many minions; true when the cache now owns it. */
static bool
s_shared_keep(s_swarm_t *sw, zframe_t *env, zframe_t *sig, fl_msg_t *in)
{
    const char *type = fl_msg_type(in);
    if ((strcmp(type, "job") != 0 && strcmp(type, "ack") != 0) || zframe_size(sig) != 64) {
        return false;
    }
    s_shared_t *c = &sw->shared[sw->shared_next];
    sw->shared_next = (sw->shared_next + 1) % SW_SHARED;
    fl_msg_destroy(&c->msg);
    zframe_destroy(&c->env);
    c->msg = in;
    c->env = zframe_dup(env);
    memcpy(c->sig, zframe_data(sig), 64);
    return true;
}

/*  One message from the master to M: verified with the master's key, then
    session and sequence, as fleet-minion checks them. */
static void
s_on_message(s_swarm_t *sw, s_minion_t *m, zmsg_t *msg, int64_t now)
{
    zframe_t *env, *sig, *pk;
    fl_msg_t *in = NULL;
    bool cached = false;    /* IN is in sw->shared: not destroyed here */
    fl_msg_err_t err = fl_msg_split(msg, &env, &sig, &pk);
    if (err == FL_MSG_OK && pk) {
        err = FL_MSG_E_FRAMES;
    } else if (err == FL_MSG_OK) {
        in = s_shared_find(sw, env, sig);
        cached = in != NULL;
        if (!in) {
            err = fl_msg_open(env, sig, fl_key_public(sw->master_key), &in);
            if (err == FL_MSG_OK && s_shared_keep(sw, env, sig, in)) {
                cached = true;
            }
        }
    }
    if (err != FL_MSG_OK) {
        sw->bad_in++;
        fl_log_warnx("%s: refused message from the master: %s", m->id, fl_msg_err_name(err));
        return;
    }
    const char *type = fl_msg_type(in);
    bool session_start = strcmp(type, "welcome") == 0 || strcmp(type, "pending") == 0
                         || strcmp(type, "refused") == 0 || strcmp(type, "rehello") == 0;
    if (strcmp(m->master_sid, fl_msg_sid(in)) != 0) {
        if (!session_start || strlen(fl_msg_sid(in)) >= sizeof m->master_sid) {
            sw->bad_in++;
            fl_log_warnx("%s: refused '%s' from an unknown master session", m->id, type);
            if (!cached) {
                fl_msg_destroy(&in);
            }
            return;
        }
        snprintf(m->master_sid, sizeof m->master_sid, "%s", fl_msg_sid(in));
    } else if (fl_msg_seq(in) <= m->master_seq) {
        sw->bad_in++;
        fl_log_warnx("%s: refused '%s': replayed sequence", m->id, type);
        if (!cached) {
            fl_msg_destroy(&in);
        }
        return;
    }
    m->master_seq = fl_msg_seq(in);
    json_t *body = fl_msg_body(in);
    if (strcmp(type, "welcome") == 0) {
        sw->welcomes++;
        if (m->state != S_READY) {
            fl_log_debug("%s: welcomed", m->id);
            /* Spread pings over the heartbeat so they do not all come at once. */
            m->next_ping_ms = now + (int64_t) randombytes_uniform(
                                        (uint32_t) sw->heartbeat_s * 1000) + 1;
        }
        s_set_state(sw, m, S_READY, now);
        m->next_hello_ms = 0;
        m->hello_tries = 0;
        s_flush_outbox(sw, m);
    } else if (strcmp(type, "pending") == 0 || strcmp(type, "refused") == 0) {
        if (strcmp(type, "refused") == 0) {
            sw->refusals++;
            fl_log_warnx("%s: refused by the master: %s", m->id,
                         fl_json_str(body, "reason") ? fl_json_str(body, "reason") : "?");
        } else {
            sw->pendings++;
        }
        s_set_state(sw, m, S_PENDING, now);
        m->next_hello_ms = now + SW_PENDING_WAIT_MS;
    } else if (strcmp(type, "rehello") == 0) {
        sw->rehellos++;
        /* Each ping queued while the master was away brings a rehello: one
           hello answers them all. */
        if (m->state != S_HELLO_SENT || now - m->last_hello_ms >= SW_REHELLO_QUIET_MS) {
            s_set_state(sw, m, S_HELLO_SENT, now);
            s_send_hello(sw, m, now);
        }
    } else if (strcmp(type, "job") == 0) {
        if (m->state == S_READY) {
            s_on_job(sw, m, body);
        } else {
            fl_log_warnx("%s: job ignored: not accepted yet", m->id);
        }
    } else if (strcmp(type, "ack") == 0) {
        sw->acks++;
        s_on_ack(m, body);
    } else if (strcmp(type, "pong") == 0) {
        /* liveness only */
    } else if (strcmp(type, "retire") == 0) {
        fl_log_warnx("%s: retired by the master; it stays silent", m->id);
        s_set_state(sw, m, S_PENDING, now);
        m->next_hello_ms = 0;
    } else {
        sw->bad_in++;
        fl_log_warnx("%s: unknown message type '%.40s'", m->id, type);
    }
    if (!cached) {
        fl_msg_destroy(&in);
    }
}

/*  M's messages, while ZMQ_EVENTS says there are some.  It is asked again
    after each one: the recv, or a send the message led to, may have taken
    the signal of the next one.  True if M still has input after
    SW_RECV_BURST messages. */
static bool
s_drain(s_swarm_t *sw, s_minion_t *m)
{
    int64_t now = fl_clock_ms();
    int events = zsock_events(m->dealer);
    for (int i = 0; (events & ZMQ_POLLIN) && i < SW_RECV_BURST; i++) {
        zmsg_t *msg = zmsg_recv(m->dealer);  /* rcvtimeo 0: never waits */
        if (msg) {
            s_on_message(sw, m, msg, now);
            zmsg_destroy(&msg);
        }
        events = zsock_events(m->dealer);
    }
    return (events & ZMQ_POLLIN) != 0;
}

/*  One pass over the marked minions.  A minion stays marked while it is
    drained, so that its own sends do not mark it again; one left with
    input is marked for the next pass. */
static void
s_drain_marked(s_swarm_t *sw)
{
    s_minion_t **todo = sw->marked;
    size_t n = sw->nmarked;
    sw->marked = sw->marked_spare;
    sw->marked_spare = todo;
    sw->nmarked = 0;
    for (size_t i = 0; i < n; i++) {
        s_minion_t *m = todo[i];
        bool more = s_drain(sw, m);
        m->marked = false;
        if (more) {
            s_mark(sw, m);
        }
    }
}

static void
s_write_ready(s_swarm_t *sw, size_t ready)
{
    if (!sw->ready_file) {
        return;
    }
    char line[32];
    int n = snprintf(line, sizeof line, "%zu\n", ready);
    if (fl_file_write_atomic(sw->ready_file, line, (size_t) n, 0644) != 0) {
        fl_log_warn("cannot write %s", sw->ready_file);
    }
}

/*  Every SW_TICK_MS: hellos and pings that fall due; every second, the
    ready count. */
static void
s_tick(s_swarm_t *sw, int64_t now, bool second)
{
    for (long i = 0; i < sw->count; i++) {
        s_minion_t *m = &sw->minions[i];
        if (m->state == S_READY) {
            if (now >= m->next_ping_ms) {
                json_t *body = json_pack("{s:I}", "uptime",
                                         (json_int_t) ((now - sw->started_ms) / 1000));
                s_send(sw, m, "ping", body);
                json_decref(body);
                sw->pings++;
                s_flush_outbox(sw, m);
                m->next_ping_ms = now + (int64_t) sw->heartbeat_s * 1000;
            }
        } else if (m->next_hello_ms && now >= m->next_hello_ms) {
            s_send_hello(sw, m, now);
        }
    }
    if (second) {
        if (sw->ready != sw->last_ready) {
            fl_log_notice("%zu of %ld minions welcomed", sw->ready, sw->count);
        }
        sw->last_ready = sw->ready;
        s_write_ready(sw, sw->ready);
    }
}

static int
s_write_grains_out(s_swarm_t *sw)
{
    FILE *f = fopen(sw->grains_out, "w");
    if (!f) {
        fl_log_warn("cannot write %s", sw->grains_out);
        return -1;
    }
    for (long i = 0; i < sw->count; i++) {
        s_minion_t *m = &sw->minions[i];
        fputs(m->id, f);
        for (size_t g = 0; g < sw->ngrains; g++) {
            fprintf(f, " %s", fl_json_str(m->grains, sw->grains[g].key));
        }
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/*  Keys, certificates, grains and sockets for every minion; each queues
    its hello at once (libzmq sends it when the handshake is done). */
static int
s_setup(s_swarm_t *sw)
{
    char *err = NULL;
    sw->master_key = fl_key_load_public(sw->master_pub, &err);
    if (!sw->master_key) {
        fprintf(stderr, "fleet-swarm: %s: %s\n", sw->master_pub, err);
        free(err);
        return -1;
    }
    if (sw->root_dir) {
        char *path = fl_path_join(sw->root_dir, "root.key");
        sw->root = fl_key_load_secret(path, &err);
        if (!sw->root) {
            fprintf(stderr, "fleet-swarm: %s: %s\n", path, err);
            free(err);
            free(path);
            return -1;
        }
        free(path);
    }
    if (sw->keys_dir && fl_mkdir_p(sw->keys_dir, 0700) != 0) {
        fprintf(stderr, "fleet-swarm: %s: %s\n", sw->keys_dir, strerror(errno));
        return -1;
    }
    sw->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sw->epfd < 0) {
        fprintf(stderr, "fleet-swarm: epoll_create1: %s\n", strerror(errno));
        return -1;
    }
    zsys_set_max_sockets((size_t) sw->count + 64);
    /* libzmq cancels a timer by walking all timers of its I/O thread, and
       every ZMTP heartbeat sets and cancels one: with N sockets on one
       thread that is O(N) per heartbeat.  More threads divide that, but on
       a 2-core machine shared with the master they cost context switches. */
    zsys_set_io_threads((size_t) sw->io_threads);
    sw->minions = fl_calloc((size_t) sw->count, sizeof *sw->minions);
    sw->marked = fl_calloc((size_t) sw->count, sizeof *sw->marked);
    sw->marked_spare = fl_calloc((size_t) sw->count, sizeof *sw->marked_spare);
    int64_t now = fl_clock_ms();
    for (long i = 0; i < sw->count; i++) {
        s_minion_t *m = &sw->minions[i];
        m->id = fl_sprintf("%s%ld", sw->prefix, i + 1);
        uint8_t sid[16];
        randombytes_buf(sid, sizeof sid);
        fl_hex_encode(sid, sizeof sid, m->sid);
        m->outbox = json_array();
        m->grains = s_grains_new(sw, m->id);
        if (s_identity(sw, m) != 0 || s_connect(sw, m) != 0) {
            return -1;
        }
        s_send_hello(sw, m, now);
    }
    if (sw->grains_out && s_write_grains_out(sw) != 0) {
        return -1;
    }
    fl_log_notice("%ld minions connecting to %s (%s)", sw->count, sw->master,
                  sw->root ? "with factory certificates" : "without certificates: pending");
    return 0;
}

static void
s_teardown(s_swarm_t *sw)
{
    for (long i = 0; sw->minions && i < sw->count; i++) {
        s_minion_t *m = &sw->minions[i];
        if (m->dealer) {
            s_disconnect(sw, m);
        }
        fl_key_destroy(&m->key);
        json_decref(m->grains);
        json_decref(m->outbox);
        free(m->cert_text);
        free(m->id);
    }
    free(sw->minions);
    free(sw->marked);
    for (size_t i = 0; i < SW_SHARED; i++) {
        fl_msg_destroy(&sw->shared[i].msg);
        zframe_destroy(&sw->shared[i].env);
    }
    free(sw->marked_spare);
    if (sw->epfd >= 0) {
        close(sw->epfd);
    }
    fl_key_destroy(&sw->master_key);
    fl_key_destroy(&sw->root);
    fl_target_destroy(&sw->target);
    free(sw->tgt_expr);
    for (size_t g = 0; g < sw->ngrains; g++) {
        free(sw->grains[g].key);
        for (size_t c = 0; c < sw->grains[g].nchoices; c++) {
            free(sw->grains[g].choices[c].value);
        }
    }
}

static long
s_int_arg(const char *name, const char *text, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) {
        fprintf(stderr, "fleet-swarm: %s must be an integer in %ld..%ld\n", name, min, max);
        exit(2);
    }
    return v;
}

static void
s_parse_args(s_swarm_t *sw, int argc, char **argv)
{
    static const struct option opts[] = {
        { "master", required_argument, NULL, 'm' },
        { "master-pub", required_argument, NULL, 'p' },
        { "root", required_argument, NULL, 'r' },
        { "keys", required_argument, NULL, 'k' },
        { "count", required_argument, NULL, 'n' },
        { "prefix", required_argument, NULL, 'x' },
        { "grain", required_argument, NULL, 'g' },
        { "heartbeat", required_argument, NULL, 'h' },
        { "reconnect-ms", required_argument, NULL, 'R' },
        { "io-threads", required_argument, NULL, 'i' },
        { "ready-file", required_argument, NULL, 'f' },
        { "grains-out", required_argument, NULL, 'o' },
        { "verbose", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 },
    };
    sw->prefix = "swarm-";
    sw->heartbeat_s = 30;
    sw->reconnect_ms = 1000;
    sw->io_threads = 2;
    sw->count = -1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': sw->master = optarg; break;
        case 'p': sw->master_pub = optarg; break;
        case 'r': sw->root_dir = optarg; break;
        case 'k': sw->keys_dir = optarg; break;
        case 'n': sw->count = s_int_arg("--count", optarg, 1, 1000000); break;
        case 'x': sw->prefix = optarg; break;
        case 'h': sw->heartbeat_s = (int) s_int_arg("--heartbeat", optarg, 1, 86400); break;
        case 'R': sw->reconnect_ms = (int) s_int_arg("--reconnect-ms", optarg, 10, 600000); break;
        case 'i': sw->io_threads = (int) s_int_arg("--io-threads", optarg, 1, 64); break;
        case 'f': sw->ready_file = optarg; break;
        case 'o': sw->grains_out = optarg; break;
        case 'v': fl_log_set_level(FL_LOG_DEBUG); break;
        case 'g':
            if (sw->ngrains == SW_GRAINS_MAX
                || s_grain_parse(&sw->grains[sw->ngrains], optarg) != 0) {
                fprintf(stderr, "fleet-swarm: --grain '%s': want KEY=VAL[:WEIGHT],... "
                        "(at most %d options, %d values each)\n", optarg, SW_GRAINS_MAX,
                        SW_CHOICES_MAX);
                exit(2);
            }
            sw->ngrains++;
            break;
        default: s_usage();
        }
    }
    if (optind != argc || !sw->master || !sw->master_pub || sw->count < 1
        || strlen(sw->prefix) > 100 || strchr(sw->prefix, '/')) {
        s_usage();
    }
}

int
main(int argc, char **argv)
{
    s_swarm_t sw_storage = { 0 };
    s_swarm_t *sw = &sw_storage;
    sw->epfd = -1;
    fl_log_open("swarm", false);
    s_parse_args(sw, argc, argv);
    if (sodium_init() < 0 || !zmq_has("curve")) {
        fprintf(stderr, "fleet-swarm: libsodium or libzmq's CURVE is not usable\n");
        return 1;
    }
    if (s_raise_fd_limit(sw->count) != 0) {
        return 1;
    }
    zsys_init();
    zsys_set_logstream(NULL);
    sw->started_ms = fl_clock_ms();
    if (s_setup(sw) != 0) {
        s_teardown(sw);
        return 1;
    }
    fl_log_notice("set up %ld minions in %lld ms", sw->count,
                  (long long) (fl_clock_ms() - sw->started_ms));
    int64_t next_tick = fl_clock_ms() + SW_TICK_MS, next_second = fl_clock_ms() + 1000;
    s_write_ready(sw, 0);
    struct epoll_event events[SW_EPOLL_BATCH];
    while (!zsys_interrupted) {
        s_drain_marked(sw);
        int64_t now = fl_clock_ms();
        int timeout = sw->nmarked ? 0 : next_tick > now ? (int) (next_tick - now) : 0;
        int n = epoll_wait(sw->epfd, events, SW_EPOLL_BATCH, timeout);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fl_log_error("epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            s_mark(sw, events[i].data.ptr);
        }
        now = fl_clock_ms();
        if (now >= next_tick) {
            bool second = now >= next_second;
            s_tick(sw, now, second);
            next_tick = now + SW_TICK_MS;
            if (second) {
                next_second = now + 1000;
            }
        }
    }
    printf("fleet-swarm: %ld minions, %zu welcomed; all welcomed after %s%lld ms; hellos %llu, "
           "welcomes %llu, pending %llu, refused %llu, rehellos %llu, jobs %llu, returns %llu, "
           "acks %llu, pings %llu, bad messages %llu, failed sends %llu\n",
           sw->count, sw->ready, sw->all_welcomed_ms ? "" : "(never) ",
           (long long) (sw->all_welcomed_ms ? sw->all_welcomed_ms - sw->started_ms : 0),
           (unsigned long long) sw->hellos, (unsigned long long) sw->welcomes,
           (unsigned long long) sw->pendings, (unsigned long long) sw->refusals,
           (unsigned long long) sw->rehellos, (unsigned long long) sw->jobs,
           (unsigned long long) sw->returns, (unsigned long long) sw->acks,
           (unsigned long long) sw->pings, (unsigned long long) sw->bad_in,
           (unsigned long long) sw->send_fail);
    fflush(stdout);
    s_teardown(sw);
    return 0;
}
