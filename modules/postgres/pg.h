/*
 * pg.h - the PostgreSQL state store's internal types, shared by its files.
 *
 * The provider is a pool of libpq connections driven by libevent on the
 * service's loop; nothing here blocks. Work is a struct pg_op: allocated
 * by an aster_store_ops entry point (ops.c, docs.c), queued on the pool
 * (or on its transaction), sent by a connection (conn.c), and completed
 * onto the pool's done list (pool.c), whose loop callback is the only
 * place a caller's callback runs. That single point keeps the connection
 * state machine free of re-entrancy: a callback may submit more work,
 * commit, or even stop the store, and nothing on the stack below it
 * holds a stale pointer. Host names are looked up with evdns before
 * libpq connects (resolve.c), since libpq's own lookup would block.
 * Notifications (notify.c) have a connection of their own, outside the
 * pool's array: the listener, which runs LISTEN and reads NOTIFYs; what
 * it receives waits on the pool's note list for the same loop callback.
 */
#ifndef ASTER_PG_H
#define ASTER_PG_H

#include <aster/provider.h>
#include <aster/store.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <sys/queue.h>

#define PG_LOG_PREFIX "postgres: "

enum pg_kind {
	PG_QUERY,
	PG_EXEC,
	PG_BEGIN,
	PG_COMMIT,
	PG_ROLLBACK,
	PG_DOC_GET,
	PG_DOC_PUT_ANY,
	PG_DOC_PUT_ABSENT,
	PG_DOC_PUT_VERSION,
	PG_DOC_DEL_ANY,
	PG_DOC_DEL_VERSION,
	PG_DOC_LIST,
	PG_PUBLISH,                 /* SELECT pg_notify($1, $2) */
};

/* One unit of caller work, from the API call to its callback. */
struct pg_op {
	TAILQ_ENTRY(pg_op) link;
	enum pg_kind kind;
	struct aster_txn *txn;      /* BEGIN: the new one; else the caller's */
	uint64_t queued_ms;         /* when it entered the pool's queue */

	const char *text;           /* SQL, script or statement name */
	int nparams;
	const char *const *params;  /* text parameters, NULL: SQL NULL */
	size_t vlen;                /* doc_put: the value's length */
	size_t limit;               /* doc_list: what the caller asked for */
	int rolled_back;            /* COMMIT sent as ROLLBACK (failed txn) */

	/* The outcome, filled when the op completes. */
	enum aster_store_status st;
	PGresult *res;              /* cleared after the callback */
	char *err;                  /* one line, or NULL */

	union {
		aster_store_rows_cb rows;
		aster_store_done_cb done;
		aster_store_txn_cb txn;
		aster_store_doc_cb doc;
		aster_store_list_cb list;
	} cb;
	void *arg;
	/* the parameter array and the strings follow */
};

TAILQ_HEAD(pg_opq, pg_op);

/*
 * An open transaction. It is pinned to one connection from its BEGIN to
 * its COMMIT/ROLLBACK; its statements wait on its own queue, in order.
 * When that connection breaks the transaction is dead: what it did is
 * lost (the server rolled it back), and only rollback can succeed.
 */
struct aster_txn {
	TAILQ_ENTRY(aster_txn) link;
	struct pg_conn *conn;       /* NULL before BEGIN ran, or once dead */
	struct pg_opq queue;        /* statements waiting for conn */
	int dead;                   /* its connection broke */
	char *dead_msg;
	int failed;                 /* a statement failed: rollback only */
	enum aster_store_status fail_st;
	char *fail_msg;
	int ending;                 /* commit or rollback was called */
};

enum pg_cstate {
	PG_DOWN,          /* waiting for the backoff timer */
	PG_RESOLVING,     /* looking host names up (resolve.c) */
	PG_CONNECTING,    /* PQconnectPoll in progress */
	PG_WAIT_SCHEMA,   /* connected; another connection creates tables */
	PG_SETUP,         /* schema, PREPAREs or a cleanup ROLLBACK */
	PG_IDLE,          /* ready, nothing in flight */
	PG_BUSY,          /* one caller op in flight */
};

enum pg_step {
	PG_STEP_NONE,
	PG_STEP_SCHEMA,
	PG_STEP_PREPARE,
	PG_STEP_RESET,
	PG_STEP_OP,
	PG_STEP_LISTEN,   /* the listener's LISTEN/UNLISTEN script */
};

