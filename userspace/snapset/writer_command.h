/* SPDX-License-Identifier: GPL-2.0 */
/* snapset writer's COMMAND, run once per event. */
#ifndef SNAPSET_WRITER_COMMAND_H
#define SNAPSET_WRITER_COMMAND_H

#include <stddef.h>
#include <snapset/writer.h>

/*
 * Runs @command for @ev, stopped after @timeout_ms (0: never): 0 when
 * it exited 0, otherwise a positive errno with what happened in @error.
 */
int writer_command(const struct snapset_writer_event *ev, char **command,
		   long timeout_ms, char *error, size_t size);

#endif
