/* Host timing of the core's work per control period: one COMMAND frame through
 * fw_device_rx_byte (decode, CRC, limits, outputs) and its STATE reply (sensors, encode, CRC,
 * COBS), for 12 motors with an IMU. Prints ns per exchange. Not a test: a number for
 * docs/firmware.md (a Cortex-M4 at 168 MHz is roughly 20-40x slower than a desktop core). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fw_device.h"
#include "test_board.h"

static fw_device dev;
static test_board board;
static fw_config cfg;

static size_t frame(uint8_t type, const uint8_t *p, size_t n, uint8_t *out)
{
    return fw_frame_encode(FW_PROTOCOL_VERSION, type, 1, p, n, out, 4096);
}

int main(void)
{
    enum { N = 12, ROUNDS = 200000 };
    uint8_t cmd[N * FW_COMMAND_JOINT_SIZE], wire[4096];
    size_t n;
    struct timespec t0, t1;
    cfg.motor_count = N;
    cfg.protocol_version = FW_PROTOCOL_VERSION;
    cfg.safe_mode = FW_MODE_DAMPING;
    cfg.watchdog_us = 0;
    for (int j = 0; j < N; ++j) {
        cfg.joint[j] = (fw_joint_limits){-3000000, 3000000, -2000000, 2000000, -3000000, 3000000,
                                         100.0f, 10.0f, 1.0f};
    }
    board.sensors.has_imu = 1;
    fw_device_init(&dev, &cfg, &board);
    n = frame(FW_MSG_HELLO, NULL, 0, wire);
    for (size_t i = 0; i < n; ++i) fw_device_rx_byte(&dev, wire[i], 0);
    n = frame(FW_MSG_ENABLE, NULL, 0, wire);
    for (size_t i = 0; i < n; ++i) fw_device_rx_byte(&dev, wire[i], 0);
    for (int j = 0; j < N; ++j) {
        float kp = 20.0f, kd = 0.5f;
        uint8_t *p = cmd + j * FW_COMMAND_JOINT_SIZE;
        memset(p, 0x11, FW_COMMAND_JOINT_SIZE);
        p[0] = FW_MODE_PD;
        memcpy(p + 13, &kp, 4);
        memcpy(p + 17, &kd, 4);
    }
    n = frame(FW_MSG_COMMAND, cmd, sizeof cmd, wire);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < ROUNDS; ++r) {
        board.tx_len = 0;
        for (size_t i = 0; i < n; ++i) fw_device_rx_byte(&dev, wire[i], (uint64_t)r);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("12 motors + IMU: COMMAND %zu B in, STATE %zu B out, %.0f ns per exchange\n", n,
           board.tx_len,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / ROUNDS);
    return 0;
}
