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

/*
 * Every ioctl argument starts with __u32 @size, the size of the struct as
 * the caller knows it, and __u32 @flags. The kernel reads it as openat2()
 * and clone3() do: a caller built against an older, smaller struct gets
 * zeros for the fields it does not know; a newer, larger one whose tail
 * the kernel does not know must leave that tail zero, or the call fails
 * with E2BIG. So fields are added at the end, without new ioctl numbers.
 * A @size below the first version's (SNAPSET_*_SIZE_VER0) is EINVAL.
 * Structs the kernel fills in are written back up to the caller's @size.
 */

/* The API version a caller states in struct snapset_api. */
#define SNAPSET_API 2

/* Most devices one set may hold (the VSS limit of a shadow copy set). */
#define SNAPSET_MAX_DEVICES 64
/* A set's name, NUL included: at most 63 bytes of text. */
#define SNAPSET_NAME_LEN 64
#define SNAPSET_ID_LEN 16
#define SNAPSET_COMM_LEN 16
/* A device-mapper uuid (DM_UUID_LEN is 129), NUL-padded. */
#define SNAPSET_DM_UUID_LEN 136
/* Most filesystems one SNAPSET_IOC_FREEZE may freeze. */
#define SNAPSET_MAX_FREEZE 16
/* The freeze's deadline: the default (VSS's hold window) and the most. */
#define SNAPSET_FREEZE_TIMEOUT_DEFAULT_MS 10000
#define SNAPSET_FREEZE_TIMEOUT_MAX_MS 60000

/*
 * The module serves 32-bit callers: every struct here has the same layout
 * for them (fixed-width fields, no implicit padding, 64-bit fields
 * aligned), through compat_ptr_ioctl.
 */
#define SNAPSET_FEATURE_COMPAT32 (1ULL << 0)

/**
 * struct snapset_api - the handshake (%SNAPSET_IOC_API)
 * @size: sizeof(struct snapset_api) as the caller knows it.
 * @flags: must be zero.
 * @api: in: the API version the caller speaks (%SNAPSET_API); out: the
 *       module's. A version the module does not speak is EINVAL (with @api
 *       filled in).
 * @features: in: the %SNAPSET_FEATURE_* bits the caller wants; out: those
 *            granted. Wanting a feature the module lacks is EINVAL.
 * @available: out: every feature this module has.
 * @ioctls: out: bit N set when the ioctl with _IOC_NR N exists.
 * @max_devices: out: %SNAPSET_MAX_DEVICES.
 * @max_pending: out: whole pending records kept before the oldest is
 *               reduced to a tombstone.
 * @max_records: out: armed sets and pending records together; arm fails
 *               with ENOSPC past it (since %SNAPSET_API_SIZE_VER1).
 * @max_record_size: out: the largest record read() or list may return, so
 *                   a reader can size its buffer (since VER1).
 *
 * Like UFFDIO_API: a caller learns what this kernel offers before it
 * relies on it. The call is optional; the other ioctls do not need it.
 */
struct snapset_api {
	__u32 size;
	__u32 flags;
	__aligned_u64 api;
	__aligned_u64 features;
	__aligned_u64 available;
	__aligned_u64 ioctls;
	__u32 max_devices;
	__u32 max_pending;
	__u32 max_records;
	__u32 max_record_size;
};

#define SNAPSET_API_SIZE_VER0 48	/* up to @max_pending */
#define SNAPSET_API_SIZE_VER1 56	/* @max_records, @max_record_size */

/**
 * struct snapset_create - make the file a set's handle (%SNAPSET_IOC_CREATE)
 * @size: sizeof(struct snapset_create) as the caller knows it.
 * @flags: must be zero.
 * @name: optional NUL-terminated name (letters, digits, ``-_.:@+``), or
 *        all zero.
 * @id: out: the set's 128-bit id (printed as a UUID).
 */
struct snapset_create {
	__u32 size;
	__u32 flags;
	char name[SNAPSET_NAME_LEN];
	__u8 id[SNAPSET_ID_LEN];
};

#define SNAPSET_CREATE_SIZE_VER0 88

