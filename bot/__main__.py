"""``python -m bot`` is ``daihuan run`` (other subcommands work too: ``python -m bot migrate``)."""

import sys

from bot.cli import main

sys.exit(main(sys.argv[1:] or ["run"]))
