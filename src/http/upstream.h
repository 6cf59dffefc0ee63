/*
 * upstream.h - an upstream group as it runs (SPEC §7.7): its targets,
 * their keep-alive pools, balancing, passive ejection, active health
 * checks and counters.
 *
 * An upstream is made from a validated struct upstream_conf and copies
 * what it needs, so it outlives the configuration it came from: a reload
 * that keeps the upstream (same key) hands it the new declaration with
 * upstream_update(), and targets whose URL did not change keep their
 * pools, ejections and health. Requests in flight hold a reference.
 */
#ifndef ASTER_HTTP_UPSTREAM_H
#define ASTER_HTTP_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct resolver;
struct upstream;
struct upstream_conf;

/* Outcomes of attempts, as the metrics of SPEC §13 name them. */
enum upstream_outcome {
	UPSTREAM_OK,
	UPSTREAM_CONNECT_ERROR,
	UPSTREAM_TIMEOUT,
	UPSTREAM_RESET,
	UPSTREAM_BAD_RESPONSE,
	UPSTREAM_OUTCOMES
};

/* A millisecond setting of the config (validated positive, otherwise
 * unbounded) as the timers take it: held to 1 ms .. one day. */
unsigned upstream_ms(long long ms);

/* "ok", "connect_error", "timeout", "reset", "bad_response". */
const char *upstream_outcome_name(enum upstream_outcome o);

struct upstream_counts {
	uint64_t attempts[UPSTREAM_OUTCOMES];
	uint64_t connections_opened;    /* to every target, so far */
	uint64_t connections_reused;    /* requests on a pooled connection */
};

/*
 * A running upstream for conf (validated), with one reference; NULL
 * when out of memory. Active health checks start at once. Target host
 * names are looked up with getaddrinfo(3) when dns is NULL (start-up,
 * before the loop serves anything), else through dns: such a target
 * takes no request until its address has come.
 */
struct upstream *upstream_new(struct event_base *base,
                              const struct upstream_conf *conf,
                              struct resolver *dns);

/* The declaration of a reload that keeps u (same key); new targets'
 * names are looked up through dns. */
int upstream_update(struct upstream *u, const struct upstream_conf *conf,
                    struct resolver *dns);

struct upstream *upstream_ref(struct upstream *u);
/* The last reference closes its pools and stops its checks. */
void upstream_unref(struct upstream *u);

/* What a problem's detail calls it: "module.name", or the inline URL. */
const char *upstream_label(const struct upstream *u);

void upstream_get_counts(const struct upstream *u,
                         struct upstream_counts *out);

/* One target as an operator sees it. */
struct upstream_target_view {
	const char *url;
	const char *state;          /* "up", "ejected" or "down" */
	size_t in_flight;
	size_t idle;                /* pooled connections */
	unsigned ejections;         /* so far (the next lasts longer) */
	uint64_t back_in_ms;        /* ejected: until it comes back */
};

/* Target i of u into *out; 0 past the last. */
int upstream_target_at(const struct upstream *u, size_t i,
                       struct upstream_target_view *out);

/* "round-robin" or "least-request". */
const char *upstream_balance(const struct upstream *u);

/* Targets neither ejected nor down by the health checks. */
size_t upstream_targets_healthy(const struct upstream *u);
size_t upstream_targets(const struct upstream *u);

#endif
