/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What this program and the loaded module are: snapset --version, and the
 * warning status prints when they come from different releases.
 */
#ifndef SNAPSET_VERSIONS_H
#define SNAPSET_VERSIONS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct versions {
	char module[64]; /* "": not loaded */
	int module_api;	 /* >0, or -errno: not asked (/dev/snapset) */
};

void versions_read(struct versions *v);
/* The loaded module is not of this program's release or API. */
bool versions_differ(const struct versions *v);
/* "module 0.1.0 (API 2)", "module not loaded", or why the API is unknown. */
void versions_module_text(const struct versions *v, char *buf, size_t size);
/* { "program", "program_api", "module", "module_api" }, nulls unknown. */
struct json_object *versions_to_json(const struct versions *v);
/* snapset --version; EXIT_SUCCESS. */
int versions_print(void);

#endif