struct pg_pool;
struct pg_resolver;
struct pg_resolve;

struct pg_conn {
	struct pg_pool *pool;
	PGconn *pg;
	evutil_socket_t fd;
	struct event *rev;          /* EV_READ|EV_PERSIST while connected */
	struct event *wev;          /* EV_WRITE while PQflush says 1 */
	struct event *timer;        /* backoff, or the attempt's deadline */
	struct pg_resolve *resolve; /* PG_RESOLVING: the attempt's lookups */
	enum pg_cstate state;
	enum pg_step step;
	int prep;                   /* PG_STEP_PREPARE: which statement */
	int ready;                  /* every statement prepared */
	int flushing;
	int doomed;                 /* the server said FATAL: it is closing */
	char doom_msg[160];
	int listener;               /* the pool's LISTEN connection */
	unsigned attempts;          /* failed attempts since the last up */
	struct pg_op *op;           /* in flight (PG_STEP_OP) */
	struct aster_txn *txn;      /* pinned transaction */
	PGresult *res;              /* the result kept for the step */
};

/* A channel's longest name (PostgreSQL's NAMEDATALEN - 1), and the
 * longest payload NOTIFY takes. */
#define PG_CHANNEL_MAX 63
#define PG_PAYLOAD_MAX 7999

/* One subscribe() (notify.c). */
struct pg_sub {
	TAILQ_ENTRY(pg_sub) link;
	void (*cb)(void *arg, const char *payload);
	void *arg;
	int gone;                   /* unsubscribed while callbacks ran:
	                               freed once they are done */
};

/*
 * A channel with subscribers, or one the listener still LISTENs to.
 * `listening` is what the listener's current session is known to do;
 * a LISTEN/UNLISTEN script in flight carries the channels marked
 * `sending`, and makes `listening` equal `sent` when it succeeds.
 */
struct pg_chan {
	TAILQ_ENTRY(pg_chan) link;
	TAILQ_HEAD(, pg_sub) subs;
	int nsubs;                  /* those not gone */
	int listening;
	int sending, sent;
	char name[PG_CHANNEL_MAX + 1];
};

/* A notification the listener received, waiting for the done event;
 * payload NULL: notifications on the channel may have been lost. */
struct pg_note {
	TAILQ_ENTRY(pg_note) link;
	char *payload;              /* points into the same allocation */
	char channel[PG_CHANNEL_MAX + 1];
};

enum pg_schema { PG_SCHEMA_NONE, PG_SCHEMA_RUNNING, PG_SCHEMA_DONE,
                 PG_SCHEMA_FAILED };
enum pg_start { PG_START_WAITING, PG_START_OK, PG_START_FAIL,
                PG_START_DONE };

struct pg_pool {
	const struct aster_host *host;
	struct aster_service *svc;  /* valid until started() is called */
	struct event_base *base;

	char *dsn;
	struct pg_resolver *resolver; /* NULL: no host name to look up */
	int size;
	int connect_timeout_ms;
	int queue_timeout_ms;

	struct pg_conn *conns;      /* size of them */
	struct pg_opq queue;        /* waiting for any idle connection */
	struct pg_opq done;         /* completed, callbacks not yet run */
	TAILQ_HEAD(, aster_txn) txns;

	struct event *done_ev;      /* runs the done list */
	struct event *queue_timer;  /* expires the queue's head */
	struct event *start_timer;  /* connect_timeout_ms after start */

	struct pg_conn *listener;   /* NULL until the first subscribe() */
	TAILQ_HEAD(, pg_chan) chans;
	TAILQ_HEAD(, pg_note) notes; /* received, callbacks not yet run */

	enum pg_schema schema;
	enum pg_start start;
	char *start_cause;
	int ever_connected;
	char *last_error;           /* the latest connection error */

	int stopping;               /* stop() ran: no new work is sent */
	int depth;                  /* callbacks on the stack */
	uint64_t rng;               /* backoff jitter */
};

/* The statements each connection prepares (docs.c). */
struct pg_stmt {
	const char *name;
	const char *sql;
};
extern const struct pg_stmt pg_stmts[];
extern const int pg_nstmts;
extern const char pg_schema_sql[];

/* pool.c */
struct pg_pool *pg_pool_new(const struct aster_host *host,
                            struct aster_service *svc, const char *dsn,
                            int size, int connect_timeout_ms,
                            int queue_timeout_ms);
