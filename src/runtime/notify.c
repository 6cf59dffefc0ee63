/*
 * notify.c - the systemd notify protocol without libsystemd (SPEC §11).
 *
 * The protocol is one datagram of "KEY=VALUE\n..." text to the AF_UNIX
 * socket named by $NOTIFY_SOCKET. A socket is opened per message: they
 * are rare (start, reload, stop, a watchdog ping every few seconds), and
 * keeping none open means nothing to leak into the children asterd
 * supervises. The environment is read on every call, never cached, so a
 * test (or a future re-exec) can change it.
 */
#include "runtime/notify.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The watchdog timer; the header's API has no handle, one per process. */
static struct event *watchdog_ev;

/*
 * Fills sa from name: a path, or an abstract name after '@' (the kernel
 * knows it by a leading NUL and an exact length, no terminator).
 * Returns the address length, or 0 when name cannot be an AF_UNIX
 * address (too long, empty, or another scheme such as vsock:).
 */
static socklen_t
notify_address(const char *name, struct sockaddr_un *sa)
{
	size_t len = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (name[0] == '@') {
		if (len < 2 || len > sizeof(sa->sun_path))
			return 0;
		memcpy(sa->sun_path + 1, name + 1, len - 1);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		                   len);
	}
	if (name[0] != '/' || len >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, name, len + 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

static int
notify_write(const char *name, const char *msg, size_t len)
{
	struct sockaddr_un sa;
	socklen_t salen;
	ssize_t n;
	int fd, saved;

	if ((salen = notify_address(name, &sa)) == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	/* Never block the event loop on a slow reader: systemd's queue is
	 * deep and drained at once, and should it ever be full, a lost
	 * message beats a stalled daemon. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	n = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

int
notify_send(const char *fmt, ...)
{
	const char *name = getenv("NOTIFY_SOCKET");
	va_list ap;
	char *msg;
	int len, rc;

	if (name == NULL || *name == '\0')
		return 0;
	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	rc = notify_write(name, msg, (size_t)len);
	free(msg);
	return rc;
}

/*
 * The watchdog interval in microseconds, or 0 when there is none for
 * this process: WATCHDOG_USEC unset or not a positive number, or
 * WATCHDOG_PID naming another process (the variables were inherited).
 */
static unsigned long long
watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (usec == NULL || *usec < '0' || *usec > '9')
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	if (pid != NULL && *pid != '\0') {
		errno = 0;
		if (strtoll(pid, &end, 10) != (long long)getpid() ||
		    errno != 0 || *end != '\0')
			return 0;
	}
	return v;
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* A lost ping is not worth a log line: the next one follows in
	 * half the interval, and systemd acts only when a whole one is
	 * missed. */
	(void)notify_send("WATCHDOG=1");
}

int
notify_watchdog_start(struct event_base *base)
{
	const char *name = getenv("NOTIFY_SOCKET");
	unsigned long long usec, half;
	struct timeval tv;

	notify_watchdog_stop();
	if (name == NULL || *name == '\0' || (usec = watchdog_usec()) == 0)
		return 0;
	/* Half the interval, as sd_watchdog_enabled(3) advises, so one late
	 * turn of the event loop never costs a restart. */
	half = usec / 2 > 0 ? usec / 2 : 1;
	tv.tv_sec = (time_t)(half / 1000000);
	tv.tv_usec = (suseconds_t)(half % 1000000);
	watchdog_ev = event_new(base, -1, EV_PERSIST, on_watchdog, NULL);
	if (watchdog_ev == NULL)
		return -1;
	if (event_add(watchdog_ev, &tv) < 0) {
		notify_watchdog_stop();
		return -1;
	}
	return 0;
}

void
notify_watchdog_stop(void)
{
	if (watchdog_ev == NULL)
		return;
	event_free(watchdog_ev);
	watchdog_ev = NULL;
}
