#define _GNU_SOURCE
#include "vmclock_signals.h"
#include <time.h>

// Written only by the handler, which runs only inside vmclock_ppoll (the
// signals are blocked everywhere else), with the others blocked by sa_mask;
// read only outside it. No two writers ever race.
static volatile sig_atomic_t pending_low, pending_high;

static void note_signal(int signal) {
    if (signal < 32) pending_low |= (sig_atomic_t)(1u << signal);
    else pending_high |= (sig_atomic_t)(1u << (signal - 32));
}

int vmclock_signals_install(const int *signals, int count, sigset_t *wait_mask) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    struct sigaction action = {0};
    action.sa_handler = note_signal;
    action.sa_mask = set;
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    sigset_t previous;
    if (sigprocmask(SIG_BLOCK, &set, &previous) != 0) return -1;
    *wait_mask = previous;
    for (int i = 0; i < count; i++) sigdelset(wait_mask, signals[i]);
    return 0;
}

uint64_t vmclock_signals_take(void) {
    uint64_t taken = (uint32_t)pending_low | ((uint64_t)(uint32_t)pending_high << 32);
    pending_low = 0;
    pending_high = 0;
    return taken;
}

int vmclock_ppoll(struct pollfd *fds, nfds_t count, int64_t timeout_ns, const sigset_t *wait_mask) {
    if (timeout_ns < 0) return ppoll(fds, count, NULL, wait_mask);
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    return ppoll(fds, count, &timeout, wait_mask);
}
