/*  fl_verify.c: a burst's signatures verified on several threads.  The
    helpers sleep on a condition variable; a run publishes the tasks, and
    every thread (the caller too) takes the next unclaimed task until none
    is left.  The caller returns once the helpers that joined the run have
    left it, so the tasks' borrowed buffers are never read after the run. */
#include "fl_verify.h"
#include "fl_prelude.h"

#include <pthread.h>
#include <stdatomic.h>

struct fl_verifier {
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* helpers: a new run, or stop */
    pthread_cond_t idle;        /* caller: the last helper left the run */
    pthread_t *threads;
    size_t helpers;
    uint64_t generation;        /* one per run */
    bool stop;
    fl_verify_task_t *tasks;
    size_t ntasks;
    atomic_size_t next;         /* the next unclaimed task */
    size_t busy;                /* helpers inside the current run */
};

static void
s_work(fl_verifier_t *self, fl_verify_task_t *tasks, size_t n)
{
    for (;;) {
        size_t i = atomic_fetch_add(&self->next, 1);
        if (i >= n) {
            return;
        }
        fl_verify_task_t *t = &tasks[i];
        if (t->wanted) {
            t->ok = fl_key_verify_raw(t->pk, t->data, t->len, t->sig);
        }
    }
}

static void *
s_helper(void *arg)
{
    fl_verifier_t *self = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stop && self->generation == seen) {
            pthread_cond_wait(&self->wake, &self->lock);
        }
        if (self->stop) {
            break;
        }
        seen = self->generation;
        fl_verify_task_t *tasks = self->tasks;
        size_t n = self->ntasks;
        if (!tasks) {
            continue;   /* woke after that run ended: nothing of it is left */
        }
        self->busy++;
        pthread_mutex_unlock(&self->lock);
        s_work(self, tasks, n);
        pthread_mutex_lock(&self->lock);
        if (--self->busy == 0) {
            pthread_cond_signal(&self->idle);
        }
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

fl_verifier_t *
fl_verifier_new(size_t helpers)
{
    fl_verifier_t *self = fl_calloc(1, sizeof *self);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    pthread_cond_init(&self->idle, NULL);
    atomic_init(&self->next, 0);
    self->threads = helpers ? fl_calloc(helpers, sizeof *self->threads) : NULL;
    for (size_t i = 0; i < helpers; i++) {
        if (pthread_create(&self->threads[i], NULL, s_helper, self) != 0) {
            fl_verifier_destroy(&self);
            return NULL;
        }
        self->helpers++;
    }
    return self;
}

void
fl_verifier_destroy(fl_verifier_t **self_p)
{
    if (!self_p || !*self_p) {
        return;
    }
    fl_verifier_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < self->helpers; i++) {
        pthread_join(self->threads[i], NULL);
    }
    pthread_cond_destroy(&self->idle);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self->threads);
    free(self);
    *self_p = NULL;
}

size_t
fl_verifier_helpers(const fl_verifier_t *self)
{
    return self->helpers;
}

void
fl_verifier_run(fl_verifier_t *self, fl_verify_task_t *tasks, size_t n)
{
    size_t wanted = 0;
    for (size_t i = 0; i < n; i++) {
        wanted += tasks[i].wanted;
    }
    if (self->helpers == 0 || wanted < 2) {
        /* No helper is inside a run here: waking one costs more than one check. */
        atomic_store(&self->next, 0);
        s_work(self, tasks, n);
        return;
    }
    pthread_mutex_lock(&self->lock);
    atomic_store(&self->next, 0);
    self->tasks = tasks;
    self->ntasks = n;
    self->generation++;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    s_work(self, tasks, n);
    /* A helper that woke late finds nothing left and leaves at once; one
       still verifying is waited for. */
    pthread_mutex_lock(&self->lock);
    while (self->busy > 0) {
        pthread_cond_wait(&self->idle, &self->lock);
    }
    self->tasks = NULL;
    self->ntasks = 0;
    pthread_mutex_unlock(&self->lock);
}
