"""Stopping a training run on a signal, between two steps.

SIGTERM (a scheduler, ``kill``) and SIGINT (Ctrl-C) raise
``TrainingStopped`` inside ``stop_on_signals``; ``train`` and
``train_captioner`` then record the stop in ``run.json`` (``stopped_by``,
and the step their checkpoint holds) and raise ``stopped_at``'s error,
which the command line prints as one line before exiting with 128 + the
signal number. Standard library only: the command line imports it to
catch the error without importing Keras.
"""

import contextlib
import signal
import threading


class TrainingStopped(BaseException):
    """SIGTERM or SIGINT stopped a training run (``stop_on_signals``).

    A ``BaseException``, as ``KeyboardInterrupt`` is, so that no ``except
    Exception`` on the way swallows it. ``exit_status`` is the shell's
    128 + the signal number.
    """

    def __init__(self, signal_number, message=None):
        self.signal_number = signal_number
        self.signal_name = signal.Signals(signal_number).name
        self.exit_status = 128 + signal_number
        super().__init__(message or f"stopped by {self.signal_name}")


@contextlib.contextmanager
def stop_on_signals():
    """Within it, SIGTERM and SIGINT raise ``TrainingStopped`` in the main
    thread. Python runs the handler between two steps (TensorFlow's kernels
    run without it), so the stop never cuts a step in half, and a checkpoint
    being written is abandoned whole (its partial file removed). Off the
    main thread, where Python allows no handler, it does nothing.

    Yields a function that raises the ``TrainingStopped`` of a signal whose
    first raise was swallowed: a handler that runs inside a destructor
    (``__del__``, a TensorFlow object collected mid-step) has its exception
    printed and dropped by Python, and the run would go on to its end. A
    training loop calls it after every step.
    """
    pending = []

    def raise_pending():
        if pending:
            raise TrainingStopped(pending[-1])

    if threading.current_thread() is not threading.main_thread():
        yield raise_pending
        return

    def stop(number, frame):
        pending.append(number)
        raise TrainingStopped(number)

    previous = {number: signal.signal(number, stop)
                for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield raise_pending
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stopped_at(stop, out, steps):
    """The ``TrainingStopped`` to raise after recording a stop: it says
    where the run stands and how to go on."""
    return TrainingStopped(
        stop.signal_number,
        f"{out} stopped by {stop.signal_name}; its checkpoint holds step "
        f"{steps}: rerun the same command to resume from there")
