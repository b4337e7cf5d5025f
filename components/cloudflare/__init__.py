"""Cloudflare components: the global load balancer in front of both clouds."""
