/*  mod_locate.c: system.locate: make a device call attention to itself, so
    that the person at the pole finds the right box.  The minion blinks an
    LED through /sys/class/leds (the `locate: {led: NAME}` of minion.yaml,
    or the first LED there) with the kernel's timer trigger, or runs the
    configured `locate: {command: ...}`; after SECONDS it puts back what was
    there.  Runs in the job worker, so the minion goes on meanwhile. */
#include "fl_mods.h"
#include "fl_json.h"
#include "fl_run.h"
#include "fl_util.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

static char *
s_read_line(const char *path)
{
    char *text = fl_file_read(path, 4096, NULL);
    if (text) {
        text[strcspn(text, "\n")] = '\0';
    }
    return text;
}

static int
s_write(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    int rc = fputs(value, f) < 0 ? -1 : 0;
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

/*  "none [mmc0] timer heartbeat" -> "mmc0" (the trigger in force). */
static char *
s_current_trigger(const char *list)
{
    const char *open = strchr(list, '[');
    const char *close = open ? strchr(open, ']') : NULL;
    if (open && close) {
        return fl_strndup(open + 1, (size_t) (close - open - 1));
    }
    return fl_strndup(list, strcspn(list, " "));
}

static char *
s_first_led(const char *leds_dir)
{
    DIR *d = opendir(leds_dir);
    if (!d) {
        return NULL;
    }
    char *first = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] != '.' && (!first || strcmp(e->d_name, first) < 0)) {
            free(first);
            first = fl_strdup(e->d_name);
        }
    }
    closedir(d);
    return first;
}

static void
s_sleep_s(long seconds)
{
    struct timespec ts = { .tv_sec = seconds, .tv_nsec = 0 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        continue;
    }
}

int
mod_system_locate(const fl_mod_ctx_t *ctx, const json_t *args, const json_t *kwargs,
                  json_t **ret)
{
    FL_UNUSED(kwargs);
    long seconds = 30;
    const json_t *arg = json_array_get(args, 0);
    if (arg) {
        const char *text = json_string_value(arg);
        char *end = NULL;
        seconds = json_is_integer(arg) ? (long) json_integer_value(arg)
                                       : text ? strtol(text, &end, 10) : -1;
        if ((text && (!end || *end)) || seconds < 1 || seconds > 3600) {
            *ret = json_string("system.locate: SECONDS must be 1..3600");
            return 1;
        }
    }
    const json_t *conf = ctx->locate;
    const char *command = fl_json_str(conf, "command");
    if (command) {
        char secs[32];
        snprintf(secs, sizeof secs, "FLEET_LOCATE_SECONDS=%ld", seconds);
        const char *env[] = { secs, NULL };
        char *const argv[] = { "/bin/sh", "-c", (char *) command, NULL };
        char *out = NULL, *err = NULL;
        int rc = fl_run_argv(argv, env, (int) (seconds + 30) * 1000, &out, &err);
        *ret = json_pack("{s:s, s:i, s:i, s:s, s:s}", "method", "command", "seconds",
                         (int) seconds, "retcode", rc, "stdout", out ? out : "", "stderr",
                         err ? err : "");
        free(out);
        free(err);
        return rc == 0 ? 0 : 1;
    }
    char *leds = fl_sprintf("%s/sys/class/leds", ctx->root_dir ? ctx->root_dir : "");
    const char *name = fl_json_str(conf, "led");
    char *led = name ? fl_strdup(name) : s_first_led(leds);
    if (!led || strchr(led, '/')) {
        *ret = fl_json_str(conf, "led")
                   ? json_sprintf("system.locate: bad LED name '%s'", led ? led : "")
                   : json_sprintf("system.locate: no LED in %s and no locate command in "
                                  "minion.yaml (locate: {led: NAME} or {command: ...})",
                                  leds);
        free(led);
        free(leds);
        return 1;
    }
    char *trigger_path = fl_sprintf("%s/%s/trigger", leds, led);
    char *brightness_path = fl_sprintf("%s/%s/brightness", leds, led);
    char *list = s_read_line(trigger_path);
    char *brightness = s_read_line(brightness_path);
    int rc = 1;
    if (!list) {
        *ret = json_sprintf("system.locate: cannot read %s: %s", trigger_path, strerror(errno));
        goto done;
    }
    char *previous = s_current_trigger(list);
    const char *blink = fl_json_str(conf, "trigger") ? fl_json_str(conf, "trigger") : "timer";
    if (s_write(trigger_path, blink) != 0) {
        *ret = json_sprintf("system.locate: cannot set %s: %s", trigger_path, strerror(errno));
        free(previous);
        goto done;
    }
    s_sleep_s(seconds);
    /* Put back what was there: the trigger, and the brightness when the
       LED had no trigger driving it. */
    bool restored = s_write(trigger_path, previous) == 0;
    if (restored && strcmp(previous, "none") == 0 && brightness) {
        restored = s_write(brightness_path, brightness) == 0;
    }
    *ret = json_pack("{s:s, s:s, s:i, s:s, s:b}", "method", "led", "led", led, "seconds",
                     (int) seconds, "restored", previous, "ok", restored);
    rc = restored ? 0 : 1;
    free(previous);
done:
    free(list);
    free(brightness);
    free(trigger_path);
    free(brightness_path);
    free(led);
    free(leds);
    return rc;
}
