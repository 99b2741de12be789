/*  fuzz_msg.c: libFuzzer target for what arrives from the network: the
    envelope (split, signature check, JSON parse with depth bound; the input
    is signed with a fixed key so the parser behind the signature is
    reached) and factory certificates.  Built and run by `make fuzz`. */
#include "fl_cert.h"
#include "fl_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fl_key_t *key;
    if (!key) {
        key = fl_key_generate();
    }
    /* As the network delivers it: arbitrary frames. */
    zmsg_t *raw = zmsg_new();
    size_t half = size / 2;
    zmsg_addmem(raw, data, half);
    zmsg_addmem(raw, data + half, size - half);
    zframe_t *env, *sig, *pk;
    fl_msg_t *m = NULL;
    if (fl_msg_split(raw, &env, &sig, &pk) == FL_MSG_OK) {
        fl_msg_open(env, sig, fl_key_public(key), &m);
        fl_msg_destroy(&m);
    }
    zmsg_destroy(&raw);
    /* Validly signed arbitrary bytes: exercises everything after the signature. */
    uint8_t signature[FL_SIG_BYTES];
    fl_key_sign(key, data, size, signature);
    zframe_t *e = zframe_new(data, size);
    zframe_t *s = zframe_new(signature, sizeof signature);
    if (size > 0 && fl_msg_open(e, s, fl_key_public(key), &m) == FL_MSG_OK) {
        fl_msg_type(m);
        fl_msg_destroy(&m);
    }
    zframe_destroy(&e);
    zframe_destroy(&s);
    char *err = NULL;
    fl_cert_t *cert = fl_cert_parse((const char *) data, size, &err);
    if (cert) {
        fl_cert_verify(cert, fl_key_public(key), 0, &err);
    }
    free(err);
    fl_cert_destroy(&cert);
    return 0;
}
