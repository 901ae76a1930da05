import sys

from roost.cli.entry import main

sys.exit(main())