/*
 * Flags of a device: given to %SNAPSET_IOC_ADD (%SNAPSET_DEVICE_PERSISTENT
 * only; without it the device is auto-release, VSS's default), and
 * reported in struct snapset_device_info.
 */
/* Persistent (VSS NO_AUTO_RELEASE): held until termination, then left. */
#define SNAPSET_DEVICE_PERSISTENT (1U << 0)
/* Reported only: the set's reference was dropped. */
#define SNAPSET_DEVICE_RELEASED (1U << 1)

/**
 * struct snapset_add - add a block device to the set (%SNAPSET_IOC_ADD)
 * @size: sizeof(struct snapset_add) as the caller knows it.
 * @flags: zero, or %SNAPSET_DEVICE_PERSISTENT.
 * @fd: a file descriptor of the block device, opened for reading.
 * @reserved: must be zero.
 */
struct snapset_add {
	__u32 size;
	__u32 flags;
	__s32 fd;
	__u32 reserved;
};

#define SNAPSET_ADD_SIZE_VER0 16

/* Release every device of the set; @major and @minor must be zero. */
#define SNAPSET_DELETE_ALL (1U << 0)

/**
 * struct snapset_delete - release devices now (%SNAPSET_IOC_DELETE)
 * @size: sizeof(struct snapset_delete) as the caller knows it.
 * @flags: zero, or %SNAPSET_DELETE_ALL.
 * @major: the device to release, unless %SNAPSET_DELETE_ALL.
 * @minor: the device to release, unless %SNAPSET_DELETE_ALL.
 */
struct snapset_delete {
	__u32 size;
	__u32 flags;
	__u32 major;
	__u32 minor;
};

#define SNAPSET_DELETE_SIZE_VER0 16

#define SNAPSET_ABORT_EXIT_STATUS (1U << 0)
#define SNAPSET_ABORT_SIGNAL (1U << 1)

/**
 * struct snapset_abort - end the set as aborted (%SNAPSET_IOC_ABORT)
 * @size: sizeof(struct snapset_abort) as the caller knows it.
 * @flags: which of @exit_status and @signal is given (at most one).
 * @exit_status: the backup command's exit status (0..255).
 * @signal: the signal that killed the backup command (1..64).
 */
struct snapset_abort {
	__u32 size;
	__u32 flags;
	__u32 exit_status;
	__u32 signal;
};

#define SNAPSET_ABORT_SIZE_VER0 16

/**
 * struct snapset_target - a set named by id (%SNAPSET_IOC_TERMINATE,
 * %SNAPSET_IOC_ACK, %SNAPSET_IOC_DISCARD)
 * @size: sizeof(struct snapset_target) as the caller knows it.
 * @flags: must be zero.
 * @id: the set's id.
 */
struct snapset_target {
	__u32 size;
	__u32 flags;
	__u8 id[SNAPSET_ID_LEN];
};

#define SNAPSET_TARGET_SIZE_VER0 24

/*
 * Become the delivery agent: read pending shutdown records losslessly
 * instead of the bounded event queue, and acknowledge them.
 */
#define SNAPSET_SUBSCRIBE_AGENT (1U << 0)

/**
 * struct snapset_subscribe - read events from this file
 * (%SNAPSET_IOC_SUBSCRIBE)
 * @size: sizeof(struct snapset_subscribe) as the caller knows it.
 * @flags: zero (a watcher), or %SNAPSET_SUBSCRIBE_AGENT.
 */
struct snapset_subscribe {
	__u32 size;
	__u32 flags;
};

#define SNAPSET_SUBSCRIBE_SIZE_VER0 8

/**
 * struct snapset_list - live sets and pending records (%SNAPSET_IOC_LIST)
 * @size: sizeof(struct snapset_list) as the caller knows it.
 * @flags: must be zero.
 * @buf: user address of the buffer the records are written to.
 * @buf_size: the buffer's size in bytes.
 * @used: out: bytes written, whole records only.
 * @needed: out: bytes all records need (the call fails with ENOSPC and
 *          writes no record when @buf_size is smaller).
 */
struct snapset_list {
	__u32 size;
	__u32 flags;
	__aligned_u64 buf;
	__aligned_u64 buf_size;
	__aligned_u64 used;
	__aligned_u64 needed;
};

