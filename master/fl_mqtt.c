/*  fl_mqtt.c: the master's MQTT bridge (see fl_mqtt.h for the contract).

    The buffer is a ring of events in arrival order.  Each event is QUEUED
    (not sent on this connection), INFLIGHT (sent, mid known, waiting for
    PUBACK) or DONE (acknowledged, or refused for good; it leaves when it
    reaches the head).  NEXT_SEND is the offset of the first event not yet
    looked at on this connection: everything before it is INFLIGHT or DONE.

    libmosquitto calls our callbacks from inside mosquitto_loop_read() and
    friends.  The callbacks only mark state (acks, "lost"); the client is
    destroyed and the buffer rewound by s_after() once the library call has
    returned, never inside a callback. */
#include "fl_mqtt.h"
#include "fl_log.h"

#include <assert.h>
#include <mosquitto.h>
#include <signal.h>

#define S_DEFAULT_PREFIX "fleet"
#define S_DEFAULT_CLIENT_ID "fleet-master"
#define S_DEFAULT_KEEPALIVE_S 30
#define S_DEFAULT_BUFFER 10000
#define S_MAX_PAYLOAD 268435455L /* MQTT's remaining-length limit, less headers */

typedef enum { S_QUEUED = 0, S_INFLIGHT, S_DONE } s_event_state_t;

typedef struct {
    char *topic;
    char *payload;
    size_t len;
    int mid;
    s_event_state_t state;
} s_event_t;

typedef enum { S_DOWN = 0, S_CONNECTING, S_UP } s_conn_t;

struct fl_mqtt {
    /* Configuration */
    char *host;
    int port;
    bool tls;
    char *prefix;        /* without a trailing '/'; may be "" */
    bool strip_fleet;    /* the prefix's last level is "fleet" */
    char *client_id;
    char *username;
    char *password;
    char *ca_file;
    char *cert_file;
    char *key_file;
    int keepalive_s;
    size_t capacity;

    /* Connection: one fresh libmosquitto client per attempt */
    struct mosquitto *mosq;
    s_conn_t conn;
    bool just_up;            /* set by the CONNACK callback, seen by s_after */
    bool lost;               /* set by callbacks: drop after the call returns */
    char why[160];           /* why it was lost */
    int64_t now_ms;          /* from the last tick */
    int64_t retry_at_ms;     /* next attempt; -1: set it at the next tick */
    int64_t backoff_ms;      /* delay before the next attempt */
    int64_t started_ms;      /* when the current attempt began */
    bool ever_connected;
    bool failing;            /* a failure was logged; quiet until success */
    bool overflowing;        /* a drop was logged; quiet until half empty */

    /* The buffer */
    s_event_t *ring;
    size_t alloc;
    size_t head;
    size_t count;
    size_t next_send;
    size_t inflight;

    /* Counters */
    uint64_t published;
    uint64_t dropped;
    uint64_t reconnects;
};

/*  libmosquitto wants one init per process before any client and a
    matching cleanup; the master is single-threaded, so a count will do. */
static int s_lib_users;

static void s_after(fl_mqtt_t *self);

/*  --------------------------------------------------------------------
    Configuration */

typedef enum { S_STR, S_INT } s_key_type_t;

/*  The keys of the `mqtt:` map; the order is the order of the docs. */
static const struct {
    const char *name;
    s_key_type_t type;
    long min, max;
} s_keys[] = {
    { "url", S_STR, 0, 0 },
    { "topic_prefix", S_STR, 0, 0 },
    { "client_id", S_STR, 0, 0 },
    { "username", S_STR, 0, 0 },
    { "password", S_STR, 0, 0 },
    { "ca_file", S_STR, 0, 0 },
    { "cert_file", S_STR, 0, 0 },
    { "key_file", S_STR, 0, 0 },
    { "keepalive", S_INT, 5, 65535 },
    { "buffer", S_INT, 1, 1000000 },
};

static int
s_key_index(const char *name)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_keys); i++) {
        if (strcmp(s_keys[i].name, name) == 0) {
            return (int) i;
        }
    }
    return -1;
}

