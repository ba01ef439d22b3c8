"""SIGTERM stops training as Ctrl-C does: a batch system's time limit (SLURM sends SIGTERM first)
or a plain `kill` then leaves a checkpoint, the metrics and the best iterate so far, and the run
continues with --resume. Jobs started in the background by a non-interactive shell inherit
SIGINT ignored, so for them SIGTERM is the only clean way to stop."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

__all__ = ["sigterm_as_interrupt", "interrupts_deferred"]


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block SIGTERM raises KeyboardInterrupt (where Ctrl-C would); the previous
    handler is restored after it. Signal handlers belong to the main thread: elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C and SIGTERM arriving within the block take effect when it ends, so that what it
    writes (an iteration's metrics record) is written whole or not at all. Main thread only.

    The block holds the signals at Python's level (a handler that notes them), not with a signal
    mask: a mask covers only the calling thread, and the kernel hands a process-directed signal
    to any thread that does not block it (OpenMP's workers), whose C handler still has the main
    thread raise."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []

    def hold(signum, frame):
        caught.append(signum)

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not None:   # None: a handler set outside Python, left alone
            previous[sig] = signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(signum, handler):
    """What `handler` (a previous disposition) does with a held signal."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)   # the default action (SIGTERM: exit), now the handler is back
