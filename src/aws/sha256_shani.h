/*
 * The last SHA-256 blocks of a header signature with a payload, in one go on x86-64 SHA
 * extensions (private to sigv4.c).
 *
 * After the payload's last full block, a signature is a chain of four short digests, each
 * waiting on the one before: the payload's own last block(s), the canonical request's last
 * blocks (which hold the payload's hash in hex), the string to sign's last blocks under the
 * HMAC's inner key (which hold the canonical request's hash in hex), and the outer HMAC block
 * (which holds the inner digest). Through OpenSSL each link stores the digest, byte-swaps it,
 * writes its hex, and the next digest loads that back (the loads straddle the stores, so
 * nothing is forwarded) behind a call and a reshuffle of the state: ~0.09 us of a 1 KiB
 * PutItem's ~1 us. Here the state stays in the registers the SHA instructions use, the hex is
 * made in registers and slotted into the next message with byte shuffles, and the bytes known
 * in advance (the text around each hex digest, the padding, the lengths) are laid out by the
 * caller beforehand, while the payload is still being hashed. Without a payload to hash (a
 * GET, or its hash given) the chain starts at the canonical request's last blocks.
 */
#ifndef S3I_AWS_SHA256_SHANI_H
#define S3I_AWS_SHA256_SHANI_H

#include <stddef.h>
#include <stdint.h>

/* One message's last blocks: the digest state after its earlier blocks (host-order words, as
 * in OpenSSL's SHA256_CTX.h) and its remaining bytes with the padding, `blocks` x 64 bytes.
 * Where a hex digest goes (`hex_at`, for the canonical request and the string to sign), those
 * 64 bytes must be zero: the hex is ORed in. */
typedef struct s3i_shani_msg {
	const uint32_t *h;
	const unsigned char *tail;
	size_t hex_at;
	int blocks;                   /* 1 to 3 */
} s3i_shani_msg;

/* A digest state kept as the SHA instructions hold it (words A,B,E,F then C,D,G,H, each
 * register's top lane first), so that it goes out to memory and back with no reshuffling. */
typedef struct s3i_shani_state {
	uint32_t w[8];
} s3i_shani_state;

typedef struct s3i_shani_chain {
	s3i_shani_msg body;           /* h and hex_at unused; blocks 0: no payload hashed here */
	const s3i_shani_state *body_state;  /* the payload's state (with body.blocks) */
	const unsigned char *body_full;     /* and its full blocks still to hash before body.tail */
	size_t body_full_blocks;
	s3i_shani_msg creq;           /* the payload's hash at hex_at (< 64); without a payload
	                               * (body.blocks 0) its bytes are all in the tail */
	s3i_shani_msg sts;            /* the canonical request's hash at hex_at (< 64); h: inner key */
	const uint32_t *outer_h;      /* the outer key's state: one block of 32 digest bytes follows */
	char *creq_hex, *sts_hex, *sig_hex;  /* where the hex digests are written (64 each; the
	                               * payload's, creq_hex, only when there is one) */
} s3i_shani_chain;

/* Whether this CPU (and build) can run s3i_shani_sign_chain: SHA, SSSE3 and SSE4.1. */
int s3i_shani_available(void);

/* A new SHA-256 state, and full 64-byte blocks hashed into one (call only when available). */
void s3i_shani_start(s3i_shani_state *st);
void s3i_shani_blocks(s3i_shani_state *st, const unsigned char *p, size_t blocks);

/* Hashes the chain described above and writes the hex digests; call only when available. */
void s3i_shani_sign_chain(const s3i_shani_chain *c);

/* Lays out a message's remaining `n` known bytes (n < 64 when a hex digest follows) for
 * s3i_shani_msg.tail: `p`, then 64 zero bytes for the hex when `hex`, then the padding for a
 * message of `total` bytes in all (hex included). `out` must hold 192 bytes; returns the
 * number of 64-byte blocks. */
int s3i_shani_layout(unsigned char out[192], const void *p, size_t n, int hex, uint64_t total);

#endif
