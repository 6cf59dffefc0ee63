/*
 * pg.c - a throwaway PostgreSQL cluster for tests (aster/testing.h).
 *
 * Layout of one cluster, all in a fresh directory D under $TMPDIR:
 *
 *   D/data          the cluster (initdb), its settings appended to
 *                   data/postgresql.conf so that every start, by
 *                   aster_test_pg_start() or aster_test_pg_start_server(),
 *                   runs with the same ones
 *   D/.s.PGSQL.N    the server's only socket (listen_addresses is empty,
 *                   so no TCP); N is a random number naming the socket
 *   D/server.log    the server's log (pg_ctl -l)
 *   D/command.log   what the last initdb/pg_ctl/createdb printed
 *
 * fsync stays on: fault tests stop the server and must find committed
 * work again, honestly. Only initdb runs with --no-sync.
 *
 * initdb and postgres refuse to run as root, so as root every binary runs
 * as the `postgres` user (fork, setgid, setuid, exec) and D belongs to it.
 * Every command is a child this process waits for: tests may block.
 *
 * A test that fails in check's fork mode leaves through _exit() or a
 * signal, so it never reaches aster_test_pg_free(). A watchdog process
 * (in its own session, so check's kill of the test's process group spares
 * it) holds the read end of a pipe whose write end only this process
 * holds; when that end closes without a word, the test died, and the
 * watchdog stops the server and removes D. No server outlives its test.
 */
#include <aster/testing.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_USER "postgres"      /* who runs the server as root */
#define PG_WAIT_MS 60000        /* pg_ctl -t, before the multiplier */

struct aster_test_pg {
	char dir[PATH_MAX];         /* D */
	char data[PATH_MAX + 8];    /* D/data */
	char bindir[PATH_MAX];      /* "" : from PATH */
	char dsn[PATH_MAX + 64];
	int port;
	int as_user;                /* 1: run commands as uid/gid */
	uid_t uid;
	gid_t gid;
	pid_t watchdog;             /* 0: none */
	int watch_fd;               /* the pipe's write end, -1: none */
};

static void pg_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* One line on stderr, prefixed. */
static void
pg_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aster_test_pg: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Copies the file at path to stderr, each line indented. */
static void
pg_dump_file(const char *what, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return;
	fprintf(stderr, "--- %s (%s) ---\n", what, path);
	while (fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "    %s", line);
	fclose(f);
}

/* --- finding the binaries --------------------------------------------- */

static int
pg_is_exec(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return 0;
	return access(path, X_OK) == 0;
}

/* Orders version directory names numerically ("9.6" < "10" < "15"). */
static int
pg_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		char *ea, *eb;
		unsigned long x = strtoul(a, &ea, 10);
		unsigned long y = strtoul(b, &eb, 10);

		if (x != y)
			return x < y ? -1 : 1;
		if (ea == a || eb == b)
			return strcmp(a, b);
		a = *ea == '.' ? ea + 1 : ea;
		b = *eb == '.' ? eb + 1 : eb;
	}
	return 0;
}

/* $ASTER_TEST_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin with
 * an initdb, else "" (PATH). */