static char *
s_known_keys(void)
{
    size_t size = 1;
    for (size_t i = 0; i < FL_ARRAY_LEN(s_keys); i++) {
        size += strlen(s_keys[i].name) + 2;
    }
    char *out = fl_calloc(1, size);
    for (size_t i = 0; i < FL_ARRAY_LEN(s_keys); i++) {
        if (i > 0) {
            strcat(out, ", ");
        }
        strcat(out, s_keys[i].name);
    }
    return out;
}

/*  Parses "mqtt://HOST[:PORT]" or "mqtts://HOST[:PORT]"; an IPv6 host in
    brackets.  0, or -1 with *ERR set. */
static int
s_parse_url(fl_mqtt_t *self, const char *url, char **err)
{
    const char *rest;
    if (strncmp(url, "mqtt://", 7) == 0) {
        rest = url + 7;
        self->tls = false;
        self->port = 1883;
    } else if (strncmp(url, "mqtts://", 8) == 0) {
        rest = url + 8;
        self->tls = true;
        self->port = 8883;
    } else {
        *err = fl_sprintf("mqtt.url: '%s' should be mqtt://HOST:PORT or mqtts://HOST:PORT", url);
        return -1;
    }
    const char *host = rest, *host_end, *port = NULL;
    if (*rest == '[') {
        host = rest + 1;
        host_end = strchr(host, ']');
        if (!host_end) {
            *err = fl_sprintf("mqtt.url: '%s' has no ']' after the IPv6 address", url);
            return -1;
        }
        if (host_end[1] == ':') {
            port = host_end + 2;
        } else if (host_end[1] != '\0' && strcmp(host_end + 1, "/") != 0) {
            *err = fl_sprintf("mqtt.url: unexpected '%s' after the host in '%s'", host_end + 1, url);
            return -1;
        }
    } else {
        host_end = host + strcspn(host, ":/");
        if (*host_end == ':') {
            port = host_end + 1;
            if (strchr(port, ':')) {
                *err = fl_sprintf("mqtt.url: '%s': put an IPv6 address in brackets", url);
                return -1;
            }
        } else if (*host_end == '/' && host_end[1] != '\0') {
            *err = fl_sprintf("mqtt.url: '%s' has a path; only HOST:PORT is allowed", url);
            return -1;
        }
    }
    if (host_end == host) {
        *err = fl_sprintf("mqtt.url: '%s' has no host", url);
        return -1;
    }
    if (memchr(host, '@', (size_t) (host_end - host))) {
        *err = fl_sprintf("mqtt.url: credentials go in username and password, not in the url");
        return -1;
    }
    if (port) {
        size_t digits = strspn(port, "0123456789");
        bool slash_only = port[digits] == '\0' || strcmp(port + digits, "/") == 0;
        if (digits == 0 || digits > 5 || !slash_only) {
            *err = fl_sprintf("mqtt.url: bad port in '%s'", url);
            return -1;
        }
        long n = strtol(port, NULL, 10);
        if (n < 1 || n > 65535) {
            *err = fl_sprintf("mqtt.url: port %ld out of range 1-65535", n);
            return -1;
        }
        self->port = (int) n;
    }
    self->host = fl_strndup(host, (size_t) (host_end - host));
    return 0;
}

