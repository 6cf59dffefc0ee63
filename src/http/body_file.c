/*
 * body_file.c - file bodies: sendfile() on plain connections, chunks read
 * off the loop (readpool.c) on TLS ones.
 *
 * A file body (http_respond_file()) is sent from its descriptor as the
 * socket takes it, so a response holds the same memory whatever the
 * file's size, and a client that reads slowly or not at all holds it
 * back instead of making the server buffer the file.
 *
 * A file that fits in one record behind its head and is cached goes out
 * with it in one piece (send_small_file()), plain or TLS. Otherwise:
 *
 * Plain connections: the head goes out with MSG_MORE, so that the first
 * bytes of the file join it in a segment, then sendfile() moves the file
 * from the page cache to the socket without a copy through the process,
 * on write readiness, FILE_BURST at a time (as nginx does). Only a page that
 * is not cached makes sendfile() wait for the disk inside the kernel, on
 * the loop's thread, as with nginx without aio; no mmap(), so a file
 * truncated meanwhile is not a SIGBUS but a short sendfile(), which
 * closes the connection (the promised length cannot be kept).
 *
 * TLS connections must encrypt what they send, so the file is read, in
 * FILE_CHUNK pieces, and never so that the loop could wait for the disk:
 * the loop asks with preadv2(RWF_NOWAIT), which copies what the page
 * cache holds and fails at once with EAGAIN for what it does not, and
 * only then are the server's reader threads (readpool.h) asked to read
 * the chunk. Most chunks are cached, and a thread's round trip (two
 * context switches and an eventfd) would cost a small file some 15% of
 * its requests per second. A chunk read is copied into the output queue
 * once that has drained to one record, and the next is read at once. A
 * connection holds at most a chunk in the queue and one in its buffer;
 * the head waits in the queue for the first chunk, so a small file takes
 * one record if it was not cached. A connection that closes while a
 * thread reads for it leaves its file to the read's completion, which
 * frees it.
 */
#include "http/server_int.h"

#include <sys/sendfile.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/readpool.h"

struct conn_file {
	struct http_conn *conn;     /* NULL: the connection is gone */
	int fd;
	off_t off;                  /* the next byte to send (TLS: read) */
	size_t left;                /* bytes from off still to send (read) */
	/* TLS */
	char *buf;                  /* FILE_CHUNK bytes, made on first use */
	size_t ready;               /* read into buf, not queued yet */
	unsigned reading:1;         /* job is with the readers */
	unsigned no_nowait:1;       /* the file system has no RWF_NOWAIT */
	struct readpool_job job;
};

static void
file_free(struct conn_file *f)
{
	close(f->fd);
	free(f->buf);
	free(f);
}

/* The connection closes: the file goes now, or with its read. */
void
file_drop(struct http_conn *c)
{
	struct conn_file *f = c->file;

	c->file = NULL;
	if (f->reading)
		f->conn = NULL;
	else
		file_free(f);
}

/* The body is all sent (plain) or queued (TLS). */
static void
file_finish(struct http_conn *c)
{
	file_free(c->file);
	c->file = NULL;
}

/*
 * Plain: one sendfile() of at most FILE_BURST. Returns the bytes sent
 * (the file is closed once they are all out), or -1 with errno: EAGAIN
 * when the socket is full, EIO when the file came up short.
 */
ssize_t
file_sendfile(struct http_conn *c)
{
	struct conn_file *f = c->file;
	size_t want = f->left < FILE_BURST ? f->left : FILE_BURST;
	ssize_t n;

	do
		n = sendfile(c->fd, f->fd, &f->off, want);
	while (n == -1 && errno == EINTR);
	if (n == 0) {
		errno = EIO;
		return -1;
	}
	if (n > 0 && (f->left -= (size_t)n) == 0)
		file_finish(c);
	return n;
}

static void file_read_done(struct readpool_job *job, void *arg);

/*
 * TLS: what the page cache holds of the next chunk, without waiting:
 * the bytes read (then ready), or 0 when none is cached or the call
 * cannot say, so that the readers read it and judge the end of the file
 * or an error.
 */
static ssize_t
file_read_cached(struct conn_file *f, size_t want)
{
	struct iovec v = { f->buf, want };
	ssize_t n;

	if (f->no_nowait)
		return 0;
	do
		n = preadv2(f->fd, &v, 1, f->off, RWF_NOWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno != EAGAIN)
		f->no_nowait = 1;       /* EOPNOTSUPP: not on this file */
	if (n <= 0)
		return 0;
	f->ready = (size_t)n;
	f->off += n;
	f->left -= (size_t)n;
	return n;
}

/* TLS: reads the next chunk from the page cache or has the readers read
 * it; -1 when neither can. */