static int
pg_find_bindir(struct aster_test_pg *pg)
{
	const char *env = getenv("ASTER_TEST_PG_BINDIR");
	char best[NAME_MAX + 1] = "";
	struct dirent *de;
	DIR *d;

	pg->bindir[0] = '\0';
	if (env != NULL && *env != '\0') {
		if (!pg_is_exec(env, "initdb") || !pg_is_exec(env, "pg_ctl")) {
			pg_err("$ASTER_TEST_PG_BINDIR=%s holds no initdb and "
			       "pg_ctl", env);
			return -1;
		}
		snprintf(pg->bindir, sizeof(pg->bindir), "%s", env);
		return 0;
	}
	d = opendir("/usr/lib/postgresql");
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char bin[PATH_MAX];

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(bin, sizeof(bin), "/usr/lib/postgresql/%s/bin",
		         de->d_name);
		if (!pg_is_exec(bin, "initdb") || !pg_is_exec(bin, "pg_ctl"))
			continue;
		if (best[0] == '\0' || pg_version_cmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (best[0] != '\0')
		snprintf(pg->bindir, sizeof(pg->bindir),
		         "/usr/lib/postgresql/%s/bin", best);
	return 0;
}

/* --- running commands ------------------------------------------------- */

/* The child side: become the server's user, clear the PG* variables that
 * would point the client tools elsewhere, exec. Never returns. */
static void
pg_exec_child(const struct aster_test_pg *pg, char *const argv[], int out)
{
	static const char *const unset[] = {
		"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE",
		"PGDATA", "PGPASSWORD", "PGPASSFILE", "PGSERVICE",
		"PGSERVICEFILE", "PGOPTIONS", "PGSSLMODE", "PGAPPNAME",
		"PGTZ", "PGCLIENTENCODING", "PGCONNECT_TIMEOUT", NULL,
	};
	char path[PATH_MAX * 2];
	size_t i;
	int null = open("/dev/null", O_RDONLY);

	if (null != -1) {
		dup2(null, 0);
		close(null);
	}
	if (out != -1) {
		dup2(out, 1);
		dup2(out, 2);
	}
	if (pg->as_user &&
	    (setgroups(1, &pg->gid) == -1 || setgid(pg->gid) == -1 ||
	     setuid(pg->uid) == -1)) {
		fprintf(stderr, "cannot become %s: %s\n", PG_USER,
		        strerror(errno));
		_exit(126);
	}
	for (i = 0; unset[i] != NULL; i++)
		unsetenv(unset[i]);
	setenv("LC_ALL", "C", 1);
	if (chdir(pg->dir) == -1)
		_exit(126);
	if (pg->bindir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/%s", pg->bindir, argv[0]);
		execv(path, argv);
	} else {
		execvp(argv[0], argv);
	}
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Runs argv[0] (looked up in the bindir) with its output in
 * D/command.log and waits for it. 0 when it exited 0; otherwise -1, with
 * the command line and its output (and the server log, when show_log)
 * on stderr unless quiet.
 */
static int
pg_run(const struct aster_test_pg *pg, char *const argv[], int show_log,
       int quiet)
{
	char logpath[PATH_MAX + 16], serverlog[PATH_MAX + 16];
	int out, status, i;
	pid_t pid;

	snprintf(logpath, sizeof(logpath), "%s/command.log", pg->dir);
	out = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		if (!quiet)
			pg_err("fork: %s", strerror(errno));
		if (out != -1)
			close(out);
		return -1;
	}
	if (pid == 0)
		pg_exec_child(pg, argv, out);
	if (out != -1)
		close(out);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
	}
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (quiet)
		return -1;
	fprintf(stderr, "aster_test_pg: command failed (%s %d):",
	        status != -1 && WIFSIGNALED(status) ? "signal" : "exit",
	        status == -1 ? -1 : WIFSIGNALED(status) ? WTERMSIG(status) :
	        WEXITSTATUS(status));
	for (i = 0; argv[i] != NULL; i++)
		fprintf(stderr, " %s", argv[i]);
	fputc('\n', stderr);
	if (pg->bindir[0] != '\0')
		fprintf(stderr, "    (binaries from %s)\n", pg->bindir);
	pg_dump_file("its output", logpath);
	if (show_log) {
		snprintf(serverlog, sizeof(serverlog), "%s/server.log",
		         pg->dir);
		pg_dump_file("the server log", serverlog);
	}
	return -1;
}

/* pg_ctl's -t: seconds, scaled like every wait of the library. */
static void
pg_wait_arg(char *buf, size_t len)
{
	int ms = aster_test_timeout(PG_WAIT_MS);

	snprintf(buf, len, "%d", ms / 1000 > 0 ? ms / 1000 : 1);
}

static int
pg_ctl_start(const struct aster_test_pg *pg)
{
	char logpath[PATH_MAX + 16], wait[16];
	char *argv[] = {"pg_ctl", "start", "-w", "-s", "-t", wait, "-D",
	                (char *)pg->data, "-l", logpath, NULL};

	snprintf(logpath, sizeof(logpath), "%s/server.log", pg->dir);
	pg_wait_arg(wait, sizeof(wait));
	return pg_run(pg, argv, 1, 0);
}

static int
pg_ctl_stop(const struct aster_test_pg *pg, const char *mode, int quiet)
{
	char wait[16];
	char *argv[] = {"pg_ctl", "stop", "-w", "-s", "-t", wait, "-m",
	                (char *)mode, "-D", (char *)pg->data, NULL};

	pg_wait_arg(wait, sizeof(wait));
	return pg_run(pg, argv, 1, quiet);
}

