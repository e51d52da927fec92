/* Unit tests for dissect/tls.c.
 *
 * Real hello records cut from public captures (hex below, source noted on
 * each) and synthetic records built with a small writer. Each case is a
 * list of steps (client or server bytes, or a gap); the facts afterwards
 * are written as one line (only fields that differ from their initial
 * value) and compared with the expected line. Every case is replayed with
 * each step cut in two at every byte and with every step fed one byte at a
 * time; each replay must give the same line. Every piece is copied to a
 * buffer of exactly its size, so a read past len is an ASan error. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "../../common/record.h"
#include "../../common/registry.h"
#include "../../dissect/tls.h"
#include "bytes.h"
#include "check.h"
#include "split_feed.h"
#include "tls_vectors.h"

/* ---- real records ---------------------------------------------------------- */





/* nDPI tls_1.3_unidirectional_server.pcapng (142.250.184.68:443): ServerHello
 * legacy 0x0303, supported_versions 0x0304, 0x1301, x25519, pre_shared_key */
static const char sh_tls13_google[] =
	"16030300800200007c0303c57417b3a7267c19e1431447bf571918fc463e2a29"
	"92c63d2241054efb49195020691ce20136f8bc28a70a33e7ef38c01b821e4bab"
	"3b8775d4691789deb9ca7814130100003400290002000000330024001d0020cc"
	"4c7a4927e6c3b46de7f9db39ddab59adb5e876213215a1c41bf035b2acca4e00"
	"2b00020304";

/* nDPI tls_2_reasms.pcapng (Instagram, Facebook Fizz): ClientHello with SNI
 * i.instagram.com, ALPN h2,h2-fb,http/1.1, supported_versions 0x0304,0xfb1a */
static const char ch_fizz[] =
	"160301018f0100018b030300957252c8b6d358dac5d363528f6f211da9a4cb42"
	"f9c026109c75022ffeb3de20f92e17c1cd53451b0082ab31e034a3b29817d9ec"
	"ad2f210125a4f4523d8f39d900061301130213030100013c002b0005040304fb"
	"1a000a00060004001d0017003300260024001d0020102c6912c7176b4a73a747"
	"70723d8db11483cf4c2df00e5b362cb4b287bed916000d000a00080403050306"
	"03080400000014001200000f692e696e7374616772616d2e636f6d0010001400"
	"120268320568322d666208687474702f312e31002d0003020100002a00000029"
	"00b2008d0087840e8e12ab969812859523d81be57ee5b1bc682d041ba879c5a6"
	"717c688d562f00000000ee7f0b937201dcee5619f1256585ad54dd992bd1577d"
	"c66bdb829a21a6415234c2c3219f05991da94cc0786f60b12c9185129b299a88"
	"a3042bca4127e914e40e04b84e6d6d602ab97a015f18eeb11c620031739efb01"
	"9ad7c6df4b75335731189c8d6e5c4b3d4900212095eefcbd3ec1f911bf703dcc"
	"8c0715f295f1eeb460f15ae27a176bd44a43771b";

/* same stream: ServerHello, supported_versions 0xfb1a, 0x1301, pre_shared_key */
static const char sh_fizz[] =
	"16030300800200007c0303a1d1187076d67341126a680ac3be1fa2dbb6d538d2"
	"6ccf688884f365cb59b91820f92e17c1cd53451b0082ab31e034a3b29817d9ec"
	"ad2f210125a4f4523d8f39d91301000034002b0002fb1a00330024001d00207c"
	"833d1c5e42cf905a0b3838f0d39afa853a764a3b7bba29e1b3117c710d3d7000"
	"2900020000";

/* nDPI imaps.pcap, stream 1 (192.168.0.1:51529 -> 10.10.10.1:993):
 * ClientHello with GREASE: supported_versions 0xdada,0x0304,0x0303,0x0302,0x0301,
 * 27 suites (one GREASE), SNI imap.asia.secureserver.net */
static const char ch_grease[] =
	"1603010200010001fc0303c924d39803414f2f5f7f8a919063441abd44e82206"
	"d474ecadd823de6ec7b55120b621899492ea03df960b18092b47d9445e9a9616"
	"984c831f94191f10ab2872d900368a8a130113021303c02cc02bcca9c030c02f"
	"cca8c024c023c00ac009c028c027c014c013009d009c003d003c0035002fc008"
	"c012000a0100017d5a5a00000000001f001d00001a696d61702e617369612e73"
	"65637572657365727665722e6e657400170000ff01000100000a000c000a5a5a"
	"001d001700180019000b00020100000500050100000000000d00180016040308"
	"04040105030203080508050501080606010201001200000033002b00295a5a00"
	"0100001d002096ca556f2fc759a1d54ae8b4964e5ca7bf1207d92eedb1eab5a3"
	"a905fa3bf30c002d00020101002b000b0adada03040303030203014a4a000100"
	"001500c100000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000000000000000000000000000000000000000000000000000000000"
	"0000000000";

/* same stream: ServerHello TLS 1.2, 0xc030, a new session id */
static const char sh_grease[] =
	"160303005d0200005903031d1c7c7a22712e6b4e3e9f2c3914dca3ed18c82bac"
	"8c564a329878c2a55020bd200baa7ea59f78117ad08a4c0d91fe176304da61a0"
	"ea5372876eb44548aa243d09c03000001100000000ff01000100000b00040300"
	"0102";

/* tests/data/hrr.pcap (Postfix, 127.0.0.4:55778 -> :25), after STARTTLS:
 * first ClientHello, key_share x25519 only, SNI mx4.smtptls.test */
static const char ch_hrr1[] =
	"160301012d010001290303f0bce08d92ec4ac0d835f323dbc37f61a398548811"
	"c81a1846cd7ed2cd09c769202b14f9e4678a4abb45262e0a1507e484a641e12d"
	"e9529366c88ac6d1f1944400003e130213031301c02cc030009fcca9cca8ccaa"
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"
	"009c003d003c0035002f00ff010000a20000001500130000106d78342e736d74"
	"70746c732e74657374000b000403000102000a00060004001d00180023000000"
	"16000000170000000d002a0028040305030603080708080809080a080b080408"
	"050806040105010601030303010302040205020602002b000908030403030302"
	"0301002d00020101003300260024001d00206fe38d2fdc044ba714ab8fbc38e0"
	"018a09d736b4a0677a7e89a03eed5d95f72a";

/* same stream: HelloRetryRequest asking for secp384r1 (0x0018) */
static const char sh_hrr[] =
	"1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167a"
	"bb8c5e079e09e2c8a8339c202b14f9e4678a4abb45262e0a1507e484a641e12d"
	"e9529366c88ac6d1f1944400130200000c002b00020304003300020018";

/* same stream: second ClientHello (after the client's CCS) */
static const char ch_hrr2[] =
	"160303016e0100016a0303f0bce08d92ec4ac0d835f323dbc37f61a398548811"
	"c81a1846cd7ed2cd09c769202b14f9e4678a4abb45262e0a1507e484a641e12d"
	"e9529366c88ac6d1f1944400003e130213031301c02cc030009fcca9cca8ccaa"
	"c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d"
	"009c003d003c0035002f00ff010000e30000001500130000106d78342e736d74"
	"70746c732e74657374000b000403000102000a00060004001d00180023000000"
	"16000000170000000d002a0028040305030603080708080809080a080b080408"
	"050806040105010601030303010302040205020602002b000908030403030302"
	"0301002d00020101003300670065001800610420e865cc3823b983cae833cf72"
	"723290357974c0de883ec83ddab68ea1fbd1c305a48b49bf1e85b1bdebac3944"
	"515e66b6344363bb326ff01612ab508eb73d16c3326a825e838c5196ae6a29f0"
	"3ebabbf9a1945f8620e899b151c7b75d9cd938";

/* same stream: the real ServerHello, TLS 1.3, 0x1302, secp384r1 */
static const char sh_hrr_final[] =
	"16030300bb020000b703030caf685aa3f9f69a45e5e6282f4231e6ca37ff1ca8"
	"4b1af3f73ea7ac30fbbfed202b14f9e4678a4abb45262e0a1507e484a641e12d"
	"e9529366c88ac6d1f1944400130200006f002b00020304003300650018006104"
	"907e49595882e5ea6ae43bbac4efc817a5f29d3d14e31f26b88f5a4bc5205285"
	"a0e0364be5a62ceeeef92eedcb7a184c979483bffe52e3fa7d030aaf6625a450"
	"b163db3f9b086172feceb647bfb9ee31bf15e35219542cba77c58bf6374bf275";

/* tests/data/resumption.pcap, second session (127.0.0.1:59424 -> :25):
 * ServerHello TLS 1.3, 0x1302, x25519, pre_shared_key (resumed) */
