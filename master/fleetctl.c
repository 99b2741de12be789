/*  fleetctl: the operator CLI.  It talks to the master over the control
    socket (--socket PATH, then $FLEET_SOCKET, then /run/fleet/master.sock),
    prints tables for people and one JSON document with --json.
    Exit status: 0 all ok, 1 some target failed or did not answer, 2 usage,
    configuration or parse error, 3 master unreachable. */
#include "fleetctl.h"
#include "fl_diag.h"
#include "fl_funcs.h"
#include "fl_json.h"
#include "fl_util.h"

#include <czmq.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CTL_DEFAULT_SOCKET "/run/fleet/master.sock"

typedef struct {
    const char *socket_path;
    bool json;
    zsock_t *sock;
} ctl_t;

static int
s_usage(void)
{
    fprintf(stderr,
            "usage: fleetctl [--socket PATH] [--json] COMMAND ...\n"
            "commands:\n"
            "  run [-L|-G|-P|-E|-C] TARGET FUNCTION [ARG...] [KEY=VALUE...] [--timeout S]\n"
            "  apply [-L|-G|-P|-E|-C] TARGET [SLS...] [--test] [--timeout S]\n"
            "  state show TARGET [SLS...]\n"
            "  state show --states DIR --grains FILE [--pillar FILE|--pillar-dir DIR] [SLS...]\n"
            "  key list | accept ID | accept --all | reject ID | delete ID | revoke ID | show ID\n"
            "  status [TARGET] [--lost] | availability TARGET [--since 7d]\n"
            "  events [--tag GLOB] [--last N] [--count N] | beacons ID [--name N] [--since 1d]\n"
            "  locate ID [--seconds N]\n"
            "  jobs [--limit N] | job JID\n"
            "  stats | ping | functions\n"
            "  pki init DIR | pki issue ID --root DIR --master-pub FILE --master URL --out DIR\n"
            "targets: glob on ids by default; -L list, -G grain, -P grain regex, -E id regex,\n"
            "         -C compound ('G@os:Debian and pi-* or L@a,b')\n");
    return CTL_USAGE;
}

static int
s_connect(ctl_t *ctl)
{
    struct stat st;
    if (stat(ctl->socket_path, &st) != 0) {
        fprintf(stderr, "fleetctl: no master at %s: %s (is fleet-master running? set --socket "
                        "or FLEET_SOCKET)\n",
                ctl->socket_path, strerror(errno));
        return CTL_UNREACHABLE;
    }
    if (access(ctl->socket_path, R_OK | W_OK) != 0) {
        fprintf(stderr, "fleetctl: %s: %s (the socket is for the master's user and group)\n",
                ctl->socket_path, strerror(errno));
        return CTL_UNREACHABLE;
    }
    ctl->sock = zsock_new(ZMQ_DEALER);
    zsock_set_linger(ctl->sock, 0);
    if (zsock_connect(ctl->sock, "ipc://%s", ctl->socket_path) != 0) {
        fprintf(stderr, "fleetctl: cannot connect to %s\n", ctl->socket_path);
        return CTL_UNREACHABLE;
    }
    return CTL_OK;
}

static int
s_send(ctl_t *ctl, json_t *req)
{
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    int rc = zstr_send(ctl->sock, text);
    free(text);
    return rc;
}

/*  The next reply, or NULL after TIMEOUT_MS. */
static json_t *
s_recv(ctl_t *ctl, int timeout_ms)
{
    zsock_set_rcvtimeo(ctl->sock, timeout_ms);
    char *text = zstr_recv(ctl->sock);
    if (!text) {
        return NULL;
    }
    json_error_t jerr;
    json_t *reply = json_loads(text, 0, &jerr);
    zstr_free(&text);
    return reply;
}

static int
s_print_error(const json_t *reply)
{
    fprintf(stderr, "fleetctl: %s\n", fl_json_str(reply, "msg"));
    json_t *diag_json = json_object_get(reply, "diag");
    if (diag_json) {
        fl_diag_t *diag = fl_diag_new();
        fl_diag_add_json(diag, diag_json);
        fl_diag_print(diag, stderr);
        fl_diag_destroy(&diag);
    }
    json_int_t code = json_integer_value(json_object_get(reply, "exit"));
    return code ? (int) code : CTL_FAILED;
}

