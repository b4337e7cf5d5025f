"""Prints a previewed stack: a tree for people, or JSON shaped like `pulumi preview --json`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..terminal import UNICODE_GLYPHS as _UNICODE
from .engine import PreviewResult, RegisteredResource, map_markers

_HIDDEN_KEYS = {"tags", "tagsAll", "labels", "resourceLabels", "userLabels", "__defaults"}
_MAX_KEYS = 4  # for types without an entry in KEY_INPUTS
_MAX_TEXT = 48

# The inputs a reviewer looks at first, per type (dotted paths reach into objects); a type not listed
# shows its first few inputs. Keys a resource does not set are left out.
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": (
        "engine",
        "engineVersion",
        "instanceClass",
        "multiAz",
        "storageEncrypted",
        "allocatedStorage",
        "deletionProtection",
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "engine",
        "engineVersion",
        "nodeType",
        "numCacheClusters",
        "numNodeGroups",
        "multiAzEnabled",
        "atRestEncryptionEnabled",
        "transitEncryptionEnabled",
    ),
    "aws:msk/cluster:Cluster": ("kafkaVersion", "numberOfBrokerNodes", "brokerNodeGroupInfo.instanceType"),
    "aws:eks/cluster:Cluster": (
        "name",
        "version",
        "vpcConfig.endpointPublicAccess",
        "vpcConfig.endpointPrivateAccess",
        "accessConfig.authenticationMode",
    ),
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "capacityType", "amiType", "scalingConfig"),
    "aws:eks/addon:Addon": ("addonName", "addonVersion"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "enableDnsHostnames"),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"),
    "aws:ec2/route:Route": ("destinationCidrBlock", "gatewayId", "natGatewayId", "transitGatewayId"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "ipProtocol",
        "fromPort",
        "toPort",
        "cidrIpv4",
        "referencedSecurityGroupId",
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "ipProtocol",
        "fromPort",
        "toPort",
        "cidrIpv4",
        "referencedSecurityGroupId",
    ),
    "aws:ec2/vpnConnection:VpnConnection": ("type", "staticRoutesOnly", "tunnel1InsideCidr", "tunnel2InsideCidr"),
    "aws:lb/loadBalancer:LoadBalancer": ("loadBalancerType", "internal", "dropInvalidHeaderFields", "enableDeletionProtection"),
    "aws:lb/listener:Listener": ("protocol", "port", "sslPolicy"),
    "aws:lb/targetGroup:TargetGroup": ("protocol", "port", "targetType"),
    "aws:kms/key:Key": ("description", "enableKeyRotation", "deletionWindowInDays"),
    "aws:kms/alias:Alias": ("name",),
    "aws:iam/role:Role": ("name", "maxSessionDuration"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("namespace", "metricName", "comparisonOperator", "threshold"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:sqs/queue:Queue": ("name", "messageRetentionSeconds"),
    "aws:ecr/repository:Repository": ("name", "imageTagMutability"),
    "aws:secretsmanager/secret:Secret": ("name", "recoveryWindowInDays"),
    "aws:ssm/parameter:Parameter": ("name", "type"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("metadataOptions.httpTokens", "metadataOptions.httpPutResponseHopLimit"),
    "gcp:sql/databaseInstance:DatabaseInstance": (
        "databaseVersion",
        "settings.tier",
        "settings.availabilityType",
        "settings.ipConfiguration.ipv4Enabled",
        "deletionProtection",
    ),
    "gcp:redis/instance:Instance": ("tier", "memorySizeGb", "redisVersion", "replicaCount", "transitEncryptionMode", "authEnabled"),
    "gcp:container/cluster:Cluster": (
        "name",
        "releaseChannel.channel",
        "privateClusterConfig.enablePrivateNodes",
        "datapathProvider",
        "deletionProtection",
    ),
    "gcp:container/nodePool:NodePool": ("nodeConfig.machineType", "autoscaling", "nodeLocations"),
    "gcp:compute/network:Network": ("autoCreateSubnetworks", "routingMode"),
    "gcp:compute/subnetwork:Subnetwork": ("ipCidrRange", "region", "privateIpGoogleAccess"),
    "gcp:compute/firewall:Firewall": ("direction", "priority", "sourceRanges", "allows", "denies"),
    "gcp:projects/iAMMember:IAMMember": ("role", "member"),
    "gcp:kms/cryptoKey:CryptoKey": ("name", "purpose", "rotationPeriod"),
    "gcp:serviceaccount/account:Account": ("accountId",),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("displayName", "combiner"),
    "kubernetes:helm.sh/v3:Release": ("chart", "version", "namespace"),
    "kubernetes:apps/v1:Deployment": ("metadata.namespace", "metadata.name", "spec.replicas"),
    "cloudflare:index/dnsRecord:DnsRecord": ("name", "type", "content", "proxied"),
    "cloudflare:index/loadBalancer:LoadBalancer": ("name", "steeringPolicy", "proxied", "sessionAffinity"),
    "cloudflare:index/loadBalancerPool:LoadBalancerPool": ("name", "minimumOrigins"),
    "random:index/randomPassword:RandomPassword": ("length", "special"),
}
_KUBERNETES_KEYS = ("metadata.namespace", "metadata.name")  # any other kubernetes:* type


def to_json_value(value: Any) -> Any:
    return map_markers(value, secret=lambda _inner: "[secret]", unknown=lambda: "[unknown]")


def preview_json(result: PreviewResult) -> dict[str, Any]:
    steps = [
        {
            "op": r.op,
            "urn": r.urn,
            "newState": {
                "type": r.type,
                "urn": r.urn,
                "custom": r.custom,
                "parent": r.parent,
                "protect": r.protect,
                "dependencies": r.dependencies,
                "propertyDependencies": r.property_dependencies,
                **r.options,
                "provider": r.provider,
                "inputs": to_json_value({k: v for k, v in r.inputs.items() if k != "__defaults"}),
                "outputs": to_json_value({k: v for k, v in r.outputs.items() if k != "__defaults"}),
            },
        }
        for r in result.resources
    ]
    summary: dict[str, int] = {}
    for step in steps:
        summary[step["op"]] = summary.get(step["op"], 0) + 1
    return {"stack": result.stack, "steps": steps, "outputs": to_json_value(result.outputs), "changeSummary": summary}


# A value printed in the tree stays on its line: a PEM bundle's or a script's line breaks (and any other
# control character) are shown escaped, as JSON would write them, never written out.
_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
_ESCAPES.update({code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if code not in _ESCAPES})


def _brief(value: Any, ellipsis: str = _UNICODE["ellipsis"]) -> str:
    value = to_json_value(value)
    text = value.translate(_ESCAPES) if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - len(ellipsis)] + ellipsis


def _at(inputs: dict, path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _is_set(value: Any) -> bool:
    return value not in (None, [], {}, "")


def key_inputs(resource: RegisteredResource, ellipsis: str = _UNICODE["ellipsis"]) -> str:
    """The inputs that matter for the resource's type (KEY_INPUTS), else its first few."""
    paths = KEY_INPUTS.get(resource.type) or (_KUBERNETES_KEYS if resource.type.startswith("kubernetes:") else ())
    shown = [f"{path}={_brief(_at(resource.inputs, path), ellipsis)}" for path in paths if _is_set(_at(resource.inputs, path))]
    if not shown:
        for key, value in resource.inputs.items():
            if key in _HIDDEN_KEYS or not _is_set(value):
                continue
            shown.append(f"{key}={_brief(value, ellipsis)}")
            if len(shown) == _MAX_KEYS:
                break
    return "  ".join(shown)


