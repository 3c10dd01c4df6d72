// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's writer socket, with raw clients and no set unless the
 * test needs one: who may connect (root, allow_users, allow_groups with
 * supplementary groups), how many connections a user may hold and the
 * slots kept for root, how many delivery series the metrics keep, what
 * is left alone at the socket path, and what a stop tells systemd.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon_fixture.h"
#include "kselftest_harness.h"
#include "writer_client.h"

FIXTURE(socket)
{
	char dir[64]; /* config, socket, history, metrics */
	char socket[96];
	char config[96];
	char ready[96];
	struct loopdev loop; /* attached by a test that ends a set */
	bool looped;
	struct daemon_proc d;
};

static void path_in(FIXTURE_DATA(socket) * self, char *out, size_t size,
		    const char *name)
{
	snprintf(out, size, "%s/%s", self->dir, name);
}

FIXTURE_SETUP(socket)
{
	daemon_init(&self->d);
	strcpy(self->dir, "/tmp/snapset-socket-XXXXXX");
	/* Root's, as the metrics need; open to the users who connect. */
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	path_in(self, self->socket, sizeof(self->socket), "writer.sock");
	path_in(self, self->config, sizeof(self->config), "snapset.conf");
	path_in(self, self->ready, sizeof(self->ready), "ready");
	if (access(snapset_bin(), X_OK))
		SKIP(return, "%s: not built", snapset_bin());
	discard_all_pending();
	ASSERT_EQ(0, sh("printf '[daemon]\\nsocket = %s\\nwriter_deadline = "
			"10s\\nhistory_dir =\\nmetrics = %s/snapset.prom\\n' "
			"> %s",
			self->socket, self->dir, self->config));
}

FIXTURE_TEARDOWN(socket)
{
	daemon_stop(&self->d);
	if (self->d.log >= 0)
		close(self->d.log);
	if (self->looped)
		loop_detach(&self->loop);
	discard_all_pending();
	sh("rm -rf %s", self->dir);
}

/* Whether a datagram on @fd holds @text within a minute. */
static bool notify_says(int fd, const char *text)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[256];

	while (poll(&pfd, 1, 60000) == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, text))
			return true;
	}
	return false;
}

/*
 * Stopping while a writer holds an event, the daemon asks systemd for
 * more time (the longest step, lvremove's and a writer's deadline, and
 * its tick) rather than let TimeoutStopSec end in a SIGKILL to lvm.
 */
