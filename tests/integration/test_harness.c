/*
 * test_harness.c - the test helper library itself (aster/testing.h).
 *
 * No asterd here: a shell script stands in for it to exercise start-up,
 * environment, timeouts and exit statuses, and a forked child serving
 * canned bytes on a socket exercises the HTTP response parser.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* --- a fake asterd --------------------------------------------------------- */

static char *
fake_asterd(const char *dir, const char *body)
{
	char *path;

	ck_assert(asprintf(&path, "%s/fake-asterd", dir) > 0);
	ck_assert(aster_test_write_file(dir, "fake-asterd", body, -1) == 0);
	ck_assert(chmod(path, 0755) == 0);
	return path;
}

START_TEST(test_start_reads_listeners)
{
	char *dir = integ_tempdir();
	char *fake = fake_asterd(dir,
	    "#!/bin/sh\n"
	    "echo \"args: $*\" >&2\n"
	    "echo \"foo=${ASTER_HARNESS_FOO-unset} home=${HOME-unset}\" >&2\n"
	    "echo 'some other line'\n"
	    "echo 'listening 127.0.0.1:1 public,user,admin'\n"
	    "echo 'listening [::1]:2 internal'\n"
	    "echo 'listening unix:/tmp/x.sock internal,admin'\n"
	    "echo ready\n"
	    "exec sleep 30\n");
	const char *env[] = {"ASTER_HARNESS_FOO=bar", "HOME", NULL};
	const char *args[] = {"--extra", NULL};
	struct aster_test_options o;
	struct aster_test *t;
	const char *scopes;

	memset(&o, 0, sizeof(o));
	o.asterd = fake;
	o.module_path = "/m1:/m2";
	o.env = env;
	o.args = args;
	t = aster_test_start("/some/conf", &o);
	ck_assert(t != NULL);
	ck_assert_uint_eq(aster_test_listener_count(t), 3);
	ck_assert_str_eq(aster_test_address(t, "public"), "127.0.0.1:1");
	ck_assert_str_eq(aster_test_url(t, "user"), "http://127.0.0.1:1");
	ck_assert_str_eq(aster_test_address(t, "internal"), "[::1]:2");
	ck_assert_str_eq(aster_test_url(t, "internal"), "http://[::1]:2");
	ck_assert_str_eq(aster_test_address(t, "admin"), "127.0.0.1:1");
	ck_assert_ptr_null(aster_test_address(t, "intern"));
	ck_assert_str_eq(aster_test_listener(t, 2, &scopes),
	                 "unix:/tmp/x.sock");
	ck_assert_str_eq(scopes, "internal,admin");
	ck_assert_ptr_null(aster_test_listener(t, 3, NULL));
	ck_assert(aster_test_wait_stderr(t, "home=", 2000) == 0);
	ck_assert_msg(strstr(aster_test_stderr(t), "args: -c /some/conf "
	              "--module-path /m1:/m2 --ephemeral-ports --extra") != NULL,
	              "command line: %s", aster_test_stderr(t));
	ck_assert_msg(strstr(aster_test_stderr(t), "foo=bar home=unset") != NULL,
	              "environment: %s", aster_test_stderr(t));
	ck_assert(strstr(aster_test_stdout(t), "some other line") != NULL);
	ck_assert(aster_test_wait(t, 0) == -1);
	/* sleep dies of the SIGTERM. */
	ck_assert_int_eq(aster_test_stop(t), 128 + SIGTERM);
	ck_assert_int_eq(aster_test_wait(t, 0), 128 + SIGTERM);
	aster_test_free(t);
	aster_test_remove_tree(dir);
	free(fake);
	free(dir);
}
END_TEST

START_TEST(test_start_failures)
{
	char *dir = integ_tempdir();
	char *exits = fake_asterd(dir,
	    "#!/bin/sh\necho 'cannot do it: port taken' >&2\nexit 69\n");
	struct aster_test_options o;
	struct aster_test *t;

	memset(&o, 0, sizeof(o));
	o.fixed_ports = 1;

	/* Exits before ready: the status and stderr stay readable. */
	o.asterd = exits;
	t = aster_test_spawn(dir, &o);
	ck_assert(t != NULL);
	ck_assert_int_eq(aster_test_wait_ready(t), -1);
	ck_assert_msg(strstr(aster_test_error(t), "status 69") != NULL, "%s",
	              aster_test_error(t));
	ck_assert_int_eq(aster_test_wait(t, 1000), 69);
	ck_assert(strstr(aster_test_stderr(t), "port taken") != NULL);
	ck_assert_int_eq(aster_test_stop(t), 69);
	ck_assert(aster_test_signal(t, SIGTERM) == -1);
	aster_test_free(t);
	free(exits);

	/* Never ready: the ready timeout. */
	o.asterd = exits = fake_asterd(dir, "#!/bin/sh\nexec sleep 30\n");
	o.ready_timeout_ms = 200;
	t = aster_test_spawn(dir, &o);
	ck_assert(t != NULL);
	ck_assert_int_eq(aster_test_wait_ready(t), -1);
	ck_assert_msg(strstr(aster_test_error(t), "no 'ready'") != NULL, "%s",
	              aster_test_error(t));
	aster_test_free(t);             /* kills it */
	ck_assert_ptr_null(aster_test_start(dir, &o));

	/* No such binary. */
	o.asterd = "/nonexistent/asterd";
	errno = 0;
	ck_assert_ptr_null(aster_test_spawn(dir, &o));
	ck_assert_int_eq(errno, ENOENT);
	aster_test_free(NULL);

	aster_test_remove_tree(dir);
	free(exits);
	free(dir);
}
END_TEST

