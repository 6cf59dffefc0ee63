/*
 * log.h - asterd's log: text or JSON lines on stderr (SPEC §3.1 `log`,
 * §13).
 *
 * Every line is one line, valid in its format, whatever a client sent:
 * fields are escaped with util/escape.h. Once log_attach() has run, lines
 * go through a bounded buffer that a writer thread drains, so a slow or
 * stuck stderr never stalls the event loop: when the buffer is full whole
 * lines are dropped and counted. Warnings and errors are written at once;
 * other lines within 100 ms.
 */
#ifndef ASTER_LOG_H
#define ASTER_LOG_H

#include <stddef.h>

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

/* Starts the writer thread; from then on no log call blocks. Before it
 * (and if the thread cannot start) every line is written directly. */
void log_attach(void);

/* Writes out what is buffered, waiting at most about a second (a stuck
 * stderr is given up on, never waited for), and stops the writer thread
 * when it finished. Lines logged later are written directly again. */
void log_detach(void);

/* Wakes the writer and waits, at most timeout_ms, until every line
 * logged so far is written out: 0 when it was, -1 when the time passed
 * (the lines stay queued). Without the writer thread: 0 at once. */
int log_flush(int timeout_ms);

/* Lines dropped so far because the buffer was full (or stderr failed),
 * since the process started. Each drop is also reported in the log
 * ("log: N lines dropped") once the output drains. */
unsigned long long log_dropped_lines(void);

int log_enabled(enum log_level level);

/* One message line. The message is escaped (control characters,
 * backslashes, invalid UTF-8), so it may quote what a client sent. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct access_entry {
	const char *request_id;
	const char *trace_id;       /* 32 hex digits, or NULL */
	const char *route_id;       /* NULL: no route matched */
	const char *module;
	const char *method;
	const char *path;           /* as received, still percent-encoded */
	size_t path_len;            /* bytes of path to log (no query) */
	const char *user_agent;     /* NULL: none sent */
	int status;
	size_t bytes;
	double duration_ms;
};

/* Whether access lines are written (callers skip measuring otherwise). */
int log_access_enabled(void);

/* One access line, when access logging is on. */
void log_access(const struct access_entry *e);

/* A runtime's output line (SPEC §10), at level info: `runtime=NAME
 * stream=STREAM msg=LINE` (JSON: "runtime", "stream", "msg"), line being
 * len bytes without its newline, escaped whole (up to 16 KiB; the
 * caller cuts longer lines and says so with cut, which adds `cut=true`). */
#define LOG_RUNTIME_LINE_MAX (16u * 1024)
void log_runtime_line(const char *name, const char *stream, const char *line,
                      size_t len, int cut);

#endif
