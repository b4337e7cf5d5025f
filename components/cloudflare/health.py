"""The health check behind the global load balancer, and the worst-case detection time it implies.

Kept apart from the load balancer so the config layer can check the detection budget without
importing the Cloudflare SDK.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HealthCheck:
    path: str = "/health"
    port: int = 443
    expected_codes: str = "200"
    interval_seconds: int = 60
    retries: int = 2
    timeout_seconds: int = 5
    consecutive_down: int = 1
    consecutive_up: int = 2

    @property
    def detection_seconds(self) -> int:
        """Worst-case time for Cloudflare to mark a dead origin unhealthy.

        The origin can die just after a passing check: the next check starts up to one interval
        later, and the origin is unhealthy after `consecutive_down` failed checks, the last of
        which waits for its first attempt and every retry to time out.
        """
        return self.consecutive_down * self.interval_seconds + (self.retries + 1) * self.timeout_seconds
