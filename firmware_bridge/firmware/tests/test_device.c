/* The device state machine: the shared session vectors byte by byte through
 * fw_device_rx_byte (the board path), then the safety properties directly. */
#include "cm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_device.h"
#include "test_board.h"
#include "vectors.h"

static fw_device g_dev;
static test_board g_board;
static fw_config g_cfg;

static void parse_ints(char *tok, int32_t *out, int n)
{
    char *items[FW_MAX_MOTORS];
    assert_int_equal(vec_split(tok, ',', items, FW_MAX_MOTORS), n);
    for (int i = 0; i < n; ++i) out[i] = (int32_t)vec_int(items[i]);
}

static void load_session(const vec_line *l)
{
    char *joints[FW_MAX_MOTORS];
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.motor_count = (uint8_t)vec_int(l->tok[1]);
    g_cfg.protocol_version = FW_PROTOCOL_VERSION;
    g_cfg.safe_mode = (uint8_t)vec_int(l->tok[2]);
    g_cfg.has_imu = (uint8_t)vec_int(l->tok[3]);
    g_cfg.watchdog_us = (uint32_t)vec_int(l->tok[4]);
    g_cfg.watchdog_ms = (uint16_t)vec_int(l->tok[5]);
    g_cfg.control_period_us = (uint32_t)vec_int(l->tok[6]);
    vec_hex(l->tok[7], g_cfg.spec_hash, sizeof g_cfg.spec_hash);
    g_cfg.firmware_id_len =
        (uint8_t)vec_hex(l->tok[8], (uint8_t *)g_cfg.firmware_id, sizeof g_cfg.firmware_id);
    assert_int_equal(vec_split(l->tok[9], ',', joints, FW_MAX_MOTORS), g_cfg.motor_count);
    for (int j = 0; j < g_cfg.motor_count; ++j) {
        char *f[9];
        fw_joint_limits *jl = &g_cfg.joint[j];
        assert_int_equal(vec_split(joints[j], ':', f, 9), 9);
        jl->q_lo = (int32_t)vec_int(f[0]);
        jl->q_hi = (int32_t)vec_int(f[1]);
        jl->qd_lo = (int32_t)vec_int(f[2]);
        jl->qd_hi = (int32_t)vec_int(f[3]);
        jl->tau_lo = (int32_t)vec_int(f[4]);
        jl->tau_hi = (int32_t)vec_int(f[5]);
        jl->kp_max = vec_f32(f[6]);
        jl->kd_max = vec_f32(f[7]);
        jl->kd_safe = vec_f32(f[8]);
    }
    memset(&g_board, 0, sizeof g_board);
    assert_int_equal(fw_device_init(&g_dev, &g_cfg, &g_board), 0);
}

static void check_active(char *tok)
{
    char *joints[FW_MAX_MOTORS];
    assert_int_equal(vec_split(tok, ',', joints, FW_MAX_MOTORS), g_cfg.motor_count);
    for (int j = 0; j < g_cfg.motor_count; ++j) {
        char *f[6];
        const fw_joint_cmd *a = &g_dev.active[j];
        assert_int_equal(vec_split(joints[j], ':', f, 6), 6);
        assert_int_equal(a->mode, vec_int(f[0]));
        assert_int_equal(a->q, vec_int(f[1]));
        assert_int_equal(a->qd, vec_int(f[2]));
        assert_int_equal(a->tau, vec_int(f[3]));
        assert_true(a->kp == vec_f32(f[4]));
        assert_true(a->kd == vec_f32(f[5]));
        /* What the board was told to hold is what the core holds. */
        assert_memory_equal(&g_board.outputs[j], a, sizeof *a);
    }
}