static const char sh_psk13[] =
	"16030300800200007c03032c09652a04fba985f4bce59f13a34e463186fd16ee"
	"a1be5184d3694c7925000c20adb7ef7e39a4a434e69d8a7691e92d68a19038d2"
	"c134c3ce541106a4474592361302000034002b0002030400330024001d0020e9"
	"bf016d1bff2809a0d3a2df6e2ab3cac331f5ebea79a842661ee192e20da20900"
	"2900020000";

/* tests/data/resumption12.pcap, second session (127.0.0.1:50070 -> :25):
 * ClientHello 0x0303, 28 suites, 32-byte session id, SNI mx1.smtptls.test */
static const char ch_res12[] =
	"16030101a00100019c0303d19e4d1f8597aea62d3ba12836c141f127e911556a"
	"fd50c9e4395149e4adb83d204640b9ea58e76c9cd507f9ac2e7e40aefc68f218"
	"dff8769c0607f676438ce4040038c02cc030009fcca9cca8ccaac02bc02f009e"
	"c024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c"
	"0035002f00ff0100011b0000001500130000106d78312e736d7470746c732e74"
	"657374000b000403000102000a000c000a001d0017001e00190018002300b0bd"
	"c95a0d5b67c6ecfc6a344d526dbace7d8b10e9a67163648c183133b689522d66"
	"0ca841f6c6733b438a54a82567122a13fa98a7accab66824b1947953b0da28b9"
	"6dcf760ebd21fd2cf2c586fd6982033e87f0f65454b46594fa277a0fa576d31a"
	"758f8277cd02c7c1353b025635089a3ea7ceb4e490b6be9523fb3bf5287466be"
	"40777b09bc0ceb5b5959b97656d4e5ae18ef240b5bbe367a19dc777de989a802"
	"8d80becad0a9172894f8642da188890016000000170000000d002a0028040305"
	"030603080708080809080a080b08040805080604010501060103030301030204"
	"0205020602";

/* same stream: ServerHello echoing the session id, 0xc030; a CCS follows */
static const char sh_res12[] =
	"1603030055020000510303c5e6f14e3b64caf1014e737ed965cd4dabb5ee4e89"
	"c2cd3c444f574e47524401204640b9ea58e76c9cd507f9ac2e7e40aefc68f218"
	"dff8769c0607f676438ce404c030000009ff0100010000170000";

/* ---- synthetic records (the byte writer is bytes.h) --------------------------- */

static void b_record(struct buf *b, unsigned type)
{
	b_u8(b, type);
	b_u16(b, 0x0303);
	b_open(b, 2);
}

/* Record and handshake header, legacy version, random. */
static void hello_begin(struct buf *b, unsigned type, unsigned legacy, const uint8_t *random)
{
	b_record(b, 22);
	b_u8(b, type);
	b_open(b, 3);
	b_u16(b, legacy);
	if (random)
		b_mem(b, random, 32);
	else
		b_fill(b, type == 1 ? 0x11 : 0x22, 32);
}

/* A ClientHello up to its extensions block (left open). */
static void ch_begin(struct buf *b, unsigned legacy, unsigned sid_fill, size_t sid_len)
{
	hello_begin(b, 1, legacy, NULL);
	b_u8(b, (unsigned)sid_len);
	b_fill(b, sid_fill, sid_len);
	b_hex(b, "0006" "1301" "c02f" "0035" "0100");
	b_open(b, 2);
}

/* A ServerHello up to its extensions block (left open). */
static void sh_begin(struct buf *b, unsigned legacy, const uint8_t *random, unsigned sid_fill,
		     size_t sid_len, unsigned cipher)
{
	hello_begin(b, 2, legacy, random);
	b_u8(b, (unsigned)sid_len);
	b_fill(b, sid_fill, sid_len);
	b_u16(b, cipher);
	b_u8(b, 0);
	b_open(b, 2);
}

static void ext_begin(struct buf *b, unsigned type)
{
	b_u16(b, type);
	b_open(b, 2);
}

static void ext_sni(struct buf *b, const char *name)
{
	ext_begin(b, 0);
	b_open(b, 2);
	b_u8(b, 0);
	b_open(b, 2);
	b_str(b, name);
	b_close(b);
	b_close(b);
	b_close(b);
}

/* ALPN: names separated by '|' in one string. */
static void ext_alpn(struct buf *b, const char *names)
{
	ext_begin(b, 16);
	b_open(b, 2);
	while (*names) {
		size_t l = strcspn(names, "|");
		b_u8(b, (unsigned)l);
		b_mem(b, names, l);
		names += l + (names[l] == '|');
	}
	b_close(b);
	b_close(b);
}

static void ext_u16(struct buf *b, unsigned type, unsigned v)
{
	ext_begin(b, type);
	b_u16(b, v);
	b_close(b);
}

static void ext_empty(struct buf *b, unsigned type)
{
	ext_begin(b, type);
	b_close(b);
}

/* ServerHello key_share: group and a 32-byte key. */
static void ext_key_share(struct buf *b, unsigned group)
{
	ext_begin(b, 51);
	b_u16(b, group);
	b_u16(b, 32);
	b_fill(b, 0x33, 32);
	b_close(b);
}

static void handshake_msg(struct buf *b, unsigned type, size_t len, unsigned fill)
{
	b_u8(b, type);
	b_u8(b, (unsigned)(len >> 16));
	b_u16(b, (unsigned)(len & 0xffff));
	b_fill(b, fill, len);
}

static void record_raw(struct buf *b, unsigned type, size_t len, unsigned fill)
{
	b_u8(b, type);
	b_u16(b, 0x0303);
	b_u16(b, (unsigned)len);
	b_fill(b, fill, len);
}

static const uint8_t hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

/* ---- cases: steps and a runner ------------------------------------------------ */

#define MAX_STEPS 24

static struct tcase {
	const char *name;
	struct split_step st[MAX_STEPS];
	size_t n;
	uint8_t arena[262144];
	size_t used;
} tc;

static void tc_begin(const char *name)
{
	tc.name = name;
	tc.n = 0;
	tc.used = 0;
}

static void tc_bytes(int dir, const uint8_t *p, size_t n)
{
	struct split_step st = {dir, tc.arena + tc.used, n, 0};
	memcpy(tc.arena + tc.used, p, n);
	tc.used += n;
	tc.st[tc.n++] = st;
}

static void tc_hex(int dir, const char *hex)
{
	struct buf *b = calloc(1, sizeof *b);
	b_hex(b, hex);
	tc_bytes(dir, b->b, b->n);
	free(b);
}

static void tc_buf(int dir, struct buf *b)
{
	b_close_all(b);
	tc_bytes(dir, b->b, b->n);
	b->n = 0;
}

static void tc_gap(int dir, uint64_t n)
{
	struct split_step st = {dir, NULL, 0, n};
	tc.st[tc.n++] = st;
}

/* Set by the cases of the TLS depth facts (offers, fingerprints, key
 * exchange, certificate, alert sender): describe_facts() adds them. */
static int depth;

static void describe_depth(const struct tls_facts *f, char *out, size_t cap)
{
	const struct rec_cert *c = f->cert ? &f->cert->rec : NULL;
	if (f->client_hellos)
		check_describe(out, cap, "offer=%u/weak%d/strong%d/fs%d", f->client_suites, f->offered_weak,
		    f->offered_strong, f->offered_fs);
	if (f->ja3[0])
		check_describe(out, cap, "ja3=%s", f->ja3);
	if (f->ja4[0])
		check_describe(out, cap, "ja4=%s", f->ja4);
	if (f->ja3s[0])
		check_describe(out, cap, "ja3s=%s", f->ja3s);
	if (f->dh_bits != -1)
		check_describe(out, cap, "dh=%d", f->dh_bits);
	if (f->alert_dir != -1)
		check_describe(out, cap, "alert_from=%d", f->alert_dir);
	if (c && c->present)
		check_describe(out, cap, "cert=%s|%s|%s|%s|%s/%d|%s|self%d|%lld-%lld|%.8s", c->subject_cn, c->sans,
		    c->issuer_cn, c->issuer_org, c->key_type, c->key_bits, c->sig_alg, c->self_signed,
		    (long long)c->not_before, (long long)c->not_after, c->sha256);
}

