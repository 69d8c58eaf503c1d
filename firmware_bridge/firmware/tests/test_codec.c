/* Payload codecs against the shared message vectors. */
#include "cm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_codec.h"
#include "vectors.h"

static void parse_ints(char *tok, int32_t *out, int n)
{
    char *items[FW_MAX_MOTORS];
    assert_int_equal(vec_split(tok, ',', items, FW_MAX_MOTORS), n);
    for (int i = 0; i < n; ++i) out[i] = (int32_t)vec_int(items[i]);
}

static void command_vectors(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("command", &l)) {
        uint8_t motors = (uint8_t)vec_int(l.tok[0]);
        uint8_t p[FW_MAX_MOTORS * FW_COMMAND_JOINT_SIZE];
        size_t len = vec_hex(l.tok[1], p, sizeof p);
        fw_joint_cmd cmd[FW_MAX_MOTORS];
        char *joints[FW_MAX_MOTORS];
        assert_int_equal(vec_split(l.tok[2], ',', joints, FW_MAX_MOTORS), motors);
        assert_int_equal(fw_command_decode(p, len, motors, cmd), 0);
        for (int j = 0; j < motors; ++j) {
            char *f[6];
            assert_int_equal(vec_split(joints[j], ':', f, 6), 6);
            assert_int_equal(cmd[j].mode, vec_int(f[0]));
            assert_int_equal(cmd[j].q, vec_int(f[1]));
            assert_int_equal(cmd[j].qd, vec_int(f[2]));
            assert_int_equal(cmd[j].tau, vec_int(f[3]));
            assert_true(cmd[j].kp == vec_f32(f[4]));
            assert_true(cmd[j].kd == vec_f32(f[5]));
        }
        /* Any other length is refused before a byte is read. */
        assert_int_equal(fw_command_decode(p, len - 1, motors, cmd), -1);
        assert_int_equal(fw_command_decode(p, len + 1, motors, cmd), -1);
        n++;
    }
    assert_true(n >= 3);
}

static void state_vectors(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("state", &l)) {
        uint8_t motors = (uint8_t)vec_int(l.tok[0]);
        static fw_sensors s;
        uint8_t want[FW_REPLY_PAYLOAD_CAP], got[FW_REPLY_PAYLOAD_CAP];
        size_t wlen;
        memset(&s, 0, sizeof s);
        s.t_us = (uint64_t)vec_int(l.tok[1]);
        parse_ints(l.tok[4], s.q, motors);
        parse_ints(l.tok[5], s.qd, motors);
        parse_ints(l.tok[6], s.tau, motors);
        if (strcmp(l.tok[7], "-") != 0) {
            int32_t imu[10];
            parse_ints(l.tok[7], imu, 10);
            s.has_imu = 1;
            memcpy(s.quat, imu, sizeof s.quat);
            memcpy(s.gyro, imu + 4, sizeof s.gyro);
            memcpy(s.accel, imu + 7, sizeof s.accel);
        }
        wlen = vec_hex(l.tok[8], want, sizeof want);
        assert_int_equal(fw_state_encode(&s, (uint16_t)vec_int(l.tok[2]), (uint16_t)vec_int(l.tok[3]),
                                         motors, got),
                         wlen);
        assert_memory_equal(got, want, wlen);
        n++;
    }
    assert_true(n >= 3);
}

static void hello_vectors(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("hello", &l)) {
        static fw_config c;
        uint8_t want[128], got[128];
        size_t wlen;
        memset(&c, 0, sizeof c);
        c.motor_count = (uint8_t)vec_int(l.tok[0]);
        c.has_imu = (uint8_t)vec_int(l.tok[1]);
        c.watchdog_ms = (uint16_t)vec_int(l.tok[2]);
        c.control_period_us = (uint32_t)vec_int(l.tok[3]);
        vec_hex(l.tok[4], c.spec_hash, sizeof c.spec_hash);
        c.firmware_id_len = (uint8_t)vec_hex(l.tok[5], (uint8_t *)c.firmware_id, sizeof c.firmware_id);
        wlen = vec_hex(l.tok[6], want, sizeof want);
        assert_int_equal(fw_hello_reply_encode(&c, got), wlen);
        assert_memory_equal(got, want, wlen);
        n++;
    }
    assert_true(n >= 3);
}

static void error_vectors(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("error", &l)) {
        uint8_t text[256], want[256], got[256];
        size_t tlen = vec_hex(l.tok[2], text, sizeof text);
        size_t wlen = vec_hex(l.tok[3], want, sizeof want);
        assert_int_equal(fw_error_encode((uint16_t)vec_int(l.tok[0]), (int32_t)vec_int(l.tok[1]),
                                         (const char *)text, tlen, got),
                         wlen);
        assert_memory_equal(got, want, wlen);
        n++;
    }
    assert_true(n >= 4);
}

static void quantize_saturates_and_rounds_half_to_even(void **state)
{
    (void)state;
    assert_int_equal(fw_quantize(1e9, 1e6), INT32_MAX);
    assert_int_equal(fw_quantize(-1e9, 1e6), INT32_MIN);
    assert_int_equal(fw_quantize(NAN, 1e6), INT32_MIN);
    assert_int_equal(fw_quantize(2.5e-6, 1e6), 2);
    assert_int_equal(fw_quantize(-0.1, 1e6), -100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(command_vectors), cmocka_unit_test(state_vectors),
        cmocka_unit_test(hello_vectors), cmocka_unit_test(error_vectors),
        cmocka_unit_test(quantize_saturates_and_rounds_half_to_even),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
