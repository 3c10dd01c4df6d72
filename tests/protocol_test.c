// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the writer protocol's codec: what each side sends
 * parses back as sent, and every kind of malformed message is refused
 * with the reason the daemon logs.
 */
#include <errno.h>
#include <signal.h>
#include <snapset/writer.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../userspace/lib/protocol.h"
#include "kselftest_harness.h"

/* Parses @text from @sender; the reason in @why when refused. */
static int parse(const char *text, enum proto_sender sender,
		 struct proto_msg *msg, char *why)
{
	return proto_parse(text, strlen(text), sender, msg, why, 256);
}

TEST(hello_round_trip)
{
	const char *const match[] = { "UUID=0a1b", "LV=vg0/data", NULL };
	char *text = proto_hello("pg-main", match), why[256];
	struct proto_msg msg;

	ASSERT_NE(NULL, text);
	ASSERT_EQ(0, parse(text, PROTO_FROM_WRITER, &msg, why));
	EXPECT_EQ(PROTO_HELLO, msg.type);
	EXPECT_EQ(PROTO_VERSION, msg.version);
	EXPECT_STREQ("pg-main", msg.name);
	EXPECT_STREQ("UUID=0a1b", msg.match[0]);
	EXPECT_STREQ("LV=vg0/data", msg.match[1]);
	EXPECT_EQ(NULL, msg.match[2]);
	proto_msg_free(&msg);
	free(text);
}

TEST(ack_round_trip)
{
	char *ok = proto_ack(7, NULL), *error = proto_ack(8, "pg: WAL kept"),
	     why[256];
	struct proto_msg msg;

	ASSERT_EQ(0, parse(ok, PROTO_FROM_WRITER, &msg, why));
	EXPECT_EQ(PROTO_ACK, msg.type);
	EXPECT_EQ(7, msg.event);
	EXPECT_TRUE(msg.ok);
	EXPECT_EQ(NULL, msg.text);
	proto_msg_free(&msg);
	ASSERT_EQ(0, parse(error, PROTO_FROM_WRITER, &msg, why));
	EXPECT_EQ(8, msg.event);
	EXPECT_FALSE(msg.ok);
	EXPECT_STREQ("pg: WAL kept", msg.text);
	proto_msg_free(&msg);
	free(ok);
	free(error);
}

/* A long message in several-byte characters is cut between them. */
TEST(ack_message_cut_at_a_character)
{
	char long_text[3 * PROTO_TEXT_MAX + 1] = "", *text, why[256];
	struct proto_msg msg;

	for (int i = 0; i < PROTO_TEXT_MAX; i++)
		strcat(long_text, "\xc3\xa9"); /* é */
	text = proto_ack(1, long_text);
	ASSERT_EQ(0, parse(text, PROTO_FROM_WRITER, &msg, why));
	EXPECT_EQ(PROTO_TEXT_MAX, strlen(msg.text));
	proto_msg_free(&msg);
	free(text);
}

/* A message in another encoding goes as UTF-8, its odd bytes as U+FFFD. */
TEST(ack_message_made_utf8)
{
	char *text = proto_ack(2, "caf\xe9 \xc3\xa9t\xc3"), why[256];
	struct proto_msg msg;

	ASSERT_EQ(0, parse(text, PROTO_FROM_WRITER, &msg, why));
	EXPECT_STREQ("caf\xef\xbf\xbd \xc3\xa9t\xef\xbf\xbd", msg.text);
	proto_msg_free(&msg);
	free(text);
}