static void describe_facts(const struct tls_facts *f, char *out, size_t cap)
{
	out[0] = '\0';
	if (f->client_hellos)
		check_describe(out, cap, "ch=%d", f->client_hellos);
	if (f->client_version != -1)
		check_describe(out, cap, "cv=0x%04x", f->client_version);
	if (f->client_version_max != -1)
		check_describe(out, cap, "cvmax=0x%04x", f->client_version_max);
	if (f->sslv2_hello)
		check_describe(out, cap, "sslv2=%d", f->sslv2_hello);
	if (f->suites_offered)
		check_describe(out, cap, "suites=%u", f->suites_offered);
	if (f->sni[0])
		check_describe(out, cap, "sni=%s", f->sni);
	if (f->alpn_offered[0])
		check_describe(out, cap, "alpn_offered=%s", f->alpn_offered);
	if (f->server_hello)
		check_describe(out, cap, "sh=%d", f->server_hello);
	if (f->version != -1)
		check_describe(out, cap, "v=0x%04x", f->version);
	if (f->cipher != -1)
		check_describe(out, cap, "cipher=0x%04x", f->cipher);
	if (f->alpn[0])
		check_describe(out, cap, "alpn=%s", f->alpn);
	if (f->hello_retry)
		check_describe(out, cap, "hrr=%d", f->hello_retry);
	if (f->resumed)
		check_describe(out, cap, "resumed=%d", f->resumed);
	if (f->key_share_group != -1)
		check_describe(out, cap, "group=%d", f->key_share_group);
	if (f->established)
		check_describe(out, cap, "established=%d", f->established);
	if (f->ch_seen && !f->client_hellos)
		check_describe(out, cap, "ch_cut=1");
	if (f->sh_seen && !f->server_hello && !f->hello_retry)
		check_describe(out, cap, "sh_cut=1");
	if (f->client_fin)
		check_describe(out, cap, "cfin=1");
	if (f->gap[0] || f->gap[1])
		check_describe(out, cap, "gap=%d/%d", f->gap[0], f->gap[1]);
	if (f->alert != -1)
		check_describe(out, cap, "alert=0x%04x", f->alert);
	check_describe(out, cap, "rec=%llu/%llu", (unsigned long long)f->records[0],
	    (unsigned long long)f->records[1]);
	for (unsigned i = 0; i < 32; i++)
		if (f->anomalies & (1u << i))
			check_describe(out, cap, "anom=%s", anomaly_name(1u << i) ? anomaly_name(1u << i) : "?");
	if (depth)
		describe_depth(f, out, cap);
}

struct run {
	struct tls *t;
	uint64_t pos[2];
	int64_t done[2]; /* stream offset where FEED_DONE came, -1 none */
	unsigned contract;
};

static void *run_start(void *arg)
{
	struct run *r = calloc(1, sizeof *r);
	(void)arg;
	if (!r)
		abort();
	r->t = tls_new();
	r->done[0] = r->done[1] = -1;
	return r;
}

static void run_data(void *run, int dir, const uint8_t *p, size_t n)
{
	struct run *r = run;
	if (r->done[dir] >= 0)
		return; /* the caller stops delivering */
	struct feed_result res = tls_feed(r->t, dir, p, n);
	if (res.consumed > n || res.status == FEED_HANDOFF ||
	    (res.status == FEED_MORE && res.consumed != n))
		r->contract++;
	r->pos[dir] += res.consumed;
	if (res.status == FEED_DONE)
		r->done[dir] = (int64_t)r->pos[dir];
}

static void run_gap(void *run, int dir, uint64_t n)
{
	struct run *r = run;
	tls_gap(r->t, dir, n);
	r->pos[dir] += n;
}

static unsigned run_finish(void *run, char *out, size_t cap)
{
	struct run *r = run;
	unsigned contract = r->contract;
	describe_facts(tls_facts(r->t), out, cap);
	if (r->done[0] >= 0 || r->done[1] >= 0)
		check_describe(out, cap, "done=C@%lld,S@%lld", (long long)r->done[0],
			       (long long)r->done[1]);
	tls_free(r->t);
	free(r);
	return contract;
}

static const struct split_ops tls_ops = {run_start, run_data, run_gap, run_finish};

/* The case whole, cut at every byte and byte by byte (split_feed.h). */
static void tc_check(const char *want)
{
	split_feed_check(&tls_ops, NULL, tc.st, tc.n, want, tc.name);
}

#define CCS "140303000101"
/* JA3S of synthetic ServerHellos: MD5 of "771,<suite>,<extensions>",
 * computed apart with Python's hashlib. */
#define JA3S_DHE "ba19ac8de15a2b9bdfa3c72948bc8489"     /* 771,158, */
#define JA3S_DHE51 "d5c9284656137d77a10acc694c71088d"   /* 771,51, */
#define JA3S_PSK "889a427e42aa70375f2e5050d7b54013"     /* 771,49205, */
#define JA3S_ANON "0fad7108bca58012cedd20fd6afb7a6e"    /* 771,49176, */
#define JA3S_C02F "174e7e4992a63f6d419626d97363adb8"    /* 771,49199, */
#define JA3S_RSA "5397c414a9ebeaff1bf18b70ca22eaa0"     /* 771,47, */
#define JA3S_MLKEM "f4febc55ea12b31ae17cfb7e614afda8"   /* 771,4865,43-51 */
#define JA3S_PSK13 "2253c82f03b621c5144709b393fde2c9"   /* 771,4866,43-51-41 */

/* ---- real hellos ---------------------------------------------------------------- */

static void test_real_hellos(void)
{
	tc_begin("TLS 1.0, RC4 (smtp-starttls stream 0)");
	tc_hex(0, ch_tls10);
	tc_hex(1, sh_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 sh=1 v=0x0301 cipher=0x0005 rec=1/1");

	tc_begin("TLS 1.2, SNI (smtp-starttls stream 1)");
	tc_hex(0, ch_tls12);
	tc_hex(1, sh_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=1/1");

	tc_begin("TLS 1.3 ServerHello alone (tls_1.3_unidirectional_server)");
	tc_hex(1, sh_tls13_google);
	tc_check("sh=1 v=0x0304 cipher=0x1301 resumed=1 group=29 rec=0/1");

	tc_begin("Fizz 0xfb1a (tls_2_reasms)");
	tc_hex(0, ch_fizz);
	tc_hex(1, sh_fizz);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=3 sni=i.instagram.com "
		 "alpn_offered=h2,h2-fb,http/1.1 sh=1 v=0xfb1a cipher=0x1301 resumed=1 group=29 "
		 "rec=1/1");

	tc_begin("GREASE in supported_versions (imaps stream 1)");
	tc_hex(0, ch_grease);
	tc_hex(1, sh_grease);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=27 sni=imap.asia.secureserver.net sh=1 "
		 "v=0x0303 cipher=0xc030 rec=1/1");

	/* In capture order: CH1; HRR and CCS; CCS and CH2; ServerHello. */
	tc_begin("HelloRetryRequest (Postfix hrr.pcap)");
	tc_hex(0, ch_hrr1);
	tc_hex(1, sh_hrr);
	tc_hex(1, CCS);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	tc_hex(1, sh_hrr_final);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test sh=1 v=0x0304 "
		 "cipher=0x1302 hrr=1 group=24 rec=3/3");

	tc_begin("TLS 1.3 resumption: pre_shared_key (Postfix resumption.pcap)");
	tc_hex(1, sh_psk13);
	tc_check("sh=1 v=0x0304 cipher=0x1302 resumed=1 group=29 rec=0/1");

	tc_begin("TLS 1.2 resumption: id echoed, CCS next (Postfix resumption12.pcap)");
	tc_hex(0, ch_res12);
	tc_hex(1, sh_res12);
	tc_hex(1, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=28 sni=mx1.smtptls.test sh=1 v=0x0303 "
		 "cipher=0xc030 resumed=1 rec=1/2");
}

/* ---- synthetic hellos --------------------------------------------------------- */

/* supported_versions in a ClientHello: a vector of up to 4 versions. */
static void ext_versions(struct buf *b, unsigned v1, unsigned v2, unsigned v3)
{
	ext_begin(b, 43);
	b_open(b, 1);
	b_u16(b, v1);
	if (v2)
		b_u16(b, v2);
	if (v3)
		b_u16(b, v3);
	b_close(b);
	b_close(b);
}

