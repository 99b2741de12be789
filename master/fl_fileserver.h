/*  fl_fileserver.h: the master's file server.  A minion running a state job
    asks for the fleet:// (or salt://) files its states name; the master
    answers from the very commit the job was compiled from, only to an
    accepted minion that the job expects, and only for safe paths inside
    the tree (no "..", no absolute paths, no NUL, no symlinks).  Files go
    in chunks of FL_FILE_CHUNK bytes, base64 in the JSON body. */
#ifndef FL_FILESERVER_H
#define FL_FILESERVER_H

#include "fl_prelude.h"

#include <jansson.h>

#define FL_FILE_CHUNK (384 * 1024)

typedef struct fl_fileserver fl_fileserver_t;

fl_fileserver_t *fl_fileserver_new(const char *state_dir);
void fl_fileserver_destroy(fl_fileserver_t **self_p);

/*  Answers one file_req from MINION: returns the body of the "file" reply
    (caller owns): {"jid","path","offset","size","mode","data","eof"} or
    {"jid","path","error"}.  *REFUSED is set when the request was refused
    for safety (counted by the caller) rather than a missing file. */
json_t *fl_fileserver_answer(fl_fileserver_t *self, const char *commit, const json_t *req,
                             bool *refused);

#endif
