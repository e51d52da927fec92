/* The rollup sources of a report (rsource.h). */
#include "rsource.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/rollup.h"

#define HOUR 3600.0
#define DAY 86400.0
#define MAX_PARTS 8
#define COND_MAX 768
#define NLEVELS 3 /* the level caps of a source: all, day, hour */
#define MAX_VARS 16

/* One piece of a source: the rows of a rollup table in buckets [from, to)
 * (to infinite: no upper bound), or the sessions starting in [from, to). */
struct part {
	int level; /* enum rollup_level, or -1 for the sessions */
	double from, to;
};

struct plan {
	struct part p[MAX_PARTS];
	size_t n;
};

struct rsource {
	struct report_filter f;
	int whole;            /* every source from the sessions (scan, --server, unfolded rows) */
	int64_t promoted;     /* every session before it is in the day and all-time tables */
	int covering;         /* the filter's time range holds every session counted */
	struct rdb_coverage cov;
	int materialized;     /* the edges are in temp.rq_edge_NAME */
	int filter_only;      /* export, tlsrpt: {{filter}} and {{server_ids}} */
	char ports[REPORT_MAX_PORTS * 7 + 32];    /* " AND server_port IN (25,587)" or "" */
	char ports_s[REPORT_MAX_PORTS * 7 + 32];  /* the same over session_rows s */
	char filter[1024];
	struct sqlt_var vars[MAX_VARS];
	char *texts[MAX_VARS];
	char names[MAX_VARS][32];
	size_t nvars;
};

/* ---- the state of the rollups ------------------------------------------------- */

static double real_or_nan(struct rq_stmt *s, int col)
{
	return rq_null(s, col) ? NAN : rq_real(s, col);
}

/* Runs sql and hands its first row to fn; 0 or -1. */
static int first_row(struct rq *q, const char *sql, void (*fn)(struct rq_stmt *, void *),
		     void *arg)
{
	struct rq_stmt *s = rq_prepare(q, sql, NULL, 0);
	int rc = s ? rq_step(s) : -1;
	if (rc > 0) {
		fn(s, arg);
		while ((rc = rq_step(s)) > 0)
			;
	}
	return rq_finish(s) == 0 ? 0 : -1;
}

static void read_rollup_state(struct rq_stmt *s, void *arg)
{
	struct rsource *rs = arg;
	rs->promoted = rq_int(s, 1);
	rs->whole |= rq_int(s, 2) > rq_int(s, 0); /* sessions not folded yet */
}

static void read_span(struct rq_stmt *s, void *arg)
{
	double *span = arg;
	span[0] = real_or_nan(s, 0);
	span[1] = real_or_nan(s, 1);
}

static void read_one(struct rq_stmt *s, void *arg)
{
	*(double *)arg = real_or_nan(s, 0);
}

static int read_state(struct rsource *rs, struct rq *q)
{
	char sql[512];
	double rollups[2] = {NAN, NAN};
	rs->cov.sessions_first = rs->cov.sessions_last = NAN;
	if (first_row(q, "SELECT folded, promoted, (SELECT coalesce(max(id), 0) FROM session_rows)"
			 " FROM rollup_state", read_rollup_state, rs) < 0 ||
	    first_row(q, "SELECT min(ts_start) FROM session_rows", read_one,
		      &rs->cov.sessions_first) < 0 ||
	    first_row(q, "SELECT max(ts_start) FROM session_rows", read_one,
		      &rs->cov.sessions_last) < 0)
		return -1;
	snprintf(sql, sizeof sql, "SELECT min(ts_min), max(ts_max) FROM (SELECT ts_min, ts_max"
		 " FROM rollup_codes_all UNION ALL SELECT ts_min, ts_max FROM rollup_codes_hour"
		 " WHERE bucket >= %lld)", (long long)rs->promoted);
	if (first_row(q, sql, read_span, rollups) < 0)
		return -1;
	rs->cov.rollups_first = rollups[0];
	rs->cov.rollups_last = rollups[1];
	rs->covering = !isfinite(rollups[0]) ||
		       (rs->f.since <= rollups[0] && rs->f.until > rollups[1]);
	return 0;
}

/* ClickHouse keeps no rollups: every source is the sessions, counted by
 * the server. */
static int clickhouse_span(struct rsource *rs, struct rq *q)
{
	rs->cov.sessions_first = rs->cov.sessions_last = NAN;
	rs->cov.rollups_first = rs->cov.rollups_last = NAN;
	rs->whole = 1;
	if (first_row(q, "SELECT min(ts_start) FROM session_rows", read_one,
		      &rs->cov.sessions_first) < 0 ||
	    first_row(q, "SELECT max(ts_start) FROM session_rows", read_one,
		      &rs->cov.sessions_last) < 0)
		return -1;
	return 0;
}

