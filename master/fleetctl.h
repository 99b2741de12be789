/*  fleetctl.h: the operator CLI's parts (fleetctl.c: commands and the
    control connection; fleetctl_pki.c: the factory PKI; fleetctl_out.c:
    output for people). */
#ifndef FLEETCTL_H
#define FLEETCTL_H

#include "fl_prelude.h"

#include <jansson.h>

/*  Exit codes (house style). */
enum { CTL_OK = 0, CTL_FAILED = 1, CTL_USAGE = 2, CTL_UNREACHABLE = 3 };

int fleetctl_pki(int argc, char **argv);

/*  Prints V the way Salt's nested outputter does, indented by INDENT. */
void fleetctl_print_nested(FILE *out, const json_t *v, int indent);
/*  Prints one minion's state.apply return the way Salt's highstate
    outputter does (each state, then a summary).  Returns the number of
    failed states (compile errors count as one). */
int fleetctl_print_highstate(FILE *out, const char *minion, const json_t *ret);
/*  Prints compiled low chunks (fleetctl state show) for people. */
void fleetctl_print_chunks(FILE *out, const json_t *chunks);
/*  `fleetctl state show` without a master: compiles a local tree. */
int fleetctl_state_show_offline(int argc, char **argv, bool json);
/*  fleetctl_health.c */
/*  "90", "15m", "2h", "7d", "1w" in seconds; -1 when malformed. */
int64_t fleetctl_parse_duration(const char *text);
void fleetctl_print_status(const json_t *data);
void fleetctl_print_availability(const json_t *data);
void fleetctl_print_event(const json_t *event);
void fleetctl_print_beacons(const json_t *samples);
/*  Parses a command-line value as Salt does for key=value arguments:
    true/false/null/integers/floats typed, everything else a string. */
json_t *fleetctl_parse_value(const char *text);

#endif
