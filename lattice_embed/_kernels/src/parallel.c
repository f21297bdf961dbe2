/* Threads for one call: started, run and joined inside it, so there is no pool to keep, nothing
 * survives a fork, and concurrent callers cannot interfere. Starting a thread costs tens of
 * microseconds; callers only split work that takes far longer. */
#include <pthread.h>
#include <stdlib.h>

#include "le/search.h"

typedef struct {
    void (*task)(void *ctx, size_t t);
    void *ctx;
    size_t t;
} le_thread_job_t;

static void *le_thread_main_(void *arg) {
    le_thread_job_t *job = arg;
    job->task(job->ctx, job->t);
    return NULL;
}

void le_parallel_run(void (*task)(void *ctx, size_t t), void *ctx, size_t tasks) {
    if (tasks <= 1) {
        if (tasks == 1) task(ctx, 0);
        return;
    }
    pthread_t *threads = malloc((tasks - 1) * sizeof *threads);
    le_thread_job_t *jobs = malloc((tasks - 1) * sizeof *jobs);
    unsigned char *started = calloc(tasks - 1, 1);
    if (!threads || !jobs || !started) { /* run everything here */
        for (size_t t = 0; t < tasks; t++) task(ctx, t);
    } else {
        for (size_t t = 1; t < tasks; t++) {
            jobs[t - 1] = (le_thread_job_t){task, ctx, t};
            started[t - 1] = pthread_create(&threads[t - 1], NULL, le_thread_main_, &jobs[t - 1]) == 0;
        }
        task(ctx, 0);
        for (size_t t = 1; t < tasks; t++) {
            if (started[t - 1])
                pthread_join(threads[t - 1], NULL);
            else
                task(ctx, t);
        }
    }
    free(threads);
    free(jobs);
    free(started);
}
