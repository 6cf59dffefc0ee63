/*
 * httpprobe.c - a test-only provider serving HTTP through every call of
 * aster/http.h (probe.h lists its operations): its descriptor, its
 * instance's life, and the event log that the `log` operation answers.
 *
 * `log` answers {"entries": [...]}: the events of the instance, oldest
 * first, only those of request id `id` when that query parameter is
 * given. stop() answers the requests still held (503) before it frees
 * anything, writing "httpprobe: answered OP ID at stop (RC)" on stderr
 * for each, so that a test can see it happened.
 */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
probe_log(struct probe *p, const char *op, const char *event,
          const char *id, int alive, int rc, int abandons)
{
	json_object *e = json_object_new_object();

	json_object_object_add(e, "op", json_object_new_string(op));
	json_object_object_add(e, "event", json_object_new_string(event));
	json_object_object_add(e, "id", json_object_new_string(id));
	if (alive != PROBE_UNSET)
		json_object_object_add(e, "alive", json_object_new_int(alive));
	if (rc != PROBE_UNSET)
		json_object_object_add(e, "rc", json_object_new_int(rc));
	if (abandons != PROBE_UNSET)
		json_object_object_add(e, "abandons",
		                       json_object_new_int(abandons));
	if (json_object_array_length(p->log) >= PROBE_LOG_MAX)
		json_object_array_del_idx(p->log, 0, 1);
	json_object_array_add(p->log, e);
}

long
probe_query_long(const struct aster_request *r, const char *name, long dflt)
{
	const char *s = aster_query(r, name, 0);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' ? v : dflt;
}

int
probe_respond_object(struct aster_request *r, int status, json_object *o)
{
	int rc = aster_respond_json(r, status, json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));

	json_object_put(o);
	return rc;
}

/* The log, or the events of one request id. */
static int
probe_log_op(void *state, struct aster_request *r)
{
	struct probe *p = state;
	const char *id = aster_query(r, "id", 0);
	json_object *o = json_object_new_object();
	json_object *entries = json_object_new_array();
	size_t i, n = json_object_array_length(p->log);

	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(p->log, i);
		json_object *eid;

		if (id != NULL && (!json_object_object_get_ex(e, "id", &eid) ||
		    strcmp(json_object_get_string(eid), id) != 0))
			continue;
		json_object_array_add(entries, json_object_get(e));
	}
	json_object_object_add(o, "entries", entries);
	probe_respond_object(r, 200, o);
	return 0;
}

static int
probe_start(const struct aster_host *host, struct aster_service *svc,
            const aster_node *config, void **state, const char **cause)
{
	struct probe *p = calloc(1, sizeof(*p));

	(void)config;
	if (p == NULL || (p->log = json_object_new_array()) == NULL) {
		free(p);
		*cause = "httpprobe: out of memory";
		return ASTER_FAILED;
	}
	p->host = host;
	p->svc = svc;
	LIST_INIT(&p->held);
	*state = p;
	return ASTER_STARTED;
}

static void
probe_stop(void *state)
{
	struct probe *p = state;

	if (p == NULL)
		return;
	probe_release_held(p);
	json_object_put(p->log);
	free(p);
}

static const struct aster_operation probe_operations[] = {
	{"inspect", "GET", "Describes the request as the provider reads it",
	 NULL, probe_inspect},
	{"headers", "GET", "Adds good and bad response headers", NULL,
	 probe_headers},
	{"status", "GET", "Answers a status, type and body from the query",
	 NULL, probe_status},
	{"problem", "GET", "Answers a problem from the query", NULL,
	 probe_problem},
	{"later", "GET", "Answers after a delay", NULL, probe_later},
	{"hang", "GET", "Answers only once abandoned", NULL, probe_hang},
	{"fail", "GET", "Fails without answering", NULL, probe_fail},
	{"describe", "GET", "Answers a view of the product", NULL,
	 probe_describe},
	{"log", "GET", "Answers what happened to held requests", NULL,
	 probe_log_op},
	{NULL, NULL, NULL, NULL, NULL},
};

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "httpprobe",
	.description = "Test provider: serves HTTP through every call of "
	               "aster/http.h",
	.operations = probe_operations,
	.start = probe_start,
	.stop = probe_stop,
};
