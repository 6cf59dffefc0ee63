/*
 * plan_out.h - printing a planned configuration: text, JSON, Graphviz.
 *
 * Each format depends only on the configuration's content (modules in plan
 * order, ties by id), so the output is byte-identical however the files
 * are named or ordered.
 */
#ifndef ASTER_PLAN_OUT_H
#define ASTER_PLAN_OUT_H

#include <stdio.h>

#include "config/manifest.h"

/* cfg must be planned (cfg->planned). */
void plan_print_text(const struct config *cfg, FILE *out);
void plan_print_json(const struct config *cfg, FILE *out);
void plan_print_dot(const struct config *cfg, FILE *out);

#endif
