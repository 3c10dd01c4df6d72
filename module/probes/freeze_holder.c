// SPDX-License-Identifier: GPL-2.0
/* 6.6: freeze_super() names its holder, kernel or userspace. */
#include <linux/fs.h>

int snapset_probe(struct super_block *sb);
int snapset_probe(struct super_block *sb)
{
	return freeze_super(sb, FREEZE_HOLDER_USERSPACE);
}
