/*
 * test_runtimes_output.c - a runtime's stdout and stderr in asterd's log
 * (SPEC 10): one tagged line per line, long lines cut, a flood that
 * never stops asterd answering, its excess dropped and counted.
 *
 * The product and the test runtime are described in runtimes.h.
 */
#include "runtimes.h"

/* A runtime's output line is cut at 16 KiB (SPEC 10). */
#define RT_LINE_MAX 16384

/* The longest run of c in s. */
static size_t
longest_run(const char *s, char c)
{
	size_t best = 0, cur = 0;

	for (; *s != '\0'; s++) {
		cur = *s == c ? cur + 1 : 0;
		if (cur > best)
			best = cur;
	}
	return best;
}

/* One info line per output line, tagged with the module and the stream;
 * a 20000-byte line cut to 16 KiB and marked cut=true. */
START_TEST(test_output_tagged_and_cut)
{
	struct rt_conf c = {.env = {"TESTRT_PRINT=1"}};
	static const char out[] = "runtime=" RT_MODULE " stream=stdout "
	                          "msg=\"testrt stdout hello\"";
	static const char err[] = "runtime=" RT_MODULE " stream=stderr "
	                          "msg=\"testrt stderr hello\"";
	char *line, lls[65];
	const char *log, *p;
	int long_lines = 0;

	rt_start(&c);
	line = rt_wait_log_line(out, NULL, NULL, 3000);
	ck_assert_msg(line != NULL, "no '%s' in the log:\n%s", out,
	              aster_test_stderr(E.t));
	ck_assert_msg(strstr(line, " info ") != NULL, "not an info line: %s",
	              line);
	free(line);
	line = rt_wait_log_line(err, NULL, NULL, 3000);
	ck_assert_msg(line != NULL, "no '%s' in the log:\n%s", err,
	              aster_test_stderr(E.t));
	free(line);

	memset(lls, 'L', 64);
	lls[64] = '\0';
	line = rt_wait_log_line("runtime=" RT_MODULE " ", lls, NULL, 3000);
	ck_assert_msg(line != NULL, "the long line is not in the log");
	ck_assert_msg(strstr(line, " cut=true") != NULL, "the long line is "
	              "not marked cut=true: %.200s...", line);
	ck_assert_msg(longest_run(line, 'L') == RT_LINE_MAX,
	              "the long line keeps %zu of its 20000 bytes, expected "
	              "%u", longest_run(line, 'L'), RT_LINE_MAX);
	free(line);
	/* The rest of it is not a line of its own. */
	log = aster_test_stderr(E.t);
	for (p = log; (p = strstr(p, lls)) != NULL; long_lines++)
		p = strchr(p, '\n') != NULL ? strchr(p, '\n') : p + strlen(p);
	ck_assert_msg(long_lines == 1, "%d log lines hold the long line's "
	              "bytes", long_lines);
	rt_stop();
}
END_TEST

/* A runtime writing 200000 lines as fast as it can: asterd goes on
 * answering (every /health under 1 s), drops what it cannot log, counts
 * it in linesDropped and says so in a warning. */
START_TEST(test_output_flood)
{
	struct rt_conf c = {.env = {"TESTRT_FLOOD=200000"}};
	struct aster_test_response r;
	uint64_t start, worst = 0;
	long long dropped = 0;
	int samples = 0;
	struct rt_view v;
	char *line;

	rt_start(&c);
	start = integ_ms_now();
	while (integ_ms_now() - start < (uint64_t)aster_test_timeout(10000)) {
		uint64_t t0 = integ_ms_now(), took;
		int rc = rt_http("GET", "/gateway/v1/health", NULL, NULL, 0, &r);

		took = integ_ms_now() - t0;
		ck_assert_msg(rc == 0 && r.status == 200, "/health during the "
		              "flood: %d %s", r.status, rc == 0 ? r.body :
		              r.error);
		aster_test_response_free(&r);
		worst = took > worst ? took : worst;
		samples++;
		if (samples % 10 == 0) {
			rt_view_get(&v);
			dropped = rt_int(v.e, "linesDropped", -1);
			rt_view_put(&v);
			if (dropped > 0 && integ_ms_now() - start >= 2000)
				break;
		}
		integ_sleep_ms(20);
	}
	ck_assert_msg(samples >= 20, "only %d /health samples", samples);
	ck_assert_msg(worst < (uint64_t)aster_test_timeout(1000), "/health took %llu ms during the flood",
	              (unsigned long long)worst);
	ck_assert_msg(dropped > 0, "linesDropped %lld after the flood", dropped);
	line = rt_wait_log_line(" warn ", "dropped", RT_MODULE, 3000);
	ck_assert_msg(line != NULL, "no warning about dropped lines of %s",
	              RT_MODULE);
	free(line);
	rt_get_expect("/rt/after", NULL, 200, &r);
	aster_test_response_free(&r);
	rt_stop();
}
END_TEST

