"""What every other stack needs before its first `pulumi up`: state backend, secrets key, CI identities."""