/* Stops the server for good, fast and else immediate (at the end only). */
static void
pg_shutdown(struct aster_test_pg *pg, int quiet)
{
	char pidfile[PATH_MAX + 32];

	snprintf(pidfile, sizeof(pidfile), "%s/postmaster.pid", pg->data);
	if (access(pidfile, F_OK) != 0)
		return;
	if (pg_ctl_stop(pg, "fast", quiet) != 0)
		pg_ctl_stop(pg, "immediate", quiet);
}

/* --- the watchdog ----------------------------------------------------- */

/*
 * Forks the watchdog. It reads one byte from the pipe: a byte means the
 * cluster was freed normally, end of file means the test process is gone
 * and the cluster is the watchdog's to remove.
 */
static void
pg_watchdog_start(struct aster_test_pg *pg)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return;
	fflush(NULL);
	pid = fork();
	if (pid == -1) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		char c;
		ssize_t n;
		int fd;

		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		/* Hold nothing of the test's but stderr and the pipe. */
		for (fd = 3; fd < 1024; fd++)
			if (fd != fds[0])
				close(fd);
		do
			n = read(fds[0], &c, 1);
		while (n == -1 && errno == EINTR);
		if (n == 0) {
			pg_shutdown(pg, 1);
			aster_test_remove_tree(pg->dir);
		}
		_exit(0);
	}
	close(fds[0]);
	pg->watchdog = pid;
	pg->watch_fd = fds[1];
}

static void
pg_watchdog_dismiss(struct aster_test_pg *pg)
{
	if (pg->watch_fd != -1) {
		while (write(pg->watch_fd, "x", 1) == -1 && errno == EINTR)
			;
		close(pg->watch_fd);
		pg->watch_fd = -1;
	}
	if (pg->watchdog > 0) {
		while (waitpid(pg->watchdog, NULL, 0) == -1 && errno == EINTR)
			;
		pg->watchdog = 0;
	}
}

/* --- setting up ------------------------------------------------------- */

/*
 * As root: the server's user must be able to reach D. $TMPDIR is often a
 * 0700 directory of ours (mktemp -d); it then gets search permission for
 * others (never read), which is all the server needs. Any other blocked
 * ancestor is an error naming it.
 */
static int
pg_reachable(struct aster_test_pg *pg, const char *parent)
{
	char path[PATH_MAX];
	struct stat sb;
	char *slash;

	snprintf(path, sizeof(path), "%s", parent);
	if (stat(path, &sb) == 0 && sb.st_uid == geteuid() &&
	    (sb.st_mode & S_IXOTH) == 0 &&
	    chmod(path, (sb.st_mode & 07777) | S_IXOTH) == -1) {
		pg_err("cannot let %s into %s", PG_USER, path);
		return -1;
	}
	for (;;) {
		if (stat(path, &sb) == -1) {
			pg_err("%s: %s", path, strerror(errno));
			return -1;
		}
		if (sb.st_uid != pg->uid && !(sb.st_gid == pg->gid &&
		    (sb.st_mode & S_IXGRP)) && !(sb.st_mode & S_IXOTH)) {
			pg_err("the %s user cannot enter %s: put $TMPDIR "
			       "somewhere it can", PG_USER, path);
			return -1;
		}
		slash = strrchr(path, '/');
		if (slash == NULL || slash == path)
			break;
		*slash = '\0';
	}
	return 0;
}

/* Appends the server settings to data/postgresql.conf. */
static int
pg_configure(const struct aster_test_pg *pg)
{
	char conf[PATH_MAX + 32];
	FILE *f;
	const char *p;

	snprintf(conf, sizeof(conf), "%s/postgresql.conf", pg->data);
	f = fopen(conf, "a");
	if (f == NULL) {
		pg_err("%s: %s", conf, strerror(errno));
		return -1;
	}
	fprintf(f, "\n# aster_test_pg\nlisten_addresses = ''\n"
	        "port = %d\nunix_socket_directories = '", pg->port);
	for (p = pg->dir; *p != '\0'; p++) {
		if (*p == '\'')
			fputc('\'', f);
		fputc(*p, f);
	}
	fprintf(f, "'\nunix_socket_permissions = 0777\n"
	        "shared_buffers = 16MB\nmax_connections = 100\n"
	        "fsync = on\nlog_min_messages = warning\n");
	if (fclose(f) != 0) {
		pg_err("%s: %s", conf, strerror(errno));
		return -1;
	}
	return 0;
}

