/*
 * test_asterctl.c - the control socket and asterctl against a running
 * asterd (SPEC 12).
 *
 * asterd runs on a copy of confs/reload (control socket in
 * $ASTER_TEST_RUN); asterctl is the binary beside $ASTERD.
 */
#include "integ.h"

struct ctl {
	char *conf;
	char *run;
	char env[PATH_MAX + 32];
	const char *envv[2];
	char socket[PATH_MAX];
	struct aster_test *t;
};

static void
ctl_start(struct ctl *c)
{
	char src[PATH_MAX];
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

	rc = integ_asterctl(by_socket, NULL, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl --socket status: exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, "reloadtest") != NULL,
	              "status does not name the product:\n%s", out);
	free(out);

	snprintf(env, sizeof(env), "ASTER_CONTROL_SOCKET=%s", c.socket);
	rc = integ_asterctl(by_env, env, &out, NULL);
	ck_assert_msg(rc == 0, "asterctl --json status: exit %d\n%s", rc, out);
	o = json_tokener_parse(out);
	ck_assert_msg(o != NULL, "--json status is not JSON:\n%s", out);
	ck_assert_msg(json_object_object_get_ex(o, "generation", &g) &&
	              json_object_get_int(g) == 1, "status: %s", out);
	json_object_put(o);
	free(out);

	/* -c DIR reads server.control from the product (which reads
	 * ASTER_TEST_RUN from the environment). */
	rc = integ_asterctl(by_conf, c.env, &out, NULL);
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
	rc = integ_asterctl(dry, NULL, &out, NULL);
	ck_assert_msg(rc == 0, "reload --dry-run: exit %d\n%s", rc, out);
	ck_assert_msg(strstr(out, "extra") != NULL,
	              "reload --dry-run does not show the added module:\n%s",
	              out);
	free(out);
	integ_get_expect(c.t, "public", "/t/extra", 404, &r);
	aster_test_response_free(&r);

	rc = integ_asterctl(reload, NULL, &out, NULL);
	ck_assert_msg(rc == 0, "reload: exit %d\n%s", rc, out);
	free(out);
	integ_get_expect(c.t, "public", "/t/extra", 200, &r);
	aster_test_response_free(&r);

	/* A rejected reload: exit 1 and its diagnostics. */
	ck_assert(aster_test_write_file(c.conf, "modules/never.yaml",
	          "kind: module\nid: never\ncolour: blue\n", -1) == 0);
	rc = integ_asterctl(reload, NULL, &out, NULL);
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
	rc = integ_asterctl(unreachable, NULL, &out, NULL);
	ck_assert_msg(rc == 69, "unreachable socket: exit %d, expected 69\n%s",
	              rc, out);
	free(out);
	rc = integ_asterctl(unknown, NULL, &out, NULL);
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
