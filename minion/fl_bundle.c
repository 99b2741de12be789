/*  fl_bundle.c: first-boot installation of a factory bundle. */
#include "fl_bundle.h"
#include "fl_cert.h"
#include "fl_config.h"
#include "fl_json.h"
#include "fl_keys.h"
#include "fl_log.h"
#include "fl_minion.h"
#include "fl_util.h"
#include "fl_yaml.h"

#include <sys/stat.h>
#include <unistd.h>

const char *const fl_bundle_default_dirs[] = {
    "/etc/fleet/bundle",
    "/boot/fleet-bundle",
    "/boot/firmware/fleet-bundle",
    NULL,
};

static const char *const s_files[] = { "minion.yaml", "minion.key", "minion.crt", "master.pub" };

/*  Copies SRC to DST with MODE; -1 with *ERR. */
static int
s_copy(const char *src, const char *dst, mode_t mode, char **err)
{
    size_t len = 0;
    char *data = fl_file_read(src, 1024 * 1024, &len);
    if (!data) {
        *err = fl_sprintf("%s: %s", src, strerror(errno));
        return -1;
    }
    int rc = fl_file_write_atomic(dst, data, len, mode);
    if (rc != 0) {
        *err = fl_sprintf("%s: %s", dst, strerror(errno));
    }
    free(data);
    return rc;
}

/*  The bundle's key.  On FAT (a boot partition) every file shows the
    mount's mask, 0755 with the usual options, so its mode says nothing of
    who may read it: the key is taken as it is, with a notice, and moved to
    the state directory (0600) and removed from the partition at once.
    Anywhere else a key readable by others is refused. */
static fl_key_t *
s_load_key(const char *path, bool say, char **err)
{
    if (fl_fs_keeps_modes(path)) {
        return fl_key_load_secret(path, err);
    }
    if (say) {
        fl_log_notice("%s is on a FAT file system, where modes come from the mount options: "
                      "its mode is not checked; it moves to the state directory (0600)",
                      path);
    }
    return fl_key_load_secret_modeless(path, err);
}

/*  Checks the bundle in DIR; fills ID, MASTER and GRAINS from its
    minion.yaml.  -1 with *ERR naming what is wrong. */
static int
s_check(const char *dir, char **id, char **master, json_t **grains, char **err)
{
    for (size_t i = 0; i < FL_ARRAY_LEN(s_files); i++) {
        char *path = fl_path_join(dir, s_files[i]);
        struct stat st;
        int rc = stat(path, &st);
        if (rc != 0) {
            *err = fl_sprintf("bundle %s is incomplete: %s is missing", dir, s_files[i]);
            free(path);
            return -1;
        }
        free(path);
    }
    char *key_path = fl_path_join(dir, "minion.key");
    fl_key_t *key = s_load_key(key_path, false, err);  /* refuses a key readable by others */
    free(key_path);
    if (!key) {
        char *why = *err;
        *err = fl_sprintf("bundle %s: %s", dir, why);
        free(why);
        return -1;
    }
    char *yaml = fl_path_join(dir, "minion.yaml");
    fl_diag_t *diag = fl_diag_new();
    fl_config_t *config = fl_config_load(yaml, fl_minion_config_spec, fl_minion_config_spec_len,
                                         diag);
    free(yaml);
    if (!config) {
        char *text = fl_diag_format(diag);
        *err = fl_sprintf("bundle %s: %s", dir, text);
        free(text);
        fl_diag_destroy(&diag);
        fl_key_destroy(&key);
        return -1;
    }
    fl_diag_destroy(&diag);
    char *cert_path = fl_path_join(dir, "minion.crt");
    size_t len = 0;
    char *text = fl_file_read(cert_path, FL_CERT_MAX_BYTES, &len);
    fl_cert_t *cert = text ? fl_cert_parse(text, len, err) : NULL;
    int rc = -1;
    const char *want_id = fl_config_str(config, "id");
    if (!text) {
        *err = fl_sprintf("%s: %s", cert_path, strerror(errno));
    } else if (!cert) {
        char *why = *err;
        *err = fl_sprintf("%s: %s", cert_path, why);
        free(why);
    } else if (!want_id || strcmp(fl_cert_id(cert), want_id) != 0) {
        *err = fl_sprintf("bundle %s: the certificate is for '%s' but minion.yaml says '%s'", dir,
                          fl_cert_id(cert), want_id ? want_id : "(no id)");
    } else if (memcmp(fl_cert_key(cert), fl_key_public(key), FL_KEY_BYTES) != 0) {
        *err = fl_sprintf("bundle %s: the certificate names another key than minion.key", dir);
    } else {
        char *mpub = fl_path_join(dir, "master.pub");
        fl_key_t *master_key = fl_key_load_public(mpub, err);
        free(mpub);
        if (master_key) {
            *id = fl_strdup(want_id);
            *master = fl_strdup(fl_config_str(config, "master"));
            const json_t *g = fl_config_json(config, "grains");
            *grains = g ? json_deep_copy(g) : NULL;
            rc = 0;
        }
        fl_key_destroy(&master_key);
    }
    free(text);
    free(cert_path);
    fl_cert_destroy(&cert);
    fl_config_destroy(&config);
    fl_key_destroy(&key);
    return rc;
}

