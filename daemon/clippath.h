/* Paths into the clip directory, taken from the clip index or from a
 * client (vigilctl, the HTTP API): neither is trusted. */
#ifndef VIGIL_CLIPPATH_H
#define VIGIL_CLIPPATH_H

/* Open rel inside clip_dir: relative, without "." or ".." components,
 * through no symbolic link, ending at a regular file. Each component is
 * opened from the one before with O_NOFOLLOW, so nothing can be swapped
 * in between the checks. Returns the descriptor (read-only, blocking,
 * close-on-exec), or -ENOENT (nothing there), or -EPERM with *why saying
 * what is wrong, or another -errno. */
int clippath_open_inside(const char *clip_dir, const char *rel, const char **why);

#endif
