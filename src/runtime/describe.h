/*
 * describe.h - the product a request runs on, as the JSON of SPEC §9:
 * what aster_describe() (aster/http.h) answers.
 */
#ifndef ASTER_RUNTIME_DESCRIBE_H
#define ASTER_RUNTIME_DESCRIBE_H

struct request_ctx;

/*
 * View "product", "ready", "modules", "routes" or "openapi" of ctx's
 * generation as JSON text (malloc'ed), with the status to answer it with
 * in *status (503 for "ready" while not ready, else 200). NULL for an
 * unknown view or when out of memory.
 */
char *runtime_describe(const struct request_ctx *ctx, const char *view,
                       int *status);

#endif
