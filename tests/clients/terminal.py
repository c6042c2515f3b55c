"""Run a command in a pseudo-terminal, as a person at a keyboard would: answer its prompts, read the screen.

The command runs in a session of its own whose controlling terminal is the pty (so that getpass
reads the password from /dev/tty, with echo off). A small exec wrapper makes the pty the
controlling terminal, because the test process has threads (moto's server) and preexec_fn is not
safe with threads.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

_MAKE_CONTROLLING_TERMINAL = "; ".join(
    [
        "import fcntl, os, sys, termios",
        "fcntl.ioctl(0, termios.TIOCSCTTY, 0)",
        "os.execve(sys.argv[1], sys.argv[1:], os.environ)",
    ]
)


@dataclass
class Screen:
    code: int
    text: str  # everything the terminal showed, prompts and echoed answers included

    @property
    def plain(self) -> str:
        """The text without the terminal's control sequences (colours, bold)."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.text)


def run_in_terminal(
    argv: list[str],
    env: dict[str, str],
    answers: list[tuple[str, str | Callable[[str], str | None]]],
    timeout: float = 60,
    columns: int = 80,
    rows: int = 24,
) -> Screen:
    """Run ``argv``; each time the screen shows an answer's prompt (in order), type the answer and Enter.

    An answer may be a function of the screen so far: it acts meanwhile (approves a login in a
    browser, say) and returns what to type, or None to type nothing."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", _MAKE_CONTROLLING_TERMINAL, *argv],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    pending = list(answers)
    searched_from = 0
    try:
        while True:
            if pending:
                prompt = pending[0][0].encode()
                at = seen.find(prompt, searched_from)
                if at >= 0:
                    searched_from = at + len(prompt)
                    answer = pending.pop(0)[1]
                    typed = answer(seen.decode(errors="replace")) if callable(answer) else answer
                    if typed is not None:
                        os.write(master, typed.encode() + b"\n")
                    continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                process.kill()
                raise AssertionError(f"timed out; the screen showed:\n{seen.decode(errors='replace')}")
            ready, _, _ = select.select([master], [], [], min(remaining, 0.5))
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the command closed the terminal (it exited)
                    break
                if not chunk:
                    break
                seen += chunk
            elif process.poll() is not None and not pending:
                break
    finally:
        os.close(master)
    code = process.wait(timeout=timeout)
    return Screen(code, seen.decode(errors="replace").replace("\r\n", "\n"))
