/*
 * readpool.h - positional file reads off the event loop.
 *
 * A few worker threads pread() into buffers the caller owns and hand each
 * finished job back on the loop's thread, through one eventfd watched by
 * the event base. The HTTP server reads file bodies for TLS connections
 * this way (server.h, http_respond_file()): a read of a page that is not
 * cached sleeps on the disk, and on the loop it would stall every
 * connection.
 */
#ifndef ASTER_HTTP_READPOOL_H
#define ASTER_HTTP_READPOOL_H

#include <stddef.h>
#include <sys/queue.h>
#include <sys/types.h>

struct event_base;
struct readpool;

struct readpool_job {
	/* Set by the caller before readpool_submit(). */
	int fd;
	off_t offset;
	void *buf;
	size_t len;
	/* Runs on the loop's thread, never inside readpool_submit(). */
	void (*done)(struct readpool_job *job, void *arg);
	void *arg;
	/* The result: bytes read (fewer than len only at the end of the
	 * file), or -1 with error set (ECANCELED: the pool was freed). */
	ssize_t result;
	int error;
	/* The pool's. */
	TAILQ_ENTRY(readpool_job) link;
};

/*
 * A pool on base with max_threads workers, started now (fewer if the
 * system refuses more, at least one). NULL on failure (errno set).
 */
struct readpool *readpool_new(struct event_base *base, unsigned max_threads);

/*
 * Queues job. The caller keeps job, its buffer and fd alive and
 * untouched until job->done has run. Returns 0.
 */
int readpool_submit(struct readpool *p, struct readpool_job *job);

/*
 * Waits for the reads under way, then runs the done callback of every
 * job not delivered yet (those never started fail with ECANCELED), and
 * frees p. May be called from a done callback. NULL is fine.
 */
void readpool_free(struct readpool *p);

#endif