def tree(result: PreviewResult, glyphs: Mapping[str, str] | None = None, width: int | None = None) -> str:
    """The stack as a tree of components and resources. `glyphs` replaces the box-drawing characters
    (tools.terminal.ASCII_GLYPHS for terminals that cannot print them); `width` cuts longer lines."""
    g = {**_UNICODE, **(glyphs or {})}

    def fit(line: str) -> str:
        return line if width is None or len(line) <= width else line[: max(width - len(g["ellipsis"]), 0)] + g["ellipsis"]

    # Registration order depends on the async runtime; sort so the same program prints the same tree.
    ordered = sorted(result.resources, key=lambda r: (r.custom, r.type, r.name))
    children: dict[str, list[RegisteredResource]] = {}
    for r in ordered:
        children.setdefault(r.parent, []).append(r)
    known = {r.urn for r in result.resources}
    roots = [r for r in ordered if r.parent not in known]
    lines = [f"Stack {result.stack}: {len(result.resources)} resources"]

    def walk(resource: RegisteredResource, prefix: str, last: bool) -> None:
        branch = g["last"] if last else g["branch"]
        flags = " [protect]" if resource.protect else ""
        flags += " (read)" if resource.op == "read" else ""
        details = key_inputs(resource, g["ellipsis"]) if resource.custom else ""
        lines.append(fit(f"{prefix}{branch}{resource.type}  {resource.name}{flags}" + (f"  {details}" if details else "")))
        kids = children.get(resource.urn, [])
        for i, child in enumerate(kids):
            walk(child, prefix + (g["space"] if last else g["pipe"]), i == len(kids) - 1)

    for i, root in enumerate(roots):
        walk(root, "", i == len(roots) - 1)
    if result.outputs:
        lines.append("Outputs:")
        for name, value in sorted(result.outputs.items()):
            lines.append(fit(f"  {name}: {_brief(value, g['ellipsis'])}"))
    lines.append("Resources by type:")
    for type_, count in result.count_by_type().items():
        lines.append(fit(f"  {count:4d}  {type_}"))
    return "\n".join(lines)
