-- The smtptls database schema, as numbered migrations. Migration N takes a
-- database from PRAGMA user_version N-1 to N; the store runs each missing
-- step in a transaction of its own when it opens a database, and sets
-- user_version to N after it. A step is never changed once released: a new
-- column or table is a new step at the end (store/schema.c embeds this file
-- at build time). The lookup tables' rows (tls_versions, cipher_suites ...)
-- are not in here: they are written from the registry (common/registry.c)
-- every time a writer opens the database, so a newer registry adds names.
--
-- Each step starts with a line "-- migration N: what it does".

-- migration 1: the schema of smtptls 0.1.0, names written as text
CREATE TABLE runs ( id INTEGER PRIMARY KEY, source TEXT NOT NULL, source_kind TEXT NOT NULL,
  filter TEXT, ports TEXT, started REAL NOT NULL, ended REAL, packets INTEGER, bytes INTEGER,
  dropped_kernel INTEGER, dropped_iface INTEGER, flows INTEGER, flows_evicted INTEGER,
  flows_timed_out INTEGER, flows_without_payload INTEGER, sessions INTEGER,
  decode_errors INTEGER, truncated_packets INTEGER, non_tcp_packets INTEGER, fragments INTEGER,
  reassembly_overflows INTEGER, peak_flows INTEGER, peak_buffered INTEGER,
  version TEXT NOT NULL);
CREATE TABLE sessions (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id),
  client_ip TEXT NOT NULL, client_port INTEGER NOT NULL, server_ip TEXT NOT NULL,
  server_port INTEGER NOT NULL, ts_start REAL NOT NULL, ts_end REAL NOT NULL,
  transport TEXT NOT NULL, starttls_offered INTEGER, starttls_sent INTEGER NOT NULL,
  starttls_reply INTEGER, tls_version TEXT, tls_version_code INTEGER, cipher_suite INTEGER,
  cipher_name TEXT, kx_group TEXT, kx_group_code INTEGER, sni TEXT, alpn TEXT,
  alpn_offered TEXT, client_hello INTEGER NOT NULL, client_max_version TEXT,
  hello_retry INTEGER, resumed INTEGER, tls_established INTEGER, tls_alert INTEGER,
  plaintext_transactions INTEGER NOT NULL, plaintext_rcpts INTEGER NOT NULL,
  cleartext_auth INTEGER NOT NULL, auth_mechanism TEXT, server_name TEXT, ehlo_name TEXT,
  ehlo_keywords TEXT, packets INTEGER NOT NULL, bytes_c2s INTEGER NOT NULL,
  bytes_s2c INTEGER NOT NULL, end_reason TEXT NOT NULL, anomalies TEXT, tls_alert_name TEXT,
  tls_alert_from TEXT, tls_outcome TEXT, kx_pq INTEGER, kx_dh_bits INTEGER,
  forward_secrecy INTEGER, aead INTEGER, weak_cipher INTEGER, sslv2_hello INTEGER,
  client_offered_tls13 INTEGER, client_suites INTEGER, client_offered_weak INTEGER,
  server_chose_weak INTEGER, server_declined_fs INTEGER, ja3 TEXT, ja3s TEXT, ja4 TEXT,
  cert_subject_cn TEXT, cert_sans TEXT, cert_issuer_cn TEXT, cert_issuer_org TEXT,
  cert_not_before INTEGER, cert_not_after INTEGER, cert_key_type TEXT, cert_key_bits INTEGER,
  cert_sig_alg TEXT, cert_self_signed INTEGER, cert_expired INTEGER, cert_name_match INTEGER,
  cert_sha256 TEXT);
CREATE INDEX sessions_ts ON sessions(ts_start);

-- migration 2: codes instead of names, lookup tables, certificates apart, the sessions view
-- The lookup tables: what each code means, written from the registry.
CREATE TABLE tls_versions (code INTEGER PRIMARY KEY, name TEXT NOT NULL,
  rank INTEGER NOT NULL, legacy INTEGER NOT NULL);
CREATE TABLE cipher_suites (code INTEGER PRIMARY KEY, name TEXT NOT NULL,
  forward_secrecy INTEGER NOT NULL, aead INTEGER NOT NULL, cbc INTEGER NOT NULL,
  weak INTEGER NOT NULL, tls13 INTEGER NOT NULL, signalling INTEGER NOT NULL);
