/*  fl_prelude.h: what every fleet source file includes first.
    Allocation aborts on out-of-memory (as czmq does), so callers do not
    check each allocation. */
#ifndef FL_PRELUDE_H
#define FL_PRELUDE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FL_VERSION "0.1.0"

#define FL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FL_UNUSED(x) ((void)(x))
#define FL_PRINTF(f, a) __attribute__((format(printf, f, a)))

void *fl_malloc(size_t size);
void *fl_calloc(size_t n, size_t size);
void *fl_realloc(void *p, size_t size);
char *fl_strdup(const char *s);
char *fl_strndup(const char *s, size_t n);
/*  Returns a new string; caller frees. */
char *fl_sprintf(const char *fmt, ...) FL_PRINTF(1, 2);
char *fl_vsprintf(const char *fmt, va_list ap) FL_PRINTF(1, 0);

#endif
