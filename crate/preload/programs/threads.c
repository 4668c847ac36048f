/* Threads allocating at once: 4 threads, each a seeded mix of malloc,
 * calloc, realloc, posix_memalign, aligned_alloc and free, every block
 * filled with its thread's and slot's pattern and checked before it is
 * resized or freed. Prints one checksum line per thread; exits 1 on a bad
 * block (what a heap that is not thread-safe produces), 0 otherwise. The
 * lines are printed in thread order once all have finished. The
 * preload tests compile it with `gcc -c` (a program under test) and run it
 * under each policy against glibc's malloc: the output must be identical. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>

#define SLOTS 512
#define ROUNDS 200000

struct slot { unsigned char *p; size_t n; unsigned char tag; };

static uint64_t next(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static int intact(const struct slot *s) {
  for (size_t i = 0; i < s->n; i++) if (s->p[i] != s->tag) return 0;
  return 1;
}

static unsigned long long sums[4];

static void *worker(void *arg) {
  uint64_t seed = 0x9E3779B97F4A7C15ull * (uintptr_t)arg + 1, sum = 0;
  struct slot slots[SLOTS] = {0};
  for (long r = 0; r < ROUNDS; r++) {
    struct slot *s = &slots[next(&seed) % SLOTS];
    size_t n = 1 + next(&seed) % (next(&seed) % 16 == 0 ? 20000 : 300);
    if (s->p && !intact(s)) { fprintf(stderr, "thread %lu: block %p of %zu bytes changed\n", (unsigned long)(uintptr_t)arg, (void *)s->p, s->n); exit(1); }
    switch (next(&seed) % 6) {
      case 0: free(s->p); s->p = malloc(n); break;
      case 1: free(s->p); s->p = calloc(1, n); if (s->p) for (size_t i = 0; i < n; i++) if (s->p[i]) { fprintf(stderr, "calloc gave a non-zero byte\n"); exit(1); } break;
      case 2: { unsigned char *q = realloc(s->p, n); if (!q) exit(2); if (s->p) { size_t k = s->n < n ? s->n : n; for (size_t i = 0; i < k; i++) if (q[i] != s->tag) { fprintf(stderr, "realloc lost bytes\n"); exit(1); } } s->p = q; break; }
      case 3: { void *q = NULL; free(s->p); if (posix_memalign(&q, 64, n)) exit(2); if ((uintptr_t)q % 64) { fprintf(stderr, "posix_memalign misaligned\n"); exit(1); } s->p = q; break; }
      case 4: free(s->p); s->p = aligned_alloc(256, (n + 255) / 256 * 256); n = (n + 255) / 256 * 256; if ((uintptr_t)s->p % 256) { fprintf(stderr, "aligned_alloc misaligned\n"); exit(1); } break;
      default: free(s->p); s->p = NULL; n = 0; break;
    }
    if (n && !s->p) exit(2);
    if (n && malloc_usable_size(s->p) < n) { fprintf(stderr, "malloc_usable_size below the request\n"); exit(1); }
    s->n = n;
    s->tag = (unsigned char)next(&seed);
    memset(s->p, s->tag, n);
    sum += n;
  }
  for (int i = 0; i < SLOTS; i++) { if (slots[i].p && !intact(&slots[i])) exit(1); free(slots[i].p); }
  sums[(uintptr_t)arg] = sum;
  return NULL;
}

int main(void) {
  pthread_t t[4];
  for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, (void *)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 4; i++) printf("thread %d: %llu bytes\n", i, sums[i]);
  return 0;
}
