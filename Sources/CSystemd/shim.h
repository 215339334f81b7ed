// libsystemd, as a system library (Debian: libsystemd-dev): readiness and
// watchdog notification (sd-daemon) and native journal logging (sd-journal).
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
