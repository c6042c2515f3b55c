"""``python -m latchkey``: the command line."""

from latchkey.cli import main

main()