static void test_versions_alpn(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("supported_versions: GREASE ignored");
	ch_begin(b, 0x0303, 0, 0);
	ext_versions(b, 0x7a7a, 0x0303, 0x0302);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 rec=1/0");

	tc_begin("supported_versions: a TLS 1.3 draft");
	ch_begin(b, 0x0303, 0, 0);
	ext_versions(b, 0x0303, 0x7f1c, 0);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x7f1c suites=3 rec=1/0");

	tc_begin("legacy version only, no extensions block");
	hello_begin(b, 1, 0x0300, NULL);
	b_hex(b, "00" "0002" "000a" "0100");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0300 cvmax=0x0300 suites=1 rec=1/0");

	tc_begin("ALPN offered and selected (TLS 1.2)");
	ch_begin(b, 0x0303, 0, 0);
	ext_sni(b, "mx.example.org");
	ext_alpn(b, "h2|http/1.1");
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 0xff01);
	ext_alpn(b, "h2");
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=mx.example.org "
		 "alpn_offered=h2,http/1.1 sh=1 v=0x0303 cipher=0xc02f alpn=h2 rec=1/1");

	tc_begin("non-printable SNI and ALPN are escaped");
	ch_begin(b, 0x0303, 0, 0);
	ext_sni(b, "bad\nname\\x");
	ext_alpn(b, "a\x01|smtp");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=bad\\x0aname\\x5cx "
		 "alpn_offered=a\\x01,smtp rec=1/0");

	tc_begin("SNI: a non-host-name entry first");
	ch_begin(b, 0x0303, 0, 0);
	ext_begin(b, 0);
	b_open(b, 2);
	b_hex(b, "01" "0003" "787878");
	b_u8(b, 0);
	b_open(b, 2);
	b_str(b, "mx.example.org");
	b_close_all(b);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=mx.example.org rec=1/0");
	free(b);
}

/* An ALPN list longer than REC_ALPN_MAX: cut, NUL-terminated. */
static void test_alpn_cap(void)
{
	struct buf *b = calloc(1, sizeof *b);
	char names[20 * 9 + 1] = "";
	for (int i = 0; i < 20; i++)
		strcat(names, i ? "|http/1.1" : "http/1.1");
	ch_begin(b, 0x0303, 0, 0);
	ext_alpn(b, names);
	ext_sni(b, "mx.example.org"); /* after the ALPN: still read */
	b_close_all(b);
	struct tls *t = tls_new();
	tls_feed(t, 0, b->b, b->n);
	const struct tls_facts *f = tls_facts(t);
	CHECK(strlen(f->alpn_offered) < REC_ALPN_MAX);
	CHECK(strlen(f->alpn_offered) >= REC_ALPN_MAX - 9);
	CHECK(strncmp(f->alpn_offered, "http/1.1,http/1.1,http/1.1,", 27) == 0);
	CHECK_STR(f->sni, "mx.example.org");
	CHECK_INT(f->anomalies, 0);
	tls_free(t);
	free(b);
}

/* ClientHello of the synthetic HRR cases. */
static void hrr_client_hello(struct buf *b)
{
	ch_begin(b, 0x0303, 0x44, 32);
	ext_sni(b, "mx.example.org");
	ext_versions(b, 0x0304, 0x0303, 0);
	tc_buf(0, b);
}

static void test_hrr_synthetic(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("HelloRetryRequest, then the real ServerHello");
	hrr_client_hello(b);
	sh_begin(b, 0x0303, hrr_random, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_u16(b, 51, 0x0017); /* HRR key_share: the selected group only */
	tc_buf(1, b);
	hrr_client_hello(b);
	sh_begin(b, 0x0303, NULL, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_key_share(b, 0x0017);
	tc_buf(1, b);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=3 sni=mx.example.org sh=1 v=0x0304 "
		 "cipher=0x1301 hrr=1 group=23 rec=2/2");

	tc_begin("HelloRetryRequest, no final ServerHello");
	hrr_client_hello(b);
	sh_begin(b, 0x0303, hrr_random, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_u16(b, 51, 0x001d);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=3 sni=mx.example.org hrr=1 group=29 "
		 "rec=1/1");
	free(b);
}

/* Server records of a TLS 1.2 full handshake after the ServerHello. */
static void server_full_flight(struct buf *b)
{
	b_record(b, 22);
	handshake_msg(b, 11, 3, 0x00);   /* Certificate: an empty list */
	handshake_msg(b, 12, 100, 0x31); /* ServerKeyExchange: not a named curve */
	handshake_msg(b, 14, 0, 0);      /* ServerHelloDone */
	tc_buf(1, b);
}

static void test_resumption_synthetic(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("TLS 1.2: session id echoed");
	ch_begin(b, 0x0303, 0x55, 32);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x55, 32, 0xc02f);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f resumed=1 "
		 "rec=1/1");

	tc_begin("TLS 1.2: new session id, full handshake, CCS later");
	ch_begin(b, 0x0303, 0x55, 32);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x66, 32, 0xc02f);
	tc_buf(1, b);
	server_full_flight(b);
	tc_hex(1, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f rec=1/3");

	tc_begin("TLS 1.2: session id a prefix of the client's is no echo");
	ch_begin(b, 0x0303, 0x55, 32);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x55, 16, 0xc02f);
	tc_buf(1, b);
	server_full_flight(b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f rec=1/2");

	tc_begin("TLS 1.2: empty session ids, full handshake");
	ch_begin(b, 0x0303, 0, 0);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	tc_buf(1, b);
	server_full_flight(b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f rec=1/2");

	tc_begin("TLS 1.2 abbreviated handshake: CCS straight after the ServerHello");
	ch_begin(b, 0x0303, 0, 0);
	ext_begin(b, 35); /* session_ticket */
	b_fill(b, 0x77, 64);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 35);
	tc_buf(1, b);
	tc_hex(1, CCS);
	record_raw(b, 22, 40, 0x99); /* encrypted Finished */
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f resumed=1 "
		 "rec=1/3");

	/* RFC 5077 3.1: a resumed session may get a new ticket before the CCS. */
	tc_begin("TLS 1.2 abbreviated handshake: NewSessionTicket, then CCS");
	ch_begin(b, 0x0303, 0, 0);
	ext_begin(b, 35);
	b_fill(b, 0x77, 64);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 35);
	tc_buf(1, b);
	b_record(b, 22);
	handshake_msg(b, 4, 80, 0x78);
	tc_buf(1, b);
	tc_hex(1, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sh=1 v=0x0303 cipher=0xc02f resumed=1 "
		 "rec=1/3");

	/* TLS 1.3 echoes legacy_session_id always: only a PSK means resumption. */
	tc_begin("TLS 1.3: session id echo without pre_shared_key");
	ch_begin(b, 0x0303, 0x55, 32);
	ext_versions(b, 0x0304, 0, 0);
	tc_buf(0, b);
	sh_begin(b, 0x0303, NULL, 0x55, 32, 0x1302);
	ext_u16(b, 43, 0x0304);
	ext_key_share(b, 0x001d);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=3 sh=1 v=0x0304 cipher=0x1302 group=29 "
		 "rec=1/1");
	free(b);
}

/* The handshake message of a real record, without the record header. */
static size_t real_message(uint8_t *out, const char *hex)
{
	size_t n = hex_decode(out, hex);
	memmove(out, out + 5, n - 5);
	return n - 5;
}

/* One handshake message in two records, cut at `first`. */
static void two_records(int dir, const char *hex, size_t first)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t msg[1024];
	size_t n = real_message(msg, hex);
	b_record(b, 22);
	b_mem(b, msg, first);
	b_close(b);
	b_record(b, 22);
	b_mem(b, msg + first, n - first);
	tc_buf(dir, b);
	free(b);
}

