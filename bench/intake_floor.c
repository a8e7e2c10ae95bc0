/* The least an intake must do to the file system for each pair it has verified, on libc alone (issue 23):
 *   intake_floor INBOX DEST LEDGER [GROUP]
 * For each data file F in INBOX (F.p7s beside it): write a 1,800-byte result to DEST/.F.result.json.tmp,
 * rename it to DEST/F.result.json, rename F and F.p7s into DEST. Every GROUP pairs (default 64, the group
 * the intake waits for): one write of their ledger lines (2,000 bytes each) to LEDGER, fdatasync, and one
 * syncfs.
 * No verification, no JSON, no journal, no head, no crash safety: what the formats cost at the
 * least, for comparing with the intake's own moves. Prints the count of pairs moved. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kMaxGroup = 4096, kResultBytes = 1800, kEntryBytes = 2000 };

static int ends_with(const char* s, const char* suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) { fprintf(stderr, "usage: intake_floor INBOX DEST LEDGER [GROUP]\n"); return 2; }
  const long group = argc == 5 ? atol(argv[4]) : 64;
  if (group < 1 || group > kMaxGroup) { fprintf(stderr, "GROUP: 1 to %d\n", kMaxGroup); return 2; }
  const char* inbox = argv[1];
  const char* dest = argv[2];
  int ledger = open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ledger < 0 || dest_fd < 0) { perror("open"); return 2; }
  static char result[kResultBytes], entries[kMaxGroup * kEntryBytes];
  memset(result, 'r', sizeof result);
  memset(entries, 'e', sizeof entries);
  for (int i = 0; i < kMaxGroup; ++i) entries[(i + 1) * kEntryBytes - 1] = '\n';
  // The folder is listed first (as the intake's rescan does), then the pairs are moved.
  DIR* d = opendir(inbox);
  if (!d) { perror(inbox); return 2; }
  char** names = NULL;
  long count = 0, capacity = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || ends_with(e->d_name, ".p7s")) continue;
    if (count == capacity) {
      capacity = capacity ? capacity * 2 : 1024;
      names = realloc(names, (size_t)capacity * sizeof *names);
      if (!names) return 2;
    }
    names[count++] = strdup(e->d_name);
  }
  closedir(d);
  char from[4096], to[4096], tmp[4096];
  long moved = 0, in_group = 0;
  for (long i = 0; i < count; ++i) {
    const char* name = names[i];
    snprintf(tmp, sizeof tmp, "%s/.%s.result.json.tmp", dest, name);
    snprintf(to, sizeof to, "%s/%s.result.json", dest, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, result, sizeof result) != (ssize_t)sizeof result || close(fd) != 0) return 1;
    if (rename(tmp, to) != 0) return 1;
    for (int sig = 0; sig < 2; ++sig) {
      snprintf(from, sizeof from, "%s/%s%s", inbox, name, sig ? ".p7s" : "");
      snprintf(to, sizeof to, "%s/%s%s", dest, name, sig ? ".p7s" : "");
      if (rename(from, to) != 0) { perror(from); return 1; }
    }
    ++moved;
    if (++in_group == group) {
      const size_t n = (size_t)group * kEntryBytes;
      if (write(ledger, entries, n) != (ssize_t)n || fdatasync(ledger) != 0) return 1;
      if (syncfs(dest_fd) != 0) return 1;
      in_group = 0;
    }
  }
  if (in_group > 0) {
    const size_t n = (size_t)in_group * kEntryBytes;
    if (write(ledger, entries, n) != (ssize_t)n || fdatasync(ledger) != 0 || syncfs(dest_fd) != 0) return 1;
  }
  printf("%ld\n", moved);
  return 0;
}
