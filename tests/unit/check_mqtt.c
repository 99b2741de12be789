/*  check_mqtt.c: the master's MQTT bridge (fl_mqtt) against a real
    mosquitto broker that each test starts on its own random loopback port.
    A libmosquitto subscriber in the test process records what the broker
    delivers; a small poll() loop drives the bridge as the master's loop
    would.  Waits end on a condition or a deadline, never a fixed sleep
    (except the "broker is away" stretches, which are the point). */
#include "fl_test.h"
#include "fl_mqtt.h"
#include "fl_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MOSQUITTO "/usr/sbin/mosquitto"
#define S_MAX_RX 1024

static char *s_dir;
static pid_t s_broker = -1;
static int s_port;

/*  Deadlines stretch under sanitizers as Check's timeouts do. */
static int64_t
s_ms(int64_t base_ms)
{
    const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
    double m = mult && *mult ? atof(mult) : 1.0;
    return (int64_t) (base_ms * (m > 1.0 ? m : 1.0));
}

/*  A loopback port nobody listens on right now, in 18830..38829. */
static int
s_free_port(void)
{
    srand((unsigned) (getpid() ^ fl_clock_ms()));
    for (int tries = 0; tries < 100; tries++) {
        int port = 18830 + rand() % 20000;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        close(fd);
        if (rc == 0) {
            return port;
        }
    }
    ck_abort_msg("no free port");
    return -1;
}

static bool
s_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/*  Starts mosquitto on s_port and waits until it accepts connections.
    The broker dies with the test process (PR_SET_PDEATHSIG), so a failed
    assertion leaves nothing behind. */
static void
s_broker_start_with(const char *extra_conf)
{
    ck_assert_int_eq(s_broker, -1);
    char *conf_text = fl_sprintf("listener %d 127.0.0.1\n"
                                 "allow_anonymous true\n"
                                 "persistence false\n"
                                 "%s",
                                 s_port, extra_conf ? extra_conf : "");
    char *conf = fl_test_write(s_dir, "mosquitto.conf", conf_text);
    free(conf_text);
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        if (!getenv("FL_TEST_VERBOSE")) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execl(S_MOSQUITTO, "mosquitto", "-c", conf, (char *) NULL);
        _exit(127);
    }
    free(conf);
    s_broker = pid;
    int64_t deadline = fl_clock_ms() + s_ms(10000);
    while (!s_port_open(s_port)) {
        int status;
        ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "mosquitto exited at start");
        ck_assert_msg(fl_clock_ms() < deadline, "mosquitto not listening on %d", s_port);
        usleep(20 * 1000);
    }
}

static void
s_broker_start(void)
{
    s_broker_start_with(NULL);
}

static void
s_broker_stop(int sig)
{
    if (s_broker > 0) {
        kill(s_broker, sig);
        waitpid(s_broker, NULL, 0);
        s_broker = -1;
    }
}

/*  --------------------------------------------------------------------
    The subscriber: what the broker delivered, as "TOPIC PAYLOAD" */

typedef struct {
    char *msgs[S_MAX_RX];
    int n;
    bool subscribed;
} s_rx_t;

static void
s_on_message(struct mosquitto *mosq, void *arg, const struct mosquitto_message *msg)
{
    FL_UNUSED(mosq);
    s_rx_t *rx = arg;
    if (rx->n < S_MAX_RX) {
        rx->msgs[rx->n++] = fl_sprintf("%s %.*s", msg->topic, msg->payloadlen,
                                       (const char *) msg->payload);
    }
}

static void
s_on_subscribe(struct mosquitto *mosq, void *arg, int mid, int n, const int *qos)
{
    FL_UNUSED(mosq);
    FL_UNUSED(mid);
    FL_UNUSED(n);
    FL_UNUSED(qos);
    ((s_rx_t *) arg)->subscribed = true;
}

static void
s_rx_clear(s_rx_t *rx)
{
    for (int i = 0; i < rx->n; i++) {
        free(rx->msgs[i]);
    }
    memset(rx, 0, sizeof *rx);
}

