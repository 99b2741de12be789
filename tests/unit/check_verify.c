/*  check_verify.c: a burst's signatures verified on several threads
    (fl_verifier). */
#include "fl_test.h"
#include "fl_verify.h"

#include <sodium.h>

enum { N = 300 };

typedef struct {
    uint8_t pk[2][FL_KEY_BYTES];
    uint8_t sk[2][crypto_sign_SECRETKEYBYTES];
    char data[N][40];
    uint8_t sig[N][crypto_sign_BYTES];
    bool expect[N];
    fl_verify_task_t tasks[N];
} s_burst_t;

/*  Every third message is signed by the other key than the task names,
    every seventh has a flipped byte, every eleventh is not wanted. */
static s_burst_t *
s_burst_new(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    s_burst_t *b = fl_calloc(1, sizeof *b);
    for (int k = 0; k < 2; k++) {
        crypto_sign_keypair(b->pk[k], b->sk[k]);
    }
    for (int i = 0; i < N; i++) {
        int len = snprintf(b->data[i], sizeof b->data[i], "message %d of the burst", i);
        int signer = i % 3 == 0 ? 1 : 0;
        crypto_sign_detached(b->sig[i], NULL, (const uint8_t *) b->data[i], (size_t) len,
                             b->sk[signer]);
        fl_verify_task_t *t = &b->tasks[i];
        memcpy(t->pk, b->pk[0], FL_KEY_BYTES);
        t->data = (const uint8_t *) b->data[i];
        t->len = (size_t) len;
        t->sig = b->sig[i];
        t->wanted = i % 11 != 0;
        t->ok = false;
        if (i % 7 == 0) {
            b->sig[i][5] ^= 0x40;
        }
        b->expect[i] = t->wanted && signer == 0 && i % 7 != 0;
    }
    return b;
}

static void
s_check(const s_burst_t *b)
{
    for (int i = 0; i < N; i++) {
        ck_assert_msg(b->tasks[i].ok == b->expect[i], "task %d: ok %d, expected %d", i,
                      b->tasks[i].ok, b->expect[i]);
    }
}

START_TEST(test_verify_usage)
{
    fl_verifier_t *v = fl_verifier_new(1);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(fl_verifier_helpers(v), 1);
    s_burst_t *b = s_burst_new();
    fl_verifier_run(v, b->tasks, N);
    s_check(b);
    free(b);
    fl_verifier_destroy(&v);
    ck_assert_ptr_null(v);
}
END_TEST

/*  The same answers alone, with one helper and with more helpers than
    cores, over many runs in a row (a helper that wakes late must neither
    miss a run's tasks nor touch a finished run's). */
START_TEST(test_verify_any_thread_count)
{
    static const size_t helpers[] = { 0, 1, 3, 8 };
    for (size_t h = 0; h < sizeof helpers / sizeof helpers[0]; h++) {
        fl_verifier_t *v = fl_verifier_new(helpers[h]);
        ck_assert_ptr_nonnull(v);
        for (int run = 0; run < 50; run++) {
            s_burst_t *b = s_burst_new();
            size_t n = (size_t) (run * 37) % N + 1;
            fl_verifier_run(v, b->tasks, n);
            for (size_t i = 0; i < n; i++) {
                ck_assert(b->tasks[i].ok == b->expect[i]);
            }
            for (size_t i = n; i < N; i++) {
                ck_assert(!b->tasks[i].ok);   /* beyond N: untouched */
            }
            free(b);
        }
        fl_verifier_destroy(&v);
    }
}
END_TEST

START_TEST(test_verify_empty_and_unwanted)
{
    fl_verifier_t *v = fl_verifier_new(2);
    fl_verifier_run(v, NULL, 0);
    s_burst_t *b = s_burst_new();
    for (int i = 0; i < N; i++) {
        b->tasks[i].wanted = false;
    }
    fl_verifier_run(v, b->tasks, N);
    for (int i = 0; i < N; i++) {
        ck_assert(!b->tasks[i].ok);
    }
    free(b);
    fl_verifier_destroy(&v);
    fl_verifier_destroy(&v);    /* NULL: nothing */
}
END_TEST

Suite *suite_verify(void);

Suite *
suite_verify(void)
{
    Suite *s = suite_create("verify");
    TCase *tc = tcase_create("verify");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_verify_usage);
    tcase_add_test(tc, test_verify_any_thread_count);
    tcase_add_test(tc, test_verify_empty_and_unwanted);
    suite_add_tcase(s, tc);
    return s;
}
