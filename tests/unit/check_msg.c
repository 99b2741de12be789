/*  check_msg.c: signed message envelopes (fl_msg). */
#include "fl_test.h"
#include "fl_msg.h"
#include "fl_json.h"

static fl_key_t *s_key;
static fl_key_t *s_other;

static void
s_setup(void)
{
    s_key = fl_key_generate();
    s_other = fl_key_generate();
}

static void
s_teardown(void)
{
    fl_key_destroy(&s_other);
    fl_key_destroy(&s_key);
}

/*  Splits and opens MSG with the test key: the first error, or FL_MSG_OK
    with *OUT set. */
static fl_msg_err_t
s_split_open(zmsg_t *msg, const uint8_t *pk, fl_msg_t **out)
{
    zframe_t *env = NULL, *sig = NULL, *pkf = NULL;
    *out = NULL;
    fl_msg_err_t rc = fl_msg_split(msg, &env, &sig, &pkf);
    if (rc != FL_MSG_OK) {
        return rc;
    }
    rc = fl_msg_open(env, sig, pk, out);
    ck_assert(rc == FL_MSG_OK ? *out != NULL : *out == NULL);
    return rc;
}

/*  A two-frame message: ENV (LEN bytes) signed by KEY. */
static zmsg_t *
s_signed(const fl_key_t *key, const void *env, size_t len)
{
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(key, env, len, sig);
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, env, len);
    zmsg_addmem(msg, sig, sizeof sig);
    return msg;
}

//  The canonical usage: the sender encodes and signs; the receiver splits
//  the frames, verifies with the key it trusts for that peer, then reads
//  the fields.
START_TEST(test_msg_usage)
{
    json_t *body = json_pack("{s:s, s:[s]}", "fun", "test.echo", "args", "hi");
    zmsg_t *msg = fl_msg_encode(s_key, "job", "master", "sid-1", 42, body, false);
    ck_assert_ptr_nonnull(msg);
    ck_assert_uint_eq(zmsg_size(msg), 2);

    zframe_t *env, *sig, *pk;
    ck_assert_int_eq(fl_msg_split(msg, &env, &sig, &pk), FL_MSG_OK);
    ck_assert_ptr_null(pk);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(fl_msg_open(env, sig, fl_key_public(s_key), &m), FL_MSG_OK);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(fl_msg_type(m), "job");
    ck_assert_str_eq(fl_msg_from(m), "master");
    ck_assert_str_eq(fl_msg_sid(m), "sid-1");
    ck_assert_uint_eq(fl_msg_seq(m), 42);
    ck_assert(json_equal(fl_msg_body(m), body));

    fl_msg_destroy(&m);
    ck_assert_ptr_null(m);
    fl_msg_destroy(&m);
    fl_msg_destroy(NULL);
    zmsg_destroy(&msg);
    json_decref(body);
}
END_TEST

//  --------------------------------------------------------------------------
//  Encoding

START_TEST(test_msg_envelope_bytes)
{
    /* Frame 0 is compact JSON with v, type, from, sid, seq, body; frame 1
       is the signature over exactly those bytes. */
    json_t *body = json_pack("{s:i}", "x", 1);
    zmsg_t *msg = fl_msg_encode(s_key, "ping", "pi-7", "s", 7, body, false);
    zframe_t *env = zmsg_first(msg);
    zframe_t *sig = zmsg_next(msg);
    ck_assert_uint_eq(zframe_size(sig), FL_SIG_BYTES);
    ck_assert(fl_key_verify_raw(fl_key_public(s_key), zframe_data(env), zframe_size(env),
                                zframe_data(sig)));
    char *text = fl_strndup((const char *) zframe_data(env), zframe_size(env));
    ck_assert_ptr_null(strchr(text, ' '));
    ck_assert_ptr_null(strchr(text, '\n'));
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(json_integer_value(json_object_get(root, "v")), FL_MSG_VERSION);
    ck_assert_str_eq(fl_json_str(root, "type"), "ping");
    ck_assert_str_eq(fl_json_str(root, "from"), "pi-7");
    ck_assert_str_eq(fl_json_str(root, "sid"), "s");
    ck_assert_int_eq(json_integer_value(json_object_get(root, "seq")), 7);
    ck_assert(json_equal(json_object_get(root, "body"), body));
    ck_assert_uint_eq(json_object_size(root), 6);
    json_decref(root);
    free(text);
    zmsg_destroy(&msg);
    json_decref(body);
}
END_TEST

