"""`python -m pretrained.testing.hub --root DIR --port 8080`: a standalone loopback Hub until Ctrl-C."""

from ._server import main

main()