/* ---- cutting the time range ------------------------------------------------------- */

static void add_part(struct plan *p, int level, double from, double to)
{
	if (from < to && p->n < MAX_PARTS)
		p->p[p->n++] = (struct part){level, from, to};
}

/* Whole hours of [a, b) from the hour tables, the rest from the sessions. */
static void hours(struct plan *p, double a, double b)
{
	double h0 = ceil(a / HOUR) * HOUR, h1 = floor(b / HOUR) * HOUR;
	if (!(a < b))
		return;
	if (h0 < h1) {
		add_part(p, ROLLUP_HOUR, h0, h1);
		add_part(p, -1, a, h0);
		add_part(p, -1, h1, b);
	} else {
		add_part(p, -1, a, b);
	}
}

/* The parts of the filter's range from tables no coarser than cap. The
 * range is first narrowed to the hours that hold sessions. */
static void cut(const struct rsource *rs, enum rollup_level cap, struct plan *p)
{
	double since = rs->f.since, until = rs->f.until, promoted = (double)rs->promoted;
	double first = rs->cov.rollups_first, last = rs->cov.rollups_last;
	p->n = 0;
	if (rs->whole) {
		add_part(p, -1, since, until);
		return;
	}
	if (!isfinite(first))
		return; /* nothing counted */
	since = fmax(since, floor(first / HOUR) * HOUR);
	until = fmin(until, floor(last / HOUR) * HOUR + HOUR);
	if (cap == ROLLUP_ALL && rs->covering) {
		add_part(p, ROLLUP_ALL, 0, 1);
		add_part(p, ROLLUP_HOUR, promoted, until);
		return;
	}
	if (cap >= ROLLUP_DAY) {
		double d0 = ceil(since / DAY) * DAY, d1 = floor(fmin(until, promoted) / DAY) * DAY;
		if (d0 < d1) {
			add_part(p, ROLLUP_DAY, d0, d1);
			hours(p, since, d0);
			hours(p, d1, until);
			return;
		}
	}
	hours(p, since, until);
}

/* ---- the SQL ----------------------------------------------------------------------------- */

static void filters(struct rsource *rs)
{
	char list[REPORT_MAX_PORTS * 7 + 2] = "";
	size_t used = 0;
	for (size_t i = 0; i < rs->f.nports && used < sizeof list; i++)
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%u", i ? "," : "",
					 rs->f.ports[i]);
	rs->ports[0] = rs->ports_s[0] = '\0';
	if (rs->f.nports) {
		snprintf(rs->ports, sizeof rs->ports, " AND server_port IN (%s)", list);
		snprintf(rs->ports_s, sizeof rs->ports_s, " AND s.server_port IN (%s)", list);
	}
	snprintf(rs->filter, sizeof rs->filter, "(ts_start >= :since AND ts_start < :until%s%s%s)",
		 rs->ports, rs->f.server[0] ? " AND (server_ip = :server OR"
					      " {{ieq(server_name, :server)}})" : "",
		 rs->f.sensor[0] ? " AND sensor = :sensor" : "");
}

/* The SQL of one part of rollup d's source (to free()). */
static char *part_sql(const struct rsource *rs, const struct rollup_def *d, const struct part *p)
{
	char cond[COND_MAX];
	if (p->level < 0) {
		snprintf(cond, sizeof cond, "s.ts_start >= %.17g AND s.ts_start < %.17g%s%s%s", p->from,
			 p->to, rs->ports_s, rs->f.server[0] ? " AND (s.server_ip = :server OR"
			 " {{ieq(s.server_name, :server)}})" : "",
			 rs->f.sensor[0] ? " AND s.sensor = :sensor" : "");
		return rollup_select(d, (int64_t)HOUR, cond, 0);
	}
	if (p->level == ROLLUP_ALL)
		snprintf(cond, sizeof cond, "bucket = 0%s", rs->ports);
	else if (p->to - p->from == (double)rollup_width((enum rollup_level)p->level))
		snprintf(cond, sizeof cond, "bucket = %lld%s", (long long)p->from, rs->ports);
	else
		snprintf(cond, sizeof cond, "bucket >= %lld AND bucket < %lld%s", (long long)p->from,
			 (long long)p->to, rs->ports);
	return rollup_read(d, (enum rollup_level)p->level, cond);
}

/* "(a UNION ALL b ...)" of the texts (freed); NULL when one is NULL. */
static char *union_of(char **texts, size_t n)
{
	size_t len = 3;
	char *out;
	for (size_t i = 0; i < n; i++)
		len += texts[i] ? strlen(texts[i]) + 11 : 0;
	out = malloc(len);
	for (size_t i = 0; i < n && out; i++)
		if (!texts[i]) {
			free(out);
			out = NULL;
		}
	if (out) {
		strcpy(out, "(");
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(out, " UNION ALL ");
			strcat(out, texts[i]);
		}
		strcat(out, ")");
	}
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	return out;
}