#define SNAPSET_LIST_SIZE_VER0 40

/**
 * struct snapset_freeze - freeze filesystems for the snapshots
 * (%SNAPSET_IOC_FREEZE)
 * @size: sizeof(struct snapset_freeze) as the caller knows it.
 * @flags: must be zero.
 * @fds: user address of an array of @nr_fds __s32 file descriptors, each
 *       of any file on a filesystem to freeze (a directory, typically).
 *       Descriptors of one filesystem count once.
 * @nr_fds: 1 to %SNAPSET_MAX_FREEZE.
 * @timeout_ms: the deadline: the module thaws the filesystems itself this
 *              long after they were frozen. 0 means
 *              %SNAPSET_FREEZE_TIMEOUT_DEFAULT_MS; more than
 *              %SNAPSET_FREEZE_TIMEOUT_MAX_MS is EINVAL.
 *
 * Needs CAP_SYS_ADMIN (EPERM), on the set's own file, before arm (EBUSY
 * after it), once per set (EBUSY the second time). Only filesystems on a
 * block device can be frozen (EOPNOTSUPP otherwise: tmpfs, proc); one
 * already frozen by anyone else is EBUSY. EALREADY: the block device's
 * freeze returned without freezing the filesystem, because the device
 * was in a freeze already that no longer holds it (device-mapper
 * suspended, the filesystem thawed under it), or because its freeze does
 * not reach this filesystem; the module checks every filesystem is
 * frozen, and takes its freeze back. All or nothing: the
 * filesystems are frozen in ascending device-number order, and on any
 * failure the ones already frozen are thawed again, in reverse, and the
 * set is as it was; if one of those thaws fails, the error is
 * ENOTRECOVERABLE and the set has %SNAPSET_SET_THAW_FAILED (the kernel
 * log names the filesystem, which may be left frozen). A set with
 * %SNAPSET_SET_THAW_FAILED never freezes again: ENOTRECOVERABLE. EIO: a
 * filesystem's sync before its freeze failed. The
 * filesystems are frozen through their block device (the freeze
 * device-mapper's suspend takes), so an LVM snapshot of a frozen
 * filesystem nests inside this freeze.
 *
 * They stay frozen until %SNAPSET_IOC_THAW, the deadline (the set is
 * then marked expired, a %SNAPSET_EVENT_FREEZE_EXPIRED event is queued,
 * and the set can no longer be armed) or the set's termination, however
 * it happens: the module thaws them before it puts the set's devices.
 */
struct snapset_freeze {
	__u32 size;
	__u32 flags;
	__aligned_u64 fds;
	__u32 nr_fds;
	__u32 timeout_ms;
};

#define SNAPSET_FREEZE_SIZE_VER0 24

/* enum snapset_freeze_end - how a set's freeze ended */
enum snapset_freeze_end {
	SNAPSET_FREEZE_END_NONE = 0,	/* never frozen, or frozen still */
	SNAPSET_FREEZE_END_THAWED,	/* SNAPSET_IOC_THAW */
	SNAPSET_FREEZE_END_EXPIRED,	/* the deadline passed */
	SNAPSET_FREEZE_END_TERMINATED,	/* the set ended while frozen */
};

/**
 * struct snapset_thaw - thaw what the set froze (%SNAPSET_IOC_THAW)
 * @size: sizeof(struct snapset_thaw) as the caller knows it.
 * @flags: must be zero.
 * @freeze_count: out: how many filesystems the set froze.
 * @freeze_end: out: &enum snapset_freeze_end.
 * @freeze_hold_ns: out: how long writes were held, from the first
 *                  filesystem's freeze to the last one's thaw.
 *
 * Thaws every filesystem the set froze, together. 0: thawed. The out
 * fields are written on the errors below too:
 * ETIMEDOUT: the deadline had thawed them already (the set is expired).
 * ESTALE: thawed now, but someone else had thawed at least one of them
 * before (FITHAW, ``fsfreeze -u``): writes were not held throughout; the
 * set says so with %SNAPSET_SET_FREEZE_FOREIGN.
 * EIO: the kernel failed to thaw at least one of them (the others are
 * thawed; the kernel log names it): the set says so with
 * %SNAPSET_SET_THAW_FAILED.
 * ENOTRECOVERABLE: nothing to thaw: the set's %SNAPSET_IOC_FREEZE failed
 * with ENOTRECOVERABLE (its thaw back failed).
 * EALREADY: thawed before. ENOENT: the set never froze anything.
 */
