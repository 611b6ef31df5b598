"""``python -m altegon_rt`` is the same as the ``altegon-rt`` command."""

import sys

from altegon_rt.cli import main

sys.exit(main())
