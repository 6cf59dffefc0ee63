/*
 * testing.c - the test helper library of aster/testing.h.
 *
 * A struct aster_test is one asterd child. Its stdout and stderr are
 * unlinked temporary files rather than pipes: nobody has to drain them
 * while a test is busy sending requests, and the whole log can be re-read
 * at any time with pread(). Start-up is a poll loop over the stdout file
 * and waitpid(WNOHANG), a few milliseconds per round.
 *
 * Sockets are non-blocking and every wait is a poll() against a deadline,
 * so no call can hang a test. The HTTP client is deliberately small:
 * HTTP/1.1, Content-Length or chunked or read-to-close bodies, 1xx
 * responses skipped.
 */
#include <aster/testing.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_READY_MS 10000
#define DEFAULT_STOP_MS 15000
#define DEFAULT_IO_MS 10000

struct test_listener {
	char *address;
	char *scopes;
	char *url;
};

struct aster_test {
	pid_t pid;
	int reaped;
	int exit_result;            /* as aster_test_wait() answers */
	int out_fd;                 /* the child's stdout file */
	int err_fd;                 /* the child's stderr file */
	char *out_text;             /* snapshots, re-read on demand */
	char *err_text;
	size_t out_parsed;          /* stdout bytes already parsed */
	int ready;
	struct test_listener *listeners;
	size_t nlisteners;
	int ready_timeout_ms;
	int stop_timeout_ms;
	int io_timeout_ms;
	char error[512];
};

struct aster_test_conn {
	int fd;
	int timeout_ms;
	char *host;                 /* for the Host header */
	char *buf;                  /* received, not consumed: buf[off..len) */
	size_t off, len, cap;
	int eof;
};

