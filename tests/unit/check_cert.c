/*  check_cert.c: factory certificates signed by the fleet root (fl_cert). */
#include "fl_test.h"
#include "fl_cert.h"
#include "fl_json.h"
#include "fl_util.h"

#include <jansson.h>

#define NOW 1700000000LL
#define DAY 86400LL

static fl_key_t *s_root;
static fl_key_t *s_minion;

static void
s_setup(void)
{
    s_root = fl_key_generate();
    s_minion = fl_key_generate();
}

static void
s_teardown(void)
{
    fl_key_destroy(&s_minion);
    fl_key_destroy(&s_root);
}

/*  A certificate for pi-7 valid from a day ago for a year. */
static char *
s_issue(char serial[33])
{
    return fl_cert_issue(s_root, "pi-7", fl_key_public(s_minion), NOW - DAY, NOW + 365 * DAY,
                         serial);
}

/*  Parses TEXT, which must succeed. */
static fl_cert_t *
s_parse(const char *text)
{
    char *err = NULL;
    fl_cert_t *cert = fl_cert_parse(text, strlen(text), &err);
    ck_assert_msg(cert != NULL, "parse failed: %s", err ? err : "?");
    ck_assert_ptr_null(err);
    return cert;
}

/*  Verifies CERT against the test root at NOW; returns the error (caller
    frees) or NULL when it verifies. */