static int
pg_random_port(void)
{
	struct timespec ts;
	unsigned x;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 8) ^
	    (unsigned)ts.tv_sec;
	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return 20000 + (int)(x % 40000);
}

struct aster_test_pg *
aster_test_pg_start(void)
{
	const char *tmp = getenv("TMPDIR");
	struct aster_test_pg *pg = calloc(1, sizeof(*pg));
	char createdb_port[16], parent[PATH_MAX];
	char *initdb[] = {"initdb", "-D", NULL, "-U", "aster",
	                  "--auth=trust", "-E", "UTF8", "--locale=C",
	                  "--no-sync", NULL};
	char *createdb[] = {"createdb", "-h", NULL, "-p", createdb_port,
	                    "-U", "aster", "aster", NULL};

	if (pg == NULL) {
		pg_err("out of memory");
		return NULL;
	}
	pg->watch_fd = -1;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (pg_find_bindir(pg) != 0) {
		free(pg);
		return NULL;
	}
	snprintf(pg->dir, sizeof(pg->dir), "%s/aster-pg-XXXXXX", tmp);
	/* The socket path must fit in sun_path (108 bytes). */
	if (strlen(pg->dir) + sizeof("/.s.PGSQL.65535") > 107) {
		pg_err("%s: the directory's name is too long for a socket "
		       "path; use a shorter $TMPDIR", pg->dir);
		free(pg);
		return NULL;
	}
	if (mkdtemp(pg->dir) == NULL) {
		pg_err("mkdtemp %s: %s", pg->dir, strerror(errno));
		free(pg);
		return NULL;
	}
	snprintf(pg->data, sizeof(pg->data), "%s/data", pg->dir);
	pg->port = pg_random_port();
	snprintf(pg->dsn, sizeof(pg->dsn),
	         "host=%s port=%d user=aster dbname=aster", pg->dir, pg->port);

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(PG_USER);

		if (pw == NULL) {
			pg_err("running as root, the server must run as the "
			       "'%s' user, which does not exist (install the "
			       "postgresql package)", PG_USER);
			goto fail;
		}
		pg->as_user = 1;
		pg->uid = pw->pw_uid;
		pg->gid = pw->pw_gid;
		if (chown(pg->dir, pg->uid, pg->gid) == -1) {
			pg_err("chown %s: %s", pg->dir, strerror(errno));
			goto fail;
		}
		snprintf(parent, sizeof(parent), "%s", pg->dir);
		*strrchr(parent, '/') = '\0';
		if (pg_reachable(pg, parent) != 0)
			goto fail;
	}
	pg_watchdog_start(pg);

	initdb[2] = pg->data;
	if (pg_run(pg, initdb, 0, 0) != 0) {
		pg_err("initdb failed; is PostgreSQL installed? (set "
		       "$ASTER_TEST_PG_BINDIR to its bin directory)");
		goto fail;
	}
	if (pg_configure(pg) != 0 || pg_ctl_start(pg) != 0)
		goto fail;
	createdb[2] = pg->dir;
	snprintf(createdb_port, sizeof(createdb_port), "%d", pg->port);
	if (pg_run(pg, createdb, 1, 0) != 0)
		goto fail;
	return pg;
fail:
	aster_test_pg_free(pg);
	return NULL;
}

const char *
aster_test_pg_dsn(const struct aster_test_pg *pg)
{
	return pg->dsn;
}

int
aster_test_pg_stop_server(struct aster_test_pg *pg)
{
	return pg_ctl_stop(pg, "fast", 0);
}

int
aster_test_pg_start_server(struct aster_test_pg *pg)
{
	return pg_ctl_start(pg);
}

void
aster_test_pg_free(struct aster_test_pg *pg)
{
	if (pg == NULL)
		return;
	pg_shutdown(pg, 0);
	aster_test_remove_tree(pg->dir);
	pg_watchdog_dismiss(pg);
	free(pg);
}
