// The daemon's signals without a signalfd: SIGTERM, SIGINT and SIGHUP stay
// blocked except inside the loop's one wait (ppoll), where a handler notes
// them and the wait returns EINTR. An idle wait then polls no descriptor at
// all: a signalfd in the set costs the kernel a wait-queue entry on every
// wake-up, the largest share of an idle look's system time.
#pragma once
#include <poll.h>
#include <signal.h>
#include <stdint.h>

// Blocks `signals`, installs the handler, and fills `wait_mask` with the
// mask to wait under (the current one without them). 0, or -1 with errno.
int vmclock_signals_install(const int *signals, int count, sigset_t *wait_mask);

// The signals noted since the last call, one bit per signal number.
uint64_t vmclock_signals_take(void);

// ppoll(2) with a relative timeout in nanoseconds (negative: none).
int vmclock_ppoll(struct pollfd *fds, nfds_t count, int64_t timeout_ns, const sigset_t *wait_mask);
