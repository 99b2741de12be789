/*  fl_keys.h: a node's one ed25519 key pair, and the CURVE (curve25519) key
    derived from it with libsodium's ed25519-to-curve25519 conversion.  The
    secret key file holds the 32-byte seed in hex and must be mode 0600;
    the public file holds the 32-byte public key in hex. */
#ifndef FL_KEYS_H
#define FL_KEYS_H

#include "fl_prelude.h"

#define FL_KEY_BYTES 32
#define FL_SIG_BYTES 64
#define FL_KEY_HEX (2 * FL_KEY_BYTES + 1)
/*  "SHA256:" + 64 hex digits with colons every two: 7 + 95 + 1 */
#define FL_FINGERPRINT_LEN 104

typedef struct fl_key fl_key_t;

/*  A fresh key pair from libsodium's random source. */
fl_key_t *fl_key_generate(void);
/*  Loads a secret key file; NULL with a message in *ERR (caller frees) when
    missing, malformed, or readable by group or others. */
fl_key_t *fl_key_load_secret(const char *path, char **err);
/*  The same without the mode check, for a key on a file system that has no
    Unix modes (FAT: every file shows the mount's fmask), where the mode
    says nothing about who may read it. */
fl_key_t *fl_key_load_secret_modeless(const char *path, char **err);
/*  Loads a public key file (no secret part). */
fl_key_t *fl_key_load_public(const char *path, char **err);
/*  A public-only key from raw bytes. */
fl_key_t *fl_key_from_public(const uint8_t pk[FL_KEY_BYTES]);
/*  Loads SECRET_PATH, or creates the pair (secret 0600, public 0644) when it
    does not exist yet.  The public file is rewritten when missing. */
fl_key_t *fl_key_load_or_create(const char *secret_path, const char *public_path, char **err);
/*  Writes the secret (0600) and, when PUBLIC_PATH is not NULL, the public
    key (0644).  -1 with errno set. */
int fl_key_save(const fl_key_t *self, const char *secret_path, const char *public_path);
void fl_key_destroy(fl_key_t **self_p);

bool fl_key_has_secret(const fl_key_t *self);
const uint8_t *fl_key_public(const fl_key_t *self);
/*  Hex of the public key; borrowed. */
const char *fl_key_public_hex(const fl_key_t *self);
/*  The CURVE public key (z85 encoding needs 41 bytes; raw is 32). */
void fl_key_curve_public(const fl_key_t *self, uint8_t out[FL_KEY_BYTES]);
/*  The CURVE secret key; -1 when this key has no secret part. */
int fl_key_curve_secret(const fl_key_t *self, uint8_t out[FL_KEY_BYTES]);
/*  CURVE public key of an ed25519 public key; -1 when PK is not a valid
    curve point. */
int fl_key_curve_from_ed(const uint8_t ed_pk[FL_KEY_BYTES], uint8_t curve_pk[FL_KEY_BYTES]);

/*  "SHA256:ab:cd:..." of the public key, as `fleetctl key show` prints it. */
void fl_key_fingerprint(const fl_key_t *self, char out[FL_FINGERPRINT_LEN]);
void fl_key_fingerprint_raw(const uint8_t pk[FL_KEY_BYTES], char out[FL_FINGERPRINT_LEN]);

/*  Detached ed25519 signature of DATA. */
void fl_key_sign(const fl_key_t *self, const void *data, size_t len, uint8_t sig[FL_SIG_BYTES]);
bool fl_key_verify_raw(const uint8_t pk[FL_KEY_BYTES], const void *data, size_t len,
                       const uint8_t sig[FL_SIG_BYTES]);

#endif
