"""``python -m nstyle``."""
import sys

from .cli import main

sys.exit(main())