TEST(daemon_messages_round_trip)
{
	struct json_object *set = json_object_new_object();
	char *welcome = proto_welcome(30000), *bye, *event, why[256];
	struct proto_msg msg;

	ASSERT_EQ(0, parse(welcome, PROTO_FROM_DAEMON, &msg, why));
	EXPECT_EQ(PROTO_WELCOME, msg.type);
	EXPECT_EQ(30000, msg.deadline_ms);
	proto_msg_free(&msg);
	bye = proto_bye(PROTO_BYE_DEADLINE, "event 3 not acknowledged");
	ASSERT_EQ(0, parse(bye, PROTO_FROM_DAEMON, &msg, why));
	EXPECT_STREQ(PROTO_BYE_DEADLINE, msg.code);
	EXPECT_STREQ("event 3 not acknowledged", msg.text);
	proto_msg_free(&msg);
	json_object_object_add(
	    set, "id",
	    json_object_new_string("12345678-9abc-def0-0123-456789abcdef"));
	event =
	    proto_event(3, PROTO_KIND_SHUTDOWN, set, json_object_new_array());
	ASSERT_EQ(0, parse(event, PROTO_FROM_DAEMON, &msg, why));
	EXPECT_EQ(PROTO_EVENT, msg.type);
	EXPECT_EQ(3, msg.event);
	EXPECT_STREQ(PROTO_KIND_SHUTDOWN, msg.kind);
	proto_msg_free(&msg);
	free(welcome);
	free(bye);
	free(event);
}

/* Members composed as text are what json-c writes for the same object. */
TEST(text_members_as_json_c_writes_them)
{
	const char odd[] = "a \"q\" \\ /x\n\x01 \xc3\xa9";
	struct json_object *obj = json_object_new_object();
	struct proto_text text = { 0 };
	const char *json;
	char *members, *want;

	json_object_object_add(obj, "s", json_object_new_string(odd));
	json_object_object_add(obj, "n", json_object_new_int64(-42));
	json_object_object_add(obj, "t", json_object_new_boolean(1));
	json_object_object_add(obj, "f", json_object_new_boolean(0));
	proto_text_string(&text, "s", odd, strlen(odd));
	proto_text_int(&text, "n", -42);
	proto_text_members(&text, "\"t\":true,\"f\":false");
	members = proto_text_end(&text);
	json = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	/* The object's text less its braces. */
	want = strndup(json + 1, strlen(json) - 2);
	EXPECT_STREQ(want, members);
	free(want);
	free(members);
	json_object_put(obj);
}

#define EVENT_HEAD                                                      \
	"{\"type\":\"event\",\"event\":1,\"kind\":\"backup-shutdown\"," \
	"\"set\":{\"id\":\"12345678-9abc-def0-0123-456789abcdef\"},"    \
	"\"devices\":[{\"label\":\""

/* The label of the first device of a parsed event. */
static const char *first_label(const struct proto_msg *msg)
{
	struct json_object *devices, *label;

	if (!json_object_object_get_ex(msg->obj, "devices", &devices) ||
	    !json_object_object_get_ex(json_object_array_get_idx(devices, 0),
				       "label", &label))
		return NULL;
	return json_object_get_string(label);
}

/*
 * An event whose label is Latin-1, or UTF-8 cut inside a character,
 * reaches the writer with those bytes replaced; before, it was refused
 * and the writer disconnected.
 */
TEST(daemon_event_with_invalid_utf8_is_repaired)
{
	static const struct {
		const char *label, *parsed;
	} cases[] = {
		{ "caf\xe9", "caf\xef\xbf\xbd" },
		{ "\xc3\xa9t\xc3", "\xc3\xa9t\xef\xbf\xbd" },
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
	};
	struct proto_msg msg;
	char text[256], why[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s\"}]}", EVENT_HEAD,
			 cases[i].label);
		ASSERT_EQ(0, parse(text, PROTO_FROM_DAEMON, &msg, why))
		TH_LOG("%s", why);
		EXPECT_STREQ(cases[i].parsed, first_label(&msg));
		proto_msg_free(&msg);
	}
	/* A writer is held to the protocol as before. */
	EXPECT_EQ(-EPROTO, parse("{\"type\":\"ack\",\"event\":1,\"result\":"
				 "\"error\",\"message\":\"\xe9\"}",
				 PROTO_FROM_WRITER, &msg, why));
}

/*
 * A daemon that sends @events (NULL-terminated), each once the one before
 * is acknowledged: 0 when the writer acknowledged each as handled.
 */
