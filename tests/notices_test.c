// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of what writers are told: the event a notice encodes
 * for a described device, an LV of a lost set and a tombstone, pinned
 * byte for byte (docs/writer-protocol.md; writers parse these); which
 * devices a writer's match selects; and a tombstone, which no match can
 * select, reaching a --match writer through the daemon's own socket.
 */
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../userspace/common/format.h"
#include "../userspace/common/lvm.h"
#include "../userspace/common/module.h"
#include "../userspace/daemon/daemon.h"
#include "../userspace/lib/protocol.h"
#include "alloc_fail.h"
#include "daemon_step.h"
#include "kselftest_harness.h"

#define DESCRIBED_EVENT                                                      \
	"{\"type\":\"event\",\"event\":1,\"kind\":\"backup-shutdown\","      \
	"\"set\":{\"id\":\"0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a\","          \
	"\"name\":\"nightly\",\"armed\":true,\"completed\":false,"           \
	"\"reason\":\"exit\",\"signal\":9,\"owner_pid\":4242,"               \
	"\"owner_uid\":0,\"owner_comm\":\"backup\",\"closer_pid\":4242,"     \
	"\"closer_comm\":\"backup\","                                        \
	"\"created\":\"2025-11-24T16:00:00.000Z\","                          \
	"\"armed_at\":\"2025-11-24T16:00:01.500Z\","                         \
	"\"ended_at\":\"2025-11-24T16:01:00.250Z\"},"                        \
	"\"devices\":[{\"devno\":\"253:3\",\"diskseq\":17,\"size\":1048576," \
	"\"persistent\":false,\"released\":false,"                           \
	"\"dm_uuid\":\"LVM-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"                 \
	"A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6\","                                \
	"\"node\":\"\\/dev\\/dm-3\",\"type\":\"ext4\","                      \
	"\"uuid\":\"5f1c0c6e-2d1a-4c39-9a7e-3b1f0e6d2c11\","                 \
	"\"label\":\"pgdata\",\"engine\":\"lvm\","                           \
	"\"dm_name\":\"vg0-pgdata--snapset--0b7e2c1d\",\"vg\":\"vg0\","      \
	"\"lv\":\"pgdata-snapset-0b7e2c1d\",\"origin\":\"pgdata\"}]}"

#define LOST_EVENT                                                      \
	"{\"type\":\"event\",\"event\":1,\"kind\":\"backup-shutdown\"," \
	"\"set\":{\"id\":\"0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a\","     \
	"\"name\":\"nightly\",\"armed\":true,\"completed\":false,"      \
	"\"reason\":\"lost\",\"owner_pid\":4242,\"owner_uid\":0,"       \
	"\"owner_comm\":\"backup\",\"closer_pid\":4242,"                \
	"\"closer_comm\":\"backup\","                                   \
	"\"created\":\"2025-11-24T16:00:00.000Z\","                     \
	"\"armed_at\":\"2025-11-24T16:00:01.500Z\","                    \
	"\"ended_at\":\"2025-11-24T16:01:00.250Z\"},"                   \
	"\"devices\":[{\"engine\":\"lvm\",\"vg\":\"vg0\","              \
	"\"lv\":\"data-snapset-0b7e2c1d\",\"origin\":\"data\"}]}"

#define TOMBSTONE_EVENT                                                  \
	"{\"type\":\"event\",\"event\":1,\"kind\":\"backup-shutdown\","  \
	"\"set\":{\"id\":\"0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a\","      \
	"\"name\":\"nightly\",\"armed\":true,\"completed\":true,"        \
	"\"reason\":\"close\",\"tombstone\":true,\"owner_pid\":4242,"    \
	"\"owner_uid\":0,\"owner_comm\":\"backup\",\"closer_pid\":4242," \
	"\"closer_comm\":\"backup\","                                    \
	"\"created\":\"2025-11-24T16:00:00.000Z\","                      \
	"\"armed_at\":\"2025-11-24T16:00:01.500Z\","                     \
	"\"ended_at\":\"2025-11-24T16:01:00.250Z\"},\"devices\":[]}"

