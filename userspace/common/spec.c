// SPDX-License-Identifier: GPL-2.0
/*
 * Device specs resolved with libblkid.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "device.h"
#include "spec.h"

static const struct {
	const char *prefix;
	size_t offset; /* of the value in struct device_ids */
	bool any_case; /* UUIDs are hex: users write either case */
} spec_tags[] = {
	{ "UUID=", offsetof(struct device_ids, uuid), true },
	{ "LABEL=", offsetof(struct device_ids, label), false },
	{ "PARTUUID=", offsetof(struct device_ids, partuuid), true },
};

#define SPEC_TAG_COUNT (sizeof(spec_tags) / sizeof(spec_tags[0]))

static int spec_tag(const char *spec)
{
	for (size_t i = 0; i < SPEC_TAG_COUNT; i++)
		if (!strncmp(spec, spec_tags[i].prefix,
			     strlen(spec_tags[i].prefix)))
			return i;
	return -1;
}

bool spec_is_tag(const char *spec)
{
	return spec_tag(spec) >= 0;
}

int spec_find(const char *spec, char *const *nodes, size_t n,
	      struct spec_matches *m)
{
	int tag = spec_tag(spec);
	const char *want;
	struct device_ids ids;

	memset(m, 0, sizeof(*m));
	if (tag < 0)
		return -EINVAL;
	want = spec + strlen(spec_tags[tag].prefix);
	if (!*want)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const char *have = (char *)&ids + spec_tags[tag].offset;

		if (device_probe_ids(nodes[i], &ids) ||
		    (spec_tags[tag].any_case ? strcasecmp(want, have)
					     : strcmp(want, have)))
			continue;
		if (m->count < 2)
			snprintf(m->path[m->count], sizeof(m->path[0]), "%s",
				 nodes[i]);
		m->count++;
	}
	if (!m->count)
		return -ENOENT;
	return m->count > 1 ? -ENOTUNIQ : 0;
}

/* A device worth probing: it has a size and reading it will not hang. */
static bool probeable(const char *name)
{
	char path[320], value[32];

	snprintf(path, sizeof(path), "/sys/class/block/%s/size", name);
	if (sysfs_read(path, value, sizeof(value)) || !strcmp(value, "0"))
		return false;
	snprintf(path, sizeof(path), "/sys/class/block/%s/dm/suspended", name);
	return sysfs_read(path, value, sizeof(value)) || strcmp(value, "1");
}

static void free_nodes(char **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(nodes[i]);
	free(nodes);
}

int spec_find_device(const char *spec, struct spec_matches *m)
{
	DIR *dir = opendir("/sys/class/block");
	char **nodes = NULL, **grown;
	struct dirent *d;
	size_t n = 0;
	int ret = 0;

	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || !probeable(d->d_name))
			continue;
		grown = realloc(nodes, (n + 1) * sizeof(*nodes));
		if (!grown || asprintf(&grown[n], "/dev/%s", d->d_name) < 0) {
			nodes = grown ? grown : nodes;
			ret = -ENOMEM;
			break;
		}
		nodes = grown;
		n++;
	}
	closedir(dir);
	if (!ret)
		ret = spec_find(spec, nodes, n, m);
	free_nodes(nodes, n);
	return ret;
}
