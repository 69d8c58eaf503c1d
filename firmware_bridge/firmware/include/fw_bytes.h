/* Little-endian loads and stores, byte by byte: no alignment or host-endianness assumptions. */
#ifndef FW_BYTES_H
#define FW_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t fw_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t fw_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline int32_t fw_get_i32(const uint8_t *p)
{
    uint32_t u = fw_get_u32(p);
    int32_t v;
    memcpy(&v, &u, sizeof v); /* two's complement reinterpretation without UB */
    return v;
}

static inline float fw_get_f32(const uint8_t *p)
{
    uint32_t u = fw_get_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline void fw_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void fw_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void fw_put_i32(uint8_t *p, int32_t v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    fw_put_u32(p, u);
}

static inline void fw_put_u64(uint8_t *p, uint64_t v)
{
    fw_put_u32(p, (uint32_t)v);
    fw_put_u32(p + 4, (uint32_t)(v >> 32));
}

#endif
