/*  st_pkg.c: pkg.installed, pkg.latest, pkg.removed and pkgrepo.managed
    for Debian (dpkg and apt).

    State is read with dpkg-query from the dpkg database under the root, so
    a minion with root_dir sees only the packages of its own tree.  Local
    .deb files (sources:, fleet:// URLs fetched by the minion) are installed
    with dpkg --root; names go through apt-get with its directories moved
    under the root (-o Dir=ROOT) and dpkg told the same.  After a change
    the database is read again: the changes reported are what dpkg says is
    installed now, never what we asked for, and a package that did not end
    up in the wanted version fails the state. */
#include "st_sys.h"
#include "fl_run.h"
#include "fl_util.h"

#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

/*  apt-get and dpkg may run maintainer scripts that take their time; the
    job timeout still bounds the whole run. */
#define S_PKG_TIMEOUT_MS (30 * 60 * 1000)
#define S_QUERY_TIMEOUT_MS (60 * 1000)

static const char *const s_env[] = {
    "DEBIAN_FRONTEND=noninteractive", "APT_LISTCHANGES_FRONTEND=none", NULL,
};

typedef struct {
    char *name;
    char *version;      /* wanted: exact, "OP version", a glob, or NULL = any */
    char *deb;          /* local .deb to install from, or NULL */
    char *old;          /* installed version, NULL = not installed */
    char *candidate;    /* apt's candidate (pkg.latest, tests) */
} s_pkg_t;

typedef struct {
    s_pkg_t *items;
    size_t n;
} s_pkgs_t;

static void
s_pkgs_free(s_pkgs_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].name);
        free(p->items[i].version);
        free(p->items[i].deb);
        free(p->items[i].old);
        free(p->items[i].candidate);
    }
    free(p->items);
    p->items = NULL;
    p->n = 0;
}

static s_pkg_t *
s_pkgs_add(s_pkgs_t *p, const char *name)
{
    p->items = fl_realloc(p->items, (p->n + 1) * sizeof *p->items);
    s_pkg_t *item = &p->items[p->n++];
    *item = (s_pkg_t) { .name = fl_strdup(name) };
    return item;
}

/*  Debian policy names, optionally with ":arch".  Never starts with '-',
    so that a name cannot turn into an option of dpkg or apt-get. */
