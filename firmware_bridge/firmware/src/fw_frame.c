#include "fw_frame.h"

#include "fw_bytes.h"
#include "fw_cobs.h"
#include "fw_crc.h"

void fw_decoder_init(fw_decoder *d)
{
    d->len = 0;
    d->discarding = 0;
    d->stats = (fw_decoder_stats){0};
}

void fw_decoder_reset(fw_decoder *d)
{
    d->len = 0;
    d->discarding = 0;
}

size_t fw_decoder_pending(const fw_decoder *d)
{
    return d->len;
}

static fw_push_result bad(fw_decoder *d, uint32_t *counter)
{
    (*counter)++;
    d->stats.frames_bad++;
    d->stats.resyncs++;
    return FW_PUSH_BAD;
}

static fw_push_result parse(fw_decoder *d, fw_frame *out)
{
    size_t raw_len = 0;
    uint8_t *raw = d->buf;
    uint16_t declared;
    if (fw_cobs_decode(d->buf, d->len, raw, sizeof d->buf, &raw_len) != 0) {
        return bad(d, &d->stats.cobs_errors);
    }
    if (raw_len < FW_FRAME_OVERHEAD) {
        return bad(d, &d->stats.length_errors);
    }
    if (fw_get_u32(raw + raw_len - FW_CRC_SIZE) != fw_crc32(raw, raw_len - FW_CRC_SIZE)) {
        return bad(d, &d->stats.crc_errors);
    }
    declared = fw_get_u16(raw + 4);
    if (declared > FW_MAX_PAYLOAD || declared != raw_len - FW_FRAME_OVERHEAD) {
        return bad(d, &d->stats.length_errors);
    }
    out->version = raw[0];
    out->msg_type = raw[1];
    out->seq = fw_get_u16(raw + 2);
    out->payload_len = declared;
    out->payload = raw + FW_HEADER_SIZE;
    d->stats.frames_ok++;
    return FW_PUSH_FRAME;
}

fw_push_result fw_decoder_push(fw_decoder *d, uint8_t byte, fw_frame *out)
{
    d->stats.bytes_in++;
    if (byte != 0) {
        if (d->discarding) {
            return FW_PUSH_NONE;
        }
        if (d->len >= FW_MAX_WIRE_FRAME) { /* one byte more than any legal frame */
            d->len = 0;
            d->discarding = 1;
            return bad(d, &d->stats.overlong);
        }
        d->buf[d->len++] = byte;
        return FW_PUSH_NONE;
    }
    /* Delimiter. */
    if (d->discarding) {
        d->discarding = 0;
        return FW_PUSH_NONE;
    }
    if (d->len == 0) {
        return FW_PUSH_NONE; /* an empty frame (back-to-back delimiters) is only padding */
    }
    {
        fw_push_result r = parse(d, out);
        d->len = 0;
        return r;
    }
}

size_t fw_frame_encode(uint8_t version, uint8_t msg_type, uint16_t seq, const uint8_t *payload,
                       size_t payload_len, uint8_t *out, size_t cap)
{
    uint8_t head[FW_HEADER_SIZE];
    uint8_t tail[FW_CRC_SIZE];
    uint32_t crc;
    fw_cobs_enc e;
    size_t n;
    if (payload_len > FW_MAX_PAYLOAD || cap == 0) {
        return 0;
    }
    head[0] = version;
    head[1] = msg_type;
    fw_put_u16(head + 2, seq);
    fw_put_u16(head + 4, (uint16_t)payload_len);
    crc = fw_crc32_update(FW_CRC_INIT, head, sizeof head);
    crc = fw_crc32_update(crc, payload, payload_len) ^ 0xFFFFFFFFu;
    fw_put_u32(tail, crc);
    fw_cobs_enc_begin(&e, out, cap - 1);
    fw_cobs_enc_put(&e, head, sizeof head);
    fw_cobs_enc_put(&e, payload, payload_len);
    fw_cobs_enc_put(&e, tail, sizeof tail);
    n = fw_cobs_enc_end(&e);
    if (n == 0) {
        return 0;
    }
    out[n] = 0;
    return n + 1;
}
