/*
 * notify_listen.c - binds a child's notify socket and reads READY=1 out
 * of its messages (see notify_listen.h).
 */
#include "process/notify_listen.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define NOTIFY_DISCARD_MAX 1024

int
notify_listen(const char *path)
{
	struct sockaddr_un sa;
	size_t len = strlen(path);
	int fd, saved;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (unlink(path) != 0 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto fail;
	if (chmod(path, 0600) != 0) {
		saved = errno;
		unlink(path);
		errno = saved;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
notify_says_ready(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (n == 7 && memcmp(p, "READY=1", 7) == 0)
			return 1;
		p += n + 1;
	}
	return 0;
}

void
notify_discard(int fd)
{
	char buf[512];
	int i;

	/* bounded: a sender cannot keep the loop here */
	for (i = 0; i < NOTIFY_DISCARD_MAX; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 &&
		    errno != EINTR)
			break;
}
