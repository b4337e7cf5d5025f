"""`python -m tools verify` against fakes: moto for AWS, Google's HTTP mock for GCP, a local server for Cloudflare and the endpoint."""

from __future__ import annotations

import http.server
import json
import threading
from typing import ClassVar

import pytest

moto = pytest.importorskip("moto")
import boto3  # noqa: E402
from googleapiclient import discovery, discovery_cache  # noqa: E402
from googleapiclient.http import HttpMockSequence  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.ec2.models import ec2_backends  # noqa: E402

from tools.cli import main  # noqa: E402
from tools.live import verify  # noqa: E402

REGION = "ap-northeast-2"
ACCOUNT = "0123456789abcdef0123456789abcdef"
POOLS = {"aws": "pool-aws", "gcp": "pool-gcp"}
TUNNELS = [f"crm-dr-link-tunnel-{t}" for t in range(4)]


# --- AWS through moto -------------------------------------------------------------------------


AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # moto otherwise builds its ~5,000 sample AMIs per region on every start; verify reads none.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


@pytest.fixture(scope="module")
def moto_account():
    """One moto account and one boto3 session for the module (a fresh session loads botocore's endpoint data, most of
    a test's time). moto is on only while a test that asks for AWS runs (the `aws` fixture); each such test builds its
    own VPN gateway and connections, so no test sees another's; the EKS cluster is only read."""
    mock = moto.mock_aws(config={"core": {"reset_boto3_session": False}})
    saved = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None  # the module's own, as moto would make it
    with pytest.MonkeyPatch.context() as patch:
        for key, value in AWS_ENVIRONMENT.items():
            patch.setenv(key, value)
        mock.start()
        eks = boto3.client("eks", region_name=REGION)
        eks.create_cluster(name="crm-dr-eks", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []})
        account = {"mock": mock, "ec2": boto3.client("ec2", region_name=REGION), "backend": ec2_backends[DEFAULT_ACCOUNT_ID][REGION]}
        mock.stop(remove_data=False)
    try:
        yield account
    finally:
        mock.start(reset=False)
        mock.stop()  # and its data
        boto3.DEFAULT_SESSION = saved


@pytest.fixture
def aws(moto_account, monkeypatch):
    for key, value in AWS_ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    moto_account["mock"].start(reset=False)
    try:  # stopped whatever happens: a start left counted would keep the next module's moto from resetting its data
        ec2 = moto_account["ec2"]
        gateway = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
        connections = []
        for ip in ("203.0.113.1", "203.0.113.2"):
            cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp=ip, BgpAsn=65010)["CustomerGateway"]["CustomerGatewayId"]
            connections.append(
                ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=cgw, VpnGatewayId=gateway)["VpnConnection"]["VpnConnectionId"]
            )
        backend = moto_account["backend"]
        # moto keeps no tunnel state: give each connection the telemetry AWS reports for two tunnels.
        for n, cid in enumerate(connections):
            backend.vpn_connections[cid].vgw_telemetry = [
                {"OutsideIpAddress": f"198.51.100.{n * 2 + t}", "Status": "UP", "StatusMessage": "2 BGP ROUTES", "AcceptedRouteCount": 2}
                for t in range(2)
            ]
        yield {"gateway": gateway, "connections": connections, "backend": backend}
    finally:
        moto_account["mock"].stop(remove_data=False)


def telemetry(aws, connection: int, tunnel: int) -> dict:
    return aws["backend"].vpn_connections[aws["connections"][connection]].vgw_telemetry[tunnel]


# --- GCP through Google's HTTP mock -----------------------------------------------------------


# The discovery documents the library ships (what `discovery.build(..., static_discovery=True)` reads), parsed once.
DISCOVERY = {service: json.loads(discovery_cache.get_static_doc(service, "v1")) for service in ("compute", "container")}


