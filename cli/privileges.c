#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int give_file(const char *path, uid_t uid, gid_t gid)
{
	if (chown(path, uid, gid) == 0 || errno == ENOENT)
		return 0;
	return -1;
}

int privileges_drop(const char *user, const char *db, char *err, size_t errlen)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-spool"};
	struct passwd *pw = getpwnam(user);
	char path[4096];
	if (!pw) {
		snprintf(err, errlen, "cannot drop privileges to '%s': no such user", user);
		return -1;
	}
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
		if (give_file(path, pw->pw_uid, pw->pw_gid) < 0) {
			snprintf(err, errlen, "cannot give '%s' to '%s': %s", path, user,
				 strerror(errno));
			return -1;
		}
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		snprintf(err, errlen, "cannot drop privileges to '%s': %s", user, strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		snprintf(err, errlen, "cannot drop privileges to '%s': root could be regained",
			 user);
		return -1;
	}
	return 0;
}
