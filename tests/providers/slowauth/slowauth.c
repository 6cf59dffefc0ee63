/*
 * slowauth.c - a test-only auth service (aster/auth.h) whose verify()
 * and key_list() answer late, or never, to test the deadline of requests
 * waiting on the credential check or on a key operation.
 *
 *   answer: late      every token is valid, an admin API key, and there
 *                     are no keys, answered delay_ms after the call
 *                     (default 1000);
 *   answer: never     no call is answered until stop();
 *   verify_now: true  verify() answers inside the call all the same
 *                     (valid), so that requests reach the key endpoints.
 *
 * stop() answers every call still pending with ASTER_AUTH_UNAVAILABLE,
 * as the contract wants. key_create and key_revoke refuse (-1). Each
 * answer writes a line on stderr ("slowauth: answered verify after 1000
 * ms", "slowauth: answered key_list at stop"), so that a test can wait
 * for it.
 *
 * Its operation `keys-list` (aster/http.h) serves GET .../keys through
 * its own key_list(), so a request waits on the slow call.
 */
#include <aster/auth.h>
#include <aster/http.h>
#include <aster/provider.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct slow_call {
	struct slow_auth *auth;
	const char *what;           /* "verify" or "key_list" */
	aster_auth_verify_cb cb;    /* verify */
	aster_auth_keys_cb keys_cb; /* key_list */
	void *arg;
	struct event *timer;        /* late only */
	LIST_ENTRY(slow_call) link;
};

struct slow_auth {
	struct event_base *base;
	int never;
	int verify_now;
	long delay_ms;
	LIST_HEAD(, slow_call) pending;
};

static const struct aster_config_key slow_keys[] = {
	{"answer", ASTER_VALUE_STRING, 1, 0, 0,
	 "late (after delay_ms) or never (until stop)"},
	{"delay_ms", ASTER_VALUE_INT, 0, 0, 600000,
	 "how long a late answer takes (default 1000)"},
	{"verify_now", ASTER_VALUE_BOOL, 0, 0, 0,
	 "true: verify answers inside the call (a valid admin key)"},
	{NULL, 0, 0, 0, 0, NULL},
};

static const struct aster_credential slow_cred = {
	.kind = "api-key", .id = "slow", .name = "slow", .role = "admin",
};

static void
slow_answer(struct slow_call *v, int at_stop)
{
	enum aster_auth_status st = at_stop ? ASTER_AUTH_UNAVAILABLE :
	                            ASTER_AUTH_OK;
	const char *detail = at_stop ? "slowauth: stopping" : NULL;

	LIST_REMOVE(v, link);
	if (v->timer != NULL)
		event_free(v->timer);
	if (at_stop)
		fprintf(stderr, "slowauth: answered %s at stop\n", v->what);
	else
		fprintf(stderr, "slowauth: answered %s after %ld ms\n",
		        v->what, v->auth->delay_ms);
	if (v->cb != NULL)
		v->cb(v->arg, st, at_stop ? NULL : &slow_cred, detail);
	else
		v->keys_cb(v->arg, st, NULL, 0, detail);
	free(v);
}

static void
slow_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	slow_answer(arg, 0);
}

/* Takes v (its callback set): answered after the delay, or at stop.
 * Returns 0, or -1 (v freed) when out of memory. */
static int
slow_take(struct slow_auth *a, struct slow_call *v)
{
	struct timeval tv;

	if (!a->never) {
		tv.tv_sec = a->delay_ms / 1000;
		tv.tv_usec = a->delay_ms % 1000 * 1000;
		if ((v->timer = evtimer_new(a->base, slow_timer_cb, v)) ==
		    NULL || evtimer_add(v->timer, &tv) == -1) {
			if (v->timer != NULL)
				event_free(v->timer);
			free(v);
			return -1;
		}
	}
	LIST_INSERT_HEAD(&a->pending, v, link);
	return 0;
}

static int
slow_verify(void *self, const char *token, size_t len,
            aster_auth_verify_cb cb, void *arg)
{
	struct slow_auth *a = self;
	struct slow_call *v;

	(void)token;
	(void)len;
	if (a->verify_now) {
		cb(arg, ASTER_AUTH_OK, &slow_cred, NULL);
		return 0;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -1;
	v->auth = a;
	v->what = "verify";
	v->cb = cb;
	v->arg = arg;
	return slow_take(a, v);
}

static int
slow_key_create(void *self, const struct aster_api_key_spec *spec,
                aster_auth_key_cb cb, void *arg)
{
	(void)self, (void)spec, (void)cb, (void)arg;
	return -1;
}

static int
slow_key_list(void *self, aster_auth_keys_cb cb, void *arg)
{
	struct slow_auth *a = self;
	struct slow_call *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return -1;
	v->auth = a;
	v->what = "key_list";
	v->keys_cb = cb;
	v->arg = arg;
	return slow_take(a, v);
}

static int
slow_key_revoke(void *self, const char *id, aster_auth_key_cb cb, void *arg)
{
	(void)self, (void)id, (void)cb, (void)arg;
	return -1;
}

static const struct aster_auth_ops slow_ops = {
	.verify = slow_verify,
	.key_create = slow_key_create,
	.key_list = slow_key_list,
	.key_revoke = slow_key_revoke,
};

static const char *
slow_get(const struct aster_host *host, const aster_node *config,
         const char *key)
{
	const aster_node *n = host->map_get(config, key);

	return n != NULL ? host->scalar(n) : NULL;
}

static int
slow_start(const struct aster_host *host, struct aster_service *svc,
           const aster_node *config, void **state, const char **cause)
{
	const char *answer = slow_get(host, config, "answer");
	const char *delay = slow_get(host, config, "delay_ms");
	const char *now = slow_get(host, config, "verify_now");
	struct slow_auth *a;

	if (answer == NULL || (strcmp(answer, "late") != 0 &&
	    strcmp(answer, "never") != 0)) {
		*cause = "slowauth: 'answer' is late or never";
		return ASTER_FAILED;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		*cause = "slowauth: out of memory";
		return ASTER_FAILED;
	}
	a->base = host->event_base(svc);
	a->never = strcmp(answer, "never") == 0;
	a->verify_now = now != NULL && strcmp(now, "true") == 0;
	a->delay_ms = delay != NULL ? strtol(delay, NULL, 10) : 1000;
	LIST_INIT(&a->pending);
	*state = a;
	return ASTER_STARTED;
}

static void
slow_stop(void *state)
{
	struct slow_auth *a = state;

	while (!LIST_EMPTY(&a->pending))
		slow_answer(LIST_FIRST(&a->pending), 1);
	free(a);
}

static void
on_keys_listed(void *arg, enum aster_auth_status st,
               const struct aster_api_key *keys, size_t n,
               const char *detail)
{
	(void)keys, (void)n;
	if (st != ASTER_AUTH_OK)
		aster_problem(arg, 503, "unavailable", detail, NULL, 0);
	else
		aster_respond_json(arg, 200, "{\"items\":[]}");
}

static int
slow_http_keys_list(void *self, struct aster_request *r)
{
	return slow_key_list(self, on_keys_listed, r) < 0 ? -1 : 0;
}

static const struct aster_operation slow_operations[] = {
	{"keys-list", "GET", "Every API key, answered late", NULL,
	 slow_http_keys_list},
	{NULL, NULL, NULL, NULL, NULL},
};

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.operations = slow_operations,
	.name = "slowauth",
	.description = "Test provider: an auth service whose verify answers "
	               "late or never",
	.config_keys = slow_keys,
	.start = slow_start,
	.stop = slow_stop,
	.auth = &slow_ops,
};
