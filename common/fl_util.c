/*  fl_util.c: file, time and hex helpers. */
#include "fl_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

char *
fl_file_read(const char *path, size_t max_bytes, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = fl_malloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            buf = fl_realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int saved = errno;
            free(buf);
            close(fd);
            errno = saved;
            return NULL;
        }
        if (n == 0) {
            break;
        }
        len += (size_t) n;
        if (len > max_bytes) {
            free(buf);
            close(fd);
            errno = EFBIG;
            return NULL;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (len_out) {
        *len_out = len;
    }
    return buf;
}

int
fl_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = fl_sprintf("%s.tmp.%d", path, (int) getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    /* The umask may have narrowed MODE; a key file must be exactly 0600. */
    if (fchmod(fd, mode) != 0) {
        goto fail;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            goto fail;
        }
        p += n;
        left -= (size_t) n;
    }
    if (fsync(fd) != 0) {
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        fd = -1;
        goto fail;
    }
    free(tmp);
    return 0;
fail:;
    int saved = errno;
    if (fd >= 0) {
        close(fd);
    }
    unlink(tmp);
    free(tmp);
    errno = saved;
    return -1;
}

int
fl_mkdir_p(const char *path, mode_t mode)
{
    if (!*path) {
        errno = ENOENT;
        return -1;
    }
    char *copy = fl_strdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, mode) != 0 && errno != EEXIST) {
                free(copy);
                return -1;
            }
            *p = '/';
        }
    }
    int rc = mkdir(copy, mode);
    free(copy);
    if (rc != 0 && errno != EEXIST) {
        return -1;
    }
    struct stat st;
    if (rc != 0 && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int
s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    FL_UNUSED(st);
    FL_UNUSED(ftw);
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int
fl_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    return nftw(path, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *
fl_path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir) {
        return fl_strdup(name);
    }
    size_t n = strlen(dir);
    return fl_sprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

char *
fl_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        return fl_strdup(".");
    }
    if (slash == path) {
        return fl_strdup("/");
    }
    return fl_strndup(path, (size_t) (slash - path));
}

int64_t
fl_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fl_time_s(void)
{
    return (int64_t) time(NULL);
}

const char *
fl_time_ago(int64_t then_s, int64_t now_s, char *buf, size_t size)
{
    if (then_s <= 0) {
        snprintf(buf, size, "never");
        return buf;
    }
    int64_t d = now_s - then_s;
    if (d < 0) {
        d = 0;
    }
    if (d < 60) {
        snprintf(buf, size, "%llds ago", (long long) d);
    } else if (d < 3600) {
        snprintf(buf, size, "%lldm ago", (long long) (d / 60));
    } else if (d < 86400) {
        snprintf(buf, size, "%lldh ago", (long long) (d / 3600));
    } else {
        snprintf(buf, size, "%lldd ago", (long long) (d / 86400));
    }
    return buf;
}

void
fl_hex_encode(const uint8_t *data, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
s_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int
fl_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (!hex || strlen(hex) != 2 * len) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        int hi = s_hexval(hex[2 * i]), lo = s_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t) (hi << 4 | lo);
    }
    return 0;
}

/*  From <linux/magic.h>; spelled out because older headers lack exFAT's. */
#define S_MSDOS_MAGIC 0x4d44UL
#define S_EXFAT_MAGIC 0x2011BAB0UL

bool
fl_fs_type_keeps_modes(unsigned long f_type)
{
    return f_type != S_MSDOS_MAGIC && f_type != S_EXFAT_MAGIC;
}

bool
fl_fs_keeps_modes(const char *path)
{
    struct statfs fs;
    if (statfs(path, &fs) != 0) {
        return true;
    }
    return fl_fs_type_keeps_modes((unsigned long) fs.f_type);
}
