/* The machine's read floor: the fastest that `threads` threads, each walking `streams` sequential
   streams at once, read a buffer once. Benchmarks only (benchmarks/read_floor.py builds it with
   the machine's own flags and calls it through ctypes); a kernel that reads the same bytes cannot
   beat the best of these. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_WORDS 8 /* one 64-byte cache line of uint64_t */

typedef struct {
    const uint64_t *words;
    size_t count; /* words in this thread's part */
    int streams;
    uint64_t sink; /* kept, so that the reads are not optimized away */
} part_t;

/* Reads `count` words as `streams` equal streams, one cache line of each in turn; the words
   past the last whole line of every stream are not read (at most streams x 64 bytes). */
static inline uint64_t read_streams(const uint64_t *words, size_t count, const int streams) {
    uint64_t acc[16][LINE_WORDS] = {{0}};
    const size_t spread = count / streams / LINE_WORDS * LINE_WORDS;
    for (size_t i = 0; i < spread; i += LINE_WORDS)
        for (int s = 0; s < streams; s++)
            for (int w = 0; w < LINE_WORDS; w++) acc[s][w] ^= words[s * spread + i + w];
    uint64_t sink = 0;
    for (int s = 0; s < streams; s++)
        for (int w = 0; w < LINE_WORDS; w++) sink ^= acc[s][w];
    return sink;
}

static void *read_part(void *arg) {
    part_t *part = arg;
    switch (part->streams) { /* a constant stream count keeps the accumulators in registers */
    case 1: part->sink = read_streams(part->words, part->count, 1); break;
    case 2: part->sink = read_streams(part->words, part->count, 2); break;
    case 4: part->sink = read_streams(part->words, part->count, 4); break;
    default: part->sink = read_streams(part->words, part->count, 8); break;
    }
    return NULL;
}

/* Reads `bytes` from `buffer` once: `threads` (1 to 16) threads take equal parts, and each walks
   its part as `streams` (1, 2, 4 or 8) streams. Returns 0, or -1 when a thread cannot start. */
int read_floor(const void *buffer, size_t bytes, int threads, int streams) {
    pthread_t ids[16];
    part_t parts[16];
    const size_t per_thread = bytes / sizeof(uint64_t) / (size_t)threads;
    int started = 0, failed = 0;
    for (int t = 0; t < threads; t++) {
        parts[t] = (part_t){(const uint64_t *)buffer + t * per_thread, per_thread, streams, 0};
        if (t == threads - 1) {
            read_part(&parts[t]); /* the calling thread takes the last part */
        } else if (pthread_create(&ids[t], NULL, read_part, &parts[t]) == 0) {
            started++;
        } else {
            failed = 1;
            break;
        }
    }
    for (int t = 0; t < started; t++) pthread_join(ids[t], NULL);
    return failed ? -1 : 0;
}
