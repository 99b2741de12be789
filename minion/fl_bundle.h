/*  fl_bundle.h: joining at first boot.  A device image carries the factory
    bundle that `fleetctl pki issue --image` wrote (minion.key, minion.crt,
    master.pub, minion.yaml) in one of the documented places: /etc/fleet/bundle,
    /boot/fleet-bundle (the boot partition, writable from a PC) or
    /boot/firmware/fleet-bundle.  At first boot the minion checks it, moves
    the key and certificate into its state directory (0700; key 0600),
    writes /etc/fleet/minion.yaml pointing at them, and removes the key from
    the bundle.  From then on the minion starts from that configuration. */
#ifndef FL_BUNDLE_H
#define FL_BUNDLE_H

#include "fl_prelude.h"

/*  The places searched, in order (NULL-terminated). */
extern const char *const fl_bundle_default_dirs[];

/*  0 when CONFIG_PATH exists (it did, or a bundle from SEARCH_DIRS was
    installed into STATE_DIR); 1 when there is no configuration and no
    bundle; -1 when a bundle is there but wrong (a key readable by others,
    a certificate for another key or id, missing files): *ERR says exactly
    what (caller frees) and nothing was changed. */
int fl_bundle_install(const char *config_path, const char *const *search_dirs,
                      const char *state_dir, char **err);

#endif