START_TEST(test_msg_with_pubkey)
{
    zmsg_t *msg = fl_msg_encode(s_key, "hello", "pi-7", "sid", 0, NULL, true);
    ck_assert_uint_eq(zmsg_size(msg), 3);
    zframe_t *env, *sig, *pk;
    ck_assert_int_eq(fl_msg_split(msg, &env, &sig, &pk), FL_MSG_OK);
    ck_assert_ptr_nonnull(pk);
    ck_assert_uint_eq(zframe_size(pk), FL_KEY_BYTES);
    ck_assert_mem_eq(zframe_data(pk), fl_key_public(s_key), FL_KEY_BYTES);

    /* A hello is verified with the key it carries. */
    fl_msg_t *m = NULL;
    ck_assert_int_eq(fl_msg_open(env, sig, zframe_data(pk), &m), FL_MSG_OK);
    ck_assert_str_eq(fl_msg_type(m), "hello");
    ck_assert_uint_eq(fl_msg_seq(m), 0);
    fl_msg_destroy(&m);

    /* ...and a swapped-in key does not verify someone else's signature. */
    zframe_reset(pk, fl_key_public(s_other), FL_KEY_BYTES);
    ck_assert_int_eq(fl_msg_split(msg, &env, &sig, &pk), FL_MSG_OK);
    ck_assert_int_eq(fl_msg_open(env, sig, zframe_data(pk), &m), FL_MSG_E_SIG);
    ck_assert_ptr_null(m);
    zmsg_destroy(&msg);
}
END_TEST

START_TEST(test_msg_null_body)
{
    zmsg_t *msg = fl_msg_encode(s_key, "ping", "pi-7", "", 1, NULL, false);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_OK);
    ck_assert(json_is_object(fl_msg_body(m)));
    ck_assert_uint_eq(json_object_size(fl_msg_body(m)), 0);
    /* An empty sid is allowed (before a session exists). */
    ck_assert_str_eq(fl_msg_sid(m), "");
    fl_msg_destroy(&m);
    zmsg_destroy(&msg);
}
END_TEST

START_TEST(test_msg_body_borrowed)
{
    /* The encoder copies the body: the caller's object is unchanged and can
       be reused. */
    json_t *body = json_pack("{s:{s:[i,i,i]}}", "deep", "list", 1, 2, 3);
    json_t *copy = json_deep_copy(body);
    zmsg_t *a = fl_msg_encode(s_key, "t", "f", "s", 1, body, false);
    zmsg_t *b = fl_msg_encode(s_key, "t", "f", "s", 2, body, false);
    ck_assert(json_equal(body, copy));
    ck_assert_int_eq(body->refcount, 1);
    fl_msg_t *ma = NULL, *mb = NULL;
    ck_assert_int_eq(s_split_open(a, fl_key_public(s_key), &ma), FL_MSG_OK);
    ck_assert_int_eq(s_split_open(b, fl_key_public(s_key), &mb), FL_MSG_OK);
    ck_assert(json_equal(fl_msg_body(ma), body));
    ck_assert(json_equal(fl_msg_body(mb), body));
    ck_assert_uint_eq(fl_msg_seq(mb), 2);
    fl_msg_destroy(&mb);
    fl_msg_destroy(&ma);
    zmsg_destroy(&b);
    zmsg_destroy(&a);
    json_decref(copy);
    json_decref(body);
}
END_TEST

