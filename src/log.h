/*
 * log.h - asterd's log: text or JSON lines on stderr (SPEC §3.1 `log`).
 *
 * Lines are buffered and flushed every 100 ms, at shutdown, and at once
 * for warnings and errors: an access line per request must not cost a
 * write(2) per request.
 */
#ifndef ASTER_LOG_H
#define ASTER_LOG_H

#include <stddef.h>

struct event_base;

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

/* format: "text" or "json" (NULL: text); level: "error".."debug"
 * (NULL: info); access: whether access lines are written. Safe to call
 * again on reload. */
void log_configure(const char *format, const char *level, int access);

/* Starts the periodic flush on base (without it every line is flushed). */
void log_attach(struct event_base *base);
void log_detach(void);

/* Writes out what is buffered. */
void log_flush(void);

int log_enabled(enum log_level level);

/* One message line. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct access_entry {
	const char *request_id;
	const char *route_id;       /* NULL: no route matched */
	const char *module;
	const char *method;
	const char *path;
	int status;
	size_t bytes;
	double duration_ms;
};

/* Whether access lines are written (callers skip measuring otherwise). */
int log_access_enabled(void);

/* One access line, when access logging is on. */
void log_access(const struct access_entry *e);

#endif
