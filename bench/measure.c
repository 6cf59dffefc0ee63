/*
 * measure.c - runs one command and reports its wall time and peak RSS.
 *
 *     measure -o FILE COMMAND [ARG...]
 *
 * Writes one line to FILE: "SECONDS KIB STATUS", the wall time from fork to
 * reaping the child (monotonic clock), the child's peak resident set size
 * (ru_maxrss from wait4, in KiB) and its exit status (128 + N when killed
 * by signal N). The command's own output is left alone, so the caller can
 * redirect it. Exits 0 when the measurement was written, whatever the
 * command's status; 64 on bad usage, 70 when it cannot run or measure.
 *
 * bench/run.sh builds it with the system C compiler, so the benchmark
 * needs no package beyond the build dependencies (no GNU time).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	double start, wall;
	const char *outpath;
	FILE *out;
	pid_t pid;
	int status, code;

	if (argc < 4 || strcmp(argv[1], "-o") != 0) {
		fputs("usage: measure -o FILE COMMAND [ARG...]\n", stderr);
		return 64;
	}
	outpath = argv[2];
	start = now();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "measure: fork: %s\n", strerror(errno));
		return 70;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "measure: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n",
			        strerror(errno));
			return 70;
		}
	}
	wall = now() - start;
	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = 70;
	if ((out = fopen(outpath, "w")) == NULL) {
		fprintf(stderr, "measure: %s: %s\n", outpath, strerror(errno));
		return 70;
	}
	fprintf(out, "%.4f %ld %d\n", wall, ru.ru_maxrss, code);
	if (fclose(out) != 0) {
		fprintf(stderr, "measure: %s: %s\n", outpath, strerror(errno));
		return 70;
	}
	return 0;
}
