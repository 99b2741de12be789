/*  check_keys.c: ed25519 key pairs, key files and CURVE keys (fl_keys). */
#include "fl_test.h"
#include "fl_keys.h"
#include "fl_util.h"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

static char *s_dir;
static char *s_secret;
static char *s_public;

static void
s_setup(void)
{
    s_dir = fl_test_tmpdir();
    s_secret = fl_path_join(s_dir, "node.key");
    s_public = fl_path_join(s_dir, "node.pub");
}

static void
s_teardown(void)
{
    free(s_secret);
    free(s_public);
    s_secret = s_public = NULL;
    fl_test_tmpdir_free(&s_dir);
}

static mode_t
s_mode(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static char *
s_read(const char *path)
{
    char *text = fl_file_read(path, 4096, NULL);
    ck_assert_ptr_nonnull(text);
    return text;
}

/*  Writes TEXT to the secret key path with mode 0600. */
static void
s_write_secret(const char *text)
{
    ck_assert_int_eq(fl_file_write_atomic(s_secret, text, strlen(text), 0600), 0);
}

//  The canonical usage: generate once, save, load back on the next start,
//  sign with the secret key and verify with the public key alone.
START_TEST(test_keys_usage)
{
    fl_key_t *key = fl_key_generate();
    ck_assert_ptr_nonnull(key);
    ck_assert(fl_key_has_secret(key));
    ck_assert_int_eq(fl_key_save(key, s_secret, s_public), 0);

    char *err = NULL;
    fl_key_t *loaded = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(loaded);
    ck_assert_ptr_null(err);
    ck_assert(fl_key_has_secret(loaded));
    ck_assert_mem_eq(fl_key_public(loaded), fl_key_public(key), FL_KEY_BYTES);
    ck_assert_str_eq(fl_key_public_hex(loaded), fl_key_public_hex(key));

    fl_key_t *peer = fl_key_load_public(s_public, &err);
    ck_assert_ptr_nonnull(peer);
    ck_assert(!fl_key_has_secret(peer));
    ck_assert_str_eq(fl_key_public_hex(peer), fl_key_public_hex(key));

    const char msg[] = "job 20240101 for pi-7";
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(loaded, msg, strlen(msg), sig);
    ck_assert(fl_key_verify_raw(fl_key_public(peer), msg, strlen(msg), sig));

    char fp[FL_FINGERPRINT_LEN];
    fl_key_fingerprint(peer, fp);
    ck_assert(strncmp(fp, "SHA256:", 7) == 0);

    fl_key_destroy(&peer);
    fl_key_destroy(&loaded);
    fl_key_destroy(&key);
    ck_assert_ptr_null(key);
    fl_key_destroy(&key);
    fl_key_destroy(NULL);
}
END_TEST

//  --------------------------------------------------------------------------
//  Files

START_TEST(test_keys_save_load_round_trip)
{
    fl_key_t *key = fl_key_generate();
    ck_assert_int_eq(fl_key_save(key, s_secret, s_public), 0);

    /* The files are one line of 64 hex digits. */
    char *secret_text = s_read(s_secret);
    ck_assert_uint_eq(strlen(secret_text), 2 * FL_KEY_BYTES + 1);
    ck_assert_int_eq(secret_text[2 * FL_KEY_BYTES], '\n');
    ck_assert_uint_eq(strspn(secret_text, "0123456789abcdef"), 2 * FL_KEY_BYTES);
    char *public_text = s_read(s_public);
    char *want = fl_sprintf("%s\n", fl_key_public_hex(key));
    ck_assert_str_eq(public_text, want);
    /* The secret file holds the seed, not the public key. */
    ck_assert(strncmp(secret_text, public_text, 2 * FL_KEY_BYTES) != 0);

    /* Loading twice gives the same key; saving the loaded key gives the same
       files. */
    char *err = NULL;
    fl_key_t *a = fl_key_load_secret(s_secret, &err);
    fl_key_t *b = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_mem_eq(fl_key_public(a), fl_key_public(b), FL_KEY_BYTES);
    char *secret2 = fl_path_join(s_dir, "copy.key");
    ck_assert_int_eq(fl_key_save(a, secret2, NULL), 0);
    char *secret2_text = s_read(secret2);
    ck_assert_str_eq(secret2_text, secret_text);

    /* The loaded secret signs what the original verifies and vice versa. */
    uint8_t sig_a[FL_SIG_BYTES], sig_k[FL_SIG_BYTES];
    fl_key_sign(a, "x", 1, sig_a);
    fl_key_sign(key, "x", 1, sig_k);
    ck_assert(fl_key_verify_raw(fl_key_public(key), "x", 1, sig_a));
    ck_assert(fl_key_verify_raw(fl_key_public(a), "x", 1, sig_k));
    /* ed25519 is deterministic */
    ck_assert_mem_eq(sig_a, sig_k, FL_SIG_BYTES);

    free(secret2_text);
    free(secret2);
    free(want);
    free(public_text);
    free(secret_text);
    fl_key_destroy(&b);
    fl_key_destroy(&a);
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_file_modes)
{
    /* Exact modes even under a restrictive or permissive umask. */
    static const mode_t masks[] = { 0, 022, 077 };
    for (size_t i = 0; i < FL_ARRAY_LEN(masks); i++) {
        mode_t old = umask(masks[i]);
        fl_key_t *key = fl_key_generate();
        ck_assert_int_eq(fl_key_save(key, s_secret, s_public), 0);
        umask(old);
        ck_assert_msg(s_mode(s_secret) == 0600, "secret mode %04o under umask %04o",
                      (unsigned) s_mode(s_secret), (unsigned) masks[i]);
        ck_assert_msg(s_mode(s_public) == 0644, "public mode %04o under umask %04o",
                      (unsigned) s_mode(s_public), (unsigned) masks[i]);
        fl_key_destroy(&key);
    }
}
END_TEST

static const mode_t s_unsafe_modes[] = { 0644, 0640, 0604, 0620, 0602, 0660, 0666, 0700 | 0044,
                                         0601, 0610 };

START_TEST(test_keys_secret_readable_refused)
{
    mode_t mode = s_unsafe_modes[_i];
    fl_key_t *key = fl_key_generate();
    ck_assert_int_eq(fl_key_save(key, s_secret, NULL), 0);
    ck_assert_int_eq(chmod(s_secret, mode), 0);

    char *err = NULL;
    fl_key_t *loaded = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_null(loaded);
    ck_assert_ptr_nonnull(err);
    char *mode_text = fl_sprintf("%04o", (unsigned) mode);
    ck_assert_msg(strstr(err, mode_text) != NULL, "'%s' does not mention %s", err, mode_text);
    ck_assert_msg(strstr(err, s_secret) != NULL, "'%s' does not name the file", err);
    free(mode_text);
    free(err);

    /* load_or_create must not silently replace or accept it either. */
    err = NULL;
    loaded = fl_key_load_or_create(s_secret, s_public, &err);
    ck_assert_ptr_null(loaded);
    ck_assert_ptr_nonnull(err);
    free(err);
    ck_assert_uint_eq(s_mode(s_secret), mode);
    fl_key_destroy(&key);
}
END_TEST

/*  For a key on FAT the mode says nothing: the modeless loader takes the
    same key whatever its mode, and still refuses garbage. */
START_TEST(test_keys_secret_modeless)
{
    fl_key_t *key = fl_key_generate();
    ck_assert_int_eq(fl_key_save(key, s_secret, NULL), 0);
    ck_assert_int_eq(chmod(s_secret, 0755), 0);
    char *err = NULL;
    ck_assert_ptr_null(fl_key_load_secret(s_secret, &err));
    free(err);
    err = NULL;
    fl_key_t *loaded = fl_key_load_secret_modeless(s_secret, &err);
    ck_assert_ptr_nonnull(loaded);
    ck_assert_ptr_null(err);
    ck_assert_mem_eq(fl_key_public(loaded), fl_key_public(key), FL_KEY_BYTES);
    fl_key_destroy(&loaded);
    FILE *f = fopen(s_secret, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a key\n", f);
    fclose(f);
    ck_assert_ptr_null(fl_key_load_secret_modeless(s_secret, &err));
    ck_assert_ptr_nonnull(err);
    free(err);
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_secret_safe_modes)
{
    static const mode_t safe[] = { 0600, 0400, 0700 };
    fl_key_t *key = fl_key_generate();
    ck_assert_int_eq(fl_key_save(key, s_secret, NULL), 0);
    for (size_t i = 0; i < FL_ARRAY_LEN(safe); i++) {
        ck_assert_int_eq(chmod(s_secret, safe[i]), 0);
        char *err = NULL;
        fl_key_t *loaded = fl_key_load_secret(s_secret, &err);
        ck_assert_msg(loaded != NULL, "mode %04o refused: %s", (unsigned) safe[i],
                      err ? err : "");
        ck_assert_mem_eq(fl_key_public(loaded), fl_key_public(key), FL_KEY_BYTES);
        fl_key_destroy(&loaded);
    }
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_missing_file)
{
    char *err = NULL;
    ck_assert_ptr_null(fl_key_load_secret(s_secret, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, s_secret));
    ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
    free(err);

    err = NULL;
    ck_assert_ptr_null(fl_key_load_public(s_public, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, s_public));
    free(err);
}
END_TEST

START_TEST(test_keys_load_or_create)
{
    char *err = NULL;
    fl_key_t *first = fl_key_load_or_create(s_secret, s_public, &err);
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(err);
    ck_assert(fl_key_has_secret(first));
    ck_assert_uint_eq(s_mode(s_secret), 0600);
    ck_assert_uint_eq(s_mode(s_public), 0644);
    char *secret_text = s_read(s_secret);
    char *public_text = s_read(s_public);

    /* The second start loads the same key and leaves the files alone. */
    fl_key_t *second = fl_key_load_or_create(s_secret, s_public, &err);
    ck_assert_ptr_nonnull(second);
    ck_assert_ptr_null(err);
    ck_assert_mem_eq(fl_key_public(second), fl_key_public(first), FL_KEY_BYTES);
    char *secret_again = s_read(s_secret);
    ck_assert_str_eq(secret_again, secret_text);

    /* A lost public file is written again from the secret. */
    ck_assert_int_eq(unlink(s_public), 0);
    fl_key_t *third = fl_key_load_or_create(s_secret, s_public, &err);
    ck_assert_ptr_nonnull(third);
    ck_assert_ptr_null(err);
    ck_assert_mem_eq(fl_key_public(third), fl_key_public(first), FL_KEY_BYTES);
    char *public_again = s_read(s_public);
    ck_assert_str_eq(public_again, public_text);
    ck_assert_uint_eq(s_mode(s_public), 0644);

    /* The public path is optional. */
    char *other = fl_path_join(s_dir, "other.key");
    fl_key_t *fourth = fl_key_load_or_create(other, NULL, &err);
    ck_assert_ptr_nonnull(fourth);
    ck_assert_ptr_null(err);
    ck_assert(memcmp(fl_key_public(fourth), fl_key_public(first), FL_KEY_BYTES) != 0);

    free(other);
    free(public_again);
    free(secret_again);
    free(public_text);
    free(secret_text);
    fl_key_destroy(&fourth);
    fl_key_destroy(&third);
    fl_key_destroy(&second);
    fl_key_destroy(&first);
}
END_TEST

START_TEST(test_keys_load_or_create_fails)
{
    /* A directory that does not exist: nothing can be created. */
    char *secret = fl_sprintf("%s/missing/node.key", s_dir);
    char *err = NULL;
    ck_assert_ptr_null(fl_key_load_or_create(secret, NULL, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, secret));
    free(err);
    free(secret);

    /* A malformed secret is reported, never replaced by a new key. */
    s_write_secret("not a key\n");
    err = NULL;
    ck_assert_ptr_null(fl_key_load_or_create(s_secret, s_public, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "not a key"));
    free(err);
    char *text = s_read(s_secret);
    ck_assert_str_eq(text, "not a key\n");
    free(text);
    ck_assert_int_eq(access(s_public, F_OK), -1);

    /* The public file cannot be written (its directory is missing). */
    fl_key_t *key = fl_key_generate();
    ck_assert_int_eq(fl_key_save(key, s_secret, NULL), 0);
    char *public = fl_sprintf("%s/missing/node.pub", s_dir);
    err = NULL;
    ck_assert_ptr_null(fl_key_load_or_create(s_secret, public, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, public));
    free(err);
    free(public);
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_save_fails)
{
    fl_key_t *key = fl_key_generate();
    char *secret = fl_sprintf("%s/missing/node.key", s_dir);
    errno = 0;
    ck_assert_int_eq(fl_key_save(key, secret, NULL), -1);
    ck_assert_int_eq(errno, ENOENT);
    free(secret);

    char *public = fl_sprintf("%s/missing/node.pub", s_dir);
    errno = 0;
    ck_assert_int_eq(fl_key_save(key, s_secret, public), -1);
    ck_assert_int_eq(errno, ENOENT);
    free(public);
    fl_key_destroy(&key);
}
END_TEST

//  --------------------------------------------------------------------------
//  Malformed key files

typedef struct {
    const char *name;
    const char *text;
} s_bad_file_t;

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const s_bad_file_t s_bad_files[] = {
    { "empty", "" },
    { "newline only", "\n" },
    { "short", "abc\n" },
    { "63 digits", "0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" },
    { "65 digits", HEX64 "0" },
    { "66 digits", HEX64 "00\n" },
    { "128 digits", HEX64 HEX64 "\n" },
    { "non-hex", "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n" },
    { "non-hex at end", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg" },
    { "leading space", " " HEX64 },
    { "inner space", "0011223344556677 8899aabbccddeeff00112233445566778899aabbccddeef" },
    { "two lines", HEX64 "\n" HEX64 "\n" },
    { "base64", "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=\n" },
    { "0x prefix", "0x" HEX64 "\n" },
    { "tab after", HEX64 "\t\n" },
};

START_TEST(test_keys_malformed_file)
{
    const s_bad_file_t *c = &s_bad_files[_i];
    s_write_secret(c->text);
    char *err = NULL;
    fl_key_t *key = fl_key_load_secret(s_secret, &err);
    ck_assert_msg(key == NULL, "secret '%s' accepted", c->name);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, s_secret) != NULL, "'%s' does not name the file", err);
    free(err);

    free(fl_test_write(s_dir, "node.pub", c->text));
    err = NULL;
    key = fl_key_load_public(s_public, &err);
    ck_assert_msg(key == NULL, "public '%s' accepted", c->name);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "not a key") != NULL, "'%s' for %s", err, c->name);
    free(err);
}
END_TEST

