/*  check_secmem.c: the pool in front of libsodium's guarded allocations
    (fl_secmem), which check_fleet links as fleet-master does. */
#include "fl_test.h"
#include "fl_secmem.h"

#include <czmq.h>
#include <signal.h>
#include <sodium.h>

/*  A freed block is wiped and handed out again for the same size. */
START_TEST(test_secmem_usage)
{
    fl_secmem_stats_t before = fl_secmem_stats();
    unsigned char *a = sodium_allocarray(48, 1);
    ck_assert_ptr_nonnull(a);
    memset(a, 0xA5, 48);
    sodium_free(a);
    fl_secmem_stats_t freed = fl_secmem_stats();
    ck_assert_uint_eq(freed.kept, before.kept + 1);

    unsigned char *b = sodium_malloc(48);
    ck_assert_ptr_eq(b, a);
    for (size_t i = 0; i < 48; i++) {
        ck_assert_uint_eq(b[i], 0);
    }
    ck_assert_uint_eq(fl_secmem_stats().reused, freed.reused + 1);
    /* Another size gets a block of its own. */
    unsigned char *c = sodium_malloc(80);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(c, b);
    memset(c, 1, 80);
    sodium_free(b);
    sodium_free(c);
}
END_TEST

START_TEST(test_secmem_edges)
{
    sodium_free(NULL);
    ck_assert_ptr_null(sodium_allocarray(SIZE_MAX / 2, 4));
    /* libsodium's own answer for zero bytes, freed by libsodium. */
    void *zero = sodium_malloc(0);
    sodium_free(zero);
    /* More blocks of one size than the pool keeps: the rest are unmapped. */
    enum { N = 300 };
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = sodium_malloc(24);
        ck_assert_ptr_nonnull(blocks[i]);
    }
    fl_secmem_stats_t before = fl_secmem_stats();
    for (int i = 0; i < N; i++) {
        sodium_free(blocks[i]);
    }
    uint64_t kept = fl_secmem_stats().kept - before.kept;
    ck_assert_uint_gt(kept, 0);
    ck_assert_uint_lt(kept, N);
}
END_TEST

/*  A second free of a kept block would hand it to two handshakes at once:
    it aborts, as libsodium's own free of an unmapped block would fault. */
START_TEST(test_secmem_double_free_aborts)
{
    void *a = sodium_malloc(40);
    ck_assert_ptr_nonnull(a);
    sodium_free(a);
    sodium_free(a);
}
END_TEST

/*  libzmq's CURVE handshake comes here, not to libsodium: the reason the
    pool exists.  If the executable stopped exporting the three functions,
    this fails. */
START_TEST(test_secmem_serves_libzmq_curve)
{
    zcert_t *server_cert = zcert_new();
    zcert_t *client_cert = zcert_new();
    zsock_t *server = zsock_new(ZMQ_PULL);
    zcert_apply(server_cert, server);
    zsock_set_curve_server(server, 1);
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    ck_assert_int_gt(port, 0);
    zsock_t *client = zsock_new(ZMQ_PUSH);
    zcert_apply(client_cert, client);
    zsock_set_curve_serverkey(client, zcert_public_txt(server_cert));
    fl_secmem_stats_t before = fl_secmem_stats();
    ck_assert_int_eq(zsock_connect(client, "tcp://127.0.0.1:%d", port), 0);
    zsock_set_rcvtimeo(server, 5000);
    ck_assert_int_eq(zstr_send(client, "through CURVE"), 0);
    char *got = zstr_recv(server);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, "through CURVE");
    zstr_free(&got);
    fl_secmem_stats_t after = fl_secmem_stats();
    ck_assert_uint_gt(after.mapped + after.reused, before.mapped + before.reused);
    ck_assert_uint_gt(after.kept, before.kept);
    zsock_destroy(&client);
    zsock_destroy(&server);
    zcert_destroy(&client_cert);
    zcert_destroy(&server_cert);
}
END_TEST

Suite *suite_secmem(void);

Suite *
suite_secmem(void)
{
    Suite *s = suite_create("secmem");
    TCase *tc = tcase_create("secmem");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_secmem_usage);
    tcase_add_test(tc, test_secmem_edges);
    tcase_add_test_raise_signal(tc, test_secmem_double_free_aborts, SIGABRT);
    tcase_add_test(tc, test_secmem_serves_libzmq_curve);
    suite_add_tcase(s, tc);
    return s;
}
