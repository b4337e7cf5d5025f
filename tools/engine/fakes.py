"""Plausible provider-computed values for test runs (preview=False), so outputs resolve.

Each value names the resource it came from, which lets a test check that a value was taken from
the right resource (the RDS endpoint in a DATABASE_URL, a queue ARN in a policy).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "ap-northeast-2"

# What the fake registries hold, repository as ImageCheck names it (`crm-dr/crm-api`) -> tags. Empty, as on a
# first deploy. Tests that need a pushed image put it here (and run the stack with fresh=True).
REGISTRY_TAGS: dict[str, list[str]] = {}
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
        values["arn"] = arn(type_, name, inputs)
    values.update(_SPECIFIC.get(type_, lambda n, i: {})(name, inputs))
    if "name" not in inputs and package in ("aws", "gcp"):
        values.setdefault("name", name)
    return values


def _hex(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def _uuid(name: str) -> str:
    h = _hex(name, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _named(inputs: dict, name: str, *keys: str) -> str:
    for key in (*keys, "name"):
        if isinstance(inputs.get(key), str) and inputs[key]:
            return inputs[key]
    return name


def _regional(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


# The ARN each AWS type has once created, in the shape the service documents (IAM's global ARNs without
# a region, S3's without an account, paths and generated ids where the service adds them), so that the
# analysers and the deploy-permission check judge ARNs like the real ones.
_ARNS = {
    "aws:iam/role:Role": lambda n, i: f"arn:aws:iam::{ACCOUNT}:role{i.get('path') or '/'}{_named(i, n)}",
    "aws:iam/policy:Policy": lambda n, i: f"arn:aws:iam::{ACCOUNT}:policy{i.get('path') or '/'}{_named(i, n)}",
    "aws:iam/user:User": lambda n, i: f"arn:aws:iam::{ACCOUNT}:user{i.get('path') or '/'}{_named(i, n)}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n, i: (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{str(i.get('url', '')).replace('https://', '')}"
    ),
    "aws:s3/bucket:Bucket": lambda n, i: f"arn:aws:s3:::{i.get('bucket') or f'{n}-bucket'}",
    "aws:kms/key:Key": lambda n, i: _regional("kms", f"key/{_uuid(n)}"),
    "aws:kms/alias:Alias": lambda n, i: _regional("kms", _named(i, n)),
    "aws:sqs/queue:Queue": lambda n, i: _regional("sqs", _named(i, n)),
    "aws:sns/topic:Topic": lambda n, i: _regional("sns", _named(i, n)),
    "aws:sns/topicSubscription:TopicSubscription": lambda n, i: _regional("sns", f"{n}:{_uuid(n)}"),
    "aws:secretsmanager/secret:Secret": lambda n, i: _regional("secretsmanager", f"secret:{_named(i, n)}-{_hex(n, 6)}"),
    "aws:cloudwatch/logGroup:LogGroup": lambda n, i: _regional("logs", f"log-group:{_named(i, n)}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda n, i: _regional("cloudwatch", f"alarm:{_named(i, n, 'alarmName')}"),
    "aws:cloudwatch/dashboard:Dashboard": lambda n, i: f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{_named(i, n, 'dashboardName')}",
    "aws:eks/cluster:Cluster": lambda n, i: _regional("eks", f"cluster/{_named(i, n)}"),
    "aws:eks/nodeGroup:NodeGroup": lambda n, i: _regional("eks", f"nodegroup/{i.get('clusterName')}/{n}/{_uuid(n)}"),
    "aws:eks/addon:Addon": lambda n, i: _regional("eks", f"addon/{i.get('clusterName')}/{i.get('addonName')}/{_uuid(n)}"),
    "aws:msk/cluster:Cluster": lambda n, i: _regional("kafka", f"cluster/{_named(i, n, 'clusterName')}/{_uuid(n)}-2"),
    "aws:ses/domainIdentity:DomainIdentity": lambda n, i: _regional("ses", f"identity/{i.get('domain')}"),
    "aws:sesv2/configurationSet:ConfigurationSet": lambda n, i: _regional("ses", f"configuration-set/{i.get('configurationSetName')}"),
    "aws:scheduler/scheduleGroup:ScheduleGroup": lambda n, i: _regional("scheduler", f"schedule-group/{_named(i, n)}"),
    "aws:rds/instance:Instance": lambda n, i: _regional("rds", f"db:{_named(i, n, 'identifier')}"),
    "aws:rds/parameterGroup:ParameterGroup": lambda n, i: _regional("rds", f"pg:{_named(i, n)}"),
    "aws:rds/subnetGroup:SubnetGroup": lambda n, i: _regional("rds", f"subgrp:{_named(i, n)}"),
    "aws:ecr/repository:Repository": lambda n, i: _regional("ecr", f"repository/{_named(i, n)}"),
    "aws:lb/loadBalancer:LoadBalancer": lambda n, i: _regional("elasticloadbalancing", f"loadbalancer/app/{_named(i, n)}/50dc6c495c0c9188"),
    "aws:lb/targetGroup:TargetGroup": lambda n, i: _regional("elasticloadbalancing", f"targetgroup/{_named(i, n)}/73e2d6bc24d8a067"),
    "aws:lb/listener:Listener": lambda n, i: _regional("elasticloadbalancing", f"listener/app/{n}/50dc6c495c0c9188/{_hex(n, 16)}"),
    "aws:lb/trustStore:TrustStore": lambda n, i: _regional("elasticloadbalancing", f"truststore/{_named(i, n)}/{_hex(n, 16)}"),
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i: _regional(
        "elasticache", f"replicationgroup:{_named(i, n, 'replicationGroupId')}"
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": lambda n, i: _regional("elasticache", f"subnetgroup:{_named(i, n)}"),
    "aws:backup/vault:Vault": lambda n, i: _regional("backup", f"backup-vault:{_named(i, n)}"),
    "aws:backup/plan:Plan": lambda n, i: _regional("backup", f"backup-plan:{_uuid(n)}"),
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": lambda n, i: _regional("backup", f"restore-testing-plan:{_named(i, n)}-{_uuid(n)}"),
    "aws:acm/certificate:Certificate": lambda n, i: _regional("acm", f"certificate/{_uuid(n)}"),
    "aws:ssm/parameter:Parameter": lambda n, i: _regional("ssm", f"parameter{_named(i, n)}"),
    "aws:budgets/budget:Budget": lambda n, i: f"arn:aws:budgets::{ACCOUNT}:budget/{_named(i, n)}",
}
_EC2_PREFIXES = {
    "vpc": "vpc",
    "subnet": "subnet",
    "securityGroup": "sg",
    "routeTable": "rtb",
    "internetGateway": "igw",
    "natGateway": "nat",
    "eip": "eipalloc",
    "vpcEndpoint": "vpce",
    "launchTemplate": "lt",
    "flowLog": "fl",
    "vpnGateway": "vgw",
    "vpnConnection": "vpn",
    "customerGateway": "cgw",
}
_EC2_RESOURCE_TYPES = {
    "securityGroup": "security-group",
    "routeTable": "route-table",
    "internetGateway": "internet-gateway",
    "natGateway": "natgateway",
    "eip": "elastic-ip",
    "vpcEndpoint": "vpc-endpoint",
    "launchTemplate": "launch-template",
    "flowLog": "vpc-flow-log",
    "vpnGateway": "vpn-gateway",
    "vpnConnection": "vpn-connection",
    "customerGateway": "customer-gateway",
}


def arn(type_: str, name: str, inputs: dict) -> str:
    """The ARN AWS would give a new resource of this type and these inputs."""
    if type_ in _ARNS:
        return _ARNS[type_](name, inputs)
    module, _, kind = type_.split(":")[1].partition("/")
    kind = kind.split(":")[0]
    if module == "ec2" and kind in _EC2_PREFIXES:
        return _regional("ec2", f"{_EC2_RESOURCE_TYPES.get(kind, kind)}/{_EC2_PREFIXES[kind]}-{_hex(name, 17)}")
    service = {"cloudwatch": "logs", "lb": "elasticloadbalancing", "msk": "kafka", "sesv2": "ses"}.get(module, module)
    return _regional(service, f"{kind.lower()}/{name}")


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
    "cloudflare:index/apiToken:ApiToken": lambda n, i: {"value": f"{n}-token-value"},
    "aws:ses/domainDkim:DomainDkim": lambda n, i: {"dkimTokens": [f"{n}-token{k}" for k in range(3)]},
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
            for k, d in enumerate([i.get("domainName"), *list(i.get("subjectAlternativeNames") or [])])
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
    "gcp:sql/databaseInstance:DatabaseInstance": lambda n, i: {
        "privateIpAddress": "10.23.0.5",
        "connectionName": f"project:region:{n}",
        "serverCaCerts": [{"cert": f"{n}-ca-current"}, {"cert": f"{n}-ca-next"}],
    },
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
    if token == "aws:ecr/getImages:getImages":
        name = args.get("repositoryName")
        return {"repositoryName": name, "imageIds": [{"imageTag": t, "imageDigest": f"sha256:{t}"} for t in REGISTRY_TAGS.get(name, [])]}
    if token == "gcp:artifactregistry/getDockerImages:getDockerImages":
        repository = args.get("repositoryId")
        held = {name.split("/", 1)[1]: tags for name, tags in REGISTRY_TAGS.items() if name.startswith(f"{repository}/")}
        return {"dockerImages": [{"imageName": image, "tags": tags} for image, tags in held.items()], "repositoryId": repository}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "userId": "AIDEXAMPLE"}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
    if token == "aws:elb/getServiceAccount:getServiceAccount":
        # Elastic Load Balancing's log-delivery account in ap-northeast-2 (the ALB access-logs guide's table).
        return {"id": "600734575887", "arn": "arn:aws:iam::600734575887:root"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": "ap-northeast-2", "region": "ap-northeast-2"}
    if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
        return {
            "emailAddress": "service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
            "project": args.get("project", "project"),
        }
    if token == "aws:codestarconnections/getConnection:getConnection":  # bootstrap's connection, its handshake done
        name = args.get("name") or "crm-github"
        arn = f"arn:aws:codeconnections:ap-northeast-2:{ACCOUNT}:connection/{_numeric_id(name)[:8]}-0000-4000-8000-000000000000"
        return {"arn": arn, "id": arn, "name": name, "connectionStatus": "AVAILABLE", "providerType": "GitHub"}
    if token == "cloudflare:index/getZone:getZone":
        return {
            "id": args.get("zoneId"),
            "zoneId": args.get("zoneId"),
            "name": "example.com",
        }  # the shipped files' zone (their publicHosts are crm[-<env>].example.com)
    if token == "cloudflare:index/getApiTokenPermissionGroupsList:getApiTokenPermissionGroupsList":
        from urllib.parse import unquote

        name, scope = unquote(args.get("name", "")), unquote(args.get("scope", ""))
        return {"results": [{"id": f"pg-{hashlib.sha256(name.encode()).hexdigest()[:32]}", "name": name, "scopes": [scope]}]}
    if token == "cloudflare:index/getIpRanges:getIpRanges":
        return cloudflare_ip_ranges()
    if token == "gcp:organizations/getClientOpenIdUserInfo:getClientOpenIdUserInfo":
        return {"email": "crm-ci-deploy@crm-ci-project.iam.gserviceaccount.com"}  # the bootstrap stack's deploy account
    if token == "gcp:serviceaccount/getAccount:getAccount":  # an account that exists (bootstrap's), by email or id
        named = args.get("accountId", "account")
        email = named if "@" in named else f"{named}@{args.get('project', 'project')}.iam.gserviceaccount.com"
        project = email.split("@", 1)[1].split(".", 1)[0]
        return {
            "accountId": email.split("@", 1)[0],
            "email": email,
            "member": f"serviceAccount:{email}",
            "name": f"projects/{project}/serviceAccounts/{email}",
            "project": project,
            "uniqueId": _numeric_id(email),
        }
    if token == "gcp:organizations/getProject:getProject":
        return {"number": "123456789012", "projectId": args.get("projectId", "project")}
    return {}


def _numeric_id(name: str) -> str:
    """A 21-digit ID derived from the name, shaped like a Google service account's unique ID."""
    return str(10**20 + int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**20)


# Everything above as shipped; state() tells a run with these answers from one with a test's own.
_SHIPPED = {name: value for name, value in globals().items() if not name.startswith("__")}


def state() -> dict[str, Any] | None:
    """What the fakes answer beyond their code (the registries' tags), or None when a function or table was replaced.

    Caches of runs key on it (tools/engine/cache.py, the test suite's), and keep nothing while a test
    answers with its own functions: such a run is not the shipped one."""
    current = globals()
    if any(current.get(name) is not value for name, value in _SHIPPED.items() if name != "REGISTRY_TAGS"):
        return None
    return {"registryTags": REGISTRY_TAGS}


@contextlib.contextmanager
def shipped() -> Iterator[None]:
    """The shipped answers for a while, whatever a test put in their place (the stacks a test's stack reads from)."""
    current = globals()
    replaced = {name: current[name] for name, value in _SHIPPED.items() if current.get(name) is not value}
    current.update({name: _SHIPPED[name] for name in replaced})
    try:
        yield
    finally:
        current.update(replaced)
