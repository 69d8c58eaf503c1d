/* The device state machine of docs/protocol.md, message for message the same as
 * firmware_bridge/device.py:
 *
 *   BOOT --HELLO--> DISABLED --ENABLE--> ENABLED
 *   ENABLED --DISABLE--> DISABLED
 *   ENABLED --no COMMAND/HEARTBEAT for watchdog_us--> DISABLED + WATCHDOG (latched)
 *   any --ESTOP--> DISABLED + ESTOP (latched)
 *   any --HELLO--> DISABLED (a new host session always starts without torque)
 *   DISABLED(+latches) --ENABLE--> ENABLED, latches cleared
 *
 * Whenever not ENABLED the motors hold the safe command (damping or torque off); after
 * ENABLE they hold it until the first COMMAND. Time is a microsecond count passed in by the
 * caller (fw_port_micros on a board), so the core is testable without a clock.
 *
 * Use on a board: call fw_device_rx_byte for every received byte (from a loop draining the
 * UART ring) and fw_device_poll once per control period. Hosts that must act between
 * applying a command and reading the sensors (a lock-step simulator) call
 * fw_device_process and fw_device_reply themselves. */
#ifndef FW_DEVICE_H
#define FW_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "fw_frame.h"
#include "fw_types.h"

typedef struct {
    const fw_config *cfg;
    void *board;
    fw_decoder rx;
    fw_joint_cmd active[FW_MAX_MOTORS]; /* what the motors hold now */
    uint8_t handshake, enabled, watchdog_tripped, estopped, faulted, tripped_ever;
    uint16_t fault_code;
    uint64_t last_feed_us; /* last COMMAND/HEARTBEAT (or ENABLE) while enabled */
    uint64_t trip_us;      /* when the watchdog last tripped (valid if tripped_ever) */
    uint32_t commands_applied, commands_rejected;
    /* The reply fw_device_process decided on, built by fw_device_reply. */
    uint8_t reply_type; /* FW_MSG_STATE, FW_MSG_HELLO_REPLY or FW_MSG_ERROR; 0 = none */
    uint16_t reply_seq;
    uint16_t reply_extra; /* per-reply STATE flags: REJECTED / CLAMPED */
    uint16_t err_code;
    int32_t err_detail;
    uint8_t err_len;
    char err_text[FW_ERROR_TEXT_MAX];
    fw_sensors sensors; /* scratch for a STATE reply */
    uint8_t payload[FW_REPLY_PAYLOAD_CAP];
    uint8_t tx[FW_MAX_REPLY_WIRE];
} fw_device;

/* Returns 0, or -1 if the configuration is unusable (motor count, safe mode, id length). */
int fw_device_init(fw_device *d, const fw_config *cfg, void *board);

/* Run the watchdog at now_us; 1 if it tripped on this call. */
int fw_device_poll(fw_device *d, uint64_t now_us);

/* Act on one validated frame (state changes, limits, outputs); returns the reply type. */
uint8_t fw_device_process(fw_device *d, const fw_frame *f, uint64_t now_us);

/* Wire bytes (delimiter included) of the reply chosen by the last fw_device_process;
 * reads the sensors for a STATE. Returns 0 if there is none or cap is too small. */
size_t fw_device_reply(fw_device *d, uint8_t *out, size_t cap);

/* One received byte: decode, and on a complete frame process it and write the reply. */
void fw_device_rx_byte(fw_device *d, uint8_t byte, uint64_t now_us);

/* Latched status flags (without the per-reply REJECTED / CLAMPED bits). */
uint16_t fw_device_flags(const fw_device *d);

/* Clamp one joint's command to its limits; returns 1 if anything changed. */
int fw_limit_joint(const fw_joint_limits *lim, const fw_joint_cmd *in, fw_joint_cmd *out);

#endif
