"""Build progress: a bar per stage on a terminal, one plain line per stage elsewhere (CI, logs)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from tqdm import tqdm


@dataclass
class Stage:
    label: str
    total: int | None
    done: int = 0
    seconds: float = 0.0


@dataclass
class Progress:
    """Reports stages as they run; ``stages`` keeps what each one did and how long it took."""

    stream: TextIO | None = None
    live: bool = False
    stages: list[Stage] = field(default_factory=list)
    _started: float = 0.0
    _bar: tqdm | None = None

    @classmethod
    def for_terminal(cls) -> "Progress":
        """Bars on stderr when it is a terminal; otherwise plain lines on stdout, so that
        stderr carries nothing but problems."""
        if sys.stderr.isatty():
            return cls(sys.stderr, live=True)
        return cls(sys.stdout, live=False)

    @classmethod
    def silent(cls) -> "Progress":
        return cls(None)

    def stage(self, label: str, total: int | None = None) -> None:
        self._close()
        self.stages.append(Stage(label, total))
        self._started = time.monotonic()
        if self.live and self.stream is not None:
            self._bar = tqdm(total=total, desc=label, file=self.stream, unit="", leave=True, dynamic_ncols=True,
                             bar_format="{desc}：{bar:24} {n_fmt}/{total_fmt}  {elapsed}" if total else "{desc}：{n_fmt}  {elapsed}")

    def advance(self, count: int = 1) -> None:
        if not self.stages:
            return
        self.stages[-1].done += count
        if self._bar is not None:
            self._bar.update(count)

    def say(self, text: str) -> None:
        """A line between the stages (a build waiting for another), where the stages are shown."""
        if self.stream is not None:
            if self._bar is not None:
                self._bar.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)

    def finish(self) -> None:
        self._close()

    def _close(self) -> None:
        if not self.stages or self._started == 0.0:
            return
        stage = self.stages[-1]
        stage.seconds = time.monotonic() - self._started
        self._started = 0.0
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.stream is not None:
            count = f"{stage.done}/{stage.total}" if stage.total else f"{stage.done}"
            print(f"{stage.label}：{count}（{stage.seconds:.1f} 秒）", file=self.stream, flush=True)
