/*  fl_grains.h: the minion's grains (facts about the device), as Salt names
    them: id, os, os_family, osrelease, kernel, kernelrelease, cpuarch,
    num_cpus, mem_total (MiB), machine_id, host, fqdn, ipv4, ipv6,
    ip_interfaces, fleet_version.  Static grains from minion.yaml are merged
    over the core ones. */
#ifndef FL_GRAINS_H
#define FL_GRAINS_H

#include "fl_prelude.h"

#include <jansson.h>

/*  ROOT_DIR prefixes the files read (/etc/os-release, /etc/machine-id,
    /proc/meminfo), so tests can fake a device; "" or NULL = /.  STATIC may
    be NULL.  Caller owns the result. */
json_t *fl_grains_collect(const char *minion_id, const char *root_dir, const json_t *static_grains);


#endif
