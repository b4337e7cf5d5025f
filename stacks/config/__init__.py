"""The one place a stack's configuration is read, typed and validated.

`load_from_pulumi()` reads the running stack's config (real `pulumi up`/`preview` and the offline
preview alike); `load(stack, raw)` does the work on a plain mapping of `namespace:key` to values, so
tests and cross-stack checks use the very same rules. Every problem is collected; the caller gets
either a valid typed config or a `ConfigValidationError` listing them all, before any resource
exists.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from . import aws, bootstrap, cloudflare, cost, gcp, model
from .model import AwsStackConfig, BootstrapStackConfig, GcpStackConfig, GlobalStackConfig, StackConfig
from .placeholders import find_placeholders
from .reader import HOST_NAME, NAMESPACE, ConfigProblem, ConfigValidationError, Problems
from .sizes import ENVIRONMENTS

PROJECT_DIR = Path(__file__).resolve().parents[2]
KNOWN_KEYS = {
    "aws": ("cloud", "environment", "project", "organization", "publicHost", "network", "kubernetes", "database", "redis", "ingress", "registry", "interconnect", "platform", "monitoring",
            "application", "dns"),
    "gcp": ("cloud", "environment", "project", "organization", "publicHost", "network", "kubernetes", "database", "redis", "registry", "interconnect", "platform", "monitoring",
            "replication", "application", "dns", "ingress"),
    "cloudflare": ("cloud", "environment", "project", "organization", "publicHost", "loadBalancer"),
    "bootstrap": ("cloud", "environment", "project", "organization", "github", "state", "deployProjects"),
}
_PARSERS = {"aws": aws.parse, "gcp": gcp.parse, "cloudflare": cloudflare.parse, "bootstrap": bootstrap.parse}
# Programs that serve no public host (the bootstrap stack holds only state, keys and CI identities).
_NO_PUBLIC_HOST = ("bootstrap",)
# Read by the cost estimate only (stacks/config/cost.py); every kind of stack may set them.
KNOWN_KEYS = {cloud: keys + ("budget", "costAssumptions") for cloud, keys in KNOWN_KEYS.items()}
# Credential rotation (stacks/config/rotation.py) applies to the stacks that generate credentials.
KNOWN_KEYS = {cloud: keys + (("rotation",) if cloud in ("aws", "gcp") else ()) for cloud, keys in KNOWN_KEYS.items()}

PeerLoader = Callable[[str], Mapping[str, Any]]

__all__ = ["load", "load_from_pulumi", "read_stack_file", "raw_from_pulumi", "find_placeholders", "ConfigValidationError", "ConfigProblem", "StackConfig",
           "AwsStackConfig", "GcpStackConfig", "GlobalStackConfig", "BootstrapStackConfig", "model"]


def _decode(value: Any) -> Any:
    """Pulumi hands structured values to programs as JSON text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` of `Pulumi.<stack>.yaml` as `namespace:key -> value`; secure values become markers."""
    import yaml

    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name} in {project_dir}")
    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


def raw_from_pulumi() -> dict[str, Any]:
    """The running stack's config as `namespace:key -> value`, structured values decoded."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.get_config_env()) | set(runtime_config.CONFIG.get())
    return {key: _decode(runtime_config.get_config(key)) for key in keys}


def load_from_pulumi() -> StackConfig:
    import pulumi

    return load(pulumi.get_stack(), raw_from_pulumi())


def load(stack: str, raw: Mapping[str, Any], peer_loader: Optional[PeerLoader] = None, *, check_peer: bool = True) -> StackConfig:
    """Types and validates one stack's config; raises ConfigValidationError with every problem."""
    problems = Problems()
    raw = {key: _decode(value) for key, value in raw.items()}
    config = _parse(problems, stack, raw)
    if config is not None:
        cost.parse(problems, config.common, raw)
    if config is not None and check_peer:
        config = _check_peer(problems, config, peer_loader or read_stack_file)
    if problems:
        raise ConfigValidationError(stack, problems.items)
    assert config is not None
    return config


def _parse(problems: Problems, stack: str, raw: dict) -> Optional[StackConfig]:
    cloud = raw.get(f"{NAMESPACE}:cloud")
    if cloud not in _PARSERS:
        problems.add(f"{NAMESPACE}:cloud", f"must be one of aws, gcp, cloudflare, bootstrap; got {cloud!r}" if cloud else "is required but not set (aws, gcp, cloudflare or bootstrap)")
        return None
    environment = raw.get(f"{NAMESPACE}:environment")
    if environment not in ENVIRONMENTS:
        problems.add(f"{NAMESPACE}:environment", f"must be one of {', '.join(ENVIRONMENTS)}; got {environment!r}" if environment else f"is required but not set ({', '.join(ENVIRONMENTS)})")
        environment = "production"  # judge the rest by the strictest row
    for key in sorted(raw):
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE and name not in KNOWN_KEYS[cloud]:
            problems.add(key, f"is not a setting of a {cloud} stack (misspelt?)")
    public_host = raw.get(f"{NAMESPACE}:publicHost") or ""
    if not public_host and cloud in _NO_PUBLIC_HOST:
        pass
    elif not public_host:
        problems.add(f"{NAMESPACE}:publicHost", "is required but not set (the application's public host name, such as crm.example.com)")
    elif not HOST_NAME.match(public_host):
        problems.add(f"{NAMESPACE}:publicHost", f"'{public_host}' is not a lower-case DNS host name")
    common = model.Common(
        stack=stack,
        cloud=cloud,
        environment=environment,
        project=raw.get(f"{NAMESPACE}:project") or "crm",
        organization=raw.get(f"{NAMESPACE}:organization") or "organization",
        public_host=public_host,
    )
    return _PARSERS[cloud](problems, common, raw)


def _check_peer(problems: Problems, config: StackConfig, peer_loader: PeerLoader) -> StackConfig:
    """Checks this stack against the stack at the other end of the VPN, from that stack's own config.

    Static values (ranges, ASNs) are read from the peer's config file rather than copied here, so
    each lives in one place and a clash shows up before either side is deployed.
    """
    interconnect = getattr(config, "interconnect", None)
    if interconnect is None:
        return config
    key = f"{NAMESPACE}:interconnect.peerStack"
    try:
        peer = load(interconnect.peer_stack, peer_loader(interconnect.peer_stack), check_peer=False)
    except FileNotFoundError:
        problems.add(key, f"peer stack '{interconnect.peer_stack}' has no Pulumi.{interconnect.peer_stack}.yaml")
        return config
    except ConfigValidationError as error:
        problems.add(key, f"peer stack '{interconnect.peer_stack}' has config errors of its own: " + "; ".join(str(p) for p in error.problems))
        return config
    if isinstance(config, AwsStackConfig) and isinstance(peer, GcpStackConfig) and peer.interconnect is not None:
        ours = [("crm:network.cidr", config.network.cidr)]
        theirs = gcp.gcp_ranges(peer.network)
        _check_cross_overlap(problems, ours, theirs, peer.common.stack)
        if peer.interconnect.router_asn == interconnect.amazon_side_asn:
            problems.add("crm:interconnect.amazonSideAsn", f"{interconnect.amazon_side_asn} equals the Cloud Router ASN of {peer.common.stack}; the two BGP sides need distinct ASNs")
        # Nodes and pods reach the database for writes; Cloud SQL replicates from the private services range.
        peer_ranges = [peer.network.subnet_cidr, peer.network.pods_cidr, peer.network.private_services_cidr]
        return dataclasses.replace(config, interconnect=dataclasses.replace(interconnect, peer_ranges=peer_ranges))
    elif isinstance(config, GcpStackConfig) and isinstance(peer, AwsStackConfig) and peer.interconnect is not None:
        _check_cross_overlap(problems, gcp.gcp_ranges(config.network), [("crm:network.cidr", peer.network.cidr)], peer.common.stack)
        if peer.interconnect.amazon_side_asn == interconnect.router_asn:
            problems.add("crm:interconnect.routerAsn", f"{interconnect.router_asn} equals the Amazon-side ASN of {peer.common.stack}; the two BGP sides need distinct ASNs")
        linked = dataclasses.replace(
            interconnect, peer_region=peer.region, peer_asn=peer.interconnect.amazon_side_asn, peer_vpc_cidr=peer.network.cidr
        )
        return dataclasses.replace(config, interconnect=linked)
    problems.add(key, f"'{interconnect.peer_stack}' is not the other cloud's end of the link (it needs crm:interconnect pointing back)")
    return config


def _check_cross_overlap(problems: Problems, ours, theirs, peer_stack: str) -> None:
    for key, net in ours:
        for peer_key, peer_net in theirs:
            if net is not None and peer_net is not None and net.overlaps(peer_net):
                problems.add(key, f"range {net} overlaps {peer_stack}'s {peer_key} ({peer_net}); the VPN routes between them, so they must not overlap")
