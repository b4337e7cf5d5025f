"""GCP components: network, KMS, GKE, Artifact Registry, Secret Manager, Cloud SQL, Memorystore, the public origin."""
