"""The checks between stacks, on a stack's typed config: each stack is judged against the stacks it
links to or shares with, from those stacks' own files, so a value lives in one stack file and a clash
shows before either side is deployed.

- the VPN peers (crm:interconnect.peerStack): ranges apart, distinct ASNs, and the peer's ranges,
  region and ASN handed to this side;
- stacks writing into one Cloudflare zone (crm:dns): no record written twice;
- the CI runner (crm:ci.runner): the repository it serves, from the bootstrap stack's crm:github.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from . import rules
from .model import AwsStackConfig, GcpStackConfig, StackConfig
from .reader import NAMESPACE, ConfigValidationError, Problems, decode
from .relations import gcp_ranges

PeerLoader = Callable[[str], Mapping[str, Any]]


def check_peer(problems: Problems, config: StackConfig, load_peer: Callable[[str], StackConfig]) -> StackConfig:
    """Checks this stack against the stack at the other end of the VPN, from that stack's own config.

    Static values (ranges, ASNs) are read from the peer's config file rather than copied here, so
    each lives in one place and a clash shows up before either side is deployed.
    """
    interconnect = getattr(config, "interconnect", None)
    if interconnect is None:
        return config
    key = f"{NAMESPACE}:interconnect.peerStack"
    try:
        peer = load_peer(interconnect.peer_stack)
    except FileNotFoundError:
        problems.add(key, f"peer stack '{interconnect.peer_stack}' has no Pulumi.{interconnect.peer_stack}.yaml")
        return config
    except ConfigValidationError as error:
        problems.add(
            key, f"peer stack '{interconnect.peer_stack}' has config errors of its own: " + "; ".join(str(p) for p in error.problems)
        )
        return config
    if isinstance(config, AwsStackConfig) and isinstance(peer, GcpStackConfig) and peer.interconnect is not None:
        ours = [("crm:network.cidr", config.network.cidr)]
        theirs = gcp_ranges(peer.network)
        _check_cross_overlap(problems, ours, theirs, peer.common.stack)
        if peer.interconnect.router_asn == interconnect.amazon_side_asn:
            problems.add(
                "crm:interconnect.amazonSideAsn",
                f"{interconnect.amazon_side_asn} equals the Cloud Router ASN of {peer.common.stack}; the two BGP sides need distinct ASNs",
            )
        # Nodes and pods reach the database for writes; Cloud SQL replicates from the private services range.
        peer_ranges = [peer.network.subnet_cidr, peer.network.pods_cidr, peer.network.private_services_cidr]
        return config.model_copy(update={"interconnect": interconnect.model_copy(update={"peer_ranges": peer_ranges})})
    elif isinstance(config, GcpStackConfig) and isinstance(peer, AwsStackConfig) and peer.interconnect is not None:
        _check_cross_overlap(problems, gcp_ranges(config.network), [("crm:network.cidr", peer.network.cidr)], peer.common.stack)
        if peer.interconnect.amazon_side_asn == interconnect.router_asn:
            problems.add(
                "crm:interconnect.routerAsn",
                f"{interconnect.router_asn} equals the Amazon-side ASN of {peer.common.stack}; the two BGP sides need distinct ASNs",
            )
        linked = interconnect.model_copy(
            update={"peer_region": peer.region, "peer_asn": peer.interconnect.amazon_side_asn, "peer_vpc_cidr": peer.network.cidr}
        )
        return config.model_copy(update={"interconnect": linked})
    problems.add(key, f"'{interconnect.peer_stack}' is not the other cloud's end of the link (it needs crm:interconnect pointing back)")
    return config


def _check_cross_overlap(problems: Problems, ours, theirs, peer_stack: str) -> None:
    for key, net in ours:
        for peer_key, peer_net in theirs:
            if net is not None and peer_net is not None and net.overlaps(peer_net):
                problems.add(
                    key,
                    f"range {net} overlaps {peer_stack}'s {peer_key} ({peer_net}); the VPN routes between them, so they must not overlap",
                )


@dataclasses.dataclass(frozen=True)
class _ZoneClaims:
    """What a cloud stack writes into its Cloudflare zone: its origin record, and validation records for its certificate's names."""

    stack: str
    cloud: str
    zone_id: str
    origin_host: str  # crm:dns.originHost as set ("" when the program names it <origin_label>.<zone>)
    origin_label: str
    certificate_hosts: frozenset[str]  # names whose validation records the stack writes (none with an existing certificate)

    def origin(self) -> str:
        return self.origin_host or f"{self.origin_label}.<zone>"

    def same_origin(self, other: _ZoneClaims) -> bool:
        if self.origin_host and other.origin_host:
            return self.origin_host == other.origin_host
        # The zone's name is read at deploy time: a default name and a set one agree when their first labels do.
        return self.first_label() == other.first_label()

    def first_label(self) -> str:
        return self.origin_host.split(".")[0] if self.origin_host else self.origin_label


