"""CPU seconds `talktracks` needs to start: `--help`, `--version`, `status`, `users list`, `requeue`.

Each command runs in a fresh interpreter (as a person or cron starts it) against a small
migrated SQLite store; the figure is the child's user+sys CPU time (steadier than wall time on
a shared machine), median of --repeat runs. With --baseline SRC (the `src/` folder of another
checkout, e.g. `git archive 87f7907 src | tar -x -C /tmp/base`), both sides run alternately,
command by command, and the ratio is printed.

    .venv/bin/python bench/bench_cli_startup.py [--repeat 7] [--baseline /tmp/base/src]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
COMMANDS = (
    ("--help", ["--help"]),
    ("--version", ["--version"]),
    ("status", ["status", "--db", "{db}"]),
    ("users list", ["users", "list", "--db", "{db}"]),
    ("requeue", ["requeue", "c-failed", "--db", "{db}"]),
)
LAUNCH = "import sys; sys.path.insert(0, sys.argv[1]); from talktracks.cli import main; sys.exit(main(sys.argv[2:]))"


def cpu_seconds(src: Path, argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCH, str(src), *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, proc.returncode


def seed(db: Path) -> str:
    """A migrated store with one failed call to requeue (re-set before every requeue run)."""
    sys.path.insert(0, str(SRC))
    from talktracks.store import Call, open_store

    url = f"sqlite:///{db}"
    store = open_store(url)
    with store.session() as s:
        s.merge(Call(call_id="c-failed", status="failed", attempts=3, source="audio"))
    store.dispose()
    return url


def refail(url: str) -> None:
    from talktracks.store import Call, open_store

    store = open_store(url)
    with store.session() as s:
        call = s.get(Call, "c-failed")
        call.status, call.attempts = "failed", 3
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="src/ folder of the code to compare with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = seed(Path(tmp) / "bench.db")
        env = {**os.environ, "TALKTRACKS_DATA_DIR": str(Path(tmp) / "data")}
        sides = [("now", SRC)] + ([("baseline", args.baseline)] if args.baseline else [])
        print(f"median user+sys CPU seconds of {args.repeat} fresh starts each")
        header = f"{'command':<12}{'now':>8}"
        if args.baseline:
            header += f"{'baseline':>10}{'now/base':>10}"
        print(header)
        for name, template in COMMANDS:
            argv = [a.format(db=url) for a in template]
            times: dict[str, list[float]] = {side: [] for side, _ in sides}
            for i in range(args.repeat):
                order = sides if i % 2 == 0 else sides[::-1]  # alternate: the box's speed drifts
                for side, src in order:
                    if name == "requeue":
                        refail(url)
                    used, code = cpu_seconds(src, argv, env)
                    # The baseline may predate a command (--version: argparse exits 2 after
                    # building the same parser, which is the cost measured).
                    if code != 0 and side == "now":
                        sys.exit(f"bench: `{' '.join(argv)}` exited {code}")
                    times[side].append(used)
            now = statistics.median(times["now"])
            line = f"{name:<12}{now:>8.3f}"
            if args.baseline:
                base = statistics.median(times["baseline"])
                line += f"{base:>10.3f}{now / base:>10.2f}"
            print(line)


if __name__ == "__main__":
    main()
