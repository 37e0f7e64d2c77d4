/* sd_notify wrappers; see notify.h.
 *
 * libsystemd's sd_notify() returns 0 without sending anything when
 * NOTIFY_SOCKET is unset, which gives "works without systemd" for free.
 * Readiness is reported by the supervisor only (NotifyAccess=main): the
 * children tell the supervisor through their status pages. */
#include "notify.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

static void notify_send(const char *msg)
{
	int r = sd_notify(0, msg);

	if (r < 0)
		log_warn(NULL, "sd_notify: %s, ignoring", strerror(-r));
}

void notify_ready(void)
{
	notify_send("READY=1");
}

/* systemd 253 and later also want the reload's start time. */
void notify_reloading(void)
{
	struct timespec ts;
	char msg[80];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void notify_watchdog(void)
{
	notify_send("WATCHDOG=1");
}

void notify_status(const char *line)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	notify_send(msg);
}

unsigned long long notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
