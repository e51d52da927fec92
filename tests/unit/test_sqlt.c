/* SQL templates (common/sqlt.h): every call in both dialects, nesting,
 * names the caller defines, text that only looks like a call, and the
 * errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/sqlt.h"
#include "check.h"

static void expect(enum sqlt_dialect d, const char *in, const char *want)
{
	char err[256] = "";
	char *got = sqlt_expand(d, in, NULL, 0, err, sizeof err);
	if (!got)
		fprintf(stderr, "     %s: %s\n", in, err);
	CHECK_STR(got, want);
	free(got);
}

static void test_calls(void)
{
	static const struct {
		const char *in, *sqlite, *clickhouse;
	} t[] = {
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"{{cat(a, ' ', b)}}", "(a || ' ' || b)",
		 "concat(toString(a), toString(' '), toString(b))"},
		{"{{bit(anomalies, 13)}}", "(((anomalies) >> (13)) & 1)",
		 "bitAnd(bitShiftRight(anomalies, 13), 1)"},
		{"{{idiv(bucket - :o, :w)}}", "((bucket - :o) / (:w))", "intDiv(bucket - :o, :w)"},
		{"{{bucket(s.ts_start, 3600)}}", "(CAST((s.ts_start) / (3600) AS INTEGER) * (3600))",
		 "(intDiv(toInt64(s.ts_start), 3600) * (3600))"},
		{"{{int(x)}}", "CAST(x AS INTEGER)", "toInt64(x)"},
		{"{{contains(k, 'XXXX')}}", "(instr(k, 'XXXX') > 0)", "(position(k, 'XXXX') > 0)"},
		{"{{ieq(server_name, :s)}}", "(server_name = :s COLLATE NOCASE)",
		 "(lowerUTF8(server_name) = lowerUTF8(:s))"},
		{"{{hex4(c)}}", "printf('0x%04X', c)",
		 "concat('0x', substring(hex(toUInt32(c) + 65536), 3, 4))"},
		{"{{mode(name, k)}}", "rq_mode(name, k)", "argMin(name, tuple(-toInt64(k), name))"},
		{"{{list(x)}}", "group_concat(x, ', ')", "arrayStringConcat(groupArray(toString(x)), ', ')"},
		{"{{modew(x, n)}}", "rq_modew(x, n)", NULL},
		{"{{wlist(l, n, -r)}}", "rq_wlist(l, n, -r)", NULL},
		{"a {{ljoin}} b {{join}} c {{joinall}} d", "a LEFT JOIN b JOIN c JOIN d",
		 "a ANY LEFT JOIN b ANY INNER JOIN c ALL INNER JOIN d"},
		{"{{vrank(v)}}", "tls_version_rank(v)", NULL},
		{"{{cname(c)}}", "cipher_name(c)", NULL},
		/* nested calls, commas and parentheses inside arguments */
		{"{{cat({{rankname({{vrank(v)}})}}, ' ', f(a, b))}}",
		 "(tls_rank_name(tls_version_rank(v)) || ' ' || f(a, b))", NULL},
		/* quoted text is not a call and not a separator */
		{"'{{x}}' || {{cat('a,b', 'c)')}}", "'{{x}}' || ('a,b' || 'c)')", NULL},
		{"{{contains(x, 'it''s, {{')}}", "(instr(x, 'it''s, {{') > 0)", NULL},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		expect(SQLT_SQLITE, t[i].in, t[i].sqlite);
		if (t[i].clickhouse)
			expect(SQLT_CLICKHOUSE, t[i].in, t[i].clickhouse);
	}
}

/* ClickHouse has no registry functions: they become multiIf / transform
 * over the registry's tables. */
static void test_registry_clickhouse(void)
{
	char err[256];
	char *rank = sqlt_expand(SQLT_CLICKHOUSE, "{{vrank(v)}}", NULL, 0, err, sizeof err);
	char *name = sqlt_expand(SQLT_CLICKHOUSE, "{{cname(c)}}", NULL, 0, err, sizeof err);
	char *pq = sqlt_expand(SQLT_CLICKHOUSE, "{{gpq(g)}}", NULL, 0, err, sizeof err);
	char *rn = sqlt_expand(SQLT_CLICKHOUSE, "{{rankname(r)}}", NULL, 0, err, sizeof err);
	CHECK(rank && strstr(rank, "v >= 771 AND v <= 771, 5, ") != NULL);    /* TLS 1.2 */
	CHECK(rank && strstr(rank, "v >= 32512 AND v <= 32767, 6, ") != NULL); /* drafts */
	CHECK(name && strstr(name, "'TLS_AES_128_GCM_SHA256'") != NULL);
	CHECK(pq && strstr(pq, "g = 29, 0, ") != NULL); /* x25519 */
	CHECK(rn && strstr(rn, "r = 5, 'TLSv1.2', ") != NULL);
	free(rank), free(name), free(pq), free(rn);
	/* an argument longer than any buffer inside */
	char *nested = sqlt_expand(SQLT_CLICKHOUSE, "{{rankname({{vrank(tls_version)}})}}", NULL, 0,
				   err, sizeof err);
	CHECK(nested && strstr(nested, "multiIf(multiIf(tls_version >= 2 AND ") == nested);
	free(nested);
}

static void test_vars(void)
{
	const struct sqlt_var vars[] = {
		{"src:codes", "(SELECT {{bucket(ts, 60)}} AS b FROM t)"},
		{"filter", "x = :x"},
	};
	char err[256];
	char *got = sqlt_expand(SQLT_SQLITE, "SELECT b FROM {{src:codes}} WHERE {{filter}}", vars, 2,
				err, sizeof err);
	CHECK_STR(got, "SELECT b FROM (SELECT (CAST((ts) / (60) AS INTEGER) * (60)) AS b FROM t)"
		       " WHERE x = :x");
	free(got);
}

static void test_errors(void)
{
	static const char *const bad[] = {
		"{{nope(x)}}", "{{cat()}}", "{{bit(x)}}", "{{bit(x, 1, 2)}}", "{{cat(a, b)",
		"{{cat(a, (b)}}", "{{}}", "{{ljoin(x)}}", "{{src:missing}}",
	};
	char err[256];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		char *got = sqlt_expand(SQLT_SQLITE, bad[i], NULL, 0, err, sizeof err);
		if (!CHECK(got == NULL))
			fprintf(stderr, "     '%s' expanded to '%s'\n", bad[i], got);
		CHECK(strncmp(err, "SQL template: ", 14) == 0);
		free(got);
	}
	/* calls inside calls' results are bounded */
	const struct sqlt_var loop[] = {{"a", "{{b}}"}, {"b", "{{a}}"}};
	CHECK(sqlt_expand(SQLT_SQLITE, "{{a}}", loop, 2, err, sizeof err) == NULL);
	CHECK(strstr(err, "nested too deep") != NULL);
}

int main(void)
{
	test_calls();
	test_registry_clickhouse();
	test_vars();
	test_errors();
	return check_done("sqlt");
}
