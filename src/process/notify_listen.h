/*
 * notify_listen.h - the supervisor's end of the systemd notify protocol:
 * a Unix datagram socket a child sends "KEY=VALUE\n..." messages to.
 * Only READY=1 means anything to asterd; other lines are ignored.
 * Senders' credentials are not checked: the socket lives in the child's
 * private 0700 directory.
 */
#ifndef ASTER_PROCESS_NOTIFY_LISTEN_H
#define ASTER_PROCESS_NOTIFY_LISTEN_H

#include <stddef.h>

/* Binds a non-blocking, close-on-exec datagram socket at path (a stale
 * file there is removed first; the socket is made mode 0600). Returns
 * it, or -1 with errno (ENAMETOOLONG when path does not fit). */
int notify_listen(const char *path);

/* Whether the message (len bytes) holds a line "READY=1". */
int notify_says_ready(const char *msg, size_t len);

/* Reads and drops every message waiting on fd. */
void notify_discard(int fd);

#endif