static const __u8 set_id[SNAPSET_ID_LEN] = { 0x0b, 0x7e, 0x2c, 0x1d, 0x5a, 0x4f,
					     0x4e, 0x3b, 0x9c, 0x8d, 0x7f, 0x6e,
					     0x5d, 0x4c, 0x3b, 0x2a };

static const struct device_desc snapshot_desc = {
	.node = "/dev/dm-3",
	.type = "ext4",
	.uuid = "5f1c0c6e-2d1a-4c39-9a7e-3b1f0e6d2c11",
	.label = "pgdata",
	.engine = "lvm",
	.dm_name = "vg0-pgdata--snapset--0b7e2c1d",
	.vg = "vg0",
	.lv = "pgdata-snapset-0b7e2c1d",
	.origin = "pgdata",
};

/* Reconciliation's view of an inactive LV: lvs's words alone. */
static const struct snapset_lv lost_lv = {
	.uuid = "Aa1b2C-3d4E-5f6G-7h8I-9j0K-1l2M-3n4O5p",
	.vg = "vg0",
	.lv = "data-snapset-0b7e2c1d",
	.origin = "data",
	.set_id = "0b7e2c1d-5a4f-4e3b-9c8d-7f6e5d4c3b2a",
};

/* A shutdown record of "nightly" with @ndevices LVM devices (free()). */
static struct snapset_event *record(__u32 flags, __u32 reason,
				    unsigned int ndevices)
{
	size_t size = sizeof(struct snapset_event) +
		      ndevices * sizeof(struct snapset_device_info);
	struct snapset_event *ev = calloc(1, size);
	struct snapset_set_info *s = &ev->set;

	record_init(ev, SNAPSET_EVENT_SHUTDOWN);
	ev->size = size;
	ev->seq = 12;
	memcpy(s->id, set_id, SNAPSET_ID_LEN);
	strcpy(s->name, "nightly");
	s->flags = SNAPSET_SET_ARMED | SNAPSET_SET_TERMINATED | flags;
	s->reason = reason;
	s->signal = 9;
	s->ndevices = ndevices;
	s->owner_tgid = s->closer_tgid = 4242;
	strcpy(s->owner_comm, "backup");
	strcpy(s->closer_comm, "backup");
	s->create_realtime = 1764000000000000000ULL;
	s->arm_realtime = 1764000001500000000ULL;
	s->end_realtime = 1764000060250000000ULL;
	for (unsigned int i = 0; i < ndevices; i++) {
		struct snapset_device_info *d =
		    (struct snapset_device_info *)snapset_event_device(ev, i);

		*d = (struct snapset_device_info){
			.major = 253, .minor = 3, .diskseq = 17, .sectors = 2048
		};
		strcpy(d->dm_uuid, "LVM-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				   "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6");
	}
	return ev;
}

/* The record's devices, the snapshot as it was while it existed. */
static struct described_devices *described(const struct snapset_event *ev)
{
	struct described_devices *devs = devices_describe(ev);

	for (unsigned int i = 0; devs && i < devs->count; i++)
		devs->dev[i].desc = snapshot_desc;
	return devs;
}

static struct described_devices *lost(void)
{
	struct described_devices *devs = NULL;

	return devices_add_lost(&devs, &lost_lv) ? NULL : devs;
}

/* The event a shutdown notice of @ev sends as a writer's first. */
static char *encoded(struct snapset_event *ev,
		     struct described_devices *devices)
{
	struct daemon d = { .settling = true };
	char *text;

	notice_send(&d, PROTO_KIND_SHUTDOWN, ev, devices, NULL, NULL);
	text = notice_message(d.parked, 1);
	/* No writer: the notice is done with. */
	notices_settled(&d);
	free(ev);
	return text;
}

TEST(described_device_event)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_SIGNAL, SNAPSET_REASON_EXIT, 1);
	char *text = encoded(ev, described(ev));

	EXPECT_STREQ(DESCRIBED_EVENT, text);
	free(text);
}

