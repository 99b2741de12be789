/*  fl_grains.c: the core grains, named and shaped as Salt names them so that
    targets and templates written for Salt read the same here.  Everything a
    test may want to fake is read under root_dir; uname, the host name, the
    CPU count and the network interfaces come from the running kernel. */
#include "fl_grains.h"
#include "fl_json.h"
#include "fl_log.h"
#include "fl_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

/*  Small text files only: a runaway /etc/os-release must not eat memory. */
#define S_MAX_FILE (64 * 1024)

static char *
s_root_path(const char *root_dir, const char *path)
{
    if (!root_dir || !*root_dir) {
        return fl_strdup(path);
    }
    return fl_sprintf("%s%s", root_dir, path);
}

static char *
s_read_root(const char *root_dir, const char *path)
{
    char *full = s_root_path(root_dir, path);
    char *text = fl_file_read(full, S_MAX_FILE, NULL);
    free(full);
    return text;
}

static void
s_trim(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char) s[len - 1])) {
        s[--len] = '\0';
    }
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, len - lead + 1);
}

/*  One os-release value: "double quoted" (with \ escapes), 'single
    quoted', or bare.  Returns a new string. */
static char *
s_os_release_value(const char *v)
{
    char *out = fl_malloc(strlen(v) + 1);
    size_t n = 0;
    if (*v == '"') {
        for (v++; *v && *v != '"'; v++) {
            if (*v == '\\' && v[1]) {
                v++;
            }
            out[n++] = *v;
        }
    } else if (*v == '\'') {
        for (v++; *v && *v != '\''; v++) {
            out[n++] = *v;
        }
    } else {
        while (*v && !isspace((unsigned char) *v)) {
            out[n++] = *v++;
        }
    }
    out[n] = '\0';
    return out;
}

/*  KEY=VALUE lines of os-release(5) as a JSON object of strings. */
static json_t *
s_os_release_parse(char *text)
{
    json_t *kv = json_object();
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        s_trim(line);
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq || eq == line) {
            continue;
        }
        *eq = '\0';
        char *value = s_os_release_value(eq + 1);
        /* values are meant to be UTF-8; a file that is not gets skipped
           rather than failing the whole collection */
        json_t *jv = json_string(value);
        if (jv) {
            json_object_set_new(kv, line, jv);
        }
        free(value);
    }
    return kv;
}

typedef struct {
    const char *id;
    const char *os;
    const char *os_family;
} s_os_name_t;

/*  os-release ID -> Salt's os and os_family. */
static const s_os_name_t s_os_names[] = {
    { "almalinux", "AlmaLinux", "RedHat" },
    { "alpine", "Alpine", "Alpine" },
    { "amzn", "Amazon", "RedHat" },
    { "arch", "Arch", "Arch" },
    { "centos", "CentOS", "RedHat" },
    { "debian", "Debian", "Debian" },
    { "devuan", "Devuan", "Debian" },
    { "fedora", "Fedora", "RedHat" },
    { "gentoo", "Gentoo", "Gentoo" },
    { "kali", "Kali", "Debian" },
    { "linuxmint", "Mint", "Debian" },
    { "manjaro", "Manjaro", "Arch" },
    { "nixos", "NixOS", "NixOS" },
    { "ol", "OEL", "RedHat" },
    { "openwrt", "OpenWrt", "OpenWrt" },
    { "opensuse", "openSUSE", "Suse" },
    { "opensuse-leap", "Leap", "Suse" },
    { "opensuse-tumbleweed", "openSUSE Tumbleweed", "Suse" },
    { "pop", "Pop", "Debian" },
    { "raspbian", "Raspbian", "Debian" },
    { "rhel", "RedHat", "RedHat" },
    { "rocky", "Rocky", "RedHat" },
    { "sles", "SUSE", "Suse" },
    { "ubuntu", "Ubuntu", "Debian" },
    { "void", "Void", "Void" },
};