struct snapset_thaw {
	__u32 size;
	__u32 flags;
	__u32 freeze_count;
	__u32 freeze_end;
	__aligned_u64 freeze_hold_ns;
};

#define SNAPSET_THAW_SIZE_VER0 24

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
	/* The freeze's deadline thawed the set's filesystems. */
	SNAPSET_EVENT_FREEZE_EXPIRED,
};

/* enum snapset_reason - why a set terminated */
enum snapset_reason {
	SNAPSET_REASON_NONE = 0,	/* not terminated (yet) */
	SNAPSET_REASON_CLOSE,		/* its last holder closed the file */
	SNAPSET_REASON_EXIT,		/* its last holder exited or was killed */
	SNAPSET_REASON_RELEASED,	/* last reference dropped without a close */
	SNAPSET_REASON_ABORT,		/* SNAPSET_IOC_ABORT */
	SNAPSET_REASON_ADMIN,		/* SNAPSET_IOC_TERMINATE */
	/* New reasons follow; userspace's own live far above. */
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
/*
 * Someone else thawed a filesystem the set had frozen (FITHAW) before the
 * set thawed it: writes were not held throughout, and the set cannot be
 * armed (ESTALE).
 */
#define SNAPSET_SET_FREEZE_FOREIGN (1U << 7)
/*
 * The kernel failed to thaw a filesystem the set had frozen (the kernel
 * log names it and the error): it may be left frozen, or its block
 * device's freeze count raised. SNAPSET_IOC_THAW returned EIO, or
 * SNAPSET_IOC_FREEZE ENOTRECOVERABLE (its thaw back, after a freeze
 * that failed). The set then neither freezes nor arms again
 * (ENOTRECOVERABLE): its snapshots are not known consistent, and a
 * later thaw could not tell its freeze from the one left behind.
 */
#define SNAPSET_SET_THAW_FAILED (1U << 8)

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
 * @owner_uid: the owner's effective uid at create, in the reader's user
 *             namespace (the overflow uid when it has no mapping there).
 *             Only root's sets should be acted on by a root daemon.
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
 * @freeze_count: filesystems the set froze (%SNAPSET_IOC_FREEZE), or 0.
 * @freeze_end: &enum snapset_freeze_end.
 * @freeze_realtime: CLOCK_REALTIME ns when the freeze began, or 0.
 * @freeze_hold_ns: how long writes were held, once thawed.
 *
 * New fields are added at the end (see struct snapset_event).
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
	__u32 owner_uid;
	char owner_comm[SNAPSET_COMM_LEN];
	char closer_comm[SNAPSET_COMM_LEN];
	__aligned_u64 owner_start_time;
	__aligned_u64 create_realtime;
	__aligned_u64 create_boottime;
	__aligned_u64 arm_realtime;
	__aligned_u64 arm_boottime;
	__aligned_u64 complete_realtime;
	__aligned_u64 complete_boottime;
	__aligned_u64 end_realtime;
	__aligned_u64 end_boottime;
	__u32 freeze_count;
	__u32 freeze_end;
	__aligned_u64 freeze_realtime;
	__aligned_u64 freeze_hold_ns;
};

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
	__aligned_u64 diskseq;
	__aligned_u64 sectors;
	__u32 flags;
	__u32 reserved;
	char dm_uuid[SNAPSET_DM_UUID_LEN];
};

