/*
 * ops.c - store work in flight.
 *
 * Every store call the provider makes carries a struct au_op as its
 * argument. The store answers every call, but it may do so after our
 * stop(): the auth module stops before the store's module, and a reload
 * may restart it while the store keeps running. So stop() answers the
 * callers waiting on an op (UNAVAILABLE) and detaches the op (a = NULL);
 * the op lives on until the store's last callback for it, which then
 * only rolls back its transaction, if it holds one, and frees it.
 */
#include "au.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct au_op *
au_op_new(struct au_auth *a, enum au_op_kind kind)
{
	struct au_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->a = a;
	op->store = a->store;
	op->kind = kind;
	op->next = a->ops;
	if (a->ops != NULL)
		a->ops->prev = op;
	a->ops = op;
	return op;
}

static void
au_op_unlink(struct au_op *op)
{
	if (op->a == NULL)
		return;
	if (op->prev != NULL)
		op->prev->next = op->next;
	else
		op->a->ops = op->next;
	if (op->next != NULL)
		op->next->prev = op->prev;
	op->prev = op->next = NULL;
}

void
au_op_free(struct au_op *op)
{
	if (op == NULL)
		return;
	au_op_unlink(op);
	if (op->ev != NULL)
		event_free(op->ev);
	if (op->token != NULL) {
		OPENSSL_cleanse(op->token, strlen(op->token));
		free(op->token);
	}
	if (op->made != NULL)
		au_centry_unref(&op->made->ce);
	free(op);
}

static void
au_op_noop_done(void *arg, enum aster_store_status st, const char *error)
{
	(void)arg;
	(void)st;
	(void)error;
}

void
au_op_abandon(struct au_op *op)
{
	struct aster_txn *txn = op->txn;

	op->txn = NULL;
	if (txn != NULL && op->store.ops != NULL)
		(void)op->store.ops->rollback(op->store.self, txn,
		                              au_op_noop_done, NULL);
	au_op_free(op);
}

void
au_ops_detach_all(struct au_auth *a)
{
	struct au_op *op;

	while ((op = a->ops) != NULL) {
		au_op_unlink(op);
		op->a = NULL;
		au_key_op_answer(op, ASTER_AUTH_UNAVAILABLE, NULL,
		                 "the auth service is stopping");
		if (op->ev != NULL)     /* no store callback will come */
			au_op_free(op);
	}
}

static void
au_op_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct au_op *op = arg;
	struct au_auth *a = op->a;

	(void)fd;
	(void)what;
	/* Fired: a stop() inside the callback must not free op (it frees
	 * only ops still waiting for their event). */
	event_free(op->ev);
	op->ev = NULL;
	if (a == NULL) {        /* not reached: detach frees these */
		au_op_free(op);
		return;
	}
	au_enter(a);
	au_key_op_answer(op, op->dst, NULL, op->detail);
	au_op_free(op);
	au_leave(a);
}

int
au_op_defer(struct au_op *op, enum aster_auth_status st, const char *detail)
{
	static const struct timeval now = {0, 0};

	op->dst = st;
	snprintf(op->detail, sizeof(op->detail), "%s",
	         detail != NULL ? detail : "");
	if (op->a->base == NULL ||
	    (op->ev = evtimer_new(op->a->base, au_op_deferred, op)) == NULL ||
	    evtimer_add(op->ev, &now) < 0)
		return -1;
	return 0;
}