TEST_F_TIMEOUT(socket, stop_asks_systemd_for_time_while_busy, RUN_TIMEOUT)
{
	struct sockaddr_un addr;
	char type[32];
	int silent, notify;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	/* The daemon's NOTIFY_SOCKET, bound again to hear what follows. */
	notify = notify_socket_open(&addr);
	ASSERT_LE(0, notify);
	silent = raw_connect(self->socket, HELLO("silent"));
	ASSERT_LE(0, silent);
	raw_next_type(silent, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("welcome", type);
	ASSERT_EQ(0, loop_attach(&self->loop, 8 << 20));
	self->looped = true;
	ASSERT_NE(-1, signal_run("--snapshot", self->loop.path, self->ready,
				 "touch $READY; exec sleep 995", SIGKILL));
	raw_next_type(silent, 30000, type, sizeof(type));
	EXPECT_STREQ("event", type);
	ASSERT_EQ(0, kill(self->d.pid, SIGTERM));
	/* lvremove_deadline 60 s + writer_deadline 10 s + 10 s. */
	EXPECT_TRUE(notify_says(notify, "EXTEND_TIMEOUT_USEC=80000000"));
	close(silent);
	EXPECT_EQ(0, daemon_stop(&self->d));
	close(notify);
	unlink(addr.sun_path);
}

/* Only root by default: the socket's mode keeps others out. */
TEST_F_TIMEOUT(socket, socket_is_root_only_by_default, RUN_TIMEOUT)
{
	struct stat st;

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	ASSERT_EQ(0, stat(self->socket, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	EXPECT_TRUE(user_gets(self->socket, 65534, 0, "EACCES"));
}

/*
 * allow_users opens the socket to everyone, and the daemon itself turns
 * away the users not listed, with a bye and a logged reason.
 */
TEST_F_TIMEOUT(socket, allow_users_are_served_others_denied, RUN_TIMEOUT)
{
	struct stat st;

	ASSERT_EQ(0, sh("printf '[writers]\\nallow_users = 65534\\n' >> %s",
			self->config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	ASSERT_EQ(0, stat(self->socket, &st));
	EXPECT_EQ(0666, st.st_mode & 0777);
	EXPECT_TRUE(user_gets(self->socket, 65534, 0, "welcome"));
	EXPECT_TRUE(user_gets(self->socket, 65533, 0, "bye denied"));
	EXPECT_TRUE(daemon_said(&self->d, "uid 65533): dropped: this user is "
					  "not allowed"));
	/* The same refusal through libsnapset, as `snapset writer` says it. */
	EXPECT_EQ(0, sh("setpriv --reuid=65533 --regid=65533 --clear-groups "
			"%s writer --name denied --socket %s -- true 2>&1 | "
			"grep -q 'the daemon does not allow this user'",
			snapset_bin(), self->socket));
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* allow_groups counts a user's supplementary groups, not its primary alone. */
TEST_F_TIMEOUT(socket, allow_groups_count_supplementary_groups, RUN_TIMEOUT)
{
	ASSERT_EQ(0, sh("printf '[writers]\\nallow_groups = 4242\\n' >> %s",
			self->config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	EXPECT_TRUE(user_gets(self->socket, 65534, 4242, "welcome"));
	EXPECT_TRUE(user_gets(self->socket, 65534, 0, "bye denied"));
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* The daemon's connections of one user other than root. */
#define PER_USER 16

/*
 * In a child as uid 65534: PER_USER silent connections and 3 more, which
 * must be turned away; 'y' on @tell once they were. Then, once @wait is
 * closed, the silent ones must go at the idle deadline.
 */
static int hold_connections(FIXTURE_DATA(socket) * self, int wait, int tell)
{
	int fds[PER_USER + 3];
	char type[64], ok = 'y';

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 2;
	for (int i = 0; i < PER_USER + 3; i++)
		if ((fds[i] = raw_connect(self->socket, NULL)) < 0)
			ok = 'n';
	for (int i = PER_USER; i < PER_USER + 3 && ok == 'y'; i++) {
		raw_next_type(fds[i], EVENT_TIMEOUT_MS, type, sizeof(type));
		if (strcmp(type, "bye denied"))
			ok = 'n';
	}
	if (write(tell, &ok, 1) != 1 || read(wait, &ok, 1) != 0)
		return 3;
	raw_next_type(fds[0], 30000, type, sizeof(type));
	return strcmp(type, "bye deadline") ? 1 : 0;
}

/* Waits up to a minute for @path to hold @text. */
static bool wait_file_has(const char *path, const char *text)
{
	for (int i = 0; i < 600; i++) {
		if (!sh("grep -qF -- '%s' %s 2>/dev/null", text, path))
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * An allowed user cannot hold every slot with idle connections: past
 * its own limit it is refused, counted in the metrics and logged once;
 * root's status is answered meanwhile; idle connections go after the
 * short hello deadline.
 */
TEST_F_TIMEOUT(socket, a_user_cannot_hold_every_slot, RUN_TIMEOUT)
{
	int to_child[2], from_child[2], status;
	char path[128], held = 'n';
	pid_t pid;

	ASSERT_EQ(0, sh("printf '[writers]\\nallow_users = 65534\\n' >> %s",
			self->config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		_exit(hold_connections(self, to_child[0], from_child[1]));
	}
	close(to_child[0]);
	close(from_child[1]);
	EXPECT_EQ(1, read(from_child[0], &held, 1));
	EXPECT_EQ('y', held);
	EXPECT_TRUE(status_answered(self->socket));
	EXPECT_EQ(1, daemon_count(&self->d, "too many connections of this "
					    "user"));
	path_in(self, path, sizeof(path), "snapset.prom");
	EXPECT_TRUE(wait_file_has(path, "snapset_writer_connections_refused_"
					"total{reason=\"user_limit\"} 3"));
	close(to_child[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(from_child[0]);
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* Users other than root who fill every slot that is not root's. */
#define FILLERS 15
#define FILLER_GROUP 4242

/*
 * In a child as uid @uid (in FILLER_GROUP): PER_USER writers that say
 * hello and are welcomed; 'y' on @tell once they all were, 'n' if not.
 * They hold their slots until @wait is closed.
 */
static int fill_slots(FIXTURE_DATA(socket) * self, uid_t uid, int wait,
		      int tell)
{
	gid_t group = FILLER_GROUP;
	int fds[PER_USER];
	char type[64], ok = 'y';

	/* Said too: the parent waits for one byte from each filler. */
	if (setgroups(1, &group) || setgid(uid) || setuid(uid))
		ok = 'n';
	for (int i = 0; i < PER_USER && ok == 'y'; i++) {
		fds[i] = raw_connect(self->socket, HELLO("filler"));
		if (fds[i] < 0)
			ok = 'n';
		else
			raw_next_type(fds[i], EVENT_TIMEOUT_MS, type,
				      sizeof(type));
		if (fds[i] >= 0 && strcmp(type, "welcome"))
			ok = 'n';
	}
	if (write(tell, &ok, 1) != 1 || read(wait, &ok, 1) != 0)
		return 3;
	return 0;
}

/*
 * Allowed users who hold every slot but root's (each at its own limit)
 * lock root out of nothing: another user is refused, counted as "full",
 * while a root writer is welcomed and `snapset status` answered.
 */
TEST_F_TIMEOUT(socket, users_filling_their_slots_leave_root_its_own,
	       RUN_TIMEOUT)
{
	char *argv[] = { (char *)snapset_bin(), "status", "--socket",
			 self->socket, NULL };
	int to_children[2], from_children[2], root, status;
	char path[128], type[64], held[FILLERS];
	struct run_result res;
	pid_t pids[FILLERS];

	/* FILLERS users at PER_USER each, and root's reserve. */
	ASSERT_EQ(0, sh("printf '[writers]\nallow_groups = %d\n"
			"max_connections = 256\n' >> %s",
			FILLER_GROUP, self->config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	ASSERT_EQ(0, pipe(to_children));
	ASSERT_EQ(0, pipe(from_children));
	for (int i = 0; i < FILLERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			close(to_children[1]);
			close(from_children[0]);
			_exit(fill_slots(self, 60001 + i, to_children[0],
					 from_children[1]));
		}
	}
	close(to_children[0]);
	close(from_children[1]);
	/* One byte from each, as each is done. */
	for (int n = 0, got; n < FILLERS; n += got) {
		got = read(from_children[0], held + n, FILLERS - n);
		ASSERT_LT(0, got);
	}
	EXPECT_EQ(NULL, memchr(held, 'n', FILLERS));
	/* Every slot but root's taken: one user more is turned away. */
	EXPECT_TRUE(user_gets(self->socket, 60001 + FILLERS, FILLER_GROUP,
			      "bye denied"));
	root = raw_connect(self->socket, HELLO("root"));
	ASSERT_LE(0, root);
	raw_next_type(root, EVENT_TIMEOUT_MS, type, sizeof(type));
	EXPECT_STREQ("welcome", type);
	ASSERT_EQ(0, run_capture(argv[0], argv, &res));
	EXPECT_EQ(0, res.status);
	EXPECT_NE(NULL, strstr(res.out, "daemon: running"));
	EXPECT_TRUE(daemon_said(&self->d, "the rest are root's"));
	path_in(self, path, sizeof(path), "snapset.prom");
	EXPECT_TRUE(wait_file_has(path, "snapset_writer_connections_refused_"
					"total{reason=\"full\"} 1"));
	close(root);
	close(to_children[1]);
	for (int i = 0; i < FILLERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(from_children[0]);
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* The smallest max_connections, and the connections past it. */
#define CONNECTIONS 32
#define PAST 8

/*
 * Root too has max_connections at most: past them, each connection is
 * refused with a bye of code denied that it reads (no ECONNRESET
 * first), and the burst is logged once.
 */
TEST_F_TIMEOUT(socket, connections_past_the_bound_read_bye_denied, RUN_TIMEOUT)
{
	int fds[CONNECTIONS + PAST];
	char type[64];

	ASSERT_EQ(0, sh("printf '[writers]\nmax_connections = %d\n' >> %s",
			CONNECTIONS, self->config));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	for (int i = 0; i < CONNECTIONS + PAST; i++) {
		fds[i] = raw_connect(self->socket, HELLO("many"));
		ASSERT_LE(0, fds[i]);
		raw_next_type(fds[i], EVENT_TIMEOUT_MS, type, sizeof(type));
		EXPECT_STREQ(i < CONNECTIONS ? "welcome" : "bye denied", type)
		TH_LOG("connection %d", i + 1);
	}
	EXPECT_EQ(1, daemon_count(&self->d, "too many connections"));
	for (int i = 0; i < CONNECTIONS + PAST; i++)
		close(fds[i]);
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* The daemon's delivery series kept apart (DELIVERY_SERIES_MAX). */
#define SERIES_MAX 128

/*
 * Writers past the series bound, each with a name of its own, share one
 * series, "(other)": the metrics file stays bounded whatever names the
 * writers pick.
 */
TEST_F_TIMEOUT(socket, writer_names_past_the_bound_share_one_series,
	       RUN_TIMEOUT)
{
	const char *ack = "{\"type\":\"ack\",\"event\":1,\"result\":\"ok\"}";
	int fds[SERIES_MAX + 2];
	char hello[96], type[64], path[128], cmd[192], count[16];

	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	for (int i = 0; i < SERIES_MAX + 2; i++) {
		snprintf(hello, sizeof(hello),
			 "{\"type\":\"hello\",\"version\":1,\"name\":"
			 "\"w%03d\"}",
			 i);
		fds[i] = raw_connect(self->socket, hello);
		ASSERT_LE(0, fds[i]);
		raw_next_type(fds[i], EVENT_TIMEOUT_MS, type, sizeof(type));
		ASSERT_STREQ("welcome", type);
	}
	ASSERT_EQ(0, loop_attach(&self->loop, 8 << 20));
	self->looped = true;
	/* One shutdown, told to every writer, each answering ok. */
	ASSERT_NE(-1, signal_run("--snapshot", self->loop.path, self->ready,
				 "touch $READY; exec sleep 994", SIGKILL));
	for (int i = 0; i < SERIES_MAX + 2; i++) {
		raw_next_type(fds[i], 30000, type, sizeof(type));
		EXPECT_STREQ("event", type);
		EXPECT_LT(0, send(fds[i], ack, strlen(ack), 0));
	}
	EXPECT_EQ(0, wait_no_pending());
	path_in(self, path, sizeof(path), "snapset.prom");
	EXPECT_TRUE(wait_file_has(path, "snapset_writer_deliveries_total{"
					"writer=\"(other)\",uid=\"\","
					"result=\"ok\"} 2"));
	snprintf(cmd, sizeof(cmd),
		 "grep -c '^snapset_writer_deliveries_total{' %s", path);
	ASSERT_EQ(0, sh_line(count, sizeof(count), cmd));
	EXPECT_EQ(SERIES_MAX + 1, atoi(count));
	for (int i = 0; i < SERIES_MAX + 2; i++)
		close(fds[i]);
	EXPECT_EQ(0, daemon_stop(&self->d));
}

/* `snapset daemon` with the fixture's config: its status, stderr in @err. */
static int daemon_once(FIXTURE_DATA(socket) * self, const char *err)
{
	return sh("timeout 120 %s daemon --config %s 2>%s", snapset_bin(),
		  self->config, err);
}

/*
 * What sits at the socket path is replaced only if it is a socket of
 * root's: a link or another user's socket is left alone, and the daemon
 * says so and does not start.
 */
TEST_F_TIMEOUT(socket, only_a_root_socket_is_replaced, RUN_TIMEOUT)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char err[128], victim[128];
	int fd;

	path_in(self, err, sizeof(err), "err");
	path_in(self, victim, sizeof(victim), "victim");
	ASSERT_EQ(0, sh("echo keep > %s && ln -s %s %s", victim, victim,
			self->socket));
	EXPECT_EQ(1, daemon_once(self, err));
	EXPECT_TRUE(file_has(err, "writer.sock: not a socket of root"));
	EXPECT_TRUE(file_has(victim, "keep"));
	EXPECT_EQ(0, sh("test -L %s", self->socket));
	/* Another user's socket. */
	ASSERT_EQ(0, unlink(self->socket));
	strcpy(addr.sun_path, self->socket);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&addr, sizeof(addr)));
	ASSERT_EQ(0, chown(self->socket, 65534, 65534));
	EXPECT_EQ(1, daemon_once(self, err));
	EXPECT_TRUE(file_has(err, "writer.sock: not a socket of root"));
	close(fd);
	/* Root's own, stale: replaced. */
	ASSERT_EQ(0, chown(self->socket, 0, 0));
	ASSERT_EQ(0, daemon_start(&self->d, NULL, self->config, self->socket));
	EXPECT_TRUE(status_answered(self->socket));
	EXPECT_EQ(0, daemon_stop(&self->d));
}

TEST_HARNESS_MAIN