static int has_sessions(const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->p[i].level < 0)
			return 1;
	return 0;
}

/* The source of rollup d from tables no coarser than cap: the table parts,
 * and the session parts (the edges: the same whatever the cap) from the
 * temporary table made of them, or computed here. */
static char *source_sql(const struct rsource *rs, const struct rollup_def *d,
			enum rollup_level cap)
{
	struct plan p;
	char *texts[MAX_PARTS + 1], edge[96];
	size_t n = 0;
	cut(rs, cap, &p);
	if (p.n == 0) /* an empty range: no sessions, the right columns */
		p.p[p.n++] = (struct part){-1, 0, 0};
	for (size_t i = 0; i < p.n; i++)
		if (p.p[i].level >= 0 || !rs->materialized)
			texts[n++] = part_sql(rs, d, &p.p[i]);
	if (rs->materialized && has_sessions(&p)) {
		snprintf(edge, sizeof edge, "SELECT * FROM temp.rq_edge_%s", d->name);
		texts[n++] = strdup(edge);
	}
	return union_of(texts, n);
}

/* With --server (SQLite): the server's session rows, read in one pass
 * (there is no index on the server, which would cost the writer), into
 * a temporary table that takes the name session_rows for the rest of the
 * report's queries (SQLite looks a name up in temp first). 0 or -1. */
static int server_rows(struct rsource *rs, struct rq *q)
{
	if (!rs->f.server[0] || rq_dialect(q) != SQLT_SQLITE)
		return 0;
	if (rq_exec(q, "DROP TABLE IF EXISTS temp.session_rows") < 0)
		return -1;
	struct rq_stmt *s = rq_prepare(q, "CREATE TEMP TABLE session_rows AS SELECT * FROM"
					  " main.session_rows WHERE ts_start >= :since AND"
					  " ts_start < :until AND (server_ip = :server OR"
					  " {{ieq(server_name, :server)}})", NULL, 0);
	if (!s)
		return -1;
	rq_bind_text(s, ":server", rs->f.server);
	rq_bind_real(s, ":since", rs->f.since);
	rq_bind_real(s, ":until", rs->f.until);
	int rc = rq_step(s) == 0 ? 0 : -1;
	rq_finish(s);
	return rc;
}

static int add_var(struct rsource *rs, const char *name, char *text);

/* {{server_ids}}: the filter's (server_ip, server_port, id), for the
 * lists of one server's sessions (rdb.h, RDB_SERVER_ROWS). SQLite: a
 * temporary table made in one pass (0.6 s for 960,000 sessions), as there
 * is no index on the server; elsewhere the same as a subquery. 0 or -1. */
static int server_ids(struct rsource *rs, struct rq *q)
{
	char sql[1400];
	snprintf(sql, sizeof sql, "(SELECT server_ip, server_port, id FROM session_rows WHERE %s)",
		 rs->filter);
	if (rq_dialect(q) != SQLT_SQLITE || rs->filter_only)
		return add_var(rs, "server_ids", strdup(sql));
	if (rq_exec(q, "DROP TABLE IF EXISTS temp.rq_server_ids") < 0 ||
	    rq_exec(q, "CREATE TEMP TABLE rq_server_ids (server_ip TEXT, server_port INTEGER,"
		       " id INTEGER, PRIMARY KEY (server_ip, server_port, id)) WITHOUT ROWID") < 0)
		return -1;
	snprintf(sql, sizeof sql, "INSERT INTO temp.rq_server_ids SELECT server_ip, server_port, id"
		 " FROM session_rows WHERE %s ORDER BY server_ip, server_port, id", rs->filter);
	struct rq_stmt *s = rq_prepare(q, sql, NULL, 0);
	if (!s)
		return -1;
	rq_bind_text(s, ":server", rs->f.server[0] ? rs->f.server : NULL);
	rq_bind_text(s, ":sensor", rs->f.sensor[0] ? rs->f.sensor : NULL);
	rq_bind_real(s, ":since", rs->f.since);
	rq_bind_real(s, ":until", rs->f.until);
	int rc = rq_step(s) == 0 ? 0 : -1;
	rq_finish(s);
	return rc < 0 ? -1 : add_var(rs, "server_ids", strdup("temp.rq_server_ids"));
}

/* The edges of every rollup computed once, into temporary tables, rather
 * than in each query that reads a source (SQLite). 0 or -1. */
