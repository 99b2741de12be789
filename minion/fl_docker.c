/*  fl_docker.c: the Docker Engine API backend of the container driver
    (fl_container.h), spoken over the engine's unix socket with libcurl.
    dockerd and podman's compatible service (`podman system service`) both
    answer it under the /v1.41 prefix.

    Why it is written this way:
    - libcurl does all the HTTP (CURLOPT_UNIX_SOCKET_PATH); we only build
      paths and queries, and every value placed in one goes through
      curl_easy_escape, so a name cannot add a query parameter or climb to
      another endpoint ("." and ".." are refused: curl would fold them).
    - One easy handle per driver, reset before each call, so that calls in a
      row reuse the connection.  The handle is not for several threads.
    - Every call has a time limit (a pull a long one) and a cap on what it
      reads, so a stuck or babbling engine cannot hold a job worker forever
      or exhaust its memory.
    - The engine's own words reach the operator: an HTTP error becomes
      "engine: " + the {"message": ...} of its body.  A pull answers 200 and
      then streams progress objects; a failure may arrive inside that stream
      as {"error": ..., "errorDetail": {...}} (podman does this), so the whole
      stream is read, line by line, keeping only the first error.
    - 404 means "no such object" (return 1, *ERR untouched) only for calls
      that name an existing object; a 404 from create (no such image) or a
      pull is a failure like any other.
    - libcurl is loaded by the first open, in the job worker (fl_curl.h);
      when it cannot be, open still succeeds and every call fails with the
      reason, as an unreachable engine does, so that the function or state
      says why in its comment. */
#include "fl_container.h"
#include "fl_curl.h"
#include "fl_log.h"

#include <assert.h>
#include <sys/un.h>

#define S_API "http://localhost/v1.41"
#define S_TIMEOUT_MS 30000L
#define S_PULL_TIMEOUT_MS 600000L
#define S_CONNECT_TIMEOUT_MS 10000L
#define S_MAX_BODY (16 * 1024 * 1024)
/*  How much of an engine's non-JSON error body reaches a message. */
#define S_MAX_MESSAGE 512

typedef struct {
    const fl_curl_t *api;   /* NULL when libcurl could not be loaded */
    CURL *curl;             /* NULL exactly when api is */
    char *load_error;       /* why api is NULL */
    char *socket_path;
    char errbuf[CURL_ERROR_SIZE];
} s_docker_t;

/*  What one call reads.  A pull's body is a stream: its complete lines are
    scanned as they come and dropped, so only a partial line is held. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool too_big;
    bool stream;
    char *stream_error;     /* the first {"error"} / {"errorDetail"} in the stream */
    char *stream_message;   /* the first {"message"} (an HTTP error's body) */
} s_body_t;

static void
s_body_free(s_body_t *body)
{
    free(body->data);
    free(body->stream_error);
    free(body->stream_message);
    memset(body, 0, sizeof *body);
}

/*  One line of a pull's stream: remembers the first error it reports. */
static void
s_scan_line(s_body_t *body, const char *line, size_t len)
{
    while (len > 0 && strchr(" \t\r\n", line[len - 1])) {
        len--;
    }
    if (len == 0) {
        return;
    }
    json_t *obj = json_loadb(line, len, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return;
    }
    const char *error = json_string_value(json_object_get(obj, "error"));
    const json_t *detail = json_object_get(obj, "errorDetail");
    const char *detail_msg = json_string_value(json_object_get(detail, "message"));
    const char *message = json_string_value(json_object_get(obj, "message"));
    if (!body->stream_error && (detail_msg || error || detail)) {
        body->stream_error = fl_strdup(detail_msg && *detail_msg ? detail_msg
                                       : error && *error         ? error
                                                                 : "the pull failed");
    }
    if (!body->stream_message && message && *message) {
        body->stream_message = fl_strdup(message);
    }
    json_decref(obj);
}

static void
s_scan_lines(s_body_t *body)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(body->data + start, '\n', body->len - start);
        if (!nl) {
            break;
        }
        size_t end = (size_t) (nl - body->data);
        s_scan_line(body, body->data + start, end - start);
        start = end + 1;
    }
    if (start > 0) {
        memmove(body->data, body->data + start, body->len - start);
        body->len -= start;
    }
}