START_TEST(test_msg_seq_range)
{
    static const uint64_t seqs[] = { 0, 1, 4294967296ULL, 9007199254740993ULL,
                                     (uint64_t) INT64_MAX };
    for (size_t i = 0; i < FL_ARRAY_LEN(seqs); i++) {
        zmsg_t *msg = fl_msg_encode(s_key, "t", "f", "s", seqs[i], NULL, false);
        fl_msg_t *m = NULL;
        ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_OK);
        ck_assert_uint_eq(fl_msg_seq(m), seqs[i]);
        fl_msg_destroy(&m);
        zmsg_destroy(&msg);
    }
}
END_TEST

START_TEST(test_msg_unicode_fields)
{
    const char *from = "caf\xc3\xa9-\xe2\x9c\x93";
    json_t *body = json_pack("{s:s}", "text", "quote \" backslash \\ newline \n nul-free");
    zmsg_t *msg = fl_msg_encode(s_key, "ret", from, "s\"id", 3, body, false);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_OK);
    ck_assert_str_eq(fl_msg_from(m), from);
    ck_assert_str_eq(fl_msg_sid(m), "s\"id");
    ck_assert(json_equal(fl_msg_body(m), body));
    fl_msg_destroy(&m);
    zmsg_destroy(&msg);
    json_decref(body);
}
END_TEST

START_TEST(test_msg_err_names)
{
    ck_assert_str_eq(fl_msg_err_name(FL_MSG_OK), "ok");
    for (int e = 0; e < FL_MSG_E__COUNT; e++) {
        const char *name = fl_msg_err_name((fl_msg_err_t) e);
        ck_assert_ptr_nonnull(name);
        ck_assert_str_ne(name, "unknown");
        for (int f = 0; f < e; f++) {
            ck_assert_str_ne(name, fl_msg_err_name((fl_msg_err_t) f));
        }
    }
    ck_assert_str_eq(fl_msg_err_name(FL_MSG_E__COUNT), "unknown");
    ck_assert_str_eq(fl_msg_err_name((fl_msg_err_t) 99), "unknown");
}
END_TEST

//  --------------------------------------------------------------------------
//  Negative cases: frames and sizes (fl_msg_split)

typedef enum {
    F_ENV_ONLY,        /* 1 frame */
    F_FOUR,            /* 4 frames */
    F_NONE,            /* 0 frames */
    F_SIG_SHORT,       /* signature of 63 bytes */
    F_SIG_LONG,        /* signature of 65 bytes */
    F_SIG_EMPTY,       /* signature of 0 bytes */
    F_PK_SHORT,        /* key frame of 31 bytes */
    F_PK_LONG,         /* key frame of 33 bytes */
    F_ENV_EMPTY,       /* empty envelope, valid-size signature */
    F_ENV_HUGE,        /* envelope of FL_MSG_MAX_BYTES + 1 */
} s_frames_kind_t;

typedef struct {
    const char *name;
    s_frames_kind_t kind;
    fl_msg_err_t want;
} s_frames_case_t;

static const s_frames_case_t s_frames_cases[] = {
    { "one frame", F_ENV_ONLY, FL_MSG_E_FRAMES },
    { "four frames", F_FOUR, FL_MSG_E_FRAMES },
    { "no frames", F_NONE, FL_MSG_E_FRAMES },
    { "short signature", F_SIG_SHORT, FL_MSG_E_FRAMES },
    { "long signature", F_SIG_LONG, FL_MSG_E_FRAMES },
    { "empty signature", F_SIG_EMPTY, FL_MSG_E_FRAMES },
    { "short key frame", F_PK_SHORT, FL_MSG_E_FRAMES },
    { "long key frame", F_PK_LONG, FL_MSG_E_FRAMES },
    { "empty envelope", F_ENV_EMPTY, FL_MSG_E_FRAMES },
    { "oversized envelope", F_ENV_HUGE, FL_MSG_E_SIZE },
};

