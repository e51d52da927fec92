/* The ClickHouse side of the schema (internal to store/ and reports/):
 * the tables a database URL gets, and rows as TabSeparated text.
 *
 * sessions      ReplacingMergeTree ORDER BY (sensor, writer, seq): every
 *               column of the SQLite sessions view in its order, with its
 *               name and meaning (names looked up from the registry as the
 *               view's joins do, certificates inline), then sensor, then
 *               the codes the view shows by name only (transport_code ...
 *               anomaly_bits) and the row's identity: writer (a random
 *               64-bit number of the process that captured it) and seq
 *               (its number there), given when the row is queued and kept
 *               through the spool. A batch sent again (an insert whose
 *               answer was lost) carries the same identities: a query
 *               through FINAL sees each session once.
 * runs          ReplacingMergeTree(ver) ORDER BY (sensor, id): the SQLite
 *               runs columns and sensor; a run's row is written again with
 *               a higher ver as it goes on.
 * run_counters  ReplacingMergeTree(ver) ORDER BY (sensor, run_id, name).
 * Single server: the tables themselves. Cluster (cluster=NAME): each as
 * TABLE_local on every shard of system.clusters (created on each shard's host directly: ON CLUSTER needs ZooKeeper),
 * and a Distributed table of the table's name over them on the entry
 * server, sharded so that a row sent twice lands on the same shard:
 * sessions by cityHash64(writer, seq), runs and run_counters by run id. */
#ifndef SMTPTLS_CHSCHEMA_H
#define SMTPTLS_CHSCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "../common/record.h"
#include "tsv.h"

#define CH_SENSOR_MAX 64
#define CH_RUN_VALUES 16 /* packets ... peak_buffered */
#define CH_COUNTERS_PER_ROW 32

enum ch_kind { CH_KIND_SESSION = 1, CH_KIND_RUN, CH_KIND_COUNTERS };

/* A run's row as written (again) while it goes on. */
struct ch_run {
	char source[512], source_kind[16], filter[1536], ports[1024], version[64];
	char status[16], owner[384], file_sha256[65];
	double started, ended; /* ended < 0: NULL */
	uint64_t values[CH_RUN_VALUES]; /* UINT64_MAX: NULL */
	uint64_t file_size;
	int has_file;
	uint64_t ver;
};

struct ch_counters {
	uint32_t n;
	uint64_t ver;
	struct {
		char name[56];
		uint64_t value;
	} c[CH_COUNTERS_PER_ROW];
};

/* What the ClickHouse writer keeps of a row, in its queue and spool. */
struct ch_row {
	uint32_t magic; /* CH_ROW_MAGIC: a spool of another layout is not read */
	uint32_t kind;  /* enum ch_kind */
	uint64_t writer, seq; /* a session's identity */
	int64_t run_id;
	char sensor[CH_SENSOR_MAX];
	union {
		struct session_record s;
		struct ch_run run;
		struct ch_counters counters;
	} u;
};
#define CH_ROW_MAGIC (0x43480200u ^ (uint32_t)sizeof(struct ch_row))

/* One table: its name, columns "(name type, ...)", the MergeTree engine
 * clause, and the Distributed table's sharding key. */
struct ch_table {
	const char *name;
	const char *engine;
	const char *shard_by;
};
const struct ch_table *chschema_tables(size_t *n);
/* CREATE TABLE IF NOT EXISTS db.name (columns) ENGINE = engine, into out. */
void chschema_create(struct tsv_buf *out, const char *db, const struct ch_table *t,
		     const char *name);
/* The column list "(a, b, ...)" of a table, for INSERT. */
void chschema_columns(struct tsv_buf *out, const struct ch_table *t);

/* The views the report queries read, as the SQLite tables of the same
 * names: session_rows (codes) and certificates over sessions FINAL, an
 * empty run_origins, and sessions_view: the columns of the SQLite sessions
 * view, each session once (export). NULL-terminated CREATE statements for database db,
 * each into out by chschema_view(). */
size_t chschema_nviews(void);
void chschema_view(struct tsv_buf *out, const char *db, size_t i);

/* One row of its table as a TabSeparated line (with its newline); the
 * table it goes to is chschema_tables()[kind - 1]. Counters give one line
 * per counter. */
void chschema_put_row(struct tsv_buf *b, const struct ch_row *row);

/* The id a session gets in the id column (unique with overwhelming
 * likelihood; identity is (sensor, writer, seq)). */
int64_t chschema_session_id(uint64_t writer, uint64_t seq);

#endif
