/*  fl-rawpeer: a raw ZeroMQ peer for the end-to-end tests.  It speaks the
    wire by hand so that tests can send what a well-behaved minion or master
    never would: garbage frames, truncated or forged envelopes, oversized
    messages, replays, foreign returns, stolen ids, bad certificates.  It
    prints what comes back, one line per message ("reply TYPE REASON"), or
    "no-reply", or "handshake-denied".

    usage: fl-rawpeer --endpoint EP --master-pub FILE [--key FILE] [--id ID]
                      [--cert FILE] [--root DIR] [--wait MS] MODE
           fl-rawpeer --listen EP --master-key FILE fake-master-replay */
#include "fl_cert.h"
#include "fl_json.h"
#include "fl_keys.h"
#include "fl_msg.h"
#include "fl_util.h"

#include <czmq.h>
#include <getopt.h>
#include <sodium.h>
#include <zmq.h>

typedef struct {
    const char *endpoint, *master_pub, *key_path, *id, *cert_path, *root, *listen, *master_key;
    int wait_ms;
    fl_key_t *key;
    fl_key_t *mpub;
    zsock_t *sock;
    zsock_t *monitor;
    char sid[33];
    uint64_t seq;
} peer_t;

static void
s_send_raw(peer_t *p, zmsg_t *msg)
{
    if (zmsg_send(&msg, p->sock) != 0) {
        zmsg_destroy(&msg);
        printf("send-failed\n");
    }
}

static void
s_send(peer_t *p, const char *type, const char *from, json_t *body, bool with_pk)
{
    s_send_raw(p, fl_msg_encode(p->key, type, from, p->sid, ++p->seq, body, with_pk));
    json_decref(body);
}

static json_t *
s_grains(const char *id)
{
    return json_pack("{s:s, s:s}", "id", id, "os", "Raw");
}

static void
s_hello(peer_t *p, const char *id, const char *cert_text)
{
    json_t *body = json_pack("{s:s, s:o}", "version", "raw", "grains", s_grains(id));
    if (cert_text) {
        json_object_set_new(body, "cert", json_string(cert_text));
    }
    s_send(p, "hello", id, body, true);
}

/*  Prints every message that arrives within WAIT_MS; returns how many. */
static int
s_drain(peer_t *p, int wait_ms, json_t **last_body)
{
    int count = 0;
    int64_t deadline = fl_clock_ms() + wait_ms;
    zpoller_t *poller = zpoller_new(p->sock, p->monitor, NULL);
    for (;;) {
        int64_t left = deadline - fl_clock_ms();
        if (left <= 0) {
            break;
        }
        void *which = zpoller_wait(poller, (int) left);
        if (!which) {
            break;
        }
        zmsg_t *msg = zmsg_recv(which);
        if (!msg) {
            break;
        }
        if (which == p->monitor) {
            zframe_t *head = zmsg_first(msg);
            uint16_t event = 0;
            if (head && zframe_size(head) >= 2) {
                memcpy(&event, zframe_data(head), 2);
            }
            if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                printf("handshake-denied\n");
                count++;
            }
            zmsg_destroy(&msg);
            continue;
        }
        zframe_t *env, *sig, *pk;
        fl_msg_t *m = NULL;
        if (fl_msg_split(msg, &env, &sig, &pk) == FL_MSG_OK
            && fl_msg_open(env, sig, fl_key_public(p->mpub), &m) == FL_MSG_OK) {
            const char *reason = fl_json_str(fl_msg_body(m), "reason");
            printf("reply %s%s%s\n", fl_msg_type(m), reason ? " " : "", reason ? reason : "");
            if (last_body) {
                json_decref(*last_body);
                *last_body = json_incref(fl_msg_body(m));
            }
            fl_msg_destroy(&m);
        } else {
            printf("reply unverifiable\n");
        }
        count++;
        zmsg_destroy(&msg);
        fflush(stdout);
    }
    zpoller_destroy(&poller);
    if (count == 0) {
        printf("no-reply\n");
    }
    fflush(stdout);
    return count;
}

