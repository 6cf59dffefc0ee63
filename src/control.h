/*
 * control.h - the control socket asterctl talks to (SPEC §12).
 *
 * A Unix stream socket, mode 0600, served on the runtime's event base.
 * Each connection sends one JSON request per line and gets one JSON line
 * back per request:
 *
 *   {"command":"status"}                      {"ok":true,"state":...}
 *   {"command":"modules"}                     {"ok":true,"modules":[...]}
 *   {"command":"routes"}                      {"ok":true,"routes":[...]}
 *   {"command":"plan"}                        {"ok":true,"waves":[[...]]}
 *   {"command":"reload","dryRun":false}       runtime_reload()'s report
 *   {"command":"keys","action":"create","name":"ops","role":"admin"}
 *                                             {"ok":true,"key":{...,"key"}}
 *   {"command":"keys","action":"list"}        {"ok":true,"keys":[...]}
 *   {"command":"keys","action":"revoke","id":"..."}
 *                                             {"ok":true,"key":{...}}
 *   {"command":"runtimes"}                    {"ok":true,"runtimes":[...]}
 *   {"command":"restart","module":"ID"}       {"ok":true,"module":"ID"}
 *
 * and {"ok":false,"error":"..."} for anything refused. asterctl(1)
 * documents every field.
 */
#ifndef ASTER_CONTROL_H
#define ASTER_CONTROL_H

struct control;
struct runtime;
struct runtime_companion;

/* A request line longer than this is answered with an error and the
 * connection is closed. */
#define CONTROL_MAX_LINE (64 * 1024)

/* Connections past this many get one error line and are closed. */
#define CONTROL_MAX_CONNS 64

/*
 * Creates the socket at path (and its parent directory, mode 0700, when
 * missing) and serves it on rt->base. A socket file left by a dead
 * process is replaced; one that a live process answers on is not.
 * Returns the control, or NULL with *err set to a malloc'ed message for
 * the operator (the caller frees it).
 *
 * rt is read on every request and must outlive the control. Never call
 * control_close() from inside runtime_reload(): the request being
 * answered runs on the control's memory. The process must ignore
 * SIGPIPE: a client that leaves before its answer is written must not
 * end the daemon.
 */
struct control *control_open(struct runtime *rt, const char *path,
                             char **err);

/* Closes every connection, stops listening and removes the socket file
 * (unless another process has replaced it since). NULL is ignored. */
void control_close(struct control *c);

/* The control socket as the runtime's companion: opened at the product's
 * server.control path once the listeners serve (a warning, and no socket,
 * when it cannot be), closed when stopping begins. */
extern const struct runtime_companion control_companion;

/*
 * Commands that answer later (control_keys.c, and a reload that looks
 * host names up first): such a command returns
 * NULL and gives its answer through control_answer_later(p, ans), once,
 * which takes ans; the connection reads no further request meanwhile.
 */
struct control_pending;
struct json_object;
void control_answer_later(struct control_pending *p, struct json_object *ans);

/* {"command":"keys","action":"create"|"list"|"revoke",...}: the answer,
 * or NULL when it comes later through p. */
struct json_object *control_keys(struct runtime *rt, struct json_object *req,
                                 struct control_pending *p);

/* The answers every command gives: {"ok":true} to add to, and
 * {"ok":false,"error":MESSAGE}. */
struct json_object *control_ok(void);
struct json_object *control_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* control_runtimes.c: {"command":"runtimes"}, each runtime process of
 * the running configuration; {"command":"restart","module":"ID"}, a
 * module's runtime started again; and the counts `status` shows,
 * {"total","ready","failed"}. */
struct json_object *control_runtimes(struct runtime *rt);
struct json_object *control_restart(struct runtime *rt,
                                    struct json_object *req);
struct json_object *control_runtime_counts(struct runtime *rt);

#endif
