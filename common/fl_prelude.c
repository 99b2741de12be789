/*  fl_prelude.c: allocation that aborts on out-of-memory. */
#include "fl_prelude.h"

static void
s_oom(size_t size)
{
    fprintf(stderr, "fleet: out of memory (%zu bytes)\n", size);
    abort();
}

void *
fl_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        s_oom(size);
    }
    return p;
}

void *
fl_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        s_oom(n * size);
    }
    return p;
}

void *
fl_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) {
        s_oom(size);
    }
    return q;
}

char *
fl_strdup(const char *s)
{
    return fl_strndup(s, strlen(s));
}

char *
fl_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = fl_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
fl_vsprintf(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (len < 0) {
        return fl_strdup("(format error)");
    }
    char *p = fl_malloc((size_t) len + 1);
    vsnprintf(p, (size_t) len + 1, fmt, ap);
    return p;
}

char *
fl_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = fl_vsprintf(fmt, ap);
    va_end(ap);
    return p;
}