static void test_record_layer(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t msg[1024];

	tc_begin("ClientHello in two records");
	two_records(0, ch_tls12, 40);
	tc_hex(1, sh_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=2/1");

	tc_begin("handshake header split across records");
	two_records(0, ch_tls12, 2);
	two_records(1, sh_tls12, 3);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=2/2");

	tc_begin("record header split across pieces");
	tc_hex(0, "160301");
	tc_hex(0, ch_tls10 + 6);
	tc_hex(1, "16");
	tc_hex(1, "0301");
	tc_hex(1, sh_tls10 + 6);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 sh=1 v=0x0301 cipher=0x0005 rec=1/1");

	tc_begin("ServerHello, Certificate, ServerHelloDone in one record");
	b_record(b, 22);
	b_mem(b, msg, real_message(msg, sh_tls12));
	handshake_msg(b, 11, 3, 0x00);
	handshake_msg(b, 14, 0, 0);
	tc_buf(1, b);
	tc_hex(1, CCS);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2");

	tc_begin("heartbeat and empty records are records");
	record_raw(b, 24, 3, 0x01);
	record_raw(b, 22, 0, 0);
	tc_buf(0, b);
	tc_hex(0, ch_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 rec=3/0");
	free(b);
}

static void test_sslv2(void)
{
	struct buf *b = calloc(1, sizeof *b);
	/* SSLv2 CLIENT-HELLO: type 1, version, 21 bytes of cipher specs (7),
	 * no session id, 16 bytes of challenge. */
	static const char v2_client_hello[] =
		"802e" "01" "0301" "0015" "0000" "0010"
		"010080" "030080" "070080" "000005" "000004" "00000a" "000035"
		"00112233445566778899aabbccddeeff";
	/* SSLv2 SERVER-HELLO: type 4, no session-id hit, X.509, version 2,
	 * certificate 0 bytes, one cipher spec, 16 bytes of connection id. */
	static const char v2_server_hello[] =
		"801e" "04" "00" "01" "0002" "0000" "0003" "0010" "010080"
		"0f0e0d0c0b0a09080706050403020100";

	tc_begin("SSLv2-format ClientHello, TLS 1.0 ServerHello");
	tc_hex(0, v2_client_hello);
	tc_hex(1, sh_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 sslv2=1 suites=7 sh=1 v=0x0301 cipher=0x0005 "
		 "rec=1/1");

	tc_begin("SSLv2 CLIENT-HELLO and SERVER-HELLO");
	b_hex(b, v2_client_hello);
	b->b[3] = 0x00, b->b[4] = 0x02; /* version 2 */
	tc_buf(0, b);
	tc_hex(1, v2_server_hello);
	tc_check("ch=1 cv=0x0002 cvmax=0x0002 sslv2=1 suites=7 sh=1 v=0x0002 rec=1/1");

	tc_begin("SSLv2 SERVER-HELLO from the client");
	tc_hex(0, v2_server_hello);
	tc_check("rec=0/0 anom=tls_malformed done=C@5,S@-1");

	tc_begin("SSLv2 record shorter than its header");
	tc_hex(0, "8002010301");
	tc_check("rec=0/0 anom=tls_malformed done=C@5,S@-1");

	tc_begin("SSLv2 format only for the first record");
	tc_hex(0, ch_tls10);
	tc_hex(0, v2_client_hello);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 rec=1/0 anom=tls_malformed "
		 "done=C@117,S@-1");
	free(b);
}

static void test_alerts(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("first clear alert");
	tc_hex(0, ch_tls12);
	tc_hex(1, "15030300020228"); /* fatal handshake_failure */
	tc_hex(0, "15030300020100"); /* warning close_notify */
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de alert=0x0228 "
		 "rec=2/1");

	tc_begin("an alert of one byte is none; the next counts");
	tc_hex(1, "150303000102");
	tc_hex(1, "1503030002022f");
	tc_check("alert=0x022f rec=0/2");

	tc_begin("encrypted alert after CCS is not read");
	tc_hex(0, ch_tls12);
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	tc_hex(1, CCS);
	record_raw(b, 21, 26, 0xa5);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f rec=1/4");
	free(b);
}

/* A TLS 1.3 ServerHello: suite, key share x25519, pre_shared_key if psk. */
static void sh13_build(struct buf *b, unsigned cipher, int psk)
{
	sh_begin(b, 0x0303, NULL, 0x44, 32, cipher);
	ext_u16(b, 43, 0x0304);
	ext_key_share(b, 0x001d);
	if (psk)
		ext_u16(b, 41, 0);
	b_close_all(b);
}

static void sh13(struct buf *b, unsigned cipher, int psk)
{
	sh13_build(b, cipher, psk);
	tc_buf(1, b);
}

/* The server's TLS 1.3 flight after its ServerHello, as Postfix sends it
 * (tests/data/starttls-tls13.pcap: CCS, EncryptedExtensions, Certificate,
 * CertificateVerify, Finished of 0x1302), first_len for the first. */
static void server_flight13(struct buf *b, size_t first_len)
{
	b_hex(b, CCS);
	record_raw(b, 23, first_len, 0x95);
	record_raw(b, 23, 887, 0x96);
	record_raw(b, 23, 281, 0x97);
	record_raw(b, 23, 69, 0x98);
	tc_buf(1, b);
}

static void test_established(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("TLS 1.2: both Finished messages prove the handshake");
	tc_hex(0, ch_tls12);
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	record_raw(b, 22, 70, 0x10); /* ClientKeyExchange */
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x99); /* encrypted Finished */
	tc_buf(0, b);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x98);
	record_raw(b, 23, 30, 0x52); /* not looked at: established */
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f established=1 cfin=1 rec=4/4 done=C@-1,S@237");

	/* The client's Finished is sent before the server accepts it. */
	tc_begin("TLS 1.3 (Postfix hrr.pcap): the client's Finished alone");
	tc_hex(0, ch_hrr1);
	tc_hex(1, sh_hrr);
	tc_hex(1, CCS);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	tc_hex(1, sh_hrr_final);
	record_raw(b, 23, 23, 0x95); /* EncryptedExtensions */
	tc_buf(1, b);
	record_raw(b, 23, 69, 0xb8); /* client Finished */
	tc_buf(0, b);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test sh=1 v=0x0304 "
		 "cipher=0x1302 hrr=1 group=24 cfin=1 rec=4/4");

	tc_begin("TLS 1.3 (Postfix hrr.pcap): the client's Finished, then its data");
	tc_hex(0, ch_hrr1);
	tc_hex(1, sh_hrr);
	tc_hex(1, CCS);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	tc_hex(1, sh_hrr_final);
	record_raw(b, 23, 23, 0x95);
	tc_buf(1, b);
	record_raw(b, 23, 69, 0xb8);
	record_raw(b, 23, 45, 0xb9); /* EHLO */
	record_raw(b, 23, 50, 0xba); /* not looked at */
	tc_buf(0, b);
	tc_check("ch=2 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test sh=1 v=0x0304 "
		 "cipher=0x1302 hrr=1 group=24 established=1 cfin=1 rec=5/4 done=C@807,S@-1");

	tc_begin("TLS 1.3: a client that rejects the server sends an alert, encrypted");
	tc_hex(0, ch_tls12);
	sh13(b, 0x1302, 0);
	server_flight13(b, 23);
	b_hex(b, CCS);
	record_raw(b, 23, 19, 0xb1);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0304 "
		 "cipher=0x1302 group=29 rec=3/6");

	/* The hellos not captured (picked up mid-stream): a server record that
	 * began after the client's application data answers the client's
	 * Finished or data. Neither direction is done: a hello behind the
	 * records (two taps, one behind) would still be read. */
	tc_begin("application data both ways without the hellos");
	record_raw(b, 23, 30, 0xc1);
	tc_buf(0, b);
	record_raw(b, 23, 30, 0x51);
	tc_buf(1, b);
	tc_check("established=1 rec=1/1");

	tc_begin("the server's data first, the client's after: not yet");
	record_raw(b, 23, 30, 0x51);
	tc_buf(1, b);
	record_raw(b, 23, 30, 0xc1);
	tc_buf(0, b);
	tc_check("rec=1/1");

	/* 0-RTT data is sent before the ServerHello: no proof of anything. */
	tc_begin("TLS 1.3: early data, then the server's flight");
	tc_hex(0, ch_tls12);
	record_raw(b, 23, 100, 0xc1);
	tc_buf(0, b);
	sh13(b, 0x1301, 1);
	b_hex(b, CCS);
	record_raw(b, 23, 40, 0x95);
	record_raw(b, 23, 53, 0x98);
	tc_buf(1, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0304 "
		 "cipher=0x1301 resumed=1 group=29 rec=2/4");
	free(b);
}

/* One side of the connection only (asymmetric routing): what its records
 * prove (dissect/tlsproof.h). */
