/*
 * date.c - the server's clock: monotonic time read once per callback, and
 * the Date field line formatted once a second.
 */
#include "http/server_int.h"

#include <time.h>

/*
 * Monotonic microseconds. Inside one of our callbacks the clock is read
 * once, and every request and deadline of the callback takes that time;
 * outside (a handler answering from its own event) it is read afresh.
 */
uint64_t
server_now(struct http_server *s)
{
	struct timespec ts;

	if (s->now_fresh)
		return s->now_us;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->now_us = (uint64_t)ts.tv_sec * 1000000u +
	    (uint64_t)ts.tv_nsec / 1000u;
	s->now_fresh = s->depth > 0;
	return s->now_us;
}

static char *
put_2digits(char *p, int v)
{
	*p++ = (char)('0' + v / 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/*
 * The Date field line, formatted once a second: locale-free (strftime's
 * names follow LC_TIME) and cheap on the request path.
 */
const char *
server_date(struct http_server *s, size_t *len)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct timeval tv;
	struct tm tm;
	char *p = s->date;

	event_base_gettimeofday_cached(s->base, &tv);
	if (tv.tv_sec != s->date_sec && gmtime_r(&tv.tv_sec, &tm) != NULL) {
		p = PUT_LIT(p, "Date: ");
		p = put_str(p, days + 3 * tm.tm_wday, 3);
		p = PUT_LIT(p, ", ");
		p = put_2digits(p, tm.tm_mday);
		*p++ = ' ';
		p = put_str(p, months + 3 * tm.tm_mon, 3);
		*p++ = ' ';
		p = put_uint(p, (uint64_t)tm.tm_year + 1900);
		*p++ = ' ';
		p = put_2digits(p, tm.tm_hour);
		*p++ = ':';
		p = put_2digits(p, tm.tm_min);
		*p++ = ':';
		p = put_2digits(p, tm.tm_sec);
		p = PUT_LIT(p, " GMT\r\n");
		s->date_len = (size_t)(p - s->date);
		s->date_sec = tv.tv_sec;
	}
	*len = s->date_len;
	return s->date;
}
