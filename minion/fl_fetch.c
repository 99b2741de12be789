/*  fl_fetch.c: files for a state job, fetched before its worker starts. */
#include "fl_fetch.h"
#include "fl_json.h"
#include "fl_log.h"
#include "fl_util.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define FL_FETCH_MAX (256 * 1024 * 1024)

struct fl_fetch {
    char *jid;
    char *dir;
    json_t *urls;       /* array of strings */
    size_t index;       /* URL being fetched */
    int64_t offset;     /* bytes of it received */
    int fd;             /* its local file, or -1 */
    json_t *files;      /* url -> path */
    json_t *errors;     /* url -> reason */
    int64_t started_ms;
};

static bool
s_is_fleet_url(const char *s)
{
    return s && (strncmp(s, "fleet://", 8) == 0 || strncmp(s, "salt://", 7) == 0);
}

static void
s_add_url(json_t *urls, const char *url)
{
    if (!s_is_fleet_url(url)) {
        return;
    }
    size_t i;
    json_t *u;
    json_array_foreach(urls, i, u) {
        if (strcmp(json_string_value(u), url) == 0) {
            return;
        }
    }
    json_array_append_new(urls, json_string(url));
}

/*  A value that names sources: a string, a list of strings, or a list of
    one-key maps (pkg.installed sources: [{name: url}]). */
static void
s_collect(json_t *urls, const json_t *v)
{
    if (json_is_string(v)) {
        s_add_url(urls, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            s_collect(urls, item);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *item;
        json_object_foreach((json_t *) v, k, item) {
            s_collect(urls, item);
        }
    }
}

json_t *
fl_fetch_urls(const json_t *chunks)
{
    json_t *urls = json_array();
    size_t i;
    json_t *chunk;
    json_array_foreach(chunks, i, chunk) {
        json_t *args = json_object_get(chunk, "args");
        s_collect(urls, json_object_get(args, "source"));
        s_collect(urls, json_object_get(args, "sources"));
    }
    return urls;
}

fl_fetch_t *
fl_fetch_new(const char *jid, const json_t *urls, const char *dir)
{
    fl_fetch_t *self = fl_calloc(1, sizeof *self);
    self->jid = fl_strdup(jid);
    self->dir = fl_strdup(dir);
    self->urls = json_deep_copy(urls);
    self->files = json_object();
    self->errors = json_object();
    self->fd = -1;
    self->started_ms = fl_clock_ms();
    if (json_array_size(self->urls) > 0 && fl_mkdir_p(dir, 0700) != 0) {
        fl_fetch_abandon(self, "cannot create the minion's file cache");
    }
    return self;
}

void
fl_fetch_destroy(fl_fetch_t **self_p)
{
    if (self_p && *self_p) {
        fl_fetch_t *self = *self_p;
        if (self->fd >= 0) {
            close(self->fd);
        }
        free(self->jid);
        free(self->dir);
        json_decref(self->urls);
        json_decref(self->files);
        json_decref(self->errors);
        free(self);
        *self_p = NULL;
    }
}

static const char *
s_current(const fl_fetch_t *self)
{
    return json_string_value(json_array_get(self->urls, self->index));
}

static void
s_next(fl_fetch_t *self)
{
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    self->index++;
    self->offset = 0;
}

static void
s_fail_current(fl_fetch_t *self, const char *reason)
{
    json_object_set_new(self->errors, s_current(self), json_string(reason));
    json_object_del(self->files, s_current(self));
    s_next(self);
}

json_t *
fl_fetch_request(fl_fetch_t *self)
{
    if (fl_fetch_done(self)) {
        return NULL;
    }
    return json_pack("{s:s, s:s, s:I}", "jid", self->jid, "path", s_current(self), "offset",
                     (json_int_t) self->offset);
}

int
fl_fetch_on_reply(fl_fetch_t *self, const json_t *body)
{
    const char *jid = fl_json_str(body, "jid");
    const char *url = fl_json_str(body, "path");
    if (fl_fetch_done(self) || !jid || !url || strcmp(jid, self->jid) != 0
        || strcmp(url, s_current(self)) != 0) {
        return -1;
    }
    const char *error = fl_json_str(body, "error");
    if (error) {
        fl_log_warnx("job %s: the master did not serve %s: %s", jid, url, error);
        s_fail_current(self, error);
        return 0;
    }
    json_int_t offset = json_integer_value(json_object_get(body, "offset"));
    json_int_t size = json_integer_value(json_object_get(body, "size"));
    const char *b64 = fl_json_str(body, "data");
    if (offset != self->offset || !b64 || size < 0 || size > FL_FETCH_MAX) {
        s_fail_current(self, "malformed file reply from the master");
        return 0;
    }
    if (self->fd < 0) {
        char *path = fl_sprintf("%s/%zu", self->dir, self->index);
        self->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (self->fd < 0) {
            fl_log_warn("job %s: %s", jid, path);
            free(path);
            s_fail_current(self, "cannot write the minion's file cache");
            return 0;
        }
        json_object_set_new(self->files, url, json_string(path));
        free(path);
    }
    size_t b64_len = strlen(b64);
    unsigned char *bin = fl_malloc(b64_len + 1);
    size_t bin_len = 0;
    if (sodium_base642bin(bin, b64_len + 1, b64, b64_len, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL)
            != 0
        || (bin_len > 0 && write(self->fd, bin, bin_len) != (ssize_t) bin_len)) {
        free(bin);
        s_fail_current(self, "cannot store the file from the master");
        return 0;
    }
    free(bin);
    self->offset += (int64_t) bin_len;
    self->started_ms = fl_clock_ms();   /* the time limit runs from the last progress */
    json_int_t mode = json_integer_value(json_object_get(body, "mode"));
    if (json_is_true(json_object_get(body, "eof")) || self->offset >= size) {
        /* Keep the tree's executable bit: states may copy it. */
        if (fchmod(self->fd, (mode & 0111) ? 0700 : 0600) != 0) {
            fl_log_warn("job %s: chmod", jid);
        }
        s_next(self);
    }
    return 0;
}

bool
fl_fetch_done(const fl_fetch_t *self)
{
    return self->index >= json_array_size(self->urls);
}

const json_t *
fl_fetch_files(const fl_fetch_t *self)
{
    return self->files;
}

const json_t *
fl_fetch_errors(const fl_fetch_t *self)
{
    return self->errors;
}

const char *
fl_fetch_dir(const fl_fetch_t *self)
{
    return self->dir;
}

int64_t
fl_fetch_started_ms(const fl_fetch_t *self)
{
    return self->started_ms;
}

void
fl_fetch_abandon(fl_fetch_t *self, const char *reason)
{
    while (!fl_fetch_done(self)) {
        s_fail_current(self, reason);
    }
}
