/* vigilctl keygen NAME: make a CURVE key pair for a vigil server or client.
 *
 * Writes NAME.key (the secret key, then the public key, Z85, mode 0600)
 * and NAME.pub (the public key, Z85, mode 0644). A client's NAME.pub goes
 * into the server's alerts.curve.clients_dir; the server's NAME.pub is
 * what clients pin. Existing files are never overwritten. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "vigilctl.h"

/* Create path exclusively with mode and write text to it. */
static int keygen_write(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	/* The mode of a new file is masked by umask: set it exactly. */
	if (fchmod(fd, mode) < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return -e;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int keygen_usage(FILE *out)
{
	fprintf(out, "usage: vigilctl keygen NAME\n"
		     "  writes NAME.key (secret, mode 0600) and NAME.pub (public, Z85)\n");
	return out == stdout ? 0 : 2;
}

int ctl_keygen(int argc, char **argv)
{
	char pub[41], sec[41], path[4096], text[128];
	int e;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return keygen_usage(stdout);
	if (argc != 2 || !argv[1][0])
		return keygen_usage(stderr);
	if (zmq_curve_keypair(pub, sec) < 0) {
		fprintf(stderr, "vigilctl keygen: %s\n", zmq_strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s.key", argv[1]);
	snprintf(text, sizeof(text), "%s\n%s\n", sec, pub);
	e = keygen_write(path, 0600, text);
	explicit_bzero(sec, sizeof(sec));
	explicit_bzero(text, sizeof(text));
	if (e < 0) {
		fprintf(stderr, "vigilctl keygen: %s: %s\n", path, strerror(-e));
		return 1;
	}
	snprintf(path, sizeof(path), "%s.pub", argv[1]);
	snprintf(text, sizeof(text), "%s\n", pub);
	e = keygen_write(path, 0644, text);
	if (e < 0) {
		fprintf(stderr, "vigilctl keygen: %s: %s\n", path, strerror(-e));
		return 1;
	}
	printf("%s.key (secret) and %s.pub (public %s) written\n", argv[1], argv[1], pub);
	return 0;
}