/*  A subscriber to PATTERN at QoS 1 that has its SUBACK; over TLS with
    the files in DIR (ca.crt, client.crt, client.key) when TLS_DIR is set. */
static struct mosquitto *
s_sub_new_tls(s_rx_t *rx, const char *pattern, const char *tls_dir)
{
    rx->subscribed = false;
    struct mosquitto *sub = mosquitto_new(NULL, true, rx);
    ck_assert_ptr_nonnull(sub);
    if (tls_dir) {
        char *ca = fl_path_join(tls_dir, "ca.crt");
        char *crt = fl_path_join(tls_dir, "client.crt");
        char *key = fl_path_join(tls_dir, "client.key");
        ck_assert_int_eq(mosquitto_tls_set(sub, ca, NULL, crt, key, NULL), MOSQ_ERR_SUCCESS);
        free(ca);
        free(crt);
        free(key);
    }
    mosquitto_message_callback_set(sub, s_on_message);
    mosquitto_subscribe_callback_set(sub, s_on_subscribe);
    ck_assert_int_eq(mosquitto_connect(sub, "127.0.0.1", s_port, 30), MOSQ_ERR_SUCCESS);
    ck_assert_int_eq(mosquitto_subscribe(sub, NULL, pattern, 1), MOSQ_ERR_SUCCESS);
    int64_t deadline = fl_clock_ms() + s_ms(10000);
    while (!rx->subscribed) {
        ck_assert_msg(fl_clock_ms() < deadline, "no SUBACK");
        mosquitto_loop(sub, 50, 1);
    }
    return sub;
}

static struct mosquitto *
s_sub_new(s_rx_t *rx, const char *pattern)
{
    return s_sub_new_tls(rx, pattern, NULL);
}

/*  --------------------------------------------------------------------
    Driving the bridge as the master's loop does */

static fl_mqtt_t *
s_bridge_url(const char *scheme, const char *extra_json)
{
    char *text = fl_sprintf("{\"url\": \"%s://127.0.0.1:%d\"%s%s}", scheme, s_port,
                            extra_json ? ", " : "", extra_json ? extra_json : "");
    json_error_t jerr;
    json_t *config = json_loads(text, 0, &jerr);
    ck_assert_msg(config != NULL, "%s: %s", text, jerr.text);
    char *err = NULL;
    fl_mqtt_t *bridge = fl_mqtt_new(config, &err);
    ck_assert_msg(bridge != NULL, "fl_mqtt_new: %s", err ? err : "?");
    ck_assert_ptr_null(err);
    json_decref(config);
    free(text);
    return bridge;
}

static fl_mqtt_t *
s_bridge(const char *extra_json)
{
    return s_bridge_url("mqtt", extra_json);
}

/*  One round: poll the bridge's socket (20 ms at most), hand it what
    poll saw, tick it every 250 ms, and let the subscriber (if any) run. */
static void
s_round(fl_mqtt_t *bridge, struct mosquitto *sub)
{
    static int64_t last_tick_ms;
    struct pollfd pfd = { .fd = fl_mqtt_fd(bridge), .events = POLLIN };
    if (fl_mqtt_want_write(bridge)) {
        pfd.events |= POLLOUT;
    }
    if (pfd.fd >= 0) {
        int n = poll(&pfd, 1, 20);
        ck_assert_int_ge(n, 0);
        if (n > 0) {
            fl_mqtt_on_io(bridge, pfd.revents & (POLLIN | POLLERR | POLLHUP),
                          pfd.revents & POLLOUT);
        }
    } else {
        poll(NULL, 0, 20);
    }
    int64_t now = fl_clock_ms();
    if (now - last_tick_ms >= 250) {
        fl_mqtt_on_tick(bridge, now);
        last_tick_ms = now;
    }
    if (sub) {
        mosquitto_loop(sub, 0, 1);
    }
}

/*  Runs rounds until DONE(ARG) or MS milliseconds pass; false on timeout
    (DONE NULL: just run for MS). */