def _claims_of(config: StackConfig) -> _ZoneClaims | None:
    dns = getattr(config, "dns", None)
    if dns is None or not dns.zone_id:
        return None
    common = config.common
    hosts = {common.public_host} | ({dns.origin_host} if dns.origin_host else set())
    if isinstance(config, AwsStackConfig) and config.ingress.certificate_arn:
        hosts = set()  # an existing certificate: no validation records
    return _ZoneClaims(common.stack, common.cloud, dns.zone_id, dns.origin_host, common.origin_label, frozenset(hosts))


def _raw_claims(stack: str, raw: Mapping[str, Any]) -> _ZoneClaims | None:
    """The same, read from another stack's file without judging the rest of it (its own load reports its errors)."""
    raw = {key: decode(value) for key, value in raw.items()}
    cloud, environment = raw.get(f"{NAMESPACE}:cloud"), raw.get(f"{NAMESPACE}:environment")
    dns = raw.get(f"{NAMESPACE}:dns")
    if (
        cloud not in ("aws", "gcp")
        or not isinstance(environment, str)
        or not isinstance(dns, Mapping)
        or not isinstance(dns.get("zoneId"), str)
    ):
        return None
    project = raw.get(f"{NAMESPACE}:project", "crm")
    public_host = raw.get(f"{NAMESPACE}:publicHost")
    origin = dns.get("originHost") or ""
    if not isinstance(project, str) or not isinstance(public_host, str) or not isinstance(origin, str):
        return None
    ingress = raw.get(f"{NAMESPACE}:ingress")
    existing = cloud == "aws" and isinstance(ingress, Mapping) and bool(ingress.get("certificateArn"))
    hosts = set() if existing else {public_host} | ({origin} if origin else set())
    return _ZoneClaims(stack, cloud, dns["zoneId"], origin, f"{project}-{environment}-{cloud}", frozenset(hosts))


def check_shared_zone(problems: Problems, config: StackConfig, peer_loader: PeerLoader, stacks: list[str]) -> None:
    """Stacks that write into one Cloudflare zone must not write the same records.

    Two stacks with one origin name would overwrite each other's record (Cloudflare refuses a second
    CNAME of one name). Two stacks of one cloud validating a certificate for one name write the same
    validation record: ACM's `_<hash>.<name>` is the same for every certificate of that name in an
    account, and Certificate Manager's `_acme-challenge.<name>` is one CNAME whatever the project.
    The stacks' accounts are not known before deploying, so AWS stacks sharing a name are refused too.
    """
    ours = _claims_of(config)
    if ours is None:
        return
    for stack in stacks:
        if stack == ours.stack:
            continue
        try:
            theirs = _raw_claims(stack, peer_loader(stack))
        except (FileNotFoundError, ConfigValidationError):
            continue
        if theirs is None or theirs.zone_id != ours.zone_id:
            continue
        if ours.same_origin(theirs):
            problems.add(
                f"{NAMESPACE}:dns.originHost",
                f"'{ours.origin()}' is also {stack}'s origin host ('{theirs.origin()}') in the same Cloudflare zone: both would "
                "write one DNS record; give each stack its own (the default, <project>-<environment>-<cloud>.<zone>, differs per stack)",
            )
        shared = sorted(ours.certificate_hosts & theirs.certificate_hosts) if ours.cloud == theirs.cloud else []
        for host in shared:
            key = f"{NAMESPACE}:publicHost" if host == config.common.public_host else f"{NAMESPACE}:dns.originHost"
            fix = "; or set crm:ingress.certificateArn on one of them" if ours.cloud == "aws" else ""
            problems.add(
                key,
                f"{stack} (also {ours.cloud}, same Cloudflare zone) requests a certificate for '{host}' too: both would "
                f"write the same DNS validation record; give each stack its own host name{fix}",
            )


BOOTSTRAP_STACK = "bootstrap"


def with_runner_repository(problems: Problems, config: StackConfig, peer_loader: PeerLoader) -> StackConfig:
    """The repository the stack's CI runner serves: the one CI's identities trust (the bootstrap stack's
    crm:github.repository), read from its file so it is written once."""
    if not isinstance(config, AwsStackConfig) or not config.ci.runner:
        return config
    key = f"{NAMESPACE}:ci.runner"
    try:
        github = decode(peer_loader(BOOTSTRAP_STACK).get(f"{NAMESPACE}:github"))
    except FileNotFoundError:
        problems.add(key, f"needs Pulumi.{BOOTSTRAP_STACK}.yaml, whose crm:github.repository the runner serves (or set runner: false)")
        return config
    repository = github.get("repository") if isinstance(github, Mapping) else None
    if not isinstance(repository, str) or rules.github_repository(repository):
        problems.add(key, f"needs crm:github.repository (OWNER/REPO) in Pulumi.{BOOTSTRAP_STACK}.yaml, the repository the runner serves")
        return config
    return config.model_copy(update={"ci": config.ci.model_copy(update={"repository": repository})})
