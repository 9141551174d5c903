"""`python -m speaker_agent run --config PATH` - the same as `loa agent run ...`."""

import sys

from speaker_agent.cli import main

sys.exit(main())
