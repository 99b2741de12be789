/*  st_test.c: Salt's test.* states.  They change nothing, so they are
    the fixtures for the runner: results, changes and comments on demand
    (each takes an optional `comment`), and a mod_watch that says when a
    watch fired. */
#include "st_core.h"

static const char *
s_comment_arg(const json_t *args, const char *fallback)
{
    const char *c = json_string_value(json_object_get(args, "comment"));
    return c ? c : fallback;
}

/*  The pretend change Salt's test states report. */
static json_t *
s_fake_changes(void)
{
    return json_pack("{s:{s:s, s:s}}", "testing", "old", "Unchanged", "new",
                     "Something pretended to change");
}

void
st_test_succeed_without_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                                fl_st_ret_t *ret)
{
    FL_UNUSED(ctx);
    FL_UNUSED(name);
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "%s", s_comment_arg(args, "Success!"));
}

void
st_test_fail_without_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                             fl_st_ret_t *ret)
{
    FL_UNUSED(name);
    ret->result = FL_ST_FALSE;
    if (ctx->test) {
        fl_st_comment(ret, "If we weren't testing, this would be a failure!");
    } else {
        fl_st_comment(ret, "%s", s_comment_arg(args, "Failure!"));
    }
}

void
st_test_succeed_with_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                             fl_st_ret_t *ret)
{
    FL_UNUSED(name);
    json_t *fake = s_fake_changes();
    json_object_update(ret->changes, fake);
    json_decref(fake);
    ret->result = ctx->test ? FL_ST_NONE : FL_ST_TRUE;
    if (ctx->test) {
        fl_st_comment(ret, "If we weren't testing, this would be successful with changes");
    } else {
        fl_st_comment(ret, "%s", s_comment_arg(args, "Success!"));
    }
}

void
st_test_fail_with_changes(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                          fl_st_ret_t *ret)
{
    FL_UNUSED(name);
    json_t *fake = s_fake_changes();
    json_object_update(ret->changes, fake);
    json_decref(fake);
    ret->result = ctx->test ? FL_ST_NONE : FL_ST_FALSE;
    if (ctx->test) {
        fl_st_comment(ret, "If we weren't testing, this would be failed with changes");
    } else {
        fl_st_comment(ret, "%s", s_comment_arg(args, "Failure!"));
    }
}

void
st_test_nop(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    st_test_succeed_without_changes(ctx, name, args, ret);
}

void
st_test_show_notification(const fl_st_ctx_t *ctx, const char *name, const json_t *args,
                          fl_st_ret_t *ret)
{
    FL_UNUSED(ctx);
    ret->result = FL_ST_TRUE;
    const char *text = json_string_value(json_object_get(args, "text"));
    fl_st_comment(ret, "%s", text ? text : name);
}

void
st_test_mod_watch(const fl_st_ctx_t *ctx, const char *name, const json_t *args, fl_st_ret_t *ret)
{
    FL_UNUSED(ctx);
    FL_UNUSED(name);
    FL_UNUSED(args);
    ret->result = FL_ST_TRUE;
    fl_st_comment(ret, "Watch statement fired.");
}