static zmsg_t *
s_frames_msg(s_frames_kind_t kind)
{
    zmsg_t *good = fl_msg_encode(s_key, "t", "f", "s", 1, NULL, true);
    zframe_t *env = zmsg_pop(good);
    zframe_t *sig = zmsg_pop(good);
    zframe_t *pk = zmsg_pop(good);
    zmsg_destroy(&good);
    uint8_t junk[128] = { 0 };
    zmsg_t *msg = zmsg_new();
    switch (kind) {
    case F_ENV_ONLY:
        zmsg_append(msg, &env);
        break;
    case F_FOUR:
        zmsg_append(msg, &env);
        zmsg_append(msg, &sig);
        zmsg_append(msg, &pk);
        zmsg_addmem(msg, junk, FL_KEY_BYTES);
        break;
    case F_NONE:
        break;
    case F_SIG_SHORT:
        zmsg_append(msg, &env);
        zmsg_addmem(msg, zframe_data(sig), FL_SIG_BYTES - 1);
        break;
    case F_SIG_LONG:
        zmsg_append(msg, &env);
        zmsg_addmem(msg, junk, FL_SIG_BYTES + 1);
        break;
    case F_SIG_EMPTY:
        zmsg_append(msg, &env);
        zmsg_addmem(msg, junk, 0);
        break;
    case F_PK_SHORT:
        zmsg_append(msg, &env);
        zmsg_append(msg, &sig);
        zmsg_addmem(msg, zframe_data(pk), FL_KEY_BYTES - 1);
        break;
    case F_PK_LONG:
        zmsg_append(msg, &env);
        zmsg_append(msg, &sig);
        zmsg_addmem(msg, junk, FL_KEY_BYTES + 1);
        break;
    case F_ENV_EMPTY: {
        zmsg_destroy(&msg);
        msg = s_signed(s_key, "", 0);
        break;
    }
    case F_ENV_HUGE: {
        size_t len = FL_MSG_MAX_BYTES + 1;
        char *big = fl_malloc(len);
        memset(big, ' ', len);
        big[0] = '{';
        big[len - 1] = '}';
        zmsg_destroy(&msg);
        msg = s_signed(s_key, big, len);
        free(big);
        break;
    }
    }
    zframe_destroy(&env);
    zframe_destroy(&sig);
    zframe_destroy(&pk);
    return msg;
}

START_TEST(test_msg_bad_frames)
{
    const s_frames_case_t *c = &s_frames_cases[_i];
    zmsg_t *msg = s_frames_msg(c->kind);
    zframe_t *env = NULL, *sig = NULL, *pk = NULL;
    fl_msg_err_t got = fl_msg_split(msg, &env, &sig, &pk);
    ck_assert_msg(got == c->want, "%s: got %s, wanted %s", c->name, fl_msg_err_name(got),
                  fl_msg_err_name(c->want));
    zmsg_destroy(&msg);
}
END_TEST

START_TEST(test_msg_open_oversized)
{
    /* fl_msg_open checks the size itself too, before the signature. */
    size_t len = FL_MSG_MAX_BYTES + 1;
    char *big = fl_malloc(len);
    memset(big, 'a', len);
    zmsg_t *msg = s_signed(s_key, big, len);
    zframe_t *env = zmsg_first(msg);
    zframe_t *sig = zmsg_next(msg);
    fl_msg_t *m = (fl_msg_t *) 1;
    ck_assert_int_eq(fl_msg_open(env, sig, fl_key_public(s_key), &m), FL_MSG_E_SIZE);
    ck_assert_ptr_null(m);
    zmsg_destroy(&msg);
    free(big);
}
END_TEST

