/* The records that cross the hardware seam and the configuration, all in wire units. */
#ifndef FW_TYPES_H
#define FW_TYPES_H

#include <stdint.h>

#include "fw_wire.h"

/* One joint's motor command: the COMMAND record after limiting. The board runs
 *   PD:      tau = kp (q - q_meas) + kd (qd - qd_meas) + tau
 *   DAMPING: tau = -kd qd_meas
 *   OFF:     tau = 0
 * with q in 1e-6 rad, qd in 1e-5 rad/s, tau in 1e-5 N m (FW_*_LSB), gains in SI. */
typedef struct {
    uint8_t mode; /* enum fw_mode */
    int32_t q;
    int32_t qd;
    int32_t tau;
    float kp; /* N m/rad, >= 0 */
    float kd; /* N m s/rad, >= 0 */
} fw_joint_cmd;

/* One measurement, in the same fixed-point units as the STATE frame (encoders are integers
 * anyway; fw_quantize() converts SI floats for boards that have them). */
typedef struct {
    uint64_t t_us; /* sample time */
    int32_t q[FW_MAX_MOTORS];
    int32_t qd[FW_MAX_MOTORS];
    int32_t tau[FW_MAX_MOTORS];
    uint8_t has_imu;
    int32_t quat[4];  /* x y z w, 1e-9 */
    int32_t gyro[3];  /* 1e-6 rad/s */
    int32_t accel[3]; /* 1e-5 m/s^2 */
} fw_sensors;

/* Per-joint limits. Bounds of q, qd and tau are wire integers: a target outside
 * [lo, hi] is clamped to the bound, so the limit holds exactly in the units the motor gets.
 * firmware-config computes them so that "clamped" here means exactly what it means in
 * firmware_bridge/device.py (value / LSB outside the SI limit). */
typedef struct {
    int32_t q_lo, q_hi;
    int32_t qd_lo, qd_hi;
    int32_t tau_lo, tau_hi;
    float kp_max;  /* gains are clamped to [0, max] */
    float kd_max;
    float kd_safe; /* damping gain of the safe command */
} fw_joint_limits;

typedef struct {
    uint8_t motor_count;      /* 1..FW_MAX_MOTORS */
    uint8_t protocol_version; /* FW_PROTOCOL_VERSION (settable only to test mismatches) */
    uint8_t safe_mode;        /* FW_MODE_DAMPING or FW_MODE_OFF */
    uint8_t has_imu;          /* announced in HELLO_REPLY */
    uint32_t watchdog_us;     /* max gap between COMMAND/HEARTBEAT while enabled; 0 = off */
    uint16_t watchdog_ms;     /* what HELLO_REPLY announces (watchdog_us rounded) */
    uint32_t control_period_us;
    uint8_t spec_hash[FW_SPEC_HASH_SIZE];
    uint8_t firmware_id_len; /* <= FW_FIRMWARE_ID_MAX */
    char firmware_id[FW_FIRMWARE_ID_MAX];
    fw_joint_limits joint[FW_MAX_MOTORS];
} fw_config;

#endif