static int
s_connect(peer_t *p)
{
    uint8_t secret[32], public[32], server[32];
    fl_key_curve_secret(p->key, secret);
    fl_key_curve_public(p->key, public);
    fl_key_curve_public(p->mpub, server);
    p->sock = zsock_new(ZMQ_DEALER);
    zsock_set_curve_serverkey_bin(p->sock, server);
    zsock_set_curve_publickey_bin(p->sock, public);
    zsock_set_curve_secretkey_bin(p->sock, secret);
    zsock_set_linger(p->sock, 500);
    zsock_set_reconnect_ivl(p->sock, 5000);
    zmq_socket_monitor(zsock_resolve(p->sock), "inproc://rawpeer-monitor",
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    p->monitor = zsock_new_pair(">inproc://rawpeer-monitor");
    if (zsock_connect(p->sock, "%s", p->endpoint) != 0) {
        fprintf(stderr, "fl-rawpeer: cannot connect to %s\n", p->endpoint);
        return -1;
    }
    /* Wait for the handshake so that what we send next is what we test. */
    zsock_set_rcvtimeo(p->monitor, 5000);
    zmsg_t *ev = zmsg_recv(p->monitor);
    uint16_t event = 0;
    if (ev && zframe_size(zmsg_first(ev)) >= 2) {
        memcpy(&event, zframe_data(zmsg_first(ev)), 2);
    }
    zmsg_destroy(&ev);
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        printf("handshake-denied\n");
        return 1;
    }
    if (event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        printf("handshake-timeout\n");
        return 1;
    }
    return 0;
}

static char *
s_read_cert(peer_t *p)
{
    return p->cert_path ? fl_file_read(p->cert_path, 65536, NULL) : NULL;
}

/*  A certificate for our key signed by ROOT (or a fresh foreign root),
    valid from NB to NA. */
static char *
s_make_cert(peer_t *p, bool foreign, int64_t nb, int64_t na)
{
    char *err = NULL;
    fl_key_t *root = NULL;
    if (foreign) {
        root = fl_key_generate();
    } else {
        char *path = fl_path_join(p->root, "root.key");
        root = fl_key_load_secret(path, &err);
        free(path);
        if (!root) {
            fprintf(stderr, "fl-rawpeer: %s\n", err);
            exit(2);
        }
    }
    char serial[33];
    char *cert = fl_cert_issue(root, p->id, fl_key_public(p->key), nb, na, serial);
    fl_key_destroy(&root);
    return cert;
}

