/*
 * log.c - text and JSON log lines, written off the event loop.
 *
 * Why a writer thread: stderr may be a pipe nobody reads, a terminal on
 * hold (^S), a socket (journald's stdout stream) or a file on a slow
 * disk, and the loop must never wait for any of them. Setting O_NONBLOCK
 * on fd 2 is not an option: the flag lives on the open file description,
 * which the parent shell or the service manager shares, and would make
 * their writes fail with EAGAIN. Reopening /proc/self/fd/2 non-blocking
 * works for pipes and terminals only (not sockets, not files, not
 * without /proc) and still needs the loop to poll for room. A thread
 * that does plain blocking writes handles every kind of stderr the same
 * way and costs the loop one uncontended lock per line.
 *
 * The loop appends whole lines to a bounded buffer (LOG_BUFFER_BYTES);
 * the writer swaps it with its own and writes that one out. While the
 * writer is stuck, the buffer fills, and further lines are dropped whole
 * and counted; when the writer gets through again it writes a
 * "log: N lines dropped" line first. Warnings and errors wake the writer
 * at once; other lines wait for the writer's 100 ms tick or a buffer half
 * full, so an access line never costs a write(2) of its own. At shutdown
 * log_detach() waits a bounded time for the queue to drain, then lets
 * the process exit whatever the writer is stuck in.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/escape.h"

#define LOG_BUFFER_BYTES (256u * 1024)
#define LOG_TICK_MS 100
#define LOG_DETACH_MS 1000
#define LOG_LINE_MAX 8192       /* a longer line is cut, fields whole */
#define LOG_MSG_MAX 3072        /* a message before escaping */
#define LOG_PATH_MAX 4096       /* escaped path bytes at most */
#define LOG_FIELD_MAX 1024      /* escaped bytes of any other field */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static struct {
	/* Configuration: written by the loop thread; json is also read by
	 * the writer, under mu. */
	int json;
	enum log_level level;
	int access;

	pthread_mutex_t mu;
	pthread_cond_t wake;        /* the writer: work to do, or stop */
	pthread_cond_t written;     /* log_flush(): the writer progressed */
	int conds_ready;            /* both made, on CLOCK_MONOTONIC */
	pthread_t thread;
	int running;                /* the writer thread exists */
	int stopping;
	int abandoned;              /* stuck at shutdown, left running */
	char *queue;                /* lines waiting, filled by the loop */
	size_t used;
	char *spare;                /* the writer's buffer */
	unsigned long long queued;  /* lines ever queued */
	unsigned long long done;    /* ... written out or dropped */
	unsigned long long dropped; /* lines ever dropped */
	unsigned long long reported;/* ... of which reported in the log */
} lg = {
	.level = LOG_INFO,
	.access = 1,
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

void
log_configure(const char *format, const char *level, int access)
{
	size_t i;

	pthread_mutex_lock(&lg.mu);
	lg.json = format != NULL && strcmp(format, "json") == 0;
	pthread_mutex_unlock(&lg.mu);
	lg.level = LOG_INFO;
	for (i = 0; level != NULL && i < 4; i++)
		if (strcmp(level, level_names[i]) == 0)
			lg.level = (enum log_level)i;
	lg.access = access;
}

int
log_enabled(enum log_level level)
{
	return level <= lg.level;
}

int
log_access_enabled(void)
{
	return lg.access;
}

/* --- output ------------------------------------------------------------- */

/* Writes all of buf to stderr, blocking; -1 when stderr failed. */
static int
write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t
count_lines(const char *buf, size_t len)
{
	size_t n = 0;
	const char *p = buf, *end = buf + len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* ts: room for "YYYY-MM-DDTHH:MM:SS.mmmZ" and a NUL (25 bytes). The
 * seconds are formatted once per second per thread: gmtime_r and
 * strftime would otherwise be most of an access line's cost. */
static size_t
timestamp(char *ts)
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[24];
	struct timeval tv;
	long ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != cached_sec) {
		struct tm tm;

		gmtime_r(&tv.tv_sec, &tm);
		strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = tv.tv_sec;
	}
	ms = (long)(tv.tv_usec / 1000);
	memcpy(ts, cached, 19);
	ts[19] = '.';
	ts[20] = (char)('0' + ms / 100);
	ts[21] = (char)('0' + ms / 10 % 10);
	ts[22] = (char)('0' + ms % 10);
	ts[23] = 'Z';
	ts[24] = '\0';
	return 24;
}

