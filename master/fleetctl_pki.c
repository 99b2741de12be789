/*  fleetctl_pki.c: the factory PKI.  `pki init` makes the fleet root key
    (kept offline); `pki issue` writes a device bundle that a minion joins
    with and nothing else: its key, its certificate, the master's public key
    and a minion.yaml. */
#include "fleetctl.h"
#include "fl_cert.h"
#include "fl_keys.h"
#include "fl_util.h"

#include <getopt.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
s_usage(void)
{
    fprintf(stderr,
            "usage: fleetctl pki init DIR\n"
            "       fleetctl pki issue ID --root DIR --master-pub FILE --master tcp://HOST:PORT\n"
            "                (--out DIR | --image ROOTFS) [--days N] [--grain KEY=VALUE]...\n"
            "  --image ROOTFS writes the bundle where a device finds it at first boot:\n"
            "  ROOTFS/etc/fleet/bundle (fleet-minion --auto installs it and joins)\n");
    return CTL_USAGE;
}

static int
s_pki_init(const char *dir)
{
    if (fl_mkdir_p(dir, 0700) != 0) {
        fprintf(stderr, "fleetctl: %s: %s\n", dir, strerror(errno));
        return CTL_FAILED;
    }
    char *secret = fl_path_join(dir, "root.key");
    char *public = fl_path_join(dir, "root.pub");
    struct stat st;
    int rc = CTL_OK;
    if (stat(secret, &st) == 0) {
        fprintf(stderr, "fleetctl: %s exists: refusing to replace a fleet root key\n", secret);
        rc = CTL_FAILED;
    } else {
        fl_key_t *root = fl_key_generate();
        if (fl_key_save(root, secret, public) != 0) {
            fprintf(stderr, "fleetctl: %s: %s\n", secret, strerror(errno));
            rc = CTL_FAILED;
        } else {
            char fp[FL_FINGERPRINT_LEN];
            fl_key_fingerprint(root, fp);
            printf("fleet root key: %s (keep it offline)\npublic key:     %s\nfingerprint:    %s\n",
                   secret, public, fp);
        }
        fl_key_destroy(&root);
    }
    free(secret);
    free(public);
    return rc;
}

/*  A YAML double-quoted scalar: JSON's string syntax is valid YAML. */
static char *
s_yaml_quote(const char *text)
{
    json_t *s = json_string(text);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    return q;
}

static int
s_write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
    char *path = fl_path_join(dir, name);
    int rc = fl_file_write_atomic(path, text, strlen(text), mode);
    if (rc != 0) {
        fprintf(stderr, "fleetctl: %s: %s\n", path, strerror(errno));
    }
    free(path);
    return rc;
}

static bool
s_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 128) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!(*p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9')
              || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
            return false;
        }
    }
    return true;
}

