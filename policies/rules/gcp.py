"""Rules for GKE, Cloud SQL, Memorystore, firewalls and subnets."""

from __future__ import annotations

import re

from pulumi_policy import Severity

from .base import ADVISORY, MANDATORY, UNKNOWN, Resource, Rule, is_set, world

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
REDIS = "gcp:redis/instance:Instance"
FIREWALL = "gcp:compute/firewall:Firewall"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
ARMOR = "gcp:compute/securityPolicy:SecurityPolicy"
ARMOR_DEFAULT_PRIORITY = 2147483647
BINAUTHZ = "gcp:binaryauthorization/policy:Policy"
SENSITIVE_PORTS = {
    "22": "SSH",
    "3389": "RDP",
    "5432": "PostgreSQL",
    "3306": "MySQL",
    "6379": "Redis",
    "6378": "Redis TLS",
    "9092": "Kafka",
    "27017": "MongoDB",
}


def _node_configs(r: Resource):
    """The node configs a cluster or pool carries (a cluster's own is its bootstrap pool's)."""
    config = r.get("nodeConfig")
    return [config] if isinstance(config, dict) else []


def private_nodes(r: Resource):
    if (r.get("privateClusterConfig") or {}).get("enablePrivateNodes") is not True:
        yield "privateClusterConfig.enablePrivateNodes must be true"


def workload_identity(r: Resource):
    if not is_set((r.get("workloadIdentityConfig") or {}).get("workloadPool")):
        yield "workloadIdentityConfig.workloadPool must be set"


def metadata_server(r: Resource):
    for config in _node_configs(r):
        if (config.get("workloadMetadataConfig") or {}).get("mode") != "GKE_METADATA":
            yield "nodeConfig.workloadMetadataConfig.mode must be GKE_METADATA (hides node credentials from pods)"


def shielded_nodes(r: Resource):
    if r.type == CLUSTER and r.get("enableShieldedNodes") is False:
        yield "enableShieldedNodes must not be false"
    for config in _node_configs(r):
        shielded = config.get("shieldedInstanceConfig") or {}
        if shielded.get("enableSecureBoot") is not True:
            yield "nodeConfig.shieldedInstanceConfig.enableSecureBoot must be true"


def node_service_account(r: Resource):
    for config in _node_configs(r):
        account = config.get("serviceAccount")
        if account is UNKNOWN:
            continue  # an output of a dedicated account
        if not account or account == "default" or str(account).endswith("-compute@developer.gserviceaccount.com"):
            yield "nodeConfig.serviceAccount must be a dedicated account, not the Compute Engine default"


def network_policy(r: Resource):
    if r.get("datapathProvider") != "ADVANCED_DATAPATH" and (r.get("networkPolicy") or {}).get("enabled") is not True:
        yield "network policy must be enforced: datapathProvider ADVANCED_DATAPATH (Dataplane V2) or networkPolicy.enabled"


def authorized_networks(r: Resource):
    config = r.get("masterAuthorizedNetworksConfig")
    private_endpoint = (r.get("privateClusterConfig") or {}).get("enablePrivateEndpoint") is True
    if not isinstance(config, dict):
        if not private_endpoint:
            yield "masterAuthorizedNetworksConfig must be set: without it the public endpoint accepts any address"
        return
    if world([b.get("cidrBlock") for b in config.get("cidrBlocks", []) or [] if isinstance(b, dict)]):
        yield "masterAuthorizedNetworksConfig.cidrBlocks must not include 0.0.0.0/0"


def release_channel(r: Resource):
    if (r.get("releaseChannel") or {}).get("channel") in (None, "UNSPECIFIED"):
        yield "releaseChannel.channel should be RAPID, REGULAR, STABLE or EXTENDED"


def gke_secrets_encryption(r: Resource):
    encryption = r.get("databaseEncryption") or {}
    if encryption.get("state") != "ENCRYPTED" or not is_set(encryption.get("keyName")):
        yield "databaseEncryption must be ENCRYPTED with a Cloud KMS key"


def intranode_visibility(r: Resource):
    if r.get("enableIntranodeVisibility") is not True:
        yield "enableIntranodeVisibility must be true (same-node pod traffic otherwise bypasses VPC flow logs and firewall rules)"


def binary_authorization(r: Resource):
    mode = (r.get("binaryAuthorization") or {}).get("evaluationMode")
    if mode is not UNKNOWN and mode != "PROJECT_SINGLETON_POLICY_ENFORCE":
        yield f"binaryAuthorization.evaluationMode must be PROJECT_SINGLETON_POLICY_ENFORCE, got {mode}"


