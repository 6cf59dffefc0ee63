/*
 * main.c - asterd's command line (SPEC §2).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/plan_out.h"
#include "contract/openapi.h"
#include "control.h"
#include "graph/graph.h"
#include "diag.h"
#include "product.h"
#include "provider/registry.h"
#include "runtime/runtime.h"

#include <event2/event.h>

#ifndef ASTER_VERSION
#define ASTER_VERSION "0.0.0"
#endif
#ifndef ASTER_SYSCONFDIR
#define ASTER_SYSCONFDIR "/etc"
#endif
#ifndef ASTER_MODULEDIR
#define ASTER_MODULEDIR "/usr/lib/aster/modules"
#endif

/* sysexits(3) */
#define EXIT_USAGE 64
#define EXIT_UNAVAILABLE 69
#define EXIT_SOFTWARE 70
#define EXIT_CONFIG 78

enum command {
	CMD_RUN,
	CMD_CHECK,
	CMD_PLAN,
	CMD_OPENAPI,
};

struct options {
	enum command command;
	const char *config_dir;
	const char *module_path;
	const char *format;
	int verbose;
	int ephemeral_ports;
	unsigned scopes;            /* --openapi --scope */
};

static void
usage(FILE *out)
{
	fputs("usage: asterd [-c DIR] [--module-path DIR[:DIR...]]\n"
	      "       asterd --check-config|-t [-c DIR] [--format text|json] "
	      "[--verbose]\n"
	      "       asterd --plan [-c DIR] [--format text|json|dot]\n"
	      "       asterd --openapi [-c DIR] [--scope SCOPE,...]\n"
	      "       asterd --version | --help\n"
	      "\n"
	      "  -c, --config DIR     config dir (default " ASTER_SYSCONFDIR
	      "/aster/conf.d)\n"
	      "      --module-path P  provider directories, ':' separated\n"
	      "                       (default: $ASTER_MODULE_PATH, else "
	      ASTER_MODULEDIR ")\n"
	      "  -t, --check-config   validate the configuration and exit\n"
	      "      --plan           print the start-up plan and exit\n"
	      "      --openapi        print the OpenAPI 3.1 document and exit\n"
	      "      --scope LIST     scopes --openapi covers (default "
	      "public,user,admin)\n"
	      "      --format FMT     output format of --check-config or "
	      "--plan\n"
	      "  -v, --verbose        list every file read\n"
	      "      --ephemeral-ports  bind TCP listeners on port 0 and "
	      "print the\n"
	      "                       bound addresses on stdout (tests)\n"
	      "  -V, --version        print the version and exit\n"
	      "  -h, --help           print this help and exit\n"
	      "\n"
	      "Exit status: 0 ok, 64 usage, 69 could not start, "
	      "70 internal error, 78 invalid configuration.\n", out);
}

static int
bad_usage(const char *fmt, const char *arg)
{
	fputs("asterd: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'asterd --help'.\n", stderr);
	return EXIT_USAGE;
}

/* A build run from its source tree finds its providers beside it. */
static const char *
default_module_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("ASTER_MODULE_PATH");
	struct stat st;
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0')
		return env;
	n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	if (n > 0) {
		path[n] = '\0';
		slash = strrchr(path, '/');
		if (slash != NULL) {
			strcpy(slash + 1, "modules");
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				return path;
		}
	}
	return ASTER_MODULEDIR;
}

