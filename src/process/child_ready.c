/*
 * child_ready.c - when a starting child is ready (SPEC §10): READY=1 on
 * its notify socket, or a connection to its ready socket accepted,
 * whichever comes first, within ready_timeout_ms. Past that its group
 * is killed, and the exit that follows counts as a failure whatever the
 * status (child_exit.c). A child with neither socket is ready at once.
 *
 * The ready socket is probed with a non-blocking connect every
 * CHILD_POLL_MS: a Unix stream socket either takes the connection at
 * once (listening, room in its backlog) or refuses it, so a probe never
 * waits. The probe's connection is closed at once; the runtime sees a
 * client that went away, which every HTTP server shrugs off.
 */
#include "process/child_int.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "process/notify_listen.h"

#define NOTIFY_MSG_MAX   4096
#define NOTIFY_PER_EVENT 16     /* messages read per callback */

static void
became_ready(struct child *c)
{
	child_ready_end(c);
	log_msg(LOG_INFO, "runtime=%s: ready (pid %ld, after %llu ms)",
	        c->name, (long)c->cur->pid,
	        (unsigned long long)(child_now_ms() - c->cur->started_ms));
	child_set_state(c, CHILD_READY);
}

static int
waiting_for_ready(const struct child *c)
{
	return c->state == CHILD_STARTING && c->cur != NULL &&
	    !c->cur->ready_timed_out;
}

static void
on_notify(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	char msg[NOTIFY_MSG_MAX];
	int i;

	(void)what;
	for (i = 0; i < NOTIFY_PER_EVENT; i++) {
		ssize_t n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		if (waiting_for_ready(c) && notify_says_ready(msg, (size_t)n)) {
			became_ready(c);
			return;
		}
	}
}

/* Whether the socket at path accepts a connection now. */
static int
probe_connects(const char *path)
{
	struct sockaddr_un sa;
	size_t len = strlen(path);
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static void
on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (!waiting_for_ready(c))
		return;
	if (c->ready_socket == NULL || probe_connects(c->ready_socket)) {
		became_ready(c);
		return;
	}
	child_timer_ms(c->probe_timer, CHILD_POLL_MS);
}

static void
on_ready_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;

	(void)fd;
	(void)what;
	if (!waiting_for_ready(c))
		return;
	child_ready_end(c);
	c->cur->ready_timed_out = 1;
	kill(-c->cur->pid, SIGKILL);    /* its exit comes through SIGCHLD */
}

int
child_ready_init(struct child *c, const char **err)
{
	static char why[CHILD_CAUSE_MAX + 128];
	struct event_base *base = c->sup->base;

	c->probe_timer = evtimer_new(base, on_probe, c);
	c->ready_timer = evtimer_new(base, on_ready_timeout, c);
	if (c->probe_timer == NULL || c->ready_timer == NULL) {
		*err = strerror(ENOMEM);
		return -1;
	}
	if (c->notify_socket == NULL)
		return 0;
	if ((c->notify_fd = notify_listen(c->notify_socket)) < 0) {
		snprintf(why, sizeof(why), "notify socket %s: %s",
		         c->notify_socket, strerror(errno));
		*err = why;
		return -1;
	}
	c->notify_ev = event_new(base, c->notify_fd, EV_READ | EV_PERSIST,
	                         on_notify, c);
	if (c->notify_ev == NULL || event_add(c->notify_ev, NULL) != 0) {
		*err = strerror(ENOMEM);
		return -1;
	}
	return 0;
}

void
child_ready_begin(struct child *c)
{
	if (c->notify_fd >= 0)
		notify_discard(c->notify_fd);   /* an earlier process's */
	if (c->ready_timeout_ms > 0)
		child_timer_ms(c->ready_timer, c->ready_timeout_ms);
	if (c->ready_socket != NULL || c->notify_fd < 0)
		child_timer_ms(c->probe_timer, 0);
}

void
child_ready_end(struct child *c)
{
	event_del(c->probe_timer);
	event_del(c->ready_timer);
}