void pg_pool_stop(struct pg_pool *p);
void pg_pool_submit(struct pg_pool *p, struct pg_op *op);
struct pg_op *pg_pool_next(struct pg_pool *p);
void pg_pool_complete(struct pg_pool *p, struct pg_op *op,
                      enum aster_store_status st, PGresult *res,
                      const char *msg);
void pg_pool_conn_error(struct pg_pool *p, const char *msg);
void pg_pool_conn_ready(struct pg_pool *p);
void pg_pool_start_result(struct pg_pool *p, int ok, const char *cause);
int pg_pool_healthy(const struct pg_pool *p);
void pg_txn_kill(struct pg_pool *p, struct aster_txn *txn, const char *msg);
uint64_t pg_now_ms(void);
char *pg_one_line(const char *msg);

/* conn.c */
int pg_conn_init(struct pg_conn *c, struct pg_pool *p);
void pg_conn_connect(struct pg_conn *c);
void pg_conn_resolved(struct pg_conn *c, const char *host,
                      const char *hostaddr, const char *port,
                      const char *err);
int pg_conn_next(struct pg_conn *c);
void pg_conn_close(struct pg_conn *c, const char *why);
void pg_conn_free(struct pg_conn *c);
enum aster_store_status pg_classify(const PGresult *res, const char **msg,
                                    int *lost);

/* notify.c */
int pg_publish(void *self, struct aster_txn *txn, const char *channel,
               const char *payload, aster_store_done_cb cb, void *arg);
int pg_subscribe(void *self, const char *channel,
                 void (*cb)(void *arg, const char *payload), void *arg);
int pg_unsubscribe(void *self, const char *channel,
                   void (*cb)(void *arg, const char *payload), void *arg);
char *pg_listen_script(struct pg_pool *p, int *oom);
void pg_listen_done(struct pg_pool *p);
void pg_listen_lost(struct pg_pool *p);
void pg_listen_notify(struct pg_pool *p, const char *channel,
                      const char *payload);
void pg_notes_deliver(struct pg_pool *p);
void pg_notify_sweep(struct pg_pool *p);
void pg_notify_free(struct pg_pool *p);

/* resolve.c */
int pg_resolver_new(struct event_base *base, const char *dsn,
                    struct pg_resolver **out);
void pg_resolver_close(struct pg_resolver *r);
int pg_resolve_start(struct pg_conn *c);
void pg_resolve_cancel(struct pg_resolve *job);
const char *pg_resolve_waiting(const struct pg_resolve *job);
char *pg_resolve_describe(PGconn *pg, const char *msg);

/* ops.c */
struct pg_op *pg_op_new(enum pg_kind kind, const char *text, size_t n,
                        const char *const *params, const size_t *lens);
void pg_op_free(struct pg_op *op);
/* Queues a new op of kind (text, n parameters) in txn (NULL: none) whose
 * end is told to cb; -1 when out of memory. */
int pg_submit_done(void *self, struct aster_txn *txn, enum pg_kind kind,
                   const char *text, size_t n, const char *const *params,
                   aster_store_done_cb cb, void *arg);
void pg_op_deliver(struct pg_op *op);
int pg_query(void *self, struct aster_txn *txn, const char *sql,
             size_t nparams, const char *const *params,
             aster_store_rows_cb cb, void *arg);
int pg_exec(void *self, struct aster_txn *txn, const char *script,
            aster_store_done_cb cb, void *arg);
int pg_begin(void *self, const char *lock, aster_store_txn_cb cb,
             void *arg);
int pg_commit(void *self, struct aster_txn *txn, aster_store_done_cb cb,
              void *arg);
int pg_rollback(void *self, struct aster_txn *txn, aster_store_done_cb cb,
                void *arg);

/* docs.c */
void pg_doc_deliver(struct pg_op *op);
int pg_doc_get(void *self, const char *ns, const char *key,
               aster_store_doc_cb cb, void *arg);
int pg_doc_put(void *self, const char *ns, const char *key,
               const char *value, size_t len, enum aster_doc_cond cond,
               uint64_t version, aster_store_doc_cb cb, void *arg);
int pg_doc_delete(void *self, const char *ns, const char *key,
                  enum aster_doc_cond cond, uint64_t version,
                  aster_store_done_cb cb, void *arg);
int pg_doc_list(void *self, const char *ns, const char *prefix,
                const char *after, size_t limit, aster_store_list_cb cb,
                void *arg);

#endif