class GcpState:
    def __init__(self):
        self.tunnels = {name: "ESTABLISHED" for name in TUNNELS}
        self.peers = {f"crm-dr-link-peer-{t}": "UP" for t in range(4)}
        self.cluster = "RUNNING"
        self.requests: list[str] = []

    def client(self) -> verify.GcpCompute:
        state = self

        class Recording(HttpMockSequence):
            def request(self, uri, method="GET", body=None, headers=None, **kwargs):
                state.requests.append(uri.split("?")[0])
                return super().request(uri, method, body, headers, **kwargs)

        responses = [
            ({"status": "200"}, json.dumps({"status": status, "detailedStatus": "Tunnel is up and running."}))
            for status in self.tunnels.values()
        ]
        responses.append(
            (
                {"status": "200"},
                json.dumps(
                    {
                        "result": {
                            "bgpPeerStatus": [
                                {"name": name, "status": status, "state": "Established" if status == "UP" else "Idle"}
                                for name, status in self.peers.items()
                            ]
                        }
                    }
                ),
            )
        )
        compute = discovery.build_from_document(DISCOVERY["compute"], http=Recording(responses))
        container = discovery.build_from_document(
            DISCOVERY["container"], http=Recording([({"status": "200"}, json.dumps({"status": self.cluster}))])
        )
        return verify.GcpCompute(compute, container)


# --- Cloudflare API and the public endpoint on a local server ---------------------------------