static const s_os_name_t *
s_os_name(const char *id)
{
    for (size_t i = 0; id && i < FL_ARRAY_LEN(s_os_names); i++) {
        if (strcmp(s_os_names[i].id, id) == 0) {
            return &s_os_names[i];
        }
    }
    return NULL;
}

/*  The family of the first ID_LIKE entry we know ("rhel fedora" -> RedHat). */
static const char *
s_family_like(const char *id_like)
{
    if (!id_like) {
        return NULL;
    }
    char *copy = fl_strdup(id_like);
    const char *family = NULL;
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w && !family; w = strtok_r(NULL, " ", &save)) {
        const s_os_name_t *known = s_os_name(w);
        family = known ? known->os_family : NULL;
    }
    free(copy);
    return family;
}

/*  "22.04.3 LTS (Jammy Jellyfish)" -> "jammy": the first word in parentheses. */
static json_t *
s_codename_from_version(const char *version)
{
    const char *open = version ? strchr(version, '(') : NULL;
    if (!open) {
        return NULL;
    }
    open++;
    size_t n = strcspn(open, " ,)");
    char *word = fl_strndup(open, n);
    for (char *p = word; *p; p++) {
        *p = (char) tolower((unsigned char) *p);
    }
    json_t *v = n > 0 ? json_string(word) : NULL;
    free(word);
    return v;
}

static void
s_add_os_release_info(json_t *grains, const char *osrelease)
{
    /* Salt: osmajorrelease 12, osrelease_info [12, 5] for "12.5" */
    if (!isdigit((unsigned char) osrelease[0])) {
        return;
    }
    json_object_set_new(grains, "osmajorrelease", json_integer(strtol(osrelease, NULL, 10)));
    json_t *info = json_array();
    const char *p = osrelease;
    for (;;) {
        char *end;
        long part = strtol(p, &end, 10);
        if (end == p) {
            json_decref(info);
            return;
        }
        json_array_append_new(info, json_integer(part));
        if (*end == '\0') {
            break;
        }
        if (*end != '.') {
            json_decref(info);
            return;
        }
        p = end + 1;
    }
    json_object_set_new(grains, "osrelease_info", info);
}

static void
s_add_os(json_t *grains, const char *root_dir, const char *kernel)
{
    char *text = s_read_root(root_dir, "/etc/os-release");
    if (!text) {
        text = s_read_root(root_dir, "/usr/lib/os-release");
    }
    json_t *kv = text ? s_os_release_parse(text) : json_object();
    free(text);

    const char *id = fl_json_str(kv, "ID");
    const char *name = fl_json_str(kv, "NAME");
    const s_os_name_t *known = s_os_name(id);
    const char *os = known ? known->os : name ? name : id ? id : kernel;
    const char *family = known ? known->os_family : s_family_like(fl_json_str(kv, "ID_LIKE"));
    json_object_set_new(grains, "os", json_string(os));
    json_object_set_new(grains, "os_family", json_string(family ? family : os));
    if (name) {
        json_object_set_new(grains, "osfullname", json_string(name));
    }

    const char *osrelease = fl_json_str(kv, "VERSION_ID");
    if (osrelease) {
        json_object_set_new(grains, "osrelease", json_string(osrelease));
        s_add_os_release_info(grains, osrelease);
        /* Salt keeps the whole release for Ubuntu (Ubuntu-22.04), the major
           one elsewhere (Debian-12) */
        const json_t *major = json_object_get(grains, "osmajorrelease");
        char *finger = strcmp(os, "Ubuntu") == 0 || !major
                           ? fl_sprintf("%s-%s", os, osrelease)
                           : fl_sprintf("%s-%lld", os, (long long) json_integer_value(major));
        json_object_set_new(grains, "osfinger", json_string(finger));
        free(finger);
    }

    const char *codename = fl_json_str(kv, "VERSION_CODENAME");
    if (!codename) {
        codename = fl_json_str(kv, "UBUNTU_CODENAME");
    }
    json_t *jcode = codename ? json_string(codename)
                             : s_codename_from_version(fl_json_str(kv, "VERSION"));
    if (jcode) {
        json_object_set_new(grains, "oscodename", jcode);
    }
    json_decref(kv);
}