static bool
s_name_ok(const char *name)
{
    if (!name || !((*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9'))) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("+.-:", *p);
        if (!ok) {
            return false;
        }
    }
    return strlen(name) >= 2;
}

/*  A version, optionally after a comparison operator or with glob stars. */
static bool
s_version_ok(const char *v)
{
    if (!v || !*v) {
        return false;
    }
    for (const char *p = v; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                  || strchr(".+~:-*<>= ", *p);
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- running dpkg and apt */

static void
s_dpkg_opts(const char *root, fl_run_args_t *a)
{
    if (*root) {
        fl_run_args_add(a, "--root=%s", root);
        fl_run_args_add(a, "--admindir=%s/var/lib/dpkg", root);
        fl_run_args_add(a, "--log=%s/var/log/dpkg.log", root);
        if (geteuid() != 0) {
            fl_run_args_add(a, "--force-not-root");
        }
    }
}

static void
s_apt_opts(const char *root, fl_run_args_t *a)
{
    if (*root) {
        fl_run_args_add(a, "-o");
        fl_run_args_add(a, "Dir=%s", root);
        fl_run_args_add(a, "-o");
        fl_run_args_add(a, "Dir::State::status=%s/var/lib/dpkg/status", root);
        fl_run_args_add(a, "-o");
        fl_run_args_add(a, "DPkg::Options::=--root=%s", root);
        fl_run_args_add(a, "-o");
        fl_run_args_add(a, "DPkg::Options::=--admindir=%s/var/lib/dpkg", root);
        fl_run_args_add(a, "-o");
        fl_run_args_add(a, "DPkg::Options::=--log=%s/var/log/dpkg.log", root);
    }
}

/*  Runs A; on failure fails the state and returns -1.  *OUT_P (may be
    NULL) gets stdout. */
static int
s_run(fl_st_ret_t *ret, fl_run_args_t *a, int timeout_ms, char **out_p)
{
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(a->argv, s_env, timeout_ms, &out, &err);
    if (rc != 0) {
        st_sys_cmd_failed(ret, a->argv, rc, out, err);
    }
    if (out_p && rc == 0) {
        *out_p = out;
    } else {
        free(out);
    }
    free(err);
    return rc == 0 ? 0 : -1;
}

/*  With a root, the dpkg database must be there already: dpkg-query would
    report every package as missing, and dpkg would start an empty one. */
static int
s_check_root(const char *root, fl_st_ret_t *ret)
{
    if (!*root) {
        return 0;
    }
    char *status = fl_sprintf("%s/var/lib/dpkg/status", root);
    struct stat st;
    int rc = stat(status, &st);
    if (rc != 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "No dpkg database under %s (%s: %s)", root, status, strerror(errno));
    }
    free(status);
    return rc == 0 ? 0 : -1;
}

/*  The directories apt expects under its Dir, made before the first apt
    run in a fresh root (it creates only some of them itself). */
static int
s_apt_dirs(const char *root, fl_st_ret_t *ret)
{
    static const char *const dirs[] = {
        "etc/apt/sources.list.d", "etc/apt/preferences.d", "etc/apt/apt.conf.d",
        "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/log/apt",
    };
    for (size_t i = 0; *root && i < FL_ARRAY_LEN(dirs); i++) {
        char *dir = fl_sprintf("%s/%s", root, dirs[i]);
        int rc = fl_mkdir_p(dir, 0755);
        if (rc != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "cannot create %s: %s", dir, strerror(errno));
        }
        free(dir);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/*  The installed version of NAME into *VERSION (NULL when not installed;
    "config-files" left after a remove counts as not installed). */
static int
s_query(const char *root, const char *name, char **version, fl_st_ret_t *ret)
{
    fl_run_args_t a = { 0 };
    fl_run_args_add(&a, "dpkg-query");
    if (*root) {
        fl_run_args_add(&a, "--admindir=%s/var/lib/dpkg", root);
    }
    fl_run_args_add(&a, "-W");
    fl_run_args_add(&a, "-f=${Status}\\t${Version}\\n");
    fl_run_args_add(&a, "--");
    fl_run_args_add(&a, "%s", name);
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(a.argv, NULL, S_QUERY_TIMEOUT_MS, &out, &err);
    *version = NULL;
    if (rc == 0) {
        for (char *line = out; line && *line;) {
            char *end = strchr(line, '\n');
            if (end) {
                *end = '\0';
            }
            char *tab = strchr(line, '\t');
            /* Status is "want flag state": installed means state "installed" */
            if (tab && tab - line >= 10 && strncmp(tab - 10, " installed", 10) == 0) {
                *version = fl_strdup(tab + 1);
                break;
            }
            line = end ? end + 1 : NULL;
        }
    } else if (rc == 1 && strstr(err, "no packages found")) {
        rc = 0;
    } else {
        st_sys_cmd_failed(ret, a.argv, rc, out, err);
    }
    free(out);
    free(err);
    fl_run_args_free(&a);
    return rc == 0 ? 0 : -1;
}

/*  apt's candidate version of NAME into *VERSION (NULL when none). */
static int
s_candidate(const char *root, const char *name, char **version, fl_st_ret_t *ret)
{
    fl_run_args_t a = { 0 };
    fl_run_args_add(&a, "apt-cache");
    s_apt_opts(root, &a);
    fl_run_args_add(&a, "policy");
    fl_run_args_add(&a, "--");
    fl_run_args_add(&a, "%s", name);
    char *out = NULL;
    *version = NULL;
    int rc = s_run(ret, &a, S_QUERY_TIMEOUT_MS, &out);
    fl_run_args_free(&a);
    if (rc != 0) {
        return -1;
    }
    char *c = strstr(out, "Candidate: ");
    if (c) {
        c += 11;
        size_t len = strcspn(c, " \t\n");
        if (len > 0 && strncmp(c, "(none)", len) != 0) {
            *version = fl_strndup(c, len);
        }
    }
    free(out);
    return 0;
}

/*  Whether INSTALLED (a version or NULL) satisfies WANTED. */
static int
s_satisfies(const char *installed, const char *wanted, bool *ok, fl_st_ret_t *ret)
{
    static const struct {
        const char *op;
        const char *dpkg;
    } ops[] = {
        { ">=", "ge" }, { "<=", "le" }, { "==", "eq" }, { ">>", "gt" },
        { "<<", "lt" }, { ">", "gt" }, { "<", "lt" }, { "=", "eq" },
    };
    *ok = installed != NULL;
    if (!installed || !wanted) {
        return 0;
    }
    for (size_t i = 0; i < FL_ARRAY_LEN(ops); i++) {
        size_t len = strlen(ops[i].op);
        if (strncmp(wanted, ops[i].op, len) == 0) {
            const char *v = wanted + len;
            while (*v == ' ') {
                v++;
            }
            char *argv[] = { "dpkg", "--compare-versions", (char *) installed,
                             (char *) ops[i].dpkg, (char *) v, NULL };
            char *out = NULL, *err = NULL;
            int rc = fl_run_argv(argv, NULL, S_QUERY_TIMEOUT_MS, &out, &err);
            if (rc != 0 && rc != 1) {
                st_sys_cmd_failed(ret, argv, rc, out, err);
            }
            *ok = rc == 0;
            free(out);
            free(err);
            return rc == 0 || rc == 1 ? 0 : -1;
        }
    }
    if (strchr(wanted, '*')) {
        *ok = fnmatch(wanted, installed, 0) == 0;
    } else {
        *ok = strcmp(installed, wanted) == 0;
    }
    return 0;
}

/*  An exact version (no operator, no glob) can be pinned: NAME=VERSION. */
static bool
s_exact(const char *version)
{
    return version && !strpbrk(version, "<>=* ");
}

/* ---------------------------------------------------------------- arguments */

/*  A source: fleet:// and salt:// URLs are the minion's fetched copies;
    an absolute path is a file on the minion. */
static int
s_source(const fl_st_ctx_t *ctx, const char *pkg, const char *src, char **deb, fl_st_ret_t *ret)
{
    ret->result = FL_ST_FALSE;
    if (strncmp(src, "fleet://", 8) == 0 || strncmp(src, "salt://", 7) == 0) {
        const char *local = fl_st_file(ctx, src);
        if (!local) {
            fl_st_comment(ret, "%s: source not found on the master: %s", pkg, src);
            return -1;
        }
        *deb = fl_strdup(local);
    } else if (src[0] == '/') {
        if (access(src, R_OK) != 0) {
            fl_st_comment(ret, "%s: source %s: %s", pkg, src, strerror(errno));
            return -1;
        }
        *deb = fl_strdup(src);
    } else {
        fl_st_comment(ret, "%s: unsupported source '%s' (use a fleet:// URL or an absolute path; "
                      "fleet does not download packages)", pkg, src);
        return -1;
    }
    ret->result = FL_ST_TRUE;
    return 0;
}

/*  One-key map {KEY: VALUE} of a Salt list ("- nginx: 1.2"). */
static int
s_one_key(const json_t *item, const char **key, const json_t **value)
{
    if (!json_is_object(item) || json_object_size(item) != 1) {
        return -1;
    }
    void *iter = json_object_iter((json_t *) item);
    *key = json_object_iter_key(iter);
    *value = json_object_iter_value(iter);
    return 0;
}

/*  The packages a pkg state is about: sources (name: .deb), pkgs (names or
    name: version maps), or NAME with version.  VERSIONS: whether versions
    are accepted (not for pkg.latest); SOURCES likewise. */
static int
s_targets(const fl_st_ctx_t *ctx, const char *name, const json_t *args, bool versions,
          bool sources, s_pkgs_t *out, fl_st_ret_t *ret)
{
    const json_t *srcs = json_object_get(args, "sources");
    const json_t *pkgs = json_object_get(args, "pkgs");
    ret->result = FL_ST_FALSE;
    if (srcs && !json_is_null(srcs)) {
        size_t i;
        const json_t *item;
        if (!sources || !json_is_array(srcs) || json_array_size(srcs) == 0) {
            fl_st_comment(ret, sources ? "sources must be a list of 'name: source' maps"
                                       : "sources is not supported here");
            return -1;
        }
        json_array_foreach(srcs, i, item) {
            const char *key;
            const json_t *value;
            if (s_one_key(item, &key, &value) != 0 || !json_is_string(value)) {
                fl_st_comment(ret, "sources entry %zu must be a 'name: source' map", i + 1);
                return -1;
            }
            if (!s_name_ok(key)) {
                fl_st_comment(ret, "Invalid package name '%s'", key);
                return -1;
            }
            s_pkg_t *p = s_pkgs_add(out, key);
            if (s_source(ctx, key, json_string_value(value), &p->deb, ret) != 0) {
                return -1;
            }
        }
    } else if (pkgs && !json_is_null(pkgs)) {
        size_t i;
        const json_t *item;
        if (!json_is_array(pkgs) || json_array_size(pkgs) == 0) {
            fl_st_comment(ret, "pkgs must be a list of names or 'name: version' maps");
            return -1;
        }
        json_array_foreach(pkgs, i, item) {
            const char *key = json_string_value(item);
            const json_t *value = NULL;
            if (!key && s_one_key(item, &key, &value) != 0) {
                fl_st_comment(ret, "pkgs entry %zu must be a name or a 'name: version' map", i + 1);
                return -1;
            }
            if (!s_name_ok(key)) {
                fl_st_comment(ret, "Invalid package name '%s'", key);
                return -1;
            }
            s_pkg_t *p = s_pkgs_add(out, key);
            if (value && !json_is_null(value) && versions) {
                json_t *wrap = json_pack("{sO}", "version", value);
                int rc = st_sys_arg_text(wrap, "version", &p->version, ret);
                json_decref(wrap);
                if (rc != 0) {
                    return -1;
                }
            }
        }
    } else {
        if (!s_name_ok(name)) {
            fl_st_comment(ret, "Invalid package name '%s'", name ? name : "");
            return -1;
        }
        s_pkg_t *p = s_pkgs_add(out, name);
        if (versions && st_sys_arg_text(args, "version", &p->version, ret) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < out->n; i++) {
        if (out->items[i].version && !s_version_ok(out->items[i].version)) {
            fl_st_comment(ret, "Invalid version '%s' for %s", out->items[i].version,
                          out->items[i].name);
            return -1;
        }
    }
    ret->result = FL_ST_TRUE;
    return 0;
}

/*  For a .deb source: the package and version inside; the name must be
    the one the state gives. */
static int
s_deb_info(s_pkg_t *p, fl_st_ret_t *ret)
{
    char *argv[] = { "dpkg-deb", "--show", "--showformat=${Package}\\t${Version}\\n", p->deb,
                     NULL };
    char *out = NULL, *err = NULL;
    int rc = fl_run_argv(argv, NULL, S_QUERY_TIMEOUT_MS, &out, &err);
    if (rc != 0) {
        st_sys_cmd_failed(ret, argv, rc, out, err);
    } else {
        char *tab = strchr(out, '\t');
        size_t nlen = tab ? (size_t) (tab - out) : 0;
        if (!tab || strlen(p->name) != nlen || strncmp(out, p->name, nlen) != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "%s: %s holds package '%.*s', not %s", p->name, p->deb,
                          (int) nlen, out, p->name);
            rc = -1;
        } else {
            free(p->version);
            p->version = fl_strndup(tab + 1, strcspn(tab + 1, "\n"));
        }
    }
    free(out);
    free(err);
    return rc == 0 ? 0 : -1;
}

static int
s_refresh(const char *root, fl_st_ret_t *ret)
{
    fl_run_args_t a = { 0 };
    fl_run_args_add(&a, "apt-get");
    s_apt_opts(root, &a);
    fl_run_args_add(&a, "-q");
    fl_run_args_add(&a, "update");
    int rc = s_run(ret, &a, S_PKG_TIMEOUT_MS, NULL);
    fl_run_args_free(&a);
    return rc;
}

/*  Installs the TODO entries of P: .deb files with one dpkg -i, names with
    one apt-get install (pinned to the candidate for pkg.latest, or to an
    exact version). */
static int
s_install(const char *root, s_pkgs_t *p, const bool *todo, fl_st_ret_t *ret)
{
    fl_run_args_t debs = { 0 }, apt = { 0 };
    fl_run_args_add(&debs, "dpkg");
    s_dpkg_opts(root, &debs);
    fl_run_args_add(&debs, "--force-confdef");
    fl_run_args_add(&debs, "--force-confold");
    fl_run_args_add(&debs, "-i");
    size_t ndebs = debs.argc;
    fl_run_args_add(&apt, "apt-get");
    s_apt_opts(root, &apt);
    fl_run_args_add(&apt, "-q");
    fl_run_args_add(&apt, "-y");
    fl_run_args_add(&apt, "-o");
    fl_run_args_add(&apt, "DPkg::Options::=--force-confdef");
    fl_run_args_add(&apt, "-o");
    fl_run_args_add(&apt, "DPkg::Options::=--force-confold");
    fl_run_args_add(&apt, "install");
    fl_run_args_add(&apt, "--");
    size_t napt = apt.argc;
    for (size_t i = 0; i < p->n; i++) {
        const s_pkg_t *item = &p->items[i];
        if (!todo[i]) {
            continue;
        }
        if (item->deb) {
            fl_run_args_add(&debs, "%s", item->deb);
        } else if (item->candidate) {
            fl_run_args_add(&apt, "%s=%s", item->name, item->candidate);
        } else if (s_exact(item->version)) {
            fl_run_args_add(&apt, "%s=%s", item->name, item->version);
        } else {
            fl_run_args_add(&apt, "%s", item->name);
        }
    }
    int rc = 0;
    if (debs.argc > ndebs) {
        char *log_dir = fl_sprintf("%s/var/log", root);
        if (*root && fl_mkdir_p(log_dir, 0755) != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "cannot create %s: %s", log_dir, strerror(errno));
            rc = -1;
        }
        free(log_dir);
        if (rc == 0) {
            rc = s_run(ret, &debs, S_PKG_TIMEOUT_MS, NULL);
        }
    }
    if (rc == 0 && apt.argc > napt) {
        rc = s_apt_dirs(root, ret);
        if (rc == 0) {
            rc = s_run(ret, &apt, S_PKG_TIMEOUT_MS, NULL);
        }
    }
    fl_run_args_free(&debs);
    fl_run_args_free(&apt);
    return rc;
}

/*  Reads the versions again after a change and reports per package:
    changes for those that changed and, with CHECK, a failure list for
    those that did not reach the wanted state (without CHECK, after a
    failed install, only what did change is recorded). */
static int
s_verify(const char *root, s_pkgs_t *p, const bool *todo, bool check, fl_st_ret_t *ret)
{
    char *failed = fl_strdup("");
    for (size_t i = 0; i < p->n; i++) {
        s_pkg_t *item = &p->items[i];
        if (!todo[i]) {
            continue;
        }
        char *now = NULL;
        bool ok = false;
        if (s_query(root, item->name, &now, ret) != 0
            || s_satisfies(now, item->version, &ok, ret) != 0) {
            free(failed);
            free(now);
            return -1;
        }
        if (now && (!item->old || strcmp(now, item->old) != 0)) {
            json_object_set_new(ret->changes, item->name,
                                json_pack("{s:s, s:s}", "old", item->old ? item->old : "",
                                          "new", now));
        }
        if (!ok && check) {
            char *more = fl_sprintf("%s%s%s (%s)", failed, *failed ? ", " : "", item->name,
                                    now ? now : "not installed");
            free(failed);
            failed = more;
        }
        free(now);
    }
    if (*failed) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "The following packages failed to install/update: %s", failed);
        free(failed);
        return -1;
    }
    free(failed);
    return 0;
}

/*  "a, b, c" of the TODO names; caller frees. */
static char *
s_names(const s_pkgs_t *p, const bool *todo)
{
    char *names = fl_strdup("");
    for (size_t i = 0; i < p->n; i++) {
        if (todo[i]) {
            char *more = fl_sprintf("%s%s%s", names, *names ? ", " : "", p->items[i].name);
            free(names);
            names = more;
        }
    }
    return names;
}

/* ---------------------------------------------------------------- the states */

/*  pkg.installed and pkg.latest: the same steps, only the wanted version
    differs (pkg.latest wants apt's candidate). */
static void
s_installed(const fl_st_ctx_t *ctx, const char *name, const json_t *args, bool latest,
            fl_st_ret_t *ret)
{
    s_pkgs_t p = { 0 };
    bool *todo = NULL;
    char *root = st_sys_root(ctx), *names = NULL;
    int refresh = -1;
    if (st_sys_arg_bool(args, "refresh", &refresh, ret) != 0
        || s_targets(ctx, name, args, !latest, !latest, &p, ret) != 0
        || s_check_root(root, ret) != 0) {
        goto done;
    }
    /* a refresh writes apt's lists: not in test mode */
    bool refreshed = false;
    if (refresh == 1 && latest && !ctx->test) {
        if (s_apt_dirs(root, ret) != 0 || s_refresh(root, ret) != 0) {
            goto done;
        }
        refreshed = true;
    }
    todo = fl_calloc(p.n, sizeof *todo);
    size_t ntodo = 0;
    bool need_apt = false;
    for (size_t i = 0; i < p.n; i++) {
        s_pkg_t *item = &p.items[i];
        bool ok = false;
        if ((item->deb && s_deb_info(item, ret) != 0)
            || s_query(root, item->name, &item->old, ret) != 0) {
            goto done;
        }
        if (latest) {
            if ((!ctx->test && s_apt_dirs(root, ret) != 0)
                || s_candidate(root, item->name, &item->candidate, ret) != 0) {
                goto done;
            }
            if (!item->candidate && ctx->test && refresh == 1) {
                /* the lists a refresh would bring may have it: unknown */
                ret->result = FL_ST_NONE;
                fl_st_comment(ret, "No candidate version for %s yet: the package lists would be "
                              "refreshed first", item->name);
                goto done;
            }
            if (!item->candidate) {
                ret->result = FL_ST_FALSE;
                fl_st_comment(ret, "No candidate version for %s in the configured repositories "
                              "(refresh: true to update the lists)", item->name);
                goto done;
            }
            /* newer than the candidate (a local build) is latest enough */
            free(item->version);
            item->version = fl_sprintf(">= %s", item->candidate);
        }
        if (s_satisfies(item->old, item->version, &ok, ret) != 0) {
            goto done;
        }
        todo[i] = !ok;
        ntodo += !ok;
        need_apt = need_apt || (!ok && !item->deb);
    }
    if (ntodo == 0) {
        const char *note = latest && ctx->test && refresh == 1
                               ? " (package lists not refreshed in test mode)" : "";
        ret->result = FL_ST_TRUE;
        if (p.n == 1) {
            fl_st_comment(ret, latest ? "Package %s is already up-to-date%s"
                                      : "Package %s is already installed%s", p.items[0].name, note);
        } else {
            fl_st_comment(ret, latest ? "All packages are up-to-date%s"
                                      : "All specified packages are already installed%s", note);
        }
        goto done;
    }
    names = s_names(&p, todo);
    if (ctx->test) {
        for (size_t i = 0; i < p.n; i++) {
            s_pkg_t *item = &p.items[i];
            if (!todo[i]) {
                continue;
            }
            const char *new_version = latest ? item->candidate
                                      : s_exact(item->version) ? item->version : "";
            json_object_set_new(ret->changes, item->name,
                                json_pack("{s:s, s:s}", "old", item->old ? item->old : "",
                                          "new", new_version));
        }
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "The following packages would be installed/updated: %s", names);
        goto done;
    }
    if (refresh == 1 && need_apt && !refreshed
        && (s_apt_dirs(root, ret) != 0 || s_refresh(root, ret) != 0)) {
        goto done;
    }
    if (s_install(root, &p, todo, ret) != 0) {
        /* one of several packages may have made it: say so */
        fl_st_ret_t scratch = { FL_ST_FALSE, ret->changes, NULL };
        (void) s_verify(root, &p, todo, false, &scratch);  /* the failure is already told */
        free(scratch.comment);
        goto done;
    }
    if (s_verify(root, &p, todo, true, ret) != 0) {
        goto done;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "The following packages were installed/updated: %s", names);
done:
    free(names);
    free(todo);
    free(root);
    s_pkgs_free(&p);
}

