"""The commands that talk to the live clouds (they need credentials): `verify` checks a deployed stack
does what its outputs promise; `webhooks` gets the SES event webhooks confirmed.

The offline tooling (`tools/engine`, `tools/checks`, `tools/reports`, `tools/diff`) never imports
this room (tests/test_layout.py).
"""
