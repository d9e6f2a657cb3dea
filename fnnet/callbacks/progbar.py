"""Keras's progress display: the in-place bar (``verbose=1``) and the line per epoch (``verbose=2``).

No progress-bar library is used: none reproduces Keras's exact lines, and the display is small.
``fnnet.callbacks.ProgbarLogger`` drives it from ``fit``, ``evaluate`` and ``predict``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["Progbar", "resolve_verbose"]


def resolve_verbose(verbose: int | str) -> int:
    """Turns Keras's ``verbose`` argument into 0, 1 or 2.

    ``"auto"`` becomes 1 (the in-place bar) when ``sys.stdout`` is a terminal and 2 (one line per
    epoch) otherwise, so logs written to a file or CI stay readable.

    Example:
        >>> resolve_verbose(2), resolve_verbose("auto")  # doctest's stdout is no terminal
        (2, 2)
    """
    if isinstance(verbose, str) and verbose == "auto":
        stream = sys.stdout
        return 1 if hasattr(stream, "isatty") and stream.isatty() else 2
    if isinstance(verbose, int | np.integer) and int(verbose) in (0, 1, 2):
        return int(verbose)
    raise ValueError(
        f"verbose must be 'auto', 0 (silent), 1 (progress bar) or 2 (one line per epoch), got "
        f"{verbose!r}; pass one of these, e.g. verbose=2."
    )


def _format_value(value: Any) -> str:
    # Keras's rule: 4 decimals, scientific notation once 4 decimals would show only zeros.
    try:
        value = float(np.mean(value))
    except (TypeError, ValueError):
        return f"{value}"
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_time(seconds: float, unit_name: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


def _can_encode(stream: Any, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


# We write the bar ourselves rather than use tqdm or rich: neither reproduces Keras's exact line
# ("469/469 ━━━━ 2s 4ms/step - loss: 0.2611"), and the display is 100 lines that are not worth a
# dependency.
class Progbar:
    """A Keras 3 style progress bar written to ``sys.stdout``.

    Display forms:

    * ``verbose=1`` on a terminal: one line redrawn in place with ``'\\r'``:
      ``469/469 ━━━━━━━━━━━━━━━━━━━━ 2s 4ms/step - accuracy: 0.9237 - loss: 0.2611``.
      Done steps are ``'━'`` and remaining steps ``'─'``, so the bar reads without colour (Keras
      colours both ``'━'`` with ANSI codes instead). While running, the time shown is the ETA.
    * ``verbose=1`` on a stream that is no terminal (a file, CI, doctest), or one that cannot encode
      ``'━'``: the same fields with an ASCII bar, one line per update:
      ``234/469 [=========>..........] 1s 4ms/step - loss: 0.3012``.
    * ``verbose=2``: only the final update prints, as one line:
      ``469/469 - 2s - 4ms/step - accuracy: 0.9237 - loss: 0.2611``.
    * ``verbose=0``: nothing.

    Values show 4 decimals, or scientific notation when smaller than 1e-3 (``1.2345e-05``).
    The time per step excludes the first update, which includes compilation, once a later update
    exists.

    Args:
        target: total number of steps, or ``None`` if unknown.
        width: bar width in characters (Keras 3's default, 20).
        verbose: 0, 1 or 2 as above.
        interval: minimum seconds between two redraws with ``verbose=1``.
        stateful_metrics: names whose values are shown as given; the others are averaged over
            steps by the bar (Keras 2's rule). ``None`` (the default) shows every value as given,
            as Keras 3 does, because ``fit`` already logs running epoch averages.
        unit_name: name of a step in the time display, e.g. ``"step"`` or ``"sample"``.

    Example:
        >>> bar = Progbar(3, verbose=2)
        >>> for step in (1, 2, 3):
        ...     bar.update(step, [("loss", 1.0 / step)])
        3/3 - 0s - ...s/step - loss: 0.3333
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
    ) -> None:
        self.target = target
        self.width = width
        self.verbose = resolve_verbose(verbose)
        self.interval = interval
        self.stateful_metrics = None if stateful_metrics is None else set(stateful_metrics)
        self.unit_name = unit_name
        stream = sys.stdout
        self._dynamic = (
            (hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules
        ) and _can_encode(stream, "━─")
        self._values: dict[str, list[Any]] = {}
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._first: tuple[int, float] | None = None
        self._prev_width = 0

    def _step_time(self, current: int, now: float) -> float:
        if not current:
            return 0.0
        if self._first is None:
            self._first = (current, now)
        first_step, first_time = self._first
        if current > first_step:
            return (now - first_time) / (current - first_step)
        return (now - self._start) / current

    def _bar(self, current: int) -> str:
        if not self.target:
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1
        count = f"{current:{digits}d}/{self.target}"
        done = min(int(self.width * current / self.target), self.width)
        if self._dynamic:
            return f"{count} {'━' * done}{'─' * (self.width - done)}"
        arrow = ">" if 0 < done < self.width else ""
        dots = "." * (self.width - done)
        return f"{count} [{'=' * (done - len(arrow))}{arrow}{dots}]"

    def _metrics(self) -> str:
        return "".join(f" - {k}: {_format_value(v / max(1, n))}" for k, (v, n) in self._values.items())

    def update(
        self,
        current: int,
        values: Iterable[tuple[str, Any]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Moves the bar to ``current`` steps done and records ``values``.

        Args:
            current: number of steps done so far (1-based).
            values: ``(name, value)`` pairs, shown in the order they first arrive.
            finalize: whether this is the last update; defaults to ``current >= target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for key, value in values or ():
            if self.stateful_metrics is None or key in self.stateful_metrics or finalize:
                self._values[key] = [value, 1]
            else:
                weight = max(current - self._seen_so_far, 1)
                total, count = self._values.get(key, [0.0, 0])
                self._values[key] = [total + value * weight, count + weight]
        self._seen_so_far = current
        now = time.time()
        per_step = self._step_time(current, now)
        stream = sys.stdout

        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if self.target and not finalize:
                when = _format_eta(per_step * (self.target - current))
            else:
                when = f"{now - self._start:.0f}s"
            line = f"{self._bar(current)} {when} {_format_time(per_step, self.unit_name)}"
            line += self._metrics()
            if self._dynamic:
                pad = " " * max(self._prev_width - len(line), 0)
                end = "\n" if finalize else ""
                stream.write(f"\r{line}{pad}{end}")
                self._prev_width = len(line)
            else:
                stream.write(f"{line}\n")
            stream.flush()
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s"
            line += f" - {_format_time(per_step, self.unit_name)}{self._metrics()}"
            stream.write(f"{line}\n")
            stream.flush()
        self._last_update = now

    def add(self, n: int, values: Iterable[tuple[str, Any]] | None = None) -> None:
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)
