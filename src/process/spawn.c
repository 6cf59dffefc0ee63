/*
 * spawn.c - posix_spawn(3) with the file actions and attributes of a
 * runtime process.
 *
 * Why posix_spawn and not fork: asterd has threads (the log writer, the
 * SQLite worker), and glibc's posix_spawn runs the child on a vfork-like
 * clone with every signal blocked until exec, so no other thread's lock
 * or handler can bite between the two. Its descriptor hygiene does not
 * rely on every open() of asterd using O_CLOEXEC: closefrom(3) in the
 * child closes whatever else there is.
 *
 * The program is looked up here, before spawning, rather than left to
 * posix_spawnp(): glibc reports a failed exec through posix_spawn(),
 * but not every environment does (under valgrind the child is a real
 * fork, and a missing program shows up as an exit with status 127), and
 * a program that is not there is better refused at once than counted
 * as a crash.
 */
#include "process/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PATH when asterd has none: glibc's default for execvp(). */
#define DEFAULT_PATH "/bin:/usr/bin"

/* 0 when path is a file this process may execute, else an errno value. */
static int
runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EACCES;
	return access(path, X_OK) == 0 ? 0 : errno;
}

/* The file argv0 names into out: as is when absolute, under dir when
 * relative with a '/', else the first runnable one in PATH. 0 or an
 * errno value (EACCES when only such files were found). */
static int
resolve(const char *argv0, const char *dir, char *out, size_t cap)
{
	const char *path = getenv("PATH"), *p, *end;
	int rc = ENOENT, r;

	if (strchr(argv0, '/') != NULL) {
		if ((size_t)snprintf(out, cap, "%s%s%s", argv0[0] == '/' ? "" :
		    dir, argv0[0] == '/' ? "" : "/", argv0) >= cap)
			return ENAMETOOLONG;
		return runnable(out);
	}
	if (path == NULL)
		path = DEFAULT_PATH;
	for (p = path; ; p = end + 1) {
		size_t n;

		end = strchr(p, ':');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if ((size_t)snprintf(out, cap, "%.*s%s%s", (int)n, n > 0 ? p :
		    ".", "/", argv0) < cap && (r = runnable(out)) != ENOENT) {
			if (r == 0)
				return 0;
			rc = r == EACCES ? EACCES : rc;
		}
		if (end == NULL)
			return rc;
	}
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/* stdin from /dev/null, stdout and stderr into the pipes, chdir, and
 * nothing else open. */
static int
make_actions(posix_spawn_file_actions_t *fa, const char *dir, int out_w,
             int err_w)
{
	int rc;

	if ((rc = posix_spawn_file_actions_init(fa)) != 0)
		return rc;
	if ((rc = posix_spawn_file_actions_addopen(fa, STDIN_FILENO,
	    "/dev/null", O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, out_w,
	    STDOUT_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(fa, err_w,
	    STDERR_FILENO)) != 0 ||
	    (rc = posix_spawn_file_actions_addchdir_np(fa, dir)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0)
		posix_spawn_file_actions_destroy(fa);
	return rc;
}

/* Its own group; every signal back to its default (asterd ignores
 * SIGPIPE, and an ignored signal stays ignored across exec) and none
 * blocked. glibc's own two signals (32 and 33, below SIGRTMIN) cannot
 * be named in a sigset_t and are left ignored by posix_spawn whatever
 * it is asked; a glibc program sets them up again as it starts. */
static int
make_attr(posix_spawnattr_t *attr)
{
	sigset_t all, none;
	int rc;

	if ((rc = posix_spawnattr_init(attr)) != 0)
		return rc;
	sigfillset(&all);
	sigemptyset(&none);
	if ((rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(attr, &none)) != 0)
		posix_spawnattr_destroy(attr);
	return rc;
}

static int
set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -1 : 0;
}

/* Both ends close-on-exec: the child gets its write ends through dup2,
 * which clears the flag on the copy. */
static int
make_pipes(int out[2], int err[2])
{
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
	    set_nonblocking(out[0]) != 0 || set_nonblocking(err[0]) != 0)
		return errno;
	return 0;
}

static int
run(const char *file, char *const argv[], char *const env[],
    const char *dir, int out_w, int err_w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc;

	if ((rc = make_actions(&fa, dir, out_w, err_w)) != 0)
		return rc;
	if ((rc = make_attr(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	rc = posix_spawn(pid, file, &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

int
spawn_process(char *const argv[], char *const env[], const char *dir,
              struct spawned *out)
{
	int outp[2] = {-1, -1}, errp[2] = {-1, -1};
	char file[PATH_MAX];
	struct stat st;
	int rc;

	if (argv[0] == NULL || argv[0][0] == '\0')
		return ENOENT;
	if (stat(dir, &st) != 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	if ((rc = resolve(argv[0], dir, file, sizeof(file))) != 0)
		return rc;
	if ((rc = make_pipes(outp, errp)) == 0)
		rc = run(file, argv, env, dir, outp[1], errp[1], &out->pid);
	if (rc != 0) {
		close_pair(outp);
		close_pair(errp);
		return rc;
	}
	close(outp[1]);
	close(errp[1]);
	out->out_fd = outp[0];
	out->err_fd = errp[0];
	return 0;
}