void
st_pkg_installed(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_installed(ctx, name, args, false, ret);
}

void
st_pkg_latest(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_installed(ctx, name, args, true, ret);
}

void
st_pkg_removed(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    s_pkgs_t p = { 0 };
    bool *todo = NULL;
    char *root = st_sys_root(ctx), *names = NULL;
    fl_run_args_t a = { 0 };
    if (s_targets(ctx, name, args, true, false, &p, ret) != 0 || s_check_root(root, ret) != 0) {
        goto done;
    }
    todo = fl_calloc(p.n, sizeof *todo);
    size_t ntodo = 0;
    for (size_t i = 0; i < p.n; i++) {
        bool match = false;
        if (s_query(root, p.items[i].name, &p.items[i].old, ret) != 0
            || s_satisfies(p.items[i].old, p.items[i].version, &match, ret) != 0) {
            goto done;
        }
        todo[i] = match;
        ntodo += match;
    }
    if (ntodo == 0) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "None of the targeted packages are installed");
        goto done;
    }
    names = s_names(&p, todo);
    if (ctx->test) {
        for (size_t i = 0; i < p.n; i++) {
            if (todo[i]) {
                json_object_set_new(ret->changes, p.items[i].name,
                                    json_pack("{s:s, s:s}", "old", p.items[i].old, "new", ""));
            }
        }
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "The following packages would be removed: %s", names);
        goto done;
    }
    /* with a root, dpkg alone: apt-get remove would also take reverse
       dependencies from a tree apt knows only half about */
    if (*root) {
        fl_run_args_add(&a, "dpkg");
        s_dpkg_opts(root, &a);
        fl_run_args_add(&a, "-r");
    } else {
        fl_run_args_add(&a, "apt-get");
        fl_run_args_add(&a, "-q");
        fl_run_args_add(&a, "-y");
        fl_run_args_add(&a, "remove");
    }
    fl_run_args_add(&a, "--");
    for (size_t i = 0; i < p.n; i++) {
        if (todo[i]) {
            fl_run_args_add(&a, "%s", p.items[i].name);
        }
    }
    char *log_dir = fl_sprintf("%s/var/log", root);
    int rc = *root ? fl_mkdir_p(log_dir, 0755) : 0;
    free(log_dir);
    if (rc != 0 || s_run(ret, &a, S_PKG_TIMEOUT_MS, NULL) != 0) {
        if (rc != 0) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "cannot create %s/var/log: %s", root, strerror(errno));
        }
        goto done;
    }
    char *failed = fl_strdup("");
    for (size_t i = 0; i < p.n; i++) {
        char *now = NULL;
        if (!todo[i]) {
            continue;
        }
        if (s_query(root, p.items[i].name, &now, ret) != 0) {
            free(failed);
            goto done;
        }
        if (now) {
            char *more = fl_sprintf("%s%s%s", failed, *failed ? ", " : "", p.items[i].name);
            free(failed);
            failed = more;
        } else {
            json_object_set_new(ret->changes, p.items[i].name,
                                json_pack("{s:s, s:s}", "old", p.items[i].old, "new", ""));
        }
        free(now);
    }
    if (*failed) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "The following packages failed to remove: %s", failed);
    } else {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "The following packages were removed: %s", names);
    }
    free(failed);
