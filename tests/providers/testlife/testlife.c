/*
 * testlife.c - a test-only provider that records its life cycle.
 *
 * Each service appends "start LABEL", "stop LABEL" or "fail LABEL" lines
 * to the file named by `log`, so an integration test can read back the
 * order in which asterd started and stopped the modules of a product. With
 * `fail: CAUSE` the start hook fails with that cause instead, which is how
 * the tests make a module fail to start and watch the rollback. With
 * `pending: true` the start never ends (ASTER_PENDING without a later
 * host->started()), which holds a product in its starting state.
 */
#include <aster/provider.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct life_state {
	char *log;
	char *label;
};

static const struct aster_config_key life_keys[] = {
	{"log", ASTER_VALUE_PATH, 1, 0, 0,
	 "file the service appends its start and stop lines to"},
	{"label", ASTER_VALUE_STRING, 1, 0, 0, "name written in those lines"},
	{"fail", ASTER_VALUE_STRING, 0, 0, 0,
	 "when set, start fails with this text as the cause"},
	{"pending", ASTER_VALUE_BOOL, 0, 0, 0,
	 "true: start answers ASTER_PENDING and never reports the end"},
	{NULL, 0, 0, 0, 0, NULL},
};

/* One line, one write(2) on an O_APPEND file: lines of several services
 * never interleave. Errors are ignored: the test sees a missing line. */
static void
life_note(const char *log, const char *what, const char *label)
{
	char line[512];
	int fd, n;

	n = snprintf(line, sizeof(line), "%s %s\n", what, label);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return;
	while (write(fd, line, (size_t)n) == -1 && errno == EINTR)
		;
	close(fd);
}

static const char *
life_get(const struct aster_host *host, const aster_node *config,
         const char *key)
{
	const aster_node *n = host->map_get(config, key);

	return n != NULL ? host->scalar(n) : NULL;
}

static int
life_start(const struct aster_host *host, struct aster_service *svc,
           const aster_node *config, void **state, const char **cause)
{
	const aster_node *log_node = host->map_get(config, "log");
	const char *log = life_get(host, config, "log");
	const char *label = life_get(host, config, "label");
	const char *fail = life_get(host, config, "fail");
	const char *pending = life_get(host, config, "pending");
	struct life_state *st;

	(void)svc;
	if (log == NULL || label == NULL) {
		*cause = "testlife: 'log' and 'label' are required";
		return ASTER_FAILED;
	}
	log = host->resolve_path(log_node, log);
	if (fail != NULL) {
		life_note(log, "fail", label);
		*cause = fail;
		return ASTER_FAILED;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->log = strdup(log)) == NULL ||
	    (st->label = strdup(label)) == NULL) {
		if (st != NULL)
			free(st->log);
		free(st);
		*cause = "testlife: out of memory";
		return ASTER_FAILED;
	}
	*state = st;
	if (pending != NULL && strcmp(pending, "true") == 0) {
		life_note(st->log, "pending", st->label);
		return ASTER_PENDING;
	}
	life_note(st->log, "start", st->label);
	return ASTER_STARTED;
}

static void
life_stop(void *state)
{
	struct life_state *st = state;

	if (st == NULL)
		return;
	life_note(st->log, "stop", st->label);
	free(st->log);
	free(st->label);
	free(st);
}

ASTER_PROVIDER_DEFINE = {
	.abi = ASTER_PROVIDER_ABI,
	.name = "testlife",
	.description = "Test provider: records start and stop in a file",
	.config_keys = life_keys,
	.validate = NULL,
	.operations = NULL,
	.start = life_start,
	.stop = life_stop,
};
