/*  fl_fetch.h: fetching the files a state job names from the master's file
    server, before the job's worker starts (the worker never talks to the
    master).  The minion's loop drives it: send what fl_fetch_request
    returns as a "file_req", feed every "file" reply to fl_fetch_on_reply,
    start the job when fl_fetch_done.  Files land in DIR (one per URL);
    fl_fetch_files maps each URL to its local copy (a URL the master could
    not serve is absent, and its state fails with the master's reason). */
#ifndef FL_FETCH_H
#define FL_FETCH_H

#include "fl_prelude.h"

#include <jansson.h>

typedef struct fl_fetch fl_fetch_t;

/*  The fleet:// and salt:// URLs named by CHUNKS (args source, sources,
    and the names in a pkg `sources` list), without duplicates.  New array. */
json_t *fl_fetch_urls(const json_t *chunks);

/*  Fetches URLS (array) for job JID into DIR (created 0700). */
fl_fetch_t *fl_fetch_new(const char *jid, const json_t *urls, const char *dir);
void fl_fetch_destroy(fl_fetch_t **self_p);

/*  The body of the next file_req to send ({"jid","path","offset"}), or NULL
    when every URL is done.  Caller owns. */
json_t *fl_fetch_request(fl_fetch_t *self);
/*  Takes a "file" reply; 0 when it was for this fetch (then call
    fl_fetch_request again), -1 when it was not. */
int fl_fetch_on_reply(fl_fetch_t *self, const json_t *body);
bool fl_fetch_done(const fl_fetch_t *self);
/*  {url: local path} for the files fetched; {url: null} ... never: failed
    URLs are listed in fl_fetch_errors instead.  Borrowed. */
const json_t *fl_fetch_files(const fl_fetch_t *self);
/*  {url: reason} for the URLs the master did not serve.  Borrowed. */
const json_t *fl_fetch_errors(const fl_fetch_t *self);
const char *fl_fetch_dir(const fl_fetch_t *self);
/*  When the fetch last made progress (its time limit runs from there). */
int64_t fl_fetch_started_ms(const fl_fetch_t *self);
/*  Gives up on what is left (the master went away): marks it failed. */
void fl_fetch_abandon(fl_fetch_t *self, const char *reason);

#endif
