/*
 * yaml_json.c - a YAML value of a manifest as JSON (yaml_json.h).
 *
 * Scalars are typed as YAML 1.2's core schema types them, so `3` is a
 * number and `"3"` a string; numbers are rewritten into JSON's stricter
 * grammar but keep their digits, so `1.50` stays 1.50 and a 30-digit
 * integer is not rounded through a double.
 */
#include "config/yaml_json.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/node.h"

#define YAML_STR_TAG "tag:yaml.org,2002:str"

static int
is_one_of(const char *s, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

static size_t
skip_digits(const char *s, size_t i)
{
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * A YAML 1.2 decimal, [-+]?(D+(.D*)?|.D+)([eE][-+]?D+)?, rewritten in
 * JSON's stricter grammar (no '+', no leading zeros, digits on both sides
 * of a point) into out. Returns 1 for an integer, 2 for a number with a
 * fraction or exponent, 0 when s is no number or does not fit out.
 */
static int
json_number_text(const char *s, char *out, size_t len)
{
	size_t i = 0, o = 0, int_start, int_end, frac_end, exp_end = 0;
	int kind = 1;

	if (s[i] == '-' || s[i] == '+')
		i++;
	int_start = i;
	int_end = skip_digits(s, i);
	frac_end = int_end;
	if (s[int_end] == '.')
		frac_end = skip_digits(s, int_end + 1);
	if (int_end == int_start && frac_end <= int_end + 1)
		return 0;       /* no digit before or after the point */
	i = frac_end;
	if (s[i] == 'e' || s[i] == 'E') {
		size_t e = i + 1;

		if (s[e] == '-' || s[e] == '+')
			e++;
		exp_end = skip_digits(s, e);
		if (exp_end == e)
			return 0;
		i = exp_end;
	}
	if (s[i] != '\0' || i + 3 > len)
		return 0;
	if (s[0] == '-')
		out[o++] = '-';
	while (int_start + 1 < int_end && s[int_start] == '0')
		int_start++;
	if (int_start == int_end)
		out[o++] = '0';
	memcpy(out + o, s + int_start, int_end - int_start);
	o += int_end - int_start;
	if (frac_end > int_end + 1) {
		memcpy(out + o, s + int_end, frac_end - int_end);
		o += frac_end - int_end;
		kind = 2;
	}
	if (exp_end > 0) {
		memcpy(out + o, s + frac_end, exp_end - frac_end);
		o += exp_end - frac_end;
		kind = 2;
	}
	out[o] = '\0';
	return kind;
}

static json_object *
number_json(const char *s)
{
	char text[64];
	long long v;
	double d;

	switch (json_number_text(s, text, sizeof(text))) {
	case 1:
		errno = 0;
		v = strtoll(text, NULL, 10);
		if (errno == 0)
			return json_object_new_int64(v);
		break;
	case 2:
		break;
	default:
		return NULL;
	}
	/* Keep the text as written rather than %.17g of the double. */
	d = strtod(text, NULL);
	if (!isfinite(d))
		return NULL;    /* overflow: no JSON number is that big */
	return json_object_new_double_s(d, text);
}

static json_object *
scalar_json(const node_t *n, int as_plain)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	json_object *num;

	if ((!n->plain && !as_plain) ||
	    (n->tag != NULL && strcmp(n->tag, YAML_STR_TAG) == 0))
		return json_object_new_string_len(n->value, (int)n->len);
	if (is_one_of(n->value, yes, 3))
		return json_object_new_boolean(1);
	if (is_one_of(n->value, no, 3))
		return json_object_new_boolean(0);
	if (node_is_null(n))
		return NULL;    /* quoted "null" is a string even as_plain */
	if ((num = number_json(n->value)) != NULL)
		return num;
	return json_object_new_string_len(n->value, (int)n->len);
}

json_object *
yaml_to_json(const node_t *n, int as_plain)
{
	json_object *o;
	uint32_t i;

	if (n == NULL)
		return NULL;
	switch (n->kind) {
	case NODE_MAP:
		o = json_object_new_object();
		for (i = 0; i < n->n; i++) {
			const char *key = n->pairs[i].key->value;

			/* Merged keys follow explicit ones and lose. */
			if (json_object_object_get_ex(o, key, NULL))
				continue;
			json_object_object_add(o, key, yaml_to_json(
			    n->pairs[i].value, as_plain));
		}
		return o;
	case NODE_SEQ:
		o = json_object_new_array_ext((int)n->n);
		for (i = 0; i < n->n; i++)
			json_object_array_add(o, yaml_to_json(n->items[i],
			                                           as_plain));
		return o;
	default:
		return scalar_json(n, as_plain);
	}
}
