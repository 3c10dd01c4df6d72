/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * snapset: snapshot sets whose block devices live as long as the backup
 * that owns them (the VSS auto-release contract on Linux).
 *
 * A process opens /dev/snapset and creates a set on that open file
 * description. The set holds a reference on every block device added to it
 * until the set terminates: at the last close of the file (explicit, or by
 * the kernel when the owner exits or is killed), at abort, or when an
 * administrator terminates it. An armed set's termination leaves a shutdown
 * record that the delivery agent (the snapset daemon) reads and
 * acknowledges.
 *
 * Every struct is made of fixed-width fields without implicit padding, so
 * 32-bit and 64-bit callers share one layout. Reserved fields must be zero
 * and unknown flags are refused with EINVAL.
 */
#ifndef _UAPI_LINUX_SNAPSET_H
#define _UAPI_LINUX_SNAPSET_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define SNAPSET_API 1

/* Most devices one set may hold (the VSS limit of a shadow copy set). */
#define SNAPSET_MAX_DEVICES 64
/* A set's name, NUL included: at most 63 bytes of text. */
#define SNAPSET_NAME_LEN 64
#define SNAPSET_ID_LEN 16
#define SNAPSET_COMM_LEN 16
/* A device-mapper uuid (DM_UUID_LEN is 129), NUL-padded. */
#define SNAPSET_DM_UUID_LEN 136

/**
 * struct snapset_api - what this kernel offers (%SNAPSET_IOC_API)
 * @api: filled in: %SNAPSET_API.
 * @features: filled in: %SNAPSET_FEATURE_* bits.
 * @ioctls: filled in: bit N set when the ioctl with _IOC_NR N exists.
 * @max_devices: filled in: %SNAPSET_MAX_DEVICES.
 * @max_pending: filled in: the bound of the pending record list.
 */
struct snapset_api {
	__u64 api;
	__u64 features;
	__u64 ioctls;
	__u32 max_devices;
	__u32 max_pending;
};

/*
 * The ioctl only refuses 32-bit layouts it cannot read; all structs here
 * are padding-free, so compat callers are served by compat_ptr_ioctl.
 */
#define SNAPSET_FEATURE_COMPAT32 (1ULL << 0)

/**
 * struct snapset_create - make the file a set's handle (%SNAPSET_IOC_CREATE)
 * @flags: must be zero.
 * @name: optional NUL-terminated name (letters, digits, ``-_.:@+``), or
 *        all zero.
 * @id: filled in: the set's 128-bit id (printed as a UUID).
 */
struct snapset_create {
	__u64 flags;
	char name[SNAPSET_NAME_LEN];
	__u8 id[SNAPSET_ID_LEN];
};

/* Released at termination and labelled for userspace release (default). */
#define SNAPSET_DEV_AUTO_RELEASE 0
/* Persistent (VSS NO_AUTO_RELEASE): held until termination, then left. */
#define SNAPSET_DEV_PERSISTENT (1U << 0)

/**
 * struct snapset_add - add a block device to the set (%SNAPSET_IOC_ADD)
 * @fd: a file descriptor of the block device, opened for reading.
 * @flags: %SNAPSET_DEV_AUTO_RELEASE or %SNAPSET_DEV_PERSISTENT.
 * @reserved: must be zero.
 */
struct snapset_add {
	__s32 fd;
	__u32 flags;
	__u64 reserved;
};

/* Release every device of the set; @major and @minor must be zero. */
#define SNAPSET_DELETE_ALL (1U << 0)

/**
 * struct snapset_delete - release devices now (%SNAPSET_IOC_DELETE)
 * @flags: zero, or %SNAPSET_DELETE_ALL.
 * @major: the device to release, unless %SNAPSET_DELETE_ALL.
 * @minor: the device to release, unless %SNAPSET_DELETE_ALL.
 * @reserved: must be zero.
 */
struct snapset_delete {
	__u32 flags;
	__u32 major;
	__u32 minor;
	__u32 reserved;
};

#define SNAPSET_ABORT_EXIT_STATUS (1U << 0)
#define SNAPSET_ABORT_SIGNAL (1U << 1)

/**
 * struct snapset_abort - end the set as aborted (%SNAPSET_IOC_ABORT)
 * @flags: which of @exit_status and @signal is given (at most one).
 * @exit_status: the backup command's exit status (0..255).
 * @signal: the signal that killed the backup command (1..64).
 * @reserved: must be zero.
 */
struct snapset_abort {
	__u32 flags;
	__u32 exit_status;
	__u32 signal;
	__u32 reserved;
};

