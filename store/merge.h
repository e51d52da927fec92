/* Merging the databases of several sensors into one, without counting a
 * session twice: a writer, beside the store.
 *
 * A session is the same connection when client_ip, client_port, server_ip
 * and server_port are equal and the ts_start values are at most
 * `tolerance` seconds apart (sensor clocks differ a little; a client port
 * is not reused that fast). The merged database keeps one row per session:
 * the more complete one (a known transport, then a ServerHello seen, then
 * no anomalies, then more packets), the first one on a tie.
 *
 * Runs are copied with their counters (run_counters too). A run already in
 * the output (same source, source_kind, start time and version) is not
 * copied again, so merging the same input twice changes nothing. Each
 * copied run gets a row in the table run_origins: the original database
 * and run id, when it was merged, and how many of its sessions were
 * copied, already present, or replaced a less complete row. Certificates
 * are copied once each (by SHA-256). Session ids are renumbered.
 *
 * Inputs are never written: one of an older schema version is migrated
 * in a temporary copy. The merge is written into a temporary file in the
 * output's folder (a copy of the output when it exists), which replaces
 * the output only when everything succeeded: a failed merge leaves the
 * output as it was, or absent, and nothing else behind. */
#ifndef SMTPTLS_MERGE_H
#define SMTPTLS_MERGE_H

#include <stddef.h>
#include <stdint.h>

#define MERGE_TOLERANCE_DEFAULT 1.0 /* seconds */

struct merge_stats {
	int64_t runs_added, runs_present;
	int64_t sessions_copied;    /* new sessions */
	int64_t sessions_duplicate; /* already there, kept the row there */
	int64_t sessions_replaced;  /* already there, replaced by a more complete row */
};

/* Merges inputs[0..n) into out_path (created if absent). Returns 0, or -1
 * with a message naming the database in err (out_path is then unchanged). */
int store_merge(const char *out_path, const char *const *inputs, size_t n, double tolerance,
		 struct merge_stats *st, char *err, size_t errlen);

#endif
