"""`python -m renkei` runs the command line."""

from renkei.cli import main

main()
