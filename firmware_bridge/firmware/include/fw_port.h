/* The hardware seam: the four functions a board provides. Nothing else in the core touches
 * hardware, an OS, the heap or the clock. `board` is the pointer given to fw_device_init
 * (a board struct, or NULL on a board with one device).
 *
 * Contract:
 *  - fw_port_uart_write: queue len bytes for transmission (DMA or a TX ring); must not block
 *    longer than the bytes take on the wire. Called from fw_device_rx_byte's context.
 *  - fw_port_micros: a monotonic microsecond clock (64 bits: no wrap in practice). The core
 *    never calls it: the board's loop passes its value as now_us (testable on synthetic time).
 *  - fw_port_set_outputs: hold these commands on the motors from now on, until the next call.
 *    Called on every change (enable, each accepted COMMAND, disable, watchdog, e-stop).
 *  - fw_port_read_sensors: the latest joint measurement (and IMU if the board has one).
 */
#ifndef FW_PORT_H
#define FW_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "fw_types.h"

void fw_port_uart_write(void *board, const uint8_t *data, size_t len);
uint64_t fw_port_micros(void *board);
void fw_port_set_outputs(void *board, const fw_joint_cmd *cmd, uint8_t motor_count);
void fw_port_read_sensors(void *board, fw_sensors *out);

#endif
