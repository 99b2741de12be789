/*  fl_curl.h: libcurl, loaded on first use.  Only job workers talk to the
    container engine, yet libcurl brings OpenSSL, LDAP, Kerberos and more
    (about 5 MiB of RSS) into every process that links it, the idle daemon
    included.  So the minion does not link it: the Docker backend
    (fl_docker.c) calls fl_curl_load() inside the worker, which dlopens
    libcurl.so.4 and resolves the few functions it uses into a table.
    <curl/curl.h> still gives the types and constants; nothing in the
    minion may call a curl_* function directly, or the link (with
    --as-needed) pulls libcurl back in. */
#ifndef FL_CURL_H
#define FL_CURL_H

#include "fl_prelude.h"

#include <curl/curl.h>

/*  The members drop the curl_ prefix: curl.h defines curl_easy_setopt
    and curl_easy_getinfo as macros under GCC. */
typedef struct {
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    void (*easy_reset)(CURL *curl);
    void (*easy_cleanup)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    char *(*easy_escape)(CURL *curl, const char *string, int length);
    void (*free)(void *p);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
} fl_curl_t;

/*  Loads libcurl.so.4 and runs curl_global_init, once per process; later
    calls give the first call's answer.  0 and *API (static, never freed),
    or -1 and *ERR (caller frees): "cannot load libcurl.so.4: <why>".
    Thread-safe.  Never unloaded: libcurl keeps global state. */
int fl_curl_load(const fl_curl_t **api, char **err);

#endif
