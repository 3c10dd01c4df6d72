// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the daemon's configuration file: any bytes, as a
 * file (a memfd, by its /proc/self/fd path), loaded over the defaults.
 * The file either loads, every value within the bounds docs/cli.md
 * gives, or is refused with -EINVAL and a message that starts with the
 * file's name. LeakSanitizer checks that nothing is left allocated.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../userspace/daemon/config.h"

/* An absolute path that fits its field, or "" where none is allowed. */
static void check_path(const char *path, size_t size, bool may_be_empty)
{
	assert(strnlen(path, size) < size);
	assert(path[0] == '/' || (may_be_empty && !path[0]));
}

static void check_ids(const unsigned int *ids, unsigned int n)
{
	assert(n <= DAEMON_ALLOWED_MAX);
	for (unsigned int i = 0; i < n; i++)
		assert(ids[i] <= UINT_MAX - 1);
}

static void check_loaded(const struct daemon_options *o)
{
	check_path(o->socket_path, sizeof(o->socket_path), false);
	check_path(o->history_dir, sizeof(o->history_dir), true);
	check_path(o->metrics_path, sizeof(o->metrics_path), true);
	assert(o->writer_deadline_ms >= 1);
	assert(o->lvremove_deadline_ms >= 1);
	assert(o->history_size <= 100000);
	assert(o->max_connections >= 32 && o->max_connections <= 65536);
	check_ids(o->allowed_uids, o->nallowed_uids);
	check_ids(o->allowed_gids, o->nallowed_gids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct daemon_options opts;
	char path[64], error[CONFIG_ERROR_LEN] = "";
	int fd = memfd_create("snapset.conf", MFD_CLOEXEC), ret;

	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_init(&opts);
	ret = config_load(&opts, path, true, error);
	close(fd);
	if (!ret) {
		check_loaded(&opts);
		return 0;
	}
	assert(ret == -EINVAL);
	assert(!strncmp(error, path, strlen(path)));
	assert(error[strlen(path)] == ':' && error[strlen(path) + 1]);
	return 0;
}