/*  One request, one reply: the reply's data, or NULL with *RC set. */
static json_t *
s_call(ctl_t *ctl, json_t *req, int *rc)
{
    *rc = s_connect(ctl);
    if (*rc != CTL_OK) {
        json_decref(req);
        return NULL;
    }
    s_send(ctl, req);
    json_t *reply = s_recv(ctl, 30000);
    if (!reply) {
        fprintf(stderr, "fleetctl: the master at %s did not answer\n", ctl->socket_path);
        *rc = CTL_UNREACHABLE;
        return NULL;
    }
    if (strcmp(fl_json_str(reply, "type") ? fl_json_str(reply, "type") : "", "result") != 0) {
        *rc = s_print_error(reply);
        json_decref(reply);
        return NULL;
    }
    json_t *data = json_incref(json_object_get(reply, "data"));
    json_decref(reply);
    *rc = CTL_OK;
    return data;
}

static void
s_print_json(const json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    puts(text);
    free(text);
}

static int
s_cmd_run(ctl_t *ctl, int argc, char **argv)
{
    const char *tgt_type = "glob";
    int timeout = 0;
    bool timeout_given = false;
    int i = 1;
    /* Options before the target; after FUNCTION only --timeout and --json,
       so that `cmd.run ls -l` keeps its -l.  "--" ends options. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-L") == 0 || strcmp(a, "--list") == 0) {
            tgt_type = "list";
        } else if (strcmp(a, "-G") == 0 || strcmp(a, "--grain") == 0) {
            tgt_type = "grain";
        } else if (strcmp(a, "-P") == 0 || strcmp(a, "--grain-pcre") == 0) {
            tgt_type = "grain_pcre";
        } else if (strcmp(a, "-E") == 0 || strcmp(a, "--pcre") == 0) {
            tgt_type = "pcre";
        } else if (strcmp(a, "-C") == 0 || strcmp(a, "--compound") == 0) {
            tgt_type = "compound";
        } else if (strcmp(a, "--json") == 0) {
            ctl->json = true;
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            timeout = atoi(argv[++i]);
            timeout_given = true;
        } else if (strncmp(a, "--timeout=", 10) == 0) {
            timeout = atoi(a + 10);
            timeout_given = true;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else {
            fprintf(stderr, "fleetctl: unknown option '%s'\n", a);
            return s_usage();
        }
    }
    if (argc - i < 2) {
        return s_usage();
    }
    const char *tgt = argv[i++];
    const char *fun = argv[i++];
    json_t *args = json_array();
    json_t *kwargs = json_object();
    bool opts = true;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = false;
        } else if (opts && strcmp(a, "--json") == 0) {
            ctl->json = true;
        } else if (opts && strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            timeout = atoi(argv[++i]);
            timeout_given = true;
        } else if (opts && strncmp(a, "--timeout=", 10) == 0) {
            timeout = atoi(a + 10);
            timeout_given = true;
        } else {
            const char *eq = strchr(a, '=');
            /* KEY=VALUE is a keyword argument when KEY is a plain name. */
            if (eq && eq != a && strspn(a, "abcdefghijklmnopqrstuvwxyz_0123456789")
                                     == (size_t) (eq - a)) {
                char *key = fl_strndup(a, (size_t) (eq - a));
                json_object_set_new(kwargs, key, fleetctl_parse_value(eq + 1));
                free(key);
            } else {
                json_array_append_new(args, json_string(a));
            }
        }
    }
    if (timeout_given && (timeout < 1 || timeout > 86400)) {
        fprintf(stderr, "fleetctl: --timeout must be 1..86400 seconds\n");
        json_decref(args);
        json_decref(kwargs);
        return CTL_USAGE;
    }
    const fl_func_spec_t *spec = fl_func_find(fun);
    char *err = NULL;
    if (!spec || fl_func_check_arity(spec, json_array_size(args), &err) != 0) {
        if (!spec) {
            fprintf(stderr, "fleetctl: '%s' is not a known function (fleetctl functions)\n", fun);
        } else {
            fprintf(stderr, "fleetctl: %s\n", err);
            free(err);
        }
        json_decref(args);
        json_decref(kwargs);
        return CTL_USAGE;
    }
    int rc = s_connect(ctl);
    if (rc != CTL_OK) {
        json_decref(args);
        json_decref(kwargs);
        return rc;
    }
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "cmd", "run", "tgt", tgt, "tgt_type",
                            tgt_type, "fun", fun, "args", args, "kwargs", kwargs);
    if (timeout > 0) {
        json_object_set_new(req, "timeout", json_integer(timeout));
    }
    const char *user = getenv("USER");
    json_object_set_new(req, "user", json_string(user ? user : "unknown"));
    s_send(ctl, req);
    json_t *returns = json_object();
    json_t *missing = NULL;
    const char *jid = NULL;
    json_t *job = NULL;
    int failed = 0;
    /* The master ends the job at its deadline (it tells us which); allow
       that and a margin before calling the master gone. */
    int wait_ms = 30000;
    for (;;) {
        json_t *reply = s_recv(ctl, wait_ms);
        if (!reply) {
            fprintf(stderr, "fleetctl: the master at %s stopped answering\n", ctl->socket_path);
            rc = CTL_UNREACHABLE;
            break;
        }
        const char *type = fl_json_str(reply, "type");
        type = type ? type : "";
        if (strcmp(type, "error") == 0) {
            rc = s_print_error(reply);
            json_decref(reply);
            break;
        }
        if (strcmp(type, "job") == 0) {
            job = reply;
            jid = fl_json_str(job, "jid");
            wait_ms = (int) (json_integer_value(json_object_get(job, "timeout")) + 15) * 1000;
            if (!ctl->json && json_array_size(json_object_get(job, "expected")) == 0) {
                fprintf(stderr, "No minions matched the target.\n");
            }
            continue;
        }
        if (strcmp(type, "return") == 0) {
            const char *minion = fl_json_str(reply, "minion");
            bool ok = json_is_true(json_object_get(reply, "success"));
            failed += !ok;
            if (ctl->json) {
                json_object_set_new(returns, minion,
                                    json_pack("{s:O, s:O, s:O}", "ret",
                                              json_object_get(reply, "ret"), "retcode",
                                              json_object_get(reply, "retcode"), "success",
                                              json_object_get(reply, "success")));
            } else if (strcmp(fun, "state.apply") == 0) {
                fleetctl_print_highstate(stdout, minion, json_object_get(reply, "ret"));
                fflush(stdout);
            } else {
                printf("%s:\n", minion);
                fleetctl_print_nested(stdout, json_object_get(reply, "ret"), 4);
                if (!ok) {
                    printf("    (retcode %lld)\n",
                           (long long) json_integer_value(json_object_get(reply, "retcode")));
                }
                fflush(stdout);
            }
            json_decref(reply);
            continue;
        }
        if (strcmp(type, "done") == 0) {
            missing = json_incref(json_object_get(reply, "missing"));
            json_decref(reply);
            break;
        }
        json_decref(reply);
    }
    if (missing) {
        size_t nexp = json_array_size(json_object_get(job, "expected"));
        if (ctl->json) {
            json_t *doc = json_pack("{s:s, s:O, s:O}", "jid", jid ? jid : "", "returns", returns,
                                    "missing", missing);
            s_print_json(doc);
            json_decref(doc);
        } else if (nexp > 0) {
            const char *id;
            json_t *why;
            json_object_foreach(missing, id, why) {
                printf("%s:\n    Minion did not return. [%s]\n", id, json_string_value(why));
            }
            fflush(stdout);
            fprintf(stderr, "job %s: %zu of %zu answered, %d failed, %zu did not answer\n", jid,
                    nexp - json_object_size(missing), nexp, failed, json_object_size(missing));
        }
        rc = (failed > 0 || json_object_size(missing) > 0) ? CTL_FAILED : CTL_OK;
    }
    json_decref(missing);
    json_decref(returns);
    json_decref(job);
    return rc;
}