static bool
s_drive(fl_mqtt_t *bridge, struct mosquitto *sub, bool (*done)(void *arg), void *arg, int64_t ms)
{
    int64_t deadline = fl_clock_ms() + ms;
    while (fl_clock_ms() < deadline) {
        if (done && done(arg)) {
            return true;
        }
        s_round(bridge, sub);
    }
    return done ? done(arg) : true;
}

static int64_t
s_stat(fl_mqtt_t *bridge, const char *name)
{
    json_t *stats = fl_mqtt_stats(bridge);
    ck_assert_ptr_nonnull(stats);
    json_t *v = json_object_get(stats, name);
    ck_assert_ptr_nonnull(v);
    int64_t n = json_is_boolean(v) ? json_is_true(v) : (int64_t) json_integer_value(v);
    json_decref(stats);
    return n;
}

/*  Event N: tag fleet/minion/pi-N/lost, payload {"n":N}. */
static void
s_publish_n(fl_mqtt_t *bridge, int n)
{
    char tag[64], payload[64];
    snprintf(tag, sizeof tag, "fleet/minion/pi-%d/lost", n);
    snprintf(payload, sizeof payload, "{\"n\":%d}", n);
    fl_mqtt_publish(bridge, tag, payload);
}

/*  The event numbers in order of first delivery, deduplicated. */
static int
s_first_seen(const s_rx_t *rx, int *out, int max)
{
    int count = 0;
    for (int i = 0; i < rx->n; i++) {
        const char *p = strstr(rx->msgs[i], "{\"n\":");
        ck_assert_ptr_nonnull(p);
        int n = atoi(p + 5);
        bool seen = false;
        for (int j = 0; j < count; j++) {
            seen = seen || out[j] == n;
        }
        if (!seen && count < max) {
            out[count++] = n;
        }
    }
    return count;
}

typedef struct {
    const s_rx_t *rx;
    int want;
} s_want_t;

static bool
s_got_distinct(void *arg)
{
    const s_want_t *w = arg;
    int seen[S_MAX_RX];
    return s_first_seen(w->rx, seen, S_MAX_RX) >= w->want;
}

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_port = s_free_port();
    s_broker = -1;
    mosquitto_lib_init();
}

static void
s_teardown(void)
{
    s_broker_stop(SIGTERM);
    mosquitto_lib_cleanup();
    fl_test_tmpdir_free(&s_dir);
}

/*  --------------------------------------------------------------------
    Tests */

/*  The canonical use: configure, publish, let the loop run; the broker
    gets every event in order on prefix/tag, and the counters say so. */
START_TEST(test_mqtt_usage)
{
    s_broker_start();
    s_rx_t rx = { 0 };
    struct mosquitto *sub = s_sub_new(&rx, "fleet/#");

    fl_mqtt_t *bridge = s_bridge("\"topic_prefix\": \"fleet\", \"client_id\": \"test-master\"");
    for (int i = 1; i <= 30; i++) {
        s_publish_n(bridge, i);
    }
    s_want_t want = { &rx, 30 };
    ck_assert_msg(s_drive(bridge, sub, s_got_distinct, &want, s_ms(15000)),
                  "received %d of 30", rx.n);
    for (int i = 0; i < 30; i++) {
        char *expect = fl_sprintf("fleet/minion/pi-%d/lost {\"n\":%d}", i + 1, i + 1);
        ck_assert_str_eq(rx.msgs[i], expect);
        free(expect);
    }
    /* PUBACKs may trail the deliveries a little. */
    int64_t deadline = fl_clock_ms() + s_ms(10000);
    while (s_stat(bridge, "published") < 30 && fl_clock_ms() < deadline) {
        s_round(bridge, sub);
    }
    ck_assert_int_eq(s_stat(bridge, "published"), 30);
    ck_assert_int_eq(s_stat(bridge, "queued"), 0);
    ck_assert_int_eq(s_stat(bridge, "dropped"), 0);
    ck_assert_int_eq(s_stat(bridge, "reconnects"), 0);
    ck_assert_int_eq(s_stat(bridge, "connected"), 1);
    ck_assert(fl_mqtt_connected(bridge));
    ck_assert_int_ge(fl_mqtt_fd(bridge), 0);

    fl_mqtt_destroy(&bridge);
    fl_mqtt_destroy(&bridge);
    ck_assert_ptr_null(bridge);
    mosquitto_destroy(sub);
    s_rx_clear(&rx);
}
END_TEST

