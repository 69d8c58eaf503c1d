#include "fw_device.h"

#include <math.h>
#include <string.h>

#include "fw_codec.h"
#include "fw_port.h"

/* --- error texts, identical to device.py's (a tiny formatter: no printf on the target) --- */

typedef struct {
    char *buf;
    size_t len;
} text;

static void t_str(text *t, const char *s)
{
    while (*s && t->len < FW_ERROR_TEXT_MAX) {
        t->buf[t->len++] = *s++;
    }
}

static void t_uint(text *t, uint32_t v)
{
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n-- > 0 && t->len < FW_ERROR_TEXT_MAX) {
        t->buf[t->len++] = digits[n];
    }
}

static void t_hex2(text *t, uint8_t v)
{
    static const char k_hex[] = "0123456789abcdef";
    t_str(t, "0x");
    if (t->len + 2 <= FW_ERROR_TEXT_MAX) {
        t->buf[t->len++] = k_hex[v >> 4];
        t->buf[t->len++] = k_hex[v & 0x0F];
    }
}

static text error_reply(fw_device *d, uint16_t seq, uint16_t code, int32_t detail)
{
    d->reply_type = FW_MSG_ERROR;
    d->reply_seq = seq;
    d->err_code = code;
    d->err_detail = detail;
    return (text){d->err_text, 0};
}

static uint8_t finish_error(fw_device *d, const text *t)
{
    d->err_len = (uint8_t)t->len;
    return FW_MSG_ERROR;
}

static uint8_t no_handshake(fw_device *d, const fw_frame *f)
{
    text t = error_reply(d, f->seq, FW_ERR_NO_HANDSHAKE, f->msg_type);
    t_str(&t, "message ");
    t_hex2(&t, f->msg_type);
    t_str(&t, " before HELLO: connect first");
    return finish_error(d, &t);
}

/* --- state -------------------------------------------------------------------------------- */

static void safe_command(const fw_config *cfg, fw_joint_cmd *out)
{
    for (uint8_t j = 0; j < cfg->motor_count; ++j) {
        out[j] = (fw_joint_cmd){0};
        out[j].mode = cfg->safe_mode;
        if (cfg->safe_mode == FW_MODE_DAMPING) {
            out[j].kd = cfg->joint[j].kd_safe;
        }
    }
}

static void hold_safe(fw_device *d)
{
    safe_command(d->cfg, d->active);
    fw_port_set_outputs(d->board, d->active, d->cfg->motor_count);
}

static void disable(fw_device *d)
{
    d->enabled = 0;
    hold_safe(d);
}

static uint8_t state_reply(fw_device *d, uint16_t seq, uint16_t extra)
{
    d->reply_type = FW_MSG_STATE;
    d->reply_seq = seq;
    d->reply_extra = extra;
    return FW_MSG_STATE;
}

int fw_device_init(fw_device *d, const fw_config *cfg, void *board)
{
    if (cfg->motor_count == 0 || cfg->motor_count > FW_MAX_MOTORS ||
        (cfg->safe_mode != FW_MODE_DAMPING && cfg->safe_mode != FW_MODE_OFF) ||
        cfg->firmware_id_len > FW_FIRMWARE_ID_MAX) {
        return -1;
    }
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    d->board = board;
    fw_decoder_init(&d->rx);
    hold_safe(d);
    return 0;
}

int fw_device_poll(fw_device *d, uint64_t now_us)
{
    uint32_t wd = d->cfg->watchdog_us;
    /* now < last_feed (a clock read before the feed) is no gap at all, not a wrap-around. */
    if (d->enabled && wd > 0 && now_us > d->last_feed_us && now_us - d->last_feed_us > wd) {
        disable(d);
        d->watchdog_tripped = 1;
        d->trip_us = now_us;
        d->tripped_ever = 1;
        return 1;
    }
    return 0;
}

uint16_t fw_device_flags(const fw_device *d)
{
    uint16_t f = 0;
    if (d->enabled) f |= FW_ST_ENABLED;
    if (d->watchdog_tripped) f |= FW_ST_WATCHDOG;
    if (d->faulted) f |= FW_ST_FAULT;
    if (d->estopped) f |= FW_ST_ESTOP;
    if (d->handshake) f |= FW_ST_HANDSHAKE;
    return f;
}

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v; /* lower bound first, then upper: as np.minimum(np.maximum(..)) */
    return v > hi ? hi : v;
}

static float clamp_gain(float v, float hi)
{
    v = v < 0.0f ? 0.0f : v;
    return v > hi ? hi : v;
}

int fw_limit_joint(const fw_joint_limits *lim, const fw_joint_cmd *in, fw_joint_cmd *out)
{
    fw_joint_cmd o;
    o.mode = in->mode;
    o.q = clamp_i32(in->q, lim->q_lo, lim->q_hi);
    o.qd = clamp_i32(in->qd, lim->qd_lo, lim->qd_hi);
    o.tau = clamp_i32(in->tau, lim->tau_lo, lim->tau_hi);
    o.kp = clamp_gain(in->kp, lim->kp_max);
    o.kd = clamp_gain(in->kd, lim->kd_max);
    *out = o;
    return o.q != in->q || o.qd != in->qd || o.tau != in->tau || o.kp != in->kp ||
           o.kd != in->kd;
}

