/* Wire constants of docs/protocol.md (the C form of firmware_bridge/layouts.py).
 * Everything on the wire is little-endian; change both files together. */
#ifndef FW_WIRE_H
#define FW_WIRE_H

#include <stdint.h>

#define FW_PROTOCOL_VERSION 1u

#define FW_HEADER_SIZE 6u    /* version u8, msg_type u8, seq u16, payload_len u16 */
#define FW_CRC_SIZE 4u
#define FW_FRAME_OVERHEAD (FW_HEADER_SIZE + FW_CRC_SIZE)
#define FW_MAX_PAYLOAD 2048u
#define FW_SPEC_HASH_SIZE 8u
#define FW_FIRMWARE_ID_MAX 64u
#define FW_ERROR_TEXT_MAX 200u
#define FW_PROTOCOL_MAX_MOTORS 64u

/* A board may shrink RAM and flash with -DFW_MAX_MOTORS=<its motor count>. */
#ifndef FW_MAX_MOTORS
#define FW_MAX_MOTORS FW_PROTOCOL_MAX_MOTORS
#endif
#if FW_MAX_MOTORS < 1 || FW_MAX_MOTORS > FW_PROTOCOL_MAX_MOTORS
#error "FW_MAX_MOTORS must be 1..64"
#endif

/* Worst-case COBS length of n raw bytes (one code byte, plus one per 254 non-zero bytes). */
#define FW_COBS_MAX_ENCODED(n) ((n) + 1u + (n) / 254u)
/* Longest legal encoded frame without its delimiter: 2,067 bytes. */
#define FW_MAX_WIRE_FRAME FW_COBS_MAX_ENCODED(FW_MAX_PAYLOAD + FW_FRAME_OVERHEAD)

enum fw_msg_type {
    FW_MSG_HELLO = 0x01,
    FW_MSG_HELLO_REPLY = 0x02,
    FW_MSG_ERROR = 0x03,
    FW_MSG_COMMAND = 0x10,
    FW_MSG_STATE = 0x11,
    FW_MSG_ENABLE = 0x20,
    FW_MSG_DISABLE = 0x21,
    FW_MSG_ESTOP = 0x22,
    FW_MSG_HEARTBEAT = 0x23,
    FW_MSG_GET_STATE = 0x24
};

enum fw_mode { FW_MODE_OFF = 0, FW_MODE_PD = 1, FW_MODE_DAMPING = 2 };

enum fw_status {
    FW_ST_ENABLED = 1u << 0,
    FW_ST_WATCHDOG = 1u << 1,
    FW_ST_FAULT = 1u << 2,
    FW_ST_ESTOP = 1u << 3,
    FW_ST_IMU = 1u << 4,
    FW_ST_REJECTED = 1u << 5,
    FW_ST_CLAMPED = 1u << 6,
    FW_ST_HANDSHAKE = 1u << 7
};

enum fw_error_code {
    FW_ERR_VERSION_MISMATCH = 1,
    FW_ERR_UNKNOWN_TYPE = 2,
    FW_ERR_BAD_LENGTH = 3,
    FW_ERR_NO_HANDSHAKE = 4,
    FW_ERR_BAD_VALUE = 5,
    FW_ERR_FAULT_LATCHED = 6
};

/* Payload layouts (bytes). */
#define FW_COMMAND_JOINT_SIZE 21u /* mode u8, q i32, qd i32, tau i32, kp f32, kd f32 */
#define FW_STATE_HEAD_SIZE 12u    /* t_us u64, flags u16, fault_code u16 */
#define FW_STATE_JOINT_SIZE 12u   /* q i32, qd i32, tau i32 */
#define FW_IMU_SIZE 40u           /* quat i32[4], gyro i32[3], accel i32[3] */
#define FW_HELLO_HEAD_SIZE 17u    /* motors u8, caps u8, wd_ms u16, period_us u32, hash[8], id_len u8 */
#define FW_ERROR_HEAD_SIZE 7u     /* code u16, detail i32, text_len u8 */
#define FW_CAP_IMU 0x01u

/* Fixed point: wire integer = round(value * LSB_PER_UNIT), saturated to int32. */
#define FW_Q_LSB 1000000      /* per rad */
#define FW_QD_LSB 100000      /* per rad/s */
#define FW_TAU_LSB 100000     /* per N m */
#define FW_QUAT_LSB 1000000000
#define FW_GYRO_LSB 1000000
#define FW_ACCEL_LSB 100000

/* Largest reply: a STATE with every joint and the IMU block, framed and COBS-stuffed,
 * plus the delimiter. (ERROR and HELLO_REPLY are smaller.) */
#define FW_MAX_REPLY_PAYLOAD (FW_STATE_HEAD_SIZE + FW_MAX_MOTORS * FW_STATE_JOINT_SIZE + FW_IMU_SIZE)
#define FW_MIN_REPLY_PAYLOAD (FW_ERROR_HEAD_SIZE + FW_ERROR_TEXT_MAX)
#define FW_REPLY_PAYLOAD_CAP \
    (FW_MAX_REPLY_PAYLOAD > FW_MIN_REPLY_PAYLOAD ? FW_MAX_REPLY_PAYLOAD : FW_MIN_REPLY_PAYLOAD)
#define FW_MAX_REPLY_WIRE (FW_COBS_MAX_ENCODED(FW_REPLY_PAYLOAD_CAP + FW_FRAME_OVERHEAD) + 1u)

#endif
