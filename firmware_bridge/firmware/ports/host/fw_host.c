/* Host port: the seam backed by memory, plus a flat C API for Python's ctypes
 * (firmware_bridge/c_device.py). Not part of the firmware: it uses the heap so that Python
 * need not mirror struct layouts, and it runs only on the development machine.
 *
 * The board here is a struct: Python writes the plant's reading into `sensors` before a
 * STATE is built and reads the held command back; bytes the core "transmits" are appended
 * to a caller buffer. */
#include <stdlib.h>
#include <string.h>

#include "fw_device.h"
#include "fw_port.h"

#if defined(_WIN32)
#define FWH_API __declspec(dllexport)
#else
#define FWH_API __attribute__((visibility("default")))
#endif

typedef struct {
    fw_sensors sensors;
    uint32_t outputs_set; /* fw_port_set_outputs calls */
    uint8_t *tx;          /* where fw_port_uart_write appends (fwh_feed's out) */
    size_t tx_cap, tx_len;
    int tx_overflow;
} host_board;

typedef struct {
    fw_device dev;
    fw_config cfg;
    host_board board;
} host_device;

void fw_port_uart_write(void *board, const uint8_t *data, size_t len)
{
    host_board *b = board;
    if (b->tx == NULL || len > b->tx_cap - b->tx_len) {
        b->tx_overflow = 1;
        return;
    }
    memcpy(b->tx + b->tx_len, data, len);
    b->tx_len += len;
}

uint64_t fw_port_micros(void *board)
{
    (void)board;
    return 0; /* unused: the host passes time explicitly */
}

void fw_port_set_outputs(void *board, const fw_joint_cmd *cmd, uint8_t motor_count)
{
    (void)cmd;
    (void)motor_count;
    ((host_board *)board)->outputs_set++;
}

void fw_port_read_sensors(void *board, fw_sensors *out)
{
    *out = ((host_board *)board)->sensors;
}

/* --- device -------------------------------------------------------------------------------- */

FWH_API int fwh_max_motors(void) { return FW_MAX_MOTORS; }
FWH_API size_t fwh_max_reply_wire(void) { return FW_MAX_REPLY_WIRE; }

FWH_API void *fwh_device_new(void) { return calloc(1, sizeof(host_device)); }
FWH_API void fwh_device_free(void *h) { free(h); }

FWH_API void fwh_config(void *h, uint8_t motor_count, uint8_t protocol_version, uint8_t safe_mode,
                        uint8_t has_imu, uint32_t watchdog_us, uint16_t watchdog_ms,
                        uint32_t control_period_us, const uint8_t *spec_hash,
                        const char *firmware_id, uint8_t firmware_id_len)
{
    fw_config *c = &((host_device *)h)->cfg;
    c->motor_count = motor_count;
    c->protocol_version = protocol_version;
    c->safe_mode = safe_mode;
    c->has_imu = has_imu;
    c->watchdog_us = watchdog_us;
    c->watchdog_ms = watchdog_ms;
    c->control_period_us = control_period_us;
    memcpy(c->spec_hash, spec_hash, FW_SPEC_HASH_SIZE);
    c->firmware_id_len = firmware_id_len > FW_FIRMWARE_ID_MAX ? FW_FIRMWARE_ID_MAX : firmware_id_len;
    memcpy(c->firmware_id, firmware_id, c->firmware_id_len);
}

FWH_API int fwh_config_joint(void *h, int j, const int32_t *bounds6, float kp_max, float kd_max,
                             float kd_safe)
{
    fw_joint_limits *l;
    if (j < 0 || j >= (int)FW_MAX_MOTORS) {
        return -1;
    }
    l = &((host_device *)h)->cfg.joint[j];
    l->q_lo = bounds6[0];
    l->q_hi = bounds6[1];
    l->qd_lo = bounds6[2];
    l->qd_hi = bounds6[3];
    l->tau_lo = bounds6[4];
    l->tau_hi = bounds6[5];
    l->kp_max = kp_max;
    l->kd_max = kd_max;
    l->kd_safe = kd_safe;
    return 0;
}

FWH_API int fwh_init(void *h)
{
    host_device *d = h;
    return fw_device_init(&d->dev, &d->cfg, &d->board);
}

FWH_API int fwh_poll(void *h, uint64_t now_us) { return fw_device_poll(&((host_device *)h)->dev, now_us); }

FWH_API uint8_t fwh_process(void *h, uint8_t version, uint8_t msg_type, uint16_t seq,
                            const uint8_t *payload, uint16_t len, uint64_t now_us)
{
    fw_frame f = {version, msg_type, seq, len, payload};
    return fw_device_process(&((host_device *)h)->dev, &f, now_us);
}