static int
s_run_mode(peer_t *p, const char *mode)
{
    char *cert = s_read_cert(p);
    int64_t now = fl_time_s();
    if (strcmp(mode, "hello") == 0) {
        s_hello(p, p->id, cert);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "garbage") == 0) {
        zmsg_t *msg = zmsg_new();
        zmsg_addstr(msg, "\x01\x02garbage\xff");
        s_send_raw(p, msg);
        msg = zmsg_new();
        for (int i = 0; i < 5; i++) {
            zmsg_addstr(msg, "junk");
        }
        s_send_raw(p, msg);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "truncated") == 0) {
        zmsg_t *msg = fl_msg_encode(p->key, "hello", p->id, p->sid, ++p->seq, NULL, true);
        zframe_t *env = zmsg_first(msg);
        size_t half = zframe_size(env) / 2;
        char *copy = fl_strndup((const char *) zframe_data(env), half);
        zframe_reset(env, copy, half);
        free(copy);
        s_send_raw(p, msg);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "badsig") == 0) {
        /* A hello signed by a key other than the CURVE one. */
        fl_key_t *other = fl_key_generate();
        zmsg_t *msg = fl_msg_encode(other, "hello", p->id, p->sid, ++p->seq, NULL, false);
        zmsg_addmem(msg, fl_key_public(p->key), FL_KEY_BYTES);
        fl_key_destroy(&other);
        s_send_raw(p, msg);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "wrong-key-frame") == 0) {
        /* A hello whose key frame is not the key that did the handshake. */
        fl_key_t *other = fl_key_generate();
        zmsg_t *msg = fl_msg_encode(other, "hello", p->id, p->sid, ++p->seq, NULL, true);
        fl_key_destroy(&other);
        s_send_raw(p, msg);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "oversized") == 0) {
        size_t n = FL_MSG_MAX_BYTES + 100;
        char *big = fl_malloc(n);
        memset(big, 'x', n);
        zmsg_t *msg = zmsg_new();
        zmsg_addmem(msg, big, n);
        uint8_t sig[FL_SIG_BYTES];
        fl_key_sign(p->key, big, n, sig);
        zmsg_addmem(msg, sig, sizeof sig);
        zmsg_addmem(msg, fl_key_public(p->key), FL_KEY_BYTES);
        free(big);
        s_send_raw(p, msg);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "huge") == 0) {
        size_t n = FL_MSG_WIRE_MAX + 1024;
        char *big = fl_calloc(1, n);
        zmsg_t *msg = zmsg_new();
        zmsg_addmem(msg, big, n);
        free(big);
        s_send_raw(p, msg);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "unknown-type") == 0) {
        s_hello(p, p->id, cert);
        s_drain(p, p->wait_ms, NULL);
        s_send(p, "bogus", p->id, NULL, false);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "replay") == 0) {
        s_hello(p, p->id, cert);
        s_drain(p, p->wait_ms, NULL);
        zmsg_t *ping = fl_msg_encode(p->key, "ping", p->id, p->sid, ++p->seq, NULL, false);
        zmsg_t *copy = zmsg_dup(ping);
        s_send_raw(p, ping);
        s_drain(p, p->wait_ms, NULL);
        s_send_raw(p, copy);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "foreign-return") == 0) {
        s_hello(p, p->id, cert);
        s_drain(p, p->wait_ms, NULL);
        s_send(p, "return", p->id,
               json_pack("{s:s, s:s, s:b, s:i, s:b}", "jid", "20990101000000000000", "fun",
                         "test.ping", "ret", 1, "retcode", 0, "success", 1),
               false);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "claim-other-id") == 0) {
        /* After a good hello, sign messages as someone else. */
        s_hello(p, p->id, cert);
        s_drain(p, p->wait_ms, NULL);
        s_send(p, "ping", "somebody-else", NULL, false);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "no-session") == 0) {
        s_send(p, "ping", p->id, NULL, false);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "pending-ping") == 0) {
        s_hello(p, p->id, NULL);
        s_drain(p, p->wait_ms, NULL);
        s_send(p, "ping", p->id, NULL, false);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "file-probe") == 0) {
        /* Wait for a state job, then ask the file server for what it must
           refuse, and for one file of another job. */
        s_hello(p, p->id, cert);
        json_t *body = NULL;
        const char *jid = NULL;
        int64_t deadline = fl_clock_ms() + 20000;
        while (!jid && fl_clock_ms() < deadline) {
            s_drain(p, 500, &body);
            jid = fl_json_str(body, "jid");
        }
        if (!jid) {
            printf("no-job\n");
            json_decref(body);
            free(cert);
            return 1;
        }
        static const char *probes[] = {
            "fleet://../master.yaml", "fleet:///etc/passwd", "salt://a/../../etc/passwd",
            "fleet://base//motd.j2", "fleet://escape/passwd", "http://example.net/x",
            "fleet://base/motd.j2",
        };
        for (size_t i = 0; i < FL_ARRAY_LEN(probes); i++) {
            printf("probe %s\n", probes[i]);
            s_send(p, "file_req", p->id,
                   json_pack("{s:s, s:s, s:i}", "jid", jid, "path", probes[i], "offset", 0),
                   false);
            json_t *reply = NULL;
            s_drain(p, p->wait_ms, &reply);
            const char *error = fl_json_str(reply, "error");
            printf("%s %s\n", error ? "error" : "served", error ? error : probes[i]);
            json_decref(reply);
        }
        /* Someone else's job. */
        s_send(p, "file_req", p->id,
               json_pack("{s:s, s:s, s:i}", "jid", "20000101000000000000", "path",
                         "fleet://base/motd.j2", "offset", 0),
               false);
        s_drain(p, p->wait_ms, NULL);
        json_decref(body);
    } else if (strcmp(mode, "bad-beacons") == 0) {
        /* Samples a broken or hostile device might send. */
        s_hello(p, p->id, cert);
        s_drain(p, p->wait_ms, NULL);
        json_t *samples = json_pack(
            "[{s:s, s:I, s:{s:s}}, {s:s, s:I, s:{s:i}}, {s:s, s:I, s:{s:i, s:i, s:i}},"
            " {s:s, s:I, s:{s:i}}, {s:s, s:I, s:{s:i}}]",
            "name", "memory", "ts", (json_int_t) now, "data", "used_percent", "lots",
            "name", "memory", "ts", (json_int_t) now + 86400 * 365, "data", "used_percent", 50,
            "name", "memory", "ts", (json_int_t) now, "data", "total_mb", -5, "available_mb", 1,
            "used_percent", 500,
            "name", "temperature", "ts", (json_int_t) now, "data", "zone0", 9999,
            "name", "no-such-beacon", "ts", (json_int_t) now, "data", "x", 1);
        s_send(p, "beacon", p->id, json_pack("{s:o}", "samples", samples), false);
        s_send(p, "beacon", p->id, json_pack("{s:s}", "samples", "not a list"), false);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "cert-expired") == 0) {
        char *c = s_make_cert(p, false, now - 86400 * 10, now - 86400);
        s_hello(p, p->id, c);
        free(c);
        s_drain(p, p->wait_ms, NULL);
    } else if (strcmp(mode, "cert-foreign") == 0) {
        char *c = s_make_cert(p, true, now - 60, now + 86400);
        s_hello(p, p->id, c);
        free(c);
        s_drain(p, p->wait_ms, NULL);
    } else {
        fprintf(stderr, "fl-rawpeer: unknown mode '%s'\n", mode);
        free(cert);
        return 2;
    }
    free(cert);
    return 0;
}