/*  Stores one validated key on SELF.  0, or -1 with *ERR set. */
static int
s_apply_key(fl_mqtt_t *self, const char *key, const json_t *value, char **err)
{
    int i = s_key_index(key);
    if (i < 0) {
        char *known = s_known_keys();
        *err = fl_sprintf("mqtt.%s: unknown key (known: %s)", key, known);
        free(known);
        return -1;
    }
    if (s_keys[i].type == S_INT) {
        if (!json_is_integer(value)) {
            *err = fl_sprintf("mqtt.%s: must be an integer", key);
            return -1;
        }
        json_int_t n = json_integer_value(value);
        if (n < s_keys[i].min || n > s_keys[i].max) {
            *err = fl_sprintf("mqtt.%s: %lld out of range %ld-%ld", key, (long long) n,
                              s_keys[i].min, s_keys[i].max);
            return -1;
        }
        if (strcmp(key, "keepalive") == 0) {
            self->keepalive_s = (int) n;
        } else {
            self->capacity = (size_t) n;
        }
        return 0;
    }
    if (!json_is_string(value)) {
        *err = fl_sprintf("mqtt.%s: must be a string (quote it)", key);
        return -1;
    }
    const char *text = json_string_value(value);
    if (strcmp(key, "url") == 0) {
        return s_parse_url(self, text, err);
    }
    if (strcmp(key, "topic_prefix") == 0) {
        if (strpbrk(text, "+#")) {
            *err = fl_sprintf("mqtt.topic_prefix: '%s' may not hold '+' or '#'", text);
            return -1;
        }
        size_t len = strlen(text);
        while (len > 0 && text[len - 1] == '/') {
            len--;
        }
        free(self->prefix);
        self->prefix = fl_strndup(text, len);
        return 0;
    }
    if (*text == '\0') {
        *err = fl_sprintf("mqtt.%s: must not be empty", key);
        return -1;
    }
    char **slot = strcmp(key, "client_id") == 0   ? &self->client_id
                : strcmp(key, "username") == 0  ? &self->username
                : strcmp(key, "password") == 0  ? &self->password
                : strcmp(key, "ca_file") == 0   ? &self->ca_file
                : strcmp(key, "cert_file") == 0 ? &self->cert_file
                                                : &self->key_file;
    free(*slot);
    *slot = fl_strdup(text);
    return 0;
}

/*  Rules between keys, once all are read. */
static int
s_check_combination(fl_mqtt_t *self, char **err)
{
    if (!self->host) {
        *err = fl_sprintf("mqtt.url: required (mqtt://HOST:PORT or mqtts://HOST:PORT)");
        return -1;
    }
    if (self->password && !self->username) {
        *err = fl_sprintf("mqtt.password: needs username");
        return -1;
    }
    const char *tls_key = self->ca_file ? "ca_file" : self->cert_file ? "cert_file"
                        : self->key_file ? "key_file" : NULL;
    if (tls_key && !self->tls) {
        *err = fl_sprintf("mqtt.%s: TLS files need an mqtts:// url", tls_key);
        return -1;
    }
    if (self->cert_file && !self->key_file) {
        *err = fl_sprintf("mqtt.key_file: needed with cert_file");
        return -1;
    }
    if (self->key_file && !self->cert_file) {
        *err = fl_sprintf("mqtt.cert_file: needed with key_file");
        return -1;
    }
    if (mosquitto_validate_utf8(self->client_id, (int) strlen(self->client_id)) != MOSQ_ERR_SUCCESS
        || strlen(self->client_id) > 65535) {
        *err = fl_sprintf("mqtt.client_id: must be valid UTF-8 of at most 65535 bytes");
        return -1;
    }
    const char *prefix_level = strrchr(self->prefix, '/');
    prefix_level = prefix_level ? prefix_level + 1 : self->prefix;
    self->strip_fleet = strcmp(prefix_level, "fleet") == 0;
    return 0;
}

/*  --------------------------------------------------------------------
    The buffer */

static s_event_t *
s_at(fl_mqtt_t *self, size_t i)
{
    assert(i < self->count);
    return &self->ring[(self->head + i) % self->alloc];
}

static void
s_pop_head(fl_mqtt_t *self)
{
    assert(self->count > 0);
    s_event_t *event = s_at(self, 0);
    if (event->state == S_INFLIGHT) {
        assert(self->inflight > 0);
        self->inflight--;
    }
    free(event->topic);
    free(event->payload);
    memset(event, 0, sizeof *event);
    self->head = (self->head + 1) % self->alloc;
    self->count--;
    if (self->next_send > 0) {
        self->next_send--;
    }
    if (self->overflowing && self->count < self->capacity / 2) {
        self->overflowing = false;
    }
}

