/*
 * control_runtimes.c - the runtime processes on the control socket (SPEC
 * §10, §12): `asterctl runtimes` lists them, `asterctl restart MODULE`
 * starts a module's failed one again, and `asterctl status` counts them.
 *
 * Everything is read from the current generation through
 * runtime_proc_view(), so the answers show what the supervisor knows at
 * this turn of the loop, in plan order.
 */
#include "control.h"

#include <json-c/json.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "process/child.h"
#include "runtime/runtime.h"

/* The conventional name of a signal ("SIGKILL"), into buf, or NULL for
 * one without (the real-time ones): what an operator searches for, where
 * strsignal(3) gives a sentence that varies with the C library. */
static const char *
signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev == NULL)
		return NULL;
	snprintf(buf, len, "SIG%s", abbrev);
	return buf;
}

/* null before any exit, {"code": N} or {"signal": N, "name": "SIGX"}. */
static json_object *
json_last_exit(const struct child_view *v)
{
	json_object *o;
	const char *name;
	char buf[32];

	if (!v->has_exit)
		return NULL;
	o = json_object_new_object();
	if (v->exit_signal == 0) {
		json_object_object_add(o, "code",
		                       json_object_new_int(v->exit_code));
		return o;
	}
	name = signal_name(v->exit_signal, buf, sizeof(buf));
	json_object_object_add(o, "signal",
	                       json_object_new_int(v->exit_signal));
	json_object_object_add(o, "name", name != NULL ?
	                       json_object_new_string(name) : NULL);
	return o;
}

static json_object *
json_runtime(const char *module, const struct child_view *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "module", json_object_new_string(module));
	json_object_object_add(o, "pid", v->pid > 0 ?
	                       json_object_new_int64((int64_t)v->pid) : NULL);
	json_object_object_add(o, "state", json_object_new_string(
	    child_state_name(v->state)));
	json_object_object_add(o, "restarts",
	                       json_object_new_int64((int64_t)v->restarts));
	json_object_object_add(o, "lastExit", json_last_exit(v));
	json_object_object_add(o, "uptimeMs",
	                       json_object_new_int64((int64_t)v->uptime_ms));
	if (v->state == CHILD_BACKOFF)
		json_object_object_add(o, "retryInMs", json_object_new_int64(
		    (int64_t)v->retry_in_ms));
	json_object_object_add(o, "linesDropped", json_object_new_int64(
	    (int64_t)v->lines_dropped));
	if (v->cause != NULL)
		json_object_object_add(o, "cause",
		                       json_object_new_string(v->cause));
	return o;
}

json_object *
control_runtimes(struct runtime *rt)
{
	const struct generation *g = rt->current;
	json_object *o = control_ok();
	json_object *a = json_object_new_array();
	struct child_view v;
	size_t i;

	for (i = 0; g != NULL && i < g->nruns; i++)
		if (runtime_proc_view(&g->runs[i], &v))
			json_object_array_add(a, json_runtime(
			    g->runs[i].module->id, &v));
	json_object_object_add(o, "runtimes", a);
	return o;
}

json_object *
control_runtime_counts(struct runtime *rt)
{
	const struct generation *g = rt->current;
	json_object *o = json_object_new_object();
	int64_t total = 0, ready = 0, failed = 0;
	struct child_view v;
	size_t i;

	for (i = 0; g != NULL && i < g->nruns; i++) {
		if (!runtime_proc_view(&g->runs[i], &v))
			continue;
		total++;
		ready += v.state == CHILD_READY;
		failed += v.state == CHILD_FAILED;
	}
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "ready", json_object_new_int64(ready));
	json_object_object_add(o, "failed", json_object_new_int64(failed));
	return o;
}

json_object *
control_restart(struct runtime *rt, json_object *req)
{
	const char *err = NULL;
	json_object *v, *o;
	const char *id;

	if (!json_object_object_get_ex(req, "module", &v) ||
	    !json_object_is_type(v, json_type_string))
		return control_error("\"module\" (the module's id) is "
		                     "required");
	id = json_object_get_string(v);
	/* err is static text, so it cannot name the module: this does. */
	if (runtime_restart_module(rt, id, &err) < 0)
		return control_error("cannot restart '%s': %s", id,
		                     err != NULL ? err : "refused");
	o = control_ok();
	json_object_object_add(o, "module", json_object_new_string(id));
	return o;
}
