/*
 * escape.h - the one escaper for text that leaves the process: JSON
 * strings (problem bodies, JSON log lines) and text log lines.
 *
 * Whatever bytes a client sends, the output is one line, valid in its
 * format, and cannot fake another field: control characters, quotes and
 * backslashes are escaped, and bytes that are not well-formed UTF-8 are
 * made visible (U+FFFD in JSON, \xHH in text). The C1 controls
 * (U+0080..U+009F) and the Unicode line and paragraph separators
 * (U+2028, U+2029) are escaped too (\u0085, \u2028), since terminals and
 * some log tools break lines on them; DEL is escaped because a terminal
 * shows it as nothing.
 *
 * Every function writes at most cap bytes including a terminating NUL
 * (cap >= 3), never cuts an escape sequence or a UTF-8 sequence in half,
 * and reports through *taken (when not NULL) how many input bytes it
 * wrote out: fewer than n means the output was truncated there, on a
 * character boundary, and is still valid (a quoted text value is still
 * closed).
 */
#ifndef ASTER_ESCAPE_H
#define ASTER_ESCAPE_H

#include <stddef.h>

/* Output bytes (without NUL) the escaped form of n input bytes can take
 * at most: JSON writes \u00XX for one byte; text writes \xHH for one
 * byte (\u2028 for three), plus two quotes. */
#define ESCAPE_JSON_MAX(n) ((n) * 6)
#define ESCAPE_TEXT_MAX(n) ((n) * 4 + 2)

/*
 * The inside of a JSON string (no quotes added): '"' and '\' as \" and
 * \\, \n \r \t, other control characters, DEL, C1 controls, U+2028 and
 * U+2029 as \u00XX / \u20XX, each byte of an ill-formed UTF-8 sequence
 * as \ufffd. Everything else is copied. json-c (or any JSON parser)
 * reads the result back as the input when the input is valid UTF-8.
 * Returns the bytes written, NUL not counted.
 */
size_t escape_json(char *out, size_t cap, const char *s, size_t n,
                   size_t *taken);

/*
 * A value of a text (logfmt-like) log field. Written as is when it is
 * not empty and holds only printable characters other than space, '"',
 * '=' and '\'; else in double quotes, with \" \\ \n \r \t, \xHH for
 * other control bytes, DEL and each byte that is not well-formed UTF-8,
 * and \u0080..\u009f, \u2028, \u2029 for those code points. Reading it
 * back (escape_text_unquote) gives the input bytes exactly, so nothing
 * is lost. Returns the bytes written, NUL not counted.
 */
size_t escape_text_value(char *out, size_t cap, const char *s, size_t n,
                         size_t *taken);

/*
 * Free text at the end of a text log line (a message): no quotes, and
 * '"', '=' and spaces kept for readability; backslash, control bytes and
 * the rest escaped as in escape_text_value(), so the line stays one line.
 */
size_t escape_text(char *out, size_t cap, const char *s, size_t n,
                   size_t *taken);

/*
 * The inverse of escape_text_value() (and of escape_text()'s escapes):
 * reads one value at s (len bytes; quoted or bare, a bare one ends at a
 * space) into out (cap bytes, NUL added). Returns the bytes written to
 * out, or -1 when s is not a well-formed value or out is too small. *end
 * (when not NULL) is set past the value. For tests, fuzzing and tools.
 */
long escape_text_unquote(const char *s, size_t len, char *out, size_t cap,
                         const char **end);

#endif
