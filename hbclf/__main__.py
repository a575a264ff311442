"""``python -m hbclf ...`` is the ``hbclf`` command."""

import sys

from .cli import main

sys.exit(main())
