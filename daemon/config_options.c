/* Option values: the camera options a camera or the defaults group may
 * set (their enumerated values checked, unset ones inherited from the
 * defaults, then from built-ins), recording quotas and severity names. */
#include "config_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const cfg_transports[] = { "tcp", "udp", NULL };
static const char *const cfg_modes[] = { "full", "fps", "keyframes", "gated", NULL };

static int cfg_choice(const char *v, const char *const *choices)
{
	for (int i = 0; choices[i]; i++)
		if (strcmp(v, choices[i]) == 0)
			return i;
	return -1;
}

/* Mark the options of a camera (or of the defaults group) unset. */
void cfg_options_unset(struct vigil_camera *c)
{
	c->open_timeout = c->read_timeout = c->loop = -1;
	c->analysis_fps = c->analysis_width = c->analysis_hold = -1;
	c->analysis_skip_repeats = -1;
	c->max_width = c->max_height = -1;
}

/* Check the enumerated options set in group s (a camera or defaults). */
void cfg_options_check(struct cfg_ctx *ctx, const config_setting_t *s,
		       const struct vigil_camera *c, const char *where)
{
	const config_setting_t *an = config_setting_get_member(s, "analysis");

	if (c->transport && cfg_choice(c->transport, cfg_transports) < 0)
		cfg_error(ctx, config_setting_get_member(s, "transport"),
			  "%stransport must be \"tcp\" or \"udp\", not '%s'", where, c->transport);
	if (c->analysis_mode && an && cfg_choice(c->analysis_mode, cfg_modes) < 0)
		cfg_error(ctx, config_setting_get_member(an, "mode"),
			  "%sanalysis.mode must be \"full\", \"fps\", \"keyframes\" or \"gated\", "
			  "not '%s'",
			  where, c->analysis_mode);
}

static void cfg_inherit_str(char **v, const char *def, const char *builtin)
{
	if (!*v)
		*v = strdup(def ? def : builtin);
}

static void cfg_inherit_int(int *v, int def, int builtin)
{
	if (*v < 0)
		*v = def >= 0 ? def : builtin;
}

/* Fill a camera's unset options from the defaults group, then built-ins. */
void cfg_options_inherit(struct vigil_camera *c, const struct vigil_camera *d)
{
	cfg_inherit_str(&c->transport, d->transport, "tcp");
	cfg_inherit_int(&c->open_timeout, d->open_timeout, 10);
	cfg_inherit_int(&c->read_timeout, d->read_timeout, 5);
	cfg_inherit_int(&c->loop, d->loop, 0);
	cfg_inherit_str(&c->analysis_mode, d->analysis_mode, "full");
	cfg_inherit_int(&c->analysis_fps, d->analysis_fps, 5);
	cfg_inherit_int(&c->analysis_width, d->analysis_width, 320);
	cfg_inherit_int(&c->analysis_hold, d->analysis_hold, 5);
	cfg_inherit_int(&c->analysis_skip_repeats, d->analysis_skip_repeats, 1);
	cfg_inherit_int(&c->max_width, d->max_width, 4096);
	cfg_inherit_int(&c->max_height, d->max_height, 2304);
}

enum vigil_analysis_mode config_analysis_mode(const struct vigil_camera *cam)
{
	int i = cam->analysis_mode ? cfg_choice(cam->analysis_mode, cfg_modes) : 0;

	return i < 0 ? ANALYSIS_FULL : (enum vigil_analysis_mode)i;
}

int config_parse_quota(const char *s, int64_t *bytes, int *percent)
{
	static const char units[] = "KMGT";
	char *end;
	long long v;

	*bytes = 0;
	*percent = 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno || v <= 0)
		return -EINVAL;
	if (strcmp(end, "%") == 0) {
		if (v > 100)
			return -EINVAL;
		*percent = (int)v;
		return 0;
	}
	if (*end) {
		const char *u = strchr(units, *end);
		if (!u || end[1] != '\0')
			return -EINVAL;
		for (long i = 0; i <= u - units; i++) {
			if (v > INT64_MAX / 1024)
				return -EINVAL;
			v *= 1024;
		}
	}
	*bytes = v;
	return 0;
}

static const char *const cfg_severities[] = { "low", "medium", "high", "critical" };

int config_severity_rank(const char *severity)
{
	for (int i = 0; severity && i < 4; i++)
		if (strcmp(severity, cfg_severities[i]) == 0)
			return i;
	return -1;
}

const char *config_severity_name(int rank)
{
	return rank >= 0 && rank < 4 ? cfg_severities[rank] : "medium";
}
