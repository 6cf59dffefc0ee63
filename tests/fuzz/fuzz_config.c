/*
 * fuzz_config.c - libFuzzer target for the configuration loader.
 *
 * One input is a whole config dir: its text is cut on separator lines
 * (FUZZ_SEPARATOR) into at most FUZZ_MAX_FILES files, the first read as
 * product.yaml and the others as modules/mN.yaml. Each input then takes
 * the path of `asterd --check-config`: decode every file from memory,
 * validate and plan with the provider registry, sort and render the
 * diagnostics as text and JSON, and, when a plan was made, print it in the
 * three --plan formats. Output goes to /dev/null; only the sanitizers
 * (ASan, UBSan, LeakSanitizer) judge the run.
 *
 * Run it with `make fuzz`; seeds are in tests/fuzz/seeds/config/ (and
 * every config of tests/configs and conf.d), the dictionary in
 * tests/fuzz/config.dict.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/plan_out.h"
#include "config/manifest.h"
#include "diag.h"
#include "graph/graph.h"
#include "product.h"
#include "provider/registry.h"

#define FUZZ_SEPARATOR "\n#@file\n"
#define FUZZ_MAX_FILES 8

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct provider_registry *registry;
static FILE *devnull;

/*
 * The module path when ASTER_MODULE_PATH is unset: build/modules for a run
 * from the source tree, then the providers and test providers beside the
 * fuzzer and those of the plain build (`make fuzz` runs it from
 * build/fuzz), so that provider config checks and the registry's refusals
 * (tests/providers: badabi, misnamed, nosymbol) are fuzzed too when they
 * have been built. Missing directories are harmless: the registry only
 * stats them.
 */
static const char *
default_module_path(void)
{
	static char path[5 * PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "build/modules";
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return "build/modules";
	*slash = '\0';
	snprintf(path, sizeof(path), "build/modules:%s/modules:%s/../modules:"
	         "%s/tests/modules:%s/../tests/modules", exe, exe, exe, exe);
	return path;
}

/*
 * Called once by libFuzzer before any input: sets the environment the
 * seeds interpolate, creates the registry shared by every input (providers
 * stay loaded for the life of the process, as in asterd) and opens the
 * sink for rendered output. Exits when either cannot be made.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *mp = getenv("ASTER_MODULE_PATH");

	(void)argc;
	(void)argv;
	setenv("FUZZ_VAR", "x", 1);
	setenv("FUZZ_ID", "fuzzed", 1);
	setenv("FUZZ_PORT", "8080", 1);
	setenv("FUZZ_PATH", "/gateway/v1/fuzz", 1);
	setenv("FUZZ_EMPTY", "", 1);
	unsetenv("FUZZ_UNSET");
	registry = registry_new(mp != NULL && *mp != '\0' ? mp :
	                        default_module_path());
	devnull = fopen("/dev/null", "w");
	if (registry == NULL || devnull == NULL) {
		fputs("fuzz_config: cannot create the registry or open "
		      "/dev/null\n", stderr);
		exit(1);
	}
	return 0;
}

/*
 * Adds the len bytes at text to cfg as file rel. The bytes are copied to a
 * block of exactly len bytes, not NUL-terminated, so that ASan catches a
 * read past the end of a file that would otherwise land in the next one.
 */
static void
add_file(struct config *cfg, struct diag_list *dl, const char *rel,
         const uint8_t *text, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, text, len);
	config_add_text(cfg, dl, rel, copy, len);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t seplen = sizeof(FUZZ_SEPARATOR) - 1;
	const uint8_t *p = data, *end = data + size, *sep;
	const char *summary = NULL;
	struct diag_list dl;
	struct config *cfg;
	char rel[32];
	int nfile;

	if (diag_list_init(&dl) < 0)
		abort();
	if ((cfg = config_new("fuzz")) == NULL)
		abort();
	for (nfile = 0; nfile < FUZZ_MAX_FILES; nfile++) {
		sep = NULL;
		if (nfile + 1 < FUZZ_MAX_FILES)
			sep = memmem(p, (size_t)(end - p), FUZZ_SEPARATOR,
			             seplen);
		if (nfile == 0)
			snprintf(rel, sizeof(rel), "product.yaml");
		else
			snprintf(rel, sizeof(rel), "modules/m%d.yaml", nfile);
		/* The newline before the separator ends the file. */
		add_file(cfg, &dl, rel, p,
		         sep != NULL ? (size_t)(sep - p) + 1 : (size_t)(end - p));
		if (sep == NULL)
			break;
		p = sep + seplen;
	}
	config_index_modules(cfg);
	graph_validate(cfg, registry, &dl);
	diag_sort(&dl);

	/* What --check-config prints, in both formats. */
	if (dl.errors == 0)
		summary = product_summary(cfg);
	diag_render_text(&dl, devnull);
	diag_render_summary(&dl, devnull);
	diag_render_json(&dl, summary, devnull);
	if (cfg->planned) {
		plan_print_text(cfg, devnull);
		plan_print_json(cfg, devnull);
		plan_print_dot(cfg, devnull);
	}
	fflush(devnull);

	config_free(cfg);
	diag_list_release(&dl);
	return 0;
}
