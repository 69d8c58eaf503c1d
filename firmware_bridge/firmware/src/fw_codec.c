#include "fw_codec.h"

#include <math.h>

#include "fw_bytes.h"

int fw_command_decode(const uint8_t *payload, size_t len, uint8_t motor_count, fw_joint_cmd *out)
{
    if (motor_count == 0 || motor_count > FW_MAX_MOTORS ||
        len != (size_t)motor_count * FW_COMMAND_JOINT_SIZE) {
        return -1;
    }
    for (uint8_t j = 0; j < motor_count; ++j) {
        const uint8_t *p = payload + (size_t)j * FW_COMMAND_JOINT_SIZE;
        out[j].mode = p[0];
        out[j].q = fw_get_i32(p + 1);
        out[j].qd = fw_get_i32(p + 5);
        out[j].tau = fw_get_i32(p + 9);
        out[j].kp = fw_get_f32(p + 13);
        out[j].kd = fw_get_f32(p + 17);
    }
    return 0;
}

size_t fw_state_encode(const fw_sensors *s, uint16_t flags, uint16_t fault_code,
                       uint8_t motor_count, uint8_t *out)
{
    uint8_t *p = out + FW_STATE_HEAD_SIZE;
    flags = s->has_imu ? (uint16_t)(flags | FW_ST_IMU) : (uint16_t)(flags & ~FW_ST_IMU);
    fw_put_u64(out, s->t_us);
    fw_put_u16(out + 8, flags);
    fw_put_u16(out + 10, fault_code);
    for (uint8_t j = 0; j < motor_count && j < FW_MAX_MOTORS; ++j) {
        fw_put_i32(p, s->q[j]);
        fw_put_i32(p + 4, s->qd[j]);
        fw_put_i32(p + 8, s->tau[j]);
        p += FW_STATE_JOINT_SIZE;
    }
    if (s->has_imu) {
        for (int i = 0; i < 4; ++i, p += 4) {
            fw_put_i32(p, s->quat[i]);
        }
        for (int i = 0; i < 3; ++i, p += 4) {
            fw_put_i32(p, s->gyro[i]);
        }
        for (int i = 0; i < 3; ++i, p += 4) {
            fw_put_i32(p, s->accel[i]);
        }
    }
    return (size_t)(p - out);
}

size_t fw_hello_reply_encode(const fw_config *cfg, uint8_t *out)
{
    uint8_t n = cfg->firmware_id_len > FW_FIRMWARE_ID_MAX ? FW_FIRMWARE_ID_MAX
                                                         : cfg->firmware_id_len;
    out[0] = cfg->motor_count;
    out[1] = cfg->has_imu ? FW_CAP_IMU : 0u;
    fw_put_u16(out + 2, cfg->watchdog_ms);
    fw_put_u32(out + 4, cfg->control_period_us);
    memcpy(out + 8, cfg->spec_hash, FW_SPEC_HASH_SIZE);
    out[16] = n;
    memcpy(out + FW_HELLO_HEAD_SIZE, cfg->firmware_id, n);
    return FW_HELLO_HEAD_SIZE + n;
}

size_t fw_error_encode(uint16_t code, int32_t detail, const char *text, size_t text_len,
                       uint8_t *out)
{
    size_t n = text_len > FW_ERROR_TEXT_MAX ? FW_ERROR_TEXT_MAX : text_len;
    fw_put_u16(out, code);
    fw_put_i32(out + 2, detail);
    out[6] = (uint8_t)n;
    memcpy(out + FW_ERROR_HEAD_SIZE, text, n);
    return FW_ERROR_HEAD_SIZE + n;
}

int32_t fw_quantize(double x, double lsb_per_unit)
{
    double v = x * lsb_per_unit;
    if (isnan(v) || v <= -2147483648.0) {
        return INT32_MIN;
    }
    if (v >= 2147483647.0) {
        return INT32_MAX;
    }
    return (int32_t)nearbyint(v); /* ties to even in the default rounding mode, like np.rint */
}
