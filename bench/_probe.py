"""Run one stylization from CLI arguments and write its timings and peak memory as JSON (used by bench/)."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import peak_rss_mb  # noqa: E402
from nstyle import cli  # noqa: E402
from nstyle.api import run  # noqa: E402


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    cfg = cli.config_from_args(cli.build_parser().parse_args(argv))
    cli.setup_logging(True)
    start = time.perf_counter()
    result = run(cfg)
    wall = time.perf_counter() - start
    per_epoch = [e.seconds for e in result.history[1:]] or [e.seconds for e in result.history]
    with open(out, "w") as f:
        json.dump({"epochs": result.epochs, "wall": wall, "s_per_epoch": statistics.median(per_epoch),
                   "peak_mb": peak_rss_mb(), "stopped": result.stopped}, f)


if __name__ == "__main__":
    main()
