"""SIGTERM stops training as Ctrl-C does: a batch system's time limit (SLURM sends SIGTERM first)
or a plain `kill` then leaves a checkpoint, the metrics and the best iterate so far, and the run
continues with --resume. Jobs started in the background by a non-interactive shell inherit
SIGINT ignored, so for them SIGTERM is the only clean way to stop."""

from __future__ import annotations

import contextlib
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
    writes (an iteration's metrics record) is written whole or not at all. Main thread only."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
