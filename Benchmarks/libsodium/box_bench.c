/* libsodium's crypto_box seal+open throughput, the baseline for Warren's CryptoBenchmarks.
 * Same shapes as the Swift benchmark: cold = crypto_box_easy + crypto_box_open_easy (two X25519),
 * cached = the _afternm variants with a precomputed key. Prints "<name> <ops per second>". */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void run(const char *name, size_t size, int cached, double seconds) {
  unsigned char apk[32], ask[32], bpk[32], bsk[32], nonce[24], k_ab[32], k_ba[32];
  unsigned char *m = malloc(size), *c = malloc(size + 16), *o = malloc(size + 1);
  crypto_box_keypair(apk, ask);
  crypto_box_keypair(bpk, bsk);
  randombytes_buf(nonce, sizeof nonce);
  randombytes_buf(m, size);
  if (crypto_box_beforenm(k_ab, bpk, ask) != 0 || crypto_box_beforenm(k_ba, apk, bsk) != 0) {
    fprintf(stderr, "beforenm failed\n");
    exit(1);
  }
  unsigned long ops = 0;
  double start = now(), elapsed;
  do {
    for (int i = 0; i < 64; i++) {
      int rc;
      if (cached) {
        rc = crypto_box_easy_afternm(c, m, size, nonce, k_ab);
        rc |= crypto_box_open_easy_afternm(o, c, size + 16, nonce, k_ba);
      } else {
        rc = crypto_box_easy(c, m, size, nonce, bpk, ask);
        rc |= crypto_box_open_easy(o, c, size + 16, nonce, apk, bsk);
      }
      if (rc != 0) { fprintf(stderr, "seal or open failed\n"); exit(1); }
    }
    ops += 64;
    elapsed = now() - start;
  } while (elapsed < seconds);
  printf("%s %.0f\n", name, ops / elapsed);
  free(m); free(c); free(o);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  if (sodium_init() < 0) return 1;
  run("seal+open cold 200 B", 200, 0, seconds);
  run("seal+open cached 200 B", 200, 1, seconds);
  run("seal+open cold 1024 B", 1024, 0, seconds);
  run("seal+open cached 1024 B", 1024, 1, seconds);
  return 0;
}