/*  Splits `apply`/`state show` arguments: target options (kept for run),
    --test, then TARGET and SLS names. */
static int
s_split_target_args(int argc, char **argv, char **opts, int *nopts, bool *test, bool *json,
                    int *first_positional)
{
    *nopts = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--test") == 0) {
            *test = true;
        } else if (strcmp(a, "--json") == 0) {
            *json = true;
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            opts[(*nopts)++] = argv[i++];
            opts[(*nopts)++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else {
            opts[(*nopts)++] = argv[i];
        }
    }
    *first_positional = i;
    return i < argc ? 0 : -1;
}

/*  fleetctl apply [-L|-G|-P|-E|-C] TARGET [SLS...] [--test] [--timeout S]:
    state.apply, the highstate when no SLS is named. */
static int
s_cmd_apply(ctl_t *ctl, int argc, char **argv)
{
    char **run = fl_calloc((size_t) argc + 8, sizeof *run);
    char **opts = fl_calloc((size_t) argc + 1, sizeof *opts);
    int nopts = 0, first = 0, n = 0;
    bool test = false;
    /* --test and --json may also come last, as Salt's test=True does. */
    char **args = fl_calloc((size_t) argc + 1, sizeof *args);
    int nargs = 0;
    const char *timeout = NULL;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--test") == 0) {
            test = true;
        } else if (i > 0 && strcmp(argv[i], "--json") == 0) {
            ctl->json = true;
        } else if (i > 0 && strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--timeout=", 10) == 0) {
            timeout = argv[i] + 10;
        } else {
            args[nargs++] = argv[i];
        }
    }
    int rc;
    if (s_split_target_args(nargs, args, opts, &nopts, &test, &ctl->json, &first) != 0) {
        rc = s_usage();
    } else {
        run[n++] = "run";
        if (timeout) {
            run[n++] = "--timeout";
            run[n++] = (char *) timeout;
        }
        for (int i = 0; i < nopts; i++) {
            run[n++] = opts[i];
        }
        run[n++] = args[first];
        run[n++] = "state.apply";
        run[n++] = "--";
        for (int i = first + 1; i < nargs; i++) {
            run[n++] = args[i];
        }
        if (test) {
            run[n++] = "test=true";
        }
        rc = s_cmd_run(ctl, n, run);
    }
    free(args);
    free(opts);
    free(run);
    return rc;
}

