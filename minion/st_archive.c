/*  st_archive.c: archive.extracted.

    NAME is the destination directory.  The archive must match its
    source_hash (sha256) before anything is extracted, unless skip_verify
    says otherwise.  Extraction is `tar -xf SOURCE -C NAME` through
    mod_cmd_run with an argv (no shell: the path cannot inject anything);
    GNU tar detects the compression and refuses members with ".." or a
    leading "/".  Idempotence comes from a marker file,
    NAME/.fleet-archive-<sha256 of the archive>: present means this archive
    was extracted here already, so a new archive version (new hash)
    extracts again, and the same one does not. */
#include "st_core.h"
#include "fl_mods.h"
#include "fl_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MARKER_PREFIX ".fleet-archive-"
/*  How many extracted files the changes list by name. */
#define S_MAX_LISTED 100

/*  Hex SHA-256 of the file at PATH into OUT (65 bytes); -1 with errno. */
static int
s_sha256_file(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0) {
            break;
        }
        crypto_hash_sha256_update(&st, buf, (unsigned long long) n);
    }
    close(fd);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&st, digest);
    fl_hex_encode(digest, sizeof digest, out);
    return 0;
}

/*  "sha256=HEX", "sha256:HEX" or bare HEX (64 digits) into OUT,
    lower-cased.  -1 after failing the state. */
static int
s_parse_hash(const char *spec, char out[65], fl_st_ret_t *ret)
{
    const char *hex = spec;
    const char *sep = strpbrk(spec, "=:");
    if (sep) {
        if ((size_t) (sep - spec) != 6 || strncasecmp(spec, "sha256", 6) != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "source_hash '%s': only sha256 is supported (sha256=HEX)", spec);
            return -1;
        }
        hex = sep + 1;
    }
    if (strlen(hex) != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "source_hash '%s' is not a sha256 (64 hex digits)", spec);
        return -1;
    }
    for (size_t i = 0; i < 64; i++) {
        out[i] = (char) (hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
    }
    out[64] = '\0';
    return 0;
}

/*  The archive's local path: fleet:// / salt:// through the fetched
    files, an absolute path (or file://) under root_dir.  NULL after
    failing the state.  Caller frees. */
static char *
s_source(const fl_st_ctx_t *ctx, const char *url, fl_st_ret_t *ret)
{
    if (strncmp(url, "fleet://", 8) == 0 || strncmp(url, "salt://", 7) == 0) {
        const char *local = fl_st_file(ctx, url);
        if (!local || access(local, R_OK) != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "Source file %s not found on the master", url);
            return NULL;
        }
        return fl_strdup(local);
    }
    const char *abs = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
    char *path = fl_st_path(ctx, abs);
    if (!path) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Unsupported source '%s': use fleet://, salt:// or an absolute path",
                      url);
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "Source file %s not found: %s", url, strerror(errno));
        free(path);
        return NULL;
    }
    return path;
}

/*  Runs ARGV (array of strings, no shell); the mod_cmd_run result, or NULL
    after failing the state with WHAT and the command's stderr. */
static json_t *
s_tar(const json_t *argv, const char *what, fl_st_ret_t *ret)
{
    json_t *kwargs = json_object();
    json_t *out = NULL;
    int rc = mod_cmd_run(NULL, argv, kwargs, &out);
    json_decref(kwargs);
    if (rc != 0 || !json_is_object(out)) {
        const char *err = json_is_object(out) ? json_string_value(json_object_get(out, "stderr"))
                                              : json_string_value(out);
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "%s failed (exit %d): %s", what, rc, err ? err : "");
        json_decref(out);
        return NULL;
    }
    return out;
}

/*  Removes the markers of other archives from DEST: after extracting a
    new version, going back to an older one must extract again. */
static void
s_clear_markers(const char *dest, const char *keep)
{
    DIR *d = opendir(dest);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, S_MARKER_PREFIX, strlen(S_MARKER_PREFIX)) == 0
            && strcmp(e->d_name, keep) != 0) {
            char *p = fl_sprintf("%s/%s", dest, e->d_name);
            (void) unlink(p);   /* best effort: a stale marker only costs a re-extract */
            free(p);
        }
    }
    closedir(d);
}

/*  options: extra tar flags, split on blanks; each must start with '-'
    (an argv, never a shell line).  -1 after failing the state. */
static int
s_add_options(json_t *argv, const json_t *options, fl_st_ret_t *ret)
{
    if (!options || json_is_null(options)) {
        return 0;
    }
    if (!json_is_string(options)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "options must be a string of tar flags");
        return -1;
    }
    char *copy = fl_strdup(json_string_value(options));
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (tok[0] != '-') {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "options: '%s' is not a flag (write -%s or --long-option)", tok,
                          tok);
            rc = -1;
            break;
        }
        json_array_append_new(argv, json_string(tok));
    }
    free(copy);
    return rc;
}