/*  The topic rule: a leading "fleet/" of the tag is dropped only when the
    prefix's last level is "fleet"; wildcards in a tag become '_'. */
START_TEST(test_mqtt_topics)
{
    static const struct {
        const char *prefix_json;  /* NULL: the default */
        const char *tag;
        const char *topic;
    } cases[] = {
        { NULL, "fleet/minion/pi-7/lost", "fleet/minion/pi-7/lost" },
        { "\"fleet/\"", "fleet/job/42/ret", "fleet/job/42/ret" },
        { "\"lake/fleet\"", "fleet/minion/pi-7/lost", "lake/fleet/minion/pi-7/lost" },
        { "\"site1\"", "fleet/minion/pi-7/lost", "site1/fleet/minion/pi-7/lost" },
        { "\"fleetx\"", "fleet/key/new", "fleetx/fleet/key/new" },
        { "\"fleet\"", "other/thing", "fleet/other/thing" },
        { "\"\"", "fleet/minion/a/start", "fleet/minion/a/start" },
        { "\"fleet\"", "fleet/minion/a+b#c/start", "fleet/minion/a_b_c/start" },
    };
    s_broker_start();
    s_rx_t rx = { 0 };
    struct mosquitto *sub = s_sub_new(&rx, "#");
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        char *extra = cases[i].prefix_json
                        ? fl_sprintf("\"topic_prefix\": %s", cases[i].prefix_json) : NULL;
        fl_mqtt_t *bridge = s_bridge(extra);
        free(extra);
        char payload[32];
        snprintf(payload, sizeof payload, "{\"n\":%zu}", i);
        fl_mqtt_publish(bridge, cases[i].tag, payload);
        s_want_t want = { &rx, (int) i + 1 };
        ck_assert_msg(s_drive(bridge, sub, s_got_distinct, &want, s_ms(10000)),
                      "case %zu: nothing received", i);
        char *expect = fl_sprintf("%s %s", cases[i].topic, payload);
        ck_assert_str_eq(rx.msgs[rx.n - 1], expect);
        free(expect);
        fl_mqtt_destroy(&bridge);
    }
    mosquitto_destroy(sub);
    s_rx_clear(&rx);
}
END_TEST

/*  No broker at start: events wait; the broker comes; all arrive, in order. */
START_TEST(test_mqtt_broker_late)
{
    fl_mqtt_t *bridge = s_bridge(NULL);
    for (int i = 1; i <= 10; i++) {
        s_publish_n(bridge, i);
    }
    s_drive(bridge, NULL, NULL, NULL, 1500);
    ck_assert_int_eq(s_stat(bridge, "connected"), 0);
    ck_assert_int_eq(s_stat(bridge, "queued"), 10);
    ck_assert_int_eq(s_stat(bridge, "published"), 0);
    ck_assert_int_eq(fl_mqtt_fd(bridge), -1);
    for (int i = 11; i <= 15; i++) {
        s_publish_n(bridge, i);
    }

    s_broker_start();
    s_rx_t rx = { 0 };
    struct mosquitto *sub = s_sub_new(&rx, "fleet/#");
    s_want_t want = { &rx, 15 };
    ck_assert_msg(s_drive(bridge, sub, s_got_distinct, &want, s_ms(20000)),
                  "received %d of 15", rx.n);
    int seen[S_MAX_RX];
    ck_assert_int_eq(s_first_seen(&rx, seen, S_MAX_RX), 15);
    for (int i = 0; i < 15; i++) {
        ck_assert_int_eq(seen[i], i + 1);
    }
    ck_assert_int_eq(s_stat(bridge, "connected"), 1);
    ck_assert_int_eq(s_stat(bridge, "reconnects"), 0);
    ck_assert_int_eq(s_stat(bridge, "dropped"), 0);

    fl_mqtt_destroy(&bridge);
    mosquitto_destroy(sub);
    s_rx_clear(&rx);
}
END_TEST