static void
s_add_uname(json_t *grains)
{
    struct utsname u;
    if (uname(&u) != 0) {
        fl_log_warn("grains: uname");
        json_object_set_new(grains, "kernel", json_string("Linux"));
        return;
    }
    json_object_set_new(grains, "kernel", json_string(u.sysname));
    json_object_set_new(grains, "kernelrelease", json_string(u.release));
    json_object_set_new(grains, "kernelversion", json_string(u.version));
    json_object_set_new(grains, "cpuarch", json_string(u.machine));
    json_object_set_new(grains, "nodename", json_string(u.nodename));
}

static void
s_add_hardware(json_t *grains, const char *root_dir)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    json_object_set_new(grains, "num_cpus", json_integer(cpus > 0 ? cpus : 1));

    /* A fake root may carry its own meminfo; most do not, then the real one. */
    char *path = s_root_path(root_dir, "/proc/meminfo");
    if (access(path, R_OK) != 0) {
        free(path);
        path = fl_strdup("/proc/meminfo");
    }
    char *text = fl_file_read(path, S_MAX_FILE, NULL);
    if (!text) {
        fl_log_warn("grains: %s", path);
    }
    const char *line = text ? strstr(text, "MemTotal:") : NULL;
    if (line) {
        long long kib = strtoll(line + strlen("MemTotal:"), NULL, 10);
        json_object_set_new(grains, "mem_total", json_integer(kib / 1024));
    }
    free(text);
    free(path);

    static const char *const id_files[] = { "/etc/machine-id", "/var/lib/dbus/machine-id" };
    for (size_t i = 0; i < FL_ARRAY_LEN(id_files); i++) {
        char *id = s_read_root(root_dir, id_files[i]);
        if (id) {
            s_trim(id);
        }
        json_t *jid = id && *id ? json_string(id) : NULL;
        free(id);
        if (jid) {
            json_object_set_new(grains, "machine_id", jid);
            break;
        }
    }
}

/*  host is the short name; fqdn asks the resolver for the canonical name
    (through /etc/hosts first on most devices, so no network wait there). */
static void
s_add_names(json_t *grains)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0) {
        fl_log_warn("grains: gethostname");
        snprintf(name, sizeof name, "localhost");
    }
    name[sizeof name - 1] = '\0';
    json_object_set_new(grains, "localhost", json_string(name));
    json_object_set_new(grains, "host", json_stringn(name, strcspn(name, ".")));

    char *fqdn = NULL;
    if (strchr(name, '.')) {
        fqdn = fl_strdup(name);
    } else {
        struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_family = AF_UNSPEC };
        struct addrinfo *res = NULL;
        if (getaddrinfo(name, NULL, &hints, &res) == 0 && res->ai_canonname
            && strcmp(res->ai_canonname, "localhost") != 0) {
            fqdn = fl_strdup(res->ai_canonname);
        }
        if (res) {
            freeaddrinfo(res);
        }
    }
    if (!fqdn) {
        fqdn = fl_strdup(name);
    }
    const char *dot = strchr(fqdn, '.');
    json_object_set_new(grains, "fqdn", json_string(fqdn));
    json_object_set_new(grains, "domain", json_string(dot ? dot + 1 : ""));
    free(fqdn);
}

static int
s_strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/*  Sorted, without duplicates: the same address on two interfaces is one
    address of the host. */
static json_t *
s_sorted_unique(const json_t *strings)
{
    size_t n = json_array_size(strings);
    const char **v = fl_calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i] = json_string_value(json_array_get(strings, i));
    }
    qsort(v, n, sizeof *v, s_strcmp_ptr);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) {
            json_array_append_new(out, json_string(v[i]));
        }
    }
    free(v);
    return out;
}

