/*
 * aster/testing.h - start a product in a child process and talk to it.
 *
 * For product authors and for asterd's own integration tests (SPEC §15).
 * The library runs the real asterd binary on a config dir with
 * --ephemeral-ports, so every TCP listener takes a free port, reads the
 * `listening ADDRESS SCOPES` lines asterd prints on stdout until `ready`,
 * and then speaks plain HTTP/1.1 (TCP or unix sockets) to the listener
 * serving a given scope:
 *
 *     struct aster_test *t = aster_test_start("conf.d", NULL);
 *     struct aster_test_response r;
 *
 *     if (t == NULL)
 *         abort();                  // the reason went to stderr
 *     if (aster_test_request(t, "public", "GET", "/gateway/v1/health",
 *                            NULL, NULL, 0, &r) == 0 && r.status == 200)
 *         puts(r.body);
 *     aster_test_response_free(&r);
 *     printf("exit %d\n", aster_test_stop(t));  // SIGTERM, wait
 *     aster_test_free(t);
 *
 * Link with libastertest.a (the build puts it in build/). There is no
 * global state: several products can run at once, each from its own
 * struct aster_test. asterd's stdout and stderr go to unlinked temporary
 * files, so a chatty daemon never blocks on a full pipe, and the whole log
 * stays readable with aster_test_stderr(). On Linux the child is killed
 * when the thread that started it dies, so a crashed test leaves no
 * daemon behind.
 *
 * Functions returning int answer 0 on success and -1 on failure unless
 * they say otherwise. Every wait is bounded; the timeouts below are
 * multiplied by $ASTER_TEST_TIMEOUT_MULTIPLIER, else by
 * $CK_TIMEOUT_MULTIPLIER (for sanitizer builds), when set.
 */
#ifndef ASTER_TESTING_H
#define ASTER_TESTING_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct aster_test;
struct aster_test_conn;

/* How to start asterd. A NULL options pointer, or a zeroed struct, takes
 * every default. */
struct aster_test_options {
	/* The asterd binary: NULL for $ASTERD, else "build/asterd". */
	const char *asterd;
	/* Passed as --module-path; NULL passes nothing, so asterd uses
	 * $ASTER_MODULE_PATH or its default. */
	const char *module_path;
	/* Extra environment for the child, NULL-terminated: "NAME=VALUE"
	 * sets, "NAME" alone unsets. May be NULL. */
	const char *const *env;
	/* Extra command line arguments after the ones above,
	 * NULL-terminated. May be NULL. */
	const char *const *args;
	/* How long to wait for `ready`: 0 for 10000 ms. */
	int ready_timeout_ms;
	/* How long aster_test_stop() waits after SIGTERM before SIGKILL:
	 * 0 for 15000 ms. */
	int stop_timeout_ms;
	/* Default for every socket read and write: 0 for 10000 ms. */
	int io_timeout_ms;
	/* 1: leave out --ephemeral-ports, so listeners bind the ports the
	 * config names. asterd then need not print its listeners or
	 * `ready`: pair it with aster_test_spawn() and aster_test_wait(),
	 * e.g. to see start-up fail on a port that is taken. */
	int fixed_ports;
	/* 0: asterd's stderr goes to a temporary file, as described at the
	 * top. Else a descriptor (> 2) of the caller's that becomes
	 * asterd's stderr, e.g. the write end of a pipe, to see how asterd
	 * copes with a slow or stuck log reader; aster_test_stderr() then
	 * answers "" and a failed start cannot show the log. The caller
	 * keeps and closes its descriptor. */
	int stderr_fd;
};

/*
 * Starts asterd on config_dir and waits for `ready`. Returns the running
 * instance, or NULL when asterd exited, timed out (it is then killed) or
 * could not be started: the reason and asterd's captured stderr are
 * written to this process's stderr. Free the result with
 * aster_test_free().
 */
struct aster_test *aster_test_start(const char *config_dir,
                                    const struct aster_test_options *opts);

/*
 * The two halves of aster_test_start(), for tests that expect start-up to
 * fail. aster_test_spawn() only starts the process (NULL if fork or exec
 * set-up failed; errno says why). aster_test_wait_ready() waits for
 * `ready`: 0 once seen, -1 if asterd exited first or the ready timeout
 * passed (asterd is left running then); aster_test_error() says which.
 */
struct aster_test *aster_test_spawn(const char *config_dir,
                                    const struct aster_test_options *opts);
int aster_test_wait_ready(struct aster_test *t);

/* Waits, up to the ready timeout, until a listener serving scope has been
 * printed, without waiting for `ready`: to probe a product while its
 * modules are still starting (aster_test_spawn() first). 0, or -1 when
 * asterd exited or the time passed. */
