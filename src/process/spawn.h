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
 * Starts argv (argv[0] looked up in asterd's PATH when it holds no '/')
 * with the environment env, in dir. Returns 0 with *out filled, or an
 * errno value (the exec's own: ENOENT, EACCES, ...) with nothing left
 * behind: glibc reports a failed exec through posix_spawn() and reaps
 * that child itself.
 */
int spawn_process(char *const argv[], char *const env[], const char *dir,
                  struct spawned *out);

#endif
