/*
 * format.c - the string formats of SPEC §14: uuid, date-time, email.
 *
 * uuid: RFC 4122's text form, 8-4-4-4-12 hex digits in either case; any
 * version and variant, the nil UUID too; no braces, no "urn:uuid:".
 *
 * date-time: RFC 3339 section 5.6 exactly: full-date "T" full-time, the
 * "T" and "Z" in either case (5.6, note), the day valid for its month
 * and year (Gregorian leap years), hours 00-23, minutes 00-59, seconds
 * 00-59 or a leap second 60 when the time is 23:59 in UTC (after taking
 * the offset back: 15:59:60-08:00 is one), any number of fraction
 * digits, and an offset Z or +hh:mm / -hh:mm (hh 00-23, mm 00-59). A
 * space for the "T", a missing offset or one without its colon are not
 * RFC 3339.
 *
 * email: an RFC 5321 / 5322 addr-spec as people write it: a dot-atom
 * local part (letters, digits and !#$%&'*+/=?^_`{|}~- in atoms joined by
 * single dots) of at most 64 bytes, "@", and a domain of at least two
 * dot-separated labels of letters, digits and hyphens (a label 1 to 63
 * bytes, not starting or ending with a hyphen), at most 253 bytes. Quoted
 * local parts, comments, address literals ([192.0.2.1]) and
 * internationalised addresses are refused.
 */
#include "contract/internal.h"

#include <string.h>

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int
format_uuid(const char *s, size_t len)
{
	size_t i;

	if (len != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_hex(s[i])) {
			return 0;
		}
	}
	return 1;
}

/* n decimal digits at s as a number, or -1. */
static int
digits_at(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	                           31};
	int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

	return month == 2 && leap ? 29 : days[month - 1];
}

/* full-date: YYYY-MM-DD, a day of that month. */
static int
full_date(const char *s)
{
	int year = digits_at(s, 4), month = digits_at(s + 5, 2);
	int day = digits_at(s + 8, 2);

	return year >= 0 && s[4] == '-' && s[7] == '-' && month >= 1 &&
	       month <= 12 && day >= 1 && day <= days_in_month(year, month);
}

int
format_date_time(const char *s, size_t len)
{
	int hour, minute, second, off_hour = 0, off_minute = 0, sign = 0;
	size_t i;

	/* YYYY-MM-DDThh:mm:ss is 19 bytes, and an offset follows. */
	if (len < 20 || !full_date(s) || (s[10] != 'T' && s[10] != 't'))
		return 0;
	hour = digits_at(s + 11, 2);
	minute = digits_at(s + 14, 2);
	second = digits_at(s + 17, 2);
	if (hour < 0 || hour > 23 || s[13] != ':' || minute < 0 ||
	    minute > 59 || s[16] != ':' || second < 0 || second > 60)
		return 0;
	i = 19;
	if (s[i] == '.') {
		size_t from = ++i;

		while (i < len && is_digit(s[i]))
			i++;
		if (i == from)
			return 0;
	}
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') &&
	           s[i + 3] == ':') {
		sign = s[i] == '+' ? 1 : -1;
		off_hour = digits_at(s + i + 1, 2);
		off_minute = digits_at(s + i + 4, 2);
		if (off_hour < 0 || off_hour > 23 || off_minute < 0 ||
		    off_minute > 59)
			return 0;
	} else {
		return 0;
	}
	if (second < 60)
		return 1;
	/* A leap second happens at 23:59:60 UTC. */
	minute = (hour * 60 + minute - sign * (off_hour * 60 + off_minute) +
	          2 * 1440) % 1440;
	return minute == 23 * 60 + 59;
}

static int
is_atext(char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) !=
	                                    NULL);
}

/* dot-atom: atoms of atext joined by single dots. */
static int
dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext(s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Letters, digits and inner hyphens, 1 to 63 bytes. */
static int
domain_label(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int
domain(const char *s, size_t len)
{
	size_t start = 0, i, labels = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!domain_label(s + start, i - start))
			return 0;
		labels++;
		start = i + 1;
	}
	return labels >= 2;
}

int
format_email(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	size_t local;

	if (at == NULL)
		return 0;
	local = (size_t)(at - s);
	return local <= 64 && dot_atom(s, local) &&
	       domain(at + 1, len - local - 1);
}
