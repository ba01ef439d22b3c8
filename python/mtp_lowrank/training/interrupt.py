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
def _handled_by(handler, signals):
    """Within the block `handler` handles `signals` (those with a Python-level disposition; None:
    a handler set outside Python, left alone); yields their previous handlers, restored after it.
    Signal handlers belong to the main thread: elsewhere nothing changes and it yields {}."""
    if threading.current_thread() is not threading.main_thread():
        yield {}
        return
    previous = {sig: signal.signal(sig, handler) for sig in signals if signal.getsignal(sig) is not None}
    try:
        yield previous
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block SIGTERM raises KeyboardInterrupt (where Ctrl-C would); the previous
    handler is restored after it. Main thread only (elsewhere a no-op)."""
    with _handled_by(_raise_interrupt, (signal.SIGTERM,)):
        yield


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C and SIGTERM arriving within the block take effect when it ends, so that what it
    writes (an iteration's metrics record) is written whole or not at all. Main thread only.

    The block holds the signals at Python's level (a handler that notes them), not with a signal
    mask: a mask covers only the calling thread, and the kernel hands a process-directed signal
    to any thread that does not block it (OpenMP's workers), whose C handler still has the main
    thread raise."""
    caught = []
    previous = {}
    try:
        with _handled_by(lambda signum, frame: caught.append(signum), (signal.SIGINT, signal.SIGTERM)) as previous:
            yield
    finally:   # the previous handlers are back: the first held signal goes to its own
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(signum, handler):
    """What `handler` (a previous disposition) does with a held signal."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)   # the default action (SIGTERM: exit), now the handler is back
