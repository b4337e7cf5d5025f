"""The HA VPN between AWS and GCP: addressing rules and the component that builds the link."""