/*  The broker is killed with events acknowledged, events sent but not yet
    acknowledged, and events published while it is down; restarted on the
    same port, it gets every event at least once, in order of first
    delivery. */
START_TEST(test_mqtt_broker_restart)
{
    s_broker_start();
    s_rx_t rx = { 0 };
    struct mosquitto *sub = s_sub_new(&rx, "fleet/#");
    fl_mqtt_t *bridge = s_bridge(NULL);
    for (int i = 1; i <= 5; i++) {
        s_publish_n(bridge, i);
    }
    s_want_t want = { &rx, 5 };
    ck_assert(s_drive(bridge, sub, s_got_distinct, &want, s_ms(15000)));
    int64_t deadline = fl_clock_ms() + s_ms(10000);
    while (s_stat(bridge, "published") < 5 && fl_clock_ms() < deadline) {
        s_round(bridge, sub);
    }
    ck_assert_int_eq(s_stat(bridge, "published"), 5);

    /* 6..8 go out at once (connected) but their PUBACKs are never read. */
    for (int i = 6; i <= 8; i++) {
        s_publish_n(bridge, i);
    }
    s_broker_stop(SIGKILL);
    mosquitto_destroy(sub);
    for (int i = 9; i <= 12; i++) {
        s_publish_n(bridge, i);
    }
    s_drive(bridge, NULL, NULL, NULL, 1500);
    ck_assert_int_eq(s_stat(bridge, "connected"), 0);
    ck_assert_int_eq(s_stat(bridge, "queued"), 7);

    s_broker_start();
    sub = s_sub_new(&rx, "fleet/#");
    want.want = 12;
    ck_assert_msg(s_drive(bridge, sub, s_got_distinct, &want, s_ms(30000)),
                  "received %d messages", rx.n);
    int seen[S_MAX_RX];
    ck_assert_int_eq(s_first_seen(&rx, seen, S_MAX_RX), 12);
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(seen[i], i + 1);
    }
    deadline = fl_clock_ms() + s_ms(10000);
    while (s_stat(bridge, "queued") > 0 && fl_clock_ms() < deadline) {
        s_round(bridge, sub);
    }
    ck_assert_int_eq(s_stat(bridge, "queued"), 0);
    ck_assert_int_eq(s_stat(bridge, "published"), 12);
    ck_assert_int_eq(s_stat(bridge, "reconnects"), 1);
    ck_assert_int_eq(s_stat(bridge, "dropped"), 0);

    fl_mqtt_destroy(&bridge);
    mosquitto_destroy(sub);
    s_rx_clear(&rx);
}
END_TEST

/*  buffer 5, no broker, 8 events: the 3 oldest are dropped and counted;
    the 5 newest reach the broker once it is there. */
START_TEST(test_mqtt_buffer_bound)
{
    fl_mqtt_t *bridge = s_bridge("\"buffer\": 5");
    for (int i = 1; i <= 8; i++) {
        s_publish_n(bridge, i);
    }
    ck_assert_int_eq(s_stat(bridge, "queued"), 5);
    ck_assert_int_eq(s_stat(bridge, "dropped"), 3);
    s_drive(bridge, NULL, NULL, NULL, 300);
    ck_assert_int_eq(s_stat(bridge, "queued"), 5);

    s_broker_start();
    s_rx_t rx = { 0 };
    struct mosquitto *sub = s_sub_new(&rx, "fleet/#");
    s_want_t want = { &rx, 5 };
    ck_assert_msg(s_drive(bridge, sub, s_got_distinct, &want, s_ms(20000)),
                  "received %d of 5", rx.n);
    int seen[S_MAX_RX];
    ck_assert_int_eq(s_first_seen(&rx, seen, S_MAX_RX), 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(seen[i], i + 4);
    }
    ck_assert_int_eq(s_stat(bridge, "dropped"), 3);
    fl_mqtt_destroy(&bridge);
    mosquitto_destroy(sub);
    s_rx_clear(&rx);
}
END_TEST

