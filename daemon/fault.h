/* FAULT INJECTION FOR TESTS ONLY — off unless the environment asks.
 *
 * When the environment variable VIGIL_FAULT_ABORT_URL equals a camera's
 * detect URL, that camera's thread calls abort() as it starts decoding,
 * taking its worker process down. The end-to-end tests use it to make a
 * reproducible crash loop; nothing in a normal deployment sets it, and the
 * daemon logs a warning at start when it is set. */
#ifndef VIGIL_FAULT_H
#define VIGIL_FAULT_H

/* The URL the hook is armed for, or NULL when the hook is off. */
const char *fault_abort_url(void);

/* Abort the process when the hook is armed for url. */
void fault_decode_hook(const char *url);

#endif
