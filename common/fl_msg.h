/*  fl_msg.h: the signed envelope every application message travels in.

    Frames (after the ROUTER's routing frame on the master):
      0  envelope: compact JSON {"v":1,"type":T,"from":ID,"sid":S,"seq":N,"body":{...}}
      1  signature: 64-byte ed25519 signature over the exact bytes of frame 0
      2  (hello only) the signer's 32-byte ed25519 public key

    A receiver checks the frame count and sizes, then the signature with the
    key it already trusts for that CURVE peer (or, for hello, the key in
    frame 2 after checking it maps to the CURVE key), and only then parses
    the JSON, with a depth bound.  See docs/PROTOCOL.md. */
#ifndef FL_MSG_H
#define FL_MSG_H

#include "fl_keys.h"

#include <czmq.h>
#include <jansson.h>

#define FL_MSG_VERSION 1
#define FL_MSG_MAX_BYTES (1024 * 1024)     /* largest envelope we parse */
#define FL_MSG_WIRE_MAX (4 * 1024 * 1024)  /* ZMQ_MAXMSGSIZE: larger drops the peer */
#define FL_MSG_MAX_DEPTH 32

typedef enum {
    FL_MSG_OK = 0,
    FL_MSG_E_FRAMES,    /* wrong number of frames or frame sizes */
    FL_MSG_E_SIZE,      /* envelope larger than FL_MSG_MAX_BYTES */
    FL_MSG_E_SIG,       /* signature does not verify */
    FL_MSG_E_JSON,      /* not JSON, too deep, or not an object */
    FL_MSG_E_FIELDS,    /* missing or mistyped envelope fields, wrong version */
    FL_MSG_E__COUNT
} fl_msg_err_t;

const char *fl_msg_err_name(fl_msg_err_t err);

typedef struct fl_msg fl_msg_t;

/*  Builds the frames of one message signed by SIGNER.  BODY is borrowed
    (NULL = {}).  WITH_PUBKEY appends frame 2.  Caller owns the zmsg. */
zmsg_t *fl_msg_encode(const fl_key_t *signer, const char *type, const char *from,
                      const char *sid, uint64_t seq, const json_t *body, bool with_pubkey);

/*  Checks frames and sizes; on success points ENV, SIG (and PK, NULL when
    there is no frame 2) into MSG's frames.  Nothing is trusted yet. */
fl_msg_err_t fl_msg_split(zmsg_t *msg, zframe_t **env, zframe_t **sig, zframe_t **pk);
/*  Verifies SIG over ENV with SIGNER_PK, then parses.  *OUT is owned by the
    caller on FL_MSG_OK. */
fl_msg_err_t fl_msg_open(zframe_t *env, zframe_t *sig, const uint8_t signer_pk[FL_KEY_BYTES],
                         fl_msg_t **out);
/*  The parse half of fl_msg_open, for a caller that has verified the
    signature over ENV itself (the master verifies a burst on several
    threads: master/fl_verify.h).  Never on bytes that were not verified. */
fl_msg_err_t fl_msg_parse_verified(zframe_t *env, fl_msg_t **out);
void fl_msg_destroy(fl_msg_t **self_p);

const char *fl_msg_type(const fl_msg_t *self);
const char *fl_msg_from(const fl_msg_t *self);
const char *fl_msg_sid(const fl_msg_t *self);
uint64_t fl_msg_seq(const fl_msg_t *self);
/*  The body object; borrowed (always an object). */
json_t *fl_msg_body(const fl_msg_t *self);

#endif
