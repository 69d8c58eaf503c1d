/* Reader of test_vectors/vectors.txt (the file the Python tests read too). Test code only:
 * it may use the heap and stdio. */
#ifndef FW_TEST_VECTORS_H
#define FW_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

#define VEC_MAX_TOKENS 16

typedef struct {
    const char *kind;
    int ntok; /* fields after the kind */
    char *tok[VEC_MAX_TOKENS];
    int line_no;
} vec_line;

/* Load the file once (aborts the test on failure); then vec_next from the start. */
void vec_rewind(void);
/* Next line of the given kind (NULL = any); 0 at the end. */
int vec_next(const char *kind, vec_line *out);

/* Hex field -> bytes ('-' = empty); aborts if it does not fit. */
size_t vec_hex(const char *tok, uint8_t *out, size_t cap);
/* Heap copy of a hex field; *len gets its length. Free with free(). */
uint8_t *vec_hex_alloc(const char *tok, size_t *len);
long long vec_int(const char *tok);
float vec_f32(const char *tok); /* 8 hex digits of a float32 bit pattern */
/* Split tok in place at sep; returns the number of items (0 for '-'). */
int vec_split(char *tok, char sep, char **items, int max);

#endif
