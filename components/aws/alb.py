"""The internet-facing ALB that Cloudflare's AWS pool points at.

With `client_ca_bundle` (Cloudflare's origin-pull CA) the HTTPS listener runs mutual TLS in
`verify` mode: a connection without a client certificate signed by that CA is refused during the
handshake, so only Cloudflare's edge (authenticated origin pulls on the zone) reaches the
application even from inside Cloudflare's address ranges. The CA bundle lives in a small private
bucket of its own, the trust store reads it from there.

That certificate is Cloudflare's, shared by every Cloudflare customer. With `origin_auth_values` the
listener also requires the zone's secret `x-crm-origin-auth` header (the value the global stack sets on
every request of the zone, components/gcp/origin_auth.py): a listener rule forwards a request whose
header is one of the values, and the listener's default action answers everything else 403.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.private_bucket import ObjectWriter, PrivateBucket, PrivateBucketArgs
from components.base import Component
from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Elastic Load Balancing names: at most 32 characters, letters, digits and hyphens, no hyphen at
# either end, and a load balancer's may not begin with "internal-" (botocore elbv2
# CreateLoadBalancer/CreateTargetGroup Name). The provider's autoname (logical name + '-' + 7
# characters) overruns 32 for names such as crm-production-ingress-alb, so the load balancer is
# named explicitly and the target group takes a short prefix (the provider appends 26 characters;
# it allows at most 6 for the prefix).
_ELB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
TARGET_GROUP_NAME_PREFIX = "app-"
# A trust store's name prefix: at most 6 characters (the provider appends 26).
TRUST_STORE_NAME_PREFIX = "cfaop-"
CA_BUNDLE_KEY = "client-ca-bundle.pem"
# The rule that admits the zone's requests comes first (1..50000: botocore elbv2 RulePriority). A rule holds at
# most 5 condition values (Elastic Load Balancing quota "condition values per rule"); the header is compared
# case-insensitively, without wildcards in our values (letters and digits).
ORIGIN_AUTH_RULE_PRIORITY = 1
MAX_CONDITION_VALUES = 5
# What the listener answers a request without the zone's header (a value the rule compares is secret).
REFUSED = {"type": "fixed-response", "fixed_response": {"content_type": "text/plain", "status_code": "403", "message_body": "Forbidden"}}


def range_key(cidr: str) -> str:
    """A range as part of a resource name: `173.245.48.0/20` -> `173-245-48-0-20`."""
    return re.sub(r"[^0-9A-Za-z]+", "-", cidr).strip("-")


def origin_auth_condition_values(values: Sequence[str]) -> list[str]:
    """The header values a listener rule compares, refused early where Elastic Load Balancing would refuse them."""
    values = list(dict.fromkeys(values))
    if len(values) > MAX_CONDITION_VALUES:
        raise ValueError(f"the ALB's origin-auth rule may compare at most {MAX_CONDITION_VALUES} header values, not {len(values)}")
    if any(not v.isalnum() or len(v) > 128 for v in values):
        raise ValueError("the ALB's origin-auth header values must be letters and digits, at most 128 characters")
    return values


def load_balancer_name(name: str) -> str:
    """The ALB's name: the component's own name, refused early when Elastic Load Balancing would refuse it."""
    if not _ELB_NAME.match(name) or name.startswith("internal-"):
        raise ValueError(
            f"the load balancer would be named '{name}' ({len(name)} characters); Elastic Load Balancing allows "
            "at most 32 letters, digits and hyphens, no hyphen at either end, not beginning with 'internal-'"
        )
    return name


@dataclass
class PublicLoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    subnet_ids: Sequence[pulumi.Input[str]]
    certificate_arn: pulumi.Input[str]
    allowed_cidrs: Sequence[str]
    target_security_group_id: pulumi.Input[str]
    tags: Mapping[str, str]
    target_port: int = 8080
    health_check_path: str = "/health"
    access_log_retention_days: int = 90
    deletion_protection: bool = True  # the cloud's own guard against deletion (Pulumi's protect is opts.protect)
    client_ca_bundle: str | None = None  # PEM: the HTTPS listener then requires client certificates signed by it
    # Secret values of the zone's origin-auth header, one of which a request must carry (stacks/aws_stack.py reads
    # them back from the GCP stack and the global stack). None: not required. An empty list (nothing deployed
    # yet sends one) leaves the listener forwarding every request, as without it.
    origin_auth_values: pulumi.Input[Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if self.client_ca_bundle is not None and "-----BEGIN CERTIFICATE-----" not in self.client_ca_bundle:
            raise ValueError("client_ca_bundle must be PEM certificates (the CA that signs the clients' certificates)")
        self._check_ranges()

    def _check_ranges(self) -> None:
        if len(set(self.allowed_cidrs)) != len(self.allowed_cidrs):
            raise ValueError("the ALB's origin ranges list a range twice")
        if not self.allowed_cidrs:
            raise ValueError("the ALB needs the origin ranges it admits (Cloudflare's)")
        if "0.0.0.0/0" in self.allowed_cidrs:
            raise ValueError("the ALB admits Cloudflare only; 0.0.0.0/0 is not allowed")


class PublicLoadBalancer(Component):
    """HTTPS only from Cloudflare's ranges; HTTP redirects to HTTPS; access logs to an encrypted bucket.

    The HTTPS listener comes from `forward(after=...)`, which the program calls once what registers
    targets in the group exists, so the listener never waits on an empty group.
    """

    dns_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    arn_suffix: pulumi.Output[str]  # the LoadBalancer dimension of the AWS/ApplicationELB metrics
    target_group_arn_suffix: pulumi.Output[str]  # the TargetGroup dimension

    def __init__(self, name: str, args: PublicLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        lb_name = load_balancer_name(name)
        super().__init__("crm:aws:PublicLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        logs = self._access_log_bucket(name, args, tags)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description=f"{name}: HTTPS from Cloudflare", tags={**tags, "Name": f"{name}-alb"}, opts=child
        )
        # One rule per range, named by the range: when Cloudflare adds or drops one, only that range's rules are
        # created or deleted (rules named by position would all shift, and AWS refuses the duplicates meanwhile).
        # The alias is the name each rule had when rules were numbered by position, for stacks deployed then.
        for i, cidr in enumerate(args.allowed_cidrs):
            for port in (443, 80):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-cf-{port}-{range_key(cidr)}",
                    security_group_id=self.security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    description=f"Cloudflare {cidr}" + (" (redirected to HTTPS)" if port == 80 else ""),
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-cf-{port}-{i}")]),
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-targets",
            security_group_id=self.security_group.id,
            ip_protocol="tcp",
            from_port=args.target_port,
            to_port=args.target_port,
            cidr_ipv4=args.vpc_cidr,
            description="to application pods",
            tags=tags,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-targets-from-alb",
            security_group_id=args.target_security_group_id,
            ip_protocol="tcp",
            from_port=args.target_port,
            to_port=args.target_port,
            referenced_security_group_id=self.security_group.id,
            description="application traffic from the ALB",
            tags=tags,
            opts=child,
        )

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=lb_name,
            load_balancer_type="application",
            internal=False,
            subnets=list(args.subnet_ids),
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            # The bucket's name is known once its policy admits Elastic Load Balancing, which checks it when logging is turned on.
            access_logs={"bucket": logs.bucket_name, "enabled": True, "prefix": name},
            tags=tags,
            # A fixed name cannot exist twice, so a replacement deletes the old load balancer first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-app",
            # A prefix, not a name: a replacement target group is created before the listener lets go of the old one.
            name_prefix=TARGET_GROUP_NAME_PREFIX,
            port=args.target_port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            deregistration_delay=30,
            health_check={
                "path": args.health_check_path,
                "matcher": "200",
                "interval": 15,
                "healthy_threshold": 2,
                "unhealthy_threshold": 2,
            },
            tags=tags,
            opts=child,
        )
        self._mutual_authentication = None
        if args.client_ca_bundle is not None:
            self.trust_store = self._trust_store(name, args, tags)
            self._mutual_authentication = {"mode": "verify", "trust_store_arn": self.trust_store.arn}
        self._name, self._args, self._tags = name, args, tags
        self.https_listener: aws.lb.Listener | None = None
        self.origin_auth_rule: aws.lb.ListenerRule | None = None
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}],
            tags=tags,
            opts=child,
        )
        self.dns_name = self.load_balancer.dns_name
        self.target_group_arn = self.target_group.arn
        # The LoadBalancer and TargetGroup dimensions of the AWS/ApplicationELB metrics.
        self.arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.register_outputs(
            {
                "dnsName": self.dns_name,
                "targetGroupArn": self.target_group_arn,
                "arnSuffix": self.arn_suffix,
                "targetGroupArnSuffix": self.target_group_arn_suffix,
            }
        )

    def forward(self, after: Sequence[pulumi.Resource] = ()) -> aws.lb.Listener:
        """The HTTPS listener, forwarding to the target group once `after` exists: call it once the pods'
        registration in the target group is declared (the application's TargetGroupBinding).

        When the target group is replaced (a new port), the new group is created first (its name is a
        prefix plus a unique suffix), and the listener moves to it only after the new binding has
        registered the pods there, so it never forwards to a group with no targets for longer than the
        binding's own replacement takes (docs/runbooks/changes.md).
        """
        if self.https_listener is not None:
            raise ValueError(f"{self._name}: the HTTPS listener already exists")
        forward = {"type": "forward", "target_group_arn": self.target_group.arn}
        values = self._args.origin_auth_values
        default_actions: pulumi.Input = [forward]
        if values is not None:
            checked = pulumi.Output.secret(pulumi.Output.from_input(values).apply(origin_auth_condition_values))
            # Whether any value is known is no secret; the values are.
            enforced = pulumi.Output.unsecret(checked.apply(bool))
            default_actions = pulumi.Output.all(enforced, self.target_group.arn).apply(
                lambda v: [REFUSED] if v[0] else [{"type": "forward", "target_group_arn": v[1]}]
            )
        self.https_listener = aws.lb.Listener(
            f"{self._name}-https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=self._args.certificate_arn,
            default_actions=default_actions,
            mutual_authentication=self._mutual_authentication,
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )
        if values is not None:
            # Before any value is known the rule matches the header with any value; the default forwards anyway.
            self.origin_auth_rule = aws.lb.ListenerRule(
                f"{self._name}-origin-auth",
                listener_arn=self.https_listener.arn,
                priority=ORIGIN_AUTH_RULE_PRIORITY,
                conditions=[{"http_header": {"http_header_name": ORIGIN_AUTH_HEADER, "values": checked.apply(lambda v: v or ["*"])}}],
                actions=[forward],
                tags=self._tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return self.https_listener

    def _trust_store(self, name: str, args: PublicLoadBalancerArgs, tags: dict) -> aws.lb.TrustStore:
        """The client CA bundle in a private, encrypted, versioned bucket, and the trust store made from it."""
        # SSE-S3: the bundle is public certificates; Elastic Load Balancing reads it with the deployer's credentials.
        bucket = PrivateBucket(f"{name}-trust", PrivateBucketArgs(tags=tags), opts=pulumi.ResourceOptions(parent=self))
        bundle = aws.s3.BucketObjectv2(
            f"{name}-trust-ca",
            bucket=bucket.bucket_id,
            key=CA_BUNDLE_KEY,
            content=args.client_ca_bundle,
            content_type="application/x-pem-file",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.lb.TrustStore(
            f"{name}-trust",
            name_prefix=TRUST_STORE_NAME_PREFIX,
            ca_certificates_bundle_s3_bucket=bucket.bucket_id,
            ca_certificates_bundle_s3_key=bundle.key,
            ca_certificates_bundle_s3_object_version=bundle.version_id,
            tags=tags,
            # The object's version: a changed bundle is a new version, which the trust store then re-reads.
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access_log_bucket(self, name: str, args: PublicLoadBalancerArgs, tags: dict) -> PrivateBucket:
        # ALB access logs support SSE-S3 only, not SSE-KMS; Elastic Load Balancing's account for the region writes them.
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self)).arn
        return PrivateBucket(
            f"{name}-access-logs",
            PrivateBucketArgs(
                tags=tags,
                expiration_days=args.access_log_retention_days,
                noncurrent_version_days=7,
                writers=[ObjectWriter("AlbWritesLogs", {"AWS": elb_account}, f"{name}/AWSLogs/")],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
