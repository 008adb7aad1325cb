/*
 * SHA-256 on the x86 SHA extensions for the end of a signature (see sha256_shani.h).
 *
 * The state is kept as the SHA instructions want it: two registers holding the words A,B,E,F
 * and C,D,G,H (A and C in the top lanes). Four rounds take one register of message words plus
 * round constants, two SHA256RNDS2 each; the message schedule runs beside the rounds
 * (SHA256MSG1/MSG2), so a block is 32 dependent SHA256RNDS2 and nothing else on its critical
 * path. Built with per-function target attributes, so the rest of the library keeps the
 * baseline instruction set; s3i_shani_available() checks the CPU before anything here runs.
 */
#include "aws/sha256_shani.h"

#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
	!defined(S3I_NO_SHANI)
#define HAVE_SHANI_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#endif

int s3i_shani_layout(unsigned char out[192], const void *p, size_t n, int hex, uint64_t total)
{
	size_t used = n + (hex ? 64 : 0);
	int blocks = (int)((used + 9 + 63) / 64);
	memcpy(out, p, n);
	memset(out + n, 0, (size_t)blocks * 64 - n);
	out[used] = 0x80;
	uint64_t bits = total * 8;
	for (int i = 0; i < 8; i++)
		out[(size_t)blocks * 64 - 1 - (size_t)i] = (unsigned char)(bits >> (8 * i));
	return blocks;
}

#if defined(HAVE_SHANI_CODE)

#define SHANI __attribute__((target("sha,ssse3,sse4.1")))
#define SHANI_INLINE static inline __attribute__((always_inline, target("sha,ssse3,sse4.1")))

int s3i_shani_available(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
		return 0;                  /* SSSE3, SSE4.1 */
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 29)) != 0;  /* SHA */
}

static const uint32_t round_k[64] __attribute__((aligned(16))) = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* Byte masks for PSHUFB: 16 x 0x80 (a zero byte), 0..15, 16 x 0x80. Loaded at 16 - s it moves a
 * register's bytes s places up; at 32 - s it brings its top s bytes down to the bottom. */
static const unsigned char shift_mask[48] __attribute__((aligned(16))) = {
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

typedef struct sha_state {
	__m128i abef, cdgh;
} sha_state;

SHANI_INLINE __m128i bswap32_mask(void)
{
	return _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
}

SHANI_INLINE sha_state state_load(const uint32_t h[8])
{
	__m128i abcd = _mm_loadu_si128((const __m128i *)(const void *)h);
	__m128i efgh = _mm_loadu_si128((const __m128i *)(const void *)(h + 4));
	abcd = _mm_shuffle_epi32(abcd, 0xB1);           /* B A D C (lane 0 first) */
	efgh = _mm_shuffle_epi32(efgh, 0x1B);           /* H G F E */
	sha_state st;
	st.abef = _mm_alignr_epi8(abcd, efgh, 8);       /* F E B A */
	st.cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);    /* H G D C */
	return st;
}

/* The digest as words A..H in lane order: the big-endian digest bytes once byte-swapped, and
 * the message words of a block that holds the raw digest. */
SHANI_INLINE void state_words(sha_state st, __m128i *abcd, __m128i *efgh)
{
	__m128i t = _mm_shuffle_epi32(st.abef, 0x1B);  /* A B E F */
	__m128i u = _mm_shuffle_epi32(st.cdgh, 0xB1);  /* G H C D */
	*abcd = _mm_blend_epi16(t, u, 0xF0);
	*efgh = _mm_alignr_epi8(u, t, 8);
}

/* The digest in lowercase hex, 16 characters per register. */
SHANI_INLINE void state_hex(sha_state st, __m128i hex[4])
{
	const __m128i digits = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
		'a', 'b', 'c', 'd', 'e', 'f');
	const __m128i low = _mm_set1_epi8(0x0f);
	__m128i w[2];
	state_words(st, &w[0], &w[1]);
	for (int i = 0; i < 2; i++) {
		__m128i b = _mm_shuffle_epi8(w[i], bswap32_mask());
		__m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), low);
		__m128i lo = _mm_and_si128(b, low);
		hex[2 * i] = _mm_shuffle_epi8(digits, _mm_unpacklo_epi8(hi, lo));
		hex[2 * i + 1] = _mm_shuffle_epi8(digits, _mm_unpackhi_epi8(hi, lo));
	}
}

