"""Database failover tooling for the DR pair: RDS (publisher) -> Cloud SQL (subscriber) logical replication.

Logical replication carries rows, not DDL or sequences. `setup` copies the schema and starts
replication; `lag` tells how far behind the copy is; `promote` makes the GCP copy the primary when
AWS is lost, moving every sequence past the highest replicated key so the first insert works.
"""