static size_t
s_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_body_t *body = userdata;
    size_t n = size * nmemb;
    if (n > S_MAX_BODY - body->len) {
        body->too_big = true;
        return 0;   /* not n: curl stops with CURLE_WRITE_ERROR */
    }
    if (body->len + n + 1 > body->cap) {
        size_t cap = body->cap ? body->cap : 4096;
        while (cap < body->len + n + 1) {
            cap *= 2;
        }
        body->data = fl_realloc(body->data, cap);
        body->cap = cap;
    }
    memcpy(body->data + body->len, ptr, n);
    body->len += n;
    body->data[body->len] = '\0';
    if (body->stream) {
        s_scan_lines(body);
    }
    return n;
}

/*  0, or -1 and *ERR when libcurl is not there to make any call. */
static int
s_loaded(const s_docker_t *d, char **err)
{
    if (!d->api) {
        *err = fl_strdup(d->load_error);
        return -1;
    }
    return 0;
}

/*  VALUE escaped for a path segment or a query value; caller frees. */
static char *
s_escape(s_docker_t *d, const char *value)
{
    assert(d->api);
    char *esc = d->api->easy_escape(d->curl, value, 0);
    if (!esc) {
        fl_fatal("curl_easy_escape: out of memory");
    }
    char *copy = fl_strdup(esc);
    d->api->free(esc);
    return copy;
}

/*  NAME (a container or image) escaped for a path; NULL and *ERR when it
    cannot name anything. */
static char *
s_path_name(s_docker_t *d, const char *what, const char *name, char **err)
{
    bool ok = name && *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0
              && strlen(name) <= 1024;
    for (const char *p = name; ok && *p; p++) {
        ok = (unsigned char) *p >= 0x20 && *p != 0x7f;
    }
    if (!ok) {
        *err = fl_sprintf("invalid %s name '%s'", what, name ? name : "");
        return NULL;
    }
    if (s_loaded(d, err) != 0) {
        return NULL;
    }
    return s_escape(d, name);
}

/*  Sends one request.  0 with *STATUS and BODY filled, or -1 and *ERR when
    no HTTP answer came (unreachable, timed out, too big). */
static int
s_request(s_docker_t *d, const char *method, const char *path, const json_t *payload,
          long timeout_ms, s_body_t *body, long *status, char **err)
{
    if (s_loaded(d, err) != 0) {
        return -1;
    }
    if (strlen(d->socket_path) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
        *err = fl_sprintf("cannot reach the container engine at %s: socket path too long",
                          d->socket_path);
        return -1;
    }
    char *text = NULL;
    if (payload) {
        text = json_dumps(payload, JSON_COMPACT);
        if (!text) {
            *err = fl_sprintf("cannot encode the request to %s %s", method, path);
            return -1;
        }
    }
    const fl_curl_t *api = d->api;
    CURL *c = d->curl;
    api->easy_reset(c);
    char *url = fl_sprintf("%s%s", S_API, path);
    struct curl_slist *headers = NULL;
    d->errbuf[0] = '\0';
    api->easy_setopt(c, CURLOPT_URL, url);
    api->easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
    api->easy_setopt(c, CURLOPT_PROXY, "");    /* never an http_proxy from the environment */
    api->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, S_CONNECT_TIMEOUT_MS);
    api->easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    api->easy_setopt(c, CURLOPT_ERRORBUFFER, d->errbuf);
    api->easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    api->easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (strcmp(method, "POST") == 0) {
        api->easy_setopt(c, CURLOPT_POST, 1L);
        api->easy_setopt(c, CURLOPT_POSTFIELDS, text ? text : "");
        api->easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (text ? strlen(text) : 0));
        if (text) {
            headers = api->slist_append(headers, "Content-Type: application/json");
        }
        headers = api->slist_append(headers, "Expect:");
        api->easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    } else if (strcmp(method, "GET") != 0) {
        api->easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }

    CURLcode rc = api->easy_perform(c);
    long os_errno = 0;
    api->easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    api->easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    fl_log_debug("docker: %s %s -> %d %ld", method, path, (int) rc, *status);
    int ret = 0;
    if (rc == CURLE_WRITE_ERROR && body->too_big) {
        *err = fl_sprintf("the container engine's answer to %s %s is larger than %d MiB", method,
                          path, S_MAX_BODY / (1024 * 1024));
        ret = -1;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        *err = fl_sprintf("the container engine at %s did not answer %s %s within %ld s",
                          d->socket_path, method, path, timeout_ms / 1000);
        ret = -1;
    } else if (rc != CURLE_OK) {
        const char *why = d->errbuf[0] ? d->errbuf : api->easy_strerror(rc);
        if (rc == CURLE_COULDNT_CONNECT && os_errno != 0) {
            why = strerror((int) os_errno);
        }
        *err = fl_sprintf("cannot reach the container engine at %s: %s", d->socket_path, why);
        ret = -1;
    }
    api->slist_free_all(headers);
    free(url);
    free(text);
    return ret;
}