int aster_test_wait_address(struct aster_test *t, const char *scope);

/* Why the last failed call on t failed, "" when none did. Valid until
 * the next call on t. */
const char *aster_test_error(const struct aster_test *t);

/* The child's process id. */
pid_t aster_test_pid(const struct aster_test *t);

/*
 * The first listener (in stdout order) that serves scope ("public",
 * "user", "admin", "internal"): its address as asterd printed it
 * ("127.0.0.1:41231", "[::1]:5000", "unix:/run/x.sock"), or, for
 * aster_test_url(), "http://ADDRESS" for TCP and the address itself for
 * unix. NULL when no listener serves the scope. The strings live as long
 * as t.
 */
const char *aster_test_address(const struct aster_test *t, const char *scope);
const char *aster_test_url(const struct aster_test *t, const char *scope);

/* Listeners seen, and the i-th one's address and comma-separated scopes
 * as printed (NULL past the end). */
size_t aster_test_listener_count(const struct aster_test *t);
const char *aster_test_listener(const struct aster_test *t, size_t i,
                                const char **scopes);

/* --- requests ---------------------------------------------------------- */

struct aster_test_header {
	char *name;
	char *value;
};

/*
 * A parsed response. Everything is owned by the struct: release it with
 * aster_test_response_free() (also after a failed call, which leaves
 * status 0 and the reason in error).
 */
struct aster_test_response {
	int status;                 /* 0: no response */
	char *reason;
	struct aster_test_header *headers;   /* in the order received */
	size_t nheaders;
	char *body;                 /* body_len bytes, plus a NUL */
	size_t body_len;
	char error[256];
};

/* First value of header name (case-insensitive), or NULL. */
const char *aster_test_header(const struct aster_test_response *r,
                              const char *name);

/* Number of header lines named name (case-insensitive). */
size_t aster_test_header_count(const struct aster_test_response *r,
                               const char *name);

void aster_test_response_free(struct aster_test_response *r);

/*
 * One request on a new connection to the listener serving scope, then
 * close. headers: "Name: value" strings, NULL-terminated, or NULL. Host,
 * Connection: close and, when body is not NULL, Content-Length are added
 * unless headers set them. Returns 0 when a response was read (any
 * status), -1 otherwise (out->error says why). out is always filled and
 * must be freed.
 */
int aster_test_request(struct aster_test *t, const char *scope,
                       const char *method, const char *path,
                       const char *const *headers, const void *body,
                       size_t len, struct aster_test_response *out);

/*
 * Sends len raw bytes on a new connection to the listener serving scope
 * and reads one response (as to a request that is not HEAD), then closes.
 * For malformed, oversized, partial or pipelined input. Returns as
 * aster_test_request().
 */
int aster_test_raw(struct aster_test *t, const char *scope,
                   const void *bytes, size_t len,
                   struct aster_test_response *out);

/* --- connections -------------------------------------------------------- */

/* Connects to the listener serving scope; NULL on failure (see
 * aster_test_error()). */
struct aster_test_conn *aster_test_connect(struct aster_test *t,
                                           const char *scope);

/* Connects to an address as printed by asterd ("127.0.0.1:8080",
 * "[::1]:80", "unix:/path"), io_timeout_ms as in the options (0: default).
 * NULL on failure, errno set. */
struct aster_test_conn *aster_test_connect_address(const char *address,
                                                   int io_timeout_ms);

/* Sends a request on c, keeping the connection open (headers as for
 * aster_test_request(), without the added Connection: close), and reads
 * its response. */
int aster_test_conn_request(struct aster_test_conn *c, const char *method,
                            const char *path, const char *const *headers,
                            const void *body, size_t len,
                            struct aster_test_response *out);

/* Writes all len bytes; -1 on error or timeout. Never raises SIGPIPE. */
int aster_test_conn_send(struct aster_test_conn *c, const void *bytes,
                         size_t len);

/* Reads the next response on c (bytes left over from an earlier read are
 * used first, so pipelined responses come out one by one). head: the
 * request was HEAD, so no body follows. */
int aster_test_conn_read_response(struct aster_test_conn *c, int head,
                                  struct aster_test_response *out);

/* Reads whatever arrives, up to len bytes, waiting at most timeout_ms
 * (negative: the connection's timeout): the byte count, 0 when the peer
 * closed, -1 on error or timeout. */
long aster_test_conn_read(struct aster_test_conn *c, void *buf, size_t len,
                          int timeout_ms);