static void
s_pop_done(fl_mqtt_t *self)
{
    while (self->count > 0 && s_at(self, 0)->state == S_DONE) {
        s_pop_head(self);
    }
}

/*  Room for one more event: drops the oldest when full, grows the ring
    (doubling, up to the capacity) when it is. */
static void
s_make_room(fl_mqtt_t *self)
{
    if (self->count == self->capacity) {
        if (!self->overflowing) {
            fl_log_warnx("mqtt: buffer full (%zu events): dropping the oldest", self->capacity);
            self->overflowing = true;
        }
        if (s_at(self, 0)->state != S_DONE) {
            self->dropped++;
        }
        s_pop_head(self);
    }
    if (self->count == self->alloc) {
        size_t alloc = self->alloc ? self->alloc * 2 : 64;
        if (alloc > self->capacity) {
            alloc = self->capacity;
        }
        s_event_t *ring = fl_calloc(alloc, sizeof *ring);
        for (size_t i = 0; i < self->count; i++) {
            ring[i] = *s_at(self, i);
        }
        free(self->ring);
        self->ring = ring;
        self->alloc = alloc;
        self->head = 0;
    }
}

/*  After a connection ends: everything unacknowledged is sent again. */
static void
s_rewind(fl_mqtt_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        s_event_t *event = s_at(self, i);
        if (event->state == S_INFLIGHT) {
            event->state = S_QUEUED;
            event->mid = 0;
        }
    }
    self->next_send = 0;
    self->inflight = 0;
}

/*  Topic for TAG (see the header); caller frees.  NULL when the result is
    not a valid MQTT topic name. */
static char *
s_topic(const fl_mqtt_t *self, const char *tag)
{
    if (self->strip_fleet && strncmp(tag, "fleet/", 6) == 0) {
        tag += 6;
    }
    char *topic = *self->prefix ? fl_sprintf("%s/%s", self->prefix, tag) : fl_strdup(tag);
    for (char *p = topic; *p; p++) {
        if (*p == '+' || *p == '#') {
            *p = '_';
        }
    }
    size_t len = strlen(topic);
    if (len == 0 || len > 65535 || mosquitto_validate_utf8(topic, (int) len) != MOSQ_ERR_SUCCESS) {
        free(topic);
        return NULL;
    }
    return topic;
}

/*  --------------------------------------------------------------------
    libmosquitto callbacks: mark, never destroy */

/*  Why: libmosquitto's words for RC (errno's for MOSQ_ERR_ERRNO), without
    the final full stop. */
static void
s_set_why(fl_mqtt_t *self, int rc)
{
    snprintf(self->why, sizeof self->why, "%s",
             rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    size_t len = strlen(self->why);
    if (len > 0 && self->why[len - 1] == '.') {
        self->why[len - 1] = '\0';
    }
}

/*  Marks the connection lost (the first reason wins); s_after drops it. */
static void
s_lost(fl_mqtt_t *self, int rc)
{
    if (!self->lost) {
        self->lost = true;
        s_set_why(self, rc);
    }
}

static void
s_on_connect(struct mosquitto *mosq, void *arg, int rc)
{
    FL_UNUSED(mosq);
    fl_mqtt_t *self = arg;
    if (rc == 0) {
        self->conn = S_UP;
        self->just_up = true;
    } else {
        self->lost = true;
        snprintf(self->why, sizeof self->why, "refused: %s", mosquitto_connack_string(rc));
    }
}

static void
s_on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
    FL_UNUSED(mosq);
    s_lost(arg, rc);
}

static void
s_on_publish(struct mosquitto *mosq, void *arg, int mid)
{
    FL_UNUSED(mosq);
    fl_mqtt_t *self = arg;
    /* PUBACKs come in order, so this is nearly always the head; an event
       dropped while in flight is simply not found. */
    for (size_t i = 0; i < self->next_send; i++) {
        s_event_t *event = s_at(self, i);
        if (event->state == S_INFLIGHT && event->mid == mid) {
            event->state = S_DONE;
            self->inflight--;
            self->published++;
            break;
        }
    }
    s_pop_done(self);
}

