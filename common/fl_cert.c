/*  fl_cert.c: factory certificates signed by the fleet root key. */
#include "fl_cert.h"
#include "fl_json.h"
#include "fl_util.h"

#include <jansson.h>
#include <sodium.h>

struct fl_cert {
    char *text;
    char *body;
    uint8_t sig[FL_SIG_BYTES];
    char *id;
    char *serial;
    uint8_t key[FL_KEY_BYTES];
    uint8_t root[FL_KEY_BYTES];
    int64_t not_before;
    int64_t not_after;
};

char *
fl_cert_issue(const fl_key_t *root, const char *id, const uint8_t pk[FL_KEY_BYTES],
              int64_t not_before, int64_t not_after, char serial_out[33])
{
    uint8_t serial[16];
    randombytes_buf(serial, sizeof serial);
    fl_hex_encode(serial, sizeof serial, serial_out);
    char key_hex[FL_KEY_HEX];
    fl_hex_encode(pk, FL_KEY_BYTES, key_hex);
    json_t *body = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:s}", "v", 1, "id", id, "key",
                             key_hex, "serial", serial_out, "not_before", (json_int_t) not_before,
                             "not_after", (json_int_t) not_after, "root",
                             fl_key_public_hex(root));
    char *body_text = fl_json_compact(body);
    json_decref(body);
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(root, body_text, strlen(body_text), sig);
    char sig_hex[2 * FL_SIG_BYTES + 1];
    fl_hex_encode(sig, sizeof sig, sig_hex);
    json_t *doc = json_pack("{s:s, s:s}", "cert", body_text, "sig", sig_hex);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    free(body_text);
    return text;
}

static int
s_fail(char **err, fl_cert_t **self_p, const char *msg)
{
    *err = fl_strdup(msg);
    fl_cert_destroy(self_p);
    return -1;
}

fl_cert_t *
fl_cert_parse(const char *text, size_t len, char **err)
{
    if (len > FL_CERT_MAX_BYTES) {
        *err = fl_strdup("certificate too large");
        return NULL;
    }
    fl_cert_t *self = fl_calloc(1, sizeof *self);
    self->text = fl_strndup(text, len);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *body = NULL;
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        s_fail(err, &self, "certificate is not a JSON object");
        return NULL;
    }
    const char *body_text = fl_json_str(doc, "cert");
    const char *sig_hex = fl_json_str(doc, "sig");
    if (!body_text || !sig_hex || fl_hex_decode(sig_hex, self->sig, FL_SIG_BYTES) != 0) {
        json_decref(doc);
        s_fail(err, &self, "certificate lacks 'cert' or a 64-byte 'sig'");
        return NULL;
    }
    self->body = fl_strdup(body_text);
    json_decref(doc);
    body = json_loads(self->body, JSON_REJECT_DUPLICATES, &jerr);
    const char *id = fl_json_str(body, "id");
    const char *serial = fl_json_str(body, "serial");
    json_t *nb = json_object_get(body, "not_before");
    json_t *na = json_object_get(body, "not_after");
    if (!json_is_object(body) || json_integer_value(json_object_get(body, "v")) != 1 || !id
        || !serial || !json_is_integer(nb) || !json_is_integer(na)
        || fl_hex_decode(fl_json_str(body, "key"), self->key, FL_KEY_BYTES) != 0
        || fl_hex_decode(fl_json_str(body, "root"), self->root, FL_KEY_BYTES) != 0) {
        json_decref(body);
        s_fail(err, &self, "certificate body is malformed (needs v, id, key, serial, "
                           "not_before, not_after, root)");
        return NULL;
    }
    self->id = fl_strdup(id);
    self->serial = fl_strdup(serial);
    self->not_before = json_integer_value(nb);
    self->not_after = json_integer_value(na);
    json_decref(body);
    return self;
}

int
fl_cert_verify(const fl_cert_t *self, const uint8_t root_pk[FL_KEY_BYTES], int64_t now,
               char **err)
{
    if (sodium_memcmp(self->root, root_pk, FL_KEY_BYTES) != 0) {
        *err = fl_strdup("certificate was issued by a foreign root");
        return -1;
    }
    if (!fl_key_verify_raw(root_pk, self->body, strlen(self->body), self->sig)) {
        *err = fl_strdup("certificate signature does not verify");
        return -1;
    }
    if (now < self->not_before) {
        *err = fl_sprintf("certificate %s is not valid before %lld", self->serial,
                          (long long) self->not_before);
        return -1;
    }
    if (now > self->not_after) {
        *err = fl_sprintf("certificate %s expired at %lld", self->serial,
                          (long long) self->not_after);
        return -1;
    }
    return 0;
}

void
fl_cert_destroy(fl_cert_t **self_p)
{
    if (self_p && *self_p) {
        fl_cert_t *self = *self_p;
        free(self->text);
        free(self->body);
        free(self->id);
        free(self->serial);
        free(self);
        *self_p = NULL;
    }
}

const char *
fl_cert_id(const fl_cert_t *self)
{
    return self->id;
}

const char *
fl_cert_serial(const fl_cert_t *self)
{
    return self->serial;
}

const uint8_t *
fl_cert_key(const fl_cert_t *self)
{
    return self->key;
}

int64_t
fl_cert_not_after(const fl_cert_t *self)
{
    return self->not_after;
}

const char *
fl_cert_text(const fl_cert_t *self)
{
    return self->text;
}
