/* Checks on the text of a configuration that libconfig does not make.
 *
 * libconfig 1.5 reads an integer without the L suffix into an int and
 * wraps it silently: "workers = 4294967298;" reads as 2. Before the walk,
 * cfg_scan_ints() reads the text (@include is refused) and records every
 * integer literal outside the int range with its line;
 * cfg_int_value() then gives a setting its true value, so that each range
 * check sees 4294967298 and not 2. The lexer knows what it must skip to
 * find numbers: strings, comments, names and floats. */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>


static void cfg_big_add(struct cfg_ctx *ctx, const char *file, int line, long long v)
{
	struct cfg_bigint *b = realloc(ctx->big, (ctx->nbig + 1) * sizeof(*b));

	if (!b)
		return;
	ctx->big = b;
	b += ctx->nbig++;
	b->file = strdup(file);
	b->line = line;
	b->value = v;
}

/* An integer literal starting at p (after an optional sign); records it
 * when it does not fit an int. Returns the length of the token. */
static size_t cfg_scan_number(struct cfg_ctx *ctx, const char *file, int line,
			      const char *start, const char *p)
{
	const char *q = p;
	int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
	long long v;
	char *end;

	if (hex)
		q += 2;
	while (isalnum((unsigned char)*q) || *q == '.' || *q == '_' ||
	       (!hex && (*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
		q++;
	/* Floats and L-suffixed integers are read whole by libconfig. */
	if (memchr(p, '.', (size_t)(q - p)) || (!hex && (memchr(p, 'e', (size_t)(q - p)) ||
						    memchr(p, 'E', (size_t)(q - p)))) ||
	    q[-1] == 'L' || q[-1] == 'l')
		return (size_t)(q - start);
	errno = 0;
	if (hex) {
		unsigned long long u = strtoull(p, &end, 16);
		v = errno || u > LLONG_MAX ? LLONG_MAX : (long long)u;
		if (*start == '-')
			v = -v;
	} else {
		v = strtoll(start, &end, 10);
	}
	if (v < INT_MIN || v > INT_MAX)
		cfg_big_add(ctx, file, line, v);
	return (size_t)(q - start);
}

static void cfg_scan_text(struct cfg_ctx *ctx, const char *file, const char *p)
{
	int line = 1;

	while (*p) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			const char *stop = e ? e + 2 : p + strlen(p);
			for (; p < stop; p++)
				line += *p == '\n';
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				line += *p == '\n';
			}
			p += *p == '"';
		} else if (*p == '@') {
			p += strcspn(p, "\n");
		} else if (isalpha((unsigned char)*p) || *p == '_' || *p == '*') {
			while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '*')
				p++;
		} else if (isdigit((unsigned char)*p)) {
			p += cfg_scan_number(ctx, file, line, p, p);
		} else if ((*p == '-' || *p == '+') && isdigit((unsigned char)p[1])) {
			p += cfg_scan_number(ctx, file, line, p, p + 1);
		} else {
			p++;
		}
	}
}

void cfg_scan_ints(struct cfg_ctx *ctx, const char *text)
{
	cfg_scan_text(ctx, ctx->path, text);
}

void cfg_scan_free(struct cfg_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nbig; i++)
		free(ctx->big[i].file);
	free(ctx->big);
	ctx->big = NULL;
	ctx->nbig = 0;
}

long long cfg_int_value(const struct cfg_ctx *ctx, const config_setting_t *s)
{
	long long v = config_setting_get_int64(s);
	const char *file = config_setting_source_file(s);
	int line = cfg_line(s);

	/* Settings read from text in memory have no file: the config's. */
	if (!file)
		file = ctx->path;
	if (config_setting_type(s) != CONFIG_TYPE_INT)
		return v;
	/* The literal on the setting's line that libconfig wrapped to v. */
	for (size_t i = 0; i < ctx->nbig; i++) {
		const struct cfg_bigint *b = &ctx->big[i];
		if (b->line == line && (int)(unsigned)(unsigned long long)b->value == (int)v &&
		    strcmp(b->file, file) == 0)
			return b->value;
	}
	return v;
}

int cfg_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p;
		int n;
		unsigned cp;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates, beyond U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}
