"""Developer and operator tooling beside the Pulumi programs, never imported by them (docs/development.md#the-offline-engine)."""