/* The first JSON log line with runtime RT_MODULE whose msg starts with
 * prefix (the caller puts it), polling up to timeout_ms; NULL when none. */
static json_object *
json_runtime_line(const char *prefix, int timeout_ms)
{
	uint64_t end = integ_ms_now() + (uint64_t)aster_test_timeout(timeout_ms);

	for (;;) {
		const char *p = aster_test_stderr(E.t);

		while (*p != '\0') {
			const char *nl = strchr(p, '\n');
			size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
			char *text = strndup(p, n);
			json_object *o = text != NULL ? json_tokener_parse(text) :
			                 NULL;
			const char *rt = o != NULL ? integ_json_str(o, "runtime") :
			                 NULL;
			const char *msg = o != NULL ? integ_json_str(o, "msg") :
			                  NULL;

			free(text);
			if (rt != NULL && msg != NULL &&
			    strcmp(rt, RT_MODULE) == 0 &&
			    strncmp(msg, prefix, strlen(prefix)) == 0)
				return o;
			json_object_put(o);
			p += n;
			if (*p == '\n')
				p++;
		}
		if (integ_ms_now() >= end)
			return NULL;
		integ_sleep_ms(20);
	}
}

/* With log format json: "runtime", "stream" and "msg" members, and
 * "cut": true on the long line. */
START_TEST(test_output_in_json_log)
{
	struct rt_conf c = {.env = {"TESTRT_PRINT=1"}, .log_json = 1};
	json_object *o, *cut;

	rt_start(&c);
	o = json_runtime_line("testrt stdout hello", 3000);
	ck_assert_msg(o != NULL, "no JSON line of the runtime's stdout:\n%s",
	              aster_test_stderr(E.t));
	ck_assert_str_eq(integ_json_str(o, "msg"), "testrt stdout hello");
	ck_assert_str_eq(integ_json_str(o, "stream"), "stdout");
	ck_assert_str_eq(integ_json_str(o, "level"), "info");
	ck_assert_msg(!json_object_object_get_ex(o, "cut", NULL),
	              "a short line marked cut: %s", rt_text(o));
	json_object_put(o);
	o = json_runtime_line("testrt stderr hello", 3000);
	ck_assert_msg(o != NULL, "no JSON line of the runtime's stderr");
	ck_assert_str_eq(integ_json_str(o, "stream"), "stderr");
	json_object_put(o);
	o = json_runtime_line("LLLLLLLLLLLLLLLL", 3000);
	ck_assert_msg(o != NULL, "no JSON line of the long line");
	ck_assert_uint_eq(strlen(integ_json_str(o, "msg")), RT_LINE_MAX);
	ck_assert_msg(json_object_object_get_ex(o, "cut", &cut) &&
	              json_object_get_boolean(cut), "the long line is not "
	              "marked \"cut\": true: %.200s", rt_text(o));
	json_object_put(o);
	rt_stop();
}
END_TEST

static Suite *
runtimes_output_suite(void)
{
	Suite *s = suite_create("runtimes_output");
	TCase *out = tcase_create("output");

	tcase_set_timeout(out, INTEG_TCASE_TIMEOUT);
	tcase_add_checked_fixture(out, NULL, rt_teardown);
	tcase_add_test(out, test_output_tagged_and_cut);
	tcase_add_test(out, test_output_flood);
	tcase_add_test(out, test_output_in_json_log);
	suite_add_tcase(s, out);
	return s;
}

RT_MAIN(runtimes_output_suite)