/*  fleetctl state show TARGET [SLS...]: what the master would send each
    minion, compiled and not applied.  With --states/--grains: offline. */
static int
s_cmd_state(ctl_t *ctl, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "show") != 0) {
        return s_usage();
    }
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--grains", 8) == 0 || strncmp(argv[i], "--states", 8) == 0) {
            return fleetctl_state_show_offline(argc - 1, argv + 1, ctl->json);
        }
    }
    char *opts[64];
    int nopts = 0, first = 0;
    bool test = false;
    if (argc - 1 > 60 || s_split_target_args(argc - 1, argv + 1, opts, &nopts, &test, &ctl->json,
                                             &first) != 0) {
        return s_usage();
    }
    const char *tgt_type = "glob";
    for (int i = 0; i < nopts; i++) {
        tgt_type = strcmp(opts[i], "-L") == 0   ? "list"
                   : strcmp(opts[i], "-G") == 0 ? "grain"
                   : strcmp(opts[i], "-P") == 0 ? "grain_pcre"
                   : strcmp(opts[i], "-E") == 0 ? "pcre"
                   : strcmp(opts[i], "-C") == 0 ? "compound"
                                                : tgt_type;
    }
    json_t *sls = json_array();
    for (int i = first + 2; i < argc; i++) {
        json_array_append_new(sls, json_string(argv[i]));
    }
    int rc;
    json_t *data = s_call(ctl,
                          json_pack("{s:s, s:s, s:s, s:o}", "cmd", "state.show", "tgt",
                                    argv[first + 1], "tgt_type", tgt_type, "args", sls),
                          &rc);
    if (!data) {
        return rc;
    }
    const char *mid;
    json_t *mv;
    json_object_foreach(json_object_get(data, "minions"), mid, mv) {
        if (json_object_get(mv, "errors")) {
            rc = CTL_FAILED;
        }
    }
    if (ctl->json) {
        s_print_json(data);
    } else {
        printf("state tree commit %s\n", fl_json_str(data, "commit"));
        const char *id;
        json_t *m;
        json_object_foreach(json_object_get(data, "minions"), id, m) {
            printf("%s:\n", id);
            if (json_object_get(m, "errors")) {
                fleetctl_print_nested(stdout, json_object_get(m, "errors"), 4);
            } else {
                fleetctl_print_chunks(stdout, json_object_get(m, "chunks"));
            }
        }
    }
    json_decref(data);
    return rc;
}

