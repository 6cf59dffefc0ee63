/*
 * probe.h - what the files of the test provider `httpprobe` share.
 *
 * httpprobe exercises every call of aster/http.h so that
 * tests/integration/test_provider_http.c can check asterd's side of the
 * request API over real HTTP. Its operations (the integration test
 * documents what each answers):
 *
 *   inspect   (inspect.c) everything it can read from the request, as JSON;
 *   headers, status, problem, fail, describe   (answer.c) the answering
 *             calls, with good and bad arguments;
 *   later, hang   (held.c) answers from a timer, or only once abandoned;
 *   log       (httpprobe.c) what happened to requests after the fact.
 *
 * The log keeps, per service instance, one JSON object per event: {"op",
 * "event", "id", "alive", "rc", "abandons"}, the last PROBE_LOG_MAX of
 * them. Requests whose answer is deferred are held in a list, so that
 * stop() can answer them.
 */
#ifndef HTTPPROBE_PROBE_H
#define HTTPPROBE_PROBE_H

#include <aster/http.h>
#include <aster/provider.h>

#include <json-c/json.h>
#include <sys/queue.h>

struct event;

#define PROBE_LOG_MAX 512

/* A request whose answer comes later (later, hang). */
struct probe_held {
	struct probe *probe;
	struct aster_request *req;
	const char *op;             /* "later" or "hang" */
	char id[160];               /* its request id, kept past the answer */
	long ms;                    /* later: its delay */
	struct event *timer;        /* later: fires the answer */
	int abandons;               /* times the abandon callback ran */
	LIST_ENTRY(probe_held) link;
};

/* One service instance. */
struct probe {
	const struct aster_host *host;
	struct aster_service *svc;
	json_object *log;           /* array of events, oldest first */
	LIST_HEAD(, probe_held) held;
};

/* A field probe_log() leaves out. */
#define PROBE_UNSET (-1000)

/* httpprobe.c: appends an event to p's log; alive, rc and abandons
 * PROBE_UNSET are left out of it. */
void probe_log(struct probe *p, const char *op, const char *event,
               const char *id, int alive, int rc, int abandons);

/* The first value of query parameter name as a number, or dflt when it
 * is absent or not a decimal number. */
long probe_query_long(const struct aster_request *r, const char *name,
                      long dflt);

/* Answers r with o as JSON text (status 200) and puts o; returns what
 * aster_respond_json() returned. */
int probe_respond_object(struct aster_request *r, int status, json_object *o);

/* The operations. */
int probe_inspect(void *state, struct aster_request *r);
int probe_headers(void *state, struct aster_request *r);
int probe_status(void *state, struct aster_request *r);
int probe_problem(void *state, struct aster_request *r);
int probe_fail(void *state, struct aster_request *r);
int probe_describe(void *state, struct aster_request *r);
int probe_later(void *state, struct aster_request *r);
int probe_hang(void *state, struct aster_request *r);

/* held.c: answers every held request (503) at stop, frees them. */
void probe_release_held(struct probe *p);

#endif