/* The line that reports drops, into out (128 bytes). */
static size_t
dropped_line(char *out, int json, unsigned long long n)
{
	char ts[32];

	timestamp(ts);
	return (size_t)snprintf(out, 128, json ? "{\"ts\":\"%s\",\"level\":"
	    "\"warn\",\"msg\":\"log: %llu lines dropped\"}\n" :
	    "%s warn log: %llu lines dropped\n", ts, n);
}

/* Now plus ms on the clock the condition variables wait on. */
static struct timespec
deadline_after(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static void *
writer_main(void *arg)
{
	char note[128];

	(void)arg;
	pthread_mutex_lock(&lg.mu);
	for (;;) {
		unsigned long long lines, drops;
		size_t len, note_len = 0;
		char *batch;

		if (lg.used == 0 && lg.dropped == lg.reported) {
			struct timespec until = deadline_after(LOG_TICK_MS);

			if (lg.stopping)
				break;
			pthread_cond_timedwait(&lg.wake, &lg.mu, &until);
			continue;
		}
		batch = lg.queue;
		len = lg.used;
		lg.queue = lg.spare;
		lg.used = 0;
		lg.spare = batch;
		lines = lg.queued - lg.done;    /* all in batch */
		drops = lg.dropped - lg.reported;
		lg.reported = lg.dropped;
		if (drops > 0)
			note_len = dropped_line(note, lg.json, drops);
		pthread_mutex_unlock(&lg.mu);

		if ((note_len > 0 && write_all(note, note_len) != 0) ||
		    write_all(batch, len) != 0) {
			/* stderr is gone: count what is lost, report it if
			 * stderr ever comes back */
			pthread_mutex_lock(&lg.mu);
			lg.dropped += count_lines(batch, len);
		} else {
			pthread_mutex_lock(&lg.mu);
		}
		lg.done += lines;
		pthread_cond_broadcast(&lg.written);
	}
	pthread_mutex_unlock(&lg.mu);
	return NULL;
}

/* The writer's condition variables, on CLOCK_MONOTONIC so that a clock
 * step neither stalls nor hurries the writer or a flush. */
static int
make_conds(void)
{
	pthread_condattr_t attr;
	int ok;

	if (lg.conds_ready)
		return 0;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&lg.wake, &attr) == 0;
	if (ok && pthread_cond_init(&lg.written, &attr) != 0) {
		pthread_cond_destroy(&lg.wake);
		ok = 0;
	}
	pthread_condattr_destroy(&attr);
	lg.conds_ready = ok;
	return ok ? 0 : -1;
}

void
log_attach(void)
{
	sigset_t all, old;
	int err;

	pthread_mutex_lock(&lg.mu);
	if (lg.running) {
		pthread_mutex_unlock(&lg.mu);
		return;
	}
	if (lg.queue == NULL)
		lg.queue = malloc(LOG_BUFFER_BYTES);
	if (lg.spare == NULL)
		lg.spare = malloc(LOG_BUFFER_BYTES);
	pthread_mutex_unlock(&lg.mu);
	if (lg.queue == NULL || lg.spare == NULL || make_conds() != 0)
		return;     /* lines keep being written directly */
	/* Signals belong to the loop thread (libevent's handlers). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	lg.stopping = 0;
	err = pthread_create(&lg.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err == 0)
		lg.running = 1;
}

int
log_flush(int timeout_ms)
{
	struct timespec until;
	unsigned long long target;
	int rc = 0;

	if (!lg.running)
		return 0;
	until = deadline_after(timeout_ms);
	pthread_mutex_lock(&lg.mu);
	target = lg.queued;
	pthread_cond_signal(&lg.wake);
	while (lg.done < target && rc == 0)
		if (pthread_cond_timedwait(&lg.written, &lg.mu, &until) ==
		    ETIMEDOUT && lg.done < target)
			rc = -1;
	pthread_mutex_unlock(&lg.mu);
	return rc;
}

void
log_detach(void)
{
	if (!lg.running || lg.abandoned)
		return;
	if (log_flush(LOG_DETACH_MS) != 0) {
		/* The writer is stuck in write(2): leave it there, detached,
		 * still owning the queue (later lines are queued or dropped,
		 * never written directly, which would block); the process is
		 * about to exit. */
		pthread_detach(lg.thread);
		lg.abandoned = 1;
		return;
	}
	pthread_mutex_lock(&lg.mu);
	lg.stopping = 1;
	pthread_cond_signal(&lg.wake);
	pthread_mutex_unlock(&lg.mu);
	pthread_join(lg.thread, NULL);
	lg.running = 0;
}