/*
 * The described event of a set whose fixed members and devices were
 * encoded at its arm, from a record with @owner_comm (free()).
 */
static char *encoded_at_arm(const char *owner_comm)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_SIGNAL, SNAPSET_REASON_EXIT, 1);
	struct described_devices *devs = described(ev);

	strcpy(devs->set.set.owner_comm, owner_comm);
	devices_encode(devs);
	if (!devs->json || !devs->set.text[0]) {
		devices_put(devs);
		free(ev);
		return NULL;
	}
	return encoded(ev, devs);
}

/* The parts encoded at arm, the rest at its end: the same event. */
TEST(encoded_at_arm_event)
{
	char *text = encoded_at_arm("backup");

	EXPECT_STREQ(DESCRIBED_EVENT, text);
	free(text);
}

/* What was encoded at arm is not another set's, whatever it is. */
TEST(encoded_at_arm_of_another_set)
{
	char *text = encoded_at_arm("other");

	EXPECT_STREQ(DESCRIBED_EVENT, text);
	free(text);
}

/* What a set that froze adds, last of its members. */
#define FREEZE_MEMBER                                                     \
	",\"freeze\":{\"filesystems\":2,"                                 \
	"\"frozen_at\":\"2025-11-24T16:00:01.000Z\",\"held_ms\":182.400," \
	"\"end\":\"thawed\",\"foreign_thaw\":false,\"thaw_failed\":false}"

/* DESCRIBED_EVENT of a set that froze (free()). */
static char *described_frozen_event(void)
{
	const char *end = strstr(DESCRIBED_EVENT, "},\"devices\":");
	int at = (int)(end - DESCRIBED_EVENT);
	char *text;

	if (asprintf(&text, "%.*s%s%s", at, DESCRIBED_EVENT, FREEZE_MEMBER,
		     end) < 0)
		return NULL;
	return text;
}

/* record()'s set, frozen for its snapshots before its arm. */
static struct snapset_event *frozen_record(void)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_SIGNAL, SNAPSET_REASON_EXIT, 1);

	ev->set.freeze_count = 2;
	ev->set.freeze_realtime = 1764000001000000000ULL;
	ev->set.freeze_end = SNAPSET_FREEZE_END_THAWED;
	ev->set.freeze_hold_ns = 182400000;
	return ev;
}

/* A set that froze: its freeze, whether or not its arm was encoded. */
TEST(frozen_set_event)
{
	char *want = described_frozen_event(), *text;
	struct snapset_event *ev = frozen_record();
	struct described_devices *devs = described(ev);

	ASSERT_NE(NULL, want);
	text = encoded(frozen_record(), described(ev));
	EXPECT_STREQ(want, text);
	free(text);
	devices_encode(devs);
	ASSERT_NE(NULL, devs->set.text[0]);
	text = encoded(ev, devs);
	EXPECT_STREQ(want, text);
	free(text);
	free(want);
}

/* The "freeze" member of the set of event @text, as JSON text (free()). */
static char *freeze_of(const char *text)
{
	struct json_object *event = json_tokener_parse(text), *set, *freeze;
	char *json = NULL;

	if (json_object_object_get_ex(event, "set", &set) &&
	    json_object_object_get_ex(set, "freeze", &freeze))
		json = strdup(json_object_to_json_string_ext(
		    freeze, JSON_C_TO_STRING_PLAIN));
	json_object_put(event);
	return json;
}

/*
 * Out of memory anywhere: no event, or one with the whole freeze, never
 * without it. (json-c's own escaping may drop a string's text when out
 * of memory: the freeze's strings fit the buffer it starts with.)
 */
