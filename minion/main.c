/*  fleet-minion: the device daemon.  Thin: arguments, configuration, then
    fl_minion. */
#include "fl_log.h"
#include "fl_minion.h"

#include <czmq.h>
#include <getopt.h>

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: fleet-minion -c FILE [--syslog] [--debug]\n"
                 "       fleet-minion --help-config\n"
                 "  -c, --config FILE   minion.yaml (a factory bundle's minion.yaml works as is)\n"
                 "      --syslog        log to syslog instead of stderr\n"
                 "  -d, --debug         log level debug\n"
                 "      --help-config   list the configuration keys\n");
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' }, { "syslog", no_argument, NULL, 's' },
        { "debug", no_argument, NULL, 'd' },         { "help", no_argument, NULL, 'h' },
        { "help-config", no_argument, NULL, 'H' },   { "foreground", no_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    bool use_syslog = false, debug = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:dhf", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 's': use_syslog = true; break;
        case 'd': debug = true; break;
        case 'f': break;
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