static int fake_daemon(int listener, const char *const *events)
{
	char buf[PROTO_MESSAGE_MAX], why[256];
	struct proto_msg msg;
	char *welcome = proto_welcome(5000);
	int fd = accept(listener, NULL, NULL), ok = 1;
	ssize_t n;

	if (fd < 0 || recv(fd, buf, sizeof(buf), 0) <= 0 ||
	    send(fd, welcome, strlen(welcome), 0) < 0)
		return 1;
	for (long long i = 1; ok && *events; i++) {
		if (send(fd, *events, strlen(*events), 0) < 0)
			return 1;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || proto_parse(buf, n, PROTO_FROM_WRITER, &msg, why,
					  sizeof(why)))
			return 1;
		ok = msg.type == PROTO_ACK && msg.event == i && msg.ok;
		proto_msg_free(&msg);
		events++;
	}
	free(welcome);
	close(fd);
	return !ok;
}

/* A writer connected to a fake_daemon() of @events, run as *@pid. */
static struct snapset_writer *fake_writer(const char *const *events, pid_t *pid)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/snapset-proto-XXXXXX";
	struct snapset_writer *w = NULL;
	int listener;

	if (!mkdtemp(dir))
		return NULL;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sock", dir);
	listener = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (listener < 0 ||
	    bind(listener, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(listener, 1))
		return NULL;
	*pid = fork();
	if (*pid == 0)
		_exit(fake_daemon(listener, events));
	close(listener);
	if (*pid > 0 && snapset_writer_connect(addr.sun_path, "odd", NULL, &w))
		kill(*pid, SIGKILL);
	unlink(addr.sun_path);
	rmdir(dir);
	return w;
}

/* Closes @w; the exit status of its fake_daemon(), @pid. */
static int fake_writer_close(struct snapset_writer *w, pid_t pid)
{
	int status;

	snapset_writer_close(w);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* libsnapset hands such an event to the application, not a disconnect. */
TEST(writer_gets_an_event_with_an_odd_label)
{
	static const char *const events[] = { EVENT_HEAD "caf\xe9\"}]}", NULL };
	const struct snapset_writer_event *ev = NULL;
	struct snapset_writer *w;
	pid_t pid;

	w = fake_writer(events, &pid);
	ASSERT_NE(NULL, w);
	EXPECT_EQ(0, snapset_writer_next(w, &ev, 5000));
	if (ev) {
		ASSERT_EQ(1, ev->ndevices);
		EXPECT_STREQ("caf\xef\xbf\xbd", ev->devices[0].label);
		/* As the daemon sent it, but for the byte replaced. */
		EXPECT_STREQ(EVENT_HEAD "caf\xef\xbf\xbd\"}]}", ev->json);
		EXPECT_EQ(0, snapset_writer_ack(w, ev, 0, NULL));
	}
	EXPECT_EQ(0, fake_writer_close(w, pid));
}

/*
 * A set that froze: its freeze through snapset_writer_event_freeze(),
 * filled up to the size the caller knows; none for a set that did not.
 */
TEST(writer_reads_the_freeze)
{
	static const char *const events[] = {
		"{\"type\":\"event\",\"event\":1,\"kind\":"
		"\"backup-shutdown\",\"set\":{\"id\":"
		"\"12345678-9abc-def0-0123-456789abcdef\",\"freeze\":{"
		"\"filesystems\":2,\"frozen_at\":\"2026-11-25T13:35:25.500Z\","
		"\"held_ms\":182.400,\"end\":\"thawed\","
		"\"foreign_thaw\":true,\"thaw_failed\":true}},"
		"\"devices\":[]}",
		"{\"type\":\"event\",\"event\":2,\"kind\":"
		"\"backup-shutdown\",\"set\":{\"id\":"
		"\"22345678-9abc-def0-0123-456789abcdef\"},\"devices\":[]}",
		NULL,
	};
	const struct snapset_writer_event *ev = NULL;
	struct {
		struct snapset_writer_freeze f;
		char newer[8]; /* a later header's fields */
	} out;
	struct snapset_writer *w;
	pid_t pid;

	w = fake_writer(events, &pid);
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, snapset_writer_next(w, &ev, 5000));
	memset(&out, 0xff, sizeof(out));
	EXPECT_EQ(-EINVAL,
		  snapset_writer_event_freeze(
		      w, ev, &out.f, SNAPSET_WRITER_FREEZE_SIZE_VER0 - 1));
	EXPECT_EQ(0, snapset_writer_event_freeze(w, ev, &out.f, sizeof(out)));
	EXPECT_EQ(2, out.f.filesystems);
	EXPECT_STREQ("2026-11-25T13:35:25.500Z", out.f.frozen_at);
	EXPECT_EQ(182400, (long)(out.f.held_ms * 1000 + 0.5));
	EXPECT_STREQ("thawed", out.f.end);
	EXPECT_EQ(1, out.f.foreign_thaw);
	EXPECT_EQ(1, out.f.thaw_failed);
	EXPECT_EQ(0, out.newer[0]);
	EXPECT_EQ(0, out.newer[7]);
	EXPECT_EQ(0, snapset_writer_ack(w, ev, 0, NULL));
	/* Acknowledged: no current event to ask about. */
	EXPECT_EQ(-EINVAL,
		  snapset_writer_event_freeze(w, ev, &out.f, sizeof(out.f)));
	ASSERT_EQ(0, snapset_writer_next(w, &ev, 5000));
	EXPECT_EQ(-ENOENT,
		  snapset_writer_event_freeze(w, ev, &out.f, sizeof(out.f)));
	EXPECT_EQ(0, snapset_writer_ack(w, ev, 0, NULL));
	EXPECT_EQ(0, fake_writer_close(w, pid));
}

