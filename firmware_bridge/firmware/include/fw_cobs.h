/* Consistent Overhead Byte Stuffing, same rules as firmware_bridge/cobs.py: a frame that
 * ends on a full 254-byte block gets no trailing code byte. */
#ifndef FW_COBS_H
#define FW_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Incremental encoder: feed the raw frame in pieces (header, payload, CRC) without
 * assembling it in a scratch buffer first. */
typedef struct {
    uint8_t *out;
    size_t cap;
    size_t len;      /* bytes written so far (including the open code slot) */
    size_t code_at;  /* index of the open code byte */
    uint8_t code;    /* value the open code byte will get */
    uint8_t after_full; /* the last block closed was a full one (code 0xFF) */
    uint8_t overflow;   /* out was too small: the result is unusable */
} fw_cobs_enc;

void fw_cobs_enc_begin(fw_cobs_enc *e, uint8_t *out, size_t cap);
void fw_cobs_enc_put(fw_cobs_enc *e, const uint8_t *data, size_t len);
/* Returns the encoded length (>= 1), or 0 if out was too small. */
size_t fw_cobs_enc_end(fw_cobs_enc *e);

/* One-shot encode; returns the length (no delimiter), or 0 if cap is too small. */
size_t fw_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Decode one block sequence (delimiter removed). out may equal in (decoding in place is
 * safe: the output never runs ahead of the input). Returns 0 and sets *out_len, or -1 on
 * an empty input, a zero byte, a code byte that runs past the end, or cap too small. */
int fw_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