TEST(frozen_set_event_without_memory)
{
	struct snapset_event *ev = frozen_record();
	struct daemon d = { .settling = true };
	unsigned int failed = 0;
	char *text, *freeze;

	notice_send(&d, PROTO_KIND_SHUTDOWN, ev, described(ev), NULL, NULL);
	for (unsigned int at = 1; at < 64; at++) {
		alloc_fail_at = at;
		text = notice_message(d.parked, 1);
		alloc_fail_at = 0;
		failed += !text;
		if (!text)
			continue;
		freeze = freeze_of(text);
		EXPECT_STREQ(&FREEZE_MEMBER[strlen(",\"freeze\":")], freeze)
		TH_LOG("allocation %u failed", at);
		free(freeze);
		free(text);
	}
	EXPECT_LT(8, failed);
	notices_settled(&d);
	free(ev);
}

TEST(lost_lv_event)
{
	char *text = encoded(record(0, SNAPSET_REASON_LOST, 0), lost());

	EXPECT_STREQ(LOST_EVENT, text);
	free(text);
}

TEST(tombstone_event)
{
	char *text =
	    encoded(record(SNAPSET_SET_TOMBSTONE | SNAPSET_SET_COMPLETED,
			   SNAPSET_REASON_CLOSE, 0),
		    NULL);

	EXPECT_STREQ(TOMBSTONE_EVENT, text);
	free(text);
}

/* Out of memory: no event at all (the delivery fails), never a null. */
TEST(json_without_memory_is_null)
{
	struct snapset_event *ev = record(0, SNAPSET_REASON_EXIT, 1);
	struct described_devices *devs = described(ev);
	struct daemon d = { .settling = true };

	alloc_fail_at = 1;
	EXPECT_EQ(NULL, set_info_to_json(&ev->set));
	alloc_fail_at = 1;
	EXPECT_EQ(NULL, device_info_to_json(snapset_event_device(ev, 0)));
	alloc_fail_at = 1;
	EXPECT_EQ(NULL, devices_to_json(devs));
	notice_send(&d, PROTO_KIND_SHUTDOWN, ev, devs, NULL, NULL);
	alloc_fail_at = 1;
	EXPECT_EQ(NULL, notice_message(d.parked, 1));
	alloc_fail_at = 0;
	notices_settled(&d);
	free(ev);
}

/* A daemon just started: its notices held while writers come back. */
FIXTURE(settling)
{
	struct daemon d;
	struct snapset_event *ev;
};

FIXTURE_SETUP(settling)
{
	self->ev = record(0, SNAPSET_REASON_EXIT, 1);
	ASSERT_EQ(0, io_uring_queue_init(8, &self->d.ring, 0));
	notices_settle(&self->d);
}

FIXTURE_TEARDOWN(settling)
{
	notices_settled(&self->d);
	io_uring_queue_exit(&self->d.ring);
	free(self->ev);
}

/*
 * A daemon with nothing to hold arms no timer (an idle daemon never
 * wakes); the first notice held arms it, once.
 */
TEST_F(settling, timer_armed_by_the_first_held_notice)
{
	EXPECT_EQ(0, io_uring_sq_ready(&self->d.ring));
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, self->ev, NULL, NULL, NULL);
	EXPECT_NE(NULL, self->d.parked);
	EXPECT_EQ(1, io_uring_sq_ready(&self->d.ring));
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, self->ev, NULL, NULL, NULL);
	EXPECT_EQ(1, io_uring_sq_ready(&self->d.ring));
}

/* Past the settle time, with nothing held, a notice goes at once. */
TEST_F(settling, notice_after_the_settle_time_is_not_held)
{
	self->d.settle_end_ms = monotonic_ms() - 1;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, self->ev, NULL, NULL, NULL);
	EXPECT_EQ(NULL, self->d.parked);
	EXPECT_FALSE(self->d.settling);
	EXPECT_EQ(0, io_uring_sq_ready(&self->d.ring));
}

