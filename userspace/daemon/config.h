/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's configuration file (docs/cli.md, "snapset daemon"). */
#ifndef SNAPSET_DAEMON_CONFIG_H
#define SNAPSET_DAEMON_CONFIG_H

#include <stdbool.h>

#include "daemon.h"

#define CONFIG_DEFAULT_PATH "/etc/snapset/snapset.conf"
#define CONFIG_ERROR_LEN 512

void config_init(struct daemon_options *opts);
/*
 * Applies @path over @opts; a missing file is no error unless @explicit.
 * -errno with "FILE[:LINE]: what is wrong" in @error.
 */
int config_load(struct daemon_options *opts, const char *path, bool explicit,
		char error[CONFIG_ERROR_LEN]);

#endif
