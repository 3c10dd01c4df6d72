// SPDX-License-Identifier: GPL-2.0
/*
 * What many live sets cost: time and kernel memory, with --sets N live
 * armed sets held by this one process, first with no device each, then
 * with every device of --devices added to every set.
 *
 * Each round, for each of the two kinds of set:
 *
 *   open       N descriptors of /dev/snapset, no set yet (untimed: the
 *              file's cost, not the set's);
 *   create_arm create, add the devices, arm, for every descriptor;
 *   list       one SNAPSET_IOC_LIST of every live set, into a buffer
 *              sized beforehand;
 *   terminate  close every descriptor: the sets end with reason "close"
 *              and leave N pending records (no agent reads them);
 *   drain      as the agent: read every pending record and acknowledge
 *              each of ours, as the daemon does.
 *
 * Memory is the sum over /proc/slabinfo of active_objs times the cache's
 * object_size (sysfs), taken after an RCU grace period, between the
 * steps: per open descriptor (the file and the module's per-file state,
 * not snapset's set), per live set (after create_arm, less the open
 * descriptors), per pending record (after terminate, less the start).
 * The device figures are the difference between the two kinds of set,
 * divided by the devices added.
 *
 * Prints one JSON object: series "scale-N", the lowest time of each step
 * over the rounds in ms, the bytes of the last round; and series
 * "scale-budget", the memory budget, which bench/report holds
 * the bytes to.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../userspace/common/module.h"
#include "common.h"

#define SET_NAME "bench-scale"
#define MAX_DEVICES 8

enum step {
	OPEN,
	CREATE_ARM,
	LIST,
	TERMINATE,
	DRAIN,
	STEPS
};

static const char *const step_names[STEPS] = {
	"open", "create_arm", "list", "terminate", "drain",
};

/* One kind of set: its devices, its best times, its last memory. */
struct kind {
	unsigned int ndevices;
	double ms[STEPS];
	double open_bytes, set_bytes, record_bytes;
};

struct run {
	unsigned int sets;
	int *fds;
	int devices[MAX_DEVICES];
	void *list_buf;
	size_t list_size;
};

/*
 * A cache's object size as a kernel without slub_debug pays it: the guest
 * boots with slub_debug, whose red zones and tracking /proc/slabinfo's
 * objsize counts in.
 */
static int object_size(const char *cache, unsigned long *size)
{
	char path[256];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/object_size", cache);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%lu", size) != 1)
		ret = -EPROTO;
	fclose(f);
	return ret;
}

/* Waits for an RCU grace period: files are freed after one. */
static int rcu_settle(void)
{
	for (int i = 0; i < 2; i++) {
		if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
			return -errno;
		usleep(20000);
	}
	return 0;
}

/* Bytes of every live slab object. */
static int slab_bytes(double *bytes)
{
	char line[512], name[128];
	unsigned long active, size;
	int ret = rcu_settle();
	FILE *f;

	if (ret)
		return ret;
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return -errno;
	*bytes = 0;
	while (!ret && fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %lu", name, &active) == 2 &&
		    !(ret = object_size(name, &size)))
			*bytes += (double)active * size;
	fclose(f);
	return ret;
}

static int open_all(struct run *r)
{
	for (unsigned int i = 0; i < r->sets; i++) {
		r->fds[i] = module_open();
		if (r->fds[i] < 0)
			return r->fds[i];
	}
	return 0;
}

static int create_arm_all(const struct run *r, unsigned int ndevices)
{
	__u8 id[SNAPSET_ID_LEN];
	int ret = 0;

	for (unsigned int i = 0; i < r->sets && !ret; i++) {
		ret = module_create(r->fds[i], SET_NAME, id);
		for (unsigned int d = 0; d < ndevices && !ret; d++)
			ret = module_add(r->fds[i], r->devices[d], 0);
		if (!ret)
			ret = module_arm(r->fds[i]);
	}
	return ret;
}