class Origin(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict] = {}

    def do_GET(self):
        status, headers, body = self.routes.get(self.path, (404, {}, b"{}"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def pool_health(healthy: dict) -> tuple:
    result = {"pool_id": "x", "pop_health": {region: {"healthy": ok, "origins": []} for region, ok in healthy.items()}}
    return 200, {"Content-Type": "application/json"}, json.dumps({"success": True, "errors": [], "result": result}).encode()


def health(cloud, status=200, cf=True) -> tuple:
    headers = {"X-Cloud-Provider": cloud} if cloud else {}
    if cf:
        headers["CF-RAY"] = "8a1b2c3d4e5f-ICN"
    return status, headers, b"ok"


@pytest.fixture(scope="module")
def edge_server():
    """One local server for the module; each test gives it its own routes (the `edge` fixture)."""
    handler = type("Handler", (Origin,), {"routes": {}})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def edge(edge_server):
    handler, base = edge_server
    handler.routes = {
        f"/client/v4/accounts/{ACCOUNT}/load_balancers/pools/pool-aws/health": pool_health({"Seoul, KR": True, "Singapore, SG": True}),
        f"/client/v4/accounts/{ACCOUNT}/load_balancers/pools/pool-gcp/health": pool_health({"Seoul, KR": True, "Singapore, SG": True}),
        "/crm.example.com/health": health("aws"),
        "/crm-dr-aws.example.com/health": health("aws"),
        "/crm-dr-gcp.example.com/health": health("gcp"),
    }
    return {"routes": handler.routes, "base": base}


# --- Outputs and sources ----------------------------------------------------------------------


def outputs(aws_state=None) -> dict:
    return {
        "aws-dr": {"region": REGION, "clusterName": "crm-dr-eks", "vpnGatewayId": aws_state["gateway"] if aws_state else "vgw-0"},
        "gcp-dr": {
            "region": "asia-northeast3",
            "projectId": "crm-dr-project",
            "clusterName": "crm-dr-gke",
            "vpnTunnels": TUNNELS,
            "vpnRouter": "crm-dr-link-router",
            "databasePrivateIp": "10.23.0.5",
            "databasePassword": "s3cret-Value",
            "databaseName": "crm",
            "databaseUsername": "crmadmin",
        },
        "global": {
            "hostname": "crm.example.com",
            "accountId": ACCOUNT,
            "pools": dict(POOLS),
            "originHosts": {"aws": "crm-dr-aws.example.com", "gcp": "crm-dr-gcp.example.com"},
        },
    }


@pytest.fixture
def world(aws, edge):
    gcp = GcpState()
    lag = {"value": 1.2, "calls": []}

    def replication_lag(**endpoint):
        lag["calls"].append(endpoint)
        return lag["value"]

    stack_outputs = outputs(aws)
    sources = verify.Sources(
        outputs=lambda stack: stack_outputs[stack],
        gcp=gcp.client,
        cloudflare=lambda: verify.CloudflareApi(token="test-token", base_url=f"{edge['base']}/client/v4"),
        replication_lag=replication_lag,
        url=edge["base"] + "/{host}{path}",
    )
    return {"sources": sources, "aws": aws, "gcp": gcp, "edge": edge, "lag": lag, "outputs": stack_outputs}


def failures(checks) -> list:
    return [(c.name, c.target) for c in checks if not c.ok]


# --- Success ----------------------------------------------------------------------------------


def test_a_healthy_estate_passes_every_check(world):
    checks, code = verify.run(["aws-dr", "gcp-dr", "global"], world["sources"])
    assert (failures(checks), code) == ([], 0)
    names = [c.name for c in checks]
    assert names.count("aws tunnel up") == 4 and names.count("aws bgp established") == 4
    assert names.count("gcp tunnel established") == 4 and names.count("gcp bgp established") == 4
    assert names.count("cloudflare pool healthy") == 2
    assert {
        "eks cluster active",
        "gke cluster running",
        "replication lag under RPO",
        "health through cloudflare",
        "health of aws origin",
        "health of gcp origin",
    } <= set(names)


def test_gcp_checks_ask_for_each_named_tunnel_and_the_named_router(world):
    verify.verify_stack("gcp-dr", world["sources"])
    base = "https://compute.googleapis.com/compute/v1/projects/crm-dr-project/regions/asia-northeast3"
    assert [r for r in world["gcp"].requests if r.startswith(base)] == [f"{base}/vpnTunnels/{name}" for name in TUNNELS] + [
        f"{base}/routers/crm-dr-link-router/getRouterStatus"
    ]


def test_replication_reads_the_copy_with_the_exported_credentials(world):
    verify.verify_stack("gcp-dr", world["sources"])
    assert world["lag"]["calls"] == [{"host": "10.23.0.5", "port": 5432, "dbname": "crm", "user": "crmadmin", "password": "s3cret-Value"}]


def test_database_host_override_reaches_the_copy_through_a_proxy(world):
    world["sources"].database_host = "127.0.0.1:6543"
    verify.verify_stack("gcp-dr", world["sources"])
    assert (world["lag"]["calls"][0]["host"], world["lag"]["calls"][0]["port"]) == ("127.0.0.1", 6543)


# --- AWS failures -----------------------------------------------------------------------------


def test_an_aws_tunnel_down_fails(world):
    telemetry(world["aws"], 1, 0).update(Status="DOWN", StatusMessage="", AcceptedRouteCount=0)
    checks = verify.verify_stack("aws-dr", world["sources"])
    target = f"{world['aws']['connections'][1]} 198.51.100.2"
    assert failures(checks) == [("aws tunnel up", target), ("aws bgp established", target)]


def test_an_aws_tunnel_up_without_bgp_routes_fails_the_bgp_check_only(world):
    telemetry(world["aws"], 0, 1).update(AcceptedRouteCount=0, StatusMessage="0 BGP ROUTES")
    checks = verify.verify_stack("aws-dr", world["sources"])
    assert failures(checks) == [("aws bgp established", f"{world['aws']['connections'][0]} 198.51.100.1")]


def test_a_gateway_without_vpn_connections_fails(world):
    world["outputs"]["aws-dr"]["vpnGatewayId"] = boto3.client("ec2", region_name=REGION).create_vpn_gateway(Type="ipsec.1")["VpnGateway"][
        "VpnGatewayId"
    ]
    checks = verify.verify_stack("aws-dr", world["sources"])
    assert failures(checks) == [("aws vpn connections", world["outputs"]["aws-dr"]["vpnGatewayId"])]


def test_a_connection_without_telemetry_fails(world):
    world["aws"]["backend"].vpn_connections[world["aws"]["connections"][0]].vgw_telemetry = []
    checks = verify.verify_stack("aws-dr", world["sources"])
    assert failures(checks) == [
        ("aws vpn connection available", world["aws"]["connections"][0]),
        ("aws vpn tunnels", world["aws"]["gateway"]),
    ]


def test_a_gateway_with_half_the_link_fails(world):
    boto3.client("ec2", region_name=REGION).delete_vpn_connection(VpnConnectionId=world["aws"]["connections"][1])
    checks = verify.verify_stack("aws-dr", world["sources"])
    assert failures(checks) == [("aws vpn tunnels", world["aws"]["gateway"])]


def test_an_eks_cluster_that_is_not_active_fails(world):
    world["outputs"]["aws-dr"]["clusterName"] = "no-such-cluster"
    checks = verify.verify_stack("aws-dr", world["sources"])
    assert failures(checks) == [("cluster", "aws-dr")]
    assert "ResourceNotFoundException" in next(c.detail for c in checks if not c.ok)


# --- GCP failures -----------------------------------------------------------------------------


def test_a_gcp_tunnel_not_established_fails(world):
    world["gcp"].tunnels["crm-dr-link-tunnel-2"] = "NO_INCOMING_PACKETS"
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("gcp tunnel established", "crm-dr-link-tunnel-2")]


def test_a_bgp_peer_down_fails(world):
    world["gcp"].peers["crm-dr-link-peer-3"] = "DOWN"
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("gcp bgp established", "crm-dr-link-peer-3")]