static void session_vectors(void **state)
{
    vec_line l;
    int sessions = 0, exchanges = 0;
    (void)state;
    vec_rewind();
    while (vec_next(NULL, &l)) {
        if (strcmp(l.kind, "session") == 0) {
            load_session(&l);
            sessions++;
        } else if (strcmp(l.kind, "sensors") == 0) {
            fw_sensors *s = &g_board.sensors;
            s->t_us = (uint64_t)vec_int(l.tok[0]);
            parse_ints(l.tok[1], s->q, g_cfg.motor_count);
            parse_ints(l.tok[2], s->qd, g_cfg.motor_count);
            parse_ints(l.tok[3], s->tau, g_cfg.motor_count);
            s->has_imu = strcmp(l.tok[4], "-") != 0;
            if (s->has_imu) {
                int32_t imu[10];
                parse_ints(l.tok[4], imu, 10);
                memcpy(s->quat, imu, sizeof s->quat);
                memcpy(s->gyro, imu + 4, sizeof s->gyro);
                memcpy(s->accel, imu + 7, sizeof s->accel);
            }
        } else if (strcmp(l.kind, "exchange") == 0) {
            size_t rlen, wlen;
            uint8_t *req = vec_hex_alloc(l.tok[1], &rlen);
            uint8_t *want = vec_hex_alloc(l.tok[2], &wlen);
            uint64_t now = (uint64_t)vec_int(l.tok[0]);
            g_board.tx_len = 0;
            for (size_t i = 0; i < rlen; ++i) fw_device_rx_byte(&g_dev, req[i], now);
            if (g_board.tx_len != wlen || memcmp(g_board.tx, want, wlen) != 0) {
                fail_msg("vectors.txt line %d: reply differs", l.line_no);
            }
            check_active(l.tok[3]);
            free(req);
            free(want);
            exchanges++;
        }
    }
    assert_true(sessions >= 2);
    assert_true(exchanges >= 30);
}

/* --- properties -------------------------------------------------------------------------- */

static void setup_two_motors(uint32_t watchdog_us)
{
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.motor_count = 2;
    g_cfg.protocol_version = FW_PROTOCOL_VERSION;
    g_cfg.safe_mode = FW_MODE_DAMPING;
    g_cfg.watchdog_us = watchdog_us;
    for (int j = 0; j < 2; ++j) {
        g_cfg.joint[j] = (fw_joint_limits){-1000000, 1000000, -500000, 500000, -200000, 200000,
                                           10.0f, 1.0f, 0.5f};
    }
    memset(&g_board, 0, sizeof g_board);
    assert_int_equal(fw_device_init(&g_dev, &g_cfg, &g_board), 0);
}

static fw_frame frame_of(uint8_t type, const uint8_t *payload, uint16_t len)
{
    fw_frame f = {FW_PROTOCOL_VERSION, type, 1, len, payload};
    return f;
}

static void put_cmd(uint8_t *p, uint8_t mode, int32_t q, float kp)
{
    memset(p, 0, FW_COMMAND_JOINT_SIZE);
    p[0] = mode;
    for (int i = 0; i < 4; ++i) p[1 + i] = (uint8_t)((uint32_t)q >> (8 * i));
    memcpy(p + 13, &kp, 4); /* the test host is little-endian */
}

static void boots_into_safe_state_and_tells_the_board(void **state)
{
    (void)state;
    setup_two_motors(100000);
    assert_int_equal(g_board.outputs_set, 1);
    for (int j = 0; j < 2; ++j) {
        assert_int_equal(g_board.outputs[j].mode, FW_MODE_DAMPING);
        assert_true(g_board.outputs[j].kd == 0.5f && g_board.outputs[j].kp == 0.0f);
    }
    assert_int_equal(fw_device_flags(&g_dev), 0);
}

static void watchdog_trips_after_the_limit_and_latches(void **state)
{
    uint8_t p[2 * FW_COMMAND_JOINT_SIZE];
    fw_frame f;
    (void)state;
    setup_two_motors(100000);
    f = frame_of(FW_MSG_HELLO, NULL, 0);
    fw_device_process(&g_dev, &f, 0);
    f = frame_of(FW_MSG_ENABLE, NULL, 0);
    fw_device_process(&g_dev, &f, 1000);
    put_cmd(p, FW_MODE_PD, 5000000, 99.0f); /* clamped to 1e6 and kp 10 */
    put_cmd(p + FW_COMMAND_JOINT_SIZE, FW_MODE_PD, 0, 1.0f);
    f = frame_of(FW_MSG_COMMAND, p, sizeof p);
    fw_device_process(&g_dev, &f, 2000);
    assert_int_equal(g_dev.reply_extra, FW_ST_CLAMPED);
    assert_int_equal(g_board.outputs[0].q, 1000000);
    assert_true(g_board.outputs[0].kp == 10.0f);
    assert_int_equal(fw_device_poll(&g_dev, 102000), 0); /* exactly the limit: not yet */
    assert_int_equal(fw_device_poll(&g_dev, 102001), 1);
    assert_int_equal(g_dev.trip_us, 102001);
    assert_int_equal(g_board.outputs[0].mode, FW_MODE_DAMPING);
    assert_int_equal(fw_device_flags(&g_dev), FW_ST_WATCHDOG | FW_ST_HANDSHAKE);
    f = frame_of(FW_MSG_HEARTBEAT, NULL, 0);
    fw_device_process(&g_dev, &f, 103000);
    f = frame_of(FW_MSG_COMMAND, p, sizeof p);
    fw_device_process(&g_dev, &f, 104000);
    assert_int_equal(g_dev.reply_extra, FW_ST_REJECTED);
    assert_int_equal(g_board.outputs[0].mode, FW_MODE_DAMPING); /* still safe */
    f = frame_of(FW_MSG_ENABLE, NULL, 0);
    fw_device_process(&g_dev, &f, 105000);
    assert_int_equal(fw_device_flags(&g_dev), FW_ST_ENABLED | FW_ST_HANDSHAKE);
    assert_int_equal(g_board.outputs[0].mode, FW_MODE_DAMPING); /* safe until a COMMAND */
    /* A clock read before the last feed is no gap at all. */
    assert_int_equal(fw_device_poll(&g_dev, 100), 0);
}