/* The buffer is sized untimed: the timed call lists once. */
static int list_size(struct run *r)
{
	struct snapset_list arg = { .size = sizeof(arg) };
	int fd = r->fds[0];

	if (!ioctl(fd, SNAPSET_IOC_LIST, &arg) || errno != ENOSPC)
		return -EPROTO;
	free(r->list_buf);
	/* Room for a few sets made elsewhere meanwhile. */
	r->list_size = arg.needed + 65536;
	r->list_buf = malloc(r->list_size);
	if (!r->list_buf)
		return -ENOMEM;
	/* Touched now: the timed list pays no page faults of ours. */
	memset(r->list_buf, 0, r->list_size);
	return 0;
}

static int list_all(const struct run *r)
{
	struct snapset_list arg = {
		.size = sizeof(arg),
		.buf = (unsigned long)r->list_buf,
		.buf_size = r->list_size,
	};

	if (ioctl(r->fds[0], SNAPSET_IOC_LIST, &arg))
		return -errno;
	/* Every set of ours is there: N records, at least. */
	return arg.used >= r->sets * sizeof(struct snapset_event) ? 0 : -EPROTO;
}

static int close_all(const struct run *r)
{
	for (unsigned int i = 0; i < r->sets; i++)
		if (close(r->fds[i]))
			return -errno;
	return 0;
}

/* Acknowledges our records in @buf; the count of them. */
static int ack_ours(int agent, const void *buf, size_t len)
{
	const struct snapset_event *ev;
	size_t off = 0;
	int ret, n = 0;

	while ((ev = record_next(buf, len, &off))) {
		if (strcmp(ev->set.name, SET_NAME))
			continue;
		ret = module_ack(agent, ev->set.id);
		if (ret)
			return ret;
		n++;
	}
	return n;
}