CREATE TABLE kx_groups (code INTEGER PRIMARY KEY, name TEXT NOT NULL, pq INTEGER NOT NULL);
CREATE TABLE tls_alerts (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE transports (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE tls_outcomes (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE end_reasons (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE directions (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE anomaly_names (bit INTEGER PRIMARY KEY, name TEXT NOT NULL);

-- One row per distinct leaf certificate; what depends on the session (its
-- time, its greeting) stays in the session's row.
CREATE TABLE certificates (sha256 TEXT PRIMARY KEY, subject_cn TEXT, sans TEXT,
  issuer_cn TEXT, issuer_org TEXT, not_before INTEGER, not_after INTEGER, key_type TEXT,
  key_bits INTEGER, sig_alg TEXT, self_signed INTEGER) WITHOUT ROWID;

-- One row per session, codes for everything the registry names; NULL where
-- unknown. anomalies is a bit set (anomaly_names.bit), 0 for none.
CREATE TABLE session_rows (id INTEGER PRIMARY KEY, run_id INTEGER REFERENCES runs(id),
  client_ip TEXT NOT NULL, client_port INTEGER NOT NULL, server_ip TEXT NOT NULL,
  server_port INTEGER NOT NULL, ts_start REAL NOT NULL, ts_end REAL NOT NULL,
  transport INTEGER NOT NULL, starttls_offered INTEGER, starttls_sent INTEGER,
  starttls_reply INTEGER, tls_version INTEGER, cipher_suite INTEGER, kx_group INTEGER,
  sni TEXT, alpn TEXT, alpn_offered TEXT, client_hello INTEGER, client_max_version INTEGER,
  hello_retry INTEGER, resumed INTEGER, tls_established INTEGER, tls_alert INTEGER,
  tls_alert_from INTEGER, tls_outcome INTEGER, plaintext_transactions INTEGER,
  plaintext_rcpts INTEGER, cleartext_auth INTEGER, auth_mechanism TEXT, server_name TEXT,
  ehlo_name TEXT, ehlo_keywords TEXT, packets INTEGER NOT NULL, bytes_c2s INTEGER NOT NULL,
  bytes_s2c INTEGER NOT NULL, end_reason INTEGER NOT NULL,
  anomalies INTEGER NOT NULL DEFAULT 0, kx_dh_bits INTEGER, forward_secrecy INTEGER,
  aead INTEGER, weak_cipher INTEGER, sslv2_hello INTEGER, client_offered_tls13 INTEGER,
  client_suites INTEGER, client_offered_weak INTEGER, server_chose_weak INTEGER,
  server_declined_fs INTEGER, ja3 TEXT, ja3s TEXT, ja4 TEXT,
  cert_sha256 TEXT REFERENCES certificates(sha256), cert_expired INTEGER,
  cert_name_match INTEGER);

-- Open-ended named counters of a capture run (per encapsulation, fragments ...).
CREATE TABLE run_counters (run_id INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL,
  value INTEGER NOT NULL, PRIMARY KEY (run_id, name)) WITHOUT ROWID;

-- Where merged runs came from (smtptls merge; was created by merge itself).
CREATE TABLE IF NOT EXISTS run_origins (run_id INTEGER PRIMARY KEY REFERENCES runs(id),
  origin_db TEXT NOT NULL, origin_run_id INTEGER NOT NULL, merged REAL NOT NULL,
  sessions_copied INTEGER NOT NULL DEFAULT 0, sessions_duplicate INTEGER NOT NULL DEFAULT 0,
  sessions_replaced INTEGER NOT NULL DEFAULT 0);

-- The rows of version 1, converted: the names 0.1.0 wrote (frozen here, as
-- that release wrote them) become codes; certificates move to their table.
CREATE TEMP TABLE m2_names (kind TEXT, name TEXT, code INTEGER, PRIMARY KEY (kind, name));
INSERT INTO m2_names VALUES
  ('transport', 'unknown', 0), ('transport', 'plaintext', 1), ('transport', 'starttls', 2),
  ('transport', 'implicit_tls', 3),
  ('end', 'fin', 0), ('end', 'rst', 1), ('end', 'idle', 2), ('end', 'eof', 3),
  ('end', 'evicted', 4), ('end', 'reused', 5),
  ('outcome', 'established', 1), ('outcome', 'refused', 2), ('outcome', 'failed', 3),
  ('outcome', 'no_server_hello', 4), ('outcome', 'incomplete', 5),
  ('outcome', 'no_tls_after_220', 6),
  ('dir', 'client', 0), ('dir', 'server', 1),
  ('version', 'SSLv2', 2), ('version', 'SSLv3', 768), ('version', 'TLSv1.0', 769),
  ('version', 'TLSv1.1', 770), ('version', 'TLSv1.2', 771), ('version', 'TLSv1.3', 772),
  ('anomaly', 'midstream', 0), ('anomaly', 'gap', 1), ('anomaly', 'snaplen_truncated', 2),
  ('anomaly', 'no_tls_after_220', 3), ('anomaly', 'client_only', 4),
  ('anomaly', 'server_only', 5), ('anomaly', 'long_line', 6),
  ('anomaly', 'tls_malformed', 7), ('anomaly', 'handshake_too_big', 8),
  ('anomaly', 'pipeline_overflow', 9), ('anomaly', 'plaintext_reply_to_tls', 10),
  ('anomaly', 'reassembly_overflow', 11), ('anomaly', 'overlap_mismatch', 12),
  ('anomaly', 'plaintext_after_starttls', 13), ('anomaly', 'not_smtp', 14),
  ('anomaly', 'evicted', 15), ('anomaly', 'capability_mangled', 16),
  ('anomaly', 'cert_malformed', 17), ('anomaly', 'cert_names_capped', 18);

INSERT INTO certificates SELECT cert_sha256, cert_subject_cn, cert_sans, cert_issuer_cn,
  cert_issuer_org, cert_not_before, cert_not_after, cert_key_type, cert_key_bits,
  cert_sig_alg, cert_self_signed FROM sessions
  WHERE id IN (SELECT min(id) FROM sessions WHERE cert_sha256 IS NOT NULL GROUP BY cert_sha256);

-- A database written before tls_outcome existed gets it from the columns
-- it was made of (dissect/session.c): established; after a ServerHello an
-- alert other than close_notify is failed, none incomplete; an alert
-- instead of a ServerHello refused; a ClientHello alone no_server_hello;
-- STARTTLS accepted without a hello no_tls_after_220.
-- resumed without a ServerHello: 0.1.0 wrote 0, which nothing in the
-- capture proves; it becomes NULL, as this smtptls writes it.
INSERT INTO session_rows SELECT id, run_id, client_ip, client_port, server_ip, server_port,
  ts_start, ts_end,
  coalesce((SELECT code FROM m2_names WHERE kind = 'transport' AND name = transport), 0),
  starttls_offered, starttls_sent, starttls_reply, tls_version_code, cipher_suite,
  kx_group_code, sni, alpn, alpn_offered, client_hello,
  (SELECT code FROM m2_names WHERE kind = 'version' AND name = client_max_version),
  hello_retry, CASE WHEN tls_version_code IS NOT NULL THEN resumed END, tls_established,
  tls_alert,
  (SELECT code FROM m2_names WHERE kind = 'dir' AND name = tls_alert_from),
  CASE WHEN tls_outcome IS NOT NULL
    THEN (SELECT code FROM m2_names WHERE kind = 'outcome' AND name = tls_outcome)
    WHEN tls_established = 1 THEN 1
    WHEN tls_version_code IS NOT NULL THEN
      CASE WHEN tls_alert % 256 <> 0 THEN 3 ELSE 5 END
    WHEN tls_alert % 256 <> 0 THEN 2
    WHEN client_hello = 1 THEN 4
    WHEN ',' || anomalies || ',' GLOB '*,no_tls_after_220,*' THEN 6 END,
  plaintext_transactions, plaintext_rcpts, cleartext_auth, auth_mechanism, server_name,
  ehlo_name, ehlo_keywords, packets, bytes_c2s, bytes_s2c,
  coalesce((SELECT code FROM m2_names WHERE kind = 'end' AND name = end_reason), 3),
  (SELECT coalesce(sum(1 << code), 0) FROM m2_names
    WHERE kind = 'anomaly' AND ',' || anomalies || ',' GLOB '*,' || name || ',*'),
  kx_dh_bits, forward_secrecy, aead, weak_cipher, sslv2_hello, client_offered_tls13,
  client_suites, client_offered_weak, server_chose_weak, server_declined_fs, ja3, ja3s, ja4,
  cert_sha256, cert_expired, cert_name_match
  FROM sessions ORDER BY id;
DROP TABLE m2_names;
DROP TABLE sessions;
CREATE INDEX session_rows_ts ON session_rows(ts_start);

-- Every column of the sessions table of version 1, in its order, with its
-- meaning (README.md): names looked up, certificates joined.
CREATE VIEW sessions AS SELECT s.id AS id, s.run_id AS run_id, s.client_ip AS client_ip,
  s.client_port AS client_port, s.server_ip AS server_ip, s.server_port AS server_port,
  s.ts_start AS ts_start, s.ts_end AS ts_end, tr.name AS transport,
  s.starttls_offered AS starttls_offered, s.starttls_sent AS starttls_sent,
  s.starttls_reply AS starttls_reply, v.name AS tls_version, s.tls_version AS tls_version_code,
  s.cipher_suite AS cipher_suite, cs.name AS cipher_name, g.name AS kx_group,
  s.kx_group AS kx_group_code, s.sni AS sni, s.alpn AS alpn, s.alpn_offered AS alpn_offered,
  s.client_hello AS client_hello, cv.name AS client_max_version,
  s.hello_retry AS hello_retry, s.resumed AS resumed, s.tls_established AS tls_established,
  s.tls_alert AS tls_alert, s.plaintext_transactions AS plaintext_transactions,
  s.plaintext_rcpts AS plaintext_rcpts, s.cleartext_auth AS cleartext_auth,
  s.auth_mechanism AS auth_mechanism, s.server_name AS server_name, s.ehlo_name AS ehlo_name,
  s.ehlo_keywords AS ehlo_keywords, s.packets AS packets, s.bytes_c2s AS bytes_c2s,
  s.bytes_s2c AS bytes_s2c, er.name AS end_reason,
  CASE WHEN s.anomalies <> 0 THEN (SELECT group_concat(an.name, ',') FROM anomaly_names an
    WHERE (s.anomalies >> an.bit) & 1) END AS anomalies,
  al.name AS tls_alert_name, d.name AS tls_alert_from, o.name AS tls_outcome, g.pq AS kx_pq,
  s.kx_dh_bits AS kx_dh_bits, s.forward_secrecy AS forward_secrecy, s.aead AS aead,
  s.weak_cipher AS weak_cipher, s.sslv2_hello AS sslv2_hello,
  s.client_offered_tls13 AS client_offered_tls13, s.client_suites AS client_suites,
  s.client_offered_weak AS client_offered_weak, s.server_chose_weak AS server_chose_weak,
  s.server_declined_fs AS server_declined_fs, s.ja3 AS ja3, s.ja3s AS ja3s, s.ja4 AS ja4,
  c.subject_cn AS cert_subject_cn, c.sans AS cert_sans, c.issuer_cn AS cert_issuer_cn,
  c.issuer_org AS cert_issuer_org, c.not_before AS cert_not_before,
  c.not_after AS cert_not_after, c.key_type AS cert_key_type, c.key_bits AS cert_key_bits,
  c.sig_alg AS cert_sig_alg, c.self_signed AS cert_self_signed,
  s.cert_expired AS cert_expired, s.cert_name_match AS cert_name_match,
  s.cert_sha256 AS cert_sha256
  FROM session_rows s
  LEFT JOIN transports tr ON tr.code = s.transport
  LEFT JOIN tls_versions v ON v.code = s.tls_version
  LEFT JOIN cipher_suites cs ON cs.code = s.cipher_suite
  LEFT JOIN kx_groups g ON g.code = s.kx_group
  LEFT JOIN tls_versions cv ON cv.code = s.client_max_version
  LEFT JOIN end_reasons er ON er.code = s.end_reason
  LEFT JOIN tls_alerts al ON al.code = s.tls_alert % 256
  LEFT JOIN directions d ON d.code = s.tls_alert_from
  LEFT JOIN tls_outcomes o ON o.code = s.tls_outcome
  LEFT JOIN certificates c ON c.sha256 = s.cert_sha256;

-- The anomalies of each session, one row per bit set.
CREATE VIEW session_anomalies AS SELECT s.id AS session_id, an.bit AS bit, an.name AS name
  FROM session_rows s JOIN anomaly_names an ON (s.anomalies >> an.bit) & 1
  WHERE s.anomalies <> 0;

-- migration 3: what the DNS and HTTPS on the link showed about each session's recipient domain (issue 17)
-- NULL in every row written before, and wherever the link showed nothing
-- that decides them (README.md, "Domains and their policies").
CREATE TABLE dane_states (code INTEGER PRIMARY KEY, name TEXT NOT NULL);
ALTER TABLE session_rows ADD COLUMN mx_domain TEXT;
ALTER TABLE session_rows ADD COLUMN mx_host TEXT;
ALTER TABLE session_rows ADD COLUMN domain_mta_sts INTEGER;
ALTER TABLE session_rows ADD COLUMN domain_dane INTEGER;
ALTER TABLE session_rows ADD COLUMN domain_tlsrpt INTEGER;
ALTER TABLE session_rows ADD COLUMN sender_looked_up_mta_sts INTEGER;
ALTER TABLE session_rows ADD COLUMN sender_looked_up_tlsa INTEGER;
ALTER TABLE session_rows ADD COLUMN sender_fetched_policy INTEGER;
ALTER TABLE session_rows ADD COLUMN tlsa_match INTEGER;
ALTER TABLE session_rows ADD COLUMN policy_plaintext INTEGER;
ALTER TABLE session_rows ADD COLUMN tlsa_records TEXT;
CREATE INDEX session_rows_mx_domain ON session_rows(mx_domain) WHERE mx_domain IS NOT NULL;

-- The view of migration 2 with the new columns at its end (domain_dane by
-- name, its code beside it, as tls_version is).
DROP VIEW sessions;
CREATE VIEW sessions AS SELECT s.id AS id, s.run_id AS run_id, s.client_ip AS client_ip,
  s.client_port AS client_port, s.server_ip AS server_ip, s.server_port AS server_port,
  s.ts_start AS ts_start, s.ts_end AS ts_end, tr.name AS transport,
  s.starttls_offered AS starttls_offered, s.starttls_sent AS starttls_sent,
  s.starttls_reply AS starttls_reply, v.name AS tls_version, s.tls_version AS tls_version_code,
  s.cipher_suite AS cipher_suite, cs.name AS cipher_name, g.name AS kx_group,
  s.kx_group AS kx_group_code, s.sni AS sni, s.alpn AS alpn, s.alpn_offered AS alpn_offered,
  s.client_hello AS client_hello, cv.name AS client_max_version,
  s.hello_retry AS hello_retry, s.resumed AS resumed, s.tls_established AS tls_established,
  s.tls_alert AS tls_alert, s.plaintext_transactions AS plaintext_transactions,
  s.plaintext_rcpts AS plaintext_rcpts, s.cleartext_auth AS cleartext_auth,
  s.auth_mechanism AS auth_mechanism, s.server_name AS server_name, s.ehlo_name AS ehlo_name,
  s.ehlo_keywords AS ehlo_keywords, s.packets AS packets, s.bytes_c2s AS bytes_c2s,
  s.bytes_s2c AS bytes_s2c, er.name AS end_reason,
  CASE WHEN s.anomalies <> 0 THEN (SELECT group_concat(an.name, ',') FROM anomaly_names an
    WHERE (s.anomalies >> an.bit) & 1) END AS anomalies,
  al.name AS tls_alert_name, d.name AS tls_alert_from, o.name AS tls_outcome, g.pq AS kx_pq,
  s.kx_dh_bits AS kx_dh_bits, s.forward_secrecy AS forward_secrecy, s.aead AS aead,
  s.weak_cipher AS weak_cipher, s.sslv2_hello AS sslv2_hello,
  s.client_offered_tls13 AS client_offered_tls13, s.client_suites AS client_suites,
  s.client_offered_weak AS client_offered_weak, s.server_chose_weak AS server_chose_weak,
  s.server_declined_fs AS server_declined_fs, s.ja3 AS ja3, s.ja3s AS ja3s, s.ja4 AS ja4,
  c.subject_cn AS cert_subject_cn, c.sans AS cert_sans, c.issuer_cn AS cert_issuer_cn,
  c.issuer_org AS cert_issuer_org, c.not_before AS cert_not_before,
  c.not_after AS cert_not_after, c.key_type AS cert_key_type, c.key_bits AS cert_key_bits,
  c.sig_alg AS cert_sig_alg, c.self_signed AS cert_self_signed,
  s.cert_expired AS cert_expired, s.cert_name_match AS cert_name_match,
  s.cert_sha256 AS cert_sha256,
  s.mx_domain AS mx_domain, s.mx_host AS mx_host, s.domain_mta_sts AS domain_mta_sts,
  ds.name AS domain_dane, s.domain_dane AS domain_dane_code, s.domain_tlsrpt AS domain_tlsrpt,
  s.sender_looked_up_mta_sts AS sender_looked_up_mta_sts,
  s.sender_looked_up_tlsa AS sender_looked_up_tlsa,
  s.sender_fetched_policy AS sender_fetched_policy, s.tlsa_match AS tlsa_match,
  s.policy_plaintext AS policy_plaintext, s.tlsa_records AS tlsa_records
  FROM session_rows s
  LEFT JOIN transports tr ON tr.code = s.transport
  LEFT JOIN tls_versions v ON v.code = s.tls_version
  LEFT JOIN cipher_suites cs ON cs.code = s.cipher_suite
  LEFT JOIN kx_groups g ON g.code = s.kx_group
  LEFT JOIN tls_versions cv ON cv.code = s.client_max_version
  LEFT JOIN end_reasons er ON er.code = s.end_reason
  LEFT JOIN tls_alerts al ON al.code = s.tls_alert % 256
  LEFT JOIN directions d ON d.code = s.tls_alert_from
  LEFT JOIN tls_outcomes o ON o.code = s.tls_outcome
  LEFT JOIN certificates c ON c.sha256 = s.cert_sha256
  LEFT JOIN dane_states ds ON ds.code = s.domain_dane;

-- migration 4: run bookkeeping: how a run ended, who ran it, the file it read
-- status: 'running' while a capture writes it, 'complete' when it ended
-- cleanly, 'reopened' when SIGHUP moved the capture on to a new database
-- file (the run goes on there), 'unfinished' when it never ended (killed,
-- crashed): set when a writer next opens the database and finds its
-- process gone. owner: 'HOST BOOT_ID PID START' of the process writing
-- it, to tell. file_size and file_sha256: the capture file read (NULL
-- for an interface or standard input), so that capturing it again is
-- refused unless asked for.
ALTER TABLE runs ADD COLUMN status TEXT;
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN file_size INTEGER;
ALTER TABLE runs ADD COLUMN file_sha256 TEXT;
UPDATE runs SET status = CASE WHEN ended IS NULL THEN 'unfinished' ELSE 'complete' END;
CREATE INDEX runs_file ON runs(file_sha256);

-- migration 5: rollups kept by the writer, indexes for the report filters
-- The rollup tables rollup_NAME_hour, rollup_NAME_day and rollup_NAME_all
-- are made from their definitions in store/rollup.c (one GROUP BY over the
-- sessions each), which also folds the sessions already here into them
-- as this step runs. rollup_state: folded, the last session id folded in;
-- promoted, the time before which every session folded is in the day and
-- all-time tables too (the hour tables hold them all).
CREATE TABLE rollup_state (folded INTEGER NOT NULL, promoted INTEGER NOT NULL);
INSERT INTO rollup_state VALUES (0, 0);
-- No index for report --server: an index on server_ip took the writer
-- from 0.3 to 0.55 CPU seconds a day of the benchmark (its insertions land
-- all over the index, and grow with it); a report with --server reads
-- that server's rows once (reports/rsource.c), one pass over the table.

-- migration 6: the sensor that saw each session and run (issue 14)
-- sensor: the name given with capture --sensor (default: the host name),
-- so that a fleet's sessions say which link saw them; NULL in rows written
-- before. The view of migration 3 with sensor at its end.
ALTER TABLE session_rows ADD COLUMN sensor TEXT;
ALTER TABLE runs ADD COLUMN sensor TEXT;
DROP VIEW sessions;
CREATE VIEW sessions AS SELECT s.id AS id, s.run_id AS run_id, s.client_ip AS client_ip,
  s.client_port AS client_port, s.server_ip AS server_ip, s.server_port AS server_port,
  s.ts_start AS ts_start, s.ts_end AS ts_end, tr.name AS transport,
  s.starttls_offered AS starttls_offered, s.starttls_sent AS starttls_sent,
  s.starttls_reply AS starttls_reply, v.name AS tls_version, s.tls_version AS tls_version_code,
  s.cipher_suite AS cipher_suite, cs.name AS cipher_name, g.name AS kx_group,
  s.kx_group AS kx_group_code, s.sni AS sni, s.alpn AS alpn, s.alpn_offered AS alpn_offered,
  s.client_hello AS client_hello, cv.name AS client_max_version,
  s.hello_retry AS hello_retry, s.resumed AS resumed, s.tls_established AS tls_established,
  s.tls_alert AS tls_alert, s.plaintext_transactions AS plaintext_transactions,
  s.plaintext_rcpts AS plaintext_rcpts, s.cleartext_auth AS cleartext_auth,
  s.auth_mechanism AS auth_mechanism, s.server_name AS server_name, s.ehlo_name AS ehlo_name,
  s.ehlo_keywords AS ehlo_keywords, s.packets AS packets, s.bytes_c2s AS bytes_c2s,
  s.bytes_s2c AS bytes_s2c, er.name AS end_reason,
  CASE WHEN s.anomalies <> 0 THEN (SELECT group_concat(an.name, ',') FROM anomaly_names an
    WHERE (s.anomalies >> an.bit) & 1) END AS anomalies,
  al.name AS tls_alert_name, d.name AS tls_alert_from, o.name AS tls_outcome, g.pq AS kx_pq,
  s.kx_dh_bits AS kx_dh_bits, s.forward_secrecy AS forward_secrecy, s.aead AS aead,
  s.weak_cipher AS weak_cipher, s.sslv2_hello AS sslv2_hello,
  s.client_offered_tls13 AS client_offered_tls13, s.client_suites AS client_suites,
  s.client_offered_weak AS client_offered_weak, s.server_chose_weak AS server_chose_weak,
  s.server_declined_fs AS server_declined_fs, s.ja3 AS ja3, s.ja3s AS ja3s, s.ja4 AS ja4,
  c.subject_cn AS cert_subject_cn, c.sans AS cert_sans, c.issuer_cn AS cert_issuer_cn,
  c.issuer_org AS cert_issuer_org, c.not_before AS cert_not_before,
  c.not_after AS cert_not_after, c.key_type AS cert_key_type, c.key_bits AS cert_key_bits,
  c.sig_alg AS cert_sig_alg, c.self_signed AS cert_self_signed,
  s.cert_expired AS cert_expired, s.cert_name_match AS cert_name_match,
  s.cert_sha256 AS cert_sha256,
  s.mx_domain AS mx_domain, s.mx_host AS mx_host, s.domain_mta_sts AS domain_mta_sts,
  ds.name AS domain_dane, s.domain_dane AS domain_dane_code, s.domain_tlsrpt AS domain_tlsrpt,
  s.sender_looked_up_mta_sts AS sender_looked_up_mta_sts,
  s.sender_looked_up_tlsa AS sender_looked_up_tlsa,
  s.sender_fetched_policy AS sender_fetched_policy, s.tlsa_match AS tlsa_match,
  s.policy_plaintext AS policy_plaintext, s.tlsa_records AS tlsa_records,
  s.sensor AS sensor
  FROM session_rows s
  LEFT JOIN transports tr ON tr.code = s.transport
  LEFT JOIN tls_versions v ON v.code = s.tls_version
  LEFT JOIN cipher_suites cs ON cs.code = s.cipher_suite
  LEFT JOIN kx_groups g ON g.code = s.kx_group
  LEFT JOIN tls_versions cv ON cv.code = s.client_max_version
  LEFT JOIN end_reasons er ON er.code = s.end_reason
  LEFT JOIN tls_alerts al ON al.code = s.tls_alert % 256
  LEFT JOIN directions d ON d.code = s.tls_alert_from
  LEFT JOIN tls_outcomes o ON o.code = s.tls_outcome
  LEFT JOIN certificates c ON c.sha256 = s.cert_sha256
  LEFT JOIN dane_states ds ON ds.code = s.domain_dane;
