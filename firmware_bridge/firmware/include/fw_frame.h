/* Frames on a byte stream: header | payload | CRC-32, COBS-stuffed, 0x00-terminated.
 *
 * fw_decoder takes one byte at a time (a UART receive interrupt or a DMA ring drain), holds
 * at most FW_MAX_WIRE_FRAME bytes, and yields only frames whose COBS, CRC and lengths check
 * out. After any bad data it resynchronises at the next 0x00. Counters match
 * firmware_bridge.framing.DecoderStats one for one. */
#ifndef FW_FRAME_H
#define FW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "fw_wire.h"

typedef struct {
    uint8_t version;
    uint8_t msg_type;
    uint16_t seq;
    uint16_t payload_len;   /* 0..FW_MAX_PAYLOAD */
    const uint8_t *payload; /* points into the decoder; valid until the next push */
} fw_frame;

typedef struct {
    uint32_t bytes_in;
    uint32_t frames_ok;
    uint32_t frames_bad; /* sum of the reasons below */
    uint32_t cobs_errors;
    uint32_t crc_errors;
    uint32_t length_errors; /* shorter than a header + CRC, payload_len > 2048, or != the bytes */
    uint32_t overlong;      /* runs longer than FW_MAX_WIRE_FRAME dropped */
    uint32_t resyncs;
} fw_decoder_stats;

typedef struct {
    uint8_t buf[FW_MAX_WIRE_FRAME];
    uint16_t len;
    uint8_t discarding; /* inside an overlong run: drop bytes until the next 0x00 */
    fw_decoder_stats stats;
} fw_decoder;

typedef enum { FW_PUSH_NONE = 0, FW_PUSH_FRAME = 1, FW_PUSH_BAD = 2 } fw_push_result;

void fw_decoder_init(fw_decoder *d);
/* Forget a partial frame (keeps the counters). */
void fw_decoder_reset(fw_decoder *d);
/* Consume one byte; FW_PUSH_FRAME fills *out. Never fails otherwise. */
fw_push_result fw_decoder_push(fw_decoder *d, uint8_t byte, fw_frame *out);
/* Bytes held of a frame not yet terminated. */
size_t fw_decoder_pending(const fw_decoder *d);

/* Wire bytes of one frame, delimiter included; 0 if payload_len > 2048 or cap is too small. */
size_t fw_frame_encode(uint8_t version, uint8_t msg_type, uint16_t seq, const uint8_t *payload,
                       size_t payload_len, uint8_t *out, size_t cap);

#endif
