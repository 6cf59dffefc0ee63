/*
 * test_readpool.c - reads off the event loop (src/http/readpool.c): jobs
 * come back on the loop's thread with the bytes of the file, short at
 * its end, failed on a bad fd; freeing the pool cancels what it has not
 * started, also from inside a done callback.
 */
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "http/readpool.h"

#define FILE_LEN  (256 * 1024)
#define NJOBS     64
#define JOB_LEN   8192

struct run {
	struct event_base *base;
	struct readpool *pool;
	pthread_t loop_thread;
	int done;
	int wrong_thread;
	int free_at;            /* free the pool from the done-th callback */
	int cancelled;
};

static unsigned char content[FILE_LEN];

static int
temp_file(size_t len)
{
	char path[] = "/tmp/aster-readpool-XXXXXX";
	int fd = mkstemp(path);
	size_t i;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	for (i = 0; i < FILE_LEN; i++)
		content[i] = (unsigned char)(i * 7 + i / 251);
	ck_assert(write(fd, content, len) == (ssize_t)len);
	return fd;
}

static void
on_done(struct readpool_job *job, void *arg)
{
	struct run *r = arg;

	if (!pthread_equal(pthread_self(), r->loop_thread))
		r->wrong_thread++;
	if (job->result == -1 && job->error == ECANCELED)
		r->cancelled++;
	if (++r->done == r->free_at) {
		readpool_free(r->pool);
		r->pool = NULL;
	}
	if (r->done == NJOBS)
		event_base_loopbreak(r->base);
}

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	ck_assert_ptr_nonnull(r->base);
	r->pool = readpool_new(r->base, 3);
	ck_assert_ptr_nonnull(r->pool);
	r->loop_thread = pthread_self();
}

static void
run_loop(struct run *r)
{
	struct timeval tv = { 10, 0 };

	event_base_loopexit(r->base, &tv);
	event_base_dispatch(r->base);
}

static void
fill(struct readpool_job *jobs, unsigned char (*bufs)[JOB_LEN], int fd,
     struct run *r)
{
	int i;

	for (i = 0; i < NJOBS; i++) {
		jobs[i].fd = fd;
		jobs[i].offset = (off_t)i * (FILE_LEN / NJOBS) + 100;
		jobs[i].buf = bufs[i];
		jobs[i].len = JOB_LEN;
		jobs[i].done = on_done;
		jobs[i].arg = r;
	}
}

START_TEST(test_reads_come_back)
{
	static struct readpool_job jobs[NJOBS + 2];
	static unsigned char bufs[NJOBS + 2][JOB_LEN];
	struct run r;
	int fd = temp_file(FILE_LEN), i;
	off_t off;

	run_init(&r);
	fill(jobs, bufs, fd, &r);
	for (i = 0; i < NJOBS; i++) {
		ck_assert_int_eq(readpool_submit(r.pool, &jobs[i]), 0);
		/* never inside submit */
		ck_assert_int_eq(r.done, 0);
	}
	run_loop(&r);
	ck_assert_int_eq(r.done, NJOBS);
	ck_assert_int_eq(r.wrong_thread, 0);
	for (i = 0; i < NJOBS; i++) {
		off = jobs[i].offset;
		if (off + JOB_LEN <= FILE_LEN) {
			ck_assert_int_eq(jobs[i].result, JOB_LEN);
			ck_assert_int_eq(memcmp(bufs[i], content + off, JOB_LEN),
			                 0);
		} else {
			/* short at the end of the file */
			ck_assert_int_eq(jobs[i].result, FILE_LEN - off);
			ck_assert_int_eq(memcmp(bufs[i], content + off,
			                        (size_t)(FILE_LEN - off)), 0);
		}
	}
	/* a bad fd fails with its errno */
	r.done = NJOBS - 1;
	jobs[NJOBS].fd = -1;
	jobs[NJOBS].offset = 0;
	jobs[NJOBS].buf = bufs[NJOBS];
	jobs[NJOBS].len = 10;
	jobs[NJOBS].done = on_done;
	jobs[NJOBS].arg = &r;
	ck_assert_int_eq(readpool_submit(r.pool, &jobs[NJOBS]), 0);
	run_loop(&r);
	ck_assert_int_eq(jobs[NJOBS].result, -1);
	ck_assert_int_eq(jobs[NJOBS].error, EBADF);
	readpool_free(r.pool);
	event_base_free(r.base);
	close(fd);
}
END_TEST

/* Freed with jobs queued: every done runs once, in readpool_free(), the
 * ones not started cancelled. */
START_TEST(test_free_cancels)
{
	static struct readpool_job jobs[NJOBS];
	static unsigned char bufs[NJOBS][JOB_LEN];
	struct run r;
	int fd = temp_file(FILE_LEN), i;

	run_init(&r);
	fill(jobs, bufs, fd, &r);
	for (i = 0; i < NJOBS; i++)
		ck_assert_int_eq(readpool_submit(r.pool, &jobs[i]), 0);
	readpool_free(r.pool);
	ck_assert_int_eq(r.done, NJOBS);
	for (i = 0; i < NJOBS; i++)
		ck_assert(jobs[i].result >= 0 || jobs[i].error == ECANCELED);
	event_base_free(r.base);
	close(fd);
}
END_TEST

/* Freed from its own done callback: the rest are still delivered, once
 * each, and the pool goes when the callback returns. */
START_TEST(test_free_inside_done)
{
	static struct readpool_job jobs[NJOBS];
	static unsigned char bufs[NJOBS][JOB_LEN];
	struct run r;
	int fd = temp_file(FILE_LEN), i;

	run_init(&r);
	r.free_at = 1;
	fill(jobs, bufs, fd, &r);
	for (i = 0; i < NJOBS; i++)
		ck_assert_int_eq(readpool_submit(r.pool, &jobs[i]), 0);
	run_loop(&r);
	ck_assert_ptr_null(r.pool);
	ck_assert_int_eq(r.done, NJOBS);
	ck_assert_int_eq(r.wrong_thread, 0);
	event_base_free(r.base);
	close(fd);
}
END_TEST

static Suite *
readpool_suite(void)
{
	Suite *s = suite_create("readpool");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reads_come_back);
	tcase_add_test(tc, test_free_cancels);
	tcase_add_test(tc, test_free_inside_done);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(readpool_suite)
