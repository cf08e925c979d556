"""``python -m satclip`` runs the command line."""

from satclip.cli import main

main()