def test_fewer_bgp_peers_than_tunnels_fails(world):
    del world["gcp"].peers["crm-dr-link-peer-0"]
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("gcp bgp peers", "crm-dr-link-router")]


def test_a_gke_cluster_not_running_fails(world):
    world["gcp"].cluster = "RECONCILING"
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("gke cluster running", "crm-dr-gke")]


def test_a_missing_output_fails_its_family_by_name(world):
    del world["outputs"]["gcp-dr"]["vpnRouter"]
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("gcp vpn", "gcp-dr")]
    assert "vpnRouter" in next(c.detail for c in checks if not c.ok)


# --- Replication failures ---------------------------------------------------------------------


def test_lag_over_the_rpo_fails(world):
    world["lag"]["value"] = 7.5
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("replication lag under RPO", "10.23.0.5")]


def test_a_subscription_that_is_not_running_fails(world):
    world["lag"]["value"] = None
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("replication running", "10.23.0.5")]


def test_an_unreachable_copy_fails_without_the_password(world):
    def unreachable(**endpoint):
        raise OSError(f"connection to {endpoint['host']} refused")

    world["sources"].replication_lag = unreachable
    checks = verify.verify_stack("gcp-dr", world["sources"])
    assert failures(checks) == [("replication", "gcp-dr")]
    assert all("s3cret-Value" not in c.detail for c in checks)


# --- Cloudflare and endpoint failures ---------------------------------------------------------


def test_a_pool_unhealthy_from_one_region_fails(world):
    world["edge"]["routes"][f"/client/v4/accounts/{ACCOUNT}/load_balancers/pools/pool-gcp/health"] = pool_health(
        {"Seoul, KR": False, "Singapore, SG": True}
    )
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("cloudflare pool healthy", "gcp pool-gcp")]
    assert "Seoul, KR" in next(c.detail for c in checks if not c.ok)


def test_a_pool_with_no_health_reported_fails(world):
    world["edge"]["routes"][f"/client/v4/accounts/{ACCOUNT}/load_balancers/pools/pool-aws/health"] = pool_health({})
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("cloudflare pool healthy", "aws pool-aws")]


def test_a_cloudflare_api_error_fails_with_its_message(world):
    world["edge"]["routes"][f"/client/v4/accounts/{ACCOUNT}/load_balancers/pools/pool-aws/health"] = (
        403,
        {},
        json.dumps({"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}).encode(),
    )
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("cloudflare pool healthy", "aws pool-aws")]
    assert "Authentication error" in next(c.detail for c in checks if not c.ok)


def test_no_api_token_fails_the_pool_checks(world, monkeypatch):
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    world["sources"].cloudflare = lambda: verify.CloudflareApi(token=None, base_url=f"{world['edge']['base']}/client/v4")
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("cloudflare pool healthy", "aws pool-aws"), ("cloudflare pool healthy", "gcp pool-gcp")]


def test_the_public_endpoint_failing_fails(world):
    world["edge"]["routes"]["/crm.example.com/health"] = health("aws", status=503)
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("health through cloudflare", "crm.example.com")]