/* As the agent: read until nothing is left, acknowledging as it goes. */
static int drain(const struct run *r)
{
	static char buf[1 << 20];
	unsigned int acked = 0;
	ssize_t len;
	int agent, ret;

	agent = open(SNAPSET_DEV_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (agent < 0)
		return -errno;
	ret = module_subscribe(agent, SNAPSET_SUBSCRIBE_AGENT);
	while (!ret) {
		len = read(agent, buf, sizeof(buf));
		if (len <= 0) {
			ret = len && errno != EAGAIN ? -errno : 0;
			break;
		}
		ret = ack_ours(agent, buf, len);
		if (ret > 0)
			acked += ret;
		ret = ret < 0 ? ret : 0;
	}
	close(agent);
	if (!ret && acked != r->sets)
		ret = -EPROTO; /* a record lost, or one too many */
	return ret;
}

/* One step, timed; the best time over the rounds is kept. */
static int timed(struct kind *k, enum step step, int ret_of_step,
		 long long start)
{
	double ms = (now_ns() - start) / 1e6;

	if (ret_of_step)
		return ret_of_step;
	if (!k->ms[step] || ms < k->ms[step])
		k->ms[step] = ms;
	return 0;
}

static int round_run(struct run *r, struct kind *k)
{
	double start_bytes, open_bytes, live_bytes, pending_bytes;
	int ret;

	ret = slab_bytes(&start_bytes);
	ret = ret ?: timed(k, OPEN, open_all(r), now_ns());
	ret = ret ?: slab_bytes(&open_bytes);
	ret = ret
		  ?: timed(k, CREATE_ARM, create_arm_all(r, k->ndevices),
			   now_ns());
	ret = ret ?: slab_bytes(&live_bytes);
	ret = ret ?: list_size(r);
	ret = ret ?: timed(k, LIST, list_all(r), now_ns());
	ret = ret ?: timed(k, TERMINATE, close_all(r), now_ns());
	ret = ret ?: slab_bytes(&pending_bytes);
	ret = ret ?: timed(k, DRAIN, drain(r), now_ns());
	if (ret)
		return ret;
	k->open_bytes = (open_bytes - start_bytes) / r->sets;
	k->set_bytes = (live_bytes - open_bytes) / r->sets;
	k->record_bytes = (pending_bytes - start_bytes) / r->sets;
	return 0;
}

static void kind_print(const struct kind *k, const char *suffix)
{
	for (int s = CREATE_ARM; s < STEPS; s++)
		printf(", \"%s%s_ms\": %.2f", step_names[s], suffix, k->ms[s]);
	printf(", \"open%s_bytes\": %.0f, \"set%s_bytes\": %.0f, "
	       "\"record%s_bytes\": %.0f",
	       suffix, k->open_bytes, suffix, k->set_bytes, suffix,
	       k->record_bytes);
}

static void run_print(const struct run *r, const struct kind *bare,
		      const struct kind *dev)
{
	printf("{\"series\": \"scale-%u\", \"sets\": %u, \"devices\": %u",
	       r->sets, r->sets, dev->ndevices);
	kind_print(bare, "");
	kind_print(dev, "_dev");
	if (dev->ndevices)
		printf(", \"device_bytes\": %.0f, \"record_device_bytes\": "
		       "%.0f",
		       (dev->set_bytes - bare->set_bytes) / dev->ndevices,
		       (dev->record_bytes - bare->record_bytes) /
			   dev->ndevices);
	printf("}\n");
	/* Issue 15's budget: a KiB per set and record, 128 B per device. */
	printf("{\"series\": \"scale-budget\", \"set_bytes\": 1024, "
	       "\"record_bytes\": 1024, \"device_bytes\": 128}\n");
	fflush(stdout);
}

static int devices_open(struct run *r, char *list, unsigned int *n)
{
	for (char *path = strtok(list, ","); path; path = strtok(NULL, ",")) {
		if (*n == MAX_DEVICES)
			return -E2BIG;
		r->devices[*n] = open(path, O_RDONLY | O_CLOEXEC);
		if (r->devices[*n] < 0)
			return -errno;
		(*n)++;
	}
	return 0;
}

static int files_allow(unsigned int sets)
{
	struct rlimit lim = { .rlim_cur = sets + 64, .rlim_max = sets + 64 };

	return setrlimit(RLIMIT_NOFILE, &lim) ? -errno : 0;
}

static void __attribute__((noreturn)) usage(int status)
{
	fputs("Usage: scale --sets N [--rounds R] [--devices DEV,...]\n",
	      status ? stderr : stdout);
	exit(status);
}

static int parse(int argc, char **argv, struct run *r, unsigned int *rounds,
		 unsigned int *ndevices)
{
	static const struct option options[] = {
		{ "sets", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "devices", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, ret = 0;

	while (!ret &&
	       (opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 's')
			r->sets = strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			*rounds = strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			ret = devices_open(r, optarg, ndevices);
		else
			usage(opt == 'h' ? 0 : 2);
	}
	if (!ret && (optind != argc || !r->sets || !*rounds))
		usage(2);
	return ret;
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	struct kind bare = { 0 }, dev = { 0 };
	unsigned int rounds = 1;
	int ret;

	ret = parse(argc, argv, &r, &rounds, &dev.ndevices);
	ret = ret ?: files_allow(r.sets);
	r.fds = calloc(r.sets, sizeof(*r.fds));
	if (!ret && !r.fds)
		ret = -ENOMEM;
	for (unsigned int i = 0; i < rounds && !ret; i++) {
		ret = round_run(&r, &bare);
		ret = ret ?: round_run(&r, &dev);
	}
	if (ret) {
		fprintf(stderr, "scale: %u sets: %s\n", r.sets, strerror(-ret));
		return 1;
	}
	run_print(&r, &bare, &dev);
	free(r.list_buf);
	free(r.fds);
	return 0;
}
