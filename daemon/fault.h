/* FAULT INJECTION FOR TESTS ONLY — off unless the environment asks.
 *
 * When the environment variable VIGIL_FAULT_ABORT_URL equals a camera's
 * detect URL, that camera's thread calls abort() as it starts decoding,
 * taking its worker process down. The end-to-end tests use it to make a
 * reproducible crash loop; nothing in a normal deployment sets it, and the
 * daemon logs a warning at start when it is set.
 *
 * The environment is read once, by fault_init() (or the first call of
 * any function here), never per packet. */
#ifndef VIGIL_FAULT_H
#define VIGIL_FAULT_H

/* Read VIGIL_FAULT_ABORT_URL; call once at start, before threads. */
void fault_init(void);

/* The URL the hook is armed for, or NULL when the hook is off. */
const char *fault_abort_url(void);

/* Is the hook armed for this URL? (Decide once per camera.) */
int fault_armed(const char *url);

/* Abort the process, leaving no core file. */
void fault_abort(void) __attribute__((noreturn));

#endif