START_TEST(test_keys_oversized_file)
{
    char *text = fl_malloc(8193);
    memset(text, 'a', 8192);
    text[8192] = '\0';
    s_write_secret(text);
    free(text);
    char *err = NULL;
    ck_assert_ptr_null(fl_key_load_secret(s_secret, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, strerror(EFBIG)));
    free(err);
}
END_TEST

START_TEST(test_keys_lenient_whitespace_and_case)
{
    /* Trailing newlines (LF or CRLF) and upper-case hex are accepted and name
       the same key. */
    s_write_secret(HEX64 "\n");
    char *err = NULL;
    fl_key_t *lf = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(lf);

    s_write_secret(HEX64);
    fl_key_t *bare = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(bare);

    s_write_secret(HEX64 "\r\n");
    fl_key_t *crlf = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(crlf);

    s_write_secret("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF \n");
    fl_key_t *upper = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(upper);
    ck_assert_ptr_null(err);

    ck_assert_mem_eq(fl_key_public(bare), fl_key_public(lf), FL_KEY_BYTES);
    ck_assert_mem_eq(fl_key_public(crlf), fl_key_public(lf), FL_KEY_BYTES);
    ck_assert_mem_eq(fl_key_public(upper), fl_key_public(lf), FL_KEY_BYTES);

    /* The key is the libsodium key of that seed. */
    uint8_t seed[32], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    ck_assert_int_eq(fl_hex_decode(HEX64, seed, 32), 0);
    crypto_sign_seed_keypair(pk, sk, seed);
    ck_assert_mem_eq(fl_key_public(lf), pk, FL_KEY_BYTES);

    fl_key_destroy(&upper);
    fl_key_destroy(&crlf);
    fl_key_destroy(&bare);
    fl_key_destroy(&lf);
}
END_TEST

