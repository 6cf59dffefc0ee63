/*
 * upstream.c - an upstream group: its targets, made from the
 * declaration (their addresses looked up without blocking the loop once
 * it serves) and kept across reloads, and what operators see of them.
 * Choosing a target and ejection are upstream_pick.c's.
 */
#include "http/upstream_int.h"

#include <sys/random.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "http/resolve.h"
#include "log.h"


/* A target's host name lookup (on a reload) gives up after this. */
#define DNS_TIMEOUT_MS 5000
/* See upstream.h. */
unsigned
upstream_ms(long long ms)
{
	const long long cap = 24LL * 3600 * 1000;

	return ms < 1 ? 1 : ms > cap ? (unsigned)cap : (unsigned)ms;
}

const char *
upstream_outcome_name(enum upstream_outcome o)
{
	static const char *const names[] = {"ok", "connect_error", "timeout",
	                                    "reset", "bad_response"};

	return (unsigned)o < UPSTREAM_OUTCOMES ? names[o] : "unknown";
}

uint64_t
upstream_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* xorshift64*, seeded from the kernel once. */
uint64_t
upstream_random(void)
{
	static uint64_t x;

	while (x == 0) {
		if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
			x = (uint64_t)upstream_now_ms() * 0x9E3779B97F4A7C15ull;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return x * 0x2545F4914F6CDD1Dull;
}

/* --- targets ----------------------------------------------------------- */

/* A name's lookup through the resolver: the first address. */
static void
looked_up(struct resolve_batch *b, void *arg)
{
	struct uptarget *t = arg;
	const struct sockaddr *sa;
	const char *why = NULL;
	socklen_t len = 0;

	sa = resolve_address(b, 0, &len, &why);
	if (sa != NULL && len <= sizeof(t->addr)) {
		memcpy(&t->addr, sa, len);
		if (t->addr.ss_family == AF_INET)
			((struct sockaddr_in *)&t->addr)->sin_port =
			    htons((uint16_t)t->port);
		else if (t->addr.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&t->addr)->sin6_port =
			    htons((uint16_t)t->port);
		t->addrlen = len;
		t->addr_ok = 1;
	} else {
		log_msg(LOG_ERROR, "upstream target %s: cannot resolve host "
		        "name \"%s\": %s", t->url, t->host,
		        why != NULL ? why : "no address");
	}
	resolve_free(b);
	t->lookup = NULL;
	uptarget_unref(t);
}

/*
 * The address of a target. Literals and "localhost" need no lookup; a
 * host name is looked up through dns, or, with none (start-up, before
 * the loop serves), with getaddrinfo(3) at once. 1 when the address is
 * known now, 0 when the lookup has it (now or later, and says when it
 * fails), -1 when there is none.
 */
static int
target_resolve(struct uptarget *t, struct resolver *dns)
{
	struct addrinfo hints, *res = NULL;
	const char *host = t->host;
	const char *why = NULL;
	char port[8];

	if (t->scheme == TARGET_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;

		if (strlen(t->path) >= sizeof(sun->sun_path))
			return -1;
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, t->path);
		t->addrlen = sizeof(*sun);
		return 1;
	}
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (dns != NULL ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%d", t->port);
	if (getaddrinfo(host, port, &hints, &res) == 0 && res != NULL) {
		memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
		t->addrlen = res->ai_addrlen;
		freeaddrinfo(res);
		return 1;
	}
	if (dns == NULL)
		return -1;
	t->lookup = resolve_start(dns, &host, 1, DNS_TIMEOUT_MS, looked_up,
	                          uptarget_ref(t), &why);
	if (t->lookup == NULL) {
		uptarget_unref(t);
		return -1;
	}
	/* Answered at once (/etc/hosts, or a failure known now): the
	 * callback will not run. */
	if (!resolve_pending(t->lookup))
		looked_up(t->lookup, t);
	return 0;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static struct uptarget *
target_new(struct upstream *u, const struct upstream_target *decl,
           struct resolver *dns)
{
	struct uptarget *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->up = u;
	t->refs = 1;
	t->scheme = decl->scheme;
	t->port = decl->port;
	t->url = strdup(decl->url);
	t->host = dup_or_null(decl->host);
	t->path = dup_or_null(decl->path);
	t->base = strdup(decl->base != NULL ? decl->base : "");
	t->authority = strdup(decl->authority != NULL ? decl->authority :
	                      "localhost");
	TAILQ_INIT(&t->idle);
	if (t->url == NULL || t->base == NULL || t->authority == NULL ||
	    (decl->host != NULL && t->host == NULL) ||
	    (decl->path != NULL && t->path == NULL)) {
		uptarget_unref(t);
		return NULL;
	}
	switch (target_resolve(t, dns)) {
	case 1:
		t->addr_ok = 1;
		break;
	case -1:
		log_msg(LOG_ERROR, "upstream target %s: cannot resolve host "
		        "name \"%s\"", t->url, t->host);
		break;
	}
	return t;
}

struct uptarget *
uptarget_ref(struct uptarget *t)
{
	t->refs++;
	return t;
}

void
uptarget_unref(struct uptarget *t)
{
	if (t == NULL || --t->refs > 0)
		return;
	free(t->url);
	free(t->host);
	free(t->path);
	free(t->base);
	free(t->authority);
	free(t);
}

/* A reload removed t (or the group goes): no new attempts, no pool, no
 * checks; attempts under way keep it until they end. */
static void
target_detach(struct uptarget *t)
{
	if (t->lookup != NULL) {
		/* Its callback never runs now: its reference goes here. */
		resolve_free(t->lookup);
		t->lookup = NULL;
		uptarget_unref(t);
	}
	health_stop(t);
	uptarget_close_idle(t);
	t->up = NULL;
	uptarget_unref(t);
}

int
uptarget_available(const struct uptarget *t, uint64_t now)
{
	return t->addr_ok && !t->down && (t->ejected_until_ms == 0 ||
	                                  now >= t->ejected_until_ms);
}

/* --- the group --------------------------------------------------------- */

static void
settings_free(struct upstream *u)
{
	free(u->health_path);
	free(u->server_name);
	SSL_CTX_free(u->tls);
	u->health_path = NULL;
	u->server_name = NULL;
	u->tls = NULL;
}

static int
settings_take(struct upstream *u, const struct upstream_conf *c)
{
	u->scheme = c->scheme;
	u->least_request = c->least_request;
	u->keepalive = (size_t)c->keepalive;
	u->connect_timeout_ms = upstream_ms(c->connect_timeout_ms);
	u->has_health = c->health != NULL;
	if (c->health != NULL) {
		u->health_path = strdup(c->health->path);
		u->health_interval_ms = upstream_ms(c->health->interval_ms);
		u->health_timeout_ms = upstream_ms(c->health->timeout_ms);
		u->healthy = (unsigned)c->health->healthy;
		u->unhealthy = (unsigned)c->health->unhealthy;
		if (u->health_path == NULL)
			return -1;
	}
	u->has_eject = c->eject != NULL;
	if (c->eject != NULL) {
		u->eject_failures = (unsigned)c->eject->consecutive_failures;
		u->eject_base_ms = upstream_ms(c->eject->base_ms);
	}
	if (c->scheme == TARGET_HTTPS) {
		const struct upstream_tls *tls = c->tls;
		const char *why = NULL;

		u->tls = upstream_tls_ctx(tls != NULL ? tls->ca : NULL,
		                          tls == NULL || tls->verify, &why);
		if (u->tls == NULL) {
			log_msg(LOG_ERROR, "upstream %s: %s", c->key, why);
			return -1;
		}
		if (tls != NULL && tls->server_name != NULL &&
		    (u->server_name = strdup(tls->server_name)) == NULL)
			return -1;
	}
	return 0;
}

static struct uptarget *
find_target(struct uptarget **v, size_t n, const char *url)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL && strcmp(v[i]->url, url) == 0)
			return v[i];
	return NULL;
}