START_TEST(test_msg_max_size_accepted)
{
    /* Exactly FL_MSG_MAX_BYTES is still parsed. */
    const char *head = "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,"
                       "\"body\":{\"pad\":\"";
    const char *tail = "\"}}";
    size_t len = FL_MSG_MAX_BYTES;
    char *text = fl_malloc(len);
    memset(text, 'x', len);
    memcpy(text, head, strlen(head));
    memcpy(text + len - strlen(tail), tail, strlen(tail));
    zmsg_t *msg = s_signed(s_key, text, len);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_OK);
    const char *pad = fl_json_str(fl_msg_body(m), "pad");
    ck_assert_ptr_nonnull(pad);
    ck_assert_uint_eq(strlen(pad), len - strlen(head) - strlen(tail));
    fl_msg_destroy(&m);
    zmsg_destroy(&msg);
    free(text);
}
END_TEST

//  --------------------------------------------------------------------------
//  Negative cases: signatures

START_TEST(test_msg_wrong_signer)
{
    /* Signed by another key than the one we trust for the peer. */
    zmsg_t *msg = fl_msg_encode(s_other, "job", "master", "s", 1, NULL, false);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_SIG);
    ck_assert_ptr_null(m);
    zmsg_destroy(&msg);
}
END_TEST

START_TEST(test_msg_flipped_bytes)
{
    zmsg_t *good = fl_msg_encode(s_key, "job", "master", "sid", 5, NULL, false);
    zframe_t *env = zmsg_first(good);
    zframe_t *sig = zmsg_next(good);
    size_t env_len = zframe_size(env);

    /* A flipped bit anywhere in the envelope. */
    for (size_t i = 0; i < env_len; i++) {
        uint8_t *copy = fl_malloc(env_len);
        memcpy(copy, zframe_data(env), env_len);
        copy[i] ^= 0x01;
        zmsg_t *msg = zmsg_new();
        zmsg_addmem(msg, copy, env_len);
        zmsg_addmem(msg, zframe_data(sig), FL_SIG_BYTES);
        fl_msg_t *m = NULL;
        fl_msg_err_t got = s_split_open(msg, fl_key_public(s_key), &m);
        ck_assert_msg(got == FL_MSG_E_SIG, "byte %zu: %s", i, fl_msg_err_name(got));
        zmsg_destroy(&msg);
        free(copy);
    }
    /* A flipped bit in the signature. */
    for (size_t i = 0; i < FL_SIG_BYTES; i += 7) {
        uint8_t copy[FL_SIG_BYTES];
        memcpy(copy, zframe_data(sig), FL_SIG_BYTES);
        copy[i] ^= 0x80;
        zmsg_t *msg = zmsg_new();
        zmsg_addmem(msg, zframe_data(env), env_len);
        zmsg_addmem(msg, copy, FL_SIG_BYTES);
        fl_msg_t *m = NULL;
        ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_SIG);
        zmsg_destroy(&msg);
    }
    /* An envelope with a byte appended or removed. */
    zmsg_t *msg = zmsg_new();
    zmsg_addmem(msg, zframe_data(env), env_len - 1);
    zmsg_addmem(msg, zframe_data(sig), FL_SIG_BYTES);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_SIG);
    zmsg_destroy(&msg);
    char *longer = fl_malloc(env_len + 1);
    memcpy(longer, zframe_data(env), env_len);
    longer[env_len] = ' ';
    msg = zmsg_new();
    zmsg_addmem(msg, longer, env_len + 1);
    zmsg_addmem(msg, zframe_data(sig), FL_SIG_BYTES);
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_SIG);
    zmsg_destroy(&msg);
    free(longer);

    /* Untouched, it still opens. */
    ck_assert_int_eq(s_split_open(good, fl_key_public(s_key), &m), FL_MSG_OK);
    fl_msg_destroy(&m);
    zmsg_destroy(&good);
}
END_TEST

//  --------------------------------------------------------------------------
//  Negative cases: validly signed but bad content (fl_msg_open)

#define HEAD "\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1"
#define OK_ENV "{" HEAD ",\"body\":{}}"

typedef struct {
    const char *name;
    const char *env;    /* NULL: built in the test (deep nesting) */
    int depth;          /* nesting of arrays inside body for env == NULL */
    fl_msg_err_t want;
} s_content_case_t;