/* --- the HTTP client against canned answers -------------------------------- */

/*
 * Serves one connection on a fresh loopback port in a child process:
 * reads up to the end of the first request head, writes answer, closes.
 * Returns the address; *pid the child.
 */
static void
canned_server(const char *answer, char *address, size_t size, pid_t *pid)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	ck_assert(listen(fd, 1) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	snprintf(address, size, "127.0.0.1:%u", (unsigned)ntohs(sin.sin_port));
	*pid = fork();
	ck_assert(*pid != -1);
	if (*pid == 0) {
		char buf[8192];
		size_t got = 0;
		int c = accept(fd, NULL, NULL);

		if (c == -1)
			_exit(1);
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n") != NULL)
				break;
		}
		if (write(c, answer, strlen(answer)) != (ssize_t)strlen(answer))
			_exit(1);
		close(c);
		_exit(0);
	}
	close(fd);
}

static void
canned_done(pid_t pid)
{
	int st;

	ck_assert(waitpid(pid, &st, 0) == pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(test_parse_chunked_and_interim)
{
	char address[64];
	pid_t pid;
	struct aster_test_conn *c;
	struct aster_test_response r;

	canned_server("HTTP/1.1 100 Continue\r\n\r\n"
	              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	              "Set-Cookie: a=1\r\nset-cookie: b=2\r\n"
	              "X-Spaced:   padded value  \r\n\r\n"
	              "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n"
	              "X-Trailer: yes\r\n\r\n", address, sizeof(address), &pid);
	c = aster_test_connect_address(address, 2000);
	ck_assert(c != NULL);
	ck_assert_msg(aster_test_conn_request(c, "POST", "/x", NULL, "body", 4,
	              &r) == 0, "%s", r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "OK");
	ck_assert_str_eq(r.body, "hello, world");
	ck_assert_uint_eq(r.body_len, 12);
	ck_assert_uint_eq(aster_test_header_count(&r, "SET-COOKIE"), 2);
	ck_assert_str_eq(aster_test_header(&r, "set-cookie"), "a=1");
	ck_assert_str_eq(aster_test_header(&r, "x-spaced"), "padded value");
	aster_test_response_free(&r);
	ck_assert_int_eq(aster_test_conn_closed(c, 2000), 1);
	aster_test_conn_close(c);
	canned_done(pid);
}
END_TEST

START_TEST(test_parse_pipelined_head_and_close)
{
	char address[64];
	pid_t pid;
	struct aster_test_conn *c;
	struct aster_test_response r;

	/* A HEAD answer announcing 10 bytes, a 204, a 304, then a body
	 * that ends with the connection. */
	canned_server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
	              "HTTP/1.1 204 No Content\r\n\r\n"
	              "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"
	              "HTTP/1.0 200 OK\r\n\r\nuntil the end", address,
	              sizeof(address), &pid);
	c = aster_test_connect_address(address, 2000);
	ck_assert(c != NULL);
	ck_assert(aster_test_conn_send(c, "HEAD / HTTP/1.1\r\n\r\n", 19) == 0);
	ck_assert_msg(aster_test_conn_read_response(c, 1, &r) == 0, "%s",
	              r.error);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_str_eq(aster_test_header(&r, "Content-Length"), "10");
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_read_response(c, 0, &r) == 0);
	ck_assert_int_eq(r.status, 204);
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_read_response(c, 0, &r) == 0);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.body_len, 0);
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_read_response(c, 0, &r) == 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "until the end");
	aster_test_response_free(&r);
	ck_assert_int_eq(aster_test_conn_read_response(c, 0, &r), -1);
	ck_assert_int_eq(r.status, 0);
	ck_assert_msg(strstr(r.error, "without a response") != NULL, "%s",
	              r.error);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	canned_done(pid);
}
END_TEST

