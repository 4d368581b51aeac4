"""`voxgate serve` under tracemalloc, for the soak's heap profile (`bench.soak --heap-profile DIR`).

Run: python -m bench.heap_profiled_serve DIR serve --port N ...

Starts tracemalloc before voxgate is imported, then runs the CLI with the remaining arguments. Each
SIGUSR1 writes a snapshot of the Python heap to DIR/heap-<n>.snap (n = 1, 2, ...), so the soak can
compare the heap at the end of its warm-up with the heap at its end. Only Python allocations are
traced: the speech engines' and llama.cpp's native buffers show in RSS, not here.
"""

from __future__ import annotations

import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 4  # enough to see which caller of a container grows; each frame costs trace memory


def _install_snapshot_handler(directory: Path) -> None:
    taken = 0

    def dump(_signum: int, _frame: FrameType | None) -> None:
        nonlocal taken
        taken += 1
        tracemalloc.take_snapshot().dump(str(directory / f"heap-{taken}.snap"))

    signal.signal(signal.SIGUSR1, dump)


def main() -> int:
    directory = Path(sys.argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    tracemalloc.start(FRAMES)
    _install_snapshot_handler(directory)
    from voxgate.cli import main as voxgate_main

    return voxgate_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