static int
s_pki_issue(int argc, char **argv)
{
    static const struct option options[] = {
        { "root", required_argument, NULL, 'r' },  { "master-pub", required_argument, NULL, 'p' },
        { "master", required_argument, NULL, 'm' }, { "out", required_argument, NULL, 'o' },
        { "days", required_argument, NULL, 'd' },   { "grain", required_argument, NULL, 'g' },
        { "image", required_argument, NULL, 'i' },  { NULL, 0, NULL, 0 },
    };
    const char *root_dir = NULL, *master_pub = NULL, *master = NULL, *out = NULL;
    char *image_out = NULL;
    long days = 3650;
    json_t *grains = json_object();
    int opt, rc = CTL_USAGE;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'r': root_dir = optarg; break;
        case 'p': master_pub = optarg; break;
        case 'm': master = optarg; break;
        case 'o': out = optarg; break;
        case 'i':
            free(image_out);
            image_out = fl_path_join(optarg, "etc/fleet/bundle");
            break;
        case 'd': days = strtol(optarg, NULL, 10); break;
        case 'g': {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "fleetctl: --grain wants KEY=VALUE, got '%s'\n", optarg);
                goto done;
            }
            char *key = fl_strndup(optarg, (size_t) (eq - optarg));
            json_object_set_new(grains, key, fleetctl_parse_value(eq + 1));
            free(key);
            break;
        }
        default: goto usage;
        }
    }
    if (image_out && !out) {
        out = image_out;
    }
    if (optind != argc - 1 || !root_dir || !master_pub || !master || !out) {
        goto usage;
    }
    const char *id = argv[optind];
    if (!s_valid_id(id)) {
        fprintf(stderr, "fleetctl: '%s' is not a usable minion id (letters, digits, '-', '_', "
                        "'.'; at most 128)\n", id);
        goto done;
    }
    if (days < 1 || days > 36500) {
        fprintf(stderr, "fleetctl: --days must be 1..36500\n");
        goto done;
    }
    if (strncmp(master, "tcp://", 6) != 0 || !strrchr(master + 6, ':')) {
        fprintf(stderr, "fleetctl: --master wants tcp://HOST:PORT, got '%s'\n", master);
        goto done;
    }
    rc = CTL_FAILED;
    char *err = NULL;
    char *root_path = fl_path_join(root_dir, "root.key");
    fl_key_t *root = fl_key_load_secret(root_path, &err);
    free(root_path);
    fl_key_t *mpub = root ? fl_key_load_public(master_pub, &err) : NULL;
    if (!root || !mpub) {
        fprintf(stderr, "fleetctl: %s\n", err);
        free(err);
        fl_key_destroy(&root);
        goto done;
    }
    char *key_path = fl_path_join(out, "minion.key");
    struct stat st;
    if (stat(key_path, &st) == 0) {
        fprintf(stderr, "fleetctl: %s exists: refusing to overwrite a device's key\n", key_path);
        free(key_path);
        fl_key_destroy(&root);
        fl_key_destroy(&mpub);
        goto done;
    }
    if (fl_mkdir_p(out, 0700) != 0) {
        fprintf(stderr, "fleetctl: %s: %s\n", out, strerror(errno));
        free(key_path);
        fl_key_destroy(&root);
        fl_key_destroy(&mpub);
        goto done;
    }
    fl_key_t *minion = fl_key_generate();
    char *pub_path = fl_path_join(out, "minion.pub");
    int64_t now = fl_time_s();
    char serial[33];
    char *cert = fl_cert_issue(root, id, fl_key_public(minion), now - 300, now + days * 86400,
                               serial);
    char *master_line = fl_sprintf("%s\n", fl_key_public_hex(mpub));
    char *qid = s_yaml_quote(id), *qmaster = s_yaml_quote(master);
    char stamp[32];
    time_t t = (time_t) now;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    char *yaml = fl_sprintf("# fleet minion bundle for %s, issued %s, certificate %s\n"
                            "# Start with: fleet-minion -c minion.yaml (paths are relative to "
                            "this file)\n"
                            "id: %s\nmaster: %s\nmaster_pub: master.pub\nkey: minion.key\n"
                            "cert: minion.crt\ncache_dir: cache\n",
                            id, stamp, serial, qid, qmaster);
    if (json_object_size(grains) > 0) {
        char *g = json_dumps(grains, JSON_SORT_KEYS | JSON_COMPACT);
        char *more = fl_sprintf("%sgrains: %s\n", yaml, g);
        free(yaml);
        yaml = more;
        free(g);
    }
    if (fl_key_save(minion, key_path, pub_path) == 0
        && s_write_text(out, "minion.crt", cert, 0644) == 0
        && s_write_text(out, "master.pub", master_line, 0644) == 0
        && s_write_text(out, "minion.yaml", yaml, 0644) == 0) {
        printf("issued %s: certificate %s, valid %ld days\nbundle: %s\n", id, serial, days, out);
        rc = CTL_OK;
    } else {
        fprintf(stderr, "fleetctl: cannot write the bundle in %s: %s\n", out, strerror(errno));
    }
    free(yaml);
    free(qid);
    free(qmaster);
    free(master_line);
    free(cert);
    free(pub_path);
    free(key_path);
    fl_key_destroy(&minion);
    fl_key_destroy(&root);
    fl_key_destroy(&mpub);
done:
    json_decref(grains);
    free(image_out);
    return rc;
usage:
    json_decref(grains);
    free(image_out);
    return s_usage();
}

int
fleetctl_pki(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "init") == 0 && argc == 3) {
        return s_pki_init(argv[2]);
    }
    if (argc >= 3 && strcmp(argv[1], "issue") == 0) {
        return s_pki_issue(argc - 1, argv + 1);
    }
    return s_usage();
}
