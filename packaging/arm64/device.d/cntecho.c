/* The guest's side of the counter calibration of packaging/arm64/device-test.
 *
 * Under TCG the guest's virtual counter (CNTVCT_EL0) follows QEMU's virtual
 * clock, which the host cannot read; so the host asks. For each byte the host
 * sends on the tty, this reads the counter at once and answers with it in
 * decimal: the reading lies between the host's send and its receipt of the
 * answer. First line: "cntfrq N" (CNTFRQ_EL0).
 *
 *   cntecho TTY ROUNDS
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static uint64_t counter(void) {
    uint64_t value;
    __asm__ volatile("isb; mrs %0, cntvct_el0; isb" : "=r"(value) :: "memory");
    return value;
}

static uint64_t frequency(void) {
    uint64_t value;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(value));
    return value;
}

static int say(int fd, const char *text) {
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t n = write(fd, text, left);
        if (n <= 0) return -1;
        text += n;
        left -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: cntecho TTY ROUNDS\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR | O_NOCTTY);
    if (fd < 0) { perror(argv[1]); return 1; }
    struct termios raw;
    if (tcgetattr(fd, &raw) == 0) { cfmakeraw(&raw); tcsetattr(fd, TCSANOW, &raw); }
    char line[64];
    snprintf(line, sizeof line, "cntfrq %llu\n", (unsigned long long)frequency());
    if (say(fd, line) != 0) return 1;
    for (long round = atol(argv[2]); round > 0; round--) {
        char byte;
        if (read(fd, &byte, 1) != 1) return 1;
        uint64_t value = counter();
        snprintf(line, sizeof line, "cnt %llu\n", (unsigned long long)value);
        if (say(fd, line) != 0) return 1;
    }
    return 0;
}
