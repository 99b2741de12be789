/*  fl_keys.c: ed25519 key pairs and their CURVE keys (libsodium). */
#include "fl_keys.h"
#include "fl_log.h"
#include "fl_util.h"

#include <sodium.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct fl_key {
    uint8_t pk[FL_KEY_BYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    bool has_secret;
    char pk_hex[FL_KEY_HEX];
};

static void
s_init_sodium(void)
{
    if (sodium_init() < 0) {
        fl_fatal("libsodium failed to initialise");
    }
}

static fl_key_t *
s_key_new(void)
{
    s_init_sodium();
    fl_key_t *self = fl_calloc(1, sizeof *self);
    return self;
}

fl_key_t *
fl_key_generate(void)
{
    fl_key_t *self = s_key_new();
    crypto_sign_keypair(self->pk, self->sk);
    self->has_secret = true;
    fl_hex_encode(self->pk, FL_KEY_BYTES, self->pk_hex);
    return self;
}

fl_key_t *
fl_key_from_public(const uint8_t pk[FL_KEY_BYTES])
{
    fl_key_t *self = s_key_new();
    memcpy(self->pk, pk, FL_KEY_BYTES);
    fl_hex_encode(self->pk, FL_KEY_BYTES, self->pk_hex);
    return self;
}

/*  Reads a file holding one line of 64 hex digits. */
static int
s_read_hex32(const char *path, uint8_t out[32], char **err)
{
    size_t len = 0;
    char *text = fl_file_read(path, 4096, &len);
    if (!text) {
        *err = fl_sprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) {
        text[--len] = '\0';
    }
    int rc = fl_hex_decode(text, out, 32);
    sodium_memzero(text, len);
    free(text);
    if (rc != 0) {
        *err = fl_sprintf("%s: not a key (expected 64 hex digits)", path);
        return -1;
    }
    return 0;
}

