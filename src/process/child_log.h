/*
 * child_log.h - a child's stdout and stderr into asterd's log (SPEC
 * §10): one log line per line, lines over LOG_RUNTIME_LINE_MAX cut, and
 * a flood of output bounded on the loop.
 *
 * Each read callback takes at most OUTPIPE_READ_MAX bytes, so a child
 * writing without pause gets its turn like every other event and no
 * more; what it writes meanwhile waits in the pipe, and once the pipe is
 * full the child itself blocks. The lines read go through a token
 * bucket per child (FLOOD_RATE lines a second, bursts of FLOOD_BURST):
 * the lines over it are dropped and counted, and while dropping, once a
 * second, one warning says how many. A pipe whose reading ran the
 * bucket dry is left alone for FLOOD_PAUSE_MS: a child stuck printing
 * as fast as it can would otherwise keep the loop reading and dropping
 * all the time, a processor's worth of work for nothing.
 */
#ifndef ASTER_PROCESS_CHILD_LOG_H
#define ASTER_PROCESS_CHILD_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct event;
struct event_base;

#define OUTPIPE_READ_MAX (64u * 1024)   /* bytes per read callback */
#define FLOOD_RATE       1000u          /* lines a second, sustained */
#define FLOOD_BURST      2000u          /* lines at once */
#define FLOOD_REPORT_MS  1000
#define FLOOD_PAUSE_MS   10             /* a pipe not read while dropping */

/* The rate of one child's output, both streams and every process of it
 * together. */
struct flood {
	const char *name;           /* the child's, for the warning */
	uint64_t tokens;            /* in thousandths of a line */
	uint64_t refilled_ms;
	uint64_t dropped;           /* ever */
	uint64_t unreported;        /* dropped since the last warning */
	struct event *report;
};

/* One pipe being read: a child's stdout or stderr. */
struct outpipe {
	int fd;                     /* -1: closed (or never opened) */
	struct event *ev;
	struct event *resume;       /* reading paused during a flood */
	const char *stream;         /* "stdout" or "stderr" */
	struct flood *flood;
	void (*closed)(void *arg);  /* after EOF, once the pipe is closed */
	void *arg;
	int discarding;             /* the rest of a cut line */
	size_t len;                 /* of a line begun in buf */
	char buf[LOG_RUNTIME_LINE_MAX];
};

/* 0, or -1 when out of memory. name must outlive f. */
int flood_init(struct flood *f, struct event_base *base, const char *name);

/* Reports what is left unreported and frees f's event. */
void flood_fini(struct flood *f);

/*
 * Reads fd (non-blocking; o takes it over) on base into the log as
 * stream's lines, counted against flood. At EOF (or a read error) a
 * partial last line is logged, fd is closed and closed(arg) runs, from
 * which o may be freed. 0, or -1 (fd closed, closed not called) when
 * out of memory.
 */
int outpipe_open(struct outpipe *o, struct event_base *base, int fd,
                 const char *stream, struct flood *flood,
                 void (*closed)(void *arg), void *arg);

/* Closes o now if still open: what the pipe already holds (up to
 * OUTPIPE_READ_MAX) and a partial last line are logged first, so the
 * last words of a stopped child are not lost; closed is not called. */
void outpipe_close(struct outpipe *o);

#endif