unsigned long long
log_dropped_lines(void)
{
	unsigned long long n;

	pthread_mutex_lock(&lg.mu);
	n = lg.dropped;
	pthread_mutex_unlock(&lg.mu);
	return n;
}

/* Queues one whole line (or writes it, without the writer thread). */
static void
emit(const char *line, size_t len, int urgent)
{
	if (!lg.running) {
		if (write_all(line, len) != 0) {
			pthread_mutex_lock(&lg.mu);
			lg.dropped++;
			pthread_mutex_unlock(&lg.mu);
		}
		return;
	}
	pthread_mutex_lock(&lg.mu);
	lg.queued++;
	if (len > LOG_BUFFER_BYTES - lg.used) {
		lg.dropped++;
		lg.done++;
		pthread_cond_broadcast(&lg.written);
	} else {
		memcpy(lg.queue + lg.used, line, len);
		lg.used += len;
		if (urgent || lg.used > LOG_BUFFER_BYTES / 2)
			pthread_cond_signal(&lg.wake);
	}
	pthread_mutex_unlock(&lg.mu);
}

/* --- building lines ----------------------------------------------------- */

/* A line under construction; a field that does not fit is cut at a
 * character boundary, and room for the line's end is always kept. */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
};

/* Bytes left for a field, keeping 4 for the line's end ("\"}\n" and a
 * NUL) and at most max. */
static size_t
room(const struct line *l, size_t max)
{
	size_t left = sizeof(l->buf) - 4 - l->len;

	return left < max ? left : max;
}

static void
put(struct line *l, const char *s)
{
	size_t n = strlen(s), left = room(l, n);

	memcpy(l->buf + l->len, s, n < left ? n : left);
	l->len += n < left ? n : left;
}

/* A JSON string (with quotes) or null. */
static void
put_json(struct line *l, const char *s, size_t n, size_t max)
{
	size_t left;

	if (s == NULL) {
		put(l, "null");
		return;
	}
	if ((left = room(l, max)) < 3)
		return;
	l->buf[l->len++] = '"';
	l->len += escape_json(l->buf + l->len, left - 1, s, n, NULL);
	l->buf[l->len++] = '"';
}

/* A text value, "-" when absent. */
static void
put_text(struct line *l, const char *s, size_t n, size_t max)
{
	if (s == NULL) {
		put(l, "-");
		return;
	}
	l->len += escape_text_value(l->buf + l->len, room(l, max) + 1, s, n,
	                            NULL);
}

