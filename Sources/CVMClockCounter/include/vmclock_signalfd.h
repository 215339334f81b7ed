// signalfd(2), which Swift's Glibc module does not export: the daemon's loop
// waits on its signals with everything else in one poll.
#pragma once
#include <sys/signalfd.h>
