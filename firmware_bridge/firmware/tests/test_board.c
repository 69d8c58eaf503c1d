#include "test_board.h"

#include <string.h>

#include "fw_port.h"

void fw_port_uart_write(void *board, const uint8_t *data, size_t len)
{
    test_board *b = board;
    if (len <= sizeof b->tx - b->tx_len) {
        memcpy(b->tx + b->tx_len, data, len);
        b->tx_len += len;
    }
}

uint64_t fw_port_micros(void *board)
{
    return ((test_board *)board)->micros;
}

void fw_port_set_outputs(void *board, const fw_joint_cmd *cmd, uint8_t motor_count)
{
    test_board *b = board;
    memcpy(b->outputs, cmd, motor_count * sizeof *cmd);
    b->outputs_set++;
}

void fw_port_read_sensors(void *board, fw_sensors *out)
{
    *out = ((test_board *)board)->sensors;
}