#define ROUNDS4(st, msg, i) do { \
	__m128i wk_ = _mm_add_epi32((msg), _mm_load_si128((const __m128i *)(const void *)(round_k + 4 * (i)))); \
	(st).cdgh = _mm_sha256rnds2_epu32((st).cdgh, (st).abef, wk_); \
	wk_ = _mm_shuffle_epi32(wk_, 0x0E); \
	(st).abef = _mm_sha256rnds2_epu32((st).abef, (st).cdgh, wk_); \
} while (0)

/* The next four message words from the sixteen before them, a..d oldest first; into a. */
#define SCHEDULE(a, b, c, d) do { \
	(a) = _mm_add_epi32(_mm_sha256msg1_epu32((a), (b)), _mm_alignr_epi8((d), (c), 4)); \
	(a) = _mm_sha256msg2_epu32((a), (d)); \
} while (0)

/* One block whose message words (host order) are m0..m3. */
SHANI_INLINE sha_state compress(sha_state st, __m128i m0, __m128i m1, __m128i m2, __m128i m3)
{
	sha_state in = st;
	ROUNDS4(st, m0, 0);
	ROUNDS4(st, m1, 1);
	ROUNDS4(st, m2, 2);
	ROUNDS4(st, m3, 3);
	for (int i = 4; i < 16; i += 4) {
		SCHEDULE(m0, m1, m2, m3);
		ROUNDS4(st, m0, i);
		SCHEDULE(m1, m2, m3, m0);
		ROUNDS4(st, m1, i + 1);
		SCHEDULE(m2, m3, m0, m1);
		ROUNDS4(st, m2, i + 2);
		SCHEDULE(m3, m0, m1, m2);
		ROUNDS4(st, m3, i + 3);
	}
	st.abef = _mm_add_epi32(st.abef, in.abef);
	st.cdgh = _mm_add_epi32(st.cdgh, in.cdgh);
	return st;
}

SHANI_INLINE __m128i load_words(const unsigned char *p)
{
	return _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), bswap32_mask());
}

SHANI_INLINE sha_state compress_bytes(sha_state st, const unsigned char *p)
{
	return compress(st, load_words(p), load_words(p + 16), load_words(p + 32), load_words(p + 48));
}

/* The blocks of a message laid out by s3i_shani_layout with a hex digest `hex` (in registers)
 * at q * 16 + (shifted below) s. q is a constant in each caller, so the registers the hex lands
 * in are known when compiling: no trip through memory. `z` is the hex moved s bytes up, in five
 * registers: z[m] goes to bytes 16 (q + m) of the message. */
SHANI_INLINE sha_state hex_blocks(sha_state st, const unsigned char *tail, int blocks, int q,
	const __m128i z[5])
{
	__m128i r[12];
	for (int j = 0; j < 12; j++) {   /* (the layout is 192 bytes whatever the block count) */
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(tail + 16 * j));
		if (j >= q && j <= q + 4)
			v = _mm_or_si128(v, z[j - q]);
		r[j] = _mm_shuffle_epi8(v, bswap32_mask());
	}
	st = compress(st, r[0], r[1], r[2], r[3]);
	st = compress(st, r[4], r[5], r[6], r[7]);
	if (blocks > 2)
		st = compress(st, r[8], r[9], r[10], r[11]);
	return st;
}

