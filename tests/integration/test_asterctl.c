/*
 * test_asterctl.c - the control socket and asterctl against a running
 * asterd (SPEC 12).
 *
 * asterd runs on a copy of confs/reload (control socket in
 * $ASTER_TEST_RUN); asterctl is the binary beside $ASTERD.
 */
#include "integ.h"

#include <sys/wait.h>

struct ctl {
	char *conf;
	char *run;
	char env[PATH_MAX + 32];
	const char *envv[2];
	char socket[PATH_MAX];
	char asterctl[PATH_MAX];
	struct aster_test *t;
};

static void
ctl_start(struct ctl *c)
{
	char src[PATH_MAX];
	const char *asterd = getenv("ASTERD");
	const char *slash;

	if (asterd == NULL || *asterd == '\0')
		asterd = "build/asterd";
	slash = strrchr(asterd, '/');
	snprintf(c->asterctl, sizeof(c->asterctl), "%.*sasterctl",
	         slash != NULL ? (int)(slash - asterd + 1) : 0, asterd);
	c->conf = aster_test_copy_dir(integ_conf(src, sizeof(src), "reload"));
	ck_assert(c->conf != NULL);
	c->run = integ_tempdir();
	ck_assert(aster_test_write_file(c->run, "life.log", "", 0) == 0);
	snprintf(c->env, sizeof(c->env), "ASTER_TEST_RUN=%s", c->run);
	snprintf(c->socket, sizeof(c->socket), "%s/control.sock", c->run);
	c->envv[0] = c->env;
	c->envv[1] = NULL;
	c->t = integ_start_dir(c->conf, c->envv);
}

static void
ctl_done(struct ctl *c)
{
	integ_stop(c->t);
	aster_test_remove_tree(c->conf);
	aster_test_remove_tree(c->run);
	free(c->conf);
	free(c->run);
}

/*
 * Runs asterctl with args (NULL-terminated) and the extra environment
 * entry env (or NULL); stdout and stderr together land in *out
 * (malloc'ed). Returns the exit status.
 */