done:
    fl_run_args_free(&a);
    free(names);
    free(todo);
    free(root);
    s_pkgs_free(&p);
}

/* ---------------------------------------------------------------- pkgrepo.managed */

/*  The words of a sources.list line. */
typedef struct {
    char *words[64];
    size_t n;
} s_words_t;

static void
s_words_free(s_words_t *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->words[i]);
    }
    w->n = 0;
}

static int
s_words_add(s_words_t *w, const char *s, size_t len)
{
    if (w->n == FL_ARRAY_LEN(w->words)) {
        return -1;
    }
    w->words[w->n++] = fl_strndup(s, len);
    return 0;
}

/*  Splits TEXT at blanks and commas (COMMAS) into W. */
static int
s_split(const char *text, bool commas, s_words_t *w)
{
    const char *seps = commas ? " \t," : " \t";
    for (const char *p = text; *p;) {
        p += strspn(p, seps);
        size_t len = strcspn(p, seps);
        if (len > 0 && s_words_add(w, p, len) != 0) {
            return -1;
        }
        p += len;
    }
    return 0;
}

/*  A file name from the URI and suite: "deb.debian.org_debian_bookworm". */
static char *
s_repo_base(const char *uri, const char *dist)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : strncmp(uri, "file:", 5) == 0 ? uri + 5 : uri;
    char *joined = fl_sprintf("%s_%s", p, dist);
    char *out = fl_malloc(strlen(joined) + 1);
    size_t o = 0;
    for (const char *s = joined; *s; s++) {
        bool keep = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
                    || *s == '.' || *s == '-';
        if (keep) {
            out[o++] = *s;
        } else if (o > 0 && out[o - 1] != '_') {
            out[o++] = '_';
        }
    }
    while (o > 0 && (out[o - 1] == '_' || out[o - 1] == '.')) {
        o--;
    }
    out[o] = '\0';
    free(joined);
    if (o == 0) {
        free(out);
        out = fl_strdup("fleet-repo");
    }
    return out;
}

