import sys

from bisenet.cli import main

sys.exit(main())