static json_t *
s_list_of(json_t *map, const char *iface)
{
    json_t *list = json_object_get(map, iface);
    if (!list) {
        list = json_array();
        json_object_set_new(map, iface, list);
    }
    return list;
}

static void
s_add_network(json_t *grains)
{
    json_t *ipv4 = json_array(), *ipv6 = json_array();
    json_t *ip4_if = json_object(), *ip6_if = json_object(), *hw_if = json_object();
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) {
        fl_log_warn("grains: getifaddrs");
        ifs = NULL;
    }
    for (struct ifaddrs *ifa = ifs; ifa; ifa = ifa->ifa_next) {
        /* every interface appears, even one without addresses (Salt does) */
        json_t *l4 = s_list_of(ip4_if, ifa->ifa_name);
        json_t *l6 = s_list_of(ip6_if, ifa->ifa_name);
        if (!ifa->ifa_addr) {
            continue;
        }
        char text[INET6_ADDRSTRLEN];
        int family = ifa->ifa_addr->sa_family;
        if (family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *) (void *) ifa->ifa_addr;
            if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text)) {
                json_array_append_new(l4, json_string(text));
                json_array_append_new(ipv4, json_string(text));
            }
        } else if (family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) (void *) ifa->ifa_addr;
            if (inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text)) {
                json_array_append_new(l6, json_string(text));
                json_array_append_new(ipv6, json_string(text));
            }
        } else if (family == AF_PACKET) {
            const struct sockaddr_ll *ll = (const struct sockaddr_ll *) (void *) ifa->ifa_addr;
            char mac[3 * sizeof ll->sll_addr] = "";
            size_t halen = ll->sll_halen < sizeof ll->sll_addr ? ll->sll_halen : sizeof ll->sll_addr;
            size_t off = 0;
            for (size_t i = 0; i < halen; i++) {
                off += (size_t) snprintf(mac + off, sizeof mac - off, "%s%02x", i ? ":" : "",
                                         ll->sll_addr[i]);
            }
            if (halen > 0) {
                json_object_set_new(hw_if, ifa->ifa_name, json_string(mac));
            }
        }
    }
    if (ifs) {
        freeifaddrs(ifs);
    }

    /* ip_interfaces: IPv4 addresses first, then IPv6, per interface */
    json_t *ip_if = json_object();
    const char *name;
    json_t *l4;
    json_object_foreach(ip4_if, name, l4) {
        json_t *both = json_deep_copy(l4);
        json_array_extend(both, json_object_get(ip6_if, name));
        json_object_set_new(ip_if, name, both);
    }
    json_object_set_new(grains, "ipv4", s_sorted_unique(ipv4));
    json_object_set_new(grains, "ipv6", s_sorted_unique(ipv6));
    json_object_set_new(grains, "ip_interfaces", ip_if);
    json_object_set_new(grains, "ip4_interfaces", ip4_if);
    json_object_set_new(grains, "ip6_interfaces", ip6_if);
    json_object_set_new(grains, "hwaddr_interfaces", hw_if);
    json_decref(ipv4);
    json_decref(ipv6);
}

json_t *
fl_grains_collect(const char *minion_id, const char *root_dir, const json_t *static_grains)
{
    json_t *grains = json_object();
    json_object_set_new(grains, "id", json_string(minion_id ? minion_id : ""));
    s_add_uname(grains);
    s_add_os(grains, root_dir, fl_json_str(grains, "kernel"));
    s_add_hardware(grains, root_dir);
    s_add_names(grains);
    s_add_network(grains);
    json_object_set_new(grains, "fleet_version", json_string(FL_VERSION));

    if (static_grains && !json_is_object(static_grains)) {
        fl_log_warnx("grains: static grains are not a mapping; ignored");
    } else if (static_grains) {
        /* static grains win, whole values at a time (as in Salt) */
        json_t *copy = json_deep_copy(static_grains);
        json_object_update(grains, copy);
        json_decref(copy);
    }
    return grains;
}
