"""One high-resolution run from CLI arguments: wall time and peak memory as JSON; the picture goes where
``--output`` says (used by bench/hires.py)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import peak_rss_mb  # noqa: E402
from nstyle import api, cli  # noqa: E402


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    cfg = cli.config_from_args(cli.build_parser().parse_args(argv))
    cli.setup_logging(cfg.quiet)
    start = time.perf_counter()
    result = api.run(cfg)
    wall = time.perf_counter() - start
    with open(out, "w") as f:
        json.dump({"epochs": result.epochs, "wall": wall, "peak_mb": peak_rss_mb(), "stopped": result.stopped,
                   "output": result.output}, f)


if __name__ == "__main__":
    main()
