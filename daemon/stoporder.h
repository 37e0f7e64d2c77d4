/* Stop order when the supervisor is gone.
 *
 * The supervisor stops the workers first and the relay after them, so
 * that the alerts the workers send while stopping (event ends) are
 * journaled. When the supervisor itself dies (SIGKILL, a crash), its
 * children learn it from PR_SET_PDEATHSIG at the same moment: the
 * workers get SIGTERM, the relay SIGUSR1. Every worker holds a shared
 * lock on DATA_DIR/workers.lock for as long as it runs; the relay, told
 * that the supervisor is gone, serves on until it can take the lock
 * exclusively (every worker has exited, having waited for the relay's
 * acknowledgements), and only then stops. */
#ifndef VIGIL_STOPORDER_H
#define VIGIL_STOPORDER_H

/* The signal the relay gets when the supervisor dies. */
#define STOPORDER_RELAY_SIGNAL SIGUSR1

/* Worker: take the shared lock for this process's life. Returns the
 * descriptor (close-on-exec, never closed by the caller), or -errno. */
int stoporder_worker_hold(const char *data_dir);
/* Relay: open the lock file. Returns the descriptor or -errno. */
int stoporder_open(const char *data_dir);
/* Relay: 1 when no worker holds the lock any more (the exclusive lock is
 * then held by fd until it is closed), 0 while one does, -errno. */
int stoporder_workers_gone(int fd);

#endif
