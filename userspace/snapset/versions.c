// SPDX-License-Identifier: GPL-2.0
/*
 * The program's version is the release it was built from; the module's is
 * its MODULE_VERSION (DKMS builds it from the same release) and the API
 * its SNAPSET_IOC_API answers. A module and a program of different
 * releases may still work together: only the API decides, so a difference
 * is a warning, never a refusal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/format.h"
#include "../common/module.h"
#include "versions.h"

void versions_read(struct versions *v)
{
	int fd;

	v->module_api = -ENOENT;
	if (module_version(v->module, sizeof(v->module)))
		return;
	fd = module_open();
	v->module_api = fd < 0 ? fd : module_api(fd);
	if (fd >= 0)
		close(fd);
}

bool versions_differ(const struct versions *v)
{
	return v->module[0] &&
	       (strcmp(v->module, SNAPSET_VERSION) ||
		(v->module_api > 0 && v->module_api != SNAPSET_API));
}

void versions_module_text(const struct versions *v, char *buf, size_t size)
{
	if (!v->module[0])
		snprintf(buf, size, "module not loaded");
	else if (v->module_api > 0)
		snprintf(buf, size, "module %s (API %d)", v->module,
			 v->module_api);
	else
		snprintf(buf, size, "module %s (API unknown: %s: %s)",
			 v->module, SNAPSET_DEV_PATH, strerror(-v->module_api));
}

struct json_object *versions_to_json(const struct versions *v)
{
	struct json_object *obj = json_object_new_object();

	json_add_string(obj, "program", SNAPSET_VERSION);
	json_object_object_add(obj, "program_api",
			       json_object_new_int(SNAPSET_API));
	json_object_object_add(obj, "module",
			       v->module[0] ? json_object_new_string(v->module)
					    : NULL);
	json_object_object_add(
	    obj, "module_api",
	    v->module_api > 0 ? json_object_new_int(v->module_api) : NULL);
	return obj;
}

int versions_print(void)
{
	struct versions v;
	char module[256];

	versions_read(&v);
	versions_module_text(&v, module, sizeof(module));
	printf("snapset %s (API %d)\n%s\n", SNAPSET_VERSION, SNAPSET_API,
	       module);
	return EXIT_SUCCESS;
}