static void test_one_side(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("client only, TLS 1.3: CCS, Finished, data");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 69, 0xb8);
	record_raw(b, 23, 45, 0xb9);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test established=1 cfin=1 "
		 "rec=4/0 done=C@436,S@-1");

	tc_begin("client only, TLS 1.3: an alert instead of the Finished");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 19, 0xb8);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test rec=3/0");

	/* Certificate and CertificateVerify are no Finished by their length. */
	tc_begin("client only, TLS 1.3: its certificate, Finished, data");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 1200, 0xb5);
	record_raw(b, 23, 281, 0xb6);
	record_raw(b, 23, 53, 0xb7);
	tc_buf(0, b);
	record_raw(b, 23, 45, 0xb9);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test established=1 cfin=1 "
		 "rec=6/0 done=C@1911,S@-1");

	tc_begin("client only, TLS 1.3: its certificate and Finished, no data");
	tc_hex(0, ch_hrr1);
	b_hex(b, CCS);
	record_raw(b, 23, 1200, 0xb5);
	record_raw(b, 23, 281, 0xb6);
	record_raw(b, 23, 53, 0xb7);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test cfin=1 rec=5/0");

	/* After a HelloRetryRequest (not seen) the second ClientHello follows
	 * the client's CCS: it is no encrypted Finished. */
	tc_begin("client only, HelloRetryRequest: CH, CCS, CH, Finished");
	tc_hex(0, ch_hrr1);
	tc_hex(0, CCS);
	tc_hex(0, ch_hrr2);
	record_raw(b, 23, 69, 0xb8);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0304 suites=31 sni=mx4.smtptls.test cfin=1 rec=4/0");

	tc_begin("client only, TLS 1.2: Finished after the CCS, then data");
	tc_hex(0, ch_tls12);
	record_raw(b, 22, 70, 0x10);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x99);
	record_raw(b, 23, 30, 0xc1);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de established=1 "
		 "cfin=1 rec=5/0 done=C@343,S@-1");

	tc_begin("server only, TLS 1.2: Finished after the CCS, then data");
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x98);
	record_raw(b, 23, 30, 0x51);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f established=1 rec=0/5 done=C@-1,S@272");

	tc_begin("server only, TLS 1.2: Finished, no data");
	tc_hex(1, sh_tls12);
	server_full_flight(b);
	b_hex(b, CCS);
	record_raw(b, 22, 40, 0x98);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/4");

	tc_begin("server only, TLS 1.3: flight, then a NewSessionTicket");
	sh13(b, 0x1302, 0);
	server_flight13(b, 23);
	record_raw(b, 23, 250, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 established=1 rec=0/7 done=C@-1,S@1668");

	tc_begin("server only, TLS 1.3: flight, then an alert");
	sh13(b, 0x1302, 0);
	server_flight13(b, 23);
	record_raw(b, 23, 19, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 rec=0/7");

	/* EncryptedExtensions of a Finished's length come first: no Finished. */
	tc_begin("server only, TLS 1.3: a first record of a Finished's length");
	sh13(b, 0x1302, 0);
	b_hex(b, CCS);
	record_raw(b, 23, 69, 0x95);
	record_raw(b, 23, 887, 0x96);
	record_raw(b, 23, 281, 0x97);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 rec=0/5");

	tc_begin("server only, TLS 1.3 resumed: EncryptedExtensions, Finished, ticket");
	sh13(b, 0x1301, 1);
	b_hex(b, CCS);
	record_raw(b, 23, 40, 0x95);
	record_raw(b, 23, 53, 0x98);
	record_raw(b, 23, 200, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1301 resumed=1 group=29 established=1 rec=0/5 "
		 "done=C@-1,S@447");

	tc_begin("server only, TLS 1.3, records lost after the ServerHello");
	sh13(b, 0x1302, 0);
	b_hex(b, CCS);
	record_raw(b, 23, 23, 0x95);
	tc_buf(1, b);
	tc_gap(1, 2000);
	record_raw(b, 23, 69, 0x98);
	record_raw(b, 23, 250, 0x99);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 group=29 gap=0/1 rec=0/5");
	free(b);
}

/* Segments cut by the snapshot length: a record's header shows its type
 * and length, the rest is a gap; the next segment starts a record. */
static void test_cut_records(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t ch[600], sh[600];
	size_t chn, shn;

	tc_begin("snaplen: TLS 1.3, the client's records");
	chn = hex_decode(ch, ch_hrr1);
	tc_bytes(0, ch, 30);
	tc_gap(0, chn - 30);
	b_hex(b, CCS);
	record_raw(b, 23, 69, 0xb8);
	tc_bytes(0, b->b, 30);
	tc_gap(0, b->n - 30);
	b->n = 0;
	record_raw(b, 23, 45, 0xb9);
	tc_bytes(0, b->b, 30);
	tc_gap(0, b->n - 30);
	b->n = 0;
	tc_check("established=1 ch_cut=1 cfin=1 gap=1/0 rec=4/0");

	tc_begin("snaplen: a ServerHello cut, then the flight lost");
	sh13_build(b, 0x1302, 0);
	shn = b->n;
	memcpy(sh, b->b, shn);
	b->n = 0;
	tc_bytes(1, sh, 30);
	tc_gap(1, shn - 30 + 1300);
	record_raw(b, 23, 250, 0x99);
	tc_bytes(1, b->b, 30);
	tc_gap(1, b->n - 30);
	b->n = 0;
	tc_check("sh_cut=1 gap=0/1 rec=0/2");

	tc_begin("snaplen: an alert cut is no alert");
	tc_hex(1, "150303");
	tc_gap(1, 4);
	tc_check("gap=0/1 rec=0/0");

	tc_begin("snaplen: an alert within the snapshot");
	tc_hex(1, "15030300020228");
	tc_gap(1, 0);
	tc_check("alert=0x0228 rec=0/1");
	free(b);
}

/* TLS 1.3 drafts up to 21 had no session id or compression method in the
 * ServerHello; draft 22 brought them back with supported_versions; key_share
 * was extension 40 until draft 23. */
static void test_drafts(void)
{
	struct buf *b = calloc(1, sizeof *b);

	tc_begin("draft 18 ServerHello: version, random, suite, extensions");
	hello_begin(b, 2, 0x7f12, NULL);
	b_u16(b, 0x1301);
	b_open(b, 2);
	ext_begin(b, 40);
	b_u16(b, 0x001d);
	b_u16(b, 32);
	b_fill(b, 0x33, 32);
	b_close(b);
	tc_buf(1, b);
	tc_check("sh=1 v=0x7f12 cipher=0x1301 group=29 rec=0/1");

	tc_begin("draft 18 layout with a byte too many: not parsed");
	hello_begin(b, 2, 0x7f12, NULL);
	b_u16(b, 0x1301);
	b_open(b, 2);
	ext_u16(b, 40, 0x001d);
	b_close(b);
	b_u8(b, 0);
	tc_buf(1, b);
	tc_check("sh_cut=1 rec=0/1 anom=tls_malformed");

	tc_begin("draft 22: supported_versions 0x7f16, key_share as extension 40");
	sh_begin(b, 0x0303, NULL, 0x44, 32, 0x1302);
	ext_u16(b, 43, 0x7f16);
	ext_u16(b, 40, 0x0017);
	tc_buf(1, b);
	tc_check("sh=1 v=0x7f16 cipher=0x1302 group=23 rec=0/1");

	tc_begin("draft 23 (Fizz 0xfb17): key_share as extension 51");
	sh_begin(b, 0x0303, NULL, 0x44, 32, 0x1301);
	ext_u16(b, 43, 0xfb17);
	ext_key_share(b, 0x001d);
	tc_buf(1, b);
	tc_check("sh=1 v=0xfb17 cipher=0x1301 group=29 rec=0/1");
	free(b);
}

static void test_malformed(void)
{
	struct buf *b = calloc(1, sizeof *b);
	static const struct {
		const char *name, *hex, *want;
	} bad_records[] = {
		{"record type 0x19", "19030300020000", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record type 0x13", "13030300020000", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record version 2.0", "16020000020100", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record version 3.5", "16030500020100", "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
		{"record length 18433", "1703034801000000",
		 "rec=0/0 anom=tls_malformed done=C@5,S@-1"},
	};
	for (size_t i = 0; i < sizeof bad_records / sizeof bad_records[0]; i++) {
		tc_begin(bad_records[i].name);
		tc_hex(0, bad_records[i].hex);
		tc_check(bad_records[i].want);
	}

	tc_begin("SMTP text after a record");
	b_hex(b, "15030300020100");
	b_str(b, "220 mx ESMTP\r\n");
	tc_buf(0, b);
	tc_check("alert=0x0100 rec=1/0 anom=tls_malformed done=C@12,S@-1");

	tc_begin("record length 18432 is allowed");
	record_raw(b, 23, 16384 + 2048, 0x5a);
	tc_buf(0, b);
	tc_check("rec=1/0");

	tc_begin("ClientHello with a 33-byte session id");
	ch_begin(b, 0x0303, 0x55, 33);
	tc_buf(0, b);
	tc_check("ch_cut=1 rec=1/0 anom=tls_malformed");

	tc_begin("ServerHello with a 33-byte session id");
	sh_begin(b, 0x0303, NULL, 0x55, 33, 0xc02f);
	tc_buf(1, b);
	tc_check("sh_cut=1 rec=0/1 anom=tls_malformed");

	tc_begin("extensions block longer than the hello");
	hello_begin(b, 1, 0x0303, NULL);
	b_hex(b, "00" "0006" "1301c02f0035" "0100" "00c8");
	b_fill(b, 0, 10);
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 rec=1/0 anom=tls_malformed");

	tc_begin("an extension longer than the block");
	ch_begin(b, 0x0303, 0, 0);
	ext_sni(b, "mx.example.org");
	b_hex(b, "0010" "012c" "0002026832");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 sni=mx.example.org rec=1/0 "
		 "anom=tls_malformed");

	tc_begin("SNI list longer than its extension");
	ch_begin(b, 0x0303, 0, 0);
	b_hex(b, "0000" "0007" "0032" "00" "0010" "6d78");
	tc_buf(0, b);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=3 rec=1/0 anom=tls_malformed");

	tc_begin("ClientHello cut inside its fixed fields");
	b_record(b, 22);
	b_hex(b, "0100000a" "0303");
	b_fill(b, 0x11, 8);
	tc_buf(0, b);
	tc_check("ch_cut=1 rec=1/0 anom=tls_malformed");

	tc_begin("empty ClientHello and ServerHello");
	tc_hex(0, "160303000401000000");
	tc_hex(1, "160303000402000000");
	tc_check("ch_cut=1 sh_cut=1 rec=1/1 anom=tls_malformed");

	tc_begin("ServerHello with an empty supported_versions");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	ext_empty(b, 43);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/1 anom=tls_malformed");

	tc_begin("ServerHello with a one-byte key_share");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_begin(b, 51);
	b_u8(b, 0x1d);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1301 rec=0/1 anom=tls_malformed");

	tc_begin("ClientHello claiming 16 MiB");
	b_record(b, 22);
	b_hex(b, "01ffffff");
	b_close(b);
	record_raw(b, 22, 16384, 0x41);
	record_raw(b, 22, 16384, 0x42);
	tc_buf(0, b);
	tc_hex(1, sh_tls12);
	tc_check("sh=1 v=0x0303 cipher=0xc02f ch_cut=1 rec=3/1 anom=handshake_too_big");

	tc_begin("ClientHello of TLS_HANDSHAKE_MAX + 1");
	tc_hex(0, "160303000401010001");
	tc_check("ch_cut=1 rec=1/0 anom=handshake_too_big");

	tc_begin("ClientHello of TLS_HANDSHAKE_MAX, incomplete");
	tc_hex(0, "160303000401010000");
	tc_check("ch_cut=1 rec=1/0");

	tc_begin("Certificate claiming 16 MiB: not buffered, not flagged");
	tc_hex(1, sh_tls12);
	tc_hex(1, "160303000a0bffffff00000000000000");
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2");
	free(b);
}

/* A 16 MiB ClientHello is not allocated (glibc's counters; ASan's
 * allocator is not counted there, so the check is moot under ASan). */
static void test_too_big_not_allocated(void)
{
#ifdef __GLIBC__
	struct tls *t = tls_new();
	static const uint8_t hdr[] = {0x16, 0x03, 0x03, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff};
	struct mallinfo2 before = mallinfo2();
	tls_feed(t, 0, hdr, sizeof hdr);
	struct mallinfo2 after = mallinfo2();
	/* large blocks are mmapped: hblkhd counts them, uordblks the rest */
	CHECK(after.uordblks + after.hblkhd < before.uordblks + before.hblkhd + 1024 * 1024);
	CHECK_INT(tls_facts(t)->anomalies, ANOM_HANDSHAKE_TOO_BIG);
	tls_free(t);
#endif
}

static void test_gaps(void)
{
	uint8_t rec[512];
	size_t n = hex_decode(rec, ch_tls12);

	tc_begin("gap inside a record: handshake lost, records kept");
	tc_bytes(0, rec, 60);
	tc_gap(0, 50);
	tc_bytes(0, rec + 110, n - 110);
	tc_hex(0, CCS);
	tc_hex(0, ch_tls10); /* handshake framing stays lost */
	tc_hex(1, sh_tls12);
	tc_check("sh=1 v=0x0303 cipher=0xc02f ch_cut=1 gap=1/0 rec=3/1");

	/* Bytes after a gap beyond a record are read if they start with a
	 * record header (as the next segment does after one cut by the
	 * snapshot length); else they are the rest of a record whose start was
	 * lost, skipped up to the next gap, after which a segment may begin
	 * with a header again. */
	tc_begin("gap beyond a record: a record header follows");
	tc_hex(0, ch_tls12);
	tc_gap(0, 10);
	tc_hex(0, CCS);
	tc_hex(1, sh_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f gap=1/0 rec=2/1");

	tc_begin("gap beyond a record: no record header follows");
	tc_hex(0, ch_tls12);
	tc_gap(0, 10);
	tc_hex(0, "c84a1e0303");
	tc_hex(0, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de gap=1/0 rec=1/0");

	tc_begin("gap beyond a record: bytes skipped, another gap, a record header");
	tc_hex(0, ch_tls12);
	tc_gap(0, 10);
	tc_hex(0, "c84a1e0303");
	tc_gap(0, 7);
	tc_hex(0, CCS);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de gap=1/0 rec=2/0");

	tc_begin("gap longer than the rest of the record");
	tc_bytes(0, rec, 60);
	tc_gap(0, 500);
	tc_hex(0, CCS);
	tc_check("ch_cut=1 gap=1/0 rec=2/0");

	tc_begin("gap ending at the end of the record");
	tc_bytes(0, rec, 60);
	tc_gap(0, n - 60);
	tc_hex(0, CCS);
	tc_check("ch_cut=1 gap=1/0 rec=2/0");

	tc_begin("gap inside a record header");
	tc_bytes(0, rec, 3);
	tc_gap(0, 1);
	tc_hex(0, CCS);
	tc_check("gap=1/0 rec=1/0");

	tc_begin("gaps while resynchronising");
	tc_bytes(0, rec, 60);
	tc_gap(0, 500);
	tc_hex(0, "1403");
	tc_gap(0, 20);
	tc_hex(0, CCS);
	tc_check("ch_cut=1 gap=1/0 rec=2/0");
}

static void test_contract(void)
{
	static const uint8_t starts[] = {0x14, 0x15, 0x16, 0x17, 0x18, 0x80, 0xc0, 0xff};
	static const uint8_t others[] = {0x00, 0x13, 0x19, 0x7f, '2', 'E', 'e', '\r'};
	for (size_t i = 0; i < sizeof starts; i++)
		CHECK_INT(tls_looks_like_start(&starts[i], 1), 1);
	for (size_t i = 0; i < sizeof others; i++)
		CHECK_INT(tls_looks_like_start(&others[i], 1), 0);
	CHECK_INT(tls_looks_like_start((const uint8_t *)"\x16", 0), 0);

	struct tls *t = tls_new();
	struct feed_result r = tls_feed(t, 0, (const uint8_t *)"", 0);
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 0);
	r = tls_feed(t, 0, (const uint8_t *)"\x19\x03\x03\x00\x01\x00", 6);
	CHECK_INT(r.status, FEED_DONE);
	CHECK_INT(r.consumed, 5);
	r = tls_feed(t, 0, (const uint8_t *)"\x16\x03\x03", 3);
	CHECK_INT(r.status, FEED_DONE);
	CHECK_INT(r.consumed, 0);
	r = tls_feed(t, 1, (const uint8_t *)"\x16\x03\x03", 3); /* the other side lives */
	CHECK_INT(r.status, FEED_MORE);
	CHECK_INT(r.consumed, 3);
	tls_free(t);
	tls_free(NULL);
}

/* ---- TLS depth: offers, fingerprints, key exchange, certificate ---------------- */

/* The certificate inside flight_tls12. */
static size_t flight_cert(uint8_t *out)
{
	uint8_t f[2048];
	size_t n = hex_decode(f, flight_tls12);
	(void)n;
	memcpy(out, f + 81, 712);
	return 712;
}

/* A ServerKeyExchange record for a TLS 1.2 suite: body given in hex. */
static void ske_record(struct buf *b, const char *body_hex)
{
	b_record(b, 22);
	b_u8(b, 12);
	b_open(b, 3);
	b_hex(b, body_hex);
	b_close_all(b);
}

/* JA3 and JA3S of nDPI's captures: nDPI's published values (stream 0) and
 * tshark 4.0's (stream 1). JA4: tshark has none; the values come from an
 * independent Python implementation of the JA4 specification over tshark's
 * decoded fields (tests/data/record/make_truth_tls.py). */
static void test_depth_real(void)
{
	depth = 1;
	tc_begin("nDPI stream 0: offers, JA3 and JA3S as published by nDPI");
	tc_hex(0, ch_tls10);
	tc_hex(1, sh_tls10);
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 sh=1 v=0x0301 cipher=0x0005 rec=1/1 "
		 "offer=28/weak1/strong1/fs1 ja3=fab507fe132c544e8a0eb7c394affeae "
		 "ja4=t10i290100_cdba58456bdf_e78b541c01a9 ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("nDPI stream 1: the server's flight, certificate and ECDHE curve");
	tc_hex(0, ch_tls12);
	tc_hex(1, flight_tls12);
	tc_check("ch=1 cv=0x0303 cvmax=0x0303 suites=15 sni=dovecot.weberlab.de sh=1 v=0x0303 "
		 "cipher=0xc02f group=23 rec=1/4 offer=15/weak1/strong1/fs1 "
		 "ja3=7b38238e17474b8f6d113523bb5a8dd9 ja4=t12d150900_073e58a039a6_b44afb9f0e6a "
		 "ja3s=ccc514751b175866924439bdbb5bba34 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");
	depth = 0;
}

static void test_server_key_exchange(void)
{
	struct buf *b = calloc(1, sizeof *b);
	char prime[2 * 256 + 1];
	depth = 1;

	tc_begin("DHE: a 2048-bit prime");
	memset(prime, 'f', sizeof prime - 1);
	prime[sizeof prime - 1] = '\0';
	sh_begin(b, 0x0303, NULL, 0, 0, 0x009e);
	tc_buf(1, b);
	b_record(b, 22);
	b_u8(b, 12);
	b_open(b, 3);
	b_u16(b, 256);
	b_hex(b, prime);
	b_hex(b, "000102" "000102"); /* g, Ys */
	b_close_all(b);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0x009e rec=0/2 ja3s=" JA3S_DHE " dh=2048");

	tc_begin("DHE: a 1023-bit prime with a leading zero byte");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x0033);
	tc_buf(1, b);
	b_record(b, 22);
	b_u8(b, 12);
	b_open(b, 3);
	b_u16(b, 129);
	b_hex(b, "007f");
	b_fill(b, 0xee, 127);
	b_hex(b, "000102000102");
	b_close_all(b);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0x0033 rec=0/2 ja3s=" JA3S_DHE51 " dh=1023");

	tc_begin("ECDHE_PSK: identity hint, then x25519");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc035);
	tc_buf(1, b);
	ske_record(b, "0004" "68696e74" "03" "001d" "20" "3333333333333333333333333333333333333333333333333333333333333333");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc035 group=29 rec=0/2 ja3s=" JA3S_PSK);

	tc_begin("ECDH_anon: secp384r1");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc018);
	tc_buf(1, b);
	ske_record(b, "03" "0018" "01" "04");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc018 group=24 rec=0/2 ja3s=" JA3S_ANON);

	tc_begin("ECDHE: explicit curve parameters are no named group");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	tc_buf(1, b);
	ske_record(b, "01" "0020" "ffffffff");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2 ja3s=" JA3S_C02F);

	tc_begin("ECDHE: a ServerKeyExchange of two bytes");
	sh_begin(b, 0x0303, NULL, 0, 0, 0xc02f);
	tc_buf(1, b);
	ske_record(b, "0300");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0xc02f rec=0/2 anom=tls_malformed ja3s=" JA3S_C02F);

	tc_begin("RSA key exchange: a ServerKeyExchange is not read");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x002f);
	tc_buf(1, b);
	ske_record(b, "03" "001d");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0303 cipher=0x002f rec=0/2 ja3s=" JA3S_RSA);

	tc_begin("a ServerKeyExchange before any ServerHello");
	ske_record(b, "03" "001d");
	tc_buf(1, b);
	tc_check("rec=0/1");

	tc_begin("TLS 1.3: X25519MLKEM768 key share (1120 bytes)");
	sh_begin(b, 0x0303, NULL, 0, 0, 0x1301);
	ext_u16(b, 43, 0x0304);
	ext_begin(b, 51);
	b_u16(b, 0x11ec);
	b_u16(b, 1120);
	b_fill(b, 0x42, 1120);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1301 group=4588 rec=0/1 "
		 "ja3s=" JA3S_MLKEM);
	depth = 0;
	free(b);
}