static const char *
s_tgt_type_of(const char *opt, const char *current)
{
    return strcmp(opt, "-L") == 0   ? "list"
           : strcmp(opt, "-G") == 0 ? "grain"
           : strcmp(opt, "-P") == 0 ? "grain_pcre"
           : strcmp(opt, "-E") == 0 ? "pcre"
           : strcmp(opt, "-C") == 0 ? "compound"
                                    : current;
}

/*  status [-L|-G|-P|-E|-C] [TARGET] [--lost]: presence at a glance. */
static int
s_cmd_status(ctl_t *ctl, int argc, char **argv)
{
    const char *tgt = "*", *tgt_type = "glob";
    bool lost = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lost") == 0) {
            lost = true;
        } else if (argv[i][0] == '-' && argv[i][1] && !argv[i][2]) {
            tgt_type = s_tgt_type_of(argv[i], tgt_type);
        } else if (argv[i][0] != '-') {
            tgt = argv[i];
        } else {
            return s_usage();
        }
    }
    int rc;
    json_t *data = s_call(ctl, json_pack("{s:s, s:s, s:s, s:b}", "cmd", "status", "tgt", tgt,
                                         "tgt_type", tgt_type, "lost", lost),
                          &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json) {
        s_print_json(data);
    } else {
        fleetctl_print_status(data);
    }
    /* Like a check: non-zero when a device is lost. */
    rc = json_integer_value(json_object_get(json_object_get(data, "counts"), "lost")) > 0
             ? CTL_FAILED
             : CTL_OK;
    json_decref(data);
    return rc;
}

/*  availability [-L|-G|...] TARGET --since 7d */
static int
s_cmd_availability(ctl_t *ctl, int argc, char **argv)
{
    const char *tgt = NULL, *tgt_type = "glob";
    int64_t since = 7 * 86400;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            since = fleetctl_parse_duration(argv[++i]);
        } else if (argv[i][0] == '-' && argv[i][1] && !argv[i][2]) {
            tgt_type = s_tgt_type_of(argv[i], tgt_type);
        } else if (argv[i][0] != '-' && !tgt) {
            tgt = argv[i];
        } else {
            return s_usage();
        }
    }
    if (!tgt || since <= 0) {
        fprintf(stderr, "fleetctl: availability TARGET [--since 7d] (s, m, h, d, w)\n");
        return CTL_USAGE;
    }
    int rc;
    json_t *data = s_call(ctl, json_pack("{s:s, s:s, s:s, s:I}", "cmd", "availability", "tgt",
                                         tgt, "tgt_type", tgt_type, "since",
                                         (json_int_t) (fl_time_s() - since)),
                          &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json) {
        s_print_json(data);
    } else {
        fleetctl_print_availability(data);
    }
    json_decref(data);
    return CTL_OK;
}

/*  events [--tag GLOB] [--last N] [--count N]: follows events as they
    happen (after the last N stored ones); --count stops after N. */
static int
s_cmd_events(ctl_t *ctl, int argc, char **argv)
{
    const char *glob = "*";
    int last = 0;
    long count = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc) {
            glob = argv[++i];
        } else if (strcmp(argv[i], "--last") == 0 && i + 1 < argc) {
            last = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = atol(argv[++i]);
        } else {
            return s_usage();
        }
    }
    int rc = s_connect(ctl);
    if (rc != CTL_OK) {
        return rc;
    }
    s_send(ctl, json_pack("{s:s, s:s, s:i}", "cmd", "events", "tag", glob, "last", last));
    long seen = 0;
    while (count < 0 || seen < count) {
        /* The master sends a keepalive every 10 s while nothing happens. */
        json_t *msg = s_recv(ctl, 35000);
        if (!msg) {
            fprintf(stderr, "fleetctl: the master at %s stopped answering\n", ctl->socket_path);
            return CTL_UNREACHABLE;
        }
        const char *type = fl_json_str(msg, "type");
        if (type && strcmp(type, "event") == 0) {
            if (ctl->json) {
                json_object_del(msg, "type");
                char *text = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
                puts(text);
                free(text);
                fflush(stdout);
            } else {
                fleetctl_print_event(msg);
            }
            seen++;
        } else if (type && strcmp(type, "error") == 0) {
            rc = s_print_error(msg);
            json_decref(msg);
            return rc;
        }
        json_decref(msg);
    }
    return CTL_OK;
}

