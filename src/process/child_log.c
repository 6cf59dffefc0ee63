/*
 * child_log.c - a child's output pipes read on the loop and cut into
 * log lines (see child_log.h for the bounds).
 *
 * A line is logged straight from the bytes read when it is whole in
 * them; only a line that spans reads is gathered in the pipe's buffer,
 * which holds LOG_RUNTIME_LINE_MAX bytes: a line that fills it is logged
 * cut, and the rest of it, up to its newline, is skipped.
 */
#include "process/child_log.h"

#include <errno.h>
#include <event2/event.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUTPIPE_CHUNK (16u * 1024)

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
flood_report(evutil_socket_t fd, short what, void *arg)
{
	struct flood *f = arg;
	struct timeval tv = {FLOOD_REPORT_MS / 1000,
	                     (FLOOD_REPORT_MS % 1000) * 1000};

	(void)fd;
	(void)what;
	if (f->unreported == 0)
		return;     /* the flood is over: quiet until the next */
	log_msg(LOG_WARN, "runtime=%s: %llu output lines dropped (flood)",
	        f->name, (unsigned long long)f->unreported);
	f->unreported = 0;
	evtimer_add(f->report, &tv);
}

int
flood_init(struct flood *f, struct event_base *base, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->tokens = (uint64_t)FLOOD_BURST * 1000u;
	f->refilled_ms = now_ms();
	f->report = evtimer_new(base, flood_report, f);
	return f->report != NULL ? 0 : -1;
}

void
flood_fini(struct flood *f)
{
	if (f->report == NULL)
		return;
	flood_report(-1, 0, f);
	event_free(f->report);
	f->report = NULL;
}

/* Whether one more line may be logged now; counts it dropped if not. */
static int
flood_allows(struct flood *f, uint64_t now)
{
	const uint64_t full = (uint64_t)FLOOD_BURST * 1000u;
	struct timeval tv = {FLOOD_REPORT_MS / 1000,
	                     (FLOOD_REPORT_MS % 1000) * 1000};

	if (now > f->refilled_ms) {
		/* FLOOD_RATE lines a second = FLOOD_RATE thousandths a ms */
		uint64_t add = (now - f->refilled_ms) * FLOOD_RATE;

		f->tokens = add >= full - f->tokens ? full : f->tokens + add;
		f->refilled_ms = now;
	}
	if (f->tokens >= 1000u) {
		f->tokens -= 1000u;
		return 1;
	}
	f->dropped++;
	if (f->unreported++ == 0 && !evtimer_pending(f->report, NULL))
		evtimer_add(f->report, &tv);
	return 0;
}

static void
line_out(struct outpipe *o, const char *line, size_t len, int cut,
         uint64_t now)
{
	if (flood_allows(o->flood, now))
		log_runtime_line(o->flood->name, o->stream, line, len, cut);
}

/* Takes the bytes up to a newline (seg, len) or, without one, the start
 * or middle of a line (nl = 0). */
static void
take_segment(struct outpipe *o, const char *seg, size_t len, int nl,
             uint64_t now)
{
	size_t room = sizeof(o->buf) - o->len;

	if (o->discarding) {
		o->discarding = !nl;
		return;
	}
	if (nl && o->len == 0 && len <= sizeof(o->buf)) {
		line_out(o, seg, len, 0, now);
		return;
	}
	if (len > room) {
		memcpy(o->buf + o->len, seg, room);
		line_out(o, o->buf, sizeof(o->buf), 1, now);
		o->len = 0;
		o->discarding = !nl;
		return;
	}
	memcpy(o->buf + o->len, seg, len);
	o->len += len;
	if (nl) {
		line_out(o, o->buf, o->len, 0, now);
		o->len = 0;
	}
}

static void
take_bytes(struct outpipe *o, const char *p, size_t n, uint64_t now)
{
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			take_segment(o, p, (size_t)(end - p), 0, now);
			return;
		}
		take_segment(o, p, (size_t)(nl - p), 1, now);
		p = nl + 1;
	}
}

/* Reads what the pipe holds, up to OUTPIPE_READ_MAX: 1 at EOF or on an
 * error, else 0. */
static int
drain(struct outpipe *o)
{
	char chunk[OUTPIPE_CHUNK];
	uint64_t now = now_ms();
	size_t total = 0;

	while (total < OUTPIPE_READ_MAX) {
		ssize_t n = read(o->fd, chunk, sizeof(chunk));

		if (n > 0) {
			take_bytes(o, chunk, (size_t)n, now);
			total += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN ? 0 : 1;
	}
	return 0;
}

/* The last line, when the output ends without a newline. */
static void
flush_partial(struct outpipe *o)
{
	if (o->len > 0 && !o->discarding)
		line_out(o, o->buf, o->len, 0, now_ms());
	o->len = 0;
	o->discarding = 0;
}

static void
shut(struct outpipe *o)
{
	flush_partial(o);
	event_free(o->ev);
	o->ev = NULL;
	event_free(o->resume);
	o->resume = NULL;
	close(o->fd);
	o->fd = -1;
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct outpipe *o = arg;

	(void)fd;
	(void)what;
	event_add(o->ev, NULL);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct outpipe *o = arg;
	struct timeval pause = {0, FLOOD_PAUSE_MS * 1000};

	(void)fd;
	(void)what;
	if (!drain(o)) {
		if (o->flood->tokens < 1000u) {
			event_del(o->ev);
			evtimer_add(o->resume, &pause);
		}
		return;
	}
	shut(o);
	o->closed(o->arg);
}

int
outpipe_open(struct outpipe *o, struct event_base *base, int fd,
             const char *stream, struct flood *flood,
             void (*closed)(void *arg), void *arg)
{
	o->fd = fd;
	o->stream = stream;
	o->flood = flood;
	o->closed = closed;
	o->arg = arg;
	o->discarding = 0;
	o->len = 0;
	o->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, o);
	o->resume = evtimer_new(base, on_resume, o);
	if (o->ev == NULL || o->resume == NULL || event_add(o->ev, NULL) != 0) {
		if (o->ev != NULL)
			event_free(o->ev);
		if (o->resume != NULL)
			event_free(o->resume);
		o->ev = o->resume = NULL;
		close(fd);
		o->fd = -1;
		return -1;
	}
	return 0;
}

void
outpipe_close(struct outpipe *o)
{
	if (o->fd < 0)
		return;
	drain(o);
	shut(o);
}
