/*
 * mark.h - where something was written: a file and a position in it.
 * Configuration nodes carry one, and diagnostics point at one, so it
 * lives below both.
 */
#ifndef ASTER_MARK_H
#define ASTER_MARK_H

/* One file that was read. display is the path as shown in diagnostics
 * (the config dir as given, joined with the path below it); dir is the
 * absolute directory relative paths in the file are resolved against. */
struct source {
	const char *display;
	const char *dir;
};

/* A position: line and column are 1-based; line 0 means "no position"
 * (the whole file or config dir). */
struct mark {
	const struct source *src;
	unsigned line;
	unsigned col;
};

#endif