/*  The operator's words for a failed call: the engine's message. */
static char *
s_engine_error(const char *method, const char *path, long status, const s_body_t *body)
{
    if (body->stream_error) {
        return fl_sprintf("engine: %s", body->stream_error);
    }
    if (body->stream_message) {
        return fl_sprintf("engine: %s", body->stream_message);
    }
    json_t *obj = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *message = json_string_value(json_object_get(obj, "message"));
    char *err = NULL;
    if (message && *message) {
        err = fl_sprintf("engine: %s", message);
    } else if (body->len > 0 && !obj) {
        /* not JSON: a proxy's page or plain text; show its start, printable */
        size_t n = body->len < S_MAX_MESSAGE ? body->len : S_MAX_MESSAGE;
        char *text = fl_strndup(body->data, n);
        for (char *p = text; *p; p++) {
            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                *p = ' ';
            }
        }
        err = fl_sprintf("engine: HTTP %ld for %s %s: %s", status, method, path, text);
        free(text);
    } else {
        err = fl_sprintf("engine: HTTP %ld for %s %s", status, method, path);
    }
    json_decref(obj);
    return err;
}

/*  2xx (and 304 "already so") is success; 404 is "absent" when ABSENT_OK;
    everything else is the engine's error. */
static int
s_status(const char *method, const char *path, long status, const s_body_t *body,
         bool absent_ok, char **err)
{
    if ((status >= 200 && status < 300) || status == 304) {
        return 0;
    }
    if (status == 404 && absent_ok) {
        return 1;
    }
    *err = s_engine_error(method, path, status, body);
    return -1;
}

/*  One call whose answer (when OUT is given) is JSON. */
static int
s_call(s_docker_t *d, const char *method, const char *path, const json_t *payload,
       bool absent_ok, json_t **out, char **err)
{
    s_body_t body = { 0 };
    long status = 0;
    if (s_request(d, method, path, payload, S_TIMEOUT_MS, &body, &status, err) != 0) {
        s_body_free(&body);
        return -1;
    }
    int rc = s_status(method, path, status, &body, absent_ok, err);
    if (rc == 0 && out) {
        json_error_t jerr;
        *out = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
        if (!*out) {
            *err = fl_sprintf("the container engine's answer to %s %s is not JSON: %s", method,
                              path, jerr.text);
            rc = -1;
        }
    }
    s_body_free(&body);
    return rc;
}

/*  The ops. */

static void *
s_open(const char *socket_path)
{
    if (!socket_path) {
        return NULL;
    }
    const fl_curl_t *api = NULL;
    char *load_error = NULL;
    CURL *curl = NULL;
    if (fl_curl_load(&api, &load_error) == 0) {
        curl = api->easy_init();
        if (!curl) {
            return NULL;
        }
    }
    s_docker_t *d = fl_calloc(1, sizeof *d);
    d->api = api;
    d->curl = curl;
    d->load_error = load_error;
    d->socket_path = fl_strdup(socket_path);
    return d;
}

static void
s_close(void *impl)
{
    s_docker_t *d = impl;
    if (d) {
        if (d->api) {
            d->api->easy_cleanup(d->curl);
        }
        free(d->load_error);
        free(d->socket_path);
        free(d);
    }
}

static int
s_version(void *impl, json_t **out, char **err)
{
    return s_call(impl, "GET", "/version", NULL, false, out, err);
}

static int
s_images(void *impl, json_t **out, char **err)
{
    return s_call(impl, "GET", "/images/json", NULL, false, out, err);
}

static int
s_image_inspect(void *impl, const char *name, json_t **out, char **err)
{
    char *esc = s_path_name(impl, "image", name, err);
    if (!esc) {
        return -1;
    }
    char *path = fl_sprintf("/images/%s/json", esc);
    int rc = s_call(impl, "GET", path, NULL, true, out, err);
    free(path);
    free(esc);
    return rc;
}