FWH_API void fwh_set_sensors(void *h, uint64_t t_us, const int32_t *q, const int32_t *qd,
                             const int32_t *tau, int has_imu, const int32_t *imu10)
{
    host_device *d = h;
    fw_sensors *s = &d->board.sensors;
    size_t n = d->cfg.motor_count;
    s->t_us = t_us;
    memcpy(s->q, q, n * sizeof *q);
    memcpy(s->qd, qd, n * sizeof *qd);
    memcpy(s->tau, tau, n * sizeof *tau);
    s->has_imu = has_imu ? 1 : 0;
    if (has_imu) {
        memcpy(s->quat, imu10, 4 * sizeof *imu10);
        memcpy(s->gyro, imu10 + 4, 3 * sizeof *imu10);
        memcpy(s->accel, imu10 + 7, 3 * sizeof *imu10);
    }
}

FWH_API size_t fwh_reply(void *h, uint8_t *out, size_t cap)
{
    return fw_device_reply(&((host_device *)h)->dev, out, cap);
}

/* The ISR path: every byte through the device's own decoder; replies appended to out.
 * Returns the reply bytes written, or (size_t)-1 if out was too small. */
FWH_API size_t fwh_feed(void *h, const uint8_t *data, size_t n, uint64_t now_us, uint8_t *out,
                        size_t cap)
{
    host_device *d = h;
    d->board.tx = out;
    d->board.tx_cap = cap;
    d->board.tx_len = 0;
    d->board.tx_overflow = 0;
    for (size_t i = 0; i < n; ++i) {
        fw_device_rx_byte(&d->dev, data[i], now_us);
    }
    d->board.tx = NULL;
    return d->board.tx_overflow ? (size_t)-1 : d->board.tx_len;
}

FWH_API void fwh_active(void *h, uint8_t *mode, int32_t *q, int32_t *qd, int32_t *tau, float *kp,
                        float *kd)
{
    host_device *d = h;
    for (uint8_t j = 0; j < d->cfg.motor_count; ++j) {
        const fw_joint_cmd *c = &d->dev.active[j];
        mode[j] = c->mode;
        q[j] = c->q;
        qd[j] = c->qd;
        tau[j] = c->tau;
        kp[j] = c->kp;
        kd[j] = c->kd;
    }
}

/* handshake, enabled, watchdog, estop, fault, fault_code, tripped_ever, applied, rejected,
 * outputs_set */
FWH_API void fwh_status(void *h, uint32_t *out10, uint64_t *times2)
{
    host_device *d = h;
    const fw_device *v = &d->dev;
    out10[0] = v->handshake;
    out10[1] = v->enabled;
    out10[2] = v->watchdog_tripped;
    out10[3] = v->estopped;
    out10[4] = v->faulted;
    out10[5] = v->fault_code;
    out10[6] = v->tripped_ever;
    out10[7] = v->commands_applied;
    out10[8] = v->commands_rejected;
    out10[9] = d->board.outputs_set;
    times2[0] = v->last_feed_us;
    times2[1] = v->trip_us;
}

/* --- stand-alone decoder ---------------------------------------------------------------------- */

FWH_API void *fwh_decoder_new(void)
{
    fw_decoder *d = malloc(sizeof *d);
    if (d) {
        fw_decoder_init(d);
    }
    return d;
}

FWH_API void fwh_decoder_free(void *d) { free(d); }
FWH_API void fwh_decoder_reset(void *d) { fw_decoder_reset(d); }
FWH_API size_t fwh_decoder_pending(void *d) { return fw_decoder_pending(d); }

FWH_API void fwh_decoder_stats(void *d, uint32_t *out8)
{
    const fw_decoder_stats *s = &((fw_decoder *)d)->stats;
    const uint32_t v[8] = {s->bytes_in, s->frames_ok, s->frames_bad, s->cobs_errors,
                           s->crc_errors, s->length_errors, s->overlong, s->resyncs};
    memcpy(out8, v, sizeof v);
}

/* Decoded frames are written to out as records [version u8, type u8, seq u16, len u16,
 * payload]; a record is never longer than the wire bytes it came from, so cap = n + 6 is
 * always enough. Returns the bytes written; *frames gets the count. */
FWH_API size_t fwh_decoder_feed(void *d, const uint8_t *data, size_t n, uint8_t *out, size_t cap,
                                uint32_t *frames)
{
    size_t o = 0;
    fw_frame f;
    *frames = 0;
    for (size_t i = 0; i < n; ++i) {
        if (fw_decoder_push(d, data[i], &f) != FW_PUSH_FRAME) {
            continue;
        }
        if (o + 6u + f.payload_len > cap) {
            return (size_t)-1;
        }
        out[o] = f.version;
        out[o + 1] = f.msg_type;
        out[o + 2] = (uint8_t)f.seq;
        out[o + 3] = (uint8_t)(f.seq >> 8);
        out[o + 4] = (uint8_t)f.payload_len;
        out[o + 5] = (uint8_t)(f.payload_len >> 8);
        memcpy(out + o + 6, f.payload, f.payload_len);
        o += 6u + f.payload_len;
        ++*frames;
    }
    return o;
}

/* --- pieces, for tests ------------------------------------------------------------------------ */

#include "fw_cobs.h"
#include "fw_crc.h"

FWH_API size_t fwh_cobs_encode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    return fw_cobs_encode(in, n, out, cap);
}

FWH_API uint32_t fwh_crc32(const uint8_t *in, size_t n) { return fw_crc32(in, n); }
