"""PostgreSQL roles and grants, applied from inside a cluster that can reach the database."""