/*  REF split into the repository and the tag: the tag is what follows the
    last ':' after the last '/' ("127.0.0.1:5000/app:staging" -> repository
    "127.0.0.1:5000/app", tag "staging"; no tag -> "latest").  A digest
    reference (repo@sha256:...) goes whole as the repository, without tag. */
static void
s_split_ref(const char *ref, char **repo, char **tag)
{
    if (strchr(ref, '@')) {
        *repo = fl_strdup(ref);
        *tag = NULL;
        return;
    }
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(slash ? slash : ref, ':');
    if (colon && colon[1]) {
        *repo = fl_strndup(ref, (size_t) (colon - ref));
        *tag = fl_strdup(colon + 1);
    } else {
        *repo = colon ? fl_strndup(ref, (size_t) (colon - ref)) : fl_strdup(ref);
        *tag = fl_strdup("latest");
    }
}

static int
s_pull(void *impl, const char *ref, char **err)
{
    s_docker_t *d = impl;
    if (!ref || !*ref || strchr(ref, ' ')) {
        *err = fl_sprintf("invalid image reference '%s'", ref ? ref : "");
        return -1;
    }
    if (s_loaded(d, err) != 0) {
        return -1;
    }
    char *repo, *tag;
    s_split_ref(ref, &repo, &tag);
    char *repo_esc = s_escape(d, repo);
    char *tag_esc = tag ? s_escape(d, tag) : NULL;
    char *path = tag_esc ? fl_sprintf("/images/create?fromImage=%s&tag=%s", repo_esc, tag_esc)
                         : fl_sprintf("/images/create?fromImage=%s", repo_esc);
    s_body_t body = { .stream = true };
    long status = 0;
    int rc = s_request(d, "POST", path, NULL, S_PULL_TIMEOUT_MS, &body, &status, err);
    if (rc == 0) {
        s_scan_line(&body, body.data ? body.data : "", body.len);   /* a last line without \n */
        if (status < 200 || status >= 300 || body.stream_error) {
            *err = s_engine_error("POST", path, status, &body);
            rc = -1;
        }
    }
    s_body_free(&body);
    free(path);
    free(repo_esc);
    free(tag_esc);
    free(repo);
    free(tag);
    return rc;
}

static int
s_image_remove(void *impl, const char *name, bool force, char **err)
{
    char *esc = s_path_name(impl, "image", name, err);
    if (!esc) {
        return -1;
    }
    char *path = fl_sprintf("/images/%s?force=%s", esc, force ? "true" : "false");
    int rc = s_call(impl, "DELETE", path, NULL, true, NULL, err);
    free(path);
    free(esc);
    return rc;
}

static int
s_list(void *impl, bool all, json_t **out, char **err)
{
    return s_call(impl, "GET", all ? "/containers/json?all=true" : "/containers/json?all=false",
                  NULL, false, out, err);
}

static int
s_inspect(void *impl, const char *name, json_t **out, char **err)
{
    char *esc = s_path_name(impl, "container", name, err);
    if (!esc) {
        return -1;
    }
    char *path = fl_sprintf("/containers/%s/json", esc);
    int rc = s_call(impl, "GET", path, NULL, true, out, err);
    free(path);
    free(esc);
    return rc;
}

static int
s_create(void *impl, const char *name, const json_t *config, char **id, char **err)
{
    if (!json_is_object(config)) {
        *err = fl_sprintf("create: the configuration must be an object");
        return -1;
    }
    char *path;
    if (name && *name) {
        char *esc = s_path_name(impl, "container", name, err);
        if (!esc) {
            return -1;
        }
        path = fl_sprintf("/containers/create?name=%s", esc);
        free(esc);
    } else {
        path = fl_strdup("/containers/create");
    }
    json_t *out = NULL;
    int rc = s_call(impl, "POST", path, config, false, &out, err);
    if (rc == 0) {
        const char *cid = json_string_value(json_object_get(out, "Id"));
        if (cid && *cid) {
            if (id) {
                *id = fl_strdup(cid);
            }
        } else {
            *err = fl_sprintf("the container engine's answer to POST %s has no Id", path);
            rc = -1;
        }
    }
    json_decref(out);
    free(path);
    return rc;
}

