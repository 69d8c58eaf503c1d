#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FW_VECTORS_PATH
#error "FW_VECTORS_PATH must name test_vectors/vectors.txt"
#endif

static char *g_text;
static size_t g_len, g_pos;
static int g_line;

static void die(const char *what)
{
    fprintf(stderr, "vectors: %s (%s)\n", what, FW_VECTORS_PATH);
    abort();
}

static void load(void)
{
    FILE *f;
    long n;
    if (g_text) {
        return;
    }
    f = fopen(FW_VECTORS_PATH, "rb");
    if (!f) die("cannot open");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    g_text = malloc((size_t)n + 1);
    if (!g_text || fread(g_text, 1, (size_t)n, f) != (size_t)n) die("cannot read");
    fclose(f);
    g_text[n] = 0;
    g_len = (size_t)n;
    /* Lines are split in place once: every '\n' becomes a 0. */
    for (size_t i = 0; i < g_len; ++i) {
        if (g_text[i] == '\n') g_text[i] = 0;
    }
}

void vec_rewind(void)
{
    load();
    g_pos = 0;
    g_line = 0;
}

int vec_next(const char *kind, vec_line *out)
{
    while (g_pos < g_len) {
        char *line = g_text + g_pos;
        size_t n = strlen(line);
        char copy_kind[32];
        char *save = NULL;
        char *t;
        g_pos += n + 1;
        g_line++;
        if (n == 0 || line[0] == '#') continue;
        /* Tokenise a scratch copy so a line can be read again after vec_rewind. */
        {
            static char *scratch;
            static size_t scratch_cap;
            if (n + 1 > scratch_cap) {
                free(scratch);
                scratch_cap = n + 1;
                scratch = malloc(scratch_cap);
                if (!scratch) die("out of memory");
            }
            memcpy(scratch, line, n + 1);
            t = strtok_r(scratch, " ", &save);
        }
        if (!t) continue;
        snprintf(copy_kind, sizeof copy_kind, "%s", t);
        if (kind && strcmp(copy_kind, kind) != 0) continue;
        out->kind = t;
        out->ntok = 0;
        out->line_no = g_line;
        while ((t = strtok_r(NULL, " ", &save)) != NULL) {
            if (out->ntok == VEC_MAX_TOKENS) die("too many fields");
            out->tok[out->ntok++] = t;
        }
        return 1;
    }
    return 0;
}

static int nib(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    die("bad hex digit");
    return 0;
}

size_t vec_hex(const char *tok, uint8_t *out, size_t cap)
{
    size_t n;
    if (strcmp(tok, "-") == 0) return 0;
    n = strlen(tok);
    if (n % 2 || n / 2 > cap) die("hex field too long or odd");
    for (size_t i = 0; i < n / 2; ++i) {
        out[i] = (uint8_t)(nib(tok[2 * i]) << 4 | nib(tok[2 * i + 1]));
    }
    return n / 2;
}

uint8_t *vec_hex_alloc(const char *tok, size_t *len)
{
    size_t cap = strlen(tok) / 2 + 1;
    uint8_t *p = malloc(cap);
    if (!p) die("out of memory");
    *len = vec_hex(tok, p, cap);
    return p;
}

long long vec_int(const char *tok)
{
    return strtoll(tok, NULL, 10);
}

float vec_f32(const char *tok)
{
    uint32_t u = (uint32_t)strtoul(tok, NULL, 16);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int vec_split(char *tok, char sep, char **items, int max)
{
    int n = 0;
    if (strcmp(tok, "-") == 0) return 0;
    items[n++] = tok;
    for (char *p = tok; *p; ++p) {
        if (*p == sep) {
            if (n == max) die("list too long");
            *p = 0;
            items[n++] = p + 1;
        }
    }
    return n;
}
