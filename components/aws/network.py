"""The VPC: public, private (application) and isolated data subnets across zones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.iam import policy_document, service_role_with_policies
from components.base import Component


@dataclass
class AwsNetworkArgs:
    cidr: str
    zones: Sequence[str]
    public_subnets: Sequence[str]
    private_subnets: Sequence[str]
    data_subnets: Sequence[str]
    region: str
    tags: Mapping[str, str]
    single_nat_gateway: bool = False
    flow_log_retention_days: int = 90
    flow_log_kms_key_arn: pulumi.Input[str] | None = None
    # AWS APIs reached through interface endpoints in the data subnets, by their PrivateLink service
    # name's last part (`sts` for com.amazonaws.<region>.sts), with private DNS: the SDKs' usual host
    # names resolve to the endpoints, so the pods' HTTPS egress can stop at the VPC.
    interface_endpoints: Sequence[str] = ()
    permissions_boundary: pulumi.Input[str] | None = None  # the bootstrap stack's (components/aws/iam.py)

    def __post_init__(self) -> None:
        n = len(self.zones)
        if not (len(self.public_subnets) == len(self.private_subnets) == len(self.data_subnets) == n) or n == 0:
            raise ValueError("AwsNetworkArgs needs one public, private and data subnet per zone")


class AwsNetwork(Component):
    """A VPC whose data subnets have no route to the internet.

    One NAT gateway per zone keeps a zone's outage from cutting the others off the internet;
    `single_nat_gateway` trades that for cost (dev). The default security group is emptied so
    nothing lands in an allow-all group by accident.
    """

    data_route_table_ids: list[pulumi.Output[str]]
    data_subnet_ids: list[pulumi.Output[str]]
    interface_endpoint_cidrs: list[str]
    private_route_table_ids: list[pulumi.Output[str]]
    private_subnet_arns: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    vpc_cidr: str
    vpc_id: pulumi.Output[str]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        def tagged(suffix: str, **extra: str) -> dict:
            return {**tags, "Name": f"{name}-{suffix}", **extra}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True, tags=tagged("vpc"), opts=child
        )
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[], tags=tagged("default-deny"), opts=child
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tagged("igw"), opts=child)

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self.vpc.id, tags=tagged("public"), opts=child)
        aws.ec2.Route(
            f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id, opts=child
        )
        data_rt = aws.ec2.RouteTable(f"{name}-data-rt", vpc_id=self.vpc.id, tags=tagged("data"), opts=child)

        self.public_subnets, self.private_subnets, self.data_subnets = [], [], []
        self.private_route_tables: list[aws.ec2.RouteTable] = []
        nat_gateways: list[aws.ec2.NatGateway] = []
        for i, zone in enumerate(args.zones):
            suffix = zone[-1]
            public = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=args.public_subnets[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tagged(f"public-{suffix}", **{"kubernetes.io/role/elb": "1", "tier": "public"}),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{suffix}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            self.public_subnets.append(public)
            if i == 0 or not args.single_nat_gateway:
                eip = aws.ec2.Eip(f"{name}-nat-{suffix}", domain="vpc", tags=tagged(f"nat-{suffix}"), opts=child)
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{suffix}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=tagged(f"nat-{suffix}"),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )

            private = aws.ec2.Subnet(
                f"{name}-private-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=args.private_subnets[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tagged(f"private-{suffix}", **{"kubernetes.io/role/internal-elb": "1", "tier": "private"}),
                opts=child,
            )
            private_rt = aws.ec2.RouteTable(f"{name}-private-rt-{suffix}", vpc_id=self.vpc.id, tags=tagged(f"private-{suffix}"), opts=child)
            aws.ec2.Route(
                f"{name}-private-default-{suffix}",
                route_table_id=private_rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateways[-1].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{suffix}", subnet_id=private.id, route_table_id=private_rt.id, opts=child)
            self.private_subnets.append(private)
            self.private_route_tables.append(private_rt)

            data = aws.ec2.Subnet(
                f"{name}-data-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=args.data_subnets[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tagged(f"data-{suffix}", tier="data"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-data-{suffix}", subnet_id=data.id, route_table_id=data_rt.id, opts=child)
            self.data_subnets.append(data)
        self.data_route_table = data_rt

        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in self.private_route_tables] + [data_rt.id],
            tags=tagged("s3-endpoint"),
            opts=child,
        )

        self.interface_endpoints = {}
        if args.interface_endpoints:
            endpoints_sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints",
                vpc_id=self.vpc.id,
                description=f"{name}: the AWS API interface endpoints, HTTPS from inside the VPC",
                tags=tagged("endpoints"),
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoints-https",
                security_group_id=endpoints_sg.id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=args.cidr,
                description="HTTPS to the AWS APIs from the VPC",
                tags=tags,
                opts=child,
            )
            for service in args.interface_endpoints:
                self.interface_endpoints[service] = aws.ec2.VpcEndpoint(
                    f"{name}-{service}",
                    vpc_id=self.vpc.id,
                    service_name=f"com.amazonaws.{args.region}.{service}",
                    vpc_endpoint_type="Interface",
                    subnet_ids=[s.id for s in self.data_subnets],
                    security_group_ids=[endpoints_sg.id],
                    private_dns_enabled=True,
                    tags=tagged(f"{service}-endpoint"),
                    opts=child,
                )
        # Where the endpoints' addresses are: what a pod's egress to the AWS APIs may reach.
        self.interface_endpoint_cidrs = list(args.data_subnets) if args.interface_endpoints else []

        flow_logs = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/aws/vpc/{name}/flow-logs",
            retention_in_days=args.flow_log_retention_days,
            kms_key_id=args.flow_log_kms_key_arn,
            tags=tags,
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        flow_role, _ = service_role_with_policies(
            f"{name}-flow-logs",
            "vpc-flow-logs.amazonaws.com",
            tags,
            self,
            trust_policy=account.apply(lambda a: flow_log_trust_policy(a, args.region)),
            permissions_boundary=args.permissions_boundary,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=flow_role.id,
            policy=flow_logs.arn.apply(
                lambda arn: policy_document(
                    [
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                            "Resource": [arn, f"{arn}:*"],
                        },
                    ]
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=flow_logs.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )

        self.vpc_id = self.vpc.id
        self.vpc_cidr = args.cidr
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.private_subnet_arns = [s.arn for s in self.private_subnets]  # what fault injection targets (the application tier)
        self.data_subnet_ids = [s.id for s in self.data_subnets]
        self.private_route_table_ids = [rt.id for rt in self.private_route_tables]
        self.data_route_table_ids = [data_rt.id]
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
                "dataSubnetIds": self.data_subnet_ids,
                "privateRouteTableIds": self.private_route_table_ids,
                "dataRouteTableIds": self.data_route_table_ids,
                "privateSubnetArns": self.private_subnet_arns,
            }
        )


def flow_log_trust_policy(account: str, region: str) -> str:
    """VPC Flow Logs may assume the role only for this account's flow logs (the VPC guide's confused-deputy conditions).

    The flow log's id exists only after the flow log, which needs the role first, so its ARN ends in a wildcard.
    """
    return policy_document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{region}:{account}:vpc-flow-log/*"},
                },
            }
        ]
    )
