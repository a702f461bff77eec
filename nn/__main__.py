"""``python -m nn`` runs the demo (see `nn.demo`)."""

import sys

from .demo import cli

if __name__ == "__main__":
    sys.exit(cli("python -m nn"))
