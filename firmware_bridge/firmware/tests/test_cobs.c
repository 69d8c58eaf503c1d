/* COBS against the shared vectors, in place, with short buffers, and on random data. */
#include "cm.h"

#include <stdlib.h>
#include <string.h>

#include "fw_cobs.h"
#include "vectors.h"

static void vectors_encode_and_decode(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("cobs", &l)) {
        size_t raw_len, enc_len, got, dec_len;
        uint8_t *raw = vec_hex_alloc(l.tok[0], &raw_len);
        uint8_t *enc = vec_hex_alloc(l.tok[1], &enc_len);
        uint8_t *buf = malloc(enc_len + 8);
        got = fw_cobs_encode(raw, raw_len, buf, enc_len + 8);
        assert_int_equal(got, enc_len);
        assert_memory_equal(buf, enc, enc_len);
        assert_int_equal(fw_cobs_encode(raw, raw_len, buf, enc_len - 1), 0); /* one byte short */
        assert_int_equal(fw_cobs_decode(enc, enc_len, enc, enc_len, &dec_len), 0); /* in place */
        assert_int_equal(dec_len, raw_len);
        if (raw_len) assert_memory_equal(enc, raw, raw_len);
        free(raw);
        free(enc);
        free(buf);
        n++;
    }
    assert_true(n >= 30);
}

static void vectors_invalid_are_rejected(void **state)
{
    vec_line l;
    int n = 0;
    uint8_t buf[64], out[64];
    size_t len, out_len;
    (void)state;
    vec_rewind();
    while (vec_next("cobs_bad", &l)) {
        len = vec_hex(l.tok[0], buf, sizeof buf);
        assert_int_equal(fw_cobs_decode(buf, len, out, sizeof out, &out_len), -1);
        n++;
    }
    assert_true(n >= 4);
}

static void decode_respects_capacity(void **state)
{
    const uint8_t enc[] = {0x05, 0x11, 0x22, 0x33, 0x44};
    uint8_t out[4];
    size_t n;
    (void)state;
    assert_int_equal(fw_cobs_decode(enc, sizeof enc, out, 3, &n), -1);
    assert_int_equal(fw_cobs_decode(enc, sizeof enc, out, 4, &n), 0);
    assert_int_equal(n, 4);
}

static void random_roundtrip(void **state)
{
    static uint8_t raw[3000], enc[3100], dec[3000];
    (void)state;
    srand(7);
    for (int k = 0; k < 2000; ++k) {
        size_t n = (size_t)(rand() % 3000), e, d;
        int zeros = rand() % 3;
        for (size_t i = 0; i < n; ++i) {
            raw[i] = (uint8_t)(zeros == 0 ? 1 + rand() % 255 : (rand() % (zeros * 4) ? rand() : 0));
        }
        e = fw_cobs_encode(raw, n, enc, sizeof enc);
        assert_true(e >= 1 && e <= n + 1 + n / 254);
        assert_null(memchr(enc, 0, e));
        assert_int_equal(fw_cobs_decode(enc, e, dec, sizeof dec, &d), 0);
        assert_int_equal(d, n);
        if (n) assert_memory_equal(dec, raw, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_encode_and_decode),
        cmocka_unit_test(vectors_invalid_are_rejected),
        cmocka_unit_test(decode_respects_capacity),
        cmocka_unit_test(random_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