TEST(snapshot_matches_its_origin_and_filesystem)
{
	struct snapset_event *ev = record(0, SNAPSET_REASON_EXIT, 1);
	struct described_devices *devs = described(ev);
	const struct described_device *dev = &devs->dev[0];

	EXPECT_TRUE(device_matches(dev, "LV=vg0/pgdata"));
	EXPECT_TRUE(device_matches(dev, "LV=vg0/pgdata-snapset-0b7e2c1d"));
	EXPECT_TRUE(
	    device_matches(dev, "UUID=5F1C0C6E-2D1A-4C39-9A7E-3B1F0E6D2C11"));
	EXPECT_TRUE(device_matches(dev, "LABEL=pgdata"));
	EXPECT_FALSE(device_matches(dev, "LABEL=PGDATA"));
	EXPECT_FALSE(device_matches(dev, "LV=vg1/pgdata"));
	EXPECT_FALSE(device_matches(dev, "LV=vg0/pg"));
	devices_put(devs);
	free(ev);
}

/* Matched as writers see it: the Latin-1 label "caf\xe9" is "caf\ufffd". */
TEST(label_matches_as_shown)
{
	struct snapset_event *ev = record(0, SNAPSET_REASON_EXIT, 1);
	struct described_devices *devs = described(ev);

	strcpy(devs->dev[0].desc.label, "caf\xe9");
	EXPECT_TRUE(device_matches(&devs->dev[0], "LABEL=caf\xef\xbf\xbd"));
	devices_put(devs);
	free(ev);
}

TEST(lost_lv_matches_its_origin)
{
	struct described_devices *devs = lost();
	const struct described_device *dev = &devs->dev[0];

	EXPECT_TRUE(device_matches(dev, "LV=vg0/data"));
	EXPECT_TRUE(device_matches(dev, "LV=vg0/data-snapset-0b7e2c1d"));
	EXPECT_FALSE(device_matches(dev, "LV=vg0/other"));
	EXPECT_FALSE(device_matches(dev, "LV=vg1/data"));
	devices_put(devs);
}

/* Inactive, or no snapshot: described by VG/LV alone, never by a guess. */
TEST(lost_lv_without_origin_matches_itself_only)
{
	struct snapset_lv lv = { .vg = "vg0", .lv = "plain" };
	struct described_devices *devs = NULL;

	ASSERT_EQ(0, devices_add_lost(&devs, &lv));
	EXPECT_TRUE(device_matches(&devs->dev[0], "LV=vg0/plain"));
	EXPECT_EQ(0, devs->dev[0].desc.origin[0]);
	devices_put(devs);
}

/* The daemon's writer socket, its ring run here as its loop runs it. */
FIXTURE(writers)
{
	struct daemon_options opts;
	struct daemon d;
	int writer; /* a writer's connection, registered */
	char buf[PROTO_MESSAGE_MAX + 1];
};

struct outcome {
	bool done;
	unsigned int failed;
	char told[WRITERS_TOLD_LEN + 32];
};

static void notice_done(void *owner, unsigned int failed, const char *told,
			bool interrupted)
{
	struct outcome *o = owner;

	o->done = !interrupted;
	o->failed = failed;
	snprintf(o->told, sizeof(o->told), "%s", told);
}

/* Runs the ring until one completion is handled; false if none came. */
static bool step(struct daemon *d)
{
	return daemon_step(d, 10000, NULL) >= 0;
}

