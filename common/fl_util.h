/*  fl_util.h: small file, time and encoding helpers shared by all programs. */
#ifndef FL_UTIL_H
#define FL_UTIL_H

#include "fl_prelude.h"

#include <sys/types.h>

/*  Reads a whole file (at most max_bytes) into a NUL-terminated buffer;
    caller frees.  NULL with errno set on failure (EFBIG when too large). */
char *fl_file_read(const char *path, size_t max_bytes, size_t *len_out);
/*  Writes to PATH.tmp, fsyncs, renames over PATH: readers never see half. */
int fl_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/*  mkdir -p with MODE for every directory it creates. */
int fl_mkdir_p(const char *path, mode_t mode);
/*  Removes PATH and everything below it (no symlinks followed); 0 when
    it is gone (or was never there). */
int fl_rm_rf(const char *path);
/*  Joins a directory and a file name; caller frees. Absolute NAME wins. */
char *fl_path_join(const char *dir, const char *name);
/*  The directory part of PATH ("." when none); caller frees. */
char *fl_path_dirname(const char *path);
/*  False when PATH is on a file system without Unix modes (FAT, exFAT),
    where a file's mode is the mount's mask, not the file's own; true
    otherwise, and when statfs fails. */
bool fl_fs_keeps_modes(const char *path);
/*  The same for a statfs f_type. */
bool fl_fs_type_keeps_modes(unsigned long f_type);

/*  Monotonic milliseconds, for deadlines. */
int64_t fl_clock_ms(void);
/*  Wall-clock seconds since the epoch, for records people read. */
int64_t fl_time_s(void);
/*  "3m ago" style age of a past wall-clock time; writes into buf. */
const char *fl_time_ago(int64_t then_s, int64_t now_s, char *buf, size_t size);

/*  Lower-case hex of LEN bytes into OUT (2*len+1 bytes). */
void fl_hex_encode(const uint8_t *data, size_t len, char *out);
/*  Decodes exactly LEN bytes of hex; -1 on bad length or digit. */
int fl_hex_decode(const char *hex, uint8_t *out, size_t len);

#endif
