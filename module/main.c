// SPDX-License-Identifier: GPL-2.0
/*
 * snapset: snapshot sets whose block devices live as long as the backup
 * that owns them.
 *
 * This file registers the /dev/snapset misc device.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static int snapset_open(struct inode *inode, struct file *file)
{
	return nonseekable_open(inode, file);
}

static int snapset_release(struct inode *inode, struct file *file)
{
	return 0;
}

static const struct file_operations snapset_fops = {
	.owner = THIS_MODULE,
	.open = snapset_open,
	.release = snapset_release,
	.llseek = no_llseek,
};

static struct miscdevice snapset_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "snapset",
	.fops = &snapset_fops,
	.mode = 0600,
};

static int __init snapset_init(void)
{
	int ret;

	ret = misc_register(&snapset_misc);
	if (ret) {
		pr_err("cannot register /dev/snapset: %d\n", ret);
		return ret;
	}
	pr_info("loaded, /dev/snapset is %d:%d\n", MISC_MAJOR,
		snapset_misc.minor);
	return 0;
}

static void __exit snapset_exit(void)
{
	misc_deregister(&snapset_misc);
}

module_init(snapset_init);
module_exit(snapset_exit);

MODULE_DESCRIPTION("Snapshot sets released when their backup ends");
MODULE_VERSION(SNAPSET_VERSION);
MODULE_LICENSE("GPL");
