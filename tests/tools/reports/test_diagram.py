"""`python -m tools diagram`: the architecture drawn from the previews."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools.cli import main
from tools.reports import diagram

PROJECT = Path(__file__).resolve().parents[3]
DR = ("aws-dr", "gcp-dr", "global")
REGIONS = {"aws": "ap-northeast-2", "gcp": "asia-northeast3"}


@pytest.fixture
def dr_dot(shipped) -> str:
    return diagram.dot([shipped(stack) for stack in DR], REGIONS)


def edges(source: str, attribute: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if "->" in line and attribute in line]


def test_committed_architecture_diagram_matches_the_code(dr_dot):
    committed = (PROJECT / "docs" / "img" / "architecture.dot").read_text()
    assert dr_dot == committed, "docs/img/architecture.* are stale: run `python -m tools.docs diagram`"


def test_clouds_are_regions_and_components_are_clusters(dr_dot):
    assert 'label="AWS · ap-northeast-2"' in dr_dot
    assert 'label="Google Cloud · asia-northeast3"' in dr_dot
    assert 'subgraph "cluster/aws-dr/crm-dr-eks/EksCluster"' in dr_dot
    assert 'subgraph "cluster/gcp-dr/crm-dr-link/HaVpnLink"' in dr_dot


def test_stack_references_are_edges_between_stacks(dr_dot):
    references = edges(dr_dot, "reads outputs of")
    assert any(e.startswith('"gcp-dr/anchor" -> "aws-dr/anchor"') for e in references)
    assert any(e.startswith('"global/anchor" -> "gcp-dr/anchor"') for e in references)


def test_request_path_runs_from_cloudflare_to_each_clouds_data(dr_dot):
    request = edges(dr_dot, diagram.REQUEST)
    assert '"global/crm-global-lb" -> "global/crm-global-aws"' in " ".join(request)
    assert any(e.startswith('"global/crm-global-aws" -> "aws-dr/crm-dr-ingress-alb"') for e in request)
    assert any(e.startswith('"global/crm-global-gcp" -> "gcp-dr/crm-dr-origin-ip"') for e in request)
    assert any(e.startswith('"aws-dr/crm-dr-eks-nodes" -> "aws-dr/crm-dr-db-postgres"') for e in request)


def test_gcp_requests_pass_the_gateway_on_the_origin_address(dr_dot):
    request = " ".join(edges(dr_dot, diagram.REQUEST))
    assert '"gcp-dr/crm-dr-origin-ip" -> "gcp-dr/crm-dr-gateway-gateway"' in request
    assert '"gcp-dr/crm-dr-gateway-gateway" -> "gcp-dr/crm-dr-gke-pool"' in request


def test_components_with_nothing_to_draw_are_one_note_per_stack_not_a_box_each(dr_dot, shipped):
    assert "/empty" not in dr_dot
    notes = [line for line in dr_dot.splitlines() if '/more" [shape=note' in line]
    assert len(notes) == len(DR)
    gcp = next(line for line in notes if line.strip().startswith('"gcp-dr/more"'))
    kinds = {r.type.split(":")[-1] for r in shipped("gcp-dr").resources if not r.custom}
    assert "ReplicationJobs" in gcp and "ReplicationJobs" in kinds
    assert 'subgraph "cluster/gcp-dr/crm-dr-replication/ReplicationJobs"' not in dr_dot


def test_every_kubernetes_kind_the_diagram_draws_has_the_api_version_the_stacks_create(shipped):
    kinds = [t for t in diagram.SHOWN if t.startswith("kubernetes:")]
    created = {r.type for stack in ("aws-dr", "gcp-dr") for r in shipped(stack).resources}
    assert kinds and sorted(set(kinds) - created) == []  # an entry for another API version would draw nothing


def test_replication_path_runs_from_rds_over_the_vpn_to_cloud_sql(dr_dot):
    replication = edges(dr_dot, diagram.REPLICATION)
    assert any(e.startswith('"aws-dr/crm-dr-db-postgres" -> "aws-dr/crm-dr-vpn-vgw"') for e in replication)
    assert any(e.startswith('"aws-dr/crm-dr-vpn-vgw" -> "gcp-dr/crm-dr-link-vpn-a"') for e in replication)
    assert any(e.endswith('-> "gcp-dr/crm-dr-sql-postgres" [' + diagram.REPLICATION + "];") for e in replication)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("suffix, magic", [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_diagram_command_renders_svg_and_png(tmp_path, suffix, magic):
    output = tmp_path / f"estate.{suffix}"
    assert main(["diagram", "global", "-o", str(output)]) == 0
    assert output.read_bytes().startswith(magic)


def test_diagram_refuses_an_unknown_format(tmp_path, capsys):
    assert main(["diagram", "global", "-o", str(tmp_path / "estate.jpg")]) == 1
    assert "use .svg, .png or .dot" in capsys.readouterr().err
