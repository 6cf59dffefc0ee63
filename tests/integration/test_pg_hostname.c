/*
 * test_pg_hostname.c - the postgres store reached over TCP by host name
 * (modules/postgres/resolve.c: names are looked up with evdns on the
 * loop, then libpq connects to the addresses found, never resolving
 * anything itself).
 *
 * The harness's PostgreSQL listens on its private Unix socket only. A
 * relay process (forked here) accepts on 127.0.0.1, on a port the kernel
 * picks, and copies each connection to that socket, writing a byte on a
 * pipe per connection accepted. asterd's DSN names the host `localhost`
 * and the relay's port, so a store that works (a PUT read back through
 * the internal state API) and bytes on the pipe prove that asterd looked
 * `localhost` up and connected over TCP. A second product lists two hosts
 * whose first port refuses: the attempt must go on to the second.
 */
#include "integ.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

struct relay {
	pid_t pid;
	int port;
	int accepted_fd;            /* a byte per connection accepted */
};

/* Binds a TCP socket on 127.0.0.1 to a port the kernel picks. */
static int
loopback_socket(int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies both ways between a and b until either side ends. */
static void
splice_both(int a, int b)
{
	struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
	char buf[16384];
	int i;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (p[i].revents == 0)
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0 || write_all(p[1 - i].fd, buf, (size_t)n) < 0)
				return;
		}
	}
}

static int
unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The relay's process: one child per connection, in its process group. */
static void
relay_run(int lfd, int tell, const char *target)
{
	signal(SIGCHLD, SIG_IGN);       /* no zombies to reap */
	for (;;) {
		int c = accept(lfd, NULL, NULL), u;

		if (c < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (fork() == 0) {
			close(lfd);
			if ((u = unix_connect(target)) >= 0) {
				(void)write_all(tell, "c", 1);
				splice_both(c, u);
			}
			_exit(0);
		}
		close(c);
	}
}

/* Starts a relay from 127.0.0.1:(a new port) to the server of dsn
 * ("host=DIR port=N ...": its socket is DIR/.s.PGSQL.N). */
static void
relay_start(struct relay *r, const char *dsn)
{
	char dir[PATH_MAX], target[PATH_MAX + 32];
	int pg_port, lfd, tell[2];

	ck_assert(sscanf(dsn, "host=%4095s port=%d", dir, &pg_port) == 2);
	snprintf(target, sizeof(target), "%s/.s.PGSQL.%d", dir, pg_port);
	lfd = loopback_socket(&r->port);
	ck_assert(listen(lfd, 64) == 0);
	ck_assert(pipe2(tell, O_CLOEXEC) == 0);
	r->pid = fork();
	ck_assert(r->pid >= 0);
	if (r->pid == 0) {
		setpgid(0, 0);
		close(tell[0]);
		relay_run(lfd, tell[1], target);
	}
	setpgid(r->pid, r->pid);        /* whichever runs first */
	close(lfd);
	close(tell[1]);
	r->accepted_fd = tell[0];
	ck_assert(fcntl(r->accepted_fd, F_SETFL, O_NONBLOCK) == 0);
}

/* How many connections the relay accepted since the last call. */
static int
relay_accepted(struct relay *r)
{
	char buf[256];
	ssize_t n;
	int total = 0;

	while ((n = read(r->accepted_fd, buf, sizeof(buf))) > 0)
		total += (int)n;
	return total;
}

static void
relay_stop(struct relay *r)
{
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	close(r->accepted_fd);
}

/* A product whose store is PostgreSQL at dsn, with the state API. */
static char *
product_with(const char *dsn)
{
	char *dir = integ_tempdir(), conf[PATH_MAX], sock[PATH_MAX];
	char store[1024];

	snprintf(conf, sizeof(conf), "%s/conf", dir);
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	integ_write_product(conf, "pghost", "PostgreSQL by name", sock);
	integ_write_database(conf, integ_pg_store_yaml(store, sizeof(store),
	                                               dsn), 1);
	return dir;
}

/* Starts the product in dir, PUTs a document and reads it back. */
static void
expect_store_works(const char *dir, const char *what)
{
	char conf[PATH_MAX];
	struct aster_test *t;
	struct aster_test_response r;
	const char *json_ct[] = {"Content-Type: application/json", NULL};

	snprintf(conf, sizeof(conf), "%s/conf", dir);
	t = integ_spawn_ready(conf, aster_test_timeout(20000));
	integ_request(t, "internal", "PUT",
	              "/gateway/v1/internal/state/names/k", json_ct,
	              "{\"via\":\"tcp\"}", &r);
	ck_assert_msg(r.status == 201, "%s: PUT answered %d: %s", what,
	              r.status, r.body);
	aster_test_response_free(&r);
	integ_get_expect(t, "internal", "/gateway/v1/internal/state/names/k",
	                 200, &r);
	ck_assert_msg(strcmp(r.body, "{\"via\":\"tcp\"}") == 0,
	              "%s: GET answered %s", what, r.body);
	aster_test_response_free(&r);
	integ_stop(t);
}

START_TEST(test_localhost_over_tcp)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct relay relay;
	char dsn[256], *dir;
	int accepted;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	relay_start(&relay, aster_test_pg_dsn(pg));
	snprintf(dsn, sizeof(dsn), "host=localhost port=%d user=aster "
	         "dbname=aster", relay.port);
	dir = product_with(dsn);
	expect_store_works(dir, dsn);
	accepted = relay_accepted(&relay);
	ck_assert_msg(accepted >= 1, "asterd worked with %s but never "
	              "connected to 127.0.0.1:%d", dsn, relay.port);
	relay_stop(&relay);
	aster_test_remove_tree(dir);
	free(dir);
	aster_test_pg_free(pg);
}
END_TEST

START_TEST(test_host_list_goes_on_past_a_refusal)
{
	struct aster_test_pg *pg = aster_test_pg_start();
	struct relay relay;
	char dsn[256], *dir;
	int closed_port, fd;

	ck_assert_msg(pg != NULL, "aster_test_pg_start failed (see stderr)");
	relay_start(&relay, aster_test_pg_dsn(pg));
	/* A port bound and closed again: nobody listens there. */
	fd = loopback_socket(&closed_port);
	close(fd);
	snprintf(dsn, sizeof(dsn), "host=localhost,localhost port=%d,%d "
	         "user=aster dbname=aster", closed_port, relay.port);
	dir = product_with(dsn);
	expect_store_works(dir, dsn);
	ck_assert_msg(relay_accepted(&relay) >= 1, "asterd worked with %s "
	              "but never connected to the second host", dsn);
	relay_stop(&relay);
	aster_test_remove_tree(dir);
	free(dir);
	aster_test_pg_free(pg);
}
END_TEST

static Suite *
pg_hostname_suite(void)
{
	Suite *s = suite_create("pg_hostname");
	TCase *tc = tcase_create("tcp");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_localhost_over_tcp);
	tcase_add_test(tc, test_host_list_goes_on_past_a_refusal);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(pg_hostname_suite)