static void nothing_moves_before_hello_and_enable(void **state)
{
    uint8_t p[2 * FW_COMMAND_JOINT_SIZE];
    fw_frame f;
    (void)state;
    setup_two_motors(0);
    put_cmd(p, FW_MODE_PD, 1000, 1.0f);
    put_cmd(p + FW_COMMAND_JOINT_SIZE, FW_MODE_PD, 1000, 1.0f);
    f = frame_of(FW_MSG_COMMAND, p, sizeof p);
    assert_int_equal(fw_device_process(&g_dev, &f, 0), FW_MSG_ERROR);
    assert_int_equal(g_dev.err_code, FW_ERR_NO_HANDSHAKE);
    f = frame_of(FW_MSG_HELLO, NULL, 0);
    fw_device_process(&g_dev, &f, 0);
    f = frame_of(FW_MSG_COMMAND, p, sizeof p);
    assert_int_equal(fw_device_process(&g_dev, &f, 0), FW_MSG_STATE);
    assert_int_equal(g_dev.reply_extra, FW_ST_REJECTED);
    assert_int_equal(g_board.outputs[0].mode, FW_MODE_DAMPING);
    /* Watchdog off: no trip however long the gap. */
    f = frame_of(FW_MSG_ENABLE, NULL, 0);
    fw_device_process(&g_dev, &f, 0);
    assert_int_equal(fw_device_poll(&g_dev, UINT64_MAX), 0);
}

static void bad_values_are_refused_without_moving(void **state)
{
    uint8_t p[2 * FW_COMMAND_JOINT_SIZE];
    fw_frame f;
    (void)state;
    setup_two_motors(0);
    f = frame_of(FW_MSG_HELLO, NULL, 0);
    fw_device_process(&g_dev, &f, 0);
    f = frame_of(FW_MSG_ENABLE, NULL, 0);
    fw_device_process(&g_dev, &f, 0);
    put_cmd(p, FW_MODE_PD, 1000, 1.0f);
    put_cmd(p + FW_COMMAND_JOINT_SIZE, FW_MODE_PD, 1000, INFINITY);
    f = frame_of(FW_MSG_COMMAND, p, sizeof p);
    assert_int_equal(fw_device_process(&g_dev, &f, 0), FW_MSG_ERROR);
    assert_int_equal(g_dev.err_code, FW_ERR_BAD_VALUE);
    assert_int_equal(g_dev.err_detail, 1);
    put_cmd(p + FW_COMMAND_JOINT_SIZE, 7, 1000, 1.0f);
    assert_int_equal(fw_device_process(&g_dev, &f, 0), FW_MSG_ERROR);
    f = frame_of(FW_MSG_COMMAND, p, sizeof p - 1);
    assert_int_equal(fw_device_process(&g_dev, &f, 0), FW_MSG_ERROR);
    assert_int_equal(g_dev.err_code, FW_ERR_BAD_LENGTH);
    assert_int_equal(g_board.outputs[0].mode, FW_MODE_DAMPING);
    assert_int_equal(g_dev.commands_applied, 0);
}

static void config_is_validated(void **state)
{
    (void)state;
    setup_two_motors(0);
    g_cfg.safe_mode = FW_MODE_PD; /* a "safe" state that holds position is refused */
    assert_int_equal(fw_device_init(&g_dev, &g_cfg, &g_board), -1);
    g_cfg.safe_mode = FW_MODE_OFF;
    g_cfg.motor_count = 0;
    assert_int_equal(fw_device_init(&g_dev, &g_cfg, &g_board), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(session_vectors),
        cmocka_unit_test(boots_into_safe_state_and_tells_the_board),
        cmocka_unit_test(watchdog_trips_after_the_limit_and_latches),
        cmocka_unit_test(nothing_moves_before_hello_and_enable),
        cmocka_unit_test(bad_values_are_refused_without_moving),
        cmocka_unit_test(config_is_validated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