static char *
s_verify_err(const fl_cert_t *cert, const uint8_t *root_pk, int64_t now)
{
    char *err = NULL;
    int rc = fl_cert_verify(cert, root_pk, now, &err);
    if (rc == 0) {
        ck_assert_ptr_null(err);
        return NULL;
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(err);
    return err;
}

/*  The signed body text inside a document; caller frees. */
static char *
s_body_of(const char *doc_text)
{
    json_error_t jerr;
    json_t *doc = json_loads(doc_text, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    char *body = fl_strdup(fl_json_str(doc, "cert"));
    json_decref(doc);
    return body;
}

static char *
s_sig_of(const char *doc_text)
{
    json_error_t jerr;
    json_t *doc = json_loads(doc_text, 0, &jerr);
    ck_assert_ptr_nonnull(doc);
    char *sig = fl_strdup(fl_json_str(doc, "sig"));
    json_decref(doc);
    return sig;
}

/*  A document from a body text and a signature in hex. */
static char *
s_make_doc(const char *body, const char *sig_hex)
{
    json_t *doc = json_pack("{s:s, s:s}", "cert", body, "sig", sig_hex);
    ck_assert_ptr_nonnull(doc);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    return text;
}

/*  A document whose body is BODY signed by KEY (a valid signature). */
static char *
s_sign_doc(const fl_key_t *key, const char *body)
{
    uint8_t sig[FL_SIG_BYTES];
    fl_key_sign(key, body, strlen(body), sig);
    char hex[2 * FL_SIG_BYTES + 1];
    fl_hex_encode(sig, sizeof sig, hex);
    return s_make_doc(body, hex);
}

/*  TEXT with the first FROM replaced by TO; FROM must occur. */
static char *
s_replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    ck_assert_msg(at != NULL, "'%s' not in '%s'", from, text);
    return fl_sprintf("%.*s%s%s", (int) (at - text), text, to, at + strlen(from));
}

/*  The document DOC with its signed body edited (FROM -> TO) but the old
    signature kept. */
static char *
s_tamper(const char *doc, const char *from, const char *to)
{
    char *body = s_body_of(doc);
    char *sig = s_sig_of(doc);
    char *edited = s_replace(body, from, to);
    char *out = s_make_doc(edited, sig);
    free(edited);
    free(sig);
    free(body);
    return out;
}

//  The canonical usage: the root issues a certificate for a minion id and
//  key; the master parses what the minion sent and verifies it against the
//  root public key it trusts, at the current time.
START_TEST(test_cert_usage)
{
    char serial[33];
    char *doc = fl_cert_issue(s_root, "pi-7", fl_key_public(s_minion), NOW - 60,
                              NOW + 365 * DAY, serial);
    ck_assert_ptr_nonnull(doc);

    char *err = NULL;
    fl_cert_t *cert = fl_cert_parse(doc, strlen(doc), &err);
    ck_assert_ptr_nonnull(cert);
    ck_assert_int_eq(fl_cert_verify(cert, fl_key_public(s_root), NOW, &err), 0);
    ck_assert_ptr_null(err);

    ck_assert_str_eq(fl_cert_id(cert), "pi-7");
    ck_assert_mem_eq(fl_cert_key(cert), fl_key_public(s_minion), FL_KEY_BYTES);
    ck_assert_str_eq(fl_cert_serial(cert), serial);
    ck_assert_int_eq(fl_cert_not_after(cert), NOW + 365 * DAY);
    ck_assert_str_eq(fl_cert_text(cert), doc);

    fl_cert_destroy(&cert);
    ck_assert_ptr_null(cert);
    fl_cert_destroy(&cert);
    fl_cert_destroy(NULL);
    free(doc);
}
END_TEST

//  --------------------------------------------------------------------------
//  Issuing

START_TEST(test_cert_issue_document)
{
    char serial[33];
    memset(serial, 'X', sizeof serial);
    char *doc = s_issue(serial);

    /* The serial is 16 random bytes in hex; two certificates differ. */
    ck_assert_uint_eq(strlen(serial), 32);
    ck_assert_uint_eq(strspn(serial, "0123456789abcdef"), 32);
    char serial2[33];
    char *doc2 = s_issue(serial2);
    ck_assert_str_ne(serial, serial2);

    /* The document is {"cert": BODY, "sig": HEX}; the signature covers the
       exact body text, which is compact JSON naming the root. */
    json_error_t jerr;
    json_t *root = json_loads(doc, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_ptr_nonnull(root);
    ck_assert_uint_eq(json_object_size(root), 2);
    const char *body_text = fl_json_str(root, "cert");
    const char *sig_hex = fl_json_str(root, "sig");
    ck_assert_ptr_nonnull(body_text);
    ck_assert_ptr_nonnull(sig_hex);
    ck_assert_uint_eq(strlen(sig_hex), 2 * FL_SIG_BYTES);
    uint8_t sig[FL_SIG_BYTES];
    ck_assert_int_eq(fl_hex_decode(sig_hex, sig, sizeof sig), 0);
    ck_assert(fl_key_verify_raw(fl_key_public(s_root), body_text, strlen(body_text), sig));
    ck_assert_ptr_null(strchr(body_text, ' '));
    ck_assert_ptr_null(strchr(body_text, '\n'));

    json_t *body = json_loads(body_text, JSON_REJECT_DUPLICATES, &jerr);
    ck_assert_ptr_nonnull(body);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "v")), 1);
    ck_assert_str_eq(fl_json_str(body, "id"), "pi-7");
    ck_assert_str_eq(fl_json_str(body, "key"), fl_key_public_hex(s_minion));
    ck_assert_str_eq(fl_json_str(body, "root"), fl_key_public_hex(s_root));
    ck_assert_str_eq(fl_json_str(body, "serial"), serial);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "not_before")), NOW - DAY);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "not_after")), NOW + 365 * DAY);
    ck_assert_uint_eq(json_object_size(body), 7);

    /* Issued documents fit comfortably under the parse limit. */
    ck_assert_uint_lt(strlen(doc), FL_CERT_MAX_BYTES / 2);

    json_decref(body);
    json_decref(root);
    free(doc2);
    free(doc);
}
END_TEST

START_TEST(test_cert_odd_ids)
{
    static const char *ids[] = { "a", "web-01.example.com", "quote\"back\\slash", "caf\xc3\xa9",
                                 "tab\there", "x" };
    for (size_t i = 0; i < FL_ARRAY_LEN(ids); i++) {
        char serial[33];
        char *doc = fl_cert_issue(s_root, ids[i], fl_key_public(s_minion), NOW - 1, NOW + 1,
                                  serial);
        fl_cert_t *cert = s_parse(doc);
        ck_assert_str_eq(fl_cert_id(cert), ids[i]);
        char *err = s_verify_err(cert, fl_key_public(s_root), NOW);
        ck_assert_msg(err == NULL, "%s: %s", ids[i], err);
        fl_cert_destroy(&cert);
        free(doc);
    }
}
END_TEST

