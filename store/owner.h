/* Who writes a run (internal to store/): "HOST BOOT_ID PID START", the
 * process's host name, the kernel's boot id, its process id and its start
 * time in clock ticks after boot (/proc/PID/stat), so that a later process
 * can tell whether the writer of a run still marked running is gone, even
 * when its process id was given to another process since. */
#ifndef SMTPTLS_OWNER_H
#define SMTPTLS_OWNER_H

#include <stddef.h>

#define OWNER_MAX 384

/* This process's owner string (empty where /proc cannot say). */
void owner_self(char *out, size_t len);
/* 1 if the process named by owner still runs, 0 if it is gone (same host,
 * and another boot or no process of that id and start), -1 if that cannot
 * be told (another host, NULL or unreadable). */
int owner_alive(const char *owner);

#endif
