// SPDX-License-Identifier: GPL-2.0
/* 6.12: struct fd is read through fd_file(), its members are private. */
#include <linux/file.h>

struct file *snapset_probe(struct fd f);
struct file *snapset_probe(struct fd f)
{
	return fd_file(f);
}