static int materialize(struct rsource *rs, struct rq *q)
{
	size_t n;
	const struct rollup_def *defs = rollup_defs(&n);
	struct plan p;
	cut(rs, ROLLUP_HOUR, &p);
	if (!has_sessions(&p) || rq_dialect(q) != SQLT_SQLITE)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char *texts[MAX_PARTS], *sql = NULL, head[128];
		size_t k = 0;
		for (size_t j = 0; j < p.n; j++)
			if (p.p[j].level < 0)
				texts[k++] = part_sql(rs, &defs[i], &p.p[j]);
		char *edges = union_of(texts, k);
		snprintf(head, sizeof head, "DROP TABLE IF EXISTS temp.rq_edge_%s", defs[i].name);
		if (!edges || rq_exec(q, head) < 0 ||
		    !(sql = malloc(strlen(edges) + 64))) {
			free(edges);
			return -1;
		}
		sprintf(sql, "CREATE TEMP TABLE rq_edge_%s AS SELECT * FROM %s", defs[i].name, edges);
		struct rq_stmt *s = rq_prepare(q, sql, NULL, 0);
		if (s) {
			rq_bind_text(s, ":server", rs->f.server[0] ? rs->f.server : NULL);
			rq_bind_text(s, ":sensor", rs->f.sensor[0] ? rs->f.sensor : NULL);
		}
		int rc = s && rq_step(s) == 0 ? 0 : -1;
		if (s)
			rq_finish(s);
		free(sql);
		free(edges);
		if (rc < 0)
			return -1;
	}
	rs->materialized = 1;
	return 0;
}

static int add_var(struct rsource *rs, const char *name, char *text)
{
	if (!text || rs->nvars == MAX_VARS) {
		free(text);
		return -1;
	}
	snprintf(rs->names[rs->nvars], sizeof rs->names[0], "%s", name);
	rs->texts[rs->nvars] = text;
	rs->vars[rs->nvars] = (struct sqlt_var){rs->names[rs->nvars], text};
	rs->nvars++;
	return 0;
}

static int build_vars(struct rsource *rs)
{
	static const char *const caps[NLEVELS] = {"", "/day", "/hour"};
	static const enum rollup_level levels[NLEVELS] = {ROLLUP_ALL, ROLLUP_DAY, ROLLUP_HOUR};
	size_t n;
	const struct rollup_def *defs = rollup_defs(&n);
	if (add_var(rs, "filter", strdup(rs->filter)) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < NLEVELS; c++) {
			char name[32];
			snprintf(name, sizeof name, "src:%s%s", defs[i].name, caps[c]);
			if (add_var(rs, name, source_sql(rs, &defs[i], levels[c])) < 0)
				return -1;
		}
	return 0;
}

struct rsource *rsource_new(struct rq *q, const struct report_filter *f, int scan,
			    int filter_only, char *err, size_t errlen)
{
	struct rsource *rs = calloc(1, sizeof *rs);
	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rs->f = *f;
	rs->whole = scan || f->server[0] || f->sensor[0]; /* rollups have no sensor */
	rs->cov.scan = scan;
	filters(rs);
	if (filter_only && rq_dialect(q) == SQLT_SQLITE &&
	    rq_exec(q, "DROP TABLE IF EXISTS temp.session_rows") < 0) {
		snprintf(err, errlen, "%s", rq_error(q));
	} else if (filter_only) {
		rs->cov.sessions_first = rs->cov.sessions_last = NAN;
		rs->cov.rollups_first = rs->cov.rollups_last = NAN;
		rs->filter_only = 1;
		if (add_var(rs, "filter", strdup(rs->filter)) == 0 && server_ids(rs, q) == 0)
			return rs;
		snprintf(err, errlen, "out of memory");
	} else if (rq_dialect(q) == SQLT_CLICKHOUSE ? clickhouse_span(rs, q) < 0 : read_state(rs, q) < 0) {
		snprintf(err, errlen, "reading the rollups: %s", rq_error(q));
	} else if (server_rows(rs, q) < 0) {
		snprintf(err, errlen, "reading the server's sessions: %s", rq_error(q));
	} else if (server_ids(rs, q) < 0) {
		snprintf(err, errlen, "listing the servers' sessions: %s", rq_error(q));
	} else if (materialize(rs, q) < 0) {
		snprintf(err, errlen, "counting the sessions at the edges: %s", rq_error(q));
	} else if (build_vars(rs) < 0) {
		snprintf(err, errlen, "out of memory");
	} else {
		rs->cov.scan = rs->whole;
		return rs;
	}
	rsource_free(rs);
	return NULL;
}

void rsource_free(struct rsource *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nvars; i++)
		free(rs->texts[i]);
	free(rs);
}

const struct sqlt_var *rsource_vars(const struct rsource *rs, size_t *n)
{
	*n = rs->nvars;
	return rs->vars;
}

const struct rdb_coverage *rsource_coverage(const struct rsource *rs)
{
	return &rs->cov;
}
