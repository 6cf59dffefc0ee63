/*
 * log.c - buffered text and JSON log lines.
 */
#include "log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_BUFFER_BYTES (64u * 1024)
#define LOG_FLUSH_MS 100

static struct {
	int json;
	enum log_level level;
	int access;
	char buf[LOG_BUFFER_BYTES];
	size_t used;
	struct event *timer;
} lg = {0, LOG_INFO, 1, {0}, 0, NULL};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_configure(const char *format, const char *level, int access)
{
	size_t i;

	lg.json = format != NULL && strcmp(format, "json") == 0;
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

void
log_flush(void)
{
	size_t off = 0;

	while (off < lg.used) {
		ssize_t n = write(STDERR_FILENO, lg.buf + off, lg.used - off);

		if (n <= 0)
			break;  /* stderr gone: drop, never block the loop */
		off += (size_t)n;
	}
	lg.used = 0;
}

static void
on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_flush();
}

void
log_attach(struct event_base *base)
{
	struct timeval tv = {0, LOG_FLUSH_MS * 1000};

	log_detach();
	lg.timer = event_new(base, -1, EV_PERSIST, on_flush_timer, NULL);
	if (lg.timer != NULL)
		event_add(lg.timer, &tv);
}

void
log_detach(void)
{
	if (lg.timer != NULL) {
		event_free(lg.timer);
		lg.timer = NULL;
	}
	log_flush();
}

static void
append(const char *s, size_t n)
{
	if (lg.used + n > sizeof(lg.buf))
		log_flush();
	if (n > sizeof(lg.buf)) {
		ssize_t w = write(STDERR_FILENO, s, n);

		(void)w;
		return;
	}
	memcpy(lg.buf + lg.used, s, n);
	lg.used += n;
}

static size_t
timestamp(char *out, size_t len)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(out + n, len - n, ".%03ldZ",
	                      (long)(tv.tv_usec / 1000));
	return n;
}

/* JSON string escaping into out; returns bytes written (bounded). */
static size_t
json_escape(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[4096], msg[3072], esc[3600], ts[40];
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	timestamp(ts, sizeof(ts));
	if (lg.json) {
		json_escape(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":"
		             "\"%s\",\"msg\":\"%s\"}\n", ts,
		             level_names[level], esc);
	} else {
		n = snprintf(line, sizeof(line), "%s %s %s\n", ts,
		             level_names[level], msg);
	}
	if (n > 0)
		append(line, (size_t)n < sizeof(line) ? (size_t)n :
		       sizeof(line) - 1);
	if (level <= LOG_WARN || lg.timer == NULL)
		log_flush();
}

int
log_access_enabled(void)
{
	return lg.access;
}

void
log_access(const struct access_entry *e)
{
	char line[4096], path[2048], ts[40];
	int n;

	if (!lg.access)
		return;
	timestamp(ts, sizeof(ts));
	if (lg.json) {
		json_escape(path, sizeof(path), e->path);
		n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":"
		    "\"info\",\"msg\":\"access\",\"requestId\":\"%s\","
		    "\"route\":%s%s%s,\"module\":%s%s%s,\"method\":\"%s\","
		    "\"path\":\"%s\",\"status\":%d,\"bytes\":%zu,"
		    "\"durationMs\":%.3f}\n", ts, e->request_id,
		    e->route_id ? "\"" : "", e->route_id ? e->route_id : "null",
		    e->route_id ? "\"" : "", e->module ? "\"" : "",
		    e->module ? e->module : "null", e->module ? "\"" : "",
		    e->method, path, e->status, e->bytes, e->duration_ms);
	} else {
		n = snprintf(line, sizeof(line), "%s info access id=%s "
		    "route=%s module=%s method=%s path=%s status=%d bytes=%zu "
		    "duration_ms=%.3f\n", ts, e->request_id,
		    e->route_id ? e->route_id : "-",
		    e->module ? e->module : "-", e->method, e->path, e->status,
		    e->bytes, e->duration_ms);
	}
	if (n > 0)
		append(line, (size_t)n < sizeof(line) ? (size_t)n :
		       sizeof(line) - 1);
	if (lg.timer == NULL)
		log_flush();
}
