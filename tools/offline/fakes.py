"""Plausible provider-computed values for test runs (preview=False), so outputs resolve.

Each value names the resource it came from, which lets a test check that a value was taken from
the right resource (the RDS endpoint in a DATABASE_URL, a queue ARN in a policy).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
CLOUDFLARE_IPS = Path(__file__).parent / "data" / "cloudflare_ips.yaml"


@lru_cache(maxsize=1)
def cloudflare_ip_ranges() -> dict:
    """Cloudflare's published ranges as recorded in data/cloudflare_ips.yaml (source and date there)."""
    import yaml

    document = yaml.safe_load(CLOUDFLARE_IPS.read_text())
    return {"ipv4Cidrs": list(document["ipv4Cidrs"]), "ipv6Cidrs": list(document["ipv6Cidrs"]), "etag": f"recorded-{document['read']}"}


def computed(type_: str, name: str, inputs: dict) -> dict[str, Any]:
    package = type_.split(":")[0]
    values: dict[str, Any] = {}
    if package == "aws":
        module = type_.split(":")[1].split("/")[0]
        values["arn"] = f"arn:aws:{module}:ap-northeast-2:{ACCOUNT}:{name}"
    values.update(_SPECIFIC.get(type_, lambda n, i: {})(name, inputs))
    if "name" not in inputs and package in ("aws", "gcp"):
        values.setdefault("name", name)
    return values