static void
s_on_log(struct mosquitto *mosq, void *arg, int level, const char *text)
{
    FL_UNUSED(mosq);
    FL_UNUSED(arg);
    FL_UNUSED(level);
    fl_log_debug("mqtt: %s", text);
}

/*  --------------------------------------------------------------------
    Connection */

/*  A configured client, not connected.  NULL with *ERR set (naming the
    key) when libmosquitto refuses a setting. */
static struct mosquitto *
s_client_new(fl_mqtt_t *self, char **err)
{
    struct mosquitto *mosq = mosquitto_new(self->client_id, true, self);
    if (!mosq) {
        *err = fl_sprintf("mqtt: cannot create a client: %s", strerror(errno));
        return NULL;
    }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(mosq, s_on_connect);
    mosquitto_disconnect_callback_set(mosq, s_on_disconnect);
    mosquitto_publish_callback_set(mosq, s_on_publish);
    mosquitto_log_callback_set(mosq, s_on_log);
    int rc = MOSQ_ERR_SUCCESS;
    const char *key = NULL;
    if (self->username) {
        key = "username";
        rc = mosquitto_username_pw_set(mosq, self->username, self->password);
    }
    if (rc == MOSQ_ERR_SUCCESS && self->tls) {
        if (!self->ca_file) {
            key = "ca_file";
            rc = mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
        }
        if (rc == MOSQ_ERR_SUCCESS && (self->ca_file || self->cert_file)) {
            key = self->ca_file ? "ca_file" : "cert_file";
            rc = mosquitto_tls_set(mosq, self->ca_file, self->ca_file ? NULL : "/etc/ssl/certs",
                                   self->cert_file, self->key_file, NULL);
        }
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        *err = fl_sprintf("mqtt.%s: refused by libmosquitto: %s%s", key, mosquitto_strerror(rc),
                          rc == MOSQ_ERR_INVAL && strcmp(key, "username") != 0
                              ? " (is the file readable?)" : "");
        mosquitto_destroy(mosq);
        return NULL;
    }
    return mosq;
}

static void
s_failure_log(fl_mqtt_t *self, const char *what)
{
    if (!self->failing) {
        fl_log_warnx("mqtt: %s %s:%d: %s (%zu events buffered; retrying)", what, self->host,
                     self->port, self->why, self->count);
        self->failing = true;
    } else {
        fl_log_debug("mqtt: %s %s:%d: %s", what, self->host, self->port, self->why);
    }
}

/*  Ends the current client (outside any callback) and schedules the next
    attempt.  After a working connection the first retry is quick. */
static void
s_drop(fl_mqtt_t *self)
{
    if (!self->why[0]) {
        snprintf(self->why, sizeof self->why, "connection closed");
    }
    if (self->conn == S_UP) {
        s_failure_log(self, "lost connection to");
    } else {
        s_failure_log(self, "cannot connect to");
    }
    if (self->mosq) {
        mosquitto_destroy(self->mosq);
        self->mosq = NULL;
    }
    self->conn = S_DOWN;
    self->just_up = false;
    self->lost = false;
    self->why[0] = '\0';
    self->retry_at_ms = -1;
    s_rewind(self);
}

static void
s_connect(fl_mqtt_t *self)
{
    assert(!self->mosq);
    char *err = NULL;
    self->mosq = s_client_new(self, &err);
    if (!self->mosq) {
        snprintf(self->why, sizeof self->why, "%s", err);
        free(err);
        s_drop(self);
        return;
    }
    self->conn = S_CONNECTING;
    self->started_ms = self->now_ms;
    fl_log_debug("mqtt: connecting to %s:%d", self->host, self->port);
    int rc = mosquitto_connect_async(self->mosq, self->host, self->port, self->keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
        s_set_why(self, rc);
        s_drop(self);
        return;
    }
    s_after(self);
}

static bool
s_permanent_error(int rc)
{
    return rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_MALFORMED_UTF8
        || rc == MOSQ_ERR_OVERSIZE_PACKET || rc == MOSQ_ERR_QOS_NOT_SUPPORTED;
}

