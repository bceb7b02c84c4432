"""The defaults the command line shows in its help, in a module that imports nothing.

Why a module of their own: ``spp-import --help`` and every command build the
whole argument parser before anything else, and the login starts only once
the arguments are parsed; if the parser had to import the pipeline (pandas,
pandera) to learn a default, the server would wait for those imports before
it could begin hashing the password.  The modules that use these values
import them from here, so each is stated once.
"""

from __future__ import annotations

#: Rows per ``load`` call: 250-1,000 measure within noise of each other (README, Performance, benchmark 5).
BATCH_SIZE = 500
#: A file with more data rows than this is run in chunks (``--chunk-rows``; 0: never).
CHUNK_ROWS = 50_000
