"""What the command line adapts to the terminal it prints on: width, character set, progress, pipes.

- Width: when stdout is a terminal (or COLUMNS is set) every command fits its lines to the width: the
  preview tree cuts them (each line is one resource; `--json` has everything), reports (cost, check,
  path, verify, rebuild-time) fold them onto indented continuation lines, so no note or message is
  lost. Output piped to a file or another program keeps full lines, which is what `grep` and `less -S` want.
- Characters: the tree's box-drawing characters and the ellipsis are used only when stdout's encoding
  can write them (LANG=C, PYTHONIOENCODING=ascii get ASCII), and nothing unencodable ever raises.
- Colour: the command line prints none, so NO_COLOR needs nothing more from it.
- Progress of long commands goes to stderr, never stdout: on a terminal one line rewritten in place
  and erased when done; elsewhere (CI logs) one short line per step, so a log shows which stack was running when it failed or stalled.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from typing import IO

UNICODE_GLYPHS = {"branch": "├─ ", "last": "└─ ", "pipe": "│  ", "space": "   ", "ellipsis": "…"}
ASCII_GLYPHS = {"branch": "|- ", "last": "`- ", "pipe": "|  ", "space": "   ", "ellipsis": "..."}


def can_encode(stream: IO[str], text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


@dataclass(frozen=True)
class Style:
    glyphs: dict
    width: int | None  # None: never cut lines

    @classmethod
    def for_stream(cls, stream: IO[str]) -> Style:
        glyphs = UNICODE_GLYPHS if can_encode(stream, "".join(UNICODE_GLYPHS.values())) else ASCII_GLYPHS
        is_terminal = hasattr(stream, "isatty") and stream.isatty()
        width = shutil.get_terminal_size().columns if is_terminal or os.environ.get("COLUMNS") else None
        return cls(glyphs, width)

    def wrap(self, text: str) -> str:
        """`text` with each line longer than the width folded onto continuation lines, indented under it."""
        if self.width is None:
            return text
        lines = []
        for line in text.splitlines():
            if len(line) <= self.width:
                lines.append(line)
                continue
            indent = line[: len(line) - len(line.lstrip(" "))][: self.width // 2]
            lines.extend(
                textwrap.wrap(
                    line.strip(" "),
                    width=self.width,
                    initial_indent=indent,
                    subsequent_indent=(indent + "    ")[: self.width // 2],
                    break_on_hyphens=False,
                )
            )
        return "\n".join(lines)


def tolerate_any_encoding() -> None:
    """Characters the terminal's encoding lacks (a non-ASCII value in a stack file on LANG=C) print as '?'."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and not can_encode(stream, "\u2500"):
            reconfigure(errors="replace")


class Progress:
    """Progress of a multi-stack command on stderr."""

    def __init__(self, verb: str, stream: IO[str] | None = None):
        self.verb = verb
        self.stream = stream if stream is not None else sys.stderr  # looked up now: tests and callers may redirect it
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.shown = 0

    def step(self, name: str, index: int, total: int) -> None:
        if self.live:
            line = f"{self.verb} {index}/{total} {name} ..."[: shutil.get_terminal_size().columns - 1]
            self.stream.write("\r" + line.ljust(self.shown))
            self.shown = max(self.shown, len(line))
        else:
            self.stream.write(f"{self.verb} {index}/{total} {name}\n")
        self.stream.flush()

    def done(self) -> None:
        if self.live and self.shown:
            self.stream.write("\r" + " " * self.shown + "\r")
            self.stream.flush()
            self.shown = 0


def quiet_broken_pipe() -> int:
    """The reader of stdout went away (`… | head`): stop quietly, as `cat` does, with 128 + SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush at exit then has nowhere to fail
    except (OSError, ValueError):
        pass
    return 141
