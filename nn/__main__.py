"""``python -m nn`` runs the demo (see `nn.demo`)."""

from .demo import main

main()