_SPECIFIC = {
    "random:index/randomPassword:RandomPassword": lambda n, i: {"result": _password(n, i)},
    "random:index/randomString:RandomString": lambda n, i: {"result": _password(n, {**i, "special": False}).lower()},
    "aws:rds/instance:Instance": lambda n, i: {
        "address": f"{n}.rds.example.internal",
        "endpoint": f"{n}.rds.example.internal:5432",
        "port": 5432,
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i: {
        "primaryEndpointAddress": f"{n}.cache.example.internal",
        "readerEndpointAddress": f"{n}-ro.cache.example.internal",
        "port": 6379,
        **({"configurationEndpointAddress": f"{n}-cfg.cache.example.internal"} if i.get("clusterMode") == "enabled" else {}),
    },
    "aws:s3/bucket:Bucket": lambda n, i: {"bucket": i.get("bucket") or f"{n}-bucket"},
    "aws:lb/loadBalancer:LoadBalancer": lambda n, i: {
        "dnsName": f"{n}.elb.example.com",
        "zoneId": "ZWKZPGTI48KDX",
        "arnSuffix": f"app/{n}/50dc6c495c0c9188",
    },
    "aws:lb/targetGroup:TargetGroup": lambda n, i: {"arnSuffix": f"targetgroup/{n}/73e2d6bc24d8a067"},
    "aws:ecr/repository:Repository": lambda n, i: {"repositoryUrl": f"{ACCOUNT}.dkr.ecr.ap-northeast-2.amazonaws.com/{i.get('name') or n}"},
    "aws:eks/cluster:Cluster": lambda n, i: {
        "vpcConfig": {**(i.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{n}-cluster"},
        "endpoint": f"https://{n}.eks.example.com",
        "certificateAuthority": {"data": "Y2VydGlmaWNhdGU="},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.ap-northeast-2.amazonaws.com/id/{n.upper()}"}]}],
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n, i: {"url": str(i.get("url", "")).replace("https://", "")},
    "aws:sqs/queue:Queue": lambda n, i: {"url": f"https://sqs.ap-northeast-2.amazonaws.com/{ACCOUNT}/{n}"},
    "aws:iam/accessKey:AccessKey": lambda n, i: {"secret": f"{n}-secret-access-key", "sesSmtpPasswordV4": f"{n}-smtp-password"},
    "aws:ec2/vpnConnection:VpnConnection": lambda n, i: _vpn_connection(n, i),  # noqa: PLW0108 - defined below
    "aws:msk/cluster:Cluster": lambda n, i: {
        "bootstrapBrokersSaslIam": f"b-1.{n}.kafka.example.internal:9098,b-2.{n}.kafka.example.internal:9098"
    },
    "aws:acm/certificate:Certificate": lambda n, i: {
        "domainValidationOptions": [
            {
                "domainName": d,
                "resourceRecordName": f"_{n}-{k}.{d}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{n}-{k}.acm-validations.aws.",
            }
            for k, d in enumerate([i.get("domainName")] + list(i.get("subjectAlternativeNames") or []))
        ]
    },
    "gcp:certificatemanager/dnsAuthorization:DnsAuthorization": lambda n, i: {
        "dnsResourceRecords": [
            {"name": f"_acme-challenge.{i.get('domain')}.", "type": "CNAME", "data": f"{n}.authorize.certificatemanager.goog."}
        ]
    },
    "gcp:serviceaccount/account:Account": lambda n, i: {
        "email": f"{i.get('accountId')}@{i.get('project')}.iam.gserviceaccount.com",
        "uniqueId": _numeric_id(n),
    },
    "gcp:compute/haVpnGateway:HaVpnGateway": lambda n, i: {
        "vpnInterfaces": [{"id": 0, "ipAddress": "198.51.100.10"}, {"id": 1, "ipAddress": "198.51.100.11"}]
    },
    "gcp:compute/globalAddress:GlobalAddress": lambda n, i: {"address": i.get("address") or "198.51.100.80"},
    "gcp:sql/databaseInstance:DatabaseInstance": lambda n, i: {"privateIpAddress": "10.23.0.5", "connectionName": f"project:region:{n}"},
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": lambda n, i: {"uptimeCheckId": f"{n}-check"},
    "gcp:redis/instance:Instance": lambda n, i: {
        "host": "10.23.1.4",
        "port": 6378,
        "authString": f"{n}-auth-string",
        "serverCaCerts": [{"cert": f"{n}-ca-current"}, {"cert": f"{n}-ca-next"}],
        **({"readEndpoint": "10.23.1.5", "readEndpointPort": 6378} if i.get("readReplicasMode") == "READ_REPLICAS_ENABLED" else {}),
    },
    "gcp:container/cluster:Cluster": lambda n, i: {
        "endpoint": "10.0.0.2",
        "masterAuth": {"clusterCaCertificate": "Y2VydGlmaWNhdGU="},
        "controlPlaneEndpointsConfig": _gke_endpoints(n, i),
    },
    "gcp:iam/workloadIdentityPool:WorkloadIdentityPool": lambda n, i: {
        "name": f"projects/123456789012/locations/global/workloadIdentityPools/{i.get('workloadIdentityPoolId')}"
    },
    "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider": lambda n, i: {
        "name": f"projects/123456789012/locations/global/workloadIdentityPools/{i.get('workloadIdentityPoolId')}/providers/{i.get('workloadIdentityPoolProviderId')}"
    },
}


def _gke_endpoints(name: str, inputs: dict) -> dict:
    """GKE answers with the cluster's DNS endpoint name filled in."""
    config = dict(inputs.get("controlPlaneEndpointsConfig") or {})
    if "dnsEndpointConfig" in config:
        config["dnsEndpointConfig"] = {**config["dnsEndpointConfig"], "endpoint": f"gke-{name}.asia-northeast3.gke.goog"}
    return config


def _password(name: str, inputs: dict) -> str:
    """A deterministic stand-in that keeps to the generator's length and character set."""
    import hashlib
    import string

    alphabet = string.ascii_letters + string.digits
    if inputs.get("special", True):
        alphabet += inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
    stream = b""
    while len(stream) < int(inputs.get("length", 16)):
        stream += hashlib.sha256(name.encode() + len(stream).to_bytes(4, "big")).digest()
    return "".join(alphabet[b % len(alphabet)] for b in stream[: int(inputs.get("length", 16))])


def _vpn_connection(name: str, inputs: dict) -> dict:
    """AWS gives the VPN gateway the first host of each tunnel's inside /30 and the customer side the second."""
    import ipaddress

    side = 10 if name.endswith("a") else 20
    values = {"tunnel1Address": f"203.0.113.{side + 1}", "tunnel2Address": f"203.0.113.{side + 2}"}
    for n in (1, 2):
        cidr = inputs.get(f"tunnel{n}InsideCidr")
        if cidr:
            vgw, cgw = list(ipaddress.IPv4Network(cidr).hosts())
            values.update({f"tunnel{n}VgwInsideAddress": str(vgw), f"tunnel{n}CgwInsideAddress": str(cgw)})
    return values


def invoke(token: str, args: dict) -> dict:
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "userId": "AIDEXAMPLE"}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": "ap-northeast-2", "region": "ap-northeast-2"}
    if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
        return {
            "emailAddress": "service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
            "project": args.get("project", "project"),
        }
    if token == "cloudflare:index/getZone:getZone":
        return {"id": args.get("zoneId"), "zoneId": args.get("zoneId"), "name": "example.com"}  # the shipped files' zone (crm.example.com)
    if token == "cloudflare:index/getIpRanges:getIpRanges":
        return cloudflare_ip_ranges()
    if token == "gcp:organizations/getProject:getProject":
        return {"number": "123456789012", "projectId": args.get("projectId", "project")}
    return {}


def _numeric_id(name: str) -> str:
    """A 21-digit ID derived from the name, shaped like a Google service account's unique ID."""
    return str(10**20 + int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**20)