static const s_content_case_t s_content_cases[] = {
    /* sanity: the template itself is fine */
    { "template", OK_ENV, 0, FL_MSG_OK },
    { "extra field", "{" HEAD ",\"body\":{},\"extra\":true}", 0, FL_MSG_OK },
    { "key order", "{\"body\":{\"a\":1},\"seq\":1,\"sid\":\"s\",\"from\":\"f\",\"type\":\"t\","
                   "\"v\":1}",
      0, FL_MSG_OK },
    { "depth 32", NULL, 30, FL_MSG_OK },

    /* not JSON, not an object, too deep */
    { "not json", "hello world", 0, FL_MSG_E_JSON },
    { "truncated", "{" HEAD ",\"body\":{}", 0, FL_MSG_E_JSON },
    { "trailing garbage", OK_ENV "x", 0, FL_MSG_E_JSON },
    { "two objects", OK_ENV OK_ENV, 0, FL_MSG_E_JSON },
    { "json array", "[" OK_ENV "]", 0, FL_MSG_E_JSON },
    { "json string", "\"hello\"", 0, FL_MSG_E_JSON },
    { "json number", "42", 0, FL_MSG_E_JSON },
    { "json null", "null", 0, FL_MSG_E_JSON },
    { "duplicate key", "{" HEAD ",\"type\":\"u\",\"body\":{}}", 0, FL_MSG_E_JSON },
    { "invalid utf-8", "{" HEAD ",\"body\":{\"x\":\"\xff\xfe\"}}", 0, FL_MSG_E_JSON },
    { "depth 33", NULL, 31, FL_MSG_E_JSON },
    { "depth 40", NULL, 40, FL_MSG_E_JSON },
    { "depth 1000", NULL, 1000, FL_MSG_E_JSON },

    /* envelope fields */
    { "empty object", "{}", 0, FL_MSG_E_FIELDS },
    { "missing type", "{\"v\":1,\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "missing from", "{\"v\":1,\"type\":\"t\",\"sid\":\"s\",\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "missing sid", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "missing seq", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "missing v", "{\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "missing body", "{" HEAD "}", 0, FL_MSG_E_FIELDS },
    { "empty type", "{\"v\":1,\"type\":\"\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "empty from", "{\"v\":1,\"type\":\"t\",\"from\":\"\",\"sid\":\"s\",\"seq\":1,\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "type number", "{\"v\":1,\"type\":1,\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "from null", "{\"v\":1,\"type\":\"t\",\"from\":null,\"sid\":\"s\",\"seq\":1,\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "sid number", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":5,\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "negative seq", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":-1,"
                      "\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "seq string", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":\"1\","
                    "\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "seq real", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1.5,"
                  "\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "seq true", "{\"v\":1,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":true,"
                  "\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "v 0", "{\"v\":0,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "v 2", "{\"v\":2,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}", 0,
      FL_MSG_E_FIELDS },
    { "v string", "{\"v\":\"1\",\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,"
                  "\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "v real", "{\"v\":1.0,\"type\":\"t\",\"from\":\"f\",\"sid\":\"s\",\"seq\":1,\"body\":{}}",
      0, FL_MSG_E_FIELDS },
    { "body array", "{" HEAD ",\"body\":[]}", 0, FL_MSG_E_FIELDS },
    { "body string", "{" HEAD ",\"body\":\"{}\"}", 0, FL_MSG_E_FIELDS },
    { "body null", "{" HEAD ",\"body\":null}", 0, FL_MSG_E_FIELDS },
    { "body number", "{" HEAD ",\"body\":0}", 0, FL_MSG_E_FIELDS },
};

/*  An envelope whose body holds DEPTH nested arrays: the envelope's depth is
    DEPTH + 2 (envelope object, body object, arrays). */
static char *
s_deep_env(int depth)
{
    size_t head = strlen("{" HEAD ",\"body\":{\"a\":");
    char *text = fl_malloc(head + 2 * (size_t) depth + 3);
    char *p = text + sprintf(text, "{" HEAD ",\"body\":{\"a\":");
    for (int i = 0; i < depth; i++) {
        *p++ = '[';
    }
    for (int i = 0; i < depth; i++) {
        *p++ = ']';
    }
    strcpy(p, "}}");
    return text;
}

START_TEST(test_msg_bad_content)
{
    const s_content_case_t *c = &s_content_cases[_i];
    char *text = c->env ? fl_strdup(c->env) : s_deep_env(c->depth);
    zmsg_t *msg = s_signed(s_key, text, strlen(text));
    fl_msg_t *m = (fl_msg_t *) 1;
    fl_msg_err_t got = s_split_open(msg, fl_key_public(s_key), &m);
    ck_assert_msg(got == c->want, "%s: got %s, wanted %s", c->name, fl_msg_err_name(got),
                  fl_msg_err_name(c->want));
    if (got == FL_MSG_OK) {
        ck_assert_str_eq(fl_msg_type(m), "t");
        ck_assert_str_eq(fl_msg_from(m), "f");
        fl_msg_destroy(&m);
    } else {
        ck_assert_ptr_null(m);
    }
    zmsg_destroy(&msg);
    free(text);
}
END_TEST

START_TEST(test_msg_signature_checked_before_parse)
{
    /* Bad JSON signed by a stranger reports the signature, not the JSON:
       nothing from an unverified peer reaches the parser. */
    const char *text = "this is not json";
    zmsg_t *msg = s_signed(s_other, text, strlen(text));
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_SIG);
    zmsg_destroy(&msg);

    /* Likewise for a nesting bomb. */
    char *deep = s_deep_env(100000);
    msg = s_signed(s_other, deep, strlen(deep));
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_SIG);
    zmsg_destroy(&msg);
    free(deep);
}
END_TEST

START_TEST(test_msg_binary_envelope)
{
    /* Embedded NULs and random bytes, validly signed: refused as JSON. */
    const uint8_t bin[] = { '{', 0, '}', 0xff, 0x00, 0x10 };
    zmsg_t *msg = s_signed(s_key, bin, sizeof bin);
    fl_msg_t *m = NULL;
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_JSON);
    zmsg_destroy(&msg);

    const char with_nul[] = "{" HEAD ",\"body\":{}}\0trailing";
    msg = s_signed(s_key, with_nul, sizeof with_nul - 1);
    ck_assert_int_eq(s_split_open(msg, fl_key_public(s_key), &m), FL_MSG_E_JSON);
    zmsg_destroy(&msg);
}
END_TEST

Suite *suite_msg(void);

Suite *
suite_msg(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("msg");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_msg_usage);
    tcase_add_test(tc, test_msg_envelope_bytes);
    tcase_add_test(tc, test_msg_with_pubkey);
    tcase_add_test(tc, test_msg_null_body);
    tcase_add_test(tc, test_msg_body_borrowed);
    tcase_add_test(tc, test_msg_seq_range);
    tcase_add_test(tc, test_msg_unicode_fields);
    tcase_add_test(tc, test_msg_err_names);
    tcase_add_loop_test(tc, test_msg_bad_frames, 0, (int) FL_ARRAY_LEN(s_frames_cases));
    tcase_add_test(tc, test_msg_open_oversized);
    tcase_add_test(tc, test_msg_max_size_accepted);
    tcase_add_test(tc, test_msg_wrong_signer);
    tcase_add_test(tc, test_msg_flipped_bytes);
    tcase_add_loop_test(tc, test_msg_bad_content, 0, (int) FL_ARRAY_LEN(s_content_cases));
    tcase_add_test(tc, test_msg_signature_checked_before_parse);
    tcase_add_test(tc, test_msg_binary_envelope);
    suite_add_tcase(s, tc);
    return s;
}