/*  Builds the normalised line "deb [opts] uri dist comps" from NAME and
    the dist/comps/signedby arguments.  *BASE gets the file base name. */
static int
s_repo_line(const char *name, const json_t *args, const char *signedby, char **line,
            char **base, fl_st_ret_t *ret)
{
    s_words_t w = { .n = 0 }, comps = { .n = 0 };
    char *dist_arg = NULL, *opts = fl_strdup(""), *out = NULL;
    int rc = -1;
    ret->result = FL_ST_FALSE;
    if (!name || strchr(name, '\n') || s_split(name, false, &w) != 0 || w.n < 2
        || (strcmp(w.words[0], "deb") != 0 && strcmp(w.words[0], "deb-src") != 0)) {
        fl_st_comment(ret, "pkgrepo.managed: name must be a one-line sources.list entry "
                      "('deb URI SUITE COMPONENTS...'), got '%s'", name ? name : "");
        goto done;
    }
    size_t i = 1;
    if (w.words[i][0] == '[') {
        /* options run up to the word that ends with ']' */
        char *joined = fl_strdup("");
        bool closed = false;
        for (; i < w.n && !closed; i++) {
            char *more = fl_sprintf("%s%s%s", joined, *joined ? " " : "", w.words[i]);
            free(joined);
            joined = more;
            closed = w.words[i][strlen(w.words[i]) - 1] == ']';
        }
        if (!closed) {
            free(joined);
            fl_st_comment(ret, "pkgrepo.managed: unclosed '[' options in '%s'", name);
            goto done;
        }
        size_t jlen = strlen(joined);
        free(opts);
        opts = fl_strndup(joined + 1, jlen - 2);
        free(joined);
    }
    if (i >= w.n) {
        fl_st_comment(ret, "pkgrepo.managed: no URI in '%s'", name);
        goto done;
    }
    const char *uri = w.words[i++];
    if (st_sys_arg_text(args, "dist", &dist_arg, ret) != 0) {
        goto done;
    }
    const char *dist = i < w.n ? w.words[i++] : dist_arg;
    if (!dist || !*dist) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "pkgrepo.managed: no suite in '%s' (add it or give dist)", name);
        goto done;
    }
    /* components: from the line, else the comps argument (list or "a,b") */
    for (; i < w.n; i++) {
        s_words_add(&comps, w.words[i], strlen(w.words[i]));
    }
    const json_t *c = json_object_get(args, "comps");
    if (comps.n == 0 && c && !json_is_null(c)) {
        size_t k;
        const json_t *item;
        if (json_is_string(c)) {
            s_split(json_string_value(c), true, &comps);
        } else if (json_is_array(c)) {
            json_array_foreach(c, k, item) {
                if (!json_is_string(item) || strchr(json_string_value(item), '\n')) {
                    ret->result = FL_ST_FALSE;
                    fl_st_comment(ret, "pkgrepo.managed: comps must be a list of strings");
                    goto done;
                }
                s_split(json_string_value(item), true, &comps);
            }
        } else {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "pkgrepo.managed: comps must be a list or a comma-separated string");
            goto done;
        }
    }
    bool exact = dist[strlen(dist) - 1] == '/';
    if (!exact && comps.n == 0) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "pkgrepo.managed: no components in '%s' (add them or give comps)", name);
        goto done;
    }
    if (signedby && !strstr(opts, "signed-by=")) {
        char *more = fl_sprintf("%s%ssigned-by=%s", opts, *opts ? " " : "", signedby);
        free(opts);
        opts = more;
    }
    out = fl_sprintf("%s%s%s%s %s %s", w.words[0], *opts ? " [" : "", opts, *opts ? "]" : "", uri,
                     dist);
    for (size_t k = 0; k < comps.n; k++) {
        char *more = fl_sprintf("%s %s", out, comps.words[k]);
        free(out);
        out = more;
    }
    *line = out;
    *base = s_repo_base(uri, dist);
    ret->result = FL_ST_TRUE;
    rc = 0;
