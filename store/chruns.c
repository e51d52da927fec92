/* The runs of a ClickHouse database (chruns.h). */
#include "chruns.h"

#include <stdio.h>
#include <string.h>

#include "tsv.h"

int chruns_find_file(struct chttp *http, const struct ch_url *url, const char *sensor,
		     const struct run_file *f, char *what, size_t whatlen)
{
	struct tsv_buf q = {0}, out = {0};
	char num[32];
	snprintf(num, sizeof num, "%llu", (unsigned long long)f->size);
	tsv_puts(&q, "SELECT id, source, toString(toDateTime(toUInt32(started))), ifNull(status, ''),"
		 " isNull(file_sha256) FROM ");
	tsv_puts(&q, url->database);
	tsv_puts(&q, ".runs FINAL WHERE file_size = ");
	tsv_puts(&q, num);
	if (f->sha256) {
		tsv_puts(&q, " AND (isNull(file_sha256) OR file_sha256 = '");
		tsv_puts(&q, f->sha256); /* hex digits */
		tsv_puts(&q, "')");
	}
	tsv_puts(&q, " AND sensor = '");
	tsv_put_text(&q, sensor); /* escaped as in a quoted literal */
	tsv_puts(&q, "' ORDER BY isNull(file_sha256), started LIMIT 1 FORMAT TabSeparated");
	char why[700];
	int rc = q.failed ? -1 : chttp_query(http, NULL, q.p, NULL, 0, NULL, &out, why,
					      sizeof why);
	if (rc != CH_OK && rc != CH_UNREACHABLE)
		fprintf(stderr, "smtptls: warning: database '%s': looking for the file's runs: %s\n",
			url->shown, why);
	struct tsv_row r;
	int found = STORE_RUN_BEGUN;
	if (rc == 0 && out.len > 1 && out.p[out.len - 1] == '\n' &&
	    tsv_split(out.p, out.len - 1, &r) == 0 && r.n == 5) {
		snprintf(what, whatlen, "run %s (of '%s', sensor '%s', started %s UTC%s%s)", r.f[0],
			 r.f[1], sensor, r.f[2], *r.f[3] ? ", " : "", r.f[3]);
		found = !f->sha256 ? STORE_RUN_HASH_FIRST
		      : strcmp(r.f[4], "1") == 0 ? STORE_RUN_SAME_SIZE : STORE_RUN_SAME_FILE;
	}
	tsv_buf_free(&q);
	tsv_buf_free(&out);
	return rc < 0 ? -1 : found;
}