START_TEST(test_keys_public_not_on_curve)
{
    /* The identity point (y = 1) is a valid encoding of small order: it has
       no usable CURVE key and must be refused. */
    uint8_t identity[FL_KEY_BYTES] = { 1 };
    uint8_t curve[FL_KEY_BYTES];
    ck_assert_int_eq(fl_key_curve_from_ed(identity, curve), -1);

    char hex[FL_KEY_HEX];
    fl_hex_encode(identity, FL_KEY_BYTES, hex);
    char *line = fl_sprintf("%s\n", hex);
    free(fl_test_write(s_dir, "node.pub", line));
    free(line);
    char *err = NULL;
    ck_assert_ptr_null(fl_key_load_public(s_public, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "not a valid ed25519 public key"));
    free(err);

    /* All zero bytes: a point of small order as well. */
    uint8_t zero[FL_KEY_BYTES] = { 0 };
    ck_assert_int_eq(fl_key_curve_from_ed(zero, curve), -1);
}
END_TEST

//  --------------------------------------------------------------------------
//  Public-only keys

START_TEST(test_keys_public_only)
{
    fl_key_t *pair = fl_key_generate();
    fl_key_t *pub = fl_key_from_public(fl_key_public(pair));
    ck_assert_ptr_nonnull(pub);
    ck_assert(!fl_key_has_secret(pub));
    ck_assert_mem_eq(fl_key_public(pub), fl_key_public(pair), FL_KEY_BYTES);
    ck_assert_str_eq(fl_key_public_hex(pub), fl_key_public_hex(pair));
    ck_assert_uint_eq(strlen(fl_key_public_hex(pub)), 2 * FL_KEY_BYTES);

    /* No secret: no CURVE secret, nothing to save. */
    uint8_t curve[FL_KEY_BYTES];
    ck_assert_int_eq(fl_key_curve_secret(pub, curve), -1);
    errno = 0;
    ck_assert_int_eq(fl_key_save(pub, s_secret, s_public), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(access(s_secret, F_OK), -1);
    ck_assert_int_eq(access(s_public, F_OK), -1);

    /* Same CURVE public key and fingerprint as the pair. */
    uint8_t a[FL_KEY_BYTES], b[FL_KEY_BYTES];
    fl_key_curve_public(pub, a);
    fl_key_curve_public(pair, b);
    ck_assert_mem_eq(a, b, FL_KEY_BYTES);
    char fa[FL_FINGERPRINT_LEN], fb[FL_FINGERPRINT_LEN];
    fl_key_fingerprint(pub, fa);
    fl_key_fingerprint(pair, fb);
    ck_assert_str_eq(fa, fb);

    /* A public-only key verifies what the pair signed. */
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(pair, "abc", 3, sig);
    ck_assert(fl_key_verify_raw(fl_key_public(pub), "abc", 3, sig));

    fl_key_destroy(&pub);
    fl_key_destroy(&pair);
}
END_TEST

//  --------------------------------------------------------------------------
//  CURVE keys

START_TEST(test_keys_curve_consistent)
{
    fl_key_t *key = fl_key_generate();
    ck_assert_int_eq(fl_key_save(key, s_secret, NULL), 0);
    char *err = NULL;
    fl_key_t *loaded = fl_key_load_secret(s_secret, &err);
    ck_assert_ptr_nonnull(loaded);

    fl_key_t *keys[] = { key, loaded };
    for (size_t i = 0; i < FL_ARRAY_LEN(keys); i++) {
        uint8_t curve_pk[FL_KEY_BYTES], curve_sk[FL_KEY_BYTES], derived[FL_KEY_BYTES];
        fl_key_curve_public(keys[i], curve_pk);
        ck_assert_int_eq(fl_key_curve_secret(keys[i], curve_sk), 0);
        ck_assert_int_eq(crypto_scalarmult_base(derived, curve_sk), 0);
        ck_assert_mem_eq(derived, curve_pk, FL_KEY_BYTES);

        uint8_t from_ed[FL_KEY_BYTES];
        ck_assert_int_eq(fl_key_curve_from_ed(fl_key_public(keys[i]), from_ed), 0);
        ck_assert_mem_eq(from_ed, curve_pk, FL_KEY_BYTES);

        /* The CURVE key differs from the ed25519 key it came from. */
        ck_assert(memcmp(curve_pk, fl_key_public(keys[i]), FL_KEY_BYTES) != 0);
    }

    /* Loaded and generated agree. */
    uint8_t a[FL_KEY_BYTES], b[FL_KEY_BYTES];
    fl_key_curve_secret(key, a);
    fl_key_curve_secret(loaded, b);
    ck_assert_mem_eq(a, b, FL_KEY_BYTES);

    /* A shared secret computed from either side matches (what CURVE needs). */
    fl_key_t *peer = fl_key_generate();
    uint8_t my_sk[FL_KEY_BYTES], my_pk[FL_KEY_BYTES], peer_sk[FL_KEY_BYTES],
        peer_pk[FL_KEY_BYTES];
    fl_key_curve_secret(key, my_sk);
    fl_key_curve_public(key, my_pk);
    fl_key_curve_secret(peer, peer_sk);
    fl_key_curve_public(peer, peer_pk);
    uint8_t s1[FL_KEY_BYTES], s2[FL_KEY_BYTES];
    ck_assert_int_eq(crypto_scalarmult(s1, my_sk, peer_pk), 0);
    ck_assert_int_eq(crypto_scalarmult(s2, peer_sk, my_pk), 0);
    ck_assert_mem_eq(s1, s2, FL_KEY_BYTES);

    fl_key_destroy(&peer);
    fl_key_destroy(&loaded);
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_generate_distinct)
{
    fl_key_t *a = fl_key_generate();
    fl_key_t *b = fl_key_generate();
    ck_assert(memcmp(fl_key_public(a), fl_key_public(b), FL_KEY_BYTES) != 0);
    ck_assert_str_ne(fl_key_public_hex(a), fl_key_public_hex(b));
    fl_key_destroy(&b);
    fl_key_destroy(&a);
}
END_TEST

//  --------------------------------------------------------------------------
//  Fingerprints

START_TEST(test_keys_fingerprint_format)
{
    fl_key_t *key = fl_key_generate();
    char fp[FL_FINGERPRINT_LEN];
    memset(fp, 'X', sizeof fp);
    fl_key_fingerprint(key, fp);

    /* "SHA256:" + 32 bytes as two lower-case hex digits, colon-separated */
    ck_assert_uint_eq(strlen(fp), 7 + 32 * 2 + 31);
    ck_assert_uint_lt(strlen(fp), FL_FINGERPRINT_LEN);
    ck_assert(strncmp(fp, "SHA256:", 7) == 0);
    const char *p = fp + 7;
    for (int i = 0; i < 32; i++) {
        ck_assert_msg(strchr("0123456789abcdef", p[0]) && strchr("0123456789abcdef", p[1]),
                      "byte %d of %s", i, fp);
        ck_assert(p[0] != '\0' && p[1] != '\0');
        p += 2;
        if (i < 31) {
            ck_assert_msg(*p == ':', "separator %d of %s", i, fp);
            p++;
        }
    }
    ck_assert_int_eq(*p, '\0');

    /* It is the SHA-256 of the raw public key. */
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, fl_key_public(key), FL_KEY_BYTES);
    char want[FL_FINGERPRINT_LEN];
    char *w = want + sprintf(want, "SHA256:");
    for (size_t i = 0; i < sizeof digest; i++) {
        w += sprintf(w, "%s%02x", i ? ":" : "", digest[i]);
    }
    ck_assert_str_eq(fp, want);

    /* raw and keyed forms agree; different keys differ. */
    char raw[FL_FINGERPRINT_LEN];
    fl_key_fingerprint_raw(fl_key_public(key), raw);
    ck_assert_str_eq(raw, fp);
    fl_key_t *other = fl_key_generate();
    char fo[FL_FINGERPRINT_LEN];
    fl_key_fingerprint(other, fo);
    ck_assert_str_ne(fo, fp);
    fl_key_destroy(&other);
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_fingerprint_known)
{
    /* SHA-256 of 32 zero bytes: 66687aad...925 */
    uint8_t zero[FL_KEY_BYTES] = { 0 };
    char fp[FL_FINGERPRINT_LEN];
    fl_key_fingerprint_raw(zero, fp);
    ck_assert_str_eq(fp, "SHA256:66:68:7a:ad:f8:62:bd:77:6c:8f:c1:8b:8e:9f:8e:20:"
                         "08:97:14:85:6e:e2:33:b3:90:2a:59:1d:0d:5f:29:25");
}
END_TEST

