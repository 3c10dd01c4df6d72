/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device specs as users write them: a path, or UUID=, LABEL= or PARTUUID=
 * looked up with libblkid. A snapshot carries its origin's UUID and LABEL,
 * so a tag that matches more than one device is refused, never guessed.
 */
#ifndef SNAPSET_COMMON_SPEC_H
#define SNAPSET_COMMON_SPEC_H

#include <stdbool.h>
#include <stddef.h>

struct spec_matches {
	unsigned int count; /* every match, even past the two kept */
	char path[2][256];  /* the first two */
};

/* Whether @spec is a UUID=, LABEL= or PARTUUID= tag rather than a path. */
bool spec_is_tag(const char *spec);

/*
 * Finds the devices among @nodes whose libblkid value matches the tag
 * @spec. 0 with one match; -ENOENT for none; -ENOTUNIQ for several (the
 * first two in @m); -EINVAL when @spec is no tag or has an empty value.
 */
int spec_find(const char *spec, char *const *nodes, size_t n,
	      struct spec_matches *m);

/*
 * spec_find() over every block device in /sys/class/block that has a size
 * and is not a suspended device-mapper device (reading one would hang).
 */
int spec_find_device(const char *spec, struct spec_matches *m);

#endif
