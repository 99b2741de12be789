/*  check_grains.c: core grains from a fake root_dir, static grains on top. */
#include "fl_test.h"
#include "fl_grains.h"
#include "fl_json.h"
#include "fl_util.h"

#include <sys/stat.h>

static char *s_root;

static void
s_setup(void)
{
    s_root = fl_test_tmpdir();
    char *etc = fl_sprintf("%s/etc", s_root);
    ck_assert_int_eq(mkdir(etc, 0755), 0);
    free(etc);
}

static void
s_teardown(void)
{
    fl_test_tmpdir_free(&s_root);
}

static void
s_write(const char *name, const char *text)
{
    free(fl_test_write(s_root, name, text));
}

static const char *
s_str(const json_t *grains, const char *key)
{
    const char *v = json_string_value(fl_json_lookup(grains, key));
    ck_assert_msg(v != NULL, "grain %s missing or not a string", key);
    return v;
}

static const char s_debian[] = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                               "NAME=\"Debian GNU/Linux\"\n"
                               "VERSION_ID=\"12\"\n"
                               "VERSION=\"12 (bookworm)\"\n"
                               "VERSION_CODENAME=bookworm\n"
                               "ID=debian\n";

START_TEST(test_grains_usage)
{
    /* A device described by files under a root_dir, plus static grains from
       minion.yaml that win over the core ones. */
    s_write("etc/os-release", s_debian);
    s_write("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    json_t *static_grains = json_pack("{s:s, s:s}", "role", "kiosk", "os", "Kiosk OS");

    json_t *grains = fl_grains_collect("pi-001", s_root, static_grains);
    ck_assert_ptr_nonnull(grains);
    ck_assert_str_eq(s_str(grains, "id"), "pi-001");
    ck_assert_str_eq(s_str(grains, "os"), "Kiosk OS");     /* static wins */
    ck_assert_str_eq(s_str(grains, "role"), "kiosk");
    ck_assert_str_eq(s_str(grains, "os_family"), "Debian");
    ck_assert_str_eq(s_str(grains, "osrelease"), "12");
    ck_assert_str_eq(s_str(grains, "oscodename"), "bookworm");
    ck_assert_str_eq(s_str(grains, "osfinger"), "Debian-12");
    ck_assert_int_eq(json_integer_value(json_object_get(grains, "osmajorrelease")), 12);
    ck_assert_str_eq(s_str(grains, "machine_id"), "0123456789abcdef0123456789abcdef");
    ck_assert_str_eq(s_str(grains, "kernel"), "Linux");
    ck_assert_str_eq(s_str(grains, "fleet_version"), FL_VERSION);
    json_decref(grains);
    json_decref(static_grains);
}
END_TEST

START_TEST(test_grains_core_without_static)
{
    s_write("etc/os-release", s_debian);
    json_t *grains = fl_grains_collect("pi-002", s_root, NULL);
    ck_assert_str_eq(s_str(grains, "os"), "Debian");
    ck_assert_str_eq(s_str(grains, "osfullname"), "Debian GNU/Linux");
    ck_assert(*s_str(grains, "kernelrelease"));
    ck_assert(*s_str(grains, "kernelversion"));
    ck_assert(*s_str(grains, "cpuarch"));
    ck_assert(*s_str(grains, "host"));
    ck_assert(*s_str(grains, "fqdn"));
    ck_assert_ptr_null(strchr(s_str(grains, "host"), '.'));
    ck_assert_int_ge(json_integer_value(json_object_get(grains, "num_cpus")), 1);
    ck_assert_int_gt(json_integer_value(json_object_get(grains, "mem_total")), 0);
    /* no machine-id file under this root: no grain rather than a made-up one */
    ck_assert_ptr_null(json_object_get(grains, "machine_id"));
    json_decref(grains);
}
END_TEST

START_TEST(test_grains_network)
{
    json_t *grains = fl_grains_collect("pi-003", s_root, NULL);
    const json_t *ipv4 = json_object_get(grains, "ipv4");
    const json_t *ipv6 = json_object_get(grains, "ipv6");
    const json_t *ifs = json_object_get(grains, "ip_interfaces");
    ck_assert(json_is_array(ipv4));
    ck_assert(json_is_array(ipv6));
    ck_assert(json_is_object(ifs));
    /* sorted and unique */
    for (size_t i = 1; i < json_array_size(ipv4); i++) {
        ck_assert_int_lt(strcmp(json_string_value(json_array_get(ipv4, i - 1)),
                                json_string_value(json_array_get(ipv4, i))),
                         0);
    }
    /* every address of ip_interfaces is in ipv4 or ipv6 */
    const char *name;
    json_t *list;
    json_object_foreach((json_t *) ifs, name, list) {
        ck_assert(json_is_array(list));
        size_t i;
        json_t *addr;
        json_array_foreach(list, i, addr) {
            const char *a = json_string_value(addr);
            bool found = false;
            const json_t *all = strchr(a, ':') ? ipv6 : ipv4;
            for (size_t j = 0; j < json_array_size(all) && !found; j++) {
                found = strcmp(a, json_string_value(json_array_get(all, j))) == 0;
            }
            ck_assert_msg(found, "%s of %s not in the address lists", a, name);
        }
    }
    const json_t *lo = fl_json_lookup(grains, "ip4_interfaces:lo");
    if (lo) {
        ck_assert_str_eq(json_string_value(json_array_get(lo, 0)), "127.0.0.1");
    }
    json_decref(grains);
}
END_TEST

typedef struct {
    const char *os_release;
    const char *os;
    const char *os_family;
    const char *osrelease;      /* NULL = no grain */
    const char *oscodename;     /* NULL = no grain */
    const char *osfinger;       /* NULL = no grain */
} s_os_case_t;

static const s_os_case_t s_os_cases[] = {
    { "ID=raspbian\nNAME=\"Raspbian GNU/Linux\"\nVERSION_ID=\"11\"\nVERSION_CODENAME=bullseye\n",
      "Raspbian", "Debian", "11", "bullseye", "Raspbian-11" },
    { "NAME=\"Ubuntu\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\nID=ubuntu\nID_LIKE=debian\n"
      "VERSION_ID=\"22.04\"\nUBUNTU_CODENAME=jammy\n",
      "Ubuntu", "Debian", "22.04", "jammy", "Ubuntu-22.04" },
    { "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n", "Alpine", "Alpine", "3.19.1", NULL,
      "Alpine-3" },
    { "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=39\n", "Fedora", "RedHat", "39", NULL,
      "Fedora-39" },
    { "NAME='Rocky Linux'\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n", "Rocky", "RedHat", "9.3", NULL,
      "Rocky-9" },
    /* unknown ID: os from NAME, family from ID_LIKE; codename from VERSION */
    { "# a comment\n\nNAME=\"Acme \\\"Edge\\\" OS\"\nID=acme\nID_LIKE=\"rhel fedora\"\n"
      "VERSION=\"2 (Ridge)\"\n",
      "Acme \"Edge\" OS", "RedHat", NULL, "ridge", NULL },
    /* unknown, nothing alike: its own family */
    { "NAME=Plain\nID=plain\n", "Plain", "Plain", NULL, NULL, NULL },
    /* Debian testing has no VERSION_ID */
    { "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_CODENAME=trixie\n", "Debian", "Debian", NULL,
      "trixie", NULL },
};

START_TEST(test_grains_os_table)
{
    const s_os_case_t *c = &s_os_cases[_i];
    s_write("etc/os-release", c->os_release);
    json_t *grains = fl_grains_collect("x", s_root, NULL);
    ck_assert_str_eq(s_str(grains, "os"), c->os);
    ck_assert_str_eq(s_str(grains, "os_family"), c->os_family);
    const char *keys[] = { "osrelease", "oscodename", "osfinger" };
    const char *want[] = { c->osrelease, c->oscodename, c->osfinger };
    for (size_t k = 0; k < FL_ARRAY_LEN(keys); k++) {
        const char *got = json_string_value(json_object_get(grains, keys[k]));
        if (want[k]) {
            ck_assert_msg(got && strcmp(got, want[k]) == 0, "case %d: %s is %s, want %s", _i,
                          keys[k], got ? got : "(none)", want[k]);
        } else {
            ck_assert_msg(!got, "case %d: %s is %s, want none", _i, keys[k], got);
        }
    }
    json_decref(grains);
}
END_TEST

START_TEST(test_grains_no_os_release)
{
    json_t *grains = fl_grains_collect("x", s_root, NULL);
    ck_assert_str_eq(s_str(grains, "os"), "Linux");
    ck_assert_str_eq(s_str(grains, "os_family"), "Linux");
    json_decref(grains);
}
END_TEST

START_TEST(test_grains_usr_lib_os_release_and_meminfo)
{
    char *dir = fl_sprintf("%s/usr/lib", s_root);
    ck_assert_int_eq(fl_mkdir_p(dir, 0755), 0);
    free(dir);
    s_write("usr/lib/os-release", "ID=alpine\nVERSION_ID=3.18\n");
    char *proc = fl_sprintf("%s/proc", s_root);
    ck_assert_int_eq(mkdir(proc, 0755), 0);
    free(proc);
    s_write("proc/meminfo", "MemTotal:        2048000 kB\nMemFree:          100 kB\n");
    json_t *grains = fl_grains_collect("x", s_root, NULL);
    ck_assert_str_eq(s_str(grains, "os"), "Alpine");
    ck_assert_int_eq(json_integer_value(json_object_get(grains, "mem_total")), 2000);
    json_decref(grains);
}
END_TEST

START_TEST(test_grains_static_override)
{
    s_write("etc/os-release", s_debian);
    json_t *static_grains = json_pack("{s:s, s:{s:[s]}, s:i}", "id", "renamed", "ip_interfaces",
                                      "wlan0", "10.0.0.9", "num_cpus", 64);
    json_t *grains = fl_grains_collect("pi-004", s_root, static_grains);
    ck_assert_str_eq(s_str(grains, "id"), "renamed");
    ck_assert_int_eq(json_integer_value(json_object_get(grains, "num_cpus")), 64);
    /* whole values are replaced, not merged */
    ck_assert_int_eq(json_object_size(json_object_get(grains, "ip_interfaces")), 1);
    const json_t *wlan0 = fl_json_lookup(grains, "ip_interfaces:wlan0");
    ck_assert_str_eq(json_string_value(json_array_get(wlan0, 0)), "10.0.0.9");
    /* the caller's object is left alone */
    ck_assert_int_eq(json_object_size(static_grains), 3);
    json_decref(grains);

    /* a static value that is not a mapping is ignored, not fatal */
    json_t *bad = json_string("role=kiosk");
    grains = fl_grains_collect("pi-004", s_root, bad);
    ck_assert_str_eq(s_str(grains, "id"), "pi-004");
    json_decref(grains);
    json_decref(bad);
    json_decref(static_grains);
}
END_TEST

Suite *suite_grains(void);

Suite *
suite_grains(void)
{
    Suite *s = suite_create("grains");
    TCase *tc = tcase_create("grains");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_grains_usage);
    tcase_add_test(tc, test_grains_core_without_static);
    tcase_add_test(tc, test_grains_network);
    tcase_add_loop_test(tc, test_grains_os_table, 0, (int) FL_ARRAY_LEN(s_os_cases));
    tcase_add_test(tc, test_grains_no_os_release);
    tcase_add_test(tc, test_grains_usr_lib_os_release_and_meminfo);
    tcase_add_test(tc, test_grains_static_override);
    suite_add_tcase(s, tc);
    return s;
}