/**
 * struct snapset_target - a set named by id (%SNAPSET_IOC_TERMINATE,
 * %SNAPSET_IOC_ACK, %SNAPSET_IOC_DISCARD)
 * @id: the set's id.
 * @flags: must be zero.
 */
struct snapset_target {
	__u8 id[SNAPSET_ID_LEN];
	__u64 flags;
};

/*
 * Become the delivery agent: read pending shutdown records losslessly
 * instead of the bounded event queue, and acknowledge them.
 */
#define SNAPSET_SUBSCRIBE_AGENT (1ULL << 0)

/**
 * struct snapset_subscribe - read events from this file
 * (%SNAPSET_IOC_SUBSCRIBE)
 * @flags: zero (a watcher), or %SNAPSET_SUBSCRIBE_AGENT.
 * @reserved: must be zero.
 */
struct snapset_subscribe {
	__u64 flags;
	__u64 reserved;
};

/**
 * struct snapset_list - live sets and pending records (%SNAPSET_IOC_LIST)
 * @buf: user address of the buffer the records are written to.
 * @size: the buffer's size in bytes.
 * @used: filled in: bytes written, whole records only.
 * @needed: filled in: bytes all records need (the call fails with ENOSPC
 *          and writes nothing when @size is smaller).
 */
struct snapset_list {
	__u64 buf;
	__u64 size;
	__u64 used;
	__u64 needed;
};

/* enum snapset_event_type - what happened; zero is never an event */
enum snapset_event_type {
	SNAPSET_EVENT_CREATED = 1,
	SNAPSET_EVENT_DEVICE_ADDED,
	SNAPSET_EVENT_ARMED,
	SNAPSET_EVENT_COMPLETE,
	SNAPSET_EVENT_DEVICE_RELEASED,
	SNAPSET_EVENT_ABORT,
	SNAPSET_EVENT_SHUTDOWN,
	SNAPSET_EVENT_OVERFLOW,
	/* Records of %SNAPSET_IOC_LIST. */
	SNAPSET_RECORD_LIVE,
	SNAPSET_RECORD_PENDING,
};

/* enum snapset_reason - why a set terminated */
enum snapset_reason {
	SNAPSET_REASON_NONE = 0,	/* not terminated (yet) */
	SNAPSET_REASON_CLOSE,		/* its last holder closed the file */
	SNAPSET_REASON_EXIT,		/* its last holder exited or was killed */
	SNAPSET_REASON_RELEASED,	/* last reference dropped without a close */
	SNAPSET_REASON_ABORT,		/* SNAPSET_IOC_ABORT */
	SNAPSET_REASON_ADMIN,		/* SNAPSET_IOC_TERMINATE */
	SNAPSET_REASON_LOST,		/* userspace only: found after a crash */
};

/* Flags of struct snapset_set_info. */
#define SNAPSET_SET_ARMED (1U << 0)
#define SNAPSET_SET_COMPLETED (1U << 1)
#define SNAPSET_SET_TERMINATED (1U << 2)
#define SNAPSET_SET_EXIT_STATUS (1U << 3) /* @exit_status is valid */
#define SNAPSET_SET_SIGNAL (1U << 4)	  /* @signal is valid */
/*
 * A pending record reduced past max_pending: the set's fields are kept,
 * its devices are dropped (@ndevices is 0).
 */
#define SNAPSET_SET_TOMBSTONE (1U << 5)
/*
 * The file was still referenced elsewhere when the recorded closer closed
 * it (an io_uring request, a /proc reader, a descriptor in flight): the set
 * ended when that reference went, and @reason says how its closer ended.
 */
#define SNAPSET_SET_CLOSER_SHARED (1U << 6)

/**
 * struct snapset_set_info - a set, as events and records describe it
 * @id: the set's id.
 * @name: its name, NUL-padded.
 * @flags: %SNAPSET_SET_* bits.
 * @reason: &enum snapset_reason.
 * @exit_status: the owner's or command's exit status.
 * @signal: the signal that ended the owner or the command.
 * @ndevices: how many &struct snapset_device_info follow.
 * @owner_tgid: the creating process, in the reader's pid namespace (0
 *              when it is not there).
 * @closer_tgid: the process that closed the file last, or 0; likewise.
 * @reserved: zero.
 * @owner_comm: the creating process's name.
 * @closer_comm: the last closer's name.
 * @owner_start_time: the owner's start, CLOCK_BOOTTIME ns (pids are reused).
 * @create_realtime: CLOCK_REALTIME ns of create.
 * @create_boottime: CLOCK_BOOTTIME ns of create.
 * @arm_realtime: of arm, or 0.
 * @arm_boottime: of arm, or 0.
 * @complete_realtime: of complete, or 0.
 * @complete_boottime: of complete, or 0.
 * @end_realtime: of termination, or 0.
 * @end_boottime: of termination, or 0.
 */