START_TEST(test_cert_parse_length_bounded)
{
    /* Only LEN bytes are read: the buffer need not be NUL-terminated. */
    char serial[33];
    char *doc = s_issue(serial);
    size_t len = strlen(doc);
    char *buf = fl_malloc(len + 16);
    memcpy(buf, doc, len);
    memcpy(buf + len, "trailing junk!!", 16);
    char *err = NULL;
    fl_cert_t *cert = fl_cert_parse(buf, len, &err);
    ck_assert_ptr_nonnull(cert);
    ck_assert_str_eq(fl_cert_text(cert), doc);
    ck_assert_ptr_null(s_verify_err(cert, fl_key_public(s_root), NOW));
    fl_cert_destroy(&cert);

    /* ...and the junk is refused when it is inside LEN. */
    cert = fl_cert_parse(buf, len + 15, &err);
    ck_assert_ptr_null(cert);
    ck_assert_ptr_nonnull(err);
    free(err);
    free(buf);
    free(doc);
}
END_TEST

START_TEST(test_cert_size_limit)
{
    char serial[33];
    char *doc = s_issue(serial);
    size_t len = strlen(doc);
    ck_assert_uint_lt(len, FL_CERT_MAX_BYTES);

    /* Padded with whitespace to exactly the limit: still parses. */
    char *padded = fl_malloc(FL_CERT_MAX_BYTES + 2);
    memcpy(padded, doc, len);
    memset(padded + len, ' ', FL_CERT_MAX_BYTES + 1 - len);
    padded[FL_CERT_MAX_BYTES] = '\0';
    fl_cert_t *cert = s_parse(padded);
    ck_assert_ptr_null(s_verify_err(cert, fl_key_public(s_root), NOW));
    fl_cert_destroy(&cert);

    /* One byte more: refused before parsing. */
    padded[FL_CERT_MAX_BYTES] = ' ';
    padded[FL_CERT_MAX_BYTES + 1] = '\0';
    char *err = NULL;
    ck_assert_ptr_null(fl_cert_parse(padded, FL_CERT_MAX_BYTES + 1, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "too large"));
    free(err);

    /* An id long enough to push an issued certificate past the limit. */
    char *long_id = fl_malloc(FL_CERT_MAX_BYTES);
    memset(long_id, 'i', FL_CERT_MAX_BYTES - 1);
    long_id[FL_CERT_MAX_BYTES - 1] = '\0';
    char *big = fl_cert_issue(s_root, long_id, fl_key_public(s_minion), NOW, NOW + 1, serial);
    err = NULL;
    ck_assert_ptr_null(fl_cert_parse(big, strlen(big), &err));
    ck_assert_ptr_nonnull(strstr(err, "too large"));
    free(err);
    free(big);
    free(long_id);
    free(padded);
    free(doc);
}
END_TEST

//  --------------------------------------------------------------------------
//  Verification

START_TEST(test_cert_foreign_root)
{
    char serial[33];
    char *doc = s_issue(serial);
    fl_cert_t *cert = s_parse(doc);
    fl_key_t *other = fl_key_generate();
    char *err = s_verify_err(cert, fl_key_public(other), NOW);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, "foreign root") != NULL, "%s", err);
    free(err);

    /* A certificate issued by another root (for the same id and key) is
       refused by our root. */
    char *doc2 = fl_cert_issue(other, "pi-7", fl_key_public(s_minion), NOW - DAY, NOW + DAY,
                               serial);
    fl_cert_t *cert2 = s_parse(doc2);
    err = s_verify_err(cert2, fl_key_public(s_root), NOW);
    ck_assert_ptr_nonnull(strstr(err, "foreign root"));
    free(err);

    /* Claiming our root in a body signed by the other root does not help. */
    char *forged_body = s_body_of(doc2);
    char *claimed = s_replace(forged_body, fl_key_public_hex(other), fl_key_public_hex(s_root));
    char *forged = s_sign_doc(other, claimed);
    fl_cert_t *cert3 = s_parse(forged);
    err = s_verify_err(cert3, fl_key_public(s_root), NOW);
    ck_assert_msg(strstr(err, "signature does not verify") != NULL, "%s", err);
    free(err);

    fl_cert_destroy(&cert3);
    free(forged);
    free(claimed);
    free(forged_body);
    fl_cert_destroy(&cert2);
    free(doc2);
    fl_key_destroy(&other);
    fl_cert_destroy(&cert);
    free(doc);
}
END_TEST