/*  beacons ID [--name N] [--since D] [--limit N] */
static int
s_cmd_beacons(ctl_t *ctl, int argc, char **argv)
{
    const char *id = NULL, *name = NULL;
    int64_t since = 86400;
    int limit = 1000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            since = fleetctl_parse_duration(argv[++i]);
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !id) {
            id = argv[i];
        } else {
            return s_usage();
        }
    }
    if (!id || since <= 0 || limit <= 0) {
        return s_usage();
    }
    int rc;
    json_t *data = s_call(ctl, json_pack("{s:s, s:s, s:s?, s:I, s:i}", "cmd", "beacons", "id", id,
                                         "name", name, "since",
                                         (json_int_t) (fl_time_s() - since), "limit", limit),
                          &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json) {
        s_print_json(data);
    } else {
        fleetctl_print_beacons(data);
    }
    json_decref(data);
    return CTL_OK;
}

/*  locate ID [--seconds N]: the device blinks (or runs its locate command). */
static int
s_cmd_locate(ctl_t *ctl, int argc, char **argv)
{
    const char *id = NULL, *seconds = "30";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = argv[++i];
        } else if (argv[i][0] != '-' && !id) {
            id = argv[i];
        } else {
            return s_usage();
        }
    }
    int n = atoi(seconds);
    if (!id || n < 1 || n > 3600) {
        fprintf(stderr, "fleetctl: locate ID [--seconds 1..3600]\n");
        return CTL_USAGE;
    }
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", n + 30);
    char *run[] = { "run", "--timeout", timeout, "-L", (char *) id, "system.locate",
                    (char *) seconds, NULL };
    return s_cmd_run(ctl, 7, run);
}

static int
s_cmd_key(ctl_t *ctl, int argc, char **argv)
{
    if (argc < 2) {
        return s_usage();
    }
    const char *sub = argv[1];
    json_t *req = NULL;
    if (strcmp(sub, "list") == 0 && argc == 2) {
        req = json_pack("{s:s}", "cmd", "key.list");
    } else if (strcmp(sub, "accept") == 0 && argc == 3 && strcmp(argv[2], "--all") == 0) {
        req = json_pack("{s:s, s:b}", "cmd", "key.accept", "all", 1);
    } else if ((strcmp(sub, "accept") == 0 || strcmp(sub, "reject") == 0
                || strcmp(sub, "delete") == 0 || strcmp(sub, "revoke") == 0
                || strcmp(sub, "show") == 0)
               && argc == 3) {
        char *cmd = fl_sprintf("key.%s", sub);
        req = json_pack("{s:s, s:s}", "cmd", cmd, "id", argv[2]);
        free(cmd);
    } else {
        return s_usage();
    }
    int rc;
    json_t *data = s_call(ctl, req, &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json) {
        s_print_json(data);
    } else if (strcmp(sub, "list") == 0) {
        static const char *titles[][2] = { { "accepted", "Accepted Keys:" },
                                           { "pending", "Unaccepted Keys:" },
                                           { "rejected", "Rejected Keys:" },
                                           { "revoked", "Revoked Keys:" } };
        for (size_t t = 0; t < FL_ARRAY_LEN(titles); t++) {
            puts(titles[t][1]);
            size_t i;
            json_t *id;
            json_array_foreach(json_object_get(data, titles[t][0]), i, id) {
                puts(json_string_value(id));
            }
        }
    } else if (strcmp(sub, "show") == 0) {
        char seen[32];
        printf("id:          %s\nstate:       %s\nfingerprint: %s\nkey:         %s\n"
               "certificate: %s\nversion:     %s\nconnected:   %s\nlast seen:   %s\n",
               fl_json_str(data, "id"), fl_json_str(data, "state"),
               fl_json_str(data, "fingerprint"), fl_json_str(data, "key"),
               fl_json_str(data, "cert_serial") ? fl_json_str(data, "cert_serial") : "(none)",
               fl_json_str(data, "version") ? fl_json_str(data, "version") : "?",
               json_is_true(json_object_get(data, "connected")) ? "yes" : "no",
               fl_time_ago(json_integer_value(json_object_get(data, "last_seen")), fl_time_s(),
                           seen, sizeof seen));
    } else {
        const char *verb;
        json_t *ids;
        json_object_foreach(data, verb, ids) {
            size_t i;
            json_t *id;
            if (json_array_size(ids) == 0) {
                printf("no keys %s\n", verb);
            }
            json_array_foreach(ids, i, id) {
                printf("%s: %s\n", verb, json_string_value(id));
            }
        }
    }
    json_decref(data);
    return CTL_OK;
}