static fl_key_t *
s_load_secret(const char *path, bool check_mode, char **err)
{
    /* Check the mode of the file we read, not of whatever the path names
       a moment earlier. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *err = fl_sprintf("%s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    close(fd);
    if (check_mode && (st.st_mode & 077)) {
        *err = fl_sprintf("%s: secret key is readable by others (mode %04o); "
                          "chmod 600 it",
                          path, (unsigned) (st.st_mode & 07777));
        return NULL;
    }
    uint8_t seed[crypto_sign_SEEDBYTES];
    if (s_read_hex32(path, seed, err) != 0) {
        return NULL;
    }
    fl_key_t *self = s_key_new();
    crypto_sign_seed_keypair(self->pk, self->sk, seed);
    sodium_memzero(seed, sizeof seed);
    self->has_secret = true;
    fl_hex_encode(self->pk, FL_KEY_BYTES, self->pk_hex);
    return self;
}

fl_key_t *
fl_key_load_secret(const char *path, char **err)
{
    return s_load_secret(path, true, err);
}

fl_key_t *
fl_key_load_secret_modeless(const char *path, char **err)
{
    return s_load_secret(path, false, err);
}

fl_key_t *
fl_key_load_public(const char *path, char **err)
{
    uint8_t pk[FL_KEY_BYTES];
    if (s_read_hex32(path, pk, err) != 0) {
        return NULL;
    }
    uint8_t curve[FL_KEY_BYTES];
    if (fl_key_curve_from_ed(pk, curve) != 0) {
        *err = fl_sprintf("%s: not a valid ed25519 public key", path);
        return NULL;
    }
    return fl_key_from_public(pk);
}

int
fl_key_save(const fl_key_t *self, const char *secret_path, const char *public_path)
{
    if (!self->has_secret) {
        errno = EINVAL;
        return -1;
    }
    char hex[2 * crypto_sign_SEEDBYTES + 2];
    uint8_t seed[crypto_sign_SEEDBYTES];
    crypto_sign_ed25519_sk_to_seed(seed, self->sk);
    fl_hex_encode(seed, sizeof seed, hex);
    strcat(hex, "\n");
    int rc = fl_file_write_atomic(secret_path, hex, strlen(hex), 0600);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(hex, sizeof hex);
    if (rc != 0) {
        return -1;
    }
    if (public_path) {
        char *line = fl_sprintf("%s\n", self->pk_hex);
        rc = fl_file_write_atomic(public_path, line, strlen(line), 0644);
        free(line);
    }
    return rc;
}

fl_key_t *
fl_key_load_or_create(const char *secret_path, const char *public_path, char **err)
{
    struct stat st;
    fl_key_t *self = NULL;
    if (stat(secret_path, &st) == 0) {
        self = fl_key_load_secret(secret_path, err);
        if (self && public_path && stat(public_path, &st) != 0) {
            char *line = fl_sprintf("%s\n", self->pk_hex);
            if (fl_file_write_atomic(public_path, line, strlen(line), 0644) != 0) {
                *err = fl_sprintf("%s: %s", public_path, strerror(errno));
                fl_key_destroy(&self);
            }
            free(line);
        }
        return self;
    }
    if (errno != ENOENT) {
        *err = fl_sprintf("%s: %s", secret_path, strerror(errno));
        return NULL;
    }
    self = fl_key_generate();
    if (fl_key_save(self, secret_path, public_path) != 0) {
        *err = fl_sprintf("%s: %s", secret_path, strerror(errno));
        fl_key_destroy(&self);
    }
    return self;
}

void
fl_key_destroy(fl_key_t **self_p)
{
    if (self_p && *self_p) {
        sodium_memzero(*self_p, sizeof **self_p);
        free(*self_p);
        *self_p = NULL;
    }
}

bool
fl_key_has_secret(const fl_key_t *self)
{
    return self->has_secret;
}

const uint8_t *
fl_key_public(const fl_key_t *self)
{
    return self->pk;
}

const char *
fl_key_public_hex(const fl_key_t *self)
{
    return self->pk_hex;
}

void
fl_key_curve_public(const fl_key_t *self, uint8_t out[FL_KEY_BYTES])
{
    /* Cannot fail for a key we hold: it was validated when loaded. */
    if (crypto_sign_ed25519_pk_to_curve25519(out, self->pk) != 0) {
        memset(out, 0, FL_KEY_BYTES);
    }
}

int
fl_key_curve_secret(const fl_key_t *self, uint8_t out[FL_KEY_BYTES])
{
    if (!self->has_secret) {
        return -1;
    }
    return crypto_sign_ed25519_sk_to_curve25519(out, self->sk);
}

int
fl_key_curve_from_ed(const uint8_t ed_pk[FL_KEY_BYTES], uint8_t curve_pk[FL_KEY_BYTES])
{
    s_init_sodium();
    return crypto_sign_ed25519_pk_to_curve25519(curve_pk, ed_pk) == 0 ? 0 : -1;
}

void
fl_key_fingerprint_raw(const uint8_t pk[FL_KEY_BYTES], char out[FL_FINGERPRINT_LEN])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    s_init_sodium();
    crypto_hash_sha256(digest, pk, FL_KEY_BYTES);
    char *p = out + sprintf(out, "SHA256:");
    for (size_t i = 0; i < sizeof digest; i++) {
        p += sprintf(p, i ? ":%02x" : "%02x", digest[i]);
    }
}

void
fl_key_fingerprint(const fl_key_t *self, char out[FL_FINGERPRINT_LEN])
{
    fl_key_fingerprint_raw(self->pk, out);
}

void
fl_key_sign(const fl_key_t *self, const void *data, size_t len, uint8_t sig[FL_SIG_BYTES])
{
    if (!self->has_secret) {
        fl_fatal("fl_key_sign: key has no secret part");
    }
    crypto_sign_detached(sig, NULL, data, len, self->sk);
}

bool
fl_key_verify_raw(const uint8_t pk[FL_KEY_BYTES], const void *data, size_t len,
                  const uint8_t sig[FL_SIG_BYTES])
{
    return crypto_sign_verify_detached(sig, data, len, pk) == 0;
}
