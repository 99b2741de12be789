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
/*  Parses a command-line value as Salt does for key=value arguments:
    true/false/null/integers/floats typed, everything else a string. */
json_t *fleetctl_parse_value(const char *text);

#endif
