/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One LVM volume group per test program, not one per test: made on a
 * loop device, with its origin LVs, by the first test that needs it,
 * reused by the next ones, and removed when the program ends (killed
 * too: a guard process waits for that). Each test leaves the VG as it
 * found it: its origins, active and the same LVs, and nothing else.
 * shared_vg_check(), in the fixture's teardown, fails the test that did
 * not, and puts the VG right for the next one (or drops it, to be made
 * afresh). A test that never reaches its teardown (killed at its
 * timeout: the harness SIGKILLs it) cannot: it leaves the VG marked as
 * its own, and the next test drops that VG, says so and makes another.
 *
 * The harness runs every test in a child of the program's process: the
 * VG's name and devices are handed on through a file named after that
 * process, the mark through another, with ".held" added.
 */
#ifndef SNAPSET_SELFTEST_SHARED_VG_H
#define SNAPSET_SELFTEST_SHARED_VG_H

#include <sys/file.h>

#include "kselftest_harness.h"
#include "util.h"

#define SHARED_VG_ORIGINS 4

struct shared_vg {
	char name[32];
	char pv[32];
	unsigned int norigins;
	struct {
		char lv[32];
		char uuid[48];
	} origins[SHARED_VG_ORIGINS];
};

/* Removes the VG and its PV named in the file $0, the file and mark. */
#define SHARED_VG_REMOVE                                                  \
	"[ -r \"$0\" ] || { rm -f \"$0.held\"; exit 0; }; "               \
	"read vg pv < \"$0\"; "                                           \
	"DM_DISABLE_UDEV=1 LVM_SYSTEM_DIR=/tmp/snapset-lvm lvm vgremove " \
	"-q -f \"$vg\" >/dev/null 2>&1; losetup -d \"$pv\" 2>/dev/null; " \
	"rm -f \"$0\" \"$0.held\""

/* The test program's own process, parent of every test. */
static pid_t shared_vg_program;

static inline void shared_vg_state(char *path, size_t size)
{
	snprintf(path, size, "/tmp/snapset-vg-%d", shared_vg_program);
}

/* Holds the name of the test that has the VG, until its check. */
static inline void shared_vg_held(char *path, size_t size)
{
	snprintf(path, size, "/tmp/snapset-vg-%d.held", shared_vg_program);
}

static void __attribute__((constructor)) shared_vg_guard(void)
{
	char path[64];

	shared_vg_program = getpid();
	shared_vg_state(path, sizeof(path));
	/* However the program ends: the VG goes once it has. */
	sh_at_exit(SHARED_VG_REMOVE, path);
}

/* Removes the VG now: the next test that needs one makes it afresh. */
static inline void shared_vg_drop(void)
{
	char path[64];

	shared_vg_state(path, sizeof(path));
	sh("sh -c '" SHARED_VG_REMOVE "' %s", path);
}

/* At the program's normal end, at once rather than through the guard. */
static void __attribute__((destructor)) shared_vg_remove(void)
{
	if (getpid() == shared_vg_program)
		shared_vg_drop();
}