/*  mqtts:// with a private CA and a client certificate (the broker
    requires one): the TLS handshake runs through the same non-blocking
    loop.  Certificates come from the openssl command. */
START_TEST(test_mqtt_tls)
{
    char *script = fl_sprintf(
        "cd '%s' && exec >openssl.log 2>&1 && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "  -keyout ca.key -out ca.crt -days 2 -subj /CN=fleet-test-ca && "
        "for n in server client; do "
        "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "    -keyout $n.key -out $n.csr -subj /CN=127.0.0.1 && "
        "  printf 'subjectAltName=IP:127.0.0.1\\n' >$n.ext && "
        "  openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "    -out $n.crt -days 2 -extfile $n.ext || exit 1; "
        "done && chmod 0755 . && chmod 0644 *.key",
        s_dir);
    ck_assert_msg(system(script) == 0, "openssl failed: see %s/openssl.log", s_dir);
    free(script);
    char *conf = fl_sprintf("cafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n"
                            "require_certificate true\n",
                            s_dir, s_dir, s_dir);
    s_broker_start_with(conf);
    free(conf);
    s_rx_t rx = { 0 };
    struct mosquitto *sub = s_sub_new_tls(&rx, "fleet/#", s_dir);

    char *extra = fl_sprintf("\"ca_file\": \"%s/ca.crt\", \"cert_file\": \"%s/client.crt\", "
                             "\"key_file\": \"%s/client.key\"",
                             s_dir, s_dir, s_dir);
    fl_mqtt_t *bridge = s_bridge_url("mqtts", extra);
    free(extra);
    for (int i = 1; i <= 50; i++) {
        s_publish_n(bridge, i);
    }
    s_want_t want = { &rx, 50 };
    ck_assert_msg(s_drive(bridge, sub, s_got_distinct, &want, s_ms(20000)),
                  "received %d of 50", rx.n);
    int seen[S_MAX_RX];
    ck_assert_int_eq(s_first_seen(&rx, seen, S_MAX_RX), 50);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(seen[i], i + 1);
    }
    int64_t deadline = fl_clock_ms() + s_ms(10000);
    while (s_stat(bridge, "queued") > 0 && fl_clock_ms() < deadline) {
        s_round(bridge, sub);
    }
    ck_assert_int_eq(s_stat(bridge, "published"), 50);
    fl_mqtt_destroy(&bridge);
    mosquitto_destroy(sub);
    s_rx_clear(&rx);
}
END_TEST

