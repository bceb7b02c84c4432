"""`python -m importer.sandbox`: run the sandbox registry (same options as `spp-import sandbox`)."""

import sys

from .server import main

sys.exit(main())