static int
s_cmd_jobs(ctl_t *ctl, int argc, char **argv)
{
    int limit = 50;
    if (argc == 3 && strcmp(argv[1], "--limit") == 0) {
        limit = atoi(argv[2]);
    } else if (argc != 1) {
        return s_usage();
    }
    int rc;
    json_t *data = s_call(ctl, json_pack("{s:s, s:i}", "cmd", "jobs", "limit", limit), &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json) {
        s_print_json(data);
    } else {
        printf("%-20s  %-20s  %-24s  %9s  %6s  %s\n", "JID", "STARTED", "FUNCTION", "RETURNED",
               "FAILED", "TARGET");
        size_t i;
        json_t *job;
        json_array_foreach(data, i, job) {
            char when[32];
            time_t t = (time_t) json_integer_value(json_object_get(job, "created"));
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
            char counts[32];
            snprintf(counts, sizeof counts, "%lld/%lld",
                     (long long) json_integer_value(json_object_get(job, "returned")),
                     (long long) json_integer_value(json_object_get(job, "expected_count")));
            printf("%-20s  %-20s  %-24s  %9s  %6lld  %s (%s)\n", fl_json_str(job, "jid"), when,
                   fl_json_str(job, "fun"), counts,
                   (long long) json_integer_value(json_object_get(job, "failed")),
                   fl_json_str(job, "tgt"), fl_json_str(job, "tgt_type"));
        }
    }
    json_decref(data);
    return CTL_OK;
}

static int
s_cmd_job(ctl_t *ctl, int argc, char **argv)
{
    if (argc != 2) {
        return s_usage();
    }
    int rc;
    json_t *data = s_call(ctl, json_pack("{s:s, s:s}", "cmd", "job", "jid", argv[1]), &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json) {
        s_print_json(data);
    } else {
        char *args = fl_json_compact(json_object_get(data, "args"));
        char *kwargs = fl_json_compact(json_object_get(data, "kwargs"));
        if (fl_json_str(data, "commit")) {
            printf("commit:   %s\n", fl_json_str(data, "commit"));
        }
        printf("jid:      %s\nfunction: %s %s %s\ntarget:   %s (%s)\nuser:     %s\n",
               fl_json_str(data, "jid"), fl_json_str(data, "fun"), args, kwargs,
               fl_json_str(data, "tgt"), fl_json_str(data, "tgt_type"),
               fl_json_str(data, "user") ? fl_json_str(data, "user") : "");
        free(args);
        free(kwargs);
        const char *id;
        json_t *ret;
        json_object_foreach(json_object_get(data, "returns"), id, ret) {
            printf("%s:\n", id);
            fleetctl_print_nested(stdout, json_object_get(ret, "ret"), 4);
        }
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(data, "missing"), i, m) {
            printf("%s:\n    Minion did not return.\n", json_string_value(m));
        }
    }
    json_decref(data);
    return CTL_OK;
}

static int
s_cmd_simple(ctl_t *ctl, const char *cmd)
{
    int rc;
    json_t *data = s_call(ctl, json_pack("{s:s}", "cmd", cmd), &rc);
    if (!data) {
        return rc;
    }
    if (ctl->json || strcmp(cmd, "ping") == 0) {
        s_print_json(data);
    } else {
        printf("minions %lld, connected %lld, uptime %llds\n",
               (long long) json_integer_value(json_object_get(data, "minions")),
               (long long) json_integer_value(json_object_get(data, "connected")),
               (long long) json_integer_value(json_object_get(data, "uptime")));
        const char *name;
        json_t *c;
        json_object_foreach(json_object_get(data, "counters"), name, c) {
            printf("%10lld  %s\n", (long long) json_integer_value(json_object_get(c, "count")),
                   fl_json_str(c, "doc"));
        }
    }
    json_decref(data);
    return CTL_OK;
}

