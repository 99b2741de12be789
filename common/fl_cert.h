/*  fl_cert.h: factory certificates.  The fleet root key signs a statement
    binding a minion id to its public key, with a serial and a validity
    period.  The document is JSON: {"cert": BODY, "sig": HEX} where BODY is
    the exact text that was signed:
        {"v":1,"id":"pi-7","key":HEX,"serial":HEX,"not_before":S,"not_after":S,"root":HEX}
    A master whose config names pki_root accepts a minion whose certificate
    verifies against that root, names the same key the minion proved it
    holds (CURVE), and is within its validity period. */
#ifndef FL_CERT_H
#define FL_CERT_H

#include "fl_keys.h"

#define FL_CERT_MAX_BYTES 4096

typedef struct fl_cert fl_cert_t;

/*  Signs a certificate for ID / PK with ROOT; returns the document text
    (caller frees).  SERIAL_OUT receives the random serial in hex. */
char *fl_cert_issue(const fl_key_t *root, const char *id, const uint8_t pk[FL_KEY_BYTES],
                    int64_t not_before, int64_t not_after, char serial_out[33]);
/*  Parses the document (structure only; nothing is trusted yet).  NULL with
    a message in *ERR (caller frees). */
fl_cert_t *fl_cert_parse(const char *text, size_t len, char **err);
/*  0 when the signature is ROOT_PK's, and NOW is within the validity
    period; else -1 with the reason in *ERR. */
int fl_cert_verify(const fl_cert_t *self, const uint8_t root_pk[FL_KEY_BYTES], int64_t now,
                   char **err);
void fl_cert_destroy(fl_cert_t **self_p);

const char *fl_cert_id(const fl_cert_t *self);
const char *fl_cert_serial(const fl_cert_t *self);
const uint8_t *fl_cert_key(const fl_cert_t *self);
int64_t fl_cert_not_after(const fl_cert_t *self);
/*  The whole document, as parsed (borrowed). */
const char *fl_cert_text(const fl_cert_t *self);

#endif
