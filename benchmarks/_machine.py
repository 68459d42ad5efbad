"""What machine a benchmark ran on."""
from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The processor's name as Linux reports it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()
