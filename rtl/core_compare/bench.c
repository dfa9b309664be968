/* Workloads for scripts/compare_cores.py: one rv32im binary that every core under comparison runs.
 *
 * Each workload runs twice: once to warm the caches, then once inside a marked region. A region
 * is opened by bench_mark(name) and closed by bench_mark(0) (crt0.S); the harness counts the
 * cycles and retired instructions between the two marker stores, then reads the region's
 * checksum from bench_result(). Built with -DBENCH_HOST, the same workloads run on the host and
 * print the checksums the cores must reproduce.
 *
 *   general code  crc32      bitwise CRC-32 over CRC_BYTES bytes
 *                 isort      insertion sort of SORT_N int32s
 *                 divide     DIV_N unsigned and DIV_N signed divisions and remainders
 *   int8 MACs     dot        int8 dot product over DOT_N elements, int32 accumulator
 *                 dot_alias  the same with the weights a multiple of 4 KiB after the inputs
 */

#include <stdint.h>

#define CRC_BYTES 8192
#define SORT_N    512
#define DIV_N     1024
#define DOT_N     16384
#define DOT_INPUT_OFFSET 128 /* like TFLite's -input_zero_point */

#ifdef BENCH_HOST
#include <stdio.h>
static void bench_mark(const char *name)
{
    if (name)
        printf("BENCH region=%s ", name);
}
static void bench_result(uint32_t checksum) { printf("checksum=0x%08x\n", (unsigned)checksum); }
#else
void bench_mark(const char *name);      /* crt0.S: the one store that opens or closes a region */
void bench_result(uint32_t checksum);   /* crt0.S */
int main(void);
#endif

static uint8_t crc_buf[CRC_BYTES];
static int32_t sort_buf[SORT_N];
/* One buffer, so the layout is explicit. A direct-mapped 4 KiB data cache (VexRiscv's) maps
 * dot_w_alias[i] onto the line of dot_in[i], so each load evicts the other's line; dot_w[i] is
 * 2 KiB away from dot_in[i] modulo 4 KiB. */
static int8_t dot_mem[3 * DOT_N + 2048] __attribute__((aligned(4096)));
#define dot_in      (dot_mem)
#define dot_w_alias (dot_mem + DOT_N)
#define dot_w       (dot_mem + 2 * DOT_N + 2048)
_Static_assert(DOT_N % 4096 == 0, "dot_w_alias must be a multiple of 4 KiB after dot_in");

static uint32_t lcg_state;

static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state;
}

static void fill_inputs(void)
{
    lcg_state = 1;
    for (int i = 0; i < CRC_BYTES; i++)
        crc_buf[i] = (uint8_t)(lcg() >> 24);
    for (int i = 0; i < DOT_N; i++) {
        dot_in[i] = (int8_t)(lcg() >> 24);
        dot_w[i] = (int8_t)(lcg() >> 24);
        dot_w_alias[i] = dot_w[i];
    }
}

static void fill_sort(void)
{
    lcg_state = 2;
    for (int i = 0; i < SORT_N; i++)
        sort_buf[i] = (int32_t)lcg();
}

/* noipa: each workload stays one real call with run-time arguments, the same on every core. */
static __attribute__((noipa)) uint32_t crc32(const uint8_t *data, int n)
{
    uint32_t crc = 0xffffffffu;
    for (int i = 0; i < n; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
    }
    return ~crc;
}

static __attribute__((noipa)) uint32_t isort(int32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        int32_t key = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > key) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = key;
    }
    uint32_t sum = 0;
    for (int i = 0; i < n; i++)
        sum = sum * 31u + (uint32_t)a[i];
    return sum;
}

static __attribute__((noipa)) uint32_t divide(int n)
{
    uint32_t acc = 0;
    uint32_t x = 0x9e3779b9u;
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t d = (x >> 20) | 1u;
        int32_t s = (int32_t)x;
        int32_t sd = (int32_t)(i - n / 2) | 1;
        acc += x / d + x % d;
        acc ^= (uint32_t)(s / sd) + (uint32_t)(s % sd);
    }
    return acc;
}

/* The CPU-only reference for the accelerator: what a TFLite Micro conv/FC inner loop does. */
static __attribute__((noipa)) int32_t dot_s8(const int8_t *in, const int8_t *w, int n, int32_t input_offset)
{
    int32_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += (int32_t)(in[i] + input_offset) * w[i];
    return acc;
}

int main(void)
{
    fill_inputs();
    for (int pass = 0; pass < 2; pass++) {   /* pass 0 warms the caches, pass 1 is measured */
        const int measured = pass == 1;
        uint32_t result;

        if (measured) bench_mark("crc32");
        result = crc32(crc_buf, CRC_BYTES);
        if (measured) { bench_mark(0); bench_result(result); }

        fill_sort();
        if (measured) bench_mark("isort");
        result = isort(sort_buf, SORT_N);
        if (measured) { bench_mark(0); bench_result(result); }

        if (measured) bench_mark("divide");
        result = divide(DIV_N);
        if (measured) { bench_mark(0); bench_result(result); }

        if (measured) bench_mark("dot");
        result = (uint32_t)dot_s8(dot_in, dot_w, DOT_N, DOT_INPUT_OFFSET);
        if (measured) { bench_mark(0); bench_result(result); }

        if (measured) bench_mark("dot_alias");
        result = (uint32_t)dot_s8(dot_in, dot_w_alias, DOT_N, DOT_INPUT_OFFSET);
        if (measured) { bench_mark(0); bench_result(result); }
    }
    return 0;
}
