/*
 * test_notify.c - the systemd notify protocol (SPEC §11) against a real
 * AF_UNIX datagram socket standing in for systemd: a path in a temporary
 * directory, or an abstract '@' name. Covers the messages the runtime
 * sends, the watchdog's interval and its WATCHDOG_PID check, and that
 * everything is a no-op without NOTIFY_SOCKET.
 *
 * check forks every test, so the environment set by one never reaches
 * another.
 */
#include "unit.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "runtime/notify.h"

static char dir[64];
static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int sock = -1;

static void
setup(void)
{
	struct sockaddr_un sa;

	snprintf(dir, sizeof(dir), "/tmp/aster-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", path, 1), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void
teardown(void)
{
	notify_watchdog_stop();
	if (sock >= 0)
		close(sock);
	sock = -1;
	unlink(path);
	rmdir(dir);
}

/* The next datagram on s within timeout_ms, as a string ("" on
 * timeout). */
static const char *
receive_on(int s, int timeout_ms)
{
	static char buf[4096];
	struct pollfd p = {s, POLLIN, 0};
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, timeout_ms) != 1)
		return buf;
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

static const char *
receive(void)
{
	return receive_on(sock, 1000);
}

START_TEST(test_ready)
{
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_str_eq(receive(), "READY=1");
}
END_TEST

START_TEST(test_status)
{
	ck_assert_int_eq(notify_send("STATUS=%s, %d modules running",
	                             "aster 0.1.0", 7), 0);
	ck_assert_str_eq(receive(), "STATUS=aster 0.1.0, 7 modules running");
}
END_TEST

/* systemd 253+ wants RELOADING=1 with the monotonic clock in the same
 * datagram (Type=notify-reload); older ones ignore the second line. */
START_TEST(test_reloading)
{
	struct timespec ts;
	unsigned long long now;
	char want[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000ULL +
	      (unsigned long long)ts.tv_nsec / 1000;
	snprintf(want, sizeof(want), "RELOADING=1\nMONOTONIC_USEC=%llu", now);
	ck_assert_int_eq(notify_send("RELOADING=1\nMONOTONIC_USEC=%llu", now),
	                 0);
	ck_assert_str_eq(receive(), want);
	ck_assert_int_eq(notify_send("READY=1\nSTATUS=reloaded"), 0);
	ck_assert_str_eq(receive(), "READY=1\nSTATUS=reloaded");
}
END_TEST

START_TEST(test_stopping)
{
	ck_assert_int_eq(notify_send("STOPPING=1"), 0);
	ck_assert_str_eq(receive(), "STOPPING=1");
}
END_TEST

/* One datagram per message, in order, nothing merged or split. */
START_TEST(test_order)
{
	ck_assert_int_eq(notify_send("STATUS=starting"), 0);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(notify_send("STOPPING=1"), 0);
	ck_assert_str_eq(receive(), "STATUS=starting");
	ck_assert_str_eq(receive(), "READY=1");
	ck_assert_str_eq(receive(), "STOPPING=1");
	ck_assert_str_eq(receive_on(sock, 50), "");
}
END_TEST

START_TEST(test_abstract)
{
	struct sockaddr_un sa;
	char name[64];
	socklen_t len;
	int s;

	snprintf(name, sizeof(name), "aster-notify-test-%ld", (long)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                  strlen(name));
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, len), 0);
	memmove(name + 1, name, strlen(name) + 1);
	name[0] = '@';
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_str_eq(receive_on(s, 1000), "READY=1");
	/* Nothing went to the path socket. */
	ck_assert_str_eq(receive_on(sock, 20), "");
	close(s);
}
END_TEST

START_TEST(test_no_socket)
{
	struct event_base *base = event_base_new();

	ck_assert_ptr_nonnull(base);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), 0);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	ck_assert_int_eq(notify_watchdog_start(base), 0);
	/* No timer was armed: the loop has nothing to wait for. */
	ck_assert_int_eq(event_base_dispatch(base), 1);
	ck_assert_str_eq(receive_on(sock, 20), "");
	notify_watchdog_stop();
	event_base_free(base);
}
END_TEST

START_TEST(test_send_fails)
{
	char gone[160];

	snprintf(gone, sizeof(gone), "%s/nobody", dir);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", gone, 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "relative/path", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "@", 1), 0);
	ck_assert_int_eq(notify_send("READY=1"), -1);
}
END_TEST

/* A reader that never reads costs lost messages, never a stalled
 * caller (check's timeout fails the test if a send blocks). */
START_TEST(test_never_blocks)
{
	int i, failed = 0;

	for (i = 0; i < 5000; i++)
		failed += notify_send("STATUS=message %d", i) < 0;
	ck_assert_int_gt(failed, 0);
	ck_assert_str_eq(receive(), "STATUS=message 0");
}
END_TEST

