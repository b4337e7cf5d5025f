"""AWS components: network, KMS, EKS, ECR, secrets, RDS PostgreSQL, ElastiCache Redis, the public ALB, the VPN gateway."""