/* The targets of c: those of old[0..nold) with the same URL carry over
 * (taken out of old), the others are new. */
static int
targets_take(struct upstream *u, const struct upstream_conf *c,
             struct uptarget **old, size_t nold, struct resolver *dns)
{
	size_t i, n = c->targets.n;

	u->targets = calloc(n, sizeof(*u->targets));
	if (u->targets == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct upstream_target *d = c->targets.v[i];
		struct uptarget *t = find_target(old, nold, d->url);
		size_t k;

		if (t != NULL) {
			for (k = 0; k < nold; k++)
				if (old[k] == t)
					old[k] = NULL;
		} else if ((t = target_new(u, d, dns)) == NULL) {
			return -1;
		}
		u->targets[u->ntargets++] = t;
	}
	return 0;
}

static void
targets_start_checks(struct upstream *u)
{
	size_t i;

	for (i = 0; i < u->ntargets; i++) {
		if (u->has_health)
			health_start(u->targets[i]);
		else
			health_stop(u->targets[i]);
	}
}

static void
targets_drop(struct uptarget **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			target_detach(v[i]);
	free(v);
}

struct upstream *
upstream_new(struct event_base *base, const struct upstream_conf *conf,
             struct resolver *dns)
{
	struct upstream *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->refs = 1;
	u->base = base;
	u->label = strdup(conf->inline_url || conf->module == NULL ?
	                  conf->name : conf->key);
	u->key = strdup(conf->key);
	if (u->label == NULL || u->key == NULL || settings_take(u, conf) < 0 ||
	    targets_take(u, conf, NULL, 0, dns) < 0) {
		upstream_unref(u);
		return NULL;
	}
	targets_start_checks(u);
	return u;
}