/*  Sends queued events, oldest first, while the window has room. */
static void
s_flush(fl_mqtt_t *self)
{
    while (self->conn == S_UP && !self->lost && self->inflight < FL_MQTT_WINDOW
           && self->next_send < self->count) {
        s_event_t *event = s_at(self, self->next_send);
        if (event->state != S_QUEUED) {
            self->next_send++;
            continue;
        }
        int mid = 0;
        int rc = mosquitto_publish(self->mosq, &mid, event->topic, (int) event->len,
                                   event->payload, 1, false);
        if (rc == MOSQ_ERR_SUCCESS) {
            event->state = S_INFLIGHT;
            event->mid = mid;
            self->inflight++;
            self->next_send++;
        } else if (s_permanent_error(rc)) {
            fl_log_warnx("mqtt: dropping an event for %s: %s", event->topic,
                         mosquitto_strerror(rc));
            event->state = S_DONE;
            self->dropped++;
            self->next_send++;
        } else {
            s_lost(self, rc);
        }
    }
    s_pop_done(self);
}

/*  After every library call: notice a connection just made, send what
    the window allows, and drop a connection that was lost. */
static void
s_after(fl_mqtt_t *self)
{
    if (!self->mosq) {
        return;
    }
    if (self->just_up && !self->lost) {
        self->just_up = false;
        self->backoff_ms = FL_MQTT_BACKOFF_MIN_MS;
        if (self->ever_connected) {
            self->reconnects++;
        }
        self->ever_connected = true;
        if (self->failing) {
            fl_log_notice("mqtt: connected to %s:%d (%zu events buffered)", self->host,
                          self->port, self->count);
            self->failing = false;
        } else {
            fl_log_info("mqtt: connected to %s:%d", self->host, self->port);
        }
    }
    if (self->conn == S_UP && !self->lost) {
        s_flush(self);
    }
    if (self->lost || mosquitto_socket(self->mosq) < 0) {
        s_drop(self);
    }
}

/*  --------------------------------------------------------------------
    Public API */

fl_mqtt_t *
fl_mqtt_new(const json_t *config, char **err)
{
    assert(err);
    *err = NULL;
    if (!json_is_object(config)) {
        *err = fl_sprintf("mqtt: must be a map with at least url");
        return NULL;
    }
    fl_mqtt_t *self = fl_calloc(1, sizeof *self);
    self->prefix = fl_strdup(S_DEFAULT_PREFIX);
    self->client_id = fl_strdup(S_DEFAULT_CLIENT_ID);
    self->keepalive_s = S_DEFAULT_KEEPALIVE_S;
    self->capacity = S_DEFAULT_BUFFER;
    self->backoff_ms = FL_MQTT_BACKOFF_MIN_MS;
    self->retry_at_ms = 0;
    if (s_lib_users++ == 0) {
        mosquitto_lib_init();
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *) config, key, value) {
        if (s_apply_key(self, key, value, err) != 0) {
            fl_mqtt_destroy(&self);
            return NULL;
        }
    }
    if (s_check_combination(self, err) != 0) {
        fl_mqtt_destroy(&self);
        return NULL;
    }
    /* A client made now checks what libmosquitto checks (TLS files). */
    struct mosquitto *probe = s_client_new(self, err);
    if (!probe) {
        fl_mqtt_destroy(&self);
        return NULL;
    }
    mosquitto_destroy(probe);

    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL) {
        struct sigaction ign = { .sa_handler = SIG_IGN };
        sigemptyset(&ign.sa_mask);
        sigaction(SIGPIPE, &ign, NULL);
    }
    return self;
}