void
st_archive_extracted(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                     fl_st_ret_t *ret)
{
    char *dest = name ? fl_st_path(ctx, name) : NULL;
    char *src = NULL, *marker = NULL, *if_missing = NULL;
    json_t *argv = NULL, *listing = NULL, *result = NULL;
    ret->result = FL_ST_FALSE;
    if (!dest) {
        fl_st_comment(ret, "Specified destination %s is not an absolute path",
                      name ? name : "(none)");
        goto done;
    }
    const char *url = json_string_value(json_object_get(args, "source"));
    const char *hash_spec = json_string_value(json_object_get(args, "source_hash"));
    const json_t *sv = json_object_get(args, "skip_verify");
    bool skip_verify = false;
    char *err = NULL;
    if (sv && !json_is_null(sv)
        && fl_registry_arg_bool(sv, "skip_verify", &skip_verify, &err) != 0) {
        fl_st_comment(ret, "%s", err);
        free(err);
        goto done;
    }
    if (!url) {
        fl_st_comment(ret, "archive.extracted: source is required");
        goto done;
    }
    if (!hash_spec && !skip_verify) {
        fl_st_comment(ret, "archive.extracted: source_hash is required (sha256=HEX), or set "
                           "skip_verify: True");
        goto done;
    }
    char want[65] = "", have[65] = "";
    if (hash_spec && s_parse_hash(hash_spec, want, ret) != 0) {
        goto done;
    }
    const char *im = json_string_value(json_object_get(args, "if_missing"));
    if (im) {
        struct stat ist;
        if_missing = fl_st_path(ctx, im);
        if (if_missing && lstat(if_missing, &ist) == 0) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "Path %s exists", im);
            goto done;
        }
    }
    struct stat st;
    bool dest_exists = stat(dest, &st) == 0;
    if (dest_exists && !S_ISDIR(st.st_mode)) {
        fl_st_comment(ret, "Destination %s exists and is not a directory", name);
        goto done;
    }
    /* the marker of the wanted hash: done, without reading the archive */
    if (want[0] && dest_exists) {
        marker = fl_sprintf("%s/" S_MARKER_PREFIX "%s", dest, want);
        if (access(marker, F_OK) == 0) {
            ret->result = FL_ST_TRUE;
            fl_st_comment(ret, "%s is already extracted to %s", url, name);
            goto done;
        }
    }
    src = s_source(ctx, url, ret);
    if (!src) {
        goto done;
    }
    if (s_sha256_file(src, have) != 0) {
        fl_st_comment(ret, "Unable to read %s: %s", url, strerror(errno));
        goto done;
    }
    if (want[0] && strcmp(want, have) != 0) {
        fl_st_comment(ret, "Hash mismatch for %s: expected sha256 %s, got %s", url, want, have);
        goto done;
    }
    free(marker);
    marker = fl_sprintf("%s/" S_MARKER_PREFIX "%s", dest, have);
    if (dest_exists && access(marker, F_OK) == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "%s is already extracted to %s", url, name);
        goto done;
    }

    argv = json_pack("[s,s,s,s,s]", "tar", "-xf", src, "-C", dest);
    if (s_add_options(argv, json_object_get(args, "options"), ret) != 0) {
        goto done;
    }
    /* the member list, also a check that tar can read it (test mode too) */
    json_t *list_argv = json_pack("[s,s,s]", "tar", "-tf", src);
    listing = s_tar(list_argv, "Listing the archive", ret);
    json_decref(list_argv);
    if (!listing) {
        goto done;
    }
    json_t *files = json_array();
    const char *text = json_string_value(json_object_get(listing, "stdout"));
    size_t total = 0;
    for (const char *p = text ? text : ""; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > 0 && total++ < S_MAX_LISTED) {
            json_array_append_new(files, json_stringn(p, n));
        }
        p += n + (p[n] == '\n');
    }
    if (total > S_MAX_LISTED) {
        json_array_append_new(files, json_sprintf("... and %zu more", total - S_MAX_LISTED));
    }
    if (!dest_exists) {
        json_object_set_new(ret->changes, "directories_created", json_pack("[s]", name));
    }
    json_object_set_new(ret->changes, "extracted_files", files);
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "%s would be extracted to %s", url, name);
        goto done;
    }
    if (!dest_exists && fl_mkdir_p(dest, 0755) != 0) {
        fl_st_comment(ret, "Unable to create %s: %s", name, strerror(errno));
        json_object_clear(ret->changes);
        goto done;
    }
    result = s_tar(argv, "Extracting the archive", ret);
    if (!result) {
        json_object_clear(ret->changes);
        goto done;
    }
    s_clear_markers(dest, marker + strlen(dest) + 1);
    if (fl_file_write_atomic(marker, url, strlen(url), 0644) != 0) {
        fl_st_comment(ret, "Extracted, but unable to write the marker %s: %s", marker,
                      strerror(errno));
        goto done;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "%s extracted to %s", url, name);
done:
    json_decref(result);
    json_decref(listing);
    json_decref(argv);
    free(if_missing);
    free(marker);
    free(src);
    free(dest);
}
