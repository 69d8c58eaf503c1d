/* A test board behind the seam: records what the core asks of the hardware. */
#ifndef FW_TEST_BOARD_H
#define FW_TEST_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "fw_types.h"

typedef struct {
    fw_sensors sensors;
    fw_joint_cmd outputs[FW_MAX_MOTORS];
    uint32_t outputs_set;
    uint8_t tx[1 << 16];
    size_t tx_len;
    uint64_t micros;
} test_board;

#endif
