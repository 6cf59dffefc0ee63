/*
 * notify.h - the systemd notify protocol, spoken directly (SPEC §11).
 *
 * No libsystemd: one datagram per message to $NOTIFY_SOCKET (a path, or
 * an abstract socket when it starts with '@'). Without NOTIFY_SOCKET
 * every call is a no-op.
 */
#ifndef ASTER_NOTIFY_H
#define ASTER_NOTIFY_H

struct event_base;

/* Sends one message ("READY=1", "STATUS=...", "RELOADING=1\nMONOTONIC_USEC=...");
 * returns 0, or -1 when the socket is set but the send failed. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * When $WATCHDOG_USEC is set (and $WATCHDOG_PID is unset or ours), sends
 * WATCHDOG=1 every WATCHDOG_USEC / 2 on base. Returns 0 (also when there
 * is no watchdog), -1 on failure.
 */
int notify_watchdog_start(struct event_base *base);

/* Stops the watchdog timer started above. */
void notify_watchdog_stop(void);

#endif