def test_an_answer_without_the_cloud_header_fails(world):
    world["edge"]["routes"]["/crm.example.com/health"] = health(None)
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("health through cloudflare", "crm.example.com")]


def test_an_answer_that_bypassed_cloudflare_fails(world):
    world["edge"]["routes"]["/crm.example.com/health"] = health("gcp", cf=False)
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("health through cloudflare", "crm.example.com")]


def test_a_cloud_host_served_by_the_other_cloud_fails(world):
    world["edge"]["routes"]["/crm-dr-gcp.example.com/health"] = health("aws")
    checks = verify.verify_stack("global", world["sources"])
    assert failures(checks) == [("health of gcp origin", "crm-dr-gcp.example.com")]


def test_origin_hosts_are_the_ones_the_global_stack_exports(world):
    world["outputs"]["global"]["originHosts"] = {"aws": "elsewhere-aws.example.com", "gcp": "crm-dr-gcp.example.com"}
    world["edge"]["routes"]["/elsewhere-aws.example.com/health"] = health("aws")
    checks = verify.verify_stack("global", world["sources"])
    assert ("health of aws origin", "elsewhere-aws.example.com", True) in [(c.name, c.target, c.ok) for c in checks]


def test_an_origin_host_nobody_names_fails_the_check(world):
    del world["outputs"]["global"]["originHosts"]
    checks = verify.verify_stack("global", world["sources"])
    assert {("health of aws origin", "aws"), ("health of gcp origin", "gcp")} <= set(failures(checks))


def test_an_unreachable_host_fails(world):
    world["sources"].origin_hosts = {"aws": "nowhere.invalid"}
    world["sources"].url = "http://127.0.0.1:9/{host}{path}"  # the discard port: nothing listens
    checks = verify.verify_stack("global", world["sources"])
    assert ("health of aws origin", "nowhere.invalid") in failures(checks)


# --- The command ------------------------------------------------------------------------------


def test_the_command_prints_a_table_and_exits_zero_when_all_pass(world, capsys):
    assert main(["verify", "global"], verify_sources=world["sources"]) == 0
    out = capsys.readouterr().out
    assert "cloudflare pool healthy" in out and "FAIL" not in out and "5 passed, 0 failed" in out


def test_the_table_fits_the_terminal_and_loses_no_word(world, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    main(["verify", "global"], verify_sources=world["sources"])
    piped = capsys.readouterr().out
    monkeypatch.setenv("COLUMNS", "60")
    main(["verify", "global"], verify_sources=world["sources"])
    narrow = capsys.readouterr().out
    assert max(map(len, piped.splitlines())) > 60 >= max(map(len, narrow.splitlines()))
    assert narrow.split() == piped.split()


def test_the_command_exits_non_zero_on_any_failure(world, capsys):
    world["gcp"].tunnels["crm-dr-link-tunnel-0"] = "FIRST_HANDSHAKE"
    assert main(["verify", "gcp-dr"], verify_sources=world["sources"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "s3cret-Value" not in out


def test_the_command_refuses_a_bad_origin_flag(world, capsys):
    assert main(["verify", "global", "--origin", "azure=x.example.com"], verify_sources=world["sources"]) == 2
    assert "azure" in capsys.readouterr().err


def test_the_command_reports_unreadable_outputs_as_a_failure(capsys):
    def no_cli(stack):
        raise verify.VerifyError("the Pulumi CLI is not installed (it reads the stack outputs)")

    assert main(["verify", "aws-dr"], verify_sources=verify.Sources(outputs=no_cli)) == 1
    assert "Pulumi CLI" in capsys.readouterr().out


def test_the_real_outputs_carry_what_verify_reads(shipped):
    """The offline previews export every output a check family needs (values are unknown before deploy)."""
    needed = {
        "aws-dr": {"vpnGatewayId", "region", "clusterName"},
        "gcp-dr": {
            "vpnTunnels",
            "vpnRouter",
            "projectId",
            "region",
            "clusterName",
            "databasePrivateIp",
            "databasePassword",
            "databaseName",
            "databaseUsername",
        },
        "global": {"pools", "accountId", "hostname"},
    }
    for stack, keys in needed.items():
        assert keys <= set(shipped(stack).outputs), stack