/*  Plays a master that sends the same job twice (new sequence numbers,
    same job id) and then the first job message again byte for byte: a
    minion must run it once.  Prints "returns N". */
static int
s_fake_master(peer_t *p)
{
    char *err = NULL;
    fl_key_t *mkey = fl_key_load_secret(p->master_key, &err);
    if (!mkey) {
        fprintf(stderr, "fl-rawpeer: %s\n", err);
        return 2;
    }
    uint8_t secret[32];
    fl_key_curve_secret(mkey, secret);
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zsock_set_curve_server(router, 1);
    zsock_set_curve_secretkey_bin(router, secret);
    if (zsock_bind(router, "%s", p->listen) < 0) {
        fprintf(stderr, "fl-rawpeer: cannot bind %s\n", p->listen);
        return 2;
    }
    printf("listening\n");
    fflush(stdout);
    char sid[33] = "fakemaster000000000000000000000";
    uint64_t seq = 0;
    zsock_set_rcvtimeo(router, 20000);
    zframe_t *routing = NULL;
    char *minion = NULL;
    int returns = 0;
    zmsg_t *job_copy = NULL;
    int64_t deadline = fl_clock_ms() + 25000;
    while (fl_clock_ms() < deadline) {
        zmsg_t *msg = zmsg_recv(router);
        if (!msg) {
            break;
        }
        zframe_t *r = zmsg_pop(msg);
        zframe_t *env = zmsg_first(msg);
        json_error_t jerr;
        json_t *doc = json_loadb((const char *) zframe_data(env), zframe_size(env), 0, &jerr);
        const char *type = fl_json_str(doc, "type");
        if (type && strcmp(type, "hello") == 0 && !routing) {
            routing = zframe_dup(r);
            minion = fl_strdup(fl_json_str(doc, "from"));
            zmsg_t *out = fl_msg_encode(mkey, "welcome", "master", sid, ++seq, NULL, false);
            zmsg_pushmem(out, zframe_data(routing), zframe_size(routing));
            zmsg_send(&out, router);
            json_t *body = json_pack("{s:s, s:s, s:[], s:{}, s:s, s:s, s:i}", "jid",
                                     "20260101000000000001", "fun", "test.ping", "args",
                                     "kwargs", "tgt", minion, "tgt_type", "glob", "timeout", 10);
            for (int i = 0; i < 2; i++) {
                out = fl_msg_encode(mkey, "job", "master", sid, ++seq, body, false);
                if (i == 0) {
                    job_copy = zmsg_dup(out);
                }
                zmsg_pushmem(out, zframe_data(routing), zframe_size(routing));
                zmsg_send(&out, router);
            }
            zmsg_pushmem(job_copy, zframe_data(routing), zframe_size(routing));
            zmsg_send(&job_copy, router);
            json_decref(body);
            deadline = fl_clock_ms() + 3000;
            zsock_set_rcvtimeo(router, 3000);
        } else if (type && strcmp(type, "return") == 0) {
            returns++;
        }
        json_decref(doc);
        zframe_destroy(&r);
        zmsg_destroy(&msg);
    }
    printf("returns %d\n", returns);
    int rc = routing ? 0 : 1;
    zframe_destroy(&routing);
    free(minion);
    zsock_destroy(&router);
    fl_key_destroy(&mkey);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        { "endpoint", required_argument, NULL, 'e' }, { "master-pub", required_argument, NULL, 'm' },
        { "key", required_argument, NULL, 'k' },      { "id", required_argument, NULL, 'i' },
        { "cert", required_argument, NULL, 'c' },     { "root", required_argument, NULL, 'r' },
        { "wait", required_argument, NULL, 'w' },     { "listen", required_argument, NULL, 'l' },
        { "master-key", required_argument, NULL, 'M' }, { NULL, 0, NULL, 0 },
    };
    peer_t p = { .id = "rawpeer", .wait_ms = 1500 };
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'e': p.endpoint = optarg; break;
        case 'm': p.master_pub = optarg; break;
        case 'k': p.key_path = optarg; break;
        case 'i': p.id = optarg; break;
        case 'c': p.cert_path = optarg; break;
        case 'r': p.root = optarg; break;
        case 'w': p.wait_ms = atoi(optarg); break;
        case 'l': p.listen = optarg; break;
        case 'M': p.master_key = optarg; break;
        default: return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: fl-rawpeer [options] MODE (see the source)\n");
        return 2;
    }
    zsys_init();
    zsys_set_logstream(NULL);
    const char *mode = argv[optind];
    uint8_t sid[16];
    randombytes_buf(sid, sizeof sid);
    fl_hex_encode(sid, sizeof sid, p.sid);
    if (strcmp(mode, "fake-master-replay") == 0) {
        return s_fake_master(&p);
    }
    char *err = NULL;
    p.key = p.key_path ? fl_key_load_secret(p.key_path, &err) : fl_key_generate();
    p.mpub = p.master_pub ? fl_key_load_public(p.master_pub, &err) : NULL;
    if (!p.key || !p.mpub || !p.endpoint) {
        fprintf(stderr, "fl-rawpeer: %s\n", err ? err : "needs --endpoint and --master-pub");
        return 2;
    }
    int rc = s_connect(&p);
    if (rc == 0) {
        rc = s_run_mode(&p, mode);
    } else {
        rc = 0;  /* a denied handshake is a result the test reads */
    }
    zsock_destroy(&p.monitor);
    zsock_destroy(&p.sock);
    fl_key_destroy(&p.key);
    fl_key_destroy(&p.mpub);
    return rc;
}