START_TEST(test_cert_validity_period)
{
    char serial[33];
    char *doc = fl_cert_issue(s_root, "pi-7", fl_key_public(s_minion), NOW, NOW + DAY, serial);
    fl_cert_t *cert = s_parse(doc);
    const uint8_t *root = fl_key_public(s_root);

    /* Both ends are inclusive. */
    ck_assert_ptr_null(s_verify_err(cert, root, NOW));
    ck_assert_ptr_null(s_verify_err(cert, root, NOW + DAY / 2));
    ck_assert_ptr_null(s_verify_err(cert, root, NOW + DAY));

    char *err = s_verify_err(cert, root, NOW - 1);
    ck_assert_msg(strstr(err, "not valid before") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, serial));
    free(err);

    err = s_verify_err(cert, root, NOW + DAY + 1);
    ck_assert_msg(strstr(err, "expired") != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, serial));
    free(err);

    err = s_verify_err(cert, root, 0);
    ck_assert_ptr_nonnull(strstr(err, "not valid before"));
    free(err);

    fl_cert_destroy(&cert);
    free(doc);

    /* Already expired when issued. */
    doc = fl_cert_issue(s_root, "old", fl_key_public(s_minion), NOW - 2 * DAY, NOW - DAY,
                        serial);
    cert = s_parse(doc);
    err = s_verify_err(cert, root, NOW);
    ck_assert_ptr_nonnull(strstr(err, "expired"));
    free(err);
    fl_cert_destroy(&cert);
    free(doc);

    /* Not yet valid. */
    doc = fl_cert_issue(s_root, "future", fl_key_public(s_minion), NOW + DAY, NOW + 2 * DAY,
                        serial);
    cert = s_parse(doc);
    err = s_verify_err(cert, root, NOW);
    ck_assert_ptr_nonnull(strstr(err, "not valid before"));
    free(err);
    fl_cert_destroy(&cert);
    free(doc);
}
END_TEST

typedef struct {
    const char *name;
    const char *from;   /* NULL: computed in the test */
    const char *to;
} s_tamper_case_t;

static const s_tamper_case_t s_tamper_cases[] = {
    { "id", "\"id\":\"pi-7\"", "\"id\":\"pi-8\"" },
    { "id prefix", "\"id\":\"pi-7\"", "\"id\":\"pi-77\"" },
    { "not_after", "\"not_after\":", "\"not_after\":9" },
    { "not_before", "\"not_before\":", "\"not_before\":-" },
    { "serial", "\"serial\":\"", "\"serial\":\"0" },
    { "key", NULL, NULL },
};

START_TEST(test_cert_tampered_body)
{
    const s_tamper_case_t *c = &s_tamper_cases[_i];
    char serial[33];
    char *doc = s_issue(serial);
    char *bad;
    if (c->from) {
        bad = s_tamper(doc, c->from, c->to);
    } else {
        /* Swap in another key of the same shape. */
        fl_key_t *other = fl_key_generate();
        bad = s_tamper(doc, fl_key_public_hex(s_minion), fl_key_public_hex(other));
        fl_key_destroy(&other);
    }
    /* Structurally fine: parse accepts it; the signature check refuses it. */
    char *err = NULL;
    fl_cert_t *cert = fl_cert_parse(bad, strlen(bad), &err);
    ck_assert_msg(cert != NULL, "%s: %s", c->name, err ? err : "");
    err = s_verify_err(cert, fl_key_public(s_root), NOW);
    ck_assert_msg(err != NULL, "tampered %s verifies", c->name);
    ck_assert_msg(strstr(err, "signature does not verify") != NULL, "%s: %s", c->name, err);
    free(err);
    fl_cert_destroy(&cert);
    free(bad);
    free(doc);
}
END_TEST

