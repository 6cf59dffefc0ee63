/*
 * utf8.h - well-formed UTF-8 (RFC 3629), for the places that store or
 * compare text byte for byte: no overlong forms, no surrogates, nothing
 * past U+10FFFF.
 */
#ifndef ASTER_UTF8_H
#define ASTER_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length (1 to 4) of the well-formed sequence at p, which has avail
 * (> 0) bytes, or 0 when it is not one. */
static inline size_t
utf8_sequence(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t len, k;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < len)
		return 0;
	for (k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[k] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

#endif