static int
file_read_start(struct http_conn *c)
{
	struct http_server *s = c->server;
	struct conn_file *f = c->file;
	size_t want = f->left < FILE_CHUNK ? f->left : FILE_CHUNK;

	/* A file smaller than a chunk gets a buffer of its size. */
	if (f->buf == NULL && (f->buf = malloc(want)) == NULL)
		return -1;
	if (file_read_cached(f, want) > 0)
		return 0;
	if (s->readers == NULL &&
	    (s->readers = readpool_new(s->base, FILE_READERS)) == NULL)
		return -1;
	f->job.fd = f->fd;
	f->job.offset = f->off;
	f->job.buf = f->buf;
	f->job.len = want;
	f->job.done = file_read_done;
	f->job.arg = f;
	if (readpool_submit(s->readers, &f->job) == -1)
		return -1;
	f->reading = 1;
	return 0;
}

/*
 * TLS: queues the chunk read once the queue is down to a record, and
 * starts reading the next; the file is closed once its last chunk is
 * queued. Returns 1 when bytes were queued, 0 when not, -1 on failure.
 */
int
tls_file_feed(struct http_conn *c)
{
	struct conn_file *f = c->file;
	struct evbuffer *out = conn_out(c);
	int fed = 0;

	if (out == NULL)
		return -1;
	/* Round again when a chunk came from the page cache at once. */
	for (;;) {
		if (f->ready > 0 && evbuffer_get_length(out) <= TLS_RECORD) {
			if (evbuffer_add(out, f->buf, f->ready) == -1)
				return -1;
			f->ready = 0;
			fed = 1;
		}
		if (f->ready > 0 || f->reading)
			return fed;
		if (f->left == 0) {
			file_finish(c);
			return fed;
		}
		if (file_read_start(c) == -1)
			return -1;
	}
}

/* TLS: a chunk has been read (on the loop's thread). */
static void
file_read_done(struct readpool_job *job, void *arg)
{
	struct conn_file *f = arg;
	struct http_conn *c = f->conn;
	struct http_server *s;

	f->reading = 0;
	if (c == NULL) {
		file_free(f);
		return;
	}
	s = c->server;
	s->depth++;
	if (job->result != (ssize_t)job->len) {
		/* An error, or a file cut short: the length promised
		 * cannot be kept. */
		conn_close(c);
	} else {
		f->ready = job->len;
		f->off += (off_t)job->len;
		f->left -= job->len;
		tls_output(c);
	}
	server_leave(s);
}

/*
 * A head and a file that fit in one TLS record, the file cached: read
 * behind the head on the stack without waiting and sent as one piece,
 * as a small buffer body is; one read and one send, where sendfile()
 * would cost a small file some 10% more CPU. Returns 1 or 0 as
 * conn_send(), or -1 when the file is not all cached (nothing was sent
 * then).
 */
static int
send_small_file(struct http_conn *c, struct iovec *iov, size_t n, int fd,
                off_t off, size_t len)
{
	char flat[TLS_RECORD];
	struct iovec one, v;
	size_t i, head = 0;
	ssize_t r;

	for (i = 0; i < n; i++)
		head += iov[i].iov_len;
	if (conn_queued(c) || head + len > sizeof(flat))
		return -1;
	v.iov_base = flat + head;
	v.iov_len = len;
	do
		r = preadv2(fd, &v, 1, off, RWF_NOWAIT);
	while (r == -1 && errno == EINTR);
	if (r != (ssize_t)len)
		return -1;
	for (i = 0, head = 0; i < n; i++) {
		memcpy(flat + head, iov[i].iov_base, iov[i].iov_len);
		head += iov[i].iov_len;
	}
	one.iov_base = flat;
	one.iov_len = head + len;
	return conn_send(c, &one, 1);
}

/*
 * Sends the head iov[0..n) and then len bytes of fd from off, taking fd.
 * Returns 1 when all went out at once, else 0: the write event or the
 * readers carry on, or c is broken.
 */
int
file_send_response(struct http_conn *c, struct iovec *iov, size_t n, int fd,
                   off_t off, size_t len)
{
	struct conn_file *f;
	struct evbuffer *out;
	ssize_t w;
	size_t i;

	if (len == 0) {
		close(fd);
		return conn_send(c, iov, n);
	}
	if ((w = send_small_file(c, iov, n, fd, off, len)) != -1) {
		close(fd);
		return (int)w;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		close(fd);
		goto broken;
	}
	f->conn = c;
	f->fd = fd;
	f->off = off;
	f->left = len;
	c->file = f;
	if (c->tls != NULL) {
		if (c->broken || (out = conn_out(c)) == NULL)
			goto broken;
		for (i = 0; i < n; i++)
			if (evbuffer_add(out, iov[i].iov_base,
			                 iov[i].iov_len) == -1)
				goto broken;
		/* The deadline runs from here, also while a read is. */
		conn_deadline(c, c->server->write_ms);
		if ((w = tls_pump(c)) == -1)
			goto broken;
		return (int)w;
	}
	c->more = 1;
	w = conn_send(c, iov, n);
	c->more = 0;
	if (w == 0)
		return 0;       /* the write event sends the file after */
	w = file_sendfile(c);
	if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		goto broken;
	if (c->file == NULL)
		return 1;
	conn_want_write(c);
	return 0;
broken:
	c->broken = 1;
	conn_soon(c);
	return 0;
}