/*
 * Members of the wrong type or out of range are not taken for true or
 * wrapped: "true" and 1 are not booleans, and a count or a time out of
 * range reads as absent.
 */
TEST(writer_refuses_ill_typed_members)
{
	static const char *const events[] = {
		"{\"type\":\"event\",\"event\":1,\"kind\":"
		"\"backup-shutdown\",\"set\":{\"id\":"
		"\"12345678-9abc-def0-0123-456789abcdef\",\"completed\":"
		"\"true\",\"signal\":4294967305,\"exit_status\":"
		"-4294967296,\"freeze\":{\"filesystems\":-2,\"held_ms\":"
		"-5,\"end\":\"thawed\",\"foreign_thaw\":1,"
		"\"thaw_failed\":\"yes\"}},\"devices\":[]}",
		"{\"type\":\"event\",\"event\":2,\"kind\":"
		"\"backup-shutdown\",\"set\":{\"id\":"
		"\"22345678-9abc-def0-0123-456789abcdef\",\"completed\":"
		"true,\"freeze\":{\"held_ms\":1e999}},\"devices\":[]}",
		NULL,
	};
	const struct snapset_writer_event *ev = NULL;
	struct snapset_writer_freeze f;
	struct snapset_writer *w;
	pid_t pid;

	w = fake_writer(events, &pid);
	ASSERT_NE(NULL, w);
	ASSERT_EQ(0, snapset_writer_next(w, &ev, 5000));
	EXPECT_EQ(0, ev->completed);
	EXPECT_EQ(0, ev->signal);
	EXPECT_EQ(-1, ev->exit_status);
	ASSERT_EQ(0, snapset_writer_event_freeze(w, ev, &f, sizeof(f)));
	EXPECT_EQ(0, f.filesystems);
	EXPECT_EQ(-1, f.held_ms);
	EXPECT_EQ(0, f.foreign_thaw);
	EXPECT_EQ(0, f.thaw_failed);
	EXPECT_EQ(0, snapset_writer_ack(w, ev, 0, NULL));
	ASSERT_EQ(0, snapset_writer_next(w, &ev, 5000));
	EXPECT_EQ(1, ev->completed);
	ASSERT_EQ(0, snapset_writer_event_freeze(w, ev, &f, sizeof(f)));
	EXPECT_EQ(-1, f.held_ms);
	EXPECT_EQ(0, snapset_writer_ack(w, ev, 0, NULL));
	EXPECT_EQ(0, fake_writer_close(w, pid));
}