START_TEST(test_parse_truncated_and_timeout)
{
	char address[64];
	pid_t pid;
	struct aster_test_conn *c;
	struct aster_test_response r;

	canned_server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
	              address, sizeof(address), &pid);
	c = aster_test_connect_address(address, 2000);
	ck_assert(c != NULL);
	ck_assert_int_eq(aster_test_conn_request(c, "GET", "/", NULL, NULL, 0,
	                                         &r), -1);
	ck_assert_msg(strstr(r.error, "middle of the response") != NULL, "%s",
	              r.error);
	aster_test_response_free(&r);
	aster_test_conn_close(c);
	canned_done(pid);

	/* A server that never answers: the connection's timeout. */
	canned_server("", address, sizeof(address), &pid);
	c = aster_test_connect_address(address, 300);
	ck_assert(c != NULL);
	ck_assert(aster_test_conn_send(c, "GET", 3) == 0);
	ck_assert_int_eq(aster_test_conn_closed(c, 100), 0);
	ck_assert_int_eq(aster_test_conn_read_response(c, 0, &r), -1);
	ck_assert_msg(strstr(r.error, "timed out") != NULL, "%s", r.error);
	aster_test_response_free(&r);
	ck_assert(aster_test_conn_send(c, "\r\n\r\n", 4) == 0);
	ck_assert_int_eq(aster_test_conn_closed(c, 2000), 1);
	aster_test_conn_close(c);
	canned_done(pid);

	ck_assert_ptr_null(aster_test_connect_address("no-port-here", 100));
	ck_assert_ptr_null(aster_test_connect_address("unix:", 100));
}
END_TEST

/* --- files ------------------------------------------------------------------ */

START_TEST(test_file_helpers)
{
	char *src = integ_tempdir(), *copy, path[PATH_MAX], *text;
	char target[PATH_MAX];
	ssize_t n;

	ck_assert(aster_test_write_file(src, "a/b/c.yaml", "c: 1\n", -1) == 0);
	ck_assert(aster_test_write_file(src, "top.yaml", "x\0y", 3) == 0);
	snprintf(path, sizeof(path), "%s/a/link", src);
	ck_assert(symlink("b/c.yaml", path) == 0);
	copy = aster_test_copy_dir(src);
	ck_assert(copy != NULL);
	snprintf(path, sizeof(path), "%s/a/b/c.yaml", copy);
	text = integ_read_file(path);
	ck_assert_str_eq(text, "c: 1\n");
	free(text);
	snprintf(path, sizeof(path), "%s/a/link", copy);
	n = readlink(path, target, sizeof(target) - 1);
	ck_assert(n > 0);
	target[n] = '\0';
	ck_assert_str_eq(target, "b/c.yaml");
	{
		struct stat st;

		snprintf(path, sizeof(path), "%s/top.yaml", copy);
		ck_assert(stat(path, &st) == 0 && st.st_size == 3);
	}
	ck_assert(aster_test_write_file(copy, "a/b/c.yaml", "c: 2\n", -1) == 0);
	snprintf(path, sizeof(path), "%s/a/b/c.yaml", copy);
	text = integ_read_file(path);
	ck_assert_str_eq(text, "c: 2\n");
	free(text);
	ck_assert(aster_test_remove_file(copy, "a/b/c.yaml") == 0);
	ck_assert(access(path, F_OK) == -1);
	ck_assert(aster_test_remove_tree(copy) == 0);
	ck_assert(access(copy, F_OK) == -1);
	ck_assert(aster_test_remove_tree(copy) == 0);   /* already gone */
	ck_assert(aster_test_remove_tree(src) == 0);
	ck_assert_ptr_null(aster_test_copy_dir("/nonexistent/dir"));
	free(copy);
	free(src);
}
END_TEST

START_TEST(test_timeout_multiplier)
{
	setenv("ASTER_TEST_TIMEOUT_MULTIPLIER", "3", 1);
	ck_assert_int_eq(aster_test_timeout(100), 300);
	setenv("ASTER_TEST_TIMEOUT_MULTIPLIER", "nonsense", 1);
	setenv("CK_TIMEOUT_MULTIPLIER", "2", 1);
	ck_assert_int_eq(aster_test_timeout(100), 200);
	unsetenv("ASTER_TEST_TIMEOUT_MULTIPLIER");
	unsetenv("CK_TIMEOUT_MULTIPLIER");
	ck_assert_int_eq(aster_test_timeout(100), 100);
}
END_TEST

static Suite *
harness_suite(void)
{
	Suite *s = suite_create("harness");
	TCase *tc = tcase_create("library");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_start_reads_listeners);
	tcase_add_test(tc, test_start_failures);
	tcase_add_test(tc, test_parse_chunked_and_interim);
	tcase_add_test(tc, test_parse_pipelined_head_and_close);
	tcase_add_test(tc, test_parse_truncated_and_timeout);
	tcase_add_test(tc, test_file_helpers);
	tcase_add_test(tc, test_timeout_multiplier);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(harness_suite)
