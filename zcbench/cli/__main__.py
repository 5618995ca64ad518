"""``python -m zcbench.cli``."""

import sys

from zcbench.cli.app import main

sys.exit(main())