/* Watchdog pings as the event loop delivers them. */
struct pings {
	uint64_t start;
	uint64_t at[64];
	size_t n;
	int bad;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_ping(evutil_socket_t fd, short what, void *arg)
{
	struct pings *p = arg;
	char buf[64];
	ssize_t n;

	(void)what;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strcmp(buf, "WATCHDOG=1") != 0)
		p->bad++;
	else if (p->n < 64)
		p->at[p->n++] = now_ms();
}

/* Runs base for ms milliseconds with the watchdog started, counting the
 * pings that arrive. */
static void
run_watchdog(struct pings *p, unsigned ms)
{
	struct event_base *base = event_base_new();
	struct timeval tv = {0, (suseconds_t)ms * 1000};
	struct event *rd;

	ck_assert_ptr_nonnull(base);
	memset(p, 0, sizeof(*p));
	rd = event_new(base, sock, EV_READ | EV_PERSIST, on_ping, p);
	ck_assert_ptr_nonnull(rd);
	ck_assert_int_eq(event_add(rd, NULL), 0);
	ck_assert_int_eq(notify_watchdog_start(base), 0);
	p->start = now_ms();
	ck_assert_int_eq(event_base_loopexit(base, &tv), 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	notify_watchdog_stop();
	event_free(rd);
	event_base_free(base);
}

START_TEST(test_watchdog_interval)
{
	struct pings p;
	size_t i;

	ck_assert_int_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	run_watchdog(&p, 560);
	ck_assert_int_eq(p.bad, 0);
	/* Five pings are due at 100..500 ms; allow one either way for a
	 * loaded machine or a sanitizer build. */
	ck_assert_msg(p.n >= 4 && p.n <= 6, "%zu pings in 560 ms", p.n);
	for (i = 0; i < p.n; i++) {
		uint64_t prev = i == 0 ? p.start : p.at[i - 1];
		uint64_t gap = p.at[i] - prev;

		ck_assert_msg(gap >= 80 && gap <= 200,
		              "ping %zu came %" PRIu64 " ms after the last",
		              i + 1, gap);
	}
}
END_TEST

START_TEST(test_watchdog_our_pid)
{
	struct pings p;
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	run_watchdog(&p, 260);
	ck_assert_msg(p.n >= 1 && p.n <= 3, "%zu pings in 260 ms", p.n);
}
END_TEST

/* Variables inherited from a parent that systemd watches are not ours. */
START_TEST(test_watchdog_other_pid)
{
	struct pings p;
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	ck_assert_int_eq(setenv("WATCHDOG_PID", pid, 1), 0);
	run_watchdog(&p, 250);
	ck_assert_int_eq(p.n, 0);
}
END_TEST

static const char *const bad_usec[] = {"", "0", "-5", "abc", "100x", " 5"};

START_TEST(test_watchdog_bad_usec)
{
	struct pings p;

	ck_assert_int_eq(setenv("WATCHDOG_USEC", bad_usec[_i], 1), 0);
	run_watchdog(&p, 60);
	ck_assert_int_eq(p.n, 0);
}
END_TEST

START_TEST(test_watchdog_unset)
{
	struct pings p;

	run_watchdog(&p, 60);
	ck_assert_int_eq(p.n, 0);
}
END_TEST

/* Starting twice re-arms one timer, never two. */
START_TEST(test_watchdog_restart)
{
	struct event_base *base = event_base_new();
	struct timeval tv = {0, 330000};
	struct pings p;
	struct event *rd;

	ck_assert_ptr_nonnull(base);
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(setenv("WATCHDOG_USEC", "200000", 1), 0);
	rd = event_new(base, sock, EV_READ | EV_PERSIST, on_ping, &p);
	ck_assert_int_eq(event_add(rd, NULL), 0);
	ck_assert_int_eq(notify_watchdog_start(base), 0);
	ck_assert_int_eq(notify_watchdog_start(base), 0);
	ck_assert_int_eq(event_base_loopexit(base, &tv), 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	ck_assert_msg(p.n >= 2 && p.n <= 4, "%zu pings in 330 ms", p.n);
	notify_watchdog_stop();
	notify_watchdog_stop();
	event_free(rd);
	event_base_free(base);
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ready);
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_reloading);
	tcase_add_test(tc, test_stopping);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_abstract);
	tcase_add_test(tc, test_no_socket);
	tcase_add_test(tc, test_send_fails);
	tcase_add_test(tc, test_never_blocks);
	tcase_add_test(tc, test_watchdog_interval);
	tcase_add_test(tc, test_watchdog_our_pid);
	tcase_add_test(tc, test_watchdog_other_pid);
	tcase_add_loop_test(tc, test_watchdog_bad_usec, 0,
	                    (int)(sizeof(bad_usec) / sizeof(bad_usec[0])));
	tcase_add_test(tc, test_watchdog_unset);
	tcase_add_test(tc, test_watchdog_restart);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(notify_suite)