/* "public,user" -> scope bits; -1 on an unknown name. */
static int
parse_scopes(const char *list, unsigned *out)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	*out = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned bit = graph_scope_bit(tok);

		if (bit == 0)
			return -1;
		*out |= bit;
	}
	return *out == 0 ? -1 : 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_MODULE_PATH = 256, OPT_PLAN, OPT_FORMAT, OPT_EPHEMERAL,
		OPT_OPENAPI, OPT_SCOPE,
	};
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"module-path", required_argument, NULL, OPT_MODULE_PATH},
		{"check-config", no_argument, NULL, 't'},
		{"plan", no_argument, NULL, OPT_PLAN},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"verbose", no_argument, NULL, 'v'},
		{"ephemeral-ports", no_argument, NULL, OPT_EPHEMERAL},
		{"openapi", no_argument, NULL, OPT_OPENAPI},
		{"scope", required_argument, NULL, OPT_SCOPE},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:tvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_dir = optarg;
			break;
		case OPT_MODULE_PATH:
			o->module_path = optarg;
			break;
		case 't':
		case OPT_PLAN:
		case OPT_OPENAPI:
			if (o->command != CMD_RUN)
				return bad_usage("%s", "--check-config, --plan "
				                 "and --openapi exclude each other");
			o->command = c == 't' ? CMD_CHECK :
			             c == OPT_PLAN ? CMD_PLAN : CMD_OPENAPI;
			break;
		case OPT_SCOPE:
			if (parse_scopes(optarg, &o->scopes) < 0)
				return bad_usage("unknown scope in '%s' (public, "
				                 "user, admin, internal)", optarg);
			break;
		case OPT_FORMAT:
			o->format = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_EPHEMERAL:
			o->ephemeral_ports = 1;
			break;
		case 'V':
			printf("asterd %s\n", ASTER_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return bad_usage("option '%s' needs an argument",
			                 argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'",
			                 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int
check_format(const struct options *o)
{
	const char *f = o->format;

	if (o->ephemeral_ports && o->command != CMD_RUN)
		return bad_usage("%s", "--ephemeral-ports goes with running "
		                 "the product");
	if (o->scopes != 0 && o->command != CMD_OPENAPI)
		return bad_usage("%s", "--scope goes with --openapi");
	if (f != NULL && o->command == CMD_OPENAPI)
		return bad_usage("%s", "--openapi prints JSON only");
	if (f == NULL)
		return 0;
	if (o->command == CMD_RUN)
		return bad_usage("%s", "--format goes with --check-config or "
		                 "--plan");

	if (strcmp(f, "text") == 0 || strcmp(f, "json") == 0 ||
	    (o->command == CMD_PLAN && strcmp(f, "dot") == 0))
		return 0;
	return bad_usage("unknown format '%s' (text, json, or dot for "
	                 "--plan)", f);
}

static int
report_check(const struct options *o, const struct config *cfg,
             const struct diag_list *dl)
{
	const char *summary = dl->errors == 0 && cfg != NULL ?
	                      product_summary(cfg) : NULL;

	if (o->format != NULL && strcmp(o->format, "json") == 0) {
		diag_render_json(dl, summary, stdout);
	} else {
		diag_render_text(dl, stderr);
		if (summary != NULL)
			fprintf(stderr, "%s\n", summary);
		else
			diag_render_summary(dl, stderr);
	}
	return dl->errors == 0 ? 0 : EXIT_CONFIG;
}

static int
report_plan(const struct options *o, const struct config *cfg,
            const struct diag_list *dl)
{
	if (dl->errors > 0 || cfg == NULL || !cfg->planned) {
		diag_render_text(dl, stderr);
		diag_render_summary(dl, stderr);
		return EXIT_CONFIG;
	}
	diag_render_text(dl, stderr);   /* warnings, if any */
	if (o->format == NULL || strcmp(o->format, "text") == 0)
		plan_print_text(cfg, stdout);
	else if (strcmp(o->format, "json") == 0)
		plan_print_json(cfg, stdout);
	else
		plan_print_dot(cfg, stdout);
	return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
}

static int
report_openapi(const struct options *o, struct config *cfg,
               const struct diag_list *dl)
{
	struct openapi_server *servers;
	size_t nservers;
	char *doc;

	if (dl->errors > 0 || cfg == NULL || !cfg->planned) {
		diag_render_text(dl, stderr);
		diag_render_summary(dl, stderr);
		return EXIT_CONFIG;
	}
	nservers = cfg->product->server != NULL ?
	           cfg->product->server->listen.n : 0;
	if ((servers = calloc(nservers + 1, sizeof(*servers))) == NULL)
		return EXIT_SOFTWARE;
	nservers = openapi_config_servers(cfg, servers, nservers);
	doc = openapi_document(cfg, servers, nservers, o->scopes != 0 ?
	                       o->scopes : SCOPE_PUBLIC | SCOPE_USER |
	                       SCOPE_ADMIN);
	free(servers);
	if (doc == NULL)
		return EXIT_SOFTWARE;
	printf("%s\n", doc);
	free(doc);
	return fflush(stdout) == 0 ? 0 : EXIT_SOFTWARE;
}

/* Runs the product; the runtime takes cfg over. */
static int
run(const struct options *o, struct config *cfg, struct diag_list *dl,
    struct provider_registry *reg)
{
	struct runtime rt;
	int rc;

	diag_render_text(dl, stderr);
	if (dl->errors > 0 || cfg == NULL) {
		diag_render_summary(dl, stderr);
		config_free(cfg);
		return EXIT_CONFIG;
	}
	memset(&rt, 0, sizeof(rt));
	rt.base = event_base_new();
	if (rt.base == NULL) {
		config_free(cfg);
		return EXIT_SOFTWARE;
	}
	rt.reg = reg;
	rt.config_dir = o->config_dir;
	rt.ephemeral_ports = o->ephemeral_ports;
	rt.companion = &control_companion;
	rc = runtime_run(&rt, cfg);
	/* Providers stopped by now may have left deferred clean-ups on the
	 * loop (libevent finalizes a cancelled DNS lookup on its next
	 * pass): one last pass runs them. */
	event_base_loop(rt.base, EVLOOP_NONBLOCK);
	event_base_free(rt.base);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o = {CMD_RUN, ASTER_SYSCONFDIR "/aster/conf.d", NULL,
	                    NULL, 0, 0, 0};
	struct provider_registry *reg;
	struct diag_list dl;
	struct config *cfg;
	int rc;

	if ((rc = parse_options(argc, argv, &o)) != 0 ||
	    (rc = check_format(&o)) != 0)
		return rc;
	if (o.module_path == NULL)
		o.module_path = default_module_path();
	reg = registry_new(o.module_path);
	if (reg == NULL || diag_list_init(&dl) < 0) {
		fputs("asterd: out of memory\n", stderr);
		return EXIT_SOFTWARE;
	}
	cfg = product_load(o.config_dir, reg, &dl, o.verbose);
	if (cfg == NULL && dl.errors == 0) {
		fputs("asterd: out of memory\n", stderr);
		diag_list_release(&dl);
		registry_free(reg);
		return EXIT_SOFTWARE;
	}
	switch (o.command) {
	case CMD_CHECK:
		rc = report_check(&o, cfg, &dl);
		break;
	case CMD_PLAN:
		rc = report_plan(&o, cfg, &dl);
		break;
	case CMD_OPENAPI:
		rc = report_openapi(&o, cfg, &dl);
		break;
	case CMD_RUN:
		rc = run(&o, cfg, &dl, reg);
		cfg = NULL;
		break;
	}
	config_free(cfg);
	diag_list_release(&dl);
	registry_free(reg);
	return rc;
}