def binauthz_default_deny(r: Resource):
    rule = r.get("defaultAdmissionRule") or {}
    if rule.get("evaluationMode") not in ("ALWAYS_DENY", "REQUIRE_ATTESTATION"):
        yield f"defaultAdmissionRule.evaluationMode must be ALWAYS_DENY or REQUIRE_ATTESTATION, got {rule.get('evaluationMode')}"
    elif rule.get("enforcementMode") != "ENFORCED_BLOCK_AND_AUDIT_LOG":
        yield f"defaultAdmissionRule.enforcementMode must be ENFORCED_BLOCK_AND_AUDIT_LOG, got {rule.get('enforcementMode')}"
    for entry in r.get("admissionWhitelistPatterns") or []:
        pattern = entry.get("namePattern") if isinstance(entry, dict) else None
        if isinstance(pattern, str) and "/" not in pattern.rstrip("*"):
            yield f"allowlist pattern '{pattern}' admits a whole registry or every image"


def sql_private(r: Resource):
    ip = r.get("settings.ipConfiguration") or {}
    if ip.get("ipv4Enabled", True) is not False:
        yield "settings.ipConfiguration.ipv4Enabled must be false (the provider's default gives a public IP)"
    if world([n.get("value") for n in ip.get("authorizedNetworks", []) or [] if isinstance(n, dict)]):
        yield "settings.ipConfiguration.authorizedNetworks must not include 0.0.0.0/0"


def sql_ssl(r: Resource):
    ip = r.get("settings.ipConfiguration") or {}
    if ip.get("sslMode") not in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"):
        yield f"settings.ipConfiguration.sslMode must be ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED, got {ip.get('sslMode', 'nothing')}"


def sql_backups(r: Resource):
    backup = r.get("settings.backupConfiguration") or {}
    if backup.get("enabled") is not True:
        yield "settings.backupConfiguration.enabled must be true outside dev"
    if backup.get("pointInTimeRecoveryEnabled") is not True:
        yield "settings.backupConfiguration.pointInTimeRecoveryEnabled must be true outside dev"


def sql_deletion_protection(r: Resource):
    if r.get("deletionProtection") is False:
        yield "deletionProtection must not be false outside dev"
    if r.get("settings.deletionProtectionEnabled") is not True:
        yield "settings.deletionProtectionEnabled must be true outside dev (protects against deletes outside Pulumi)"


def firewall_world(r: Resource):
    if r.get("direction", "INGRESS") != "INGRESS" or not world(r.get("sourceRanges", []) or []):
        return
    for allow in r.get("allows", []) or []:
        if not isinstance(allow, dict):
            continue
        ports = allow.get("ports") or []
        if allow.get("protocol") == "all" or not ports:
            yield f"allows {allow.get('protocol')} on every port from 0.0.0.0/0"
            continue
        for port in ports:
            low, _, high = str(port).partition("-")
            for sensitive, label in SENSITIVE_PORTS.items():
                if int(low) <= int(sensitive) <= int(high or low):
                    yield f"allows {label} ({sensitive}) from 0.0.0.0/0"


def armor_default_deny(r: Resource):
    rules = [x for x in (r.get("rules") or []) if isinstance(x, dict)]
    default = [x for x in rules if x.get("priority") == ARMOR_DEFAULT_PRIORITY]
    if not default:
        yield "has no default rule (priority 2147483647): Cloud Armor's implicit default allows everything"
    elif not str(default[0].get("action", "")).startswith("deny"):
        yield f"default rule action must be deny, got {default[0].get('action')}"
    for x in rules:
        ranges = ((x.get("match") or {}).get("config") or {}).get("srcIpRanges") or []
        if str(x.get("action")) == "allow" and ("*" in ranges or world(ranges)):
            yield f"rule {x.get('priority')} allows every source"


# What the origin-auth deny rule must say: refuse unless the header equals one of the generated values
# (components/gcp/cloud_armor.py origin_auth_rule), each long enough not to be guessed.
_HEADER_EQUALS = re.compile(r"request\.headers\['([a-z0-9-]+)'\] == '([A-Za-z0-9]{32,})'")
ORIGIN_AUTH_MIN_LENGTH = 32