/* What the daemon sent connection @fd next, once the ring has sent it. */
static const char *recv_sent(struct daemon *d, int fd, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	/* A send waits for the one before it to complete. */
	while (poll(&pfd, 1, 0) != 1)
		if (!step(d))
			return "";
	n = recv(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static const char *writer_recv(FIXTURE_DATA(writers) * self)
{
	return recv_sent(&self->d, self->writer, self->buf, sizeof(self->buf));
}

static int writer_send(int fd, char *text)
{
	ssize_t n = send(fd, text, strlen(text), 0);

	free(text);
	return n > 0 ? 0 : -1;
}

FIXTURE_SETUP(writers)
{
	const char *const match[] = { "LV=vg9/nothing", NULL };

	snprintf(self->opts.socket_path, sizeof(self->opts.socket_path),
		 "/tmp/snapset-notices-%d.sock", getpid());
	self->opts.writer_deadline_ms = 10000;
	self->opts.max_connections = 32;
	self->opts.allowed_uids[self->opts.nallowed_uids++] = getuid();
	self->d.opts = &self->opts;
	self->d.listen_fd = -1;
	ASSERT_EQ(0, io_uring_queue_init(16, &self->d.ring, 0));
	ASSERT_EQ(0, metrics_init(&self->d));
	ASSERT_EQ(0, writers_listen(&self->d));
	writers_accept(&self->d);
	self->writer = proto_connect(self->opts.socket_path);
	ASSERT_LE(0, self->writer);
	ASSERT_EQ(0, writer_send(self->writer, proto_hello("db", match)));
	while (!writers_count(&self->d))
		ASSERT_TRUE(step(&self->d));
	ASSERT_NE(NULL, strstr(writer_recv(self), "\"welcome\""));
}

FIXTURE_TEARDOWN(writers)
{
	close(self->writer);
	close(self->d.listen_fd);
	unlink(self->opts.socket_path);
	io_uring_queue_exit(&self->d.ring);
}

TEST_F(writers, tombstone_reaches_a_writer_whose_match_fits_nothing)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE | SNAPSET_SET_COMPLETED,
		   SNAPSET_REASON_CLOSE, 0);
	struct outcome outcome = { 0 };

	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &outcome);
	free(ev);
	EXPECT_FALSE(outcome.done);
	EXPECT_STREQ(TOMBSTONE_EVENT, writer_recv(self));
	ASSERT_EQ(0, writer_send(self->writer, proto_ack(1, NULL)));
	while (!outcome.done)
		ASSERT_TRUE(step(&self->d));
	EXPECT_EQ(0, outcome.failed);
	EXPECT_STREQ("db", outcome.told);
}

/*
 * The writers told are named in the event's one line as far as they
 * fit, then counted: a line per writer would be a thousand per shutdown.
 */
TEST_F(writers, writers_told_are_named_then_counted)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE, SNAPSET_REASON_EXIT, 0);
	struct outcome outcome = { 0 };
	char name[PROTO_NAME_MAX + 1], buf[512];
	int fds[6];

	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "%c%0*d", '0' + i,
			 PROTO_NAME_MAX - 1, 0);
		fds[i] = proto_connect(self->opts.socket_path);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, writer_send(fds[i], proto_hello(name, NULL)));
		recv_sent(&self->d, fds[i], buf, sizeof(buf));
	}
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &outcome);
	free(ev);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"event\":1"));
	ASSERT_EQ(0, writer_send(self->writer, proto_ack(1, NULL)));
	for (int i = 0; i < 6; i++) {
		recv_sent(&self->d, fds[i], buf, sizeof(buf));
		ASSERT_EQ(0, writer_send(fds[i], proto_ack(1, NULL)));
	}
	while (!outcome.done)
		ASSERT_TRUE(step(&self->d));
	EXPECT_EQ(0, outcome.failed);
	/* "db" and three names of PROTO_NAME_MAX fit the line. */
	EXPECT_EQ(0, strncmp(outcome.told, "db, 0000", 8))
	TH_LOG("%s", outcome.told);
	EXPECT_NE(NULL, strstr(outcome.told, " and 3 more"))
	TH_LOG("%s", outcome.told);
	for (int i = 0; i < 6; i++)
		close(fds[i]);
}