/* 1 when the peer closed the connection (or reset it) within timeout_ms
 * (negative: the connection's timeout); 0 when it is still open then, or
 * data arrived (that data is kept for the next read). */
int aster_test_conn_closed(struct aster_test_conn *c, int timeout_ms);

/* Changes the connection's read/write timeout. */
void aster_test_conn_set_timeout(struct aster_test_conn *c, int timeout_ms);

/* The socket, for options and fine-grained I/O. Reading it directly
 * bypasses bytes the connection has buffered already. */
int aster_test_conn_fd(const struct aster_test_conn *c);

void aster_test_conn_close(struct aster_test_conn *c);

/* --- the process -------------------------------------------------------- */

/* Sends sig to asterd. */
int aster_test_signal(struct aster_test *t, int sig);

/*
 * Waits up to timeout_ms for asterd to exit (negative: wait forever).
 * Returns its exit code (0-255), 128 + N when signal N killed it, or -1
 * when it is still running at the end. Repeated calls after the exit
 * answer the same.
 */
int aster_test_wait(struct aster_test *t, int timeout_ms);

/* SIGTERM, then aster_test_wait() for the stop timeout; SIGKILL if that
 * passes (the result is then 128 + SIGKILL). Returns as aster_test_wait(). */
int aster_test_stop(struct aster_test *t);

/* Everything asterd wrote to stderr (or stdout) so far, NUL-terminated.
 * Valid until the next call on t. */
const char *aster_test_stderr(struct aster_test *t);
const char *aster_test_stdout(struct aster_test *t);

/* Waits up to timeout_ms for text to appear in stderr: 0 once it has,
 * -1 otherwise. */
int aster_test_wait_stderr(struct aster_test *t, const char *text,
                           int timeout_ms);

/* Kills asterd if it still runs (SIGKILL), reaps it, frees t. NULL is
 * fine. */
void aster_test_free(struct aster_test *t);

/* --- files -------------------------------------------------------------- */

/*
 * Copies the directory tree src (regular files, directories, symbolic
 * links as links) into a new directory under $TMPDIR (else /tmp). Returns
 * its path (malloc'ed) or NULL. For tests that edit a config and reload.
 */
char *aster_test_copy_dir(const char *src);

/* Writes len bytes (len < 0: strlen(text)) to dir/relpath, creating
 * parent directories; replaces the file atomically (rename). */
int aster_test_write_file(const char *dir, const char *relpath,
                          const char *text, long len);

/* Removes dir/relpath (a file). */
int aster_test_remove_file(const char *dir, const char *relpath);

/* Removes a directory tree (no error if it is missing). */
int aster_test_remove_tree(const char *path);

/* Scales a timeout by the multiplier described at the top. */
int aster_test_timeout(int ms);

/* --- a throwaway PostgreSQL --------------------------------------------- */

/*
 * For tests of products whose state store is PostgreSQL. A fresh cluster
 * is made with initdb in a new directory under $TMPDIR (else /tmp) and
 * served on a Unix socket in that directory only (no TCP). initdb refuses
 * to run as root, so as root the server runs as the `postgres` system
 * user (the Debian package creates it), which must be able to enter
 * $TMPDIR: a $TMPDIR of the caller's that others cannot enter (mktemp -d)
 * is given search permission for them. The binaries are looked up in
 * $ASTER_TEST_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin, else
 * PATH. Nothing is ever skipped: when PostgreSQL is missing or will not
 * start, the start fails with the reason on stderr, and the test fails.
 *
 * fsync stays on, so a test that stops the server finds what was
 * committed. Should the test process die without aster_test_pg_free()
 * (a failed check assertion in fork mode, a signal), a watchdog process
 * stops the server and removes the cluster.
 */
struct aster_test_pg;

/* Creates and starts a cluster with a superuser `aster` (trust auth on
 * the socket) and a database `aster`. NULL on failure. */
struct aster_test_pg *aster_test_pg_start(void);

/* A libpq connection string for it ("host=DIR port=N user=aster
 * dbname=aster"). Valid until aster_test_pg_free(). */
const char *aster_test_pg_dsn(const struct aster_test_pg *pg);

/* Stops the server with a fast shutdown (open connections are cut), and
 * starts it again on the same data and socket: for fault tests. Each
 * waits until the server is down or accepts connections. */
int aster_test_pg_stop_server(struct aster_test_pg *pg);
int aster_test_pg_start_server(struct aster_test_pg *pg);

/* Stops the server if it runs and removes the cluster. NULL is fine. */
void aster_test_pg_free(struct aster_test_pg *pg);

#ifdef __cplusplus
}
#endif

#endif