START_TEST(test_cert_tampered_id_parsed)
{
    /* The parsed id is the tampered one: callers must not use it before
       fl_cert_verify succeeds. */
    char serial[33];
    char *doc = s_issue(serial);
    char *bad = s_tamper(doc, "\"id\":\"pi-7\"", "\"id\":\"pi-8\"");
    fl_cert_t *cert = s_parse(bad);
    ck_assert_str_eq(fl_cert_id(cert), "pi-8");
    char *err = s_verify_err(cert, fl_key_public(s_root), NOW);
    ck_assert_ptr_nonnull(err);
    free(err);
    fl_cert_destroy(&cert);
    free(bad);
    free(doc);
}
END_TEST

START_TEST(test_cert_tampered_signature)
{
    char serial[33];
    char *doc = s_issue(serial);
    char *body = s_body_of(doc);
    char *sig = s_sig_of(doc);

    /* One changed hex digit, at the start, middle and end. */
    size_t positions[] = { 0, FL_SIG_BYTES, 2 * FL_SIG_BYTES - 1 };
    for (size_t i = 0; i < FL_ARRAY_LEN(positions); i++) {
        char *bad_sig = fl_strdup(sig);
        char *p = &bad_sig[positions[i]];
        *p = *p == '0' ? '1' : '0';
        char *bad = s_make_doc(body, bad_sig);
        fl_cert_t *cert = s_parse(bad);
        char *err = s_verify_err(cert, fl_key_public(s_root), NOW);
        ck_assert_ptr_nonnull(strstr(err, "signature does not verify"));
        free(err);
        fl_cert_destroy(&cert);
        free(bad);
        free(bad_sig);
    }

    /* A valid signature from another certificate of the same root. */
    char serial2[33];
    char *doc2 = fl_cert_issue(s_root, "pi-8", fl_key_public(s_minion), NOW - DAY, NOW + DAY,
                               serial2);
    char *sig2 = s_sig_of(doc2);
    char *swapped = s_make_doc(body, sig2);
    fl_cert_t *cert = s_parse(swapped);
    char *err = s_verify_err(cert, fl_key_public(s_root), NOW);
    ck_assert_ptr_nonnull(strstr(err, "signature does not verify"));
    free(err);
    fl_cert_destroy(&cert);

    /* Re-serialising the body (same meaning, other bytes) breaks it too. */
    json_error_t jerr;
    json_t *parsed = json_loads(body, 0, &jerr);
    char *pretty = json_dumps(parsed, JSON_INDENT(1));
    char *reformatted = s_make_doc(pretty, sig);
    cert = s_parse(reformatted);
    err = s_verify_err(cert, fl_key_public(s_root), NOW);
    ck_assert_ptr_nonnull(strstr(err, "signature does not verify"));
    free(err);
    fl_cert_destroy(&cert);

    free(reformatted);
    free(pretty);
    json_decref(parsed);
    free(swapped);
    free(sig2);
    free(doc2);
    free(sig);
    free(body);
    free(doc);
}
END_TEST

//  --------------------------------------------------------------------------
//  Malformed documents

#define BAD_DOC "not a JSON object"
#define BAD_SIG "lacks 'cert' or a 64-byte 'sig'"
#define BAD_BODY "body is malformed"

/*  Document cases: DOC is a template where @BODY@ stands for a valid body
    as a JSON string and @SIG@ for its valid signature in hex.  Body cases
    (DOC NULL): FIELD of a valid body is deleted (VALUE NULL) or replaced by
    the JSON VALUE, and the result is validly signed by the root. */
typedef struct {
    const char *name;
    const char *doc;
    const char *field;
    const char *value;
    const char *want;
} s_bad_case_t;