static int
s_cmd_functions(ctl_t *ctl)
{
    json_t *list = json_array();
    for (size_t i = 0; i < fl_func_count(); i++) {
        const fl_func_spec_t *f = fl_func_at(i);
        if (ctl->json) {
            json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:s}", "name", f->name,
                                                  "min_args", f->min_args, "max_args",
                                                  f->max_args, "doc", f->doc));
        } else {
            printf("%-20s %s\n", f->name, f->doc);
        }
    }
    if (ctl->json) {
        s_print_json(list);
    }
    json_decref(list);
    return CTL_OK;
}

int
main(int argc, char **argv)
{
    ctl_t ctl = { .socket_path = getenv("FLEET_SOCKET") };
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
            ctl.socket_path = argv[++i];
        } else if (strncmp(argv[i], "--socket=", 9) == 0) {
            ctl.socket_path = argv[i] + 9;
        } else if (strcmp(argv[i], "--json") == 0) {
            ctl.json = true;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("fleetctl %s\n", FL_VERSION);
            return CTL_OK;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            s_usage();
            return CTL_OK;
        } else {
            fprintf(stderr, "fleetctl: unknown option '%s'\n", argv[i]);
            return s_usage();
        }
    }
    if (!ctl.socket_path || !*ctl.socket_path) {
        ctl.socket_path = CTL_DEFAULT_SOCKET;
    }
    if (i >= argc) {
        return s_usage();
    }
    /* --json may also follow the command. */
    int n = 0;
    char **rest = fl_calloc((size_t) (argc - i + 1), sizeof *rest);
    for (int j = i; j < argc; j++) {
        if (strcmp(argv[j], "--json") == 0 && strcmp(argv[i], "run") != 0) {
            ctl.json = true;
        } else {
            rest[n++] = argv[j];
        }
    }
    zsys_init();
    zsys_set_logstream(NULL);
    const char *cmd = rest[0];
    int rc;
    if (strcmp(cmd, "run") == 0) {
        rc = s_cmd_run(&ctl, n, rest);
    } else if (strcmp(cmd, "status") == 0) {
        rc = s_cmd_status(&ctl, n, rest);
    } else if (strcmp(cmd, "availability") == 0) {
        rc = s_cmd_availability(&ctl, n, rest);
    } else if (strcmp(cmd, "events") == 0) {
        rc = s_cmd_events(&ctl, n, rest);
    } else if (strcmp(cmd, "locate") == 0) {
        rc = s_cmd_locate(&ctl, n, rest);
    } else if (strcmp(cmd, "beacons") == 0) {
        rc = s_cmd_beacons(&ctl, n, rest);
    } else if (strcmp(cmd, "apply") == 0) {
        rc = s_cmd_apply(&ctl, n, rest);
    } else if (strcmp(cmd, "state") == 0) {
        rc = s_cmd_state(&ctl, n, rest);
    } else if (strcmp(cmd, "key") == 0) {
        rc = s_cmd_key(&ctl, n, rest);
    } else if (strcmp(cmd, "jobs") == 0) {
        rc = s_cmd_jobs(&ctl, n, rest);
    } else if (strcmp(cmd, "job") == 0) {
        rc = s_cmd_job(&ctl, n, rest);
    } else if ((strcmp(cmd, "stats") == 0 || strcmp(cmd, "ping") == 0) && n == 1) {
        rc = s_cmd_simple(&ctl, cmd);
    } else if (strcmp(cmd, "functions") == 0 && n == 1) {
        rc = s_cmd_functions(&ctl);
    } else if (strcmp(cmd, "pki") == 0) {
        rc = fleetctl_pki(n, rest);
    } else {
        rc = s_usage();
    }
    zsock_destroy(&ctl.sock);
    free(rest);
    return rc;
}