//  --------------------------------------------------------------------------
//  Signatures

START_TEST(test_keys_sign_verify)
{
    fl_key_t *key = fl_key_generate();
    fl_key_t *other = fl_key_generate();
    uint8_t data[200];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t) (i * 7);
    }
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(key, data, sizeof data, sig);
    ck_assert(fl_key_verify_raw(fl_key_public(key), data, sizeof data, sig));
    ck_assert(!fl_key_verify_raw(fl_key_public(other), data, sizeof data, sig));

    /* Every single flipped bit in the data breaks the signature (sampled). */
    for (size_t bit = 0; bit < 8 * sizeof data; bit += 13) {
        data[bit / 8] ^= (uint8_t) (1u << (bit % 8));
        ck_assert_msg(!fl_key_verify_raw(fl_key_public(key), data, sizeof data, sig),
                      "flipped data bit %zu still verifies", bit);
        data[bit / 8] ^= (uint8_t) (1u << (bit % 8));
    }
    /* ...and every flipped bit in the signature. */
    for (size_t bit = 0; bit < 8 * FL_SIG_BYTES; bit++) {
        sig[bit / 8] ^= (uint8_t) (1u << (bit % 8));
        ck_assert_msg(!fl_key_verify_raw(fl_key_public(key), data, sizeof data, sig),
                      "flipped signature bit %zu still verifies", bit);
        sig[bit / 8] ^= (uint8_t) (1u << (bit % 8));
    }
    /* A truncated or extended message fails. */
    ck_assert(!fl_key_verify_raw(fl_key_public(key), data, sizeof data - 1, sig));
    ck_assert(fl_key_verify_raw(fl_key_public(key), data, sizeof data, sig));

    /* Empty messages can be signed too. */
    fl_key_sign(key, "", 0, sig);
    ck_assert(fl_key_verify_raw(fl_key_public(key), "", 0, sig));
    ck_assert(!fl_key_verify_raw(fl_key_public(key), "x", 1, sig));

    /* The signature is libsodium's detached ed25519 signature. */
    ck_assert_int_eq(crypto_sign_verify_detached(sig, (const uint8_t *) "", 0,
                                                 fl_key_public(key)),
                     0);
    fl_key_destroy(&other);
    fl_key_destroy(&key);
}
END_TEST

