/* Reports to systemd (sd_notify). Every function does nothing when the
 * daemon was not started by systemd (no NOTIFY_SOCKET). */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);
void notify_status(const char *line);

/* The watchdog interval systemd asks for (WatchdogSec=), in
 * microseconds; 0 when there is no watchdog. */
unsigned long long notify_watchdog_usec(void);

#endif
