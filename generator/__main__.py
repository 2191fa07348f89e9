import os
import sys

from .cli import main

code = main()
# Tearing down cfn-lint's large in-memory schemas at exit costs ~0.3 s and does nothing
# useful: everything is written and flushed, so leave at once.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
