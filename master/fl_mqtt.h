/*  fl_mqtt.h: the master's MQTT bridge to the data lake.  Every event the
    master produces is published to a broker with QoS 1.

    Why it looks like this: the master has one thread and one loop, so the
    bridge never blocks and never starts a thread.  It uses libmosquitto's
    non-threaded API; the loop polls fl_mqtt_fd() (for POLLOUT too when
    fl_mqtt_want_write() says so), calls fl_mqtt_on_io() when the socket is
    ready and fl_mqtt_on_tick() every ~250 ms.

    Delivery: events wait in a bounded FIFO buffer owned by the bridge (not
    by libmosquitto).  An event leaves the buffer only when the broker has
    acknowledged it (PUBACK); at most FL_MQTT_WINDOW events are in flight at
    once.  When the connection drops, every unacknowledged event goes back
    to "not sent" and the next connection sends them again from the oldest,
    so nothing buffered is lost across a broker restart, events arrive in
    order of first delivery, and duplicates are possible (QoS 1).  Each
    connection uses a fresh libmosquitto client with a clean session, so the
    library never re-sends anything on its own.  When the buffer is full
    the oldest event is dropped (even one in flight) and counted.

    Reconnect: 1 s after a drop, then doubling up to 30 s while attempts
    fail; an attempt with no CONNACK within FL_MQTT_CONNECT_TIMEOUT_MS is
    abandoned.  The first failure in a row is logged as a warning, the rest
    at debug level until a connection succeeds.

    Topics: TOPIC_PREFIX + "/" + TAG.  Fleet tags already start with
    "fleet/" ("fleet/minion/pi-7/lost"); when the prefix's last level is
    "fleet" too ("fleet", "lake/fleet") that first level of the tag is
    dropped, so the default prefix gives "fleet/minion/pi-7/lost" (not
    "fleet/fleet/...") and "lake/fleet" gives "lake/fleet/minion/pi-7/lost";
    any other prefix keeps the whole tag ("site1/fleet/minion/pi-7/lost").
    An empty prefix publishes to TAG itself.  '+' and '#' in a tag (not
    allowed in MQTT topic names) become '_'.

    Not persistent: the buffer lives in memory and is gone when the master
    stops.  Host names are resolved with getaddrinfo() at each connection
    attempt, which can block briefly; use an address where that matters.
    Writing to a socket the broker closed raises SIGPIPE: fl_mqtt_new sets
    SIGPIPE to SIG_IGN when it is still SIG_DFL. */
#ifndef FL_MQTT_H
#define FL_MQTT_H

#include "fl_prelude.h"

#include <jansson.h>

/*  Events sent and not yet acknowledged, at most. */
#define FL_MQTT_WINDOW 20
#define FL_MQTT_CONNECT_TIMEOUT_MS 10000
#define FL_MQTT_BACKOFF_MIN_MS 1000
#define FL_MQTT_BACKOFF_MAX_MS 30000

typedef struct fl_mqtt fl_mqtt_t;

/*  CONFIG is the `mqtt:` map of master.yaml as JSON (borrowed):
      url           "mqtt://HOST[:PORT]" (1883) or "mqtts://HOST[:PORT]"
                    (8883); an IPv6 HOST goes in brackets.  Required.
      topic_prefix  default "fleet" (a trailing '/' is ignored; no '+'/'#')
      client_id     default "fleet-master"
      username, password   password needs username
      ca_file, cert_file, key_file   TLS, mqtts:// only; cert_file and
                    key_file go together; without ca_file the system's CA
                    certificates are trusted.  Paths are used as given.
      keepalive     seconds, 5..65535, default 30
      buffer        events kept while the broker is away or slow,
                    1..1000000, default 10000
    Nothing connects yet: the first fl_mqtt_on_tick() does.  Returns NULL
    with *ERR (caller frees) naming the bad key ("mqtt.url: ...") on a bad
    config, an unknown key or a TLS file libmosquitto refuses. */
fl_mqtt_t *fl_mqtt_new(const json_t *config, char **err);
/*  Disconnects politely when connected; events still buffered are lost. */
void fl_mqtt_destroy(fl_mqtt_t **self_p);

/*  Queues one event (TAG and JSON_PAYLOAD are copied) for topic
    prefix/TAG (see above), QoS 1, not retained; sends it at once when
    connected and the window has room.  Never blocks.  When the buffer is
    full the oldest event is dropped and counted; an event whose topic is
    not valid UTF-8 is dropped and counted too. */
void fl_mqtt_publish(fl_mqtt_t *self, const char *tag, const char *json_payload);

/*  The socket to poll, or -1 while there is none (between attempts). */
int fl_mqtt_fd(fl_mqtt_t *self);
/*  True when the socket should be polled for POLLOUT as well as POLLIN. */
bool fl_mqtt_want_write(fl_mqtt_t *self);
/*  After poll: READABLE for POLLIN, POLLERR or POLLHUP, WRITABLE for
    POLLOUT.  Reads acknowledgements, writes what is pending, and on a
    lost connection schedules the next attempt. */
void fl_mqtt_on_io(fl_mqtt_t *self, bool readable, bool writable);
/*  Call every ~250 ms with a monotonic clock (fl_clock_ms()): keepalive
    pings, connect timeout, reconnect when due.  fd and want_write may
    change after any of these calls: poll them again each round. */
void fl_mqtt_on_tick(fl_mqtt_t *self, int64_t now_ms);

/*  Counters for `fleetctl stats` (caller owns): {"published": acked events,
    "queued": events in the buffer (in flight included), "dropped",
    "reconnects": connections made after the first one, "connected": bool}. */
json_t *fl_mqtt_stats(const fl_mqtt_t *self);
/*  True when connected to the broker (CONNACK received). */
bool fl_mqtt_connected(const fl_mqtt_t *self);

#endif