struct snapset_set_info {
	__u8 id[SNAPSET_ID_LEN];
	char name[SNAPSET_NAME_LEN];
	__u32 flags;
	__u32 reason;
	__u32 exit_status;
	__u32 signal;
	__u32 ndevices;
	__u32 owner_tgid;
	__u32 closer_tgid;
	__u32 reserved;
	char owner_comm[SNAPSET_COMM_LEN];
	char closer_comm[SNAPSET_COMM_LEN];
	__u64 owner_start_time;
	__u64 create_realtime;
	__u64 create_boottime;
	__u64 arm_realtime;
	__u64 arm_boottime;
	__u64 complete_realtime;
	__u64 complete_boottime;
	__u64 end_realtime;
	__u64 end_boottime;
};

/* Flags of struct snapset_device_info. */
#define SNAPSET_DEVICE_PERSISTENT SNAPSET_DEV_PERSISTENT
#define SNAPSET_DEVICE_RELEASED (1U << 1) /* reference dropped */

/**
 * struct snapset_device_info - a device's identity (minors are reused)
 * @major: device number when added.
 * @minor: device number when added.
 * @diskseq: the disk's sequence number (changes on every loop attach).
 * @sectors: size in 512-byte sectors when added.
 * @flags: %SNAPSET_DEVICE_* bits.
 * @reserved: zero.
 * @dm_uuid: the device-mapper uuid (LVM: "LVM-" VG uuid LV uuid), or
 *           empty when the device is not a device-mapper device.
 */
struct snapset_device_info {
	__u32 major;
	__u32 minor;
	__u64 diskseq;
	__u64 sectors;
	__u32 flags;
	__u32 reserved;
	char dm_uuid[SNAPSET_DM_UUID_LEN];
};

/**
 * struct snapset_event - one event or record, as read() returns it
 * @type: &enum snapset_event_type.
 * @size: bytes of the whole record, devices included.
 * @seq: the event's sequence number (starts at 1 per module load).
 * @missed: %SNAPSET_EVENT_OVERFLOW: how many events this reader missed.
 * @set: the set (all zero for %SNAPSET_EVENT_OVERFLOW).
 * @devices: @set.ndevices entries: the set's devices for
 *           %SNAPSET_EVENT_ARMED, %SNAPSET_EVENT_SHUTDOWN and list records,
 *           the one device for %SNAPSET_EVENT_DEVICE_ADDED and
 *           %SNAPSET_EVENT_DEVICE_RELEASED, none otherwise.
 *
 * read() returns whole records only; a buffer smaller than the next one
 * fails with EINVAL and loses nothing.
 */
struct snapset_event {
	__u32 type;
	__u32 size;
	__u64 seq;
	__u64 missed;
	struct snapset_set_info set;
	struct snapset_device_info devices[];
};

#define SNAPSET_IOC_MAGIC 0xBA

#define SNAPSET_IOC_API _IOR(SNAPSET_IOC_MAGIC, 0x00, struct snapset_api)
#define SNAPSET_IOC_CREATE _IOWR(SNAPSET_IOC_MAGIC, 0x01, struct snapset_create)
#define SNAPSET_IOC_ADD _IOW(SNAPSET_IOC_MAGIC, 0x02, struct snapset_add)
#define SNAPSET_IOC_ARM _IO(SNAPSET_IOC_MAGIC, 0x03)
#define SNAPSET_IOC_COMPLETE _IO(SNAPSET_IOC_MAGIC, 0x04)
#define SNAPSET_IOC_DELETE _IOW(SNAPSET_IOC_MAGIC, 0x05, struct snapset_delete)
#define SNAPSET_IOC_ABORT _IOW(SNAPSET_IOC_MAGIC, 0x06, struct snapset_abort)
#define SNAPSET_IOC_TERMINATE _IOW(SNAPSET_IOC_MAGIC, 0x07, struct snapset_target)
#define SNAPSET_IOC_SUBSCRIBE _IOW(SNAPSET_IOC_MAGIC, 0x08, struct snapset_subscribe)
#define SNAPSET_IOC_ACK _IOW(SNAPSET_IOC_MAGIC, 0x09, struct snapset_target)
#define SNAPSET_IOC_DISCARD _IOW(SNAPSET_IOC_MAGIC, 0x0a, struct snapset_target)
#define SNAPSET_IOC_LIST _IOWR(SNAPSET_IOC_MAGIC, 0x0b, struct snapset_list)

#endif /* _UAPI_LINUX_SNAPSET_H */
