/* Alert topics and the tokens they are made of.
 *
 *   alert.<severity>.<district>.<grid>.<camera>.<type>
 *   count.<district>.<grid>.<camera>.<line>     (a tripwire's counts)
 *
 * Subscribers pick alerts by topic prefix, so every part is a token that
 * cannot contain the separator: 1 to TOPIC_TOKEN_MAX letters, digits,
 * '_' or '-'. The type alone may have levels ("tamper.covered"), each a
 * token, so that a family is a prefix too; it is at most TOPIC_TYPE_MAX
 * bytes. The same rules check the configuration (camera ids, districts,
 * grids, zone names, the instance), build the topic in the worker and
 * check it again in the relay. */
#ifndef VIGIL_TOPIC_H
#define VIGIL_TOPIC_H

#include <stddef.h>

/* Longest token, in bytes. Tokens are also parts of event ids and file
 * names and are copied into fixed fields: see VIGIL_TOKEN_MAX. */
#define TOPIC_TOKEN_MAX 32
/* Longest alert type, dots included. */
#define TOPIC_TYPE_MAX 64
/* Longest topic plus its NUL: "alert." + 4 tokens and dots + a type. */
#define TOPIC_MAX (6 + 4 * (TOPIC_TOKEN_MAX + 1) + TOPIC_TYPE_MAX + 1)

/* Whether s is 1 or more letters, digits, '_' or '-' (any length). */
int topic_token_chars(const char *s);
/* Whether s is a token: topic_token_chars() and at most TOPIC_TOKEN_MAX. */
int topic_token_ok(const char *s);
/* Whether s is an alert type: tokens joined by single dots, at most
 * TOPIC_TYPE_MAX bytes. */
int topic_type_ok(const char *s);

/* Write the topic of an alert into buf. Returns 0, -EINVAL when a part
 * is missing or not a token (the type: not a type), -ENAMETOOLONG when
 * buf is shorter than TOPIC_MAX and the topic does not fit. */
int topic_format(char *buf, size_t len, const char *severity, const char *district,
		 const char *grid, const char *camera, const char *type);

/* Write the topic of a line's counts into buf; returns as topic_format. */
int topic_format_count(char *buf, size_t len, const char *district, const char *grid,
		       const char *camera, const char *line);

/* Whether the n bytes at s are a whole alert or count topic (no NUL). */
int topic_check(const char *s, size_t n);

#endif