/**
 * struct snapset_event - one event or record, as read() returns it
 * @type: &enum snapset_event_type.
 * @size: bytes of the whole record, devices included.
 * @header_size: bytes from the start of the record to its first device
 *               entry: sizeof(struct snapset_event) as the kernel knows it,
 *               at least %SNAPSET_EVENT_SIZE_VER0, a multiple of 8.
 * @device_size: bytes of each device entry: sizeof(struct
 *               snapset_device_info) as the kernel knows it, at least
 *               %SNAPSET_DEVICE_INFO_SIZE_VER0, a multiple of 8.
 * @seq: the event's sequence number (starts at 1 per module load).
 * @missed: %SNAPSET_EVENT_OVERFLOW: how many events this reader missed.
 * @set: the set (all zero for %SNAPSET_EVENT_OVERFLOW).
 *
 * @set.ndevices entries of struct snapset_device_info follow, at
 * @header_size, each @device_size bytes (use snapset_event_device()): the
 * set's devices for %SNAPSET_EVENT_ARMED, %SNAPSET_EVENT_SHUTDOWN and list
 * records, the one device for %SNAPSET_EVENT_DEVICE_ADDED and
 * %SNAPSET_EVENT_DEVICE_RELEASED, none otherwise. A newer kernel may make
 * either part longer (new fields at the end): step by the sizes given,
 * never by sizeof, and read what is not there as zero. @set stays the
 * last member: it grows at its end, and the header with it.
 *
 * read() returns whole records only; a buffer smaller than the next one
 * fails with EINVAL and loses nothing.
 */
struct snapset_event {
	__u32 type;
	__u32 size;
	__u32 header_size;
	__u32 device_size;
	__aligned_u64 seq;
	__aligned_u64 missed;
	struct snapset_set_info set;
};

#define SNAPSET_EVENT_SIZE_VER0 248
/* @set.freeze_count to @set.freeze_hold_ns. */
#define SNAPSET_EVENT_SIZE_VER1 272
#define SNAPSET_DEVICE_INFO_SIZE_VER0 168

/* Device entry @i of record @ev (see struct snapset_event). */
static __inline__ const struct snapset_device_info *
snapset_event_device(const struct snapset_event *ev, __u32 i)
{
	return (const struct snapset_device_info *)
		((const char *)ev + ev->header_size +
		 (unsigned long)i * ev->device_size);
}

/*
 * The ioctl type: 0xBB, free in Documentation/userspace-api/ioctl/
 * ioctl-number.rst as of late 2025 (0xBA went to liveupdate). Arguments
 * carry their own size, so the numbers do not encode one (as iommufd's).
 */
#define SNAPSET_IOC_TYPE 0xBB

#define SNAPSET_IOC_API _IO(SNAPSET_IOC_TYPE, 0x00)
#define SNAPSET_IOC_CREATE _IO(SNAPSET_IOC_TYPE, 0x01)
#define SNAPSET_IOC_ADD _IO(SNAPSET_IOC_TYPE, 0x02)
/*
 * ARM and COMPLETE take no argument yet: it must be 0 (NULL). A set that
 * froze filesystems is armed only after its thaw: EBUSY while frozen,
 * ETIMEDOUT when the deadline thawed, ESTALE when someone else did,
 * ENOTRECOVERABLE when a thaw failed (%SNAPSET_SET_THAW_FAILED).
 */
#define SNAPSET_IOC_ARM _IO(SNAPSET_IOC_TYPE, 0x03)
#define SNAPSET_IOC_COMPLETE _IO(SNAPSET_IOC_TYPE, 0x04)
#define SNAPSET_IOC_DELETE _IO(SNAPSET_IOC_TYPE, 0x05)
#define SNAPSET_IOC_ABORT _IO(SNAPSET_IOC_TYPE, 0x06)
#define SNAPSET_IOC_TERMINATE _IO(SNAPSET_IOC_TYPE, 0x07)
#define SNAPSET_IOC_SUBSCRIBE _IO(SNAPSET_IOC_TYPE, 0x08)
#define SNAPSET_IOC_ACK _IO(SNAPSET_IOC_TYPE, 0x09)
#define SNAPSET_IOC_DISCARD _IO(SNAPSET_IOC_TYPE, 0x0a)
#define SNAPSET_IOC_LIST _IO(SNAPSET_IOC_TYPE, 0x0b)
#define SNAPSET_IOC_FREEZE _IO(SNAPSET_IOC_TYPE, 0x0c)
#define SNAPSET_IOC_THAW _IO(SNAPSET_IOC_TYPE, 0x0d)

#endif /* _UAPI_LINUX_SNAPSET_H */
