#include "fw_cobs.h"

static void put_byte(fw_cobs_enc *e, uint8_t b)
{
    if (e->len < e->cap) {
        e->out[e->len] = b;
    } else {
        e->overflow = 1;
    }
    e->len++;
}

static void open_block(fw_cobs_enc *e)
{
    e->code_at = e->len;
    put_byte(e, 0); /* placeholder, patched when the block closes */
    e->code = 1;
}

static void close_block(fw_cobs_enc *e)
{
    if (e->code_at < e->cap) {
        e->out[e->code_at] = e->code;
    }
}

void fw_cobs_enc_begin(fw_cobs_enc *e, uint8_t *out, size_t cap)
{
    e->out = out;
    e->cap = cap;
    e->len = 0;
    e->overflow = 0;
    e->after_full = 0;
    open_block(e);
}

void fw_cobs_enc_put(fw_cobs_enc *e, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        uint8_t b = data[i];
        e->after_full = 0;
        if (b == 0) {
            close_block(e);
            open_block(e);
            continue;
        }
        put_byte(e, b);
        if (++e->code == 0xFF) { /* 254 data bytes: a full block, no implied zero */
            close_block(e);
            open_block(e);
            e->after_full = 1;
        }
    }
}

size_t fw_cobs_enc_end(fw_cobs_enc *e)
{
    if (e->after_full) {
        e->len = e->code_at; /* the frame ends on a full block: drop the empty open block */
    } else {
        close_block(e);
    }
    return e->overflow ? 0 : e->len;
}

size_t fw_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    fw_cobs_enc e;
    fw_cobs_enc_begin(&e, out, cap);
    fw_cobs_enc_put(&e, in, len);
    return fw_cobs_enc_end(&e);
}

int fw_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t i = 0;
    size_t o = 0;
    if (len == 0) {
        return -1;
    }
    while (i < len) {
        uint8_t code = in[i];
        size_t end;
        if (code == 0 || (size_t)code > len - i) {
            return -1; /* a zero inside the frame, or a block running past the end */
        }
        end = i + code;
        for (++i; i < end; ++i) {
            if (in[i] == 0 || o >= cap) {
                return -1;
            }
            out[o++] = in[i];
        }
        if (i < len && code != 0xFF) { /* implied zero, except after a full block or at the end */
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0;
        }
    }
    *out_len = o;
    return 0;
}
