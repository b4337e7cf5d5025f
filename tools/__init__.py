"""Operator commands that run next to the Pulumi CLI (never imported by the stack programs)."""
