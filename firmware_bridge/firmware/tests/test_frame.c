/* Frame encoder and byte-at-a-time decoder against the shared frame and stream vectors. */
#include "cm.h"

#include <stdlib.h>
#include <string.h>

#include "fw_frame.h"
#include "vectors.h"

static fw_decoder g_dec;

static void frame_vectors(void **state)
{
    vec_line l;
    int n = 0;
    static uint8_t out[FW_MAX_WIRE_FRAME + 1];
    (void)state;
    vec_rewind();
    while (vec_next("frame", &l)) {
        size_t plen, wlen, got;
        uint8_t *payload = vec_hex_alloc(l.tok[3], &plen);
        uint8_t *wire = vec_hex_alloc(l.tok[4], &wlen);
        fw_frame f;
        int frames = 0;
        got = fw_frame_encode((uint8_t)vec_int(l.tok[0]), (uint8_t)vec_int(l.tok[1]),
                              (uint16_t)vec_int(l.tok[2]), payload, plen, out, sizeof out);
        assert_int_equal(got, wlen);
        assert_memory_equal(out, wire, wlen);
        fw_decoder_init(&g_dec);
        for (size_t i = 0; i < wlen; ++i) {
            if (fw_decoder_push(&g_dec, wire[i], &f) == FW_PUSH_FRAME) {
                frames++;
                assert_int_equal(i, wlen - 1);
                assert_int_equal(f.version, vec_int(l.tok[0]));
                assert_int_equal(f.msg_type, vec_int(l.tok[1]));
                assert_int_equal(f.seq, vec_int(l.tok[2]));
                assert_int_equal(f.payload_len, plen);
                if (plen) assert_memory_equal(f.payload, payload, plen);
            }
        }
        assert_int_equal(frames, 1);
        free(payload);
        free(wire);
        n++;
    }
    assert_true(n >= 20);
}

static void stream_vectors(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("stream", &l)) {
        size_t wlen;
        uint8_t *wire = vec_hex_alloc(l.tok[0], &wlen);
        char *items[64];
        int want = vec_split(l.tok[6], ',', items, 64), got = 0;
        fw_frame f;
        fw_decoder_init(&g_dec);
        for (size_t i = 0; i < wlen; ++i) {
            if (fw_decoder_push(&g_dec, wire[i], &f) != FW_PUSH_FRAME) continue;
            {
                char *fld[4];
                uint8_t p[FW_MAX_PAYLOAD];
                size_t plen;
                assert_true(got < want);
                assert_int_equal(vec_split(items[got], ':', fld, 4), 4);
                plen = vec_hex(fld[3], p, sizeof p);
                assert_int_equal(f.version, vec_int(fld[0]));
                assert_int_equal(f.msg_type, vec_int(fld[1]));
                assert_int_equal(f.seq, vec_int(fld[2]));
                assert_int_equal(f.payload_len, plen);
                if (plen) assert_memory_equal(f.payload, p, plen);
                got++;
            }
        }
        assert_int_equal(got, want);
        assert_int_equal(g_dec.stats.frames_ok, vec_int(l.tok[1]));
        assert_int_equal(g_dec.stats.cobs_errors, vec_int(l.tok[2]));
        assert_int_equal(g_dec.stats.crc_errors, vec_int(l.tok[3]));
        assert_int_equal(g_dec.stats.length_errors, vec_int(l.tok[4]));
        assert_int_equal(g_dec.stats.overlong, vec_int(l.tok[5]));
        assert_int_equal(g_dec.stats.bytes_in, wlen);
        assert_int_equal(g_dec.stats.frames_bad, g_dec.stats.cobs_errors + g_dec.stats.crc_errors +
                                                     g_dec.stats.length_errors + g_dec.stats.overlong);
        assert_true(fw_decoder_pending(&g_dec) <= FW_MAX_WIRE_FRAME);
        free(wire);
        n++;
    }
    assert_true(n >= 60);
}

static void overlong_run_is_dropped_until_delimiter(void **state)
{
    fw_frame f;
    uint8_t good[32];
    size_t n = fw_frame_encode(1, 0x23, 3, NULL, 0, good, sizeof good);
    (void)state;
    fw_decoder_init(&g_dec);
    for (int i = 0; i < (int)FW_MAX_WIRE_FRAME + 10; ++i) {
        assert_int_equal(fw_decoder_push(&g_dec, 1, &f) == FW_PUSH_FRAME, 0);
    }
    assert_int_equal(fw_decoder_pending(&g_dec), 0);
    assert_int_equal(g_dec.stats.overlong, 1);
    fw_decoder_push(&g_dec, 0, &f);
    for (size_t i = 0; i + 1 < n; ++i) fw_decoder_push(&g_dec, good[i], &f);
    assert_int_equal(fw_decoder_push(&g_dec, 0, &f), FW_PUSH_FRAME);
    assert_int_equal(f.msg_type, 0x23);
}

static void encode_refuses_oversize_and_short_buffers(void **state)
{
    static uint8_t payload[FW_MAX_PAYLOAD + 1], out[FW_MAX_WIRE_FRAME + 1];
    (void)state;
    assert_int_equal(fw_frame_encode(1, 0x10, 0, payload, FW_MAX_PAYLOAD + 1, out, sizeof out), 0);
    assert_true(fw_frame_encode(1, 0x10, 0, payload, FW_MAX_PAYLOAD, out, sizeof out) > 0);
    assert_int_equal(fw_frame_encode(1, 0x10, 0, payload, 10, out, 12), 0);
}

static void random_garbage_keeps_decoder_bounded(void **state)
{
    fw_frame f;
    (void)state;
    srand(3);
    fw_decoder_init(&g_dec);
    for (int i = 0; i < 2000000; ++i) {
        uint8_t b = (uint8_t)(rand() % 300 == 0 ? 0 : rand());
        if (fw_decoder_push(&g_dec, b, &f) == FW_PUSH_FRAME) {
            assert_true(f.payload_len <= FW_MAX_PAYLOAD);
        }
        assert_true(fw_decoder_pending(&g_dec) <= FW_MAX_WIRE_FRAME);
    }
    assert_true(g_dec.stats.frames_bad > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_vectors),
        cmocka_unit_test(stream_vectors),
        cmocka_unit_test(overlong_run_is_dropped_until_delimiter),
        cmocka_unit_test(encode_refuses_oversize_and_short_buffers),
        cmocka_unit_test(random_garbage_keeps_decoder_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
