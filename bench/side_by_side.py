"""Full builds and preview updates of the benchmark hub, this tree beside another commit.

Both versions build the same generated hub (bench/generate_hub.py, fixed seed), taking
turns (old, new, old, new, …) so that a busy machine slows both alike; then each
version's preview is timed from saving a lesson to serving it.  Prints every run and
the medians, of wall time and of CPU time (user + system, the build and every process
it started): on a shared machine the CPU time moves much less with the load.  Each version
builds into a folder of its own: its first build into an empty one, each later one over the
site its last build left, with nothing changed (so it links every unchanged file: see
kite/reuse.py; bench/build_bench.py measures first builds and rebuilds after an edit apart);
with ``--first``, every build is a first build, into a new folder, as bench/build_bench.py
does (the earlier ones are removed at the end: see there why).

    .venv/bin/python bench/side_by_side.py [--against HEAD~1] [--runs 3] [--first] [--lessons 1566 ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_hub import generate  # noqa: E402
from measure import measure  # noqa: E402

REPO = Path(__file__).resolve().parent.parent

PREVIEW = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/bench")
from build_bench import preview_latency
timed = preview_latency(Path(sys.argv[2]))
timed = timed[0] if isinstance(timed, tuple) else timed  # older trees return the save times alone
print(" ".join(f"{t:.3f}" for t in timed))
"""


def export_commit(commit: str, target: Path) -> None:
    """The tree of ``commit``, without touching this worktree."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True, capture_output=True).stdout
    target.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def tree_env(tree: Path) -> dict[str, str]:
    """The environment for running ``tree``'s code (with the tree as the working folder: ``python -m``
    looks there first): the processes a build starts (``python -m kite.search``) must import that
    tree's ``kite`` too, not this worktree's, which the venv has installed."""
    return {**os.environ, "PYTHONPATH": str(tree)}


def build_once(tree: Path, hub: Path, site: Path) -> tuple[float, float, int, float]:
    """(wall seconds, CPU seconds, largest process in bytes, kernel CPU seconds) of one full build."""
    run = measure([sys.executable, str(tree / "build.py"), "build", "-f", str(hub / "site_config.yml"), "-d", str(site)],
                  env=tree_env(tree), cwd=tree)
    return run.wall, run.cpu, run.largest_process, run.system


def comparison(description: str, against: str) -> argparse.ArgumentParser:
    """The options every comparison of this tree with another commit takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--against", default=against, help=f"the commit to compare with (default {against})")
    parser.add_argument("--lessons", type=int, default=1566)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--announcements", type=int, default=600)
    return parser


@contextmanager
def compared(arguments: argparse.Namespace, prefix: str) -> Iterator[tuple[Path, dict[str, Path], Path]]:
    """A scratch folder; the trees by label (the other commit's, exported there, then this one);
    and the generated hub, in that folder."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        work = Path(folder)
        export_commit(arguments.against, work / "old")
        hub = work / "hub"
        generate(hub, arguments.lessons, arguments.episodes, arguments.announcements)
        yield work, {arguments.against: work / "old", "此工作树": REPO}, hub


def main() -> int:
    parser = comparison(__doc__.splitlines()[0], "HEAD~1")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--first", action="store_true", help="每次都构建到一个新的空文件夹（都是首次构建）")
    arguments = parser.parse_args()

    with compared(arguments, "kite-side-by-side-") as (work, trees, hub):
        print(f"生成的站点：{arguments.lessons} 篇党课、{arguments.episodes} 期节目、{arguments.announcements} 条活动通知")

        builds: dict[str, list[tuple[float, float, int, float]]] = {label: [] for label in trees}
        for run in range(arguments.runs):
            for index, (label, tree) in enumerate(trees.items()):
                site = work / (f"site-{index}-{run}" if arguments.first else f"site-{index}")
                builds[label].append(build_once(tree, hub, site))
                seconds, cpu, peak, system = builds[label][-1]
                print(f"  第 {run + 1} 轮 {label}：{seconds:.1f} 秒（CPU {cpu:.1f} 秒，其中内核 {system:.1f} 秒），"
                      f"最大单进程内存 {peak / 2**20:.0f} MB，load average {os.getloadavg()[0]:.1f}", flush=True)

        previews: dict[str, list[float]] = {}
        for label, tree in trees.items():
            result = subprocess.run([sys.executable, "-c", PREVIEW, str(tree), str(hub)], capture_output=True, text=True,
                                    check=True, env=tree_env(tree), cwd=tree)
            previews[label] = [float(value) for value in result.stdout.split()]

        print()
        for label in trees:
            seconds = [t for t, _, _, _ in builds[label]]
            cpu = [c for _, c, _, _ in builds[label]]
            system = [s for _, _, _, s in builds[label]]
            peak = max(p for _, _, p, _ in builds[label])
            latency = previews[label]
            print(f"{label}")
            print(f"  完整构建：中位数 {statistics.median(seconds):.1f} 秒（{', '.join(f'{t:.1f}' for t in seconds)}），"
                  f"CPU 中位数 {statistics.median(cpu):.1f} 秒（{', '.join(f'{c:.1f}' for c in cpu)}），"
                  f"其中内核中位数 {statistics.median(system):.1f} 秒（{', '.join(f'{s:.1f}' for s in system)}），"
                  f"最大单进程内存 {peak / 2**20:.0f} MB")
            print(f"  保存到预览更新：中位数 {statistics.median(latency):.2f} 秒（{', '.join(f'{t:.2f}' for t in latency)}）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
