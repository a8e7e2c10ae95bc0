/* The per-file floor for issue 12: what signing or verifying a small file costs at the least, on
 * libcrypto alone, one file after another on one thread.
 *   floor sign   KEY.pem  DIR   for each regular file F in DIR (not *.sig): open+read, SHA-256, ECDSA
 *                               P-256 signature of the digest, write DIR/.F.sig.tmp and rename to F.sig
 *   floor verify CERT.pem DIR   for each F with F.sig: read both, SHA-256, ECDSA verification
 * No checks, no formats, no names: the cost nothing can go below. Prints the count of files. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static unsigned char buf[1 << 20];

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

int main(int argc, char** argv) {
  if (argc != 4) { fprintf(stderr, "usage: floor sign|verify KEY|CERT DIR\n"); return 2; }
  const int sign = strcmp(argv[1], "sign") == 0;
  FILE* f = fopen(argv[2], "r");
  if (!f) { perror(argv[2]); return 2; }
  EVP_PKEY* key = NULL;
  if (sign) {
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  } else {
    X509* cert = PEM_read_X509(f, NULL, NULL, NULL);
    if (cert) key = X509_get_pubkey(cert);
  }
  fclose(f);
  if (!key) { fprintf(stderr, "no key in %s\n", argv[2]); return 2; }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, NULL);
  if (!ctx || (sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1) return 2;
  const char* dir = argv[3];
  DIR* d = opendir(dir);
  if (!d) { perror(dir); return 2; }
  long count = 0;
  char path[4096], sig_path[4096], tmp_path[4096];
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || ends_with(e->d_name, ".sig") || ends_with(e->d_name, ".p7s")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    snprintf(sig_path, sizeof sig_path, "%s/%s.sig", dir, e->d_name);
    long n = read_all(path, buf, sizeof buf);
    if (n < 0) continue;
    unsigned char md[32];
    unsigned int md_len = 0;
    EVP_Digest(buf, (size_t)n, md, &md_len, EVP_sha256(), NULL);
    unsigned char sig[80];
    size_t sig_len = sizeof sig;
    if (sign) {
      if (EVP_PKEY_sign(ctx, sig, &sig_len, md, md_len) != 1) return 1;
      snprintf(tmp_path, sizeof tmp_path, "%s/.%s.sig.tmp", dir, e->d_name);
      int fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 || write(fd, sig, sig_len) != (ssize_t)sig_len || close(fd) != 0) return 1;
      if (rename(tmp_path, sig_path) != 0) return 1;
    } else {
      long s = read_all(sig_path, sig, sizeof sig);
      if (s <= 0) continue;
      if (EVP_PKEY_verify(ctx, sig, (size_t)s, md, md_len) != 1) { fprintf(stderr, "bad: %s\n", path); return 1; }
    }
    ++count;
  }
  closedir(d);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(key);
  printf("%ld\n", count);
  return 0;
}