static const s_bad_case_t s_bad_cases[] = {
    { "empty", "", NULL, NULL, BAD_DOC },
    { "not json", "hello", NULL, NULL, BAD_DOC },
    { "truncated", "{\"cert\": @BODY@, \"sig\": \"@SIG@\"", NULL, NULL, BAD_DOC },
    { "array", "[@BODY@, \"@SIG@\"]", NULL, NULL, BAD_DOC },
    { "string", "@BODY@", NULL, NULL, BAD_DOC },
    { "number", "42", NULL, NULL, BAD_DOC },
    { "null", "null", NULL, NULL, BAD_DOC },
    { "duplicate cert", "{\"cert\": @BODY@, \"cert\": @BODY@, \"sig\": \"@SIG@\"}", NULL, NULL,
      BAD_DOC },
    { "trailing garbage", "{\"cert\": @BODY@, \"sig\": \"@SIG@\"} x", NULL, NULL, BAD_DOC },
    { "empty object", "{}", NULL, NULL, BAD_SIG },
    { "missing sig", "{\"cert\": @BODY@}", NULL, NULL, BAD_SIG },
    { "missing cert", "{\"sig\": \"@SIG@\"}", NULL, NULL, BAD_SIG },
    { "cert not string", "{\"cert\": {\"v\": 1}, \"sig\": \"@SIG@\"}", NULL, NULL, BAD_SIG },
    { "sig not string", "{\"cert\": @BODY@, \"sig\": 12}", NULL, NULL, BAD_SIG },
    { "sig empty", "{\"cert\": @BODY@, \"sig\": \"\"}", NULL, NULL, BAD_SIG },
    { "sig short", "{\"cert\": @BODY@, \"sig\": \"@SIG@\"}", "sig", "-2", BAD_SIG },
    { "sig long", "{\"cert\": @BODY@, \"sig\": \"@SIG@00\"}", NULL, NULL, BAD_SIG },
    { "sig not hex", "{\"cert\": @BODY@, \"sig\": \"@SIG@\"}", "sig", "zz", BAD_SIG },
    { "body not json", "{\"cert\": \"hello\", \"sig\": \"@SIG@\"}", NULL, NULL, BAD_BODY },
    { "body empty", "{\"cert\": \"\", \"sig\": \"@SIG@\"}", NULL, NULL, BAD_BODY },
    { "body array", "{\"cert\": \"[1]\", \"sig\": \"@SIG@\"}", NULL, NULL, BAD_BODY },
    { "no v", NULL, "v", NULL, BAD_BODY },
    { "v 2", NULL, "v", "2", BAD_BODY },
    { "v string", NULL, "v", "\"1\"", BAD_BODY },
    { "v real", NULL, "v", "1.0", BAD_BODY },
    { "no id", NULL, "id", NULL, BAD_BODY },
    { "id number", NULL, "id", "7", BAD_BODY },
    { "no key", NULL, "key", NULL, BAD_BODY },
    { "key short", NULL, "key", "\"abcd\"", BAD_BODY },
    { "key not hex", NULL, "key",
      "\"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"", BAD_BODY },
    { "no serial", NULL, "serial", NULL, BAD_BODY },
    { "serial number", NULL, "serial", "5", BAD_BODY },
    { "no not_before", NULL, "not_before", NULL, BAD_BODY },
    { "not_before string", NULL, "not_before", "\"1700000000\"", BAD_BODY },
    { "no not_after", NULL, "not_after", NULL, BAD_BODY },
    { "not_after real", NULL, "not_after", "1.5e9", BAD_BODY },
    { "not_after null", NULL, "not_after", "null", BAD_BODY },
    { "no root", NULL, "root", NULL, BAD_BODY },
    { "root short", NULL, "root", "\"00\"", BAD_BODY },
};

/*  Builds the text of bad case C; caller frees. */
static char *
s_bad_doc(const s_bad_case_t *c)
{
    char serial[33];
    char *doc = s_issue(serial);
    char *body = s_body_of(doc);
    char *sig = s_sig_of(doc);
    char *out;
    if (c->doc) {
        if (c->field && strcmp(c->field, "sig") == 0) {
            /* Damage the signature: a negative VALUE drops that many
               digits, otherwise VALUE replaces the first digits. */
            if (c->value[0] == '-') {
                sig[strlen(sig) - (size_t) atoi(c->value + 1)] = '\0';
            } else {
                memcpy(sig, c->value, strlen(c->value));
            }
        }
        json_t *body_str = json_string(body);
        char *body_json = json_dumps(body_str, JSON_ENCODE_ANY);
        json_decref(body_str);
        char *text = fl_strdup(c->doc);
        while (strstr(text, "@BODY@")) {
            char *next = s_replace(text, "@BODY@", body_json);
            free(text);
            text = next;
        }
        while (strstr(text, "@SIG@")) {
            char *next = s_replace(text, "@SIG@", sig);
            free(text);
            text = next;
        }
        free(body_json);
        out = text;
    } else {
        json_error_t jerr;
        json_t *obj = json_loads(body, 0, &jerr);
        ck_assert_ptr_nonnull(obj);
        if (c->value) {
            json_t *value = json_loads(c->value, JSON_DECODE_ANY, &jerr);
            ck_assert_msg(value != NULL, "bad test value %s", c->value);
            json_object_set_new(obj, c->field, value);
        } else {
            ck_assert_int_eq(json_object_del(obj, c->field), 0);
        }
        char *edited = fl_json_compact(obj);
        json_decref(obj);
        out = s_sign_doc(s_root, edited);
        free(edited);
    }
    free(sig);
    free(body);
    free(doc);
    return out;
}

START_TEST(test_cert_malformed)
{
    const s_bad_case_t *c = &s_bad_cases[_i];
    char *text = s_bad_doc(c);
    char *err = NULL;
    fl_cert_t *cert = fl_cert_parse(text, strlen(text), &err);
    ck_assert_msg(cert == NULL, "'%s' accepted: %s", c->name, text);
    ck_assert_msg(err != NULL && *err, "'%s' refused without a message", c->name);
    ck_assert_msg(strstr(err, c->want) != NULL, "'%s': got '%s', wanted '%s'", c->name, err,
                  c->want);
    free(err);
    free(text);
}
END_TEST

START_TEST(test_cert_extra_fields_ignored)
{
    /* Unknown fields in a validly signed body are tolerated (forward
       compatibility); the signature still covers them. */
    char serial[33];
    char *doc = s_issue(serial);
    char *body = s_body_of(doc);
    char *edited = s_replace(body, "{", "{\"extra\":[1,2],");
    char *signed_doc = s_sign_doc(s_root, edited);
    fl_cert_t *cert = s_parse(signed_doc);
    ck_assert_ptr_null(s_verify_err(cert, fl_key_public(s_root), NOW));
    ck_assert_str_eq(fl_cert_id(cert), "pi-7");
    fl_cert_destroy(&cert);
    free(signed_doc);
    free(edited);
    free(body);
    free(doc);
}
END_TEST

Suite *suite_cert(void);

Suite *
suite_cert(void)
{
    Suite *s = suite_create("cert");
    TCase *tc = tcase_create("cert");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_cert_usage);
    tcase_add_test(tc, test_cert_issue_document);
    tcase_add_test(tc, test_cert_odd_ids);
    tcase_add_test(tc, test_cert_parse_length_bounded);
    tcase_add_test(tc, test_cert_size_limit);
    tcase_add_test(tc, test_cert_foreign_root);
    tcase_add_test(tc, test_cert_validity_period);
    tcase_add_loop_test(tc, test_cert_tampered_body, 0, (int) FL_ARRAY_LEN(s_tamper_cases));
    tcase_add_test(tc, test_cert_tampered_id_parsed);
    tcase_add_test(tc, test_cert_tampered_signature);
    tcase_add_loop_test(tc, test_cert_malformed, 0, (int) FL_ARRAY_LEN(s_bad_cases));
    tcase_add_test(tc, test_cert_extra_fields_ignored);
    suite_add_tcase(s, tc);
    return s;
}