/*  The bundle's other settings (heartbeat, beacons, locate...), carried
    over as they are: JSON is YAML's flow style.  Paths and identity are
    rewritten by the caller. */
static char *
s_other_settings(const char *dir)
{
    static const char *const rewritten[] = { "id", "master", "master_pub", "key", "cert",
                                             "cache_dir", "grains" };
    char *path = fl_path_join(dir, "minion.yaml");
    fl_diag_t *diag = fl_diag_new();
    fl_yaml_doc_t *doc = fl_yaml_parse_file(path, diag);
    json_t *all = doc && fl_yaml_root(doc) ? fl_yaml_to_json(fl_yaml_root(doc), path, diag) : NULL;
    fl_yaml_destroy(&doc);
    fl_diag_destroy(&diag);
    free(path);
    char *out = fl_strdup("");
    const char *key;
    json_t *v;
    json_object_foreach(all, key, v) {
        bool skip = false;
        for (size_t i = 0; i < FL_ARRAY_LEN(rewritten); i++) {
            skip = skip || strcmp(key, rewritten[i]) == 0;
        }
        if (skip) {
            continue;
        }
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        char *more = fl_sprintf("%s%s: %s\n", out, key, text);
        free(text);
        free(out);
        out = more;
    }
    json_decref(all);
    return out;
}

/*  A YAML double-quoted scalar (JSON's string syntax is valid YAML). */
static char *
s_quote(const char *text)
{
    json_t *s = json_string(text);
    char *q = json_dumps(s, JSON_ENCODE_ANY);
    json_decref(s);
    return q;
}

int
fl_bundle_install(const char *config_path, const char *const *search_dirs,
                  const char *state_dir, char **err)
{
    if (access(config_path, F_OK) == 0) {
        return 0;
    }
    const char *dir = NULL;
    for (size_t i = 0; search_dirs[i]; i++) {
        char *yaml = fl_path_join(search_dirs[i], "minion.yaml");
        bool found = access(yaml, F_OK) == 0;
        free(yaml);
        if (found) {
            dir = search_dirs[i];
            break;
        }
    }
    if (!dir) {
        return 1;
    }
    char *id = NULL, *master = NULL;
    json_t *grains = NULL;
    if (s_check(dir, &id, &master, &grains, err) != 0) {
        return -1;
    }
    int rc = -1;
    char *key = fl_path_join(state_dir, "minion.key");
    char *pub = fl_path_join(state_dir, "minion.pub");
    char *crt = fl_path_join(state_dir, "minion.crt");
    char *mpub = fl_path_join(state_dir, "master.pub");
    char *src_key = fl_path_join(dir, "minion.key");
    char *src_crt = fl_path_join(dir, "minion.crt");
    char *src_mpub = fl_path_join(dir, "master.pub");
    char *conf_dir = fl_path_dirname(config_path);
    char *qid = s_quote(id), *qmaster = s_quote(master);
    char *g = grains ? json_dumps(grains, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *others = s_other_settings(dir);
    char *yaml = fl_sprintf("# written by fleet-minion at first boot from the bundle in %s\n"
                            "id: %s\nmaster: %s\nmaster_pub: %s\nkey: %s\ncert: %s\n"
                            "cache_dir: %s\n%s%s%s%s",
                            dir, qid, qmaster, mpub, key, crt, state_dir, g ? "grains: " : "",
                            g ? g : "", g ? "\n" : "", others);
    free(others);
    if (fl_mkdir_p(state_dir, 0700) != 0 || chmod(state_dir, 0700) != 0) {
        *err = fl_sprintf("%s: %s", state_dir, strerror(errno));
    } else if (fl_mkdir_p(conf_dir, 0755) != 0) {
        *err = fl_sprintf("%s: %s", conf_dir, strerror(errno));
    } else {
        fl_key_t *k = s_load_key(src_key, true, err);
        if (k && fl_key_save(k, key, pub) != 0) {
            *err = fl_sprintf("%s: %s", key, strerror(errno));
        } else if (k && s_copy(src_crt, crt, 0644, err) == 0 && s_copy(src_mpub, mpub, 0644, err) == 0) {
            /* The configuration last: its presence means "installed". */
            if (fl_file_write_atomic(config_path, yaml, strlen(yaml), 0644) != 0) {
                *err = fl_sprintf("%s: %s", config_path, strerror(errno));
            } else {
                rc = 0;
                fl_log_notice("installed the factory bundle of '%s' from %s into %s", id, dir,
                              state_dir);
                /* The key now lives in the state directory only. */
                if (unlink(src_key) != 0) {
                    fl_log_warn("could not remove %s (read-only boot partition?)", src_key);
                }
            }
        }
        fl_key_destroy(&k);
    }
    free(key);
    free(pub);
    free(crt);
    free(mpub);
    free(src_key);
    free(src_crt);
    free(src_mpub);
    free(conf_dir);
    free(qid);
    free(qmaster);
    free(g);
    free(yaml);
    free(id);
    free(master);
    json_decref(grains);
    return rc;
}