/* --- small utilities ------------------------------------------------------ */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Milliseconds left before deadline (0 when passed); deadline 0 means
 * none, answered as -1 (poll's infinity). */
static int
left_ms(uint64_t deadline)
{
	uint64_t now;

	if (deadline == 0)
		return -1;
	now = now_ms();
	if (now >= deadline)
		return 0;
	return deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

static uint64_t
deadline_after(int ms)
{
	return ms < 0 ? 0 : now_ms() + (uint64_t)ms;
}

static double
timeout_multiplier(void)
{
	const char *names[] = {"ASTER_TEST_TIMEOUT_MULTIPLIER",
	                       "CK_TIMEOUT_MULTIPLIER"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		char *end;
		double m;

		if (v == NULL || *v == '\0')
			continue;
		m = strtod(v, &end);
		if (*end == '\0' && m >= 1.0 && m <= 1000.0)
			return m;
	}
	return 1.0;
}

int
aster_test_timeout(int ms)
{
	double v = (double)ms * timeout_multiplier();

	return v > (double)INT_MAX ? INT_MAX : (int)v;
}

static void
set_error(struct aster_test *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct aster_test *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
}

static void
resp_error(struct aster_test_response *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
resp_error(struct aster_test_response *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* Reads the whole file behind fd into a fresh NUL-terminated string. */
static char *
read_whole(int fd, size_t *lenp)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf;

	if (fstat(fd, &st) == -1)
		return NULL;
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - 1 - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* A temporary file, already unlinked, open for reading and writing. */
static int
temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/aster-test-XXXXXX", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd == -1)
		return -1;
	unlink(path);
	return fd;
}

/* --- starting asterd ------------------------------------------------------- */

/* environ with the "NAME=VALUE" / "NAME" edits of extra applied. The
 * array is malloc'ed; its strings are borrowed. */
static char **
child_environment(const char *const *extra)
{
	size_t n = 0, m = 0, i, j;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (extra != NULL && extra[m] != NULL)
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	for (j = 0; j < m; j++) {
		const char *eq = strchr(extra[j], '=');
		size_t nlen = eq != NULL ? (size_t)(eq - extra[j])
		                         : strlen(extra[j]);
		size_t k, w;

		/* Drop every existing entry of that name. */
		for (k = 0, w = 0; k < n; k++) {
			if (strncmp(env[k], extra[j], nlen) == 0 &&
			    env[k][nlen] == '=')
				continue;
			env[w++] = env[k];
		}
		n = w;
		if (eq != NULL)
			env[n++] = (char *)extra[j];
		env[n] = NULL;
	}
	env[n] = NULL;
	return env;
}

/* In the child, between fork and exec: only what a single-threaded
 * parent makes safe. Never returns. */
static void
child_exec(const char *path, char **argv, char **envp, pid_t parent,
           int out_fd, int err_fd, int report_fd)
{
	sigset_t none;
	int sig, devnull, e;

	/* Die with the test: no stray daemons after a crashed test. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);

	devnull = open("/dev/null", O_RDONLY);
	if (devnull == -1 || dup2(devnull, 0) == -1 || dup2(out_fd, 1) == -1 ||
	    dup2(err_fd, 2) == -1)
		goto fail;
	/* Nothing of the test's (sockets, check's files) leaks into asterd;
	 * report_fd is close-on-exec already. */
#ifdef CLOSE_RANGE_CLOEXEC
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
#endif
	{
		int fd;

		for (fd = 3; fd < 4096; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	execve(path, argv, envp);
fail:
	e = errno;
	while (write(report_fd, &e, sizeof(e)) == -1 && errno == EINTR)
		;
	_exit(127);
}

struct aster_test *
aster_test_spawn(const char *config_dir, const struct aster_test_options *opts)
{
	static const struct aster_test_options defaults;
	const char *asterd, *argv_fixed[8];
	struct aster_test *t;
	char **argv = NULL, **envp = NULL;
	size_t nargs = 0, nextra = 0, i;
	int report[2] = {-1, -1};
	int saved, child_errno = 0;
	pid_t parent = getpid();
	ssize_t n;

	if (opts == NULL)
		opts = &defaults;
	asterd = opts->asterd;
	if (asterd == NULL)
		asterd = getenv("ASTERD");
	if (asterd == NULL || *asterd == '\0')
		asterd = "build/asterd";

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->pid = -1;
	t->out_fd = t->err_fd = -1;
	t->ready_timeout_ms = aster_test_timeout(
	    opts->ready_timeout_ms > 0 ? opts->ready_timeout_ms
	                               : DEFAULT_READY_MS);
	t->stop_timeout_ms = aster_test_timeout(
	    opts->stop_timeout_ms > 0 ? opts->stop_timeout_ms
	                              : DEFAULT_STOP_MS);
	t->io_timeout_ms = aster_test_timeout(
	    opts->io_timeout_ms > 0 ? opts->io_timeout_ms : DEFAULT_IO_MS);

	argv_fixed[nargs++] = asterd;
	argv_fixed[nargs++] = "-c";
	argv_fixed[nargs++] = config_dir;
	if (opts->module_path != NULL) {
		argv_fixed[nargs++] = "--module-path";
		argv_fixed[nargs++] = opts->module_path;
	}
	if (!opts->fixed_ports)
		argv_fixed[nargs++] = "--ephemeral-ports";
	while (opts->args != NULL && opts->args[nextra] != NULL)
		nextra++;
	argv = calloc(nargs + nextra + 1, sizeof(*argv));
	envp = child_environment(opts->env);
	if (argv == NULL || envp == NULL)
		goto fail;
	for (i = 0; i < nargs; i++)
		argv[i] = (char *)argv_fixed[i];
	for (i = 0; i < nextra; i++)
		argv[nargs + i] = (char *)opts->args[i];

	t->out_fd = temp_file();
	t->err_fd = temp_file();
	if (t->out_fd == -1 || t->err_fd == -1 ||
	    pipe2(report, O_CLOEXEC) == -1)
		goto fail;

	t->pid = fork();
	if (t->pid == -1)
		goto fail;
	if (t->pid == 0)
		child_exec(asterd, argv, envp, parent, t->out_fd,
		           opts->stderr_fd > 2 ? opts->stderr_fd : t->err_fd,
		           report[1]);
	close(report[1]);
	report[1] = -1;
	/* EOF: exec succeeded; an int: the child's errno. */
	do
		n = read(report[0], &child_errno, sizeof(child_errno));
	while (n == -1 && errno == EINTR);
	close(report[0]);
	report[0] = -1;
	free(argv);
	free(envp);
	argv = NULL;
	envp = NULL;
	if (n == (ssize_t)sizeof(child_errno)) {
		waitpid(t->pid, NULL, 0);
		t->pid = -1;
		errno = child_errno;
		goto fail;
	}
	return t;

fail:
	saved = errno;
	if (report[0] != -1)
		close(report[0]);
	if (report[1] != -1)
		close(report[1]);
	free(argv);
	free(envp);
	aster_test_free(t);
	errno = saved;
	return NULL;
}

/* "listening ADDRESS SCOPES" */
static int
add_listener(struct aster_test *t, const char *line)
{
	const char *addr = line + strlen("listening ");
	const char *sp = strchr(addr, ' ');
	struct test_listener *l, *nl;
	size_t alen;

	if (sp == NULL)
		return 0;               /* not the documented shape: ignore */
	nl = realloc(t->listeners, (t->nlisteners + 1) * sizeof(*nl));
	if (nl == NULL)
		return -1;
	t->listeners = nl;
	l = &t->listeners[t->nlisteners];
	alen = (size_t)(sp - addr);
	l->address = strndup(addr, alen);
	l->scopes = strdup(sp + 1);
	l->url = NULL;
	if (l->address != NULL) {
		if (strncmp(l->address, "unix:", 5) == 0) {
			l->url = strdup(l->address);
		} else if ((l->url = malloc(alen + 8)) != NULL) {
			memcpy(l->url, "http://", 7);
			memcpy(l->url + 7, l->address, alen + 1);
		}
	}
	if (l->address == NULL || l->scopes == NULL || l->url == NULL) {
		free(l->address);
		free(l->scopes);
		free(l->url);
		return -1;
	}
	t->nlisteners++;
	return 0;
}

/* Parses the complete stdout lines not seen yet. */
static void
parse_stdout(struct aster_test *t)
{
	char *text = read_whole(t->out_fd, NULL);
	char *line, *nl;

	if (text == NULL)
		return;
	free(t->out_text);
	t->out_text = text;
	line = text + t->out_parsed;
	while (!t->ready && (nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (strncmp(line, "listening ", 10) == 0)
			add_listener(t, line);
		else if (strcmp(line, "ready") == 0)
			t->ready = 1;
		*nl = '\n';
		t->out_parsed += (size_t)(nl - line) + 1;
		line = nl + 1;
	}
}

/* Reaps the child if it has exited; 1 if it has. */
static int
check_exited(struct aster_test *t, int flags)
{
	int st;
	pid_t r;

	if (t->reaped)
		return 1;
	if (t->pid <= 0)
		return 0;
	do
		r = waitpid(t->pid, &st, flags);
	while (r == -1 && errno == EINTR);
	if (r != t->pid)
		return 0;
	t->reaped = 1;
	if (WIFEXITED(st))
		t->exit_result = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		t->exit_result = 128 + WTERMSIG(st);
	else
		t->exit_result = 255;
	return 1;
}

int
aster_test_wait_ready(struct aster_test *t)
{
	uint64_t deadline = deadline_after(t->ready_timeout_ms);
	unsigned pause = 1;

	t->error[0] = '\0';
	for (;;) {
		parse_stdout(t);
		if (t->ready)
			return 0;
		if (check_exited(t, WNOHANG)) {
			parse_stdout(t);
			if (t->ready)
				return 0;
			set_error(t, "asterd exited with status %d before "
			          "printing 'ready'", t->exit_result);
			return -1;
		}
		if (left_ms(deadline) == 0) {
			set_error(t, "asterd printed no 'ready' within %d ms",
			          t->ready_timeout_ms);
			return -1;
		}
		sleep_ms(pause);
		if (pause < 10)
			pause++;
	}
}

static const struct test_listener *find_listener(const struct aster_test *t,
                                                 const char *scope);

int
aster_test_wait_address(struct aster_test *t, const char *scope)
{
	uint64_t deadline = deadline_after(t->ready_timeout_ms);
	unsigned pause = 1;

	t->error[0] = '\0';
	for (;;) {
		parse_stdout(t);
		if (find_listener(t, scope) != NULL)
			return 0;
		if (check_exited(t, WNOHANG)) {
			parse_stdout(t);
			if (find_listener(t, scope) != NULL)
				return 0;
			set_error(t, "asterd exited with status %d before "
			          "printing a listener for scope '%s'",
			          t->exit_result, scope);
			return -1;
		}
		if (t->ready) {
			set_error(t, "asterd is ready and no listener serves "
			          "scope '%s'", scope);
			return -1;
		}
		if (left_ms(deadline) == 0) {
			set_error(t, "asterd printed no listener for scope "
			          "'%s' within %d ms", scope, t->ready_timeout_ms);
			return -1;
		}
		sleep_ms(pause);
		if (pause < 10)
			pause++;
	}
}

struct aster_test *
aster_test_start(const char *config_dir, const struct aster_test_options *opts)
{
	struct aster_test *t = aster_test_spawn(config_dir, opts);

	if (t == NULL) {
		fprintf(stderr, "aster_test_start: %s: cannot start asterd: "
		        "%s\n", config_dir, strerror(errno));
		return NULL;
	}
	if (aster_test_wait_ready(t) == 0)
		return t;
	fprintf(stderr, "aster_test_start: %s: %s\n--- asterd stderr ---\n%s"
	        "--- end ---\n", config_dir, t->error, aster_test_stderr(t));
	aster_test_free(t);
	return NULL;
}

const char *
aster_test_error(const struct aster_test *t)
{
	return t->error;
}

pid_t
aster_test_pid(const struct aster_test *t)
{
	return t->pid;
}

static int
has_scope(const char *scopes, const char *scope)
{
	size_t n = strlen(scope);
	const char *p = scopes;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, scope, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static const struct test_listener *
find_listener(const struct aster_test *t, const char *scope)
{
	size_t i;

	for (i = 0; i < t->nlisteners; i++)
		if (has_scope(t->listeners[i].scopes, scope))
			return &t->listeners[i];
	return NULL;
}

const char *
aster_test_address(const struct aster_test *t, const char *scope)
{
	const struct test_listener *l = find_listener(t, scope);

	return l != NULL ? l->address : NULL;
}

const char *
aster_test_url(const struct aster_test *t, const char *scope)
{
	const struct test_listener *l = find_listener(t, scope);

	return l != NULL ? l->url : NULL;
}

size_t
aster_test_listener_count(const struct aster_test *t)
{
	return t->nlisteners;
}

const char *
aster_test_listener(const struct aster_test *t, size_t i, const char **scopes)
{
	if (i >= t->nlisteners)
		return NULL;
	if (scopes != NULL)
		*scopes = t->listeners[i].scopes;
	return t->listeners[i].address;
}

/* --- the process ----------------------------------------------------------- */

int
aster_test_signal(struct aster_test *t, int sig)
{
	if (t->pid <= 0 || t->reaped) {
		errno = ESRCH;
		set_error(t, "asterd is not running");
		return -1;
	}
	if (kill(t->pid, sig) == -1) {
		set_error(t, "kill: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
aster_test_wait(struct aster_test *t, int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms);
	unsigned pause = 1;

	if (t->pid <= 0)
		return -1;
	if (timeout_ms < 0)
		return check_exited(t, 0) ? t->exit_result : -1;
	for (;;) {
		if (check_exited(t, WNOHANG))
			return t->exit_result;
		if (left_ms(deadline) == 0)
			return -1;
		sleep_ms(pause);
		if (pause < 10)
			pause++;
	}
}

int
aster_test_stop(struct aster_test *t)
{
	int r;

	if (t->pid <= 0)
		return -1;
	if (t->reaped)
		return t->exit_result;
	kill(t->pid, SIGTERM);
	r = aster_test_wait(t, t->stop_timeout_ms);
	if (r >= 0)
		return r;
	set_error(t, "asterd did not exit within %d ms of SIGTERM; killed",
	          t->stop_timeout_ms);
	kill(t->pid, SIGKILL);
	check_exited(t, 0);
	return t->exit_result;
}

const char *
aster_test_stderr(struct aster_test *t)
{
	char *text = t->err_fd != -1 ? read_whole(t->err_fd, NULL) : NULL;

	if (text != NULL) {
		free(t->err_text);
		t->err_text = text;
	}
	return t->err_text != NULL ? t->err_text : "";
}

const char *
aster_test_stdout(struct aster_test *t)
{
	char *text = t->out_fd != -1 ? read_whole(t->out_fd, NULL) : NULL;

	if (text != NULL) {
		free(t->out_text);
		t->out_text = text;
	}
	return t->out_text != NULL ? t->out_text : "";
}

int
aster_test_wait_stderr(struct aster_test *t, const char *text, int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms);

	for (;;) {
		if (strstr(aster_test_stderr(t), text) != NULL)
			return 0;
		if (left_ms(deadline) == 0) {
			set_error(t, "'%s' did not appear in asterd's stderr "
			          "within %d ms", text, timeout_ms);
			return -1;
		}
		sleep_ms(5);
	}
}

void
aster_test_free(struct aster_test *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->pid > 0 && !t->reaped) {
		kill(t->pid, SIGKILL);
		check_exited(t, 0);
	}
	if (t->out_fd != -1)
		close(t->out_fd);
	if (t->err_fd != -1)
		close(t->err_fd);
	for (i = 0; i < t->nlisteners; i++) {
		free(t->listeners[i].address);
		free(t->listeners[i].scopes);
		free(t->listeners[i].url);
	}
	free(t->listeners);
	free(t->out_text);
	free(t->err_text);
	free(t);
}

/* --- connections ----------------------------------------------------------- */

/* Waits until fd is ready for events or deadline: 1 ready, 0 timeout,
 * -1 error. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {fd, events, 0};
	int r;

	do
		r = poll(&p, 1, left_ms(deadline));
	while (r == -1 && errno == EINTR);
	return r;
}

/*
 * Resolves an address as asterd prints it. A wildcard address is reached
 * through the loopback address of its family.
 */
static int
address_sockaddr(const char *address, struct sockaddr_storage *ss,
                 socklen_t *sslen)
{
	char host[256];
	const char *port, *colon;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(address, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		size_t plen = strlen(address + 5);

		if (plen == 0 || plen >= sizeof(sun->sun_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, address + 5, plen + 1);
		*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		                     plen + 1);
		return 0;
	}
	if (address[0] == '[') {
		const char *close = strchr(address, ']');

		if (close == NULL || close[1] != ':')
			goto invalid;
		hlen = (size_t)(close - address - 1);
		if (hlen >= sizeof(host))
			goto invalid;
		memcpy(host, address + 1, hlen);
		port = close + 2;
	} else {
		colon = strrchr(address, ':');
		if (colon == NULL)
			goto invalid;
		hlen = (size_t)(colon - address);
		if (hlen >= sizeof(host))
			goto invalid;
		memcpy(host, address, hlen);
		port = colon + 1;
	}
	host[hlen] = '\0';
	{
		char *end;
		long p = strtol(port, &end, 10);
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		struct addrinfo hints, *res = NULL;

		if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
			goto invalid;
		if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
			strcpy(host, "127.0.0.1");
		else if (strcmp(host, "::") == 0)
			strcpy(host, "::1");
		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)p);
			*sslen = sizeof(*sin);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)p);
			*sslen = sizeof(*sin6);
			return 0;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
			goto invalid;
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		*sslen = res->ai_addrlen;
		freeaddrinfo(res);
		return 0;
	}
invalid:
	errno = EINVAL;
	return -1;
}

struct aster_test_conn *
aster_test_connect_address(const char *address, int io_timeout_ms)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct aster_test_conn *c;
	uint64_t deadline;
	int saved;

	if (address_sockaddr(address, &ss, &sslen) == -1)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->timeout_ms = io_timeout_ms > 0 ? io_timeout_ms
	                                  : aster_test_timeout(DEFAULT_IO_MS);
	c->host = strdup(strncmp(address, "unix:", 5) == 0 ? "localhost"
	                                                    : address);
	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	               0);
	if (c->host == NULL || c->fd == -1)
		goto fail;
	if (ss.ss_family != AF_UNIX) {
		int one = 1;

		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	deadline = deadline_after(c->timeout_ms);
	if (connect(c->fd, (struct sockaddr *)&ss, sslen) == -1) {
		int err = 0;
		socklen_t elen = sizeof(err);
		int r;

		if (errno != EINPROGRESS && errno != EAGAIN)
			goto fail;
		r = wait_fd(c->fd, POLLOUT, deadline);
		if (r == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (r < 0 ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	return c;

fail:
	saved = errno;
	aster_test_conn_close(c);
	errno = saved;
	return NULL;
}

struct aster_test_conn *
aster_test_connect(struct aster_test *t, const char *scope)
{
	const char *address = aster_test_address(t, scope);
	struct aster_test_conn *c;

	if (address == NULL) {
		set_error(t, "no listener serves scope '%s'", scope);
		errno = ENOENT;
		return NULL;
	}
	c = aster_test_connect_address(address, t->io_timeout_ms);
	if (c == NULL)
		set_error(t, "connect to %s: %s", address, strerror(errno));
	return c;
}

void
aster_test_conn_set_timeout(struct aster_test_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

int
aster_test_conn_fd(const struct aster_test_conn *c)
{
	return c->fd;
}

void
aster_test_conn_close(struct aster_test_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c->host);
	free(c->buf);
	free(c);
}

int
aster_test_conn_send(struct aster_test_conn *c, const void *bytes, size_t len)
{
	const char *p = bytes;
	uint64_t deadline = deadline_after(c->timeout_ms);

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = wait_fd(c->fd, POLLOUT, deadline);

			if (r == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (r < 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

/* Reads more bytes into c->buf before deadline: bytes read, 0 at EOF,
 * -1 on error or timeout (errno ETIMEDOUT). */
static long
fill(struct aster_test_conn *c, uint64_t deadline)
{
	if (c->eof)
		return 0;
	if (c->off > 0 && c->off == c->len)
		c->off = c->len = 0;
	if (c->cap - c->len < 16384) {
		size_t ncap = c->cap < 65536 ? 65536 : c->cap * 2;
		char *nb;

		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->cap - c->len < 16384) {
			nb = realloc(c->buf, ncap);
			if (nb == NULL)
				return -1;
			c->buf = nb;
			c->cap = ncap;
		}
	}
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		int r;

		if (n > 0) {
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			return (long)n;
		}
		if (n == 0) {
			c->eof = 1;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		r = wait_fd(c->fd, POLLIN, deadline);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0)
			return -1;
	}
}

long
aster_test_conn_read(struct aster_test_conn *c, void *buf, size_t len,
                     int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms < 0 ? c->timeout_ms
	                                                  : timeout_ms);
	size_t avail;

	if (c->len == c->off) {
		long n = fill(c, deadline);

		if (n <= 0)
			return n;
	}
	avail = c->len - c->off;
	if (avail > len)
		avail = len;
	memcpy(buf, c->buf + c->off, avail);
	c->off += avail;
	return (long)avail;
}

int
aster_test_conn_closed(struct aster_test_conn *c, int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms < 0 ? c->timeout_ms
	                                                  : timeout_ms);
	long n;

	if (c->len > c->off)
		return 0;
	if (c->eof)
		return 1;
	n = fill(c, deadline);
	if (n == 0)
		return 1;
	if (n > 0)
		return 0;
	return errno == ETIMEDOUT ? 0 : 1;
}

/* --- responses ------------------------------------------------------------- */

void
aster_test_response_free(struct aster_test_response *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->reason);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *
aster_test_header(const struct aster_test_response *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

size_t
aster_test_header_count(const struct aster_test_response *r, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			n++;
	return n;
}

/* Offset just past the blank line ending the head in c->buf, or 0. */
static size_t
head_end(const struct aster_test_conn *c)
{
	const char *s = c->buf + c->off;
	size_t n = c->len - c->off, i;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != '\n')
			continue;
		if (s[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static char *
trimmed_dup(const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	                   s[len - 1] == '\r'))
		len--;
	return strndup(s, len);
}

/* Parses the head (status line and headers) of length hlen at c->buf +
 * c->off into r. */
static int
parse_head(struct aster_test_conn *c, size_t hlen,
           struct aster_test_response *r)
{
	const char *p = c->buf + c->off, *end = p + hlen;
	const char *eol = memchr(p, '\n', hlen);
	char *endnum;
	long status;

	if (eol == NULL || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') {
		resp_error(r, "malformed status line");
		return -1;
	}
	status = strtol(p + 9, &endnum, 10);
	if (endnum != p + 12 || status < 100 || status > 999) {
		resp_error(r, "malformed status code");
		return -1;
	}
	r->status = (int)status;
	r->reason = trimmed_dup(endnum, (size_t)(eol - endnum));
	if (r->reason == NULL)
		goto nomem;
	p = eol + 1;
	while (p < end) {
		const char *colon;
		struct aster_test_header *nh;

		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if (eol == p || (eol == p + 1 && *p == '\r'))
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL || colon == p) {
			resp_error(r, "malformed header line");
			return -1;
		}
		nh = realloc(r->headers, (r->nheaders + 1) * sizeof(*nh));
		if (nh == NULL)
			goto nomem;
		r->headers = nh;
		nh[r->nheaders].name = strndup(p, (size_t)(colon - p));
		nh[r->nheaders].value = trimmed_dup(colon + 1,
		                                    (size_t)(eol - colon - 1));
		r->nheaders++;
		if (nh[r->nheaders - 1].name == NULL ||
		    nh[r->nheaders - 1].value == NULL)
			goto nomem;
		p = eol + 1;
	}
	return 0;
nomem:
	resp_error(r, "out of memory");
	return -1;
}

/* Takes n bytes off the front of c's buffer into r->body. */
static int
take_body(struct aster_test_conn *c, size_t n, struct aster_test_response *r)
{
	char *nb = realloc(r->body, r->body_len + n + 1);

	if (nb == NULL) {
		resp_error(r, "out of memory");
		return -1;
	}
	r->body = nb;
	memcpy(r->body + r->body_len, c->buf + c->off, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	c->off += n;
	return 0;
}

/* Makes sure at least n unread bytes are buffered. */
static int
need(struct aster_test_conn *c, size_t n, uint64_t deadline,
     struct aster_test_response *r)
{
	while (c->len - c->off < n) {
		long got = fill(c, deadline);

		if (got == 0) {
			resp_error(r, "connection closed in the middle of "
			           "the response");
			return -1;
		}
		if (got < 0) {
			resp_error(r, "reading the response: %s",
			           strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* One line (without CRLF) of a chunked body, at most 1024 bytes. */
static int
chunk_line(struct aster_test_conn *c, char *line, size_t size,
           uint64_t deadline, struct aster_test_response *r)
{
	for (;;) {
		char *s = c->buf + c->off;
		char *nl = memchr(s, '\n', c->len - c->off);

		if (nl != NULL) {
			size_t len = (size_t)(nl - s);

			if (len > 0 && s[len - 1] == '\r')
				len--;
			if (len >= size) {
				resp_error(r, "chunk line too long");
				return -1;
			}
			memcpy(line, s, len);
			line[len] = '\0';
			c->off += (size_t)(nl - s) + 1;
			return 0;
		}
		if (c->len - c->off > size) {
			resp_error(r, "chunk line too long");
			return -1;
		}
		if (need(c, c->len - c->off + 1, deadline, r) == -1)
			return -1;
	}
}

static int
read_chunked(struct aster_test_conn *c, uint64_t deadline,
             struct aster_test_response *r)
{
	char line[1024];

	for (;;) {
		unsigned long long size;
		char *end;

		if (chunk_line(c, line, sizeof(line), deadline, r) == -1)
			return -1;
		size = strtoull(line, &end, 16);
		if (end == line || (*end != '\0' && *end != ';' &&
		                    *end != ' ' && *end != '\t')) {
			resp_error(r, "malformed chunk size '%s'", line);
			return -1;
		}
		if (size == 0)
			break;
		if (size > (1ull << 32)) {
			resp_error(r, "chunk too large");
			return -1;
		}
		if (need(c, (size_t)size, deadline, r) == -1 ||
		    take_body(c, (size_t)size, r) == -1 ||
		    chunk_line(c, line, sizeof(line), deadline, r) == -1)
			return -1;
		if (line[0] != '\0') {
			resp_error(r, "chunk not followed by CRLF");
			return -1;
		}
	}
	/* Trailers, up to the blank line. */
	do
		if (chunk_line(c, line, sizeof(line), deadline, r) == -1)
			return -1;
	while (line[0] != '\0');
	return 0;
}

int
aster_test_conn_read_response(struct aster_test_conn *c, int head,
                              struct aster_test_response *out)
{
	uint64_t deadline = deadline_after(c->timeout_ms);
	const char *te, *cl;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	for (;;) {
		while ((hlen = head_end(c)) == 0) {
			long got = fill(c, deadline);

			if (got == 0) {
				resp_error(out, c->len == c->off
				           ? "connection closed without a response"
				           : "connection closed in the middle of "
				             "the response head");
				return -1;
			}
			if (got < 0) {
				resp_error(out, "reading the response: %s",
				           strerror(errno));
				return -1;
			}
		}
		if (parse_head(c, hlen, out) == -1) {
			out->status = 0;
			return -1;
		}
		c->off += hlen;
		if (out->status >= 200 || out->status == 101)
			break;
		/* An interim response: the real one follows. */
		aster_test_response_free(out);
	}

	out->body = calloc(1, 1);
	if (out->body == NULL) {
		resp_error(out, "out of memory");
		goto fail;
	}
	if (head || out->status == 204 || out->status == 304 ||
	    out->status == 101)
		return 0;
	te = aster_test_header(out, "Transfer-Encoding");
	cl = aster_test_header(out, "Content-Length");
	if (te != NULL && strcasestr(te, "chunked") != NULL) {
		if (read_chunked(c, deadline, out) == -1)
			goto fail;
	} else if (cl != NULL) {
		char *end;
		unsigned long long n = strtoull(cl, &end, 10);

		if (end == cl || *end != '\0') {
			resp_error(out, "malformed Content-Length '%s'", cl);
			goto fail;
		}
		if (need(c, (size_t)n, deadline, out) == -1 ||
		    take_body(c, (size_t)n, out) == -1)
			goto fail;
	} else {
		long got;

		while ((got = fill(c, deadline)) > 0)
			;
		if (got < 0) {
			resp_error(out, "reading the response: %s",
			           strerror(errno));
			goto fail;
		}
		if (take_body(c, c->len - c->off, out) == -1)
			goto fail;
	}
	return 0;
fail:
	out->status = 0;
	return -1;
}

/* Is the header named name among headers? */
static int
has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 &&
		    (*headers)[n] == ':')
			return 1;
	return 0;
}

/* Builds and sends one request. */
static int
send_request(struct aster_test_conn *c, const char *method, const char *path,
             const char *const *headers, const void *body, size_t len,
             int close_after, struct aster_test_response *out)
{
	size_t cap = strlen(method) + strlen(path) + strlen(c->host) + 128;
	const char *const *h;
	char *req, *p;
	int rc;

	for (h = headers; h != NULL && *h != NULL; h++)
		cap += strlen(*h) + 2;
	req = malloc(cap);
	if (req == NULL) {
		resp_error(out, "out of memory");
		return -1;
	}
	p = req;
	p += sprintf(p, "%s %s HTTP/1.1\r\n", method, path);
	if (!has_header(headers, "Host"))
		p += sprintf(p, "Host: %s\r\n", c->host);
	if (close_after && !has_header(headers, "Connection"))
		p += sprintf(p, "Connection: close\r\n");
	if (body != NULL && !has_header(headers, "Content-Length") &&
	    !has_header(headers, "Transfer-Encoding"))
		p += sprintf(p, "Content-Length: %zu\r\n", len);
	for (h = headers; h != NULL && *h != NULL; h++)
		p += sprintf(p, "%s\r\n", *h);
	p += sprintf(p, "\r\n");
	rc = aster_test_conn_send(c, req, (size_t)(p - req));
	if (rc == 0 && body != NULL && len > 0)
		rc = aster_test_conn_send(c, body, len);
	free(req);
	if (rc == -1) {
		int saved = errno;

		resp_error(out, "sending the request: %s", strerror(saved));
		/* The server may have answered (413, 431) and closed before
		 * taking it all: the answer is still there to read. */
		if (saved == EPIPE || saved == ECONNRESET)
			return 0;
	}
	return rc;
}

int
aster_test_conn_request(struct aster_test_conn *c, const char *method,
                        const char *path, const char *const *headers,
                        const void *body, size_t len,
                        struct aster_test_response *out)
{
	memset(out, 0, sizeof(*out));
	if (send_request(c, method, path, headers, body, len, 0, out) == -1)
		return -1;
	return aster_test_conn_read_response(c, strcmp(method, "HEAD") == 0,
	                                     out);
}

int
aster_test_request(struct aster_test *t, const char *scope,
                   const char *method, const char *path,
                   const char *const *headers, const void *body, size_t len,
                   struct aster_test_response *out)
{
	struct aster_test_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	c = aster_test_connect(t, scope);
	if (c == NULL) {
		resp_error(out, "%s", t->error);
		return -1;
	}
	rc = send_request(c, method, path, headers, body, len, 1, out);
	if (rc == 0)
		rc = aster_test_conn_read_response(c, strcmp(method, "HEAD") == 0,
		                                   out);
	aster_test_conn_close(c);
	return rc;
}

int
aster_test_raw(struct aster_test *t, const char *scope, const void *bytes,
               size_t len, struct aster_test_response *out)
{
	struct aster_test_conn *c;
	int rc;

	memset(out, 0, sizeof(*out));
	c = aster_test_connect(t, scope);
	if (c == NULL) {
		resp_error(out, "%s", t->error);
		return -1;
	}
	(void)aster_test_conn_send(c, bytes, len);
	/* The server may answer and close before taking every byte (an
	 * oversized head): a failed send still leaves a response to read. */
	rc = aster_test_conn_read_response(c, 0, out);
	aster_test_conn_close(c);
	return rc;
}

/* --- files ----------------------------------------------------------------- */

static int
copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in == -1)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
	if (out == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		char *p = buf;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			break;
		}
		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = -1;
				break;
			}
			p += w;
			n -= w;
		}
		if (rc == -1)
			break;
	}
	close(in);
	if (close(out) == -1)
		rc = -1;
	return rc;
}

static int
copy_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return -1;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char from[PATH_MAX], to[PATH_MAX];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(from, sizeof(from), "%s/%s", src, e->d_name) >=
		        (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", dst, e->d_name) >=
		        (int)sizeof(to) ||
		    lstat(from, &st) == -1) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(to, 0755) == -1 || copy_tree(from, to) == -1)
				rc = -1;
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(from, target, sizeof(target) - 1);

			if (n < 0)
				rc = -1;
			else {
				target[n] = '\0';
				rc = symlink(target, to);
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(from, to, st.st_mode);
		}
		/* Sockets, fifos and devices are not copied. */
	}
	closedir(d);
	return rc;
}