/*  Bad configurations: NULL, and *err names the key. */
START_TEST(test_mqtt_bad_config)
{
    static const struct {
        const char *json;
        const char *needle;
    } cases[] = {
        { "[]", "mqtt:" },
        { "{}", "mqtt.url: required" },
        { "{\"url\": \"127.0.0.1:1883\"}", "mqtt.url:" },
        { "{\"url\": \"tcp://127.0.0.1:1883\"}", "mqtt.url:" },
        { "{\"url\": \"mqtt://127.0.0.1:70000\"}", "mqtt.url: port 70000 out of range" },
        { "{\"url\": \"mqtt://127.0.0.1:0\"}", "mqtt.url: port 0 out of range" },
        { "{\"url\": \"mqtt://127.0.0.1:12x\"}", "mqtt.url: bad port" },
        { "{\"url\": \"mqtt://127.0.0.1:\"}", "mqtt.url: bad port" },
        { "{\"url\": \"mqtt://:1883\"}", "mqtt.url:" },
        { "{\"url\": \"mqtt://h:1883/x\"}", "mqtt.url:" },
        { "{\"url\": \"mqtt://u:p@h:1883\"}", "mqtt.url:" },
        { "{\"url\": \"mqtt://[::1:1883\"}", "mqtt.url:" },
        { "{\"url\": \"mqtt://::1:1883\"}", "mqtt.url:" },
        { "{\"url\": 1883}", "mqtt.url: must be a string" },
        { "{\"url\": \"mqtt://h\", \"colour\": \"red\"}", "mqtt.colour: unknown key" },
        { "{\"url\": \"mqtt://h\", \"keepalive\": 2}", "mqtt.keepalive:" },
        { "{\"url\": \"mqtt://h\", \"keepalive\": \"30\"}", "mqtt.keepalive: must be an integer" },
        { "{\"url\": \"mqtt://h\", \"buffer\": 0}", "mqtt.buffer:" },
        { "{\"url\": \"mqtt://h\", \"buffer\": 2000000}", "mqtt.buffer:" },
        { "{\"url\": \"mqtt://h\", \"password\": \"pw\"}", "mqtt.password:" },
        { "{\"url\": \"mqtt://h\", \"username\": \"\"}", "mqtt.username:" },
        { "{\"url\": \"mqtt://h\", \"client_id\": 7}", "mqtt.client_id:" },
        { "{\"url\": \"mqtt://h\", \"topic_prefix\": \"a/#\"}", "mqtt.topic_prefix:" },
        { "{\"url\": \"mqtt://h\", \"ca_file\": \"/etc/hosts\"}", "mqtt.ca_file:" },
        { "{\"url\": \"mqtts://h\", \"ca_file\": \"/nonexistent/ca.pem\"}", "mqtt.ca_file:" },
        { "{\"url\": \"mqtts://h\", \"cert_file\": \"/x.pem\"}", "mqtt.key_file:" },
        { "{\"url\": \"mqtts://h\", \"key_file\": \"/x.key\"}", "mqtt.cert_file:" },
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(cases); i++) {
        json_t *config = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        ck_assert_ptr_nonnull(config);
        char *err = NULL;
        fl_mqtt_t *bridge = fl_mqtt_new(config, &err);
        ck_assert_msg(bridge == NULL, "%s: accepted", cases[i].json);
        ck_assert_msg(err && strstr(err, cases[i].needle), "%s: error '%s', want '%s'",
                      cases[i].json, err ? err : "(none)", cases[i].needle);
        free(err);
        json_decref(config);
    }
    char *err = NULL;
    ck_assert_ptr_null(fl_mqtt_new(NULL, &err));
    ck_assert_ptr_nonnull(err);
    free(err);

    /* And some good ones, which connect to nothing until ticked. */
    static const char *good[] = {
        "{\"url\": \"mqtt://[::1]:1883\"}",
        "{\"url\": \"mqtt://broker.example\"}",
        "{\"url\": \"mqtts://broker.example:8883/\", \"username\": \"u\", \"password\": \"p\"}",
        "{\"url\": \"mqtt://h:1\", \"keepalive\": 5, \"buffer\": 1, \"topic_prefix\": \"\"}",
    };
    for (size_t i = 0; i < FL_ARRAY_LEN(good); i++) {
        json_t *config = json_loads(good[i], 0, NULL);
        ck_assert_ptr_nonnull(config);
        fl_mqtt_t *bridge = fl_mqtt_new(config, &err);
        ck_assert_msg(bridge != NULL, "%s: %s", good[i], err ? err : "?");
        ck_assert_int_eq(fl_mqtt_fd(bridge), -1);
        ck_assert(!fl_mqtt_want_write(bridge));
        ck_assert_int_eq(s_stat(bridge, "queued"), 0);
        fl_mqtt_destroy(&bridge);
        json_decref(config);
    }
    fl_mqtt_destroy(NULL);
}
END_TEST

Suite *suite_mqtt(void);

Suite *
suite_mqtt(void)
{
    Suite *s = suite_create("mqtt");
    TCase *tc = tcase_create("mqtt");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_mqtt_usage);
    tcase_add_test(tc, test_mqtt_topics);
    tcase_add_test(tc, test_mqtt_broker_late);
    tcase_add_test(tc, test_mqtt_broker_restart);
    tcase_add_test(tc, test_mqtt_buffer_bound);
    tcase_add_test(tc, test_mqtt_tls);
    tcase_add_test(tc, test_mqtt_bad_config);
    suite_add_tcase(s, tc);
    return s;
}