TEST(utf8_copy_replaces_and_cuts_on_characters)
{
	char out[8];

	EXPECT_EQ(7, proto_utf8_copy("a\xff\xc3\xa9z", 64, out, sizeof(out)));
	EXPECT_STREQ("a\xef\xbf\xbd\xc3\xa9z", out);
	/* "\xe2\x82\xac" (€) does not fit after 6 bytes: not cut in two. */
	EXPECT_EQ(6, proto_utf8_copy("\xc3\xa9\xc3\xa9\xc3\xa9\xe2\x82\xac", 64,
				     out, sizeof(out)));
	EXPECT_STREQ("\xc3\xa9\xc3\xa9\xc3\xa9", out);
	/* The length bounds the input, as for fixed-size record fields. */
	EXPECT_EQ(2, proto_utf8_copy("abc", 2, out, sizeof(out)));
	EXPECT_EQ(4, proto_utf8_len("\xf0\x9f\x98\x80", 4));
	EXPECT_EQ(0, proto_utf8_len("\xf0\x9f\x98", 3));
	EXPECT_EQ(0, proto_utf8_len("\xf4\x90\x80\x80", 4));
}

/* Each malformed message from a writer, and the reason it gets. */
static const struct {
	const char *text;
	const char *reason;
} malformed[] = {
	{ "", "a message of 0 bytes" },
	{ "{", "not one JSON value" },
	{ "{\"type\":\"hello\"} x", "not one JSON value" },
	{ "{\"type\":\"hello\"}{}", "not one JSON value" },
	{ "[1,2]", "not a JSON object" },
	{ "\"hello\"", "not a JSON object" },
	{ "{\"version\":1}", "no \"type\"" },
	{ "{\"type\":7}", "no \"type\"" },
	{ "{\"type\":\"welcome\",\"version\":1,\"deadline_ms\":5}",
	  "unknown type \"welcome\"" },
	{ "{\"type\":\"HELLO\"}", "unknown type" },
	{ "{\"type\":\"hello\",\"version\":1}", "\"name\" is missing" },
	{ "{\"type\":\"hello\",\"name\":\"a\"}", "\"version\" is missing" },
	{ "{\"type\":\"hello\",\"version\":\"1\",\"name\":\"a\"}",
	  "\"version\" is not an integer" },
	{ "{\"type\":\"hello\",\"version\":1.5,\"name\":\"a\"}",
	  "\"version\" is not an integer" },
	{ "{\"type\":\"hello\",\"version\":0,\"name\":\"a\"}",
	  "\"version\" 0 is not a version" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"x\":1}",
	  "unknown member \"x\"" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"\"}",
	  "\"name\" must be" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a b\"}",
	  "\"name\" must be" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\\u0000b\"}",
	  "\"name\" holds a NUL byte" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":"
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	  "\"name\" is longer than 63 bytes" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":\"UUID="
	  "x\"}",
	  "\"match\" is not an array" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":[1]}",
	  "\"match\" entry 1 is not" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":[\"x\"]}",
	  "\"match\" entry 1 is not" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":[\"UUID="
	  "\"]}",
	  "\"match\" entry 1 is not" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":"
	  "[\"UUID=a\",\"LV=nolv\"]}",
	  "\"match\" entry 2 is not" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":[\"UUID="
	  "a\","
	  "\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\","
	  "\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\","
	  "\"UUID=a\",\"UUID=a\",\"UUID=a\",\"UUID=a\"]}",
	  "\"match\" has more than 16 entries" },
	{ "{\"type\":\"ack\",\"result\":\"ok\"}", "\"event\" is missing" },
	{ "{\"type\":\"ack\",\"event\":1}", "\"result\" is missing" },
	{ "{\"type\":\"ack\",\"event\":0,\"result\":\"ok\"}",
	  "\"event\" 0 is no event number" },
	{ "{\"type\":\"ack\",\"event\":-3,\"result\":\"ok\"}",
	  "\"event\" -3 is no event number" },
	{ "{\"type\":\"ack\",\"event\":1,\"result\":\"fine\"}",
	  "\"result\" is neither" },
	{ "{\"type\":\"ack\",\"event\":1,\"result\":\"ok\",\"message\":\"x\"}",
	  "an \"ok\" result has a \"message\"" },
	{ "{\"type\":\"ack\",\"event\":1,\"result\":\"error\",\"message\":5}",
	  "\"message\" is not a string" },
	{ "{\"type\":\"status\"}", "\"version\" is missing" },
	{ "{\"type\":\"ack\",\"event\":1,\"result\":\"error\",\"message\":"
	  "\"\xff\xfe\"}",
	  "not one JSON value" },
	{ "{\"type\":\"hello\",\"version\":1,\"name\":\"a\",\"match\":[[[[[[[["
	  "1]]]]]]]]}",
	  "not one JSON value" },
};