static void
put_number(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put_number(struct line *l, const char *fmt, ...)
{
	va_list ap;
	size_t left = room(l, 64);
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, left + 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n < left ? (size_t)n : left;
}

static void
line_start(struct line *l, enum log_level level, int json)
{
	char ts[32];

	l->len = 0;
	timestamp(ts);
	if (json) {
		put(l, "{\"ts\":\"");
		put(l, ts);
		put(l, "\",\"level\":\"");
		put(l, level_names[level]);
		put(l, "\",\"msg\":");
	} else {
		put(l, ts);
		put(l, " ");
		put(l, level_names[level]);
		put(l, " ");
	}
}

static void
line_end(struct line *l, int json, int urgent)
{
	if (json)
		l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
	emit(l->buf, l->len, urgent);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	struct line l;
	char msg[LOG_MSG_MAX];
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	line_start(&l, level, lg.json);
	if (lg.json)
		put_json(&l, msg, (size_t)n, sizeof(l.buf));
	else
		l.len += escape_text(l.buf + l.len, room(&l, sizeof(l.buf)) + 1,
		                     msg, (size_t)n, NULL);
	line_end(&l, lg.json, level <= LOG_WARN);
}

static size_t
len_of(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static void
access_json(struct line *l, const struct access_entry *e)
{
	put(l, "\"access\",\"requestId\":");
	put_json(l, e->request_id, len_of(e->request_id), LOG_FIELD_MAX);
	put(l, ",\"traceId\":");
	put_json(l, e->trace_id, len_of(e->trace_id), LOG_FIELD_MAX);
	put(l, ",\"route\":");
	put_json(l, e->route_id, len_of(e->route_id), LOG_FIELD_MAX);
	put(l, ",\"module\":");
	put_json(l, e->module, len_of(e->module), LOG_FIELD_MAX);
	put(l, ",\"method\":");
	put_json(l, e->method, len_of(e->method), LOG_FIELD_MAX);
	put(l, ",\"path\":");
	put_json(l, e->path, e->path_len, LOG_PATH_MAX);
	put_number(l, ",\"status\":%d,\"bytes\":%zu,\"durationMs\":%.3f",
	           e->status, e->bytes, e->duration_ms);
	put(l, ",\"userAgent\":");
	put_json(l, e->user_agent, len_of(e->user_agent), LOG_FIELD_MAX);
}

static void
access_text(struct line *l, const struct access_entry *e)
{
	put(l, "access id=");
	put_text(l, e->request_id, len_of(e->request_id), LOG_FIELD_MAX);
	put(l, " trace=");
	put_text(l, e->trace_id, len_of(e->trace_id), LOG_FIELD_MAX);
	put(l, " route=");
	put_text(l, e->route_id, len_of(e->route_id), LOG_FIELD_MAX);
	put(l, " module=");
	put_text(l, e->module, len_of(e->module), LOG_FIELD_MAX);
	put(l, " method=");
	put_text(l, e->method, len_of(e->method), LOG_FIELD_MAX);
	put(l, " path=");
	put_text(l, e->path, e->path_len, LOG_PATH_MAX);
	put_number(l, " status=%d bytes=%zu duration_ms=%.3f", e->status,
	           e->bytes, e->duration_ms);
	put(l, " ua=");
	put_text(l, e->user_agent, len_of(e->user_agent), LOG_FIELD_MAX);
}

void
log_access(const struct access_entry *e)
{
	struct line l;

	if (!lg.access)
		return;
	line_start(&l, LOG_INFO, lg.json);
	if (lg.json)
		access_json(&l, e);
	else
		access_text(&l, e);
	line_end(&l, lg.json, 0);
}

/* A runtime's line with its fields but the message (head: up to "msg="
 * or "\"msg\":"; tail: what follows it). */
static void
runtime_fields(struct line *head, struct line *tail, const char *name,
               const char *stream, int cut)
{
	line_start(head, LOG_INFO, lg.json);
	tail->len = 0;
	if (lg.json) {
		put(tail, ",\"runtime\":");
		put_json(tail, name, len_of(name), LOG_FIELD_MAX);
		put(tail, ",\"stream\":");
		put_json(tail, stream, len_of(stream), LOG_FIELD_MAX);
		if (cut)
			put(tail, ",\"cut\":true");
		put(tail, "}");
	} else {
		put(head, "runtime=");
		put_text(head, name, len_of(name), LOG_FIELD_MAX);
		put(head, " stream=");
		put_text(head, stream, len_of(stream), LOG_FIELD_MAX);
		put(head, " msg=");
		if (cut)
			put(tail, " cut=true");
	}
	put(tail, "\n");
}

/*
 * A runtime's line may be 16 KiB, escaped up to six times that: more
 * than struct line holds, so the message goes into a buffer of its own,
 * sized for this line, between the fields built as usual.
 */
void
log_runtime_line(const char *name, const char *stream, const char *line,
                 size_t len, int cut)
{
	struct line head, tail;
	size_t cap, n;
	char *buf;

	if (!log_enabled(LOG_INFO))
		return;
	if (len > LOG_RUNTIME_LINE_MAX) {
		len = LOG_RUNTIME_LINE_MAX;
		cut = 1;
	}
	runtime_fields(&head, &tail, name, stream, cut);
	/* the message's largest escaped form (JSON's: text's is smaller),
	 * its quotes and a NUL */
	cap = ESCAPE_JSON_MAX(len) + 3;
	if ((buf = malloc(head.len + cap + tail.len)) == NULL)
		return;
	memcpy(buf, head.buf, head.len);
	n = head.len;
	if (lg.json) {
		buf[n++] = '"';
		n += escape_json(buf + n, cap, line, len, NULL);
		buf[n++] = '"';
	} else {
		n += escape_text_value(buf + n, cap, line, len, NULL);
	}
	memcpy(buf + n, tail.buf, tail.len);
	emit(buf, n + tail.len, 0);
	free(buf);
}
