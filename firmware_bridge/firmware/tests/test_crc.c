/* CRC-32 against the shared vectors, one-shot and in pieces. */
#include "cm.h"

#include <stdlib.h>

#include "fw_crc.h"
#include "vectors.h"

static void vectors(void **state)
{
    vec_line l;
    int n = 0;
    (void)state;
    vec_rewind();
    while (vec_next("crc", &l)) {
        size_t len;
        uint8_t *data = vec_hex_alloc(l.tok[0], &len);
        uint32_t want = (uint32_t)strtoul(l.tok[1], NULL, 16);
        uint32_t crc;
        assert_int_equal(fw_crc32(data, len), want);
        crc = fw_crc32_update(FW_CRC_INIT, data, len / 2);
        crc = fw_crc32_update(crc, data + len / 2, len - len / 2) ^ 0xFFFFFFFFu;
        assert_int_equal(crc, want);
        free(data);
        n++;
    }
    assert_true(n >= 10);
}

static void check_value(void **state)
{
    (void)state;
    assert_int_equal(fw_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(vectors), cmocka_unit_test(check_value)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
