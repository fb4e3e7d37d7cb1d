"""``python -m services_v2.bundle``: the same as the ``mycelium-bundle`` console script."""

import sys

from .cli import main

sys.exit(main())