START_TEST(test_keys_sign_without_secret_aborts)
{
    /* Without fork (CK_FORK=no, e.g. under valgrind) the exit would end the
       whole run: skip. */
    const char *fork_mode = getenv("CK_FORK");
    if (fork_mode && strcmp(fork_mode, "no") == 0) {
        return;
    }
    fl_key_t *key = fl_key_generate();
    fl_key_t *pub = fl_key_from_public(fl_key_public(key));
    uint8_t sig[FL_SIG_BYTES];
    /* fl_fatal logs, then exits this (forked) test process with 1. */
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
    fl_key_sign(pub, "x", 1, sig);
    fl_key_destroy(&pub);
    fl_key_destroy(&key);
}
END_TEST

Suite *suite_keys(void);

Suite *
suite_keys(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("keys");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_keys_usage);
    tcase_add_test(tc, test_keys_save_load_round_trip);
    tcase_add_test(tc, test_keys_file_modes);
    tcase_add_loop_test(tc, test_keys_secret_readable_refused, 0,
                        (int) FL_ARRAY_LEN(s_unsafe_modes));
    tcase_add_test(tc, test_keys_secret_modeless);
    tcase_add_test(tc, test_keys_secret_safe_modes);
    tcase_add_test(tc, test_keys_missing_file);
    tcase_add_test(tc, test_keys_load_or_create);
    tcase_add_test(tc, test_keys_load_or_create_fails);
    tcase_add_test(tc, test_keys_save_fails);
    tcase_add_loop_test(tc, test_keys_malformed_file, 0, (int) FL_ARRAY_LEN(s_bad_files));
    tcase_add_test(tc, test_keys_oversized_file);
    tcase_add_test(tc, test_keys_lenient_whitespace_and_case);
    tcase_add_test(tc, test_keys_public_not_on_curve);
    tcase_add_test(tc, test_keys_public_only);
    tcase_add_test(tc, test_keys_curve_consistent);
    tcase_add_test(tc, test_keys_generate_distinct);
    tcase_add_test(tc, test_keys_fingerprint_format);
    tcase_add_test(tc, test_keys_fingerprint_known);
    tcase_add_test(tc, test_keys_sign_verify);
    tcase_add_exit_test(tc, test_keys_sign_without_secret_aborts, 1);
    suite_add_tcase(s, tc);
    return s;
}
