/*  fleet-master: the master daemon.  Thin: parse arguments, load the
    configuration, hand over to fl_master. */
#include "fl_log.h"
#include "fl_master.h"

#include <czmq.h>
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: fleet-master -c FILE [--init] [--foreground] [--syslog] [--debug]\n"
                 "       fleet-master --help-config\n"
                 "  -c, --config FILE   master.yaml\n"
                 "      --init          create the data directory and the master's keys, "
                 "then exit\n"
                 "      --syslog        log to syslog instead of stderr\n"
                 "  -d, --debug         log level debug\n"
                 "      --help-config   list the configuration keys\n");
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        { "config", required_argument, NULL, 'c' }, { "init", no_argument, NULL, 'i' },
        { "syslog", no_argument, NULL, 's' },        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },          { "help-config", no_argument, NULL, 'H' },
        { "foreground", no_argument, NULL, 'f' },    { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    bool init = false, use_syslog = false, debug = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:dhf", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'i': init = true; break;
        case 's': use_syslog = true; break;
        case 'd': debug = true; break;
        case 'f': break;
        case 'H':
            fl_config_print_spec(fl_master_config_spec, fl_master_config_spec_len, stdout);
            return 0;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 2;
        }
    }
    if (!config_path || optind != argc) {
        s_usage(stderr);
        return 2;
    }
    fl_log_open("fleet-master", use_syslog);
    fl_config_t *config = fl_config_load_daemon(config_path, fl_master_config_spec,
                                                fl_master_config_spec_len, debug);
    if (!config) {
        return 2;
    }
    char *err = NULL;
    if (init) {
        int rc = fl_master_init_data(config, &err);
        if (rc != 0) {
            fl_log_error("%s", err);
        } else {
            printf("%s/master.pub\n", fl_config_str(config, "data_dir"));
        }
        free(err);
        fl_config_destroy(&config);
        return rc == 0 ? 0 : 1;
    }
    /* czmq catches SIGINT/SIGTERM and makes zloop return. */
    /* A broker or client that hangs up must not kill the master. */
    signal(SIGPIPE, SIG_IGN);
    zsys_init();
    zsys_set_logstream(NULL);
    fl_master_t *master = fl_master_new(&config, &err);
    if (!master) {
        fl_log_error("%s", err ? err : "cannot start");
        free(err);
        fl_config_destroy(&config);
        return 1;
    }
    int rc = fl_master_run(master);
    fl_master_destroy(&master);
    return rc == 0 ? 0 : 1;
}
