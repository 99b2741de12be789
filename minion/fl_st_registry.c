/*  fl_st_registry.c: the table of state functions.  Entries come from two
    X-macro lists: fl_st_core.def (runner-level and file/cmd/test/archive
    states) and fl_st_sys.def (packages, services, users, system settings).
    FL_ST(name, function, mod_watch-or-NULL).  The table is sorted once on
    first use and searched with bsearch. */
#include "fl_st.h"

#define FL_ST(name, fn, watch) void fn(const fl_st_ctx_t *, const char *, const json_t *, fl_st_ret_t *);
#define FL_ST_WATCH(fn) void fn(const fl_st_ctx_t *, const char *, const json_t *, fl_st_ret_t *);
#include "fl_st_core.def"
#include "fl_st_sys.def"
#include "fl_st_docker.def"
#undef FL_ST
#undef FL_ST_WATCH

static fl_st_spec_t s_table[] = {
#define FL_ST(name, fn, watch) { name, fn, watch },
#define FL_ST_WATCH(fn)
#include "fl_st_core.def"
#include "fl_st_sys.def"
#include "fl_st_docker.def"
#undef FL_ST
#undef FL_ST_WATCH
    { NULL, NULL, NULL },
};
static size_t s_count;

static int
s_compare(const void *a, const void *b)
{
    return strcmp(((const fl_st_spec_t *) a)->name, ((const fl_st_spec_t *) b)->name);
}

static void
s_sort(void)
{
    if (s_count == 0) {
        while (s_table[s_count].name) {
            s_count++;
        }
        qsort(s_table, s_count, sizeof s_table[0], s_compare);
    }
}

const fl_st_spec_t *
fl_st_find(const char *name)
{
    s_sort();
    fl_st_spec_t key = { name, NULL, NULL };
    return bsearch(&key, s_table, s_count, sizeof s_table[0], s_compare);
}

size_t
fl_st_count(void)
{
    s_sort();
    return s_count;
}

const fl_st_spec_t *
fl_st_at(size_t index)
{
    s_sort();
    return index < s_count ? &s_table[index] : NULL;
}
