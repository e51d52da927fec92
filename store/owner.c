#define _POSIX_C_SOURCE 200809L
#include "owner.h"

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* Field 22 of /proc/PID/stat, the start time; 0 if none. The command name
 * (field 2) may hold spaces and parentheses: count from the last ')'. */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	read_line(path, buf, sizeof buf);
	char *p = strrchr(buf, ')');
	unsigned long long v = 0;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

static void host_and_boot(char *host, size_t hlen, char *boot, size_t blen)
{
	if (gethostname(host, hlen) < 0)
		host[0] = '\0';
	host[hlen - 1] = '\0';
	for (char *c = host; *c; c++)
		if (*c == ' ')
			*c = '_';
	read_line("/proc/sys/kernel/random/boot_id", boot, blen);
}

void owner_self(char *out, size_t len)
{
	char host[256], boot[64];
	host_and_boot(host, sizeof host, boot, sizeof boot);
	long pid = (long)getpid();
	snprintf(out, len, "%s %s %ld %llu", host, boot[0] ? boot : "-", pid, start_time(pid));
}

int owner_alive(const char *owner)
{
	char host[256], boot[64], ohost[256], oboot[64];
	long pid;
	unsigned long long start;
	if (!owner || sscanf(owner, "%255s %63s %ld %llu", ohost, oboot, &pid, &start) != 4)
		return -1;
	host_and_boot(host, sizeof host, boot, sizeof boot);
	if (strcmp(host, ohost) != 0 || !boot[0])
		return -1;
	if (strcmp(boot, oboot) != 0)
		return 0; /* the machine restarted since */
	return pid > 0 && start != 0 && start_time(pid) == start;
}
