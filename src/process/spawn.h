/*
 * spawn.h - one process started with posix_spawn(3), as SPEC §10 wants
 * a runtime: its own process group, default signal dispositions and an
 * empty signal mask, /dev/null as stdin, stdout and stderr into two
 * pipes, in a given directory, and no other descriptor of asterd.
 */
#ifndef ASTER_PROCESS_SPAWN_H
#define ASTER_PROCESS_SPAWN_H

#include <sys/types.h>

struct spawned {
	pid_t pid;                  /* and process group id */
	int out_fd;                 /* read ends of its stdout and stderr, */
	int err_fd;                 /* O_NONBLOCK | O_CLOEXEC */
};

/*
 * Starts argv with the environment env, in dir. argv[0] is the program:
 * looked up in asterd's PATH when it holds no '/', relative to dir when
 * it is a relative path. Returns 0 with *out filled, or an errno value
 * (ENOENT, EACCES, ENOTDIR for dir, ...) with nothing left behind: the
 * program is checked before spawning, and glibc reports an exec that
 * fails still (and reaps that child itself).
 */
int spawn_process(char *const argv[], char *const env[], const char *dir,
                  struct spawned *out);

#endif