/* The same writer's match refuses a set whose devices it can see. */
TEST_F(writers, lost_set_of_another_lv_is_not_sent)
{
	struct snapset_event *ev = record(0, SNAPSET_REASON_LOST, 0);
	struct outcome outcome = { 0 };

	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, lost(), notice_done,
		    &outcome);
	free(ev);
	EXPECT_TRUE(outcome.done);
	EXPECT_EQ(0, outcome.failed);
}
/* Out of memory while describing: the devices are unknown, not none. */
TEST_F(writers, undescribed_devices_reach_a_writer_with_a_match)
{
	struct snapset_event *ev = record(0, SNAPSET_REASON_EXIT, 1);
	struct outcome outcome = { 0 };
	struct described_devices *devs;

	alloc_fail_at = 1;
	devs = devices_describe(ev);
	alloc_fail_at = 0;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, devs, notice_done,
		    &outcome);
	free(ev);
	EXPECT_FALSE(outcome.done);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"devices\":[]"));
	ASSERT_EQ(0, writer_send(self->writer, proto_ack(1, NULL)));
	while (!outcome.done)
		ASSERT_TRUE(step(&self->d));
	EXPECT_EQ(0, outcome.failed);
}

/* A writer the notice could not be queued to failed its delivery. */
TEST_F(writers, unqueued_writer_counts_as_failed)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE, SNAPSET_REASON_EXIT, 0);
	struct outcome outcome = { 0 };

	/* The notice's allocation, then the writer's delivery. */
	alloc_fail_at = 2;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &outcome);
	alloc_fail_at = 0;
	free(ev);
	EXPECT_TRUE(outcome.done);
	EXPECT_EQ(1, outcome.failed);
}

/*
 * One ring timeout serves every event's deadline: the one left by an
 * event answered at once fires into nothing, and the next event, sent
 * later, still has its whole deadline before its writer goes.
 */
TEST_F(writers, unanswered_event_goes_at_its_own_deadline)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE, SNAPSET_REASON_EXIT, 0);
	struct outcome answered = { 0 }, unanswered = { 0 };
	long long sent;

	self->opts.writer_deadline_ms = 300;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &answered);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"event\":1"));
	ASSERT_EQ(0, writer_send(self->writer, proto_ack(1, NULL)));
	while (!answered.done)
		ASSERT_TRUE(step(&self->d));
	usleep(200 * 1000);
	sent = monotonic_ms();
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &unanswered);
	free(ev);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"event\":2"));
	while (!unanswered.done)
		ASSERT_TRUE(step(&self->d));
	EXPECT_LE(300, monotonic_ms() - sent);
	EXPECT_EQ(0, answered.failed);
	EXPECT_EQ(1, unanswered.failed);
	EXPECT_NE(NULL, strstr(writer_recv(self),
			       "event 2 not acknowledged within 300 ms"))
	TH_LOG("%s", self->buf);
}

/* The first event's deadline is the timeout sent with it: no clock. */
TEST_F(writers, unanswered_first_event_goes_at_its_deadline)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE, SNAPSET_REASON_EXIT, 0);
	struct outcome outcome = { 0 };
	long long sent = monotonic_ms();

	self->opts.writer_deadline_ms = 200;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &outcome);
	free(ev);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"event\":1"));
	while (!outcome.done)
		ASSERT_EQ(0, daemon_round(&self->d));
	EXPECT_LE(200, monotonic_ms() - sent);
	EXPECT_EQ(1, outcome.failed);
}

/*
 * Two writers' events, the second sent while the first's timeout runs:
 * when it fires, the first writer goes and the second keeps the rest
 * of its own deadline.
 */
TEST_F(writers, later_event_outlives_the_first_ones_timeout)
{
	const char *const match[] = { "LV=vg9/nothing", NULL };
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE, SNAPSET_REASON_EXIT, 0);
	struct outcome first = { 0 }, second = { 0 };
	int other = proto_connect(self->opts.socket_path);
	char buf[512];

	ASSERT_LE(0, other);
	ASSERT_EQ(0, writer_send(other, proto_hello("late", match)));
	while (writers_count(&self->d) < 2)
		ASSERT_TRUE(step(&self->d));
	EXPECT_NE(NULL, strstr(recv_sent(&self->d, other, buf, sizeof(buf)),
			       "\"welcome\""));
	self->opts.writer_deadline_ms = 1000;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &first);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"event\":1"));
	EXPECT_NE(NULL, strstr(recv_sent(&self->d, other, buf, sizeof(buf)),
			       "\"event\":1"));
	ASSERT_EQ(0, writer_send(other, proto_ack(1, NULL)));
	usleep(400 * 1000);
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &second);
	free(ev);
	while (!first.done)
		ASSERT_EQ(0, daemon_round(&self->d));
	EXPECT_EQ(1, first.failed);
	EXPECT_FALSE(second.done);
	EXPECT_NE(NULL, strstr(recv_sent(&self->d, other, buf, sizeof(buf)),
			       "\"event\":2"));
	ASSERT_EQ(0, writer_send(other, proto_ack(2, NULL)));
	while (!second.done)
		ASSERT_EQ(0, daemon_round(&self->d));
	EXPECT_EQ(1, second.failed);
	close(other);
}