def _origin_auth_header(expression: str) -> str | None:
    """The header a `!(h == 'v1' || h == 'v2')` expression demands, or None when it is anything else."""
    expression = expression.strip()
    if not (expression.startswith("!(") and expression.endswith(")")):
        return None
    matches = [_HEADER_EQUALS.fullmatch(part.strip()) for part in expression[2:-1].split("||")]
    headers = {m.group(1) for m in matches if m}
    return headers.pop() if matches and all(matches) and len(headers) == 1 else None


def armor_requires_origin_auth(r: Resource):
    """Cloudflare's ranges are every Cloudflare customer's: a policy that admits them must also demand the zone's secret header."""
    rules = r.get("rules") or []
    allows = [
        x
        for x in rules
        if isinstance(x, dict) and str(x.get("action")) == "allow" and ((x.get("match") or {}).get("config") or {}).get("srcIpRanges")
    ]
    if not allows:
        return  # not a source-range allow-list in front of Cloudflare
    if any(x is UNKNOWN for x in rules):
        return  # a rule known only after deploy (the header values are generated): judged by the component's tests
    first_allow = min(int(x.get("priority") or 0) for x in allows)
    for x in rules:
        if not isinstance(x, dict) or not str(x.get("action", "")).startswith("deny"):
            continue
        expression = str(((x.get("match") or {}).get("expr") or {}).get("expression") or "")
        if _origin_auth_header(expression) and int(x.get("priority") or 0) < first_allow:
            return
    yield (
        "admits source ranges without a deny rule, ahead of them, refusing requests whose origin-auth header is not "
        f"one of the generated values (!(request.headers['<name>'] == '<{ORIGIN_AUTH_MIN_LENGTH}+ letters and digits>' || ...)): "
        "any Cloudflare customer's zone can proxy to this origin (components/gcp/origin_auth.py)"
    )