/* Certificate messages: one DER certificate per entry. */
static void cert_record(struct buf *b, const uint8_t *der, size_t n, size_t extra)
{
	b_record(b, 22);
	b_u8(b, 11);
	b_open(b, 3);
	b_open(b, 3);
	b_open(b, 3);
	b_mem(b, der, n);
	b_close(b);
	if (extra) { /* a second certificate of extra bytes */
		b_u8(b, (unsigned)(extra >> 16));
		b_u16(b, (unsigned)(extra & 0xffff));
		b_fill(b, 0x30, extra);
	}
	b_close(b);
	b_close(b);
	/* records of at most 16384 bytes */
	size_t body = b->n - 5;
	if (body > 16384) {
		static uint8_t msg[200000];
		memcpy(msg, b->b + 5, body);
		b->n = 0;
		b->depth = 0;
		for (size_t off = 0; off < body; off += 16384) {
			size_t take = body - off < 16384 ? body - off : 16384;
			b_record(b, 22);
			b_mem(b, msg + off, take);
			b_close(b);
		}
	}
}

static void test_certificates(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t der[1024];
	size_t n = flight_cert(der);
	depth = 1;

	tc_begin("Certificate after a TLS 1.0 ServerHello");
	tc_hex(1, sh_tls10);
	cert_record(b, der, n, 0);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/2 ja3s=6b96cf9c27b0223177b0e9f135fe4899 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");

	tc_begin("a chain longer than TLS_HANDSHAKE_MAX: the leaf is kept");
	tc_hex(1, sh_tls10);
	cert_record(b, der, n, 70000);
	tc_buf(1, b);
	tc_hex(1, CCS);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/7 ja3s=6b96cf9c27b0223177b0e9f135fe4899 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");

	tc_begin("a leaf longer than TLS_HANDSHAKE_MAX");
	tc_hex(1, sh_tls10);
	{
		static uint8_t big[70000];
		memcpy(big, der, n);
		cert_record(b, big, sizeof big, 0);
	}
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/6 anom=handshake_too_big "
		 "ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("a leaf that is not DER");
	tc_hex(1, sh_tls10);
	memset(der + 100, 0xff, 4);
	cert_record(b, der, n, 0);
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/2 anom=cert_malformed "
		 "ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("a certificate entry longer than the message");
	tc_hex(1, sh_tls10);
	b_record(b, 22);
	b_hex(b, "0b00000a" "000007" "000100" "30820100");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0301 cipher=0x0005 rec=0/2 anom=tls_malformed "
		 "ja3s=6b96cf9c27b0223177b0e9f135fe4899");

	tc_begin("TLS 1.3: the Certificate is encrypted, not read");
	tc_hex(1, sh_psk13);
	flight_cert(der);
	cert_record(b, der, n, 0);
	b->b[0] = 23;
	tc_buf(1, b);
	tc_check("sh=1 v=0x0304 cipher=0x1302 resumed=1 group=29 rec=0/2 ja3s=" JA3S_PSK13);
	depth = 0;
	free(b);
}