int
upstream_update(struct upstream *u, const struct upstream_conf *conf,
                struct resolver *dns)
{
	struct upstream next;
	struct uptarget **old = u->targets;
	size_t nold = u->ntargets, i;

	memset(&next, 0, sizeof(next));
	if (settings_take(&next, conf) < 0) {
		settings_free(&next);
		return -1;
	}
	u->targets = NULL;
	u->ntargets = 0;
	if (targets_take(u, conf, old, nold, dns) < 0) {
		for (i = 0; i < u->ntargets; i++)
			if (find_target(old, nold, u->targets[i]->url) == NULL)
				target_detach(u->targets[i]);
		free(u->targets);
		u->targets = old;
		u->ntargets = nold;
		settings_free(&next);
		return -1;
	}
	targets_drop(old, nold);
	settings_free(u);
	u->scheme = next.scheme;
	u->least_request = next.least_request;
	u->keepalive = next.keepalive;
	u->connect_timeout_ms = next.connect_timeout_ms;
	u->has_health = next.has_health;
	u->health_path = next.health_path;
	u->health_interval_ms = next.health_interval_ms;
	u->health_timeout_ms = next.health_timeout_ms;
	u->healthy = next.healthy;
	u->unhealthy = next.unhealthy;
	u->has_eject = next.has_eject;
	u->eject_failures = next.eject_failures;
	u->eject_base_ms = next.eject_base_ms;
	u->tls = next.tls;
	u->server_name = next.server_name;
	for (i = 0; i < u->ntargets; i++) {
		u->targets[i]->up = u;
		if (!u->has_eject)
			u->targets[i]->ejected_until_ms = 0;
		if (!u->has_health)
			u->targets[i]->down = 0;
	}
	targets_start_checks(u);
	return 0;
}

struct upstream *
upstream_ref(struct upstream *u)
{
	u->refs++;
	return u;
}

void
upstream_unref(struct upstream *u)
{
	if (u == NULL || --u->refs > 0)
		return;
	targets_drop(u->targets, u->ntargets);
	settings_free(u);
	free(u->label);
	free(u->key);
	free(u);
}

const char *
upstream_label(const struct upstream *u)
{
	return u->label;
}

void
upstream_get_counts(const struct upstream *u, struct upstream_counts *out)
{
	*out = u->counts;
}

size_t
upstream_targets(const struct upstream *u)
{
	return u->ntargets;
}

size_t
upstream_targets_healthy(const struct upstream *u)
{
	uint64_t now = upstream_now_ms();
	size_t i, n = 0;

	for (i = 0; i < u->ntargets; i++)
		n += uptarget_available(u->targets[i], now);
	return n;
}

int
upstream_target_at(const struct upstream *u, size_t i,
                   struct upstream_target_view *out)
{
	const struct uptarget *t;
	uint64_t now = upstream_now_ms();

	if (i >= u->ntargets)
		return 0;
	t = u->targets[i];
	out->url = t->url;
	out->in_flight = t->in_flight;
	out->idle = t->nidle;
	out->ejections = t->ejections;
	out->back_in_ms = 0;
	if (t->down) {
		out->state = "down";
	} else if (t->ejected_until_ms > now) {
		out->state = "ejected";
		out->back_in_ms = t->ejected_until_ms - now;
	} else {
		out->state = "up";
	}
	return 1;
}

const char *
upstream_balance(const struct upstream *u)
{
	return u->least_request ? "least-request" : "round-robin";
}
