/* CRC-32/ISO-HDLC (zlib): reflected poly 0xEDB88320, init and xorout 0xFFFFFFFF.
 * Check value: fw_crc32("123456789", 9) == 0xCBF43926. */
#ifndef FW_CRC_H
#define FW_CRC_H

#include <stddef.h>
#include <stdint.h>

#define FW_CRC_INIT 0xFFFFFFFFu

/* Running form: crc = FW_CRC_INIT; crc = fw_crc32_update(crc, ...)...; result = crc ^ 0xFFFFFFFF. */
uint32_t fw_crc32_update(uint32_t crc, const uint8_t *data, size_t len);
uint32_t fw_crc32(const uint8_t *data, size_t len);

#endif
