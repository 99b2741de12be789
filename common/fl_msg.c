/*  fl_msg.c: signed message envelopes. */
#include "fl_msg.h"
#include "fl_json.h"

struct fl_msg {
    json_t *env;
    const char *type;
    const char *from;
    const char *sid;
    uint64_t seq;
    json_t *body;
};

static const char *s_err_names[FL_MSG_E__COUNT] = {
    "ok", "bad frames", "oversized", "bad signature", "bad json", "bad envelope",
};

const char *
fl_msg_err_name(fl_msg_err_t err)
{
    return err < FL_MSG_E__COUNT ? s_err_names[err] : "unknown";
}

zmsg_t *
fl_msg_encode(const fl_key_t *signer, const char *type, const char *from, const char *sid,
              uint64_t seq, const json_t *body, bool with_pubkey)
{
    json_t *env = json_pack("{s:i, s:s, s:s, s:s, s:I}", "v", FL_MSG_VERSION, "type", type,
                            "from", from, "sid", sid, "seq", (json_int_t) seq);
    json_object_set_new(env, "body", body ? json_deep_copy(body) : json_object());
    char *text = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    size_t len = strlen(text);
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(signer, text, len, sig);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, text, len);
    zmsg_addmem(msg, sig, sizeof sig);
    if (with_pubkey) {
        zmsg_addmem(msg, fl_key_public(signer), FL_KEY_BYTES);
    }
    free(text);
    return msg;
}

fl_msg_err_t
fl_msg_split(zmsg_t *msg, zframe_t **env, zframe_t **sig, zframe_t **pk)
{
    size_t n = zmsg_size(msg);
    if (n != 2 && n != 3) {
        return FL_MSG_E_FRAMES;
    }
    *env = zmsg_first(msg);
    *sig = zmsg_next(msg);
    *pk = n == 3 ? zmsg_next(msg) : NULL;
    if (zframe_size(*sig) != FL_SIG_BYTES || (*pk && zframe_size(*pk) != FL_KEY_BYTES)
        || zframe_size(*env) == 0) {
        return FL_MSG_E_FRAMES;
    }
    if (zframe_size(*env) > FL_MSG_MAX_BYTES) {
        return FL_MSG_E_SIZE;
    }
    return FL_MSG_OK;
}

fl_msg_err_t
fl_msg_open(zframe_t *env, zframe_t *sig, const uint8_t signer_pk[FL_KEY_BYTES],
            fl_msg_t **out)
{
    *out = NULL;
    if (zframe_size(env) > FL_MSG_MAX_BYTES) {
        return FL_MSG_E_SIZE;
    }
    if (!fl_key_verify_raw(signer_pk, zframe_data(env), zframe_size(env), zframe_data(sig))) {
        return FL_MSG_E_SIG;
    }
    return fl_msg_parse_verified(env, out);
}

fl_msg_err_t
fl_msg_parse_verified(zframe_t *env, fl_msg_t **out)
{
    *out = NULL;
    if (zframe_size(env) > FL_MSG_MAX_BYTES) {
        return FL_MSG_E_SIZE;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *) zframe_data(env), zframe_size(env),
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root) || fl_json_depth(root, FL_MSG_MAX_DEPTH + 1)
                                              > FL_MSG_MAX_DEPTH) {
        json_decref(root);
        return FL_MSG_E_JSON;
    }
    json_t *v = json_object_get(root, "v");
    json_t *seq = json_object_get(root, "seq");
    json_t *body = json_object_get(root, "body");
    const char *type = fl_json_str(root, "type");
    const char *from = fl_json_str(root, "from");
    const char *sid = fl_json_str(root, "sid");
    if (json_integer_value(v) != FL_MSG_VERSION || !json_is_integer(seq)
        || json_integer_value(seq) < 0 || !json_is_object(body) || !type || !*type || !from
        || !*from || !sid) {
        json_decref(root);
        return FL_MSG_E_FIELDS;
    }
    fl_msg_t *self = fl_calloc(1, sizeof *self);
    self->env = root;
    self->type = type;
    self->from = from;
    self->sid = sid;
    self->seq = (uint64_t) json_integer_value(seq);
    self->body = body;
    *out = self;
    return FL_MSG_OK;
}

void
fl_msg_destroy(fl_msg_t **self_p)
{
    if (self_p && *self_p) {
        json_decref((*self_p)->env);
        free(*self_p);
        *self_p = NULL;
    }
}

const char *
fl_msg_type(const fl_msg_t *self)
{
    return self->type;
}

const char *
fl_msg_from(const fl_msg_t *self)
{
    return self->from;
}

const char *
fl_msg_sid(const fl_msg_t *self)
{
    return self->sid;
}

uint64_t
fl_msg_seq(const fl_msg_t *self)
{
    return self->seq;
}

json_t *
fl_msg_body(const fl_msg_t *self)
{
    return self->body;
}
