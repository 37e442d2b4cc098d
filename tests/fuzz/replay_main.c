/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fuzz target without libFuzzer: feeds every file named on the command line,
 * or found in a directory named there, to LLVMFuzzerTestOneInput() once, in
 * name order. Without arguments it replays REPLAY_CORPUS (the target's
 * committed corpus), which is how `make check` runs it. Each input sits in a
 * buffer of exactly its size, so ASan builds catch reads past the end.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#ifndef REPLAY_CORPUS
#error "REPLAY_CORPUS must name the corpus directory"
#endif

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long size;

    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: cannot size\n", path);
        fclose(f);
        return -1;
    }
    buf = malloc(size ? (size_t)size : 1);
    if (!buf || (size && fread(buf, 1, (size_t)size, f) != (size_t)size)) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    printf("replay: %s (%ld bytes)\n", path, size);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay path (a file, or the files of a directory); add to *count. */
static int replay_path(const char *path, int *count)
{
    struct stat st;
    struct dirent *e;
    DIR *dir;
    char **names = NULL, **grown, *full;
    size_t n = 0, cap = 0, i;
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (replay_file(path) != 0) {
            return -1;
        }
        ++*count;
        return 0;
    }
    if (!(dir = opendir(path))) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            if (!(grown = realloc(names, cap * sizeof(*names)))) {
                rc = -1;
                break;
            }
            names = grown;
        }
        full = malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!full) {
            rc = -1;
            break;
        }
        sprintf(full, "%s/%s", path, e->d_name);
        names[n++] = full;
    }
    closedir(dir);
    if (n) {
        qsort(names, n, sizeof(*names), by_name);
    }
    for (i = 0; i < n; i++) {
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0) {
                rc = -1;
            }
            else {
                ++*count;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const dflt[] = { REPLAY_CORPUS };
    const char *const *paths = argc > 1 ? (const char *const *)argv + 1 : dflt;
    int npaths = argc > 1 ? argc - 1 : 1, count = 0, i;

    for (i = 0; i < npaths; i++) {
        if (replay_path(paths[i], &count) != 0) {
            return 1;
        }
    }
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    printf("replay: %d inputs, all passed\n", count);
    return 0;
}