RULES = [
    Rule(
        "cloud-armor-origin-auth",
        "A Cloud Armor allow-list of Cloudflare's ranges also requires the zone's secret origin-auth header",
        Severity.HIGH,
        MANDATORY,
        "fails closed; a rule known only after deploy is not judged",
        (ARMOR,),
        armor_requires_origin_auth,
    ),
    Rule(
        "gke-private-nodes",
        "GKE nodes have no public IPs",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default public nodes)",
        (CLUSTER,),
        private_nodes,
    ),
    Rule("gke-workload-identity", "GKE uses Workload Identity", Severity.HIGH, MANDATORY, "fails closed", (CLUSTER,), workload_identity),
    Rule(
        "gke-metadata-server",
        "GKE nodes run the GKE metadata server",
        Severity.HIGH,
        MANDATORY,
        "fails closed when a node config is given",
        (CLUSTER, NODE_POOL),
        metadata_server,
    ),
    Rule(
        "gke-shielded-nodes",
        "GKE nodes are shielded with secure boot",
        Severity.MEDIUM,
        MANDATORY,
        "secure boot fails closed (provider default off); shielded nodes default on",
        (CLUSTER, NODE_POOL),
        shielded_nodes,
    ),
    Rule(
        "gke-no-default-service-account",
        "GKE nodes do not run as the Compute Engine default account",
        Severity.HIGH,
        MANDATORY,
        "fails closed (the provider's default is the Compute default account)",
        (CLUSTER, NODE_POOL),
        node_service_account,
    ),
    Rule("gke-network-policy", "GKE enforces network policy", Severity.MEDIUM, MANDATORY, "fails closed", (CLUSTER,), network_policy),
    Rule(
        "gke-legacy-abac-off",
        "GKE legacy ABAC is off",
        Severity.HIGH,
        MANDATORY,
        "provider default off",
        (CLUSTER,),
        lambda r: ["enableLegacyAbac must not be true"] if r.get("enableLegacyAbac") is True else [],
    ),
    Rule(
        "gke-client-certificates-off",
        "GKE issues no client certificates",
        Severity.MEDIUM,
        MANDATORY,
        "provider default off",
        (CLUSTER,),
        lambda r: (
            ["masterAuth.clientCertificateConfig.issueClientCertificate must not be true"]
            if r.get("masterAuth.clientCertificateConfig.issueClientCertificate") is True
            else []
        ),
    ),
    Rule(
        "gke-authorized-networks",
        "The GKE control plane is not open to the world",
        Severity.CRITICAL,
        MANDATORY,
        "fails closed unless the endpoint is private",
        (CLUSTER,),
        authorized_networks,
    ),
    Rule("gke-release-channel", "GKE follows a release channel", Severity.MEDIUM, ADVISORY, "fails closed", (CLUSTER,), release_channel),
    Rule(
        "gke-intranode-visibility",
        "GKE sends same-node pod traffic through the VPC (flow logs, firewall)",
        Severity.MEDIUM,
        MANDATORY,
        "fails closed (provider default off)",
        (CLUSTER,),
        intranode_visibility,
    ),
    Rule(
        "gke-binary-authorization",
        "GKE enforces the project's Binary Authorization policy",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default disabled)",
        (CLUSTER,),
        binary_authorization,
    ),
    Rule(
        "binauthz-default-deny",
        "Binary Authorization denies images outside its allowlist, blocking and logging",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        (BINAUTHZ,),
        binauthz_default_deny,
    ),
    Rule(
        "gke-secrets-encryption",
        "GKE encrypts Kubernetes secrets with Cloud KMS",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        (CLUSTER,),
        gke_secrets_encryption,
    ),
    Rule(
        "cloudsql-private",
        "Cloud SQL has no public IP and no world-open authorized network",
        Severity.CRITICAL,
        MANDATORY,
        "fails closed (provider default public IPv4)",
        (SQL,),
        sql_private,
    ),
    Rule(
        "cloudsql-ssl-required", "Cloud SQL accepts only encrypted connections", Severity.HIGH, MANDATORY, "fails closed", (SQL,), sql_ssl
    ),
    Rule(
        "cloudsql-backups-pitr",
        "Cloud SQL has backups and point-in-time recovery outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed",
        (SQL,),
        sql_backups,
        skip_in_dev=True,
    ),
    Rule(
        "cloudsql-regional",
        "Cloud SQL is REGIONAL (HA) outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default ZONAL)",
        (SQL,),
        lambda r: (
            []
            if r.get("settings.availabilityType") == "REGIONAL"
            else [f"settings.availabilityType must be REGIONAL outside dev, got {r.get('settings.availabilityType', 'ZONAL (default)')}"]
        ),
        skip_in_dev=True,
    ),
    Rule(
        "cloudsql-deletion-protection",
        "Cloud SQL is protected from deletion outside dev",
        Severity.HIGH,
        MANDATORY,
        "Pulumi-side defaults on; API-side fails closed",
        (SQL,),
        sql_deletion_protection,
        skip_in_dev=True,
    ),
    Rule(
        "memorystore-ha",
        "Memorystore is STANDARD_HA outside dev",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default BASIC)",
        (REDIS,),
        lambda r: (
            [] if r.get("tier") == "STANDARD_HA" else [f"tier must be STANDARD_HA outside dev, got {r.get('tier', 'BASIC (default)')}"]
        ),
        skip_in_dev=True,
    ),
    Rule(
        "memorystore-auth",
        "Memorystore requires AUTH",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default off)",
        (REDIS,),
        lambda r: [] if r.get("authEnabled") is True else ["authEnabled must be true"],
    ),
    Rule(
        "memorystore-in-transit-encryption",
        "Memorystore encrypts traffic",
        Severity.HIGH,
        MANDATORY,
        "fails closed (provider default DISABLED)",
        (REDIS,),
        lambda r: (
            [] if r.get("transitEncryptionMode") == "SERVER_AUTHENTICATION" else ["transitEncryptionMode must be SERVER_AUTHENTICATION"]
        ),
    ),
    Rule(
        "firewall-no-world-sensitive-ports",
        "No firewall opens sensitive or all ports to 0.0.0.0/0",
        Severity.CRITICAL,
        MANDATORY,
        "direction defaults to INGRESS",
        (FIREWALL,),
        firewall_world,
    ),
    Rule(
        "cloud-armor-default-deny",
        "Cloud Armor policies deny by default and allow no source range of everything",
        Severity.HIGH,
        MANDATORY,
        "fails closed (the implicit default rule allows)",
        (ARMOR,),
        armor_default_deny,
    ),
    Rule(
        "gcp-subnet-flow-logs",
        "Subnets record flow logs",
        Severity.MEDIUM,
        ADVISORY,
        "fails closed (provider default off)",
        (SUBNET,),
        lambda r: [] if isinstance(r.get("logConfig"), dict) else ["logConfig should be set to record flow logs"],
    ),
    Rule(
        "gcp-subnet-private-google-access",
        "Subnets reach Google APIs privately",
        Severity.LOW,
        ADVISORY,
        "fails closed (provider default off)",
        (SUBNET,),
        lambda r: [] if r.get("privateIpGoogleAccess") is True else ["privateIpGoogleAccess should be true"],
    ),
]
