/* The per-file floor for issue 12: what signing or verifying a small file costs at the least, on
 * libcrypto alone.
 *   floor sign   KEY.pem  DIR [THREADS]  for each regular file F in DIR (not *.sig): open+read, SHA-256,
 *                                        ECDSA P-256 signature of the digest, write DIR/.F.sig.tmp and
 *                                        rename it to F.sig
 *   floor verify CERT.pem DIR [THREADS]  for each F with F.sig: read both, SHA-256, ECDSA verification
 *   floor io     KEY.pem  DIR [THREADS]  sign's file-system calls alone: read F, write a fixed 72-byte
 *                                        F.sig through the temporary (no SHA-256, no ECDSA)
 * The folder is listed first; THREADS threads (default 1) then take every THREADS-th name, each with its
 * own key context: what a tool with as many workers, in one process and one folder, could do at best.
 * No checks, no formats, no names: the cost nothing can go below. Prints the count of files. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

enum { kMaxThreads = 64 };

static int sign;
static int io_only;
static EVP_PKEY* key;
static const char* dir;
static char** names;
static long name_count;
static long threads = 1;
static long counts[kMaxThreads];

static long read_all(const char* path, unsigned char* out, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, out + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  return (long)n;
}

static int ends_with(const char* s, const char* suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

// One thread's share: names first, first + threads, ... Returns non-null on a failure.
static void* run(void* arg) {
  const long first = (long)arg;
  static __thread unsigned char buf[1 << 20];
  char path[4096], sig_path[4096], tmp_path[4096];
  long done = 0;  // counted here, stored once: threads' counters side by side would share a cache line
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, NULL);
  if (!ctx || (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1) return (void*)2;
  for (long i = first; i < name_count; i += threads) {
    const char* name = names[i];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(sig_path, sizeof sig_path, "%s/%s.sig", dir, name);
    long n = read_all(path, buf, sizeof buf);
    if (n < 0) continue;
    unsigned char md[32];
    unsigned int md_len = 0;
    if (!io_only) EVP_Digest(buf, (size_t)n, md, &md_len, EVP_sha256(), NULL);
    unsigned char sig[80] = {0};
    size_t sig_len = io_only ? 72 : sizeof sig;
    if (sign) {
      if (!io_only && EVP_PKEY_sign(ctx, sig, &sig_len, md, md_len) != 1) return (void*)1;
      snprintf(tmp_path, sizeof tmp_path, "%s/.%s.sig.tmp", dir, name);
      int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 || write(fd, sig, sig_len) != (ssize_t)sig_len || close(fd) != 0) return (void*)1;
      if (rename(tmp_path, sig_path) != 0) return (void*)1;
    } else {
      long s = read_all(sig_path, sig, sizeof sig);
      if (s <= 0) continue;
      if (EVP_PKEY_verify(ctx, sig, (size_t)s, md, md_len) != 1) { fprintf(stderr, "bad: %s\n", path); return (void*)1; }
    }
    ++done;
  }
  counts[first] = done;
  EVP_PKEY_CTX_free(ctx);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) { fprintf(stderr, "usage: floor sign|verify|io KEY|CERT DIR [THREADS]\n"); return 2; }
  io_only = strcmp(argv[1], "io") == 0;
  sign = io_only || strcmp(argv[1], "sign") == 0;
  if (argc == 5) threads = atol(argv[4]);
  if (threads < 1 || threads > kMaxThreads) { fprintf(stderr, "THREADS: 1 to %d\n", kMaxThreads); return 2; }
  FILE* f = fopen(argv[2], "r");
  if (!f) { perror(argv[2]); return 2; }
  if (sign) {
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  } else {
    X509* cert = PEM_read_X509(f, NULL, NULL, NULL);
    if (cert) key = X509_get_pubkey(cert);
  }
  fclose(f);
  if (!key) { fprintf(stderr, "no key in %s\n", argv[2]); return 2; }
  dir = argv[3];
  DIR* d = opendir(dir);
  if (!d) { perror(dir); return 2; }
  long capacity = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || ends_with(e->d_name, ".sig") || ends_with(e->d_name, ".p7s")) continue;
    if (name_count == capacity) {
      capacity = capacity ? capacity * 2 : 1024;
      names = realloc(names, (size_t)capacity * sizeof *names);
      if (!names) return 2;
    }
    names[name_count++] = strdup(e->d_name);
  }
  closedir(d);
  pthread_t ids[kMaxThreads];
  for (long t = 1; t < threads; ++t) {
    if (pthread_create(&ids[t], NULL, run, (void*)t) != 0) return 2;
  }
  int failed = run((void*)0) != NULL;
  for (long t = 1; t < threads; ++t) {
    void* result = NULL;
    pthread_join(ids[t], &result);
    failed |= result != NULL;
  }
  if (failed) return 1;
  long count = 0;
  for (long t = 0; t < threads; ++t) count += counts[t];
  printf("%ld\n", count);
  return 0;
}
