/* Payload codecs for the messages the device decodes (COMMAND) and encodes (STATE,
 * HELLO_REPLY, ERROR). Every length is checked before a byte is read. */
#ifndef FW_CODEC_H
#define FW_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "fw_types.h"

/* 0 on success; -1 if len != motor_count * FW_COMMAND_JOINT_SIZE. */
int fw_command_decode(const uint8_t *payload, size_t len, uint8_t motor_count, fw_joint_cmd *out);

/* Each returns the payload length written to out (out must hold FW_REPLY_PAYLOAD_CAP). */
size_t fw_state_encode(const fw_sensors *s, uint16_t flags, uint16_t fault_code,
                       uint8_t motor_count, uint8_t *out);
size_t fw_hello_reply_encode(const fw_config *cfg, uint8_t *out);
size_t fw_error_encode(uint16_t code, int32_t detail, const char *text, size_t text_len,
                       uint8_t *out);

/* round(x * lsb_per_unit) saturated to int32 (NaN -> INT32_MIN), as codec.quantize. */
int32_t fw_quantize(double x, double lsb_per_unit);

#endif
