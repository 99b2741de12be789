/*  fl_curl.c: libcurl through dlopen (see fl_curl.h for why).  The table
    of symbols below is the whole of what the minion uses; a symbol missing
    from the library fails the load as a whole, so a caller never meets a
    NULL member. */
#include "fl_curl.h"

#include <assert.h>
#include <dlfcn.h>
#include <pthread.h>

#define S_SONAME "libcurl.so.4"

/*  dlsym hands back a void *; POSIX promises it holds a function pointer. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "function pointers must fit in a void *");

typedef struct {
    fl_curl_t api;
    CURLcode (*global_init)(long flags);    /* run once, here */
} s_lib_t;

#define S_SYM(name, member) { name, offsetof(s_lib_t, member) }

static const struct {
    const char *name;
    size_t offset;
} s_symbols[] = {
    S_SYM("curl_global_init", global_init),
    S_SYM("curl_easy_init", api.easy_init),
    S_SYM("curl_easy_setopt", api.easy_setopt),
    S_SYM("curl_easy_perform", api.easy_perform),
    S_SYM("curl_easy_getinfo", api.easy_getinfo),
    S_SYM("curl_easy_reset", api.easy_reset),
    S_SYM("curl_easy_cleanup", api.easy_cleanup),
    S_SYM("curl_easy_strerror", api.easy_strerror),
    S_SYM("curl_easy_escape", api.easy_escape),
    S_SYM("curl_free", api.free),
    S_SYM("curl_slist_append", api.slist_append),
    S_SYM("curl_slist_free_all", api.slist_free_all),
};
_Static_assert(sizeof s_symbols / sizeof s_symbols[0] == sizeof(s_lib_t) / sizeof(void *),
               "every member of s_lib_t has its symbol");

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static s_lib_t s_lib;
static char *s_error;       /* set when the load failed; kept for later callers */

static void
s_fail(const char *why)
{
    s_error = fl_sprintf("cannot load %s: %s", S_SONAME, why ? why : "unknown error");
}

static void
s_load(void)
{
    void *lib = dlopen(S_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        s_fail(dlerror());
        return;
    }
    s_lib_t loaded = { 0 };
    for (size_t i = 0; i < sizeof s_symbols / sizeof s_symbols[0]; i++) {
        dlerror();
        void *sym = dlsym(lib, s_symbols[i].name);
        if (!sym) {
            s_fail(dlerror());
            dlclose(lib);   /* safe: curl_global_init has not run yet */
            return;
        }
        memcpy((char *) &loaded + s_symbols[i].offset, &sym, sizeof sym);
    }
    CURLcode rc = loaded.global_init(CURL_GLOBAL_ALL);
    if (rc != CURLE_OK) {
        char *why = fl_sprintf("curl_global_init: %s", loaded.api.easy_strerror(rc));
        s_fail(why);
        free(why);
        return;     /* not closed: a half-done init may have left handlers behind */
    }
    s_lib = loaded;
}

int
fl_curl_load(const fl_curl_t **api, char **err)
{
    assert(api && err);
    pthread_once(&s_once, s_load);
    if (s_error) {
        *err = fl_strdup(s_error);
        return -1;
    }
    *api = &s_lib.api;
    return 0;
}
