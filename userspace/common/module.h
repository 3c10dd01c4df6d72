/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Access to the snapset module: the UAPI of include/uapi/linux/snapset.h
 * wrapped as functions that return 0 or -errno, and walking the records
 * that list and read() return.
 */
#ifndef SNAPSET_COMMON_MODULE_H
#define SNAPSET_COMMON_MODULE_H

#include <linux/snapset.h>
#include <stdbool.h>
#include <stddef.h>

#define SNAPSET_DEV_PATH "/dev/snapset"

/*
 * Userspace's own reason, far above the kernel's (which grow from 1): a
 * set the daemon found after a crash or a module reload, with its LVs
 * still tagged.
 */
#define SNAPSET_REASON_LOST 0x10000

/* Opens /dev/snapset; the fd, or -errno (-ENOENT: module not loaded). */
int module_open(void);

/*
 * The loaded module's version (MODULE_VERSION, from sysfs) in @buf:
 * 0, or -ENOENT when the module is not loaded.
 */
int module_version(char *buf, size_t size);

/* The module's API version, asked by SNAPSET_IOC_API: >0, or -errno. */
int module_api(int fd);

/* SNAPSET_IOC_LIST into a malloc()ed buffer the caller frees. */
int module_list(int fd, void **buf, size_t *len);

/* A set's life: create (@name may be NULL), add, arm, complete, abort. */
int module_create(int fd, const char *name, __u8 id[SNAPSET_ID_LEN]);
int module_add(int fd, int dev_fd, __u32 flags);
int module_arm(int fd);
/*
 * Freezes the filesystems of @fds (files on them) for the set on @fd,
 * until module_thaw(), @timeout_ms (0: the module's default) or the
 * set's end; module_thaw() fills @thaw in on its errors too.
 */
int module_freeze(int fd, const int *fds, unsigned int nfds,
		  unsigned int timeout_ms);
int module_thaw(int fd, struct snapset_thaw *thaw);
int module_complete(int fd);
/* Aborts with the exit status or signal of a wait status, if any. */
int module_abort(int fd, const int *wait_status);

int module_subscribe(int fd, __u32 flags);
int module_terminate(int fd, const __u8 id[SNAPSET_ID_LEN]);
int module_discard(int fd, const __u8 id[SNAPSET_ID_LEN]);
/* The agent's acknowledgement: the module forgets the record. */
int module_ack(int fd, const __u8 id[SNAPSET_ID_LEN]);

/*
 * The record at *off in @buf, advancing *off past it; NULL at the end or
 * when the record's sizes are impossible (the buffer is not trusted).
 * Its devices are at snapset_event_device(ev, i).
 */
const struct snapset_event *record_next(const void *buf, size_t len,
					size_t *off);

/*
 * module_list(), refused with -EPROTO unless every record in it is one
 * this program can read: whoever takes what is not listed for gone (an
 * LV for lost) must not miss a set it could not read.
 */
int module_list_whole(int fd, void **buf, size_t *len);

/* The first set or record in @buf (a module_list()) with the id @id. */
const struct snapset_event *record_of_set(const void *buf, size_t len,
					  const __u8 id[SNAPSET_ID_LEN]);
/* Whether a set or record in @buf (a module_list()) has the id @id. */
bool records_hold_set(const void *buf, size_t len,
		      const __u8 id[SNAPSET_ID_LEN]);

/*
 * The LV uuid (lvs's form, at most 38 characters) by which a record's
 * device is released: only a device that is not persistent and is an
 * LVM LV. -ENOENT for any other device, which is left alone.
 */
#define LV_UUID_LEN 40
int record_device_lv_uuid(const struct snapset_device_info *dev,
			  char uuid[LV_UUID_LEN]);

/* A record made here, without devices, laid out as the kernel's. */
void record_init(struct snapset_event *ev, __u32 type);

#endif