static int
run_asterctl(struct ctl *c, const char *env, const char *const *args,
             char **out)
{
	char *argv[16];
	int fds[2], st, n = 0;
	size_t len = 0, cap = 4096;
	pid_t pid;

	argv[n++] = c->asterctl;
	while (*args != NULL && n < 15)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	ck_assert(pipe(fds) == 0);
	pid = fork();
	ck_assert(pid != -1);
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		unsetenv("ASTER_CONTROL_SOCKET");
		if (env != NULL)
			putenv((char *)env);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	*out = malloc(cap);
	ck_assert(*out != NULL);
	for (;;) {
		ssize_t got;

		if (cap - len < 1024) {
			cap *= 2;
			*out = realloc(*out, cap);
			ck_assert(*out != NULL);
		}
		got = read(fds[0], *out + len, cap - len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	(*out)[len] = '\0';
	close(fds[0]);
	ck_assert(waitpid(pid, &st, 0) == pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(test_control_socket_mode)
{
	struct ctl c;
	struct stat st;

	ctl_start(&c);
	ck_assert_msg(lstat(c.socket, &st) == 0, "no control socket at %s",
	              c.socket);
	ck_assert_msg(S_ISSOCK(st.st_mode), "%s is not a socket", c.socket);
	ck_assert_msg((st.st_mode & 0777) == 0600,
	              "control socket mode %03o, expected 0600",
	              (unsigned)(st.st_mode & 0777));
	ctl_done(&c);
}
END_TEST

START_TEST(test_asterctl_status)
{
	struct ctl c;
	char env[PATH_MAX + 32], *out;
	const char *by_socket[] = {"--socket", NULL, "status", NULL};
	const char *by_env[] = {"--json", "status", NULL};
	const char *by_conf[] = {"-c", NULL, "status", NULL};
	json_object *o, *g;
	int rc;

	ctl_start(&c);
	by_socket[1] = c.socket;
	by_conf[1] = c.conf;

	rc = run_asterctl(&c, NULL, by_socket, &out);
	ck_assert_msg(rc == 0, "asterctl --socket status: exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, "reloadtest") != NULL,
	              "status does not name the product:\n%s", out);
	free(out);

	snprintf(env, sizeof(env), "ASTER_CONTROL_SOCKET=%s", c.socket);
	rc = run_asterctl(&c, env, by_env, &out);
	ck_assert_msg(rc == 0, "asterctl --json status: exit %d\n%s", rc, out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "--json status is not JSON:\n%s", out);
	ck_assert_msg(json_object_object_get_ex(o, "generation", &g) &&
	              json_object_get_int(g) == 1, "status: %s", out);
	json_object_put(o);
	free(out);

	/* -c DIR reads server.control from the product (which reads
	 * ASTER_TEST_RUN from the environment). */
	rc = run_asterctl(&c, c.env, by_conf, &out);
	ck_assert_msg(rc == 0, "asterctl -c DIR status: exit %d\n%s", rc, out);
	free(out);
	ctl_done(&c);
}
END_TEST

START_TEST(test_asterctl_reload)
{
	struct ctl c;
	char *out;
	const char *dry[] = {"--socket", NULL, "reload", "--dry-run", NULL};
	const char *reload[] = {"--socket", NULL, "reload", NULL};
	struct aster_test_response r;
	int rc;

	ctl_start(&c);
	dry[1] = c.socket;
	reload[1] = c.socket;
	ck_assert(aster_test_write_file(c.conf, "modules/extra.yaml",
	          "kind: module\nid: extra\ndisplayName: Extra\nversion: 1.0.0\n"
	          "routes:\n  - id: route:extra.get\n    scope: public\n"
	          "    methods: [GET]\n    mountPath: /t/extra\n"
	          "    handler: { respond: { status: 200, body: extra } }\n",
	          -1) == 0);

	/* --dry-run names the change and applies nothing. */
	rc = run_asterctl(&c, NULL, dry, &out);
	ck_assert_msg(rc == 0, "reload --dry-run: exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, "extra") != NULL,
	              "reload --dry-run does not show the added module:\n%s",
	              out);
	free(out);
	integ_get_expect(c.t, "public", "/t/extra", 404, &r);
	aster_test_response_free(&r);

	rc = run_asterctl(&c, NULL, reload, &out);
	ck_assert_msg(rc == 0, "reload: exit %d\n%s", rc, out);
	free(out);
	integ_get_expect(c.t, "public", "/t/extra", 200, &r);
	aster_test_response_free(&r);

	/* A rejected reload: exit 1 and its diagnostics. */
	ck_assert(aster_test_write_file(c.conf, "modules/never.yaml",
	          "kind: module\nid: never\ncolour: blue\n", -1) == 0);
	rc = run_asterctl(&c, NULL, reload, &out);
	ck_assert_msg(rc == 1, "rejected reload: exit %d, expected 1\n%s", rc,
	              out);
	ck_assert_msg(strstr(out, "unknown-key") != NULL &&
	              strstr(out, "never.yaml") != NULL,
	              "rejected reload without its diagnostics:\n%s", out);
	free(out);
	integ_get_expect(c.t, "public", "/t/extra", 200, &r);
	aster_test_response_free(&r);
	ctl_done(&c);
}
END_TEST

START_TEST(test_asterctl_errors)
{
	struct ctl c;
	char *out, missing[PATH_MAX];
	const char *unreachable[] = {"--socket", missing, "status", NULL};
	const char *unknown[] = {"--socket", NULL, "frobnicate", NULL};
	int rc;

	ctl_start(&c);
	snprintf(missing, sizeof(missing), "%s/absent.sock", c.run);
	unknown[1] = c.socket;
	rc = run_asterctl(&c, NULL, unreachable, &out);
	ck_assert_msg(rc == 69, "unreachable socket: exit %d, expected 69\n%s",
	              rc, out);
	free(out);
	rc = run_asterctl(&c, NULL, unknown, &out);
	ck_assert_msg(rc == 64, "unknown command: exit %d, expected 64\n%s", rc,
	              out);
	free(out);
	ctl_done(&c);
}
END_TEST

static Suite *
asterctl_suite(void)
{
	Suite *s = suite_create("asterctl");
	TCase *tc = tcase_create("control");

	tcase_set_timeout(tc, INTEG_TCASE_TIMEOUT);
	tcase_add_test(tc, test_control_socket_mode);
	tcase_add_test(tc, test_asterctl_status);
	tcase_add_test(tc, test_asterctl_reload);
	tcase_add_test(tc, test_asterctl_errors);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(asterctl_suite)