void
fl_mqtt_destroy(fl_mqtt_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_mqtt_t *self = *self_p;
    if (self->mosq) {
        if (self->conn == S_UP) {
            mosquitto_disconnect(self->mosq);
        }
        mosquitto_destroy(self->mosq);
    }
    while (self->count > 0) {
        s_pop_head(self);
    }
    free(self->ring);
    free(self->host);
    free(self->prefix);
    free(self->client_id);
    free(self->username);
    free(self->password);
    free(self->ca_file);
    free(self->cert_file);
    free(self->key_file);
    free(self);
    if (--s_lib_users == 0) {
        mosquitto_lib_cleanup();
    }
    *self_p = NULL;
}

void
fl_mqtt_publish(fl_mqtt_t *self, const char *tag, const char *json_payload)
{
    assert(self);
    assert(tag);
    const char *payload = json_payload ? json_payload : "";
    size_t len = strlen(payload);
    char *topic = s_topic(self, tag);
    if (!topic || len > (size_t) S_MAX_PAYLOAD) {
        fl_log_warnx("mqtt: dropping an event for tag '%s': %s", tag,
                     topic ? "payload too large" : "not a valid topic");
        free(topic);
        self->dropped++;
        return;
    }
    s_make_room(self);
    s_event_t *event = &self->ring[(self->head + self->count) % self->alloc];
    event->topic = topic;
    event->payload = fl_strndup(payload, len);
    event->len = len;
    event->mid = 0;
    event->state = S_QUEUED;
    self->count++;
    if (self->mosq && self->conn == S_UP) {
        s_after(self);
    }
}

int
fl_mqtt_fd(fl_mqtt_t *self)
{
    assert(self);
    return self->mosq ? mosquitto_socket(self->mosq) : -1;
}

bool
fl_mqtt_want_write(fl_mqtt_t *self)
{
    assert(self);
    return self->mosq && mosquitto_want_write(self->mosq);
}

void
fl_mqtt_on_io(fl_mqtt_t *self, bool readable, bool writable)
{
    assert(self);
    if (self->mosq && readable) {
        int rc = mosquitto_loop_read(self->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            s_lost(self, rc);
        }
        s_after(self);
    }
    if (self->mosq && writable) {
        int rc = mosquitto_loop_write(self->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            s_lost(self, rc);
        }
        s_after(self);
    }
}

void
fl_mqtt_on_tick(fl_mqtt_t *self, int64_t now_ms)
{
    assert(self);
    self->now_ms = now_ms;
    switch (self->conn) {
    case S_DOWN:
        if (self->retry_at_ms < 0) {
            self->retry_at_ms = now_ms + self->backoff_ms;
            self->backoff_ms *= 2;
            if (self->backoff_ms > FL_MQTT_BACKOFF_MAX_MS) {
                self->backoff_ms = FL_MQTT_BACKOFF_MAX_MS;
            }
        }
        if (now_ms >= self->retry_at_ms) {
            s_connect(self);
        }
        break;
    case S_CONNECTING:
        if (now_ms - self->started_ms > FL_MQTT_CONNECT_TIMEOUT_MS) {
            snprintf(self->why, sizeof self->why, "no answer within %d ms",
                     FL_MQTT_CONNECT_TIMEOUT_MS);
            s_drop(self);
        }
        break;
    case S_UP: {
        /* Reading here too picks up anything TLS buffered that poll()
           cannot see; on a plain socket it costs one EAGAIN. */
        int rc = mosquitto_loop_read(self->mosq, 1);
        if (rc == MOSQ_ERR_SUCCESS && self->mosq) {
            rc = mosquitto_loop_misc(self->mosq);
        }
        if (rc != MOSQ_ERR_SUCCESS) {
            s_lost(self, rc);
        }
        s_after(self);
        break;
    }
    }
}

json_t *
fl_mqtt_stats(const fl_mqtt_t *self)
{
    assert(self);
    return json_pack("{s:I, s:I, s:I, s:I, s:b}", "published", (json_int_t) self->published,
                     "queued", (json_int_t) self->count, "dropped", (json_int_t) self->dropped,
                     "reconnects", (json_int_t) self->reconnects, "connected",
                     self->conn == S_UP);
}

bool
fl_mqtt_connected(const fl_mqtt_t *self)
{
    assert(self);
    return self->conn == S_UP;
}