TEST(malformed_messages_are_refused_with_their_reason)
{
	struct proto_msg msg;
	char why[256];

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		why[0] = '\0';
		EXPECT_EQ(-EPROTO, parse(malformed[i].text, PROTO_FROM_WRITER,
					 &msg, why))
		{
			TH_LOG("accepted: %s", malformed[i].text);
		}
		EXPECT_NE(NULL, strstr(why, malformed[i].reason))
		{
			TH_LOG("%s: \"%s\", expected \"%s\"", malformed[i].text,
			       why, malformed[i].reason);
		}
		EXPECT_EQ(NULL, msg.obj);
	}
}

TEST(oversized_message_is_refused)
{
	size_t len = PROTO_MESSAGE_MAX + 1;
	char *text = malloc(len), why[256];
	struct proto_msg msg;

	ASSERT_NE(NULL, text);
	memset(text, ' ', len);
	EXPECT_EQ(-EPROTO, proto_parse(text, len, PROTO_FROM_WRITER, &msg, why,
				       sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "a message of 65537 bytes"));
	free(text);
}

TEST(daemon_side_malformed_events)
{
	static const char *const bad[] = {
		"{\"type\":\"event\",\"event\":1,\"kind\":\"backup\","
		"\"set\":{\"id\":\"12345678-9abc-def0-0123-456789abcdef\"},"
		"\"devices\":[]}",
		"{\"type\":\"event\",\"event\":1,\"kind\":\"abort\","
		"\"set\":{},\"devices\":[]}",
		"{\"type\":\"event\",\"event\":1,\"kind\":\"abort\","
		"\"set\":{\"id\":\"12345678-9abc-def0-0123-456789abcdef\"},"
		"\"devices\":[3]}",
		"{\"type\":\"welcome\",\"version\":1,\"deadline_ms\":0}",
		"{\"type\":\"bye\",\"reason\":\"x\"}",
		"{\"type\":\"hello\",\"version\":1,\"name\":\"a\"}",
	};
	struct proto_msg msg;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EPROTO, parse(bad[i], PROTO_FROM_DAEMON, &msg, why))
		{
			TH_LOG("accepted: %s", bad[i]);
		}
	}
}

TEST(names_and_matches)
{
	EXPECT_TRUE(proto_name_valid("pg-main_1.a:b@c+d"));
	EXPECT_FALSE(proto_name_valid(""));
	EXPECT_FALSE(proto_name_valid("a/b"));
	EXPECT_FALSE(proto_name_valid("é"));
	EXPECT_TRUE(proto_match_valid("UUID=abc"));
	EXPECT_TRUE(proto_match_valid("LABEL=my data"));
	EXPECT_TRUE(proto_match_valid("LV=vg/lv"));
	EXPECT_FALSE(proto_match_valid("LV=vg"));
	EXPECT_FALSE(proto_match_valid("LV=/lv"));
	EXPECT_FALSE(proto_match_valid("PARTUUID=x"));
	EXPECT_FALSE(proto_match_valid("/dev/vg/lv"));
}

TEST_HARNESS_MAIN