SHANI_INLINE sha_state hash_with_hex(const s3i_shani_msg *m, const __m128i hex[4])
{
	size_t s = m->hex_at & 15;
	const __m128i up = _mm_loadu_si128((const __m128i *)(const void *)(shift_mask + 16 - s));
	const __m128i down = _mm_loadu_si128((const __m128i *)(const void *)(shift_mask + 32 - s));
	__m128i z[5];
	z[0] = _mm_shuffle_epi8(hex[0], up);
	for (int i = 1; i < 4; i++)
		z[i] = _mm_or_si128(_mm_shuffle_epi8(hex[i], up), _mm_shuffle_epi8(hex[i - 1], down));
	z[4] = _mm_shuffle_epi8(hex[3], down);
	sha_state st = state_load(m->h);
	switch (m->hex_at >> 4) {
	case 0: return hex_blocks(st, m->tail, m->blocks, 0, z);
	case 1: return hex_blocks(st, m->tail, m->blocks, 1, z);
	case 2: return hex_blocks(st, m->tail, m->blocks, 2, z);
	default: return hex_blocks(st, m->tail, m->blocks, 3, z);
	}
}

SHANI_INLINE void store_hex(char *out, const __m128i hex[4])
{
	for (int i = 0; i < 4; i++)
		_mm_storeu_si128((__m128i *)(void *)(out + 16 * i), hex[i]);
}

SHANI_INLINE sha_state state_get(const s3i_shani_state *k)
{
	sha_state st;
	st.abef = _mm_loadu_si128((const __m128i *)(const void *)k->w);
	st.cdgh = _mm_loadu_si128((const __m128i *)(const void *)(k->w + 4));
	return st;
}

SHANI_INLINE void state_put(s3i_shani_state *k, sha_state st)
{
	_mm_storeu_si128((__m128i *)(void *)k->w, st.abef);
	_mm_storeu_si128((__m128i *)(void *)(k->w + 4), st.cdgh);
}

SHANI void s3i_shani_start(s3i_shani_state *k)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	state_put(k, state_load(iv));
}

SHANI void s3i_shani_blocks(s3i_shani_state *k, const unsigned char *p, size_t blocks)
{
	sha_state st = state_get(k);
	for (size_t b = 0; b < blocks; b++)
		st = compress_bytes(st, p + 64 * b);
	state_put(k, st);
}

SHANI void s3i_shani_sign_chain(const s3i_shani_chain *c)
{
	__m128i hex[4];
	sha_state st;
	if (c->body.blocks) {
		st = state_get(c->body_state);
		for (size_t b = 0; b < c->body_full_blocks; b++)
			st = compress_bytes(st, c->body_full + 64 * b);
		for (int b = 0; b < c->body.blocks; b++)
			st = compress_bytes(st, c->body.tail + 64 * b);
		state_hex(st, hex);
		store_hex(c->creq_hex, hex);
		st = hash_with_hex(&c->creq, hex);
	} else {                       /* the canonical request's tail is all there is */
		st = state_load(c->creq.h);
		for (int b = 0; b < c->creq.blocks; b++)
			st = compress_bytes(st, c->creq.tail + 64 * b);
	}
	state_hex(st, hex);
	store_hex(c->sts_hex, hex);

	st = hash_with_hex(&c->sts, hex);
	/* The outer block: the inner digest's 32 bytes (as words: the digest words themselves),
	 * 0x80, and the length of key block plus digest, 96 bytes. */
	__m128i abcd, efgh;
	state_words(st, &abcd, &efgh);
	st = compress(state_load(c->outer_h), abcd, efgh, _mm_setr_epi32((int)0x80000000u, 0, 0, 0),
		_mm_setr_epi32(0, 0, 0, 96 * 8));
	state_hex(st, hex);
	store_hex(c->sig_hex, hex);
}

#else

int s3i_shani_available(void)
{
	return 0;
}

void s3i_shani_start(s3i_shani_state *st)
{
	(void)st;
}

void s3i_shani_blocks(s3i_shani_state *st, const unsigned char *p, size_t blocks)
{
	(void)st;
	(void)p;
	(void)blocks;
}

void s3i_shani_sign_chain(const s3i_shani_chain *c)
{
	(void)c;
}

#endif