static uint8_t on_command(fw_device *d, const fw_frame *f, uint64_t now_us)
{
    const fw_config *cfg = d->cfg;
    fw_joint_cmd cmd[FW_MAX_MOTORS];
    uint16_t extra = 0;
    if (!d->handshake) {
        return no_handshake(d, f);
    }
    if (fw_command_decode(f->payload, f->payload_len, cfg->motor_count, cmd) != 0) {
        text t = error_reply(d, f->seq, FW_ERR_BAD_LENGTH, f->payload_len);
        t_str(&t, "COMMAND payload is ");
        t_uint(&t, f->payload_len);
        t_str(&t, " bytes, expected ");
        t_uint(&t, (uint32_t)cfg->motor_count * FW_COMMAND_JOINT_SIZE);
        return finish_error(d, &t);
    }
    for (uint8_t j = 0; j < cfg->motor_count; ++j) {
        if (cmd[j].mode > FW_MODE_DAMPING) {
            text t = error_reply(d, f->seq, FW_ERR_BAD_VALUE, j);
            t_str(&t, "joint ");
            t_uint(&t, j);
            t_str(&t, ": bad mode ");
            t_uint(&t, cmd[j].mode);
            return finish_error(d, &t);
        }
    }
    for (uint8_t j = 0; j < cfg->motor_count; ++j) {
        if (!isfinite(cmd[j].kp) || !isfinite(cmd[j].kd)) {
            text t = error_reply(d, f->seq, FW_ERR_BAD_VALUE, j);
            t_str(&t, "joint ");
            t_uint(&t, j);
            t_str(&t, ": non-finite gain");
            return finish_error(d, &t);
        }
    }
    if (d->enabled) {
        int clamped = 0;
        for (uint8_t j = 0; j < cfg->motor_count; ++j) {
            clamped |= fw_limit_joint(&cfg->joint[j], &cmd[j], &d->active[j]);
        }
        fw_port_set_outputs(d->board, d->active, cfg->motor_count);
        d->last_feed_us = now_us;
        d->commands_applied++;
        if (clamped) {
            extra |= FW_ST_CLAMPED;
        }
    } else {
        extra |= FW_ST_REJECTED;
        d->commands_rejected++;
    }
    return state_reply(d, f->seq, extra);
}

uint8_t fw_device_process(fw_device *d, const fw_frame *f, uint64_t now_us)
{
    uint8_t pv = d->cfg->protocol_version;
    fw_device_poll(d, now_us);
    d->reply_extra = 0;
    if (f->version != pv) {
        text t = error_reply(d, f->seq, FW_ERR_VERSION_MISMATCH, (int32_t)((pv << 8) | f->version));
        t_str(&t, "protocol version mismatch: host speaks v");
        t_uint(&t, f->version);
        t_str(&t, ", device speaks v");
        t_uint(&t, pv);
        return finish_error(d, &t);
    }
    switch (f->msg_type) {
    case FW_MSG_COMMAND:
        return on_command(d, f, now_us);
    case FW_MSG_HEARTBEAT:
        if (!d->handshake) {
            return no_handshake(d, f);
        }
        if (d->enabled) {
            d->last_feed_us = now_us;
        }
        return state_reply(d, f->seq, 0);
    case FW_MSG_GET_STATE:
        return state_reply(d, f->seq, 0);
    case FW_MSG_HELLO:
        d->handshake = 1;
        disable(d);
        d->reply_type = FW_MSG_HELLO_REPLY;
        d->reply_seq = f->seq;
        return FW_MSG_HELLO_REPLY;
    case FW_MSG_ENABLE:
        if (!d->handshake) {
            return no_handshake(d, f);
        }
        d->enabled = 1;
        d->watchdog_tripped = d->estopped = d->faulted = 0;
        d->fault_code = 0;
        d->last_feed_us = now_us;
        hold_safe(d); /* until the first COMMAND */
        return state_reply(d, f->seq, 0);
    case FW_MSG_DISABLE:
        disable(d);
        return state_reply(d, f->seq, 0);
    case FW_MSG_ESTOP:
        disable(d);
        d->estopped = 1;
        return state_reply(d, f->seq, 0);
    default: {
        text t = error_reply(d, f->seq, FW_ERR_UNKNOWN_TYPE, f->msg_type);
        t_str(&t, "unknown request type ");
        t_hex2(&t, f->msg_type);
        return finish_error(d, &t);
    }
    }
}

size_t fw_device_reply(fw_device *d, uint8_t *out, size_t cap)
{
    const fw_config *cfg = d->cfg;
    size_t n;
    switch (d->reply_type) {
    case FW_MSG_STATE:
        fw_port_read_sensors(d->board, &d->sensors);
        n = fw_state_encode(&d->sensors, (uint16_t)(fw_device_flags(d) | d->reply_extra),
                            d->fault_code, cfg->motor_count, d->payload);
        break;
    case FW_MSG_HELLO_REPLY:
        n = fw_hello_reply_encode(cfg, d->payload);
        break;
    case FW_MSG_ERROR:
        n = fw_error_encode(d->err_code, d->err_detail, d->err_text, d->err_len, d->payload);
        break;
    default:
        return 0;
    }
    return fw_frame_encode(cfg->protocol_version, d->reply_type, d->reply_seq, d->payload, n,
                           out, cap);
}

void fw_device_rx_byte(fw_device *d, uint8_t byte, uint64_t now_us)
{
    fw_frame f;
    if (fw_decoder_push(&d->rx, byte, &f) != FW_PUSH_FRAME) {
        return;
    }
    fw_device_process(d, &f, now_us);
    {
        size_t n = fw_device_reply(d, d->tx, sizeof d->tx);
        if (n) {
            fw_port_uart_write(d->board, d->tx, n);
        }
    }
}