/*
 * An ack in the same batch of completions as its deadline's timeout is
 * read before the writer is judged: it came in time. The daemon's own
 * rounds (not one completion at a time) see both at once.
 */
TEST_F(writers, ack_beside_its_deadline_is_in_time)
{
	struct snapset_event *ev =
	    record(SNAPSET_SET_TOMBSTONE, SNAPSET_REASON_EXIT, 0);
	struct outcome outcome = { 0 };

	self->opts.writer_deadline_ms = 100;
	notice_send(&self->d, PROTO_KIND_SHUTDOWN, ev, NULL, notice_done,
		    &outcome);
	free(ev);
	EXPECT_NE(NULL, strstr(writer_recv(self), "\"event\":1"));
	/* The timeout fires unseen; the ack comes after it. */
	usleep(200 * 1000);
	ASSERT_EQ(0, writer_send(self->writer, proto_ack(1, NULL)));
	while (!outcome.done)
		ASSERT_EQ(0, daemon_round(&self->d));
	EXPECT_EQ(0, outcome.failed);
}

/* Handles completions until none comes for a while. */
static void steps_until_idle(struct daemon *d)
{
	while (daemon_step(d, 100, NULL) >= 0)
		;
}

/*
 * Past max_connections, a connection that said hello reads a bye of
 * code denied, even once the daemon has closed it with the hello
 * unread: not ECONNRESET.
 */
TEST_F(writers, connection_past_the_bound_reads_bye_denied)
{
	char buf[512] = "";
	int fds[18], nfds = 0, fd = -1;
	ssize_t n = 0;

	/* Root's reserve and one more: the next of anyone's is refused. */
	self->d.max_writers = 17;
	for (int i = 0; i < 18 && !strstr(buf, "\"bye\""); i++) {
		fd = fds[nfds++] = proto_connect(self->opts.socket_path);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, writer_send(fd, proto_hello("more", NULL)));
		steps_until_idle(&self->d);
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		ASSERT_LT(0, n) TH_LOG("recv: %s", strerror(errno));
		buf[n] = '\0';
	}
	EXPECT_NE(NULL, strstr(buf, "\"code\":\"denied\"")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "too many connections")) TH_LOG("%s", buf);
	EXPECT_EQ(0, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	while (nfds)
		close(fds[--nfds]);
}

/*
 * Under an open-files limit lower than max_connections needs, fewer
 * writers may connect: the daemon's own files (lvm's pipes, history) are
 * never the ones the kernel refuses.
 */
TEST(open_files_limit_bounds_the_writers)
{
	struct rlimit low = { .rlim_cur = 600, .rlim_max = 600 };
	struct daemon_options opts = { .max_connections = 4096 };
	struct daemon d = { .opts = &opts, .listen_fd = -1 };

	snprintf(opts.socket_path, sizeof(opts.socket_path),
		 "/tmp/snapset-notices-%d.sock", getpid());
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
	ASSERT_EQ(0, io_uring_queue_init(16, &d.ring, 0));
	ASSERT_EQ(0, writers_listen(&d));
	EXPECT_EQ(600 - 256, d.max_writers);
	close(d.listen_fd);
	unlink(opts.socket_path);
	io_uring_queue_exit(&d.ring);
}

TEST_HARNESS_MAIN
