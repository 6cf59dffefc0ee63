/*
 * readpool.c - the worker threads of readpool.h.
 *
 * Jobs go through two lists under one mutex: waiting (taken by the workers,
 * woken by a condition variable) and finished (taken whole by the loop).
 * A worker that finishes a job on an empty finished list writes the
 * eventfd; the loop reads the eventfd before it takes the list, so a job
 * finished after that read wakes it again and none is stranded.
 *
 * The workers start with the pool (made when first needed), so that the
 * process does not grow a thread while it serves, and live as long as
 * the pool. They block every signal: the
 * daemon's signals are for the loop's thread. Freeing the pool from one
 * of its own done callbacks (a server freed by what a completion set off)
 * stops the workers at once and leaves the last deliveries to the
 * callback on the stack, which frees the pool when it unwinds.
 */
#include "http/readpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

TAILQ_HEAD(job_list, readpool_job);

struct readpool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job_list waiting;
	struct job_list finished;
	unsigned nthreads;
	unsigned max_threads;
	pthread_t *threads;
	int stopping;                   /* under lock: workers leave */
	int efd;
	struct event *ev;
	unsigned delivering:1;          /* deliver_cb() is on the stack */
	unsigned dying:1;               /* freed while delivering */
};

/* Reads the whole of job (short only at the end of the file). */
static void
job_run(struct readpool_job *job)
{
	size_t got = 0;
	ssize_t n;

	while (got < job->len) {
		n = pread(job->fd, (char *)job->buf + got, job->len - got,
		          job->offset + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			job->result = -1;
			job->error = errno;
			return;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	job->result = (ssize_t)got;
	job->error = 0;
}

static void *
worker_main(void *arg)
{
	struct readpool *p = arg;
	struct readpool_job *job;
	uint64_t one = 1;
	int wake;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && TAILQ_EMPTY(&p->waiting))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stopping)
			break;
		job = TAILQ_FIRST(&p->waiting);
		TAILQ_REMOVE(&p->waiting, job, link);
		pthread_mutex_unlock(&p->lock);
		job_run(job);
		pthread_mutex_lock(&p->lock);
		wake = TAILQ_EMPTY(&p->finished);
		TAILQ_INSERT_TAIL(&p->finished, job, link);
		/* A full counter cannot happen: the loop reads it first. */
		if (wake && write(p->efd, &one, sizeof(one)) == -1)
			(void)0;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct readpool_job *
take_finished(struct readpool *p)
{
	struct readpool_job *job;

	pthread_mutex_lock(&p->lock);
	if ((job = TAILQ_FIRST(&p->finished)) != NULL)
		TAILQ_REMOVE(&p->finished, job, link);
	pthread_mutex_unlock(&p->lock);
	return job;
}

static void pool_destroy(struct readpool *p);

/*
 * The eventfd is readable: hands back the jobs finished by now, and only
 * those. A job done submits the next read of its connection, which the
 * workers finish within microseconds; delivered in the same call, a few
 * fast downloads would keep the loop here and starve every other event.
 */
static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct readpool *p = arg;
	struct readpool_job *job;
	struct job_list batch;
	uint64_t count;

	(void)what;
	if (read(fd, &count, sizeof(count)) == -1 && errno != EAGAIN)
		return;
	TAILQ_INIT(&batch);
	pthread_mutex_lock(&p->lock);
	TAILQ_CONCAT(&batch, &p->finished, link);
	pthread_mutex_unlock(&p->lock);
	p->delivering = 1;
	while ((job = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, job, link);
		job->done(job, job->arg);
	}
	p->delivering = 0;
	if (p->dying)
		pool_destroy(p);
}

/* Starts one more worker, with every signal blocked. */
static int
worker_start(struct readpool *p)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->threads[p->nthreads], NULL, worker_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	p->nthreads++;
	return 0;
}

static void readpool_stop(struct readpool *p);

/* See readpool.h. */
struct readpool *
readpool_new(struct event_base *base, unsigned max_threads)
{
	struct readpool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->efd = -1;
	p->max_threads = max_threads > 0 ? max_threads : 1;
	TAILQ_INIT(&p->waiting);
	TAILQ_INIT(&p->finished);
	if ((p->threads = calloc(p->max_threads, sizeof(*p->threads))) ==
	    NULL ||
	    (p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST,
	                       deliver_cb, p)) == NULL ||
	    event_add(p->ev, NULL) == -1)
		goto fail;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	while (p->nthreads < p->max_threads && worker_start(p) == 0)
		;
	if (p->nthreads == 0) {
		readpool_stop(p);
		errno = EAGAIN;
		return NULL;
	}
	return p;
fail:
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd != -1)
		close(p->efd);
	free(p->threads);
	free(p);
	return NULL;
}

/* See readpool.h. */
int
readpool_submit(struct readpool *p, struct readpool_job *job)
{
	pthread_mutex_lock(&p->lock);
	TAILQ_INSERT_TAIL(&p->waiting, job, link);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Frees a pool whose workers did not start. */
static void
readpool_stop(struct readpool *p)
{
	event_free(p->ev);
	close(p->efd);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

static void
pool_destroy(struct readpool *p)
{
	struct readpool_job *job;

	while ((job = take_finished(p)) != NULL)
		job->done(job, job->arg);
	event_free(p->ev);
	close(p->efd);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}

/* See readpool.h. */
void
readpool_free(struct readpool *p)
{
	struct readpool_job *job;
	unsigned i;

	if (p == NULL || p->dying)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* The workers are gone: no lock needed, but take_finished() takes
	 * it anyway. */
	while ((job = TAILQ_FIRST(&p->waiting)) != NULL) {
		TAILQ_REMOVE(&p->waiting, job, link);
		job->result = -1;
		job->error = ECANCELED;
		TAILQ_INSERT_TAIL(&p->finished, job, link);
	}
	event_del(p->ev);
	p->dying = 1;
	if (!p->delivering)
		pool_destroy(p);
}