/*  POST /containers/NAME/VERB[QUERY] with TIMEOUT_MS. */
static int
s_container_post(s_docker_t *d, const char *name, const char *verb, const char *query,
                 long timeout_ms, char **err)
{
    char *esc = s_path_name(d, "container", name, err);
    if (!esc) {
        return -1;
    }
    char *path = fl_sprintf("/containers/%s/%s%s", esc, verb, query ? query : "");
    s_body_t body = { 0 };
    long status = 0;
    int rc = s_request(d, "POST", path, NULL, timeout_ms, &body, &status, err);
    if (rc == 0) {
        rc = s_status("POST", path, status, &body, true, err);
    }
    s_body_free(&body);
    free(path);
    free(esc);
    return rc;
}

static int
s_start(void *impl, const char *name, char **err)
{
    return s_container_post(impl, name, "start", NULL, S_TIMEOUT_MS, err);
}

/*  The engine waits up to TIMEOUT_S for the container to stop before it
    kills it: our own limit is that plus the usual one.  A negative timeout
    leaves the engine's default (10 s). */
static int
s_stop(void *impl, const char *name, int timeout_s, char **err)
{
    char query[32] = "";
    long limit_ms = S_TIMEOUT_MS + 10000L;
    if (timeout_s >= 0) {
        snprintf(query, sizeof query, "?t=%d", timeout_s);
        limit_ms = S_TIMEOUT_MS + (long) timeout_s * 1000L;
    }
    return s_container_post(impl, name, "stop", query, limit_ms, err);
}

static int
s_remove(void *impl, const char *name, bool force, char **err)
{
    char *esc = s_path_name(impl, "container", name, err);
    if (!esc) {
        return -1;
    }
    char *path = fl_sprintf("/containers/%s?force=%s", esc, force ? "true" : "false");
    int rc = s_call(impl, "DELETE", path, NULL, true, NULL, err);
    free(path);
    free(esc);
    return rc;
}

/*  The logs of a container without a TTY come multiplexed: frames of an
    8-byte header (stream 0/1/2, three zero bytes, big-endian length) and the
    payload.  stdout and stderr are kept in the order they came.  Anything
    that does not look like a frame is taken as it is. */
static char *
s_demux(const char *data, size_t len, bool tty)
{
    char *out = fl_malloc(len + 1);
    size_t o = 0;
    size_t i = 0;
    if (!tty) {
        while (len - i >= 8) {
            const unsigned char *h = (const unsigned char *) data + i;
            if (h[0] > 2 || h[1] || h[2] || h[3]) {
                break;
            }
            size_t n = (size_t) h[4] << 24 | (size_t) h[5] << 16 | (size_t) h[6] << 8 | h[7];
            i += 8;
            if (n > len - i) {
                n = len - i;    /* cut short by the engine: keep what came */
            }
            memcpy(out + o, data + i, n);
            o += n;
            i += n;
        }
    }
    if (i < len) {
        memcpy(out + o, data + i, len - i);
        o += len - i;
    }
    out[o] = '\0';
    return out;
}

static int
s_logs(void *impl, const char *name, int tail, char **text, char **err)
{
    s_docker_t *d = impl;
    json_t *info = NULL;
    int rc = s_inspect(d, name, &info, err);
    if (rc != 0) {
        return rc;
    }
    bool tty = json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"));
    json_decref(info);

    char *esc = s_path_name(d, "container", name, err);
    assert(esc);    /* s_inspect took the same name */
    char tail_text[32] = "all";
    if (tail >= 0) {
        snprintf(tail_text, sizeof tail_text, "%d", tail);
    }
    char *path = fl_sprintf("/containers/%s/logs?stdout=1&stderr=1&tail=%s", esc, tail_text);
    s_body_t body = { 0 };
    long status = 0;
    rc = s_request(d, "GET", path, NULL, S_TIMEOUT_MS, &body, &status, err);
    if (rc == 0) {
        rc = s_status("GET", path, status, &body, true, err);
    }
    if (rc == 0) {
        *text = s_demux(body.data ? body.data : "", body.len, tty);
    }
    s_body_free(&body);
    free(path);
    free(esc);
    return rc;
}

static const fl_container_ops_t s_docker_ops = {
    .name = "docker",
    .open = s_open,
    .close = s_close,
    .version = s_version,
    .images = s_images,
    .image_inspect = s_image_inspect,
    .pull = s_pull,
    .image_remove = s_image_remove,
    .list = s_list,
    .inspect = s_inspect,
    .create = s_create,
    .start = s_start,
    .stop = s_stop,
    .remove = s_remove,
    .logs = s_logs,
};

const fl_container_ops_t *
fl_container_docker_ops(void)
{
    return &s_docker_ops;
}