static void test_depth_alerts_sslv2(void)
{
	struct buf *b = calloc(1, sizeof *b);
	uint8_t der[1024];
	size_t n = flight_cert(der);
	depth = 1;

	tc_begin("the server refuses the ClientHello: protocol_version");
	tc_hex(0, ch_tls10);
	tc_hex(1, "15030100020246");
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 suites=29 alert=0x0246 rec=1/1 "
		 "offer=28/weak1/strong1/fs1 ja3=fab507fe132c544e8a0eb7c394affeae "
		 "ja4=t10i290100_cdba58456bdf_e78b541c01a9 alert_from=1");

	tc_begin("SSLv2-format ClientHello: specs judged, no fingerprint");
	tc_hex(0, "802e" "01" "0301" "0015" "0000" "0010"
		  "010080" "030080" "070080" "000005" "000004" "00000a" "000035"
		  "00112233445566778899aabbccddeeff");
	tc_check("ch=1 cv=0x0301 cvmax=0x0301 sslv2=1 suites=7 rec=1/0 offer=7/weak1/strong1/fs0");

	tc_begin("SSLv2 SERVER-HELLO with an X.509 certificate");
	b_u16(b, 0x8000 | (unsigned)(11 + n + 3 + 16));
	b_hex(b, "04" "00" "01" "0002");
	b_u16(b, (unsigned)n);
	b_hex(b, "0003" "0010");
	b_mem(b, der, n);
	b_hex(b, "010080" "0f0e0d0c0b0a09080706050403020100");
	tc_buf(1, b);
	tc_check("sh=1 v=0x0002 rec=0/1 "
		 "cert=jw-vm08-int-dns||jw-vm08-int-dns||RSA/2048|sha256WithRSAEncryption|self1|"
		 "1471339999-1786699999|f1fe9ce4");
	depth = 0;
	free(b);
}

int main(void)
{
	test_real_hellos();
	test_versions_alpn();
	test_alpn_cap();
	test_hrr_synthetic();
	test_resumption_synthetic();
	test_record_layer();
	test_sslv2();
	test_alerts();
	test_established();
	test_one_side();
	test_cut_records();
	test_drafts();
	test_malformed();
	test_too_big_not_allocated();
	test_gaps();
	test_contract();
	test_depth_real();
	test_server_key_exchange();
	test_certificates();
	test_depth_alerts_sslv2();
	return check_done("tls");
}