char *
aster_test_copy_dir(const char *src)
{
	const char *tmp = getenv("TMPDIR");
	char *dir;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if (asprintf(&dir, "%s/aster-test-conf-XXXXXX", tmp) == -1)
		return NULL;
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	if (copy_tree(src, dir) == -1) {
		int saved = errno;

		aster_test_remove_tree(dir);
		free(dir);
		errno = saved;
		return NULL;
	}
	return dir;
}

/* mkdir -p of the directory part of path. */
static int
make_parents(char *path)
{
	char *slash;

	for (slash = strchr(path + 1, '/'); slash != NULL;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			*slash = '/';
			return -1;
		}
		*slash = '/';
	}
	return 0;
}

int
aster_test_write_file(const char *dir, const char *relpath, const char *text,
                      long len)
{
	char *path = NULL, *tmp = NULL;
	size_t n = len < 0 ? strlen(text) : (size_t)len;
	int fd = -1, rc = -1;
	const char *p = text;

	if (asprintf(&path, "%s/%s", dir, relpath) == -1) {
		path = NULL;
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp%ld", path, (long)getpid()) == -1) {
		tmp = NULL;
		goto out;
	}
	if (make_parents(path) == -1)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto out;
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		p += w;
		n -= (size_t)w;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

int
aster_test_remove_file(const char *dir, const char *relpath)
{
	char *path;
	int rc;

	if (asprintf(&path, "%s/%s", dir, relpath) == -1)
		return -1;
	rc = unlink(path);
	free(path);
	return rc;
}

static int
remove_entry(const char *path, const struct stat *st, int type,
             struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

int
aster_test_remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