done:
    s_words_free(&w);
    s_words_free(&comps);
    free(dist_arg);
    free(opts);
    return rc;
}

void
st_pkgrepo_managed(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    char *file = NULL, *humanname = NULL, *key_text = NULL, *key_url = NULL, *signedby = NULL;
    char *line = NULL, *base = NULL, *key_rel = NULL, *key_path = NULL, *list_path = NULL;
    char *content = NULL, *current = NULL, *current_key = NULL, *root = st_sys_root(ctx);
    int refresh = -1;
    if (st_sys_arg_text(args, "file", &file, ret) != 0
        || st_sys_arg_text(args, "humanname", &humanname, ret) != 0
        || st_sys_arg_text(args, "key_url", &key_url, ret) != 0
        || st_sys_arg_text(args, "signedby", &signedby, ret) != 0
        || st_sys_arg_bool(args, "refresh", &refresh, ret) != 0) {
        goto done;
    }
    if (!signedby && st_sys_arg_text(args, "signed_by", &signedby, ret) != 0) {
        goto done;
    }
    const json_t *kt = json_object_get(args, "key_text");
    if (kt && !json_is_null(kt)) {
        if (!json_is_string(kt) || !strstr(json_string_value(kt), "-----BEGIN PGP PUBLIC KEY")) {
            ret->result = FL_ST_FALSE;
            fl_st_comment(ret, "pkgrepo.managed: key_text must be an ASCII-armored public key");
            goto done;
        }
        key_text = fl_strdup(json_string_value(kt));
    }
    if (file && (file[0] != '/' || strstr(file, "..") || strlen(file) < 6
                 || strcmp(file + strlen(file) - 5, ".list") != 0)) {
        ret->result = FL_ST_FALSE;
        fl_st_comment(ret, "pkgrepo.managed: file must be an absolute path ending in .list, "
                      "got '%s'", file);
        goto done;
    }
    /* a key given as text goes next to the list; signed-by names it as the
       system will see it, without the root prefix */
    if (s_repo_line(name, args, NULL, &line, &base, ret) != 0) {
        goto done;
    }
    if (key_text && !signedby) {
        key_rel = fl_sprintf("/etc/apt/keyrings/%s.asc", base);
    }
    free(line);
    free(base);
    line = base = NULL;
    if (s_repo_line(name, args, signedby ? signedby : key_rel, &line, &base, ret) != 0) {
        goto done;
    }
    char *list_rel = file ? fl_strdup(file) : fl_sprintf("/etc/apt/sources.list.d/%s.list", base);
    list_path = fl_st_path(ctx, list_rel);
    content = fl_sprintf("# Managed by fleet%s%s\n%s\n", humanname ? ": " : "",
                         humanname ? humanname : "", line);
    if (st_sys_read(list_path, &current, ret) != 0) {
        free(list_rel);
        goto done;
    }
    bool key_ok = true;
    if (key_rel) {
        key_path = fl_st_path(ctx, key_rel);
        if (st_sys_read(key_path, &current_key, ret) != 0) {
            free(list_rel);
            goto done;
        }
        key_ok = current_key && strcmp(current_key, key_text) == 0;
    }
    bool list_ok = current && strcmp(current, content) == 0;
    const char *note = key_url ? " (key_url is not fetched: fleet does not download; "
                                 "give the key with key_text or signedby)" : "";
    if (list_ok && key_ok) {
        ret->result = FL_ST_TRUE;
        fl_st_comment(ret, "Package repo '%s' already configured%s", line, note);
        free(list_rel);
        goto done;
    }
    if (!list_ok) {
        json_object_set_new(ret->changes, "repo", json_string(line));
        json_object_set_new(ret->changes, "file", json_string(list_rel));
    }
    if (!key_ok) {
        json_object_set_new(ret->changes, "key", json_string(key_rel));
    }
    if (ctx->test) {
        ret->result = FL_ST_NONE;
        fl_st_comment(ret, "Package repo '%s' would be configured in %s%s", line, list_rel, note);
        free(list_rel);
        goto done;
    }
    if ((!key_ok && st_sys_write(key_path, key_text, 0644, ret) != 0)
        || (!list_ok && st_sys_write(list_path, content, 0644, ret) != 0)) {
        json_object_clear(ret->changes);
        free(list_rel);
        goto done;
    }
    if (refresh == 1 && (s_apt_dirs(root, ret) != 0 || s_refresh(root, ret) != 0)) {
        free(list_rel);
        goto done;
    }
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "Configured package repo '%s' in %s%s", line, list_rel, note);
    free(list_rel);
done:
    free(root);
    free(current_key);
    free(current);
    free(content);
    free(list_path);
    free(key_path);
    free(key_rel);
    free(base);
    free(line);
    free(signedby);
    free(key_url);
    free(key_text);
    free(humanname);
    free(file);
}