static inline int shared_vg_read(struct shared_vg *vg)
{
	char path[64];
	FILE *f;
	int n;

	shared_vg_state(path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fscanf(f, "%31s %31s", vg->name, vg->pv);
	vg->norigins = 0;
	while (n == 2 && vg->norigins < SHARED_VG_ORIGINS &&
	       fscanf(f, "%31s %47s", vg->origins[vg->norigins].lv,
		      vg->origins[vg->norigins].uuid) == 2)
		vg->norigins++;
	fclose(f);
	return n == 2 && vg->norigins ? 0 : -1;
}

/* Writes the state file whole, or not at all. */
static inline int shared_vg_write(const struct shared_vg *vg)
{
	char path[64], tmp[80];
	FILE *f;
	int ret;

	shared_vg_state(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -1;
	fprintf(f, "%s %s\n", vg->name, vg->pv);
	for (unsigned int i = 0; i < vg->norigins; i++)
		fprintf(f, "%s %s\n", vg->origins[i].lv, vg->origins[i].uuid);
	ret = fclose(f);
	return ret ? ret : rename(tmp, path);
}

/* Marks the VG as the calling test's until shared_vg_check(). */
static inline int shared_vg_hold(struct __test_metadata *_metadata)
{
	char path[64];
	FILE *f;

	shared_vg_held(path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "%s\n", _metadata->name);
	return fclose(f);
}

/*
 * Whether the test that had the VG before never reached its check: it
 * may have left anything in it. Said in the log, with that test's name.
 */
static inline bool shared_vg_abandoned(struct __test_metadata *_metadata,
				       const struct shared_vg *vg)
{
	char path[64], test[128] = "";
	FILE *f;

	shared_vg_held(path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(test, sizeof(test), f))
		test[strcspn(test, "\n")] = '\0';
	fclose(f);
	TH_LOG("%s: %s did not reach its teardown (killed at its timeout?); "
	       "dropped, made afresh",
	       vg->name, test);
	return true;
}

/*
 * The program's VG: the one an earlier test made, or a new one, named
 * @prefix and the pid of the test that makes it, on a loop device of
 * @bytes, with the LVs that the shell commands @origins make in "$VG".
 * 0; ENODEV when there is no loop device; -1 when LVM failed. The VG
 * is the calling test's until its shared_vg_check().
 */
static inline int shared_vg_get(struct __test_metadata *_metadata,
				struct shared_vg *vg, const char *prefix,
				off_t bytes, const char *origins)
{
	char cmd[160], line[128];
	struct loopdev pv;
	FILE *p;

	if (!shared_vg_read(vg) && !shared_vg_abandoned(_metadata, vg))
		return shared_vg_hold(_metadata);
	/* Abandoned, or half made by a test killed while making it. */
	shared_vg_drop();
	if (loop_attach(&pv, bytes))
		return ENODEV;
	memset(vg, 0, sizeof(*vg));
	snprintf(vg->name, sizeof(vg->name), "%s%d", prefix, getpid());
	snprintf(vg->pv, sizeof(vg->pv), "%s", pv.path);
	/* Named first: the guard removes a VG that is only half made. */
	if (shared_vg_write(vg))
		goto fail;
	setenv("VG", vg->name, 1);
	if (sh("lvm vgcreate -q %s %s >/dev/null 2>&1 && %s", vg->name, vg->pv,
	       origins))
		goto fail;
	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name,lv_uuid %s 2>/dev/null",
		 vg->name);
	p = popen(cmd, "r");
	while (p && vg->norigins < SHARED_VG_ORIGINS &&
	       fgets(line, sizeof(line), p))
		if (sscanf(line, "%31s %47s", vg->origins[vg->norigins].lv,
			   vg->origins[vg->norigins].uuid) == 2)
			vg->norigins++;
	if (!p || pclose(p) || !vg->norigins || shared_vg_write(vg) ||
	    shared_vg_hold(_metadata))
		goto fail;
	return 0;
fail:
	shared_vg_drop();
	return -1;
}

/*
 * At the end of a test: the VG holds its origins, the same LVs and
 * active, and nothing else (a snapshot left behind by snapset or by the
 * test, tagged or not). Fails the test otherwise, with what was found,
 * and removes what was left, or the whole VG when that is not enough.
 * One lvm call when all is well.
 */
static inline void shared_vg_check(struct __test_metadata *_metadata,
				   const struct shared_vg *vg)
{
	char cmd[192], line[512], left[512] = "", names[512] = "";
	bool found[SHARED_VG_ORIGINS] = {}, intact = true;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "lvm lvs --noheadings -o lv_name,lv_uuid,lv_attr,lv_tags %s "
		 "2>/dev/null",
		 vg->name);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		char lv[64], uuid[64], attr[16], tags[256] = "";
		bool origin = false;

		if (sscanf(line, "%63s %63s %15s %255s", lv, uuid, attr, tags) <
		    3)
			continue;
		for (unsigned int i = 0; i < vg->norigins; i++) {
			if (strcmp(lv, vg->origins[i].lv))
				continue;
			origin = found[i] = true;
			if (strcmp(uuid, vg->origins[i].uuid) ||
			    strlen(attr) < 5 || attr[4] != 'a') {
				TH_LOG("%s/%s: %s %s, was %s, active", vg->name,
				       lv, uuid, attr, vg->origins[i].uuid);
				intact = false;
			}
		}
		if (origin)
			continue;
		snprintf(left + strlen(left), sizeof(left) - strlen(left),
			 " %s(%s)", lv, tags);
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 " %s/%s", vg->name, lv);
	}
	if (!p || pclose(p))
		intact = false;
	for (unsigned int i = 0; i < vg->norigins; i++)
		if (!found[i]) {
			TH_LOG("%s/%s: gone", vg->name, vg->origins[i].lv);
			intact = false;
		}
	EXPECT_STREQ("", left)
	{
		TH_LOG("left in %s by the test", vg->name);
	}
	EXPECT_TRUE(intact);
	if (intact && names[0] &&
	    sh("lvm lvremove -q -y -f%s >/dev/null 2>&1", names))
		intact = false;
	if (!intact)
		shared_vg_drop();
	shared_vg_held(cmd, sizeof(cmd));
	unlink(cmd);
}

/*
 * Holds @vg's lock shared, as lvs does: lvcreate waits for it to go.
 * The lock's fd, or -1.
 */
static inline int vg_lock(const char *vg)
{
	char lock_dir[128], lock[192];
	int fd;

	if (sh_line(lock_dir, sizeof(lock_dir),
		    "lvm lvmconfig --typeconfig full global/locking_dir | cut "
		    "-d'\"' -f2"))
		return -1;
	snprintf(lock, sizeof(lock), "%s/V_%s", lock_dir, vg);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_SH)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

#endif /* SNAPSET_SELFTEST_SHARED_VG_H */
