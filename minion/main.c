/*  fleet-minion: the device daemon.  Thin: arguments, configuration, then
    fl_minion. */
#include "fl_bundle.h"
#include "fl_log.h"
#include "fl_minion.h"

#include <signal.h>
#include <time.h>

#include <czmq.h>
#include <getopt.h>

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: fleet-minion -c FILE [--auto [--bundle-dir DIR]... [--state-dir DIR]]\n"
                 "                   [--syslog] [--debug]\n"
                 "       fleet-minion --help-config\n"
                 "  -c, --config FILE   minion.yaml (a factory bundle's minion.yaml works as is)\n"
                 "      --auto          first boot: when FILE does not exist, install the\n"
                 "                      factory bundle found in /etc/fleet/bundle,\n"
                 "                      /boot/fleet-bundle or /boot/firmware/fleet-bundle\n"
                 "                      (or --bundle-dir), waiting for one if there is none\n"
                 "      --state-dir DIR where the bundle's key goes (/var/lib/fleet-minion)\n"
                 "      --syslog        log to syslog instead of stderr\n"
                 "  -d, --debug         log level debug\n"
                 "      --help-config   list the configuration keys\n");
}

static volatile sig_atomic_t s_stop;

static void
s_on_signal(int sig)
{
    FL_UNUSED(sig);
    s_stop = 1;
}

/*  Waits for a usable bundle (or configuration): no bundle, or a wrong
    one, is said once in the log and tried again with a growing pause (10 s
    up to 5 min), never in a tight loop.  -1 when stopped by a signal. */
static int
s_first_boot(const char *config_path, const char *const *dirs, const char *state_dir)
{
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);
    char *last = NULL;
    int pause_s = 10;
    int rc = -1;
    while (!s_stop) {
        char *err = NULL;
        int found = fl_bundle_install(config_path, dirs, state_dir, &err);
        if (found == 0) {
            rc = 0;
            break;
        }
        char *now = NULL;
        if (found == 1) {
            char places[1024] = "";
            size_t off = 0;
            for (size_t i = 0; dirs[i] && off < sizeof places; i++) {
                off += (size_t) snprintf(places + off, sizeof places - off, "%s%s",
                                         i ? ", " : "", dirs[i]);
            }
            now = fl_sprintf("no configuration at %s and no factory bundle in %s", config_path,
                             places);
        } else {
            now = fl_strdup(err);
        }
        if (!last || strcmp(last, now) != 0) {
            fl_log_error("%s; trying again (after 10 s, then less and less often, at most "
                         "every 5 min)", now);
        }
        free(last);
        last = now;
        free(err);
        for (int i = 0; i < pause_s * 10 && !s_stop; i++) {
            struct timespec ts = { 0, 100 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        pause_s = pause_s * 2 > 300 ? 300 : pause_s * 2;
    }
    free(last);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' }, { "syslog", no_argument, NULL, 's' },
        { "debug", no_argument, NULL, 'd' },         { "help", no_argument, NULL, 'h' },
        { "help-config", no_argument, NULL, 'H' },   { "foreground", no_argument, NULL, 'f' },
        { "auto", no_argument, NULL, 'a' },          { "bundle-dir", required_argument, NULL, 'b' },
        { "state-dir", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    bool use_syslog = false, debug = false, autojoin = false;
    const char *bundle_dirs[16] = { NULL };
    size_t nbundle = 0;
    const char *state_dir = "/var/lib/fleet-minion";
    int opt;
    while ((opt = getopt_long(argc, argv, "c:dhf", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 's': use_syslog = true; break;
        case 'd': debug = true; break;
        case 'f': break;
        case 'a': autojoin = true; break;
        case 'b':
            if (nbundle + 1 < FL_ARRAY_LEN(bundle_dirs)) {
                bundle_dirs[nbundle++] = optarg;
            }
            break;
        case 'S': state_dir = optarg; break;
        case 'H':
            fl_config_print_spec(fl_minion_config_spec, fl_minion_config_spec_len, stdout);
            return 0;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (!config_path || optind != argc) {
        s_usage(stderr);
        return 2;
    }
    fl_log_open("fleet-minion", use_syslog);
    if (autojoin && s_first_boot(config_path, nbundle ? bundle_dirs : fl_bundle_default_dirs,
                                 state_dir) != 0) {
        return 0;   /* stopped while waiting for a bundle */
    }
    fl_config_t *config = fl_config_load_daemon(config_path, fl_minion_config_spec,
                                                fl_minion_config_spec_len, debug);
    if (!config) {
        return 2;
    }
    zsys_init();
    zsys_set_logstream(NULL);
    char *err = NULL;
    fl_minion_t *minion = fl_minion_new(&config, &err);
    if (!minion) {
        fl_log_error("%s", err ? err : "cannot start");
        free(err);
        fl_config_destroy(&config);
        return 1;
    }
    int rc = fl_minion_run(minion);
    fl_minion_destroy(&minion);
    return rc;
}
