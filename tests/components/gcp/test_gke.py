from __future__ import annotations

import pytest

from components.gcp.gke import NODE_ROLES, GkeCluster, GkeClusterArgs


def gke_args(**changes) -> GkeClusterArgs:
    values = dict(
        project="p",
        region="asia-northeast3",
        network="net",
        subnetwork="sub",
        zones=["asia-northeast3-a", "asia-northeast3-b", "asia-northeast3-c"],
        master_cidr="172.16.0.0/28",
        node_service_account="crm-gke-nodes@p.iam.gserviceaccount.com",
        release_channel="REGULAR",
        machine_type="n2-standard-16",
        min_nodes=3,
        initial_nodes=5,
        max_nodes=10,
        disk_size_gb=200,
        secrets_kms_key="projects/p/keys/gke",
        labels={},
        authorized_networks=["203.0.113.0/24"],
    )
    values.update(changes)
    return GkeClusterArgs(**values)


@pytest.fixture
def gke(run_component):
    return run_component(lambda: GkeCluster("gke", gke_args()))


@pytest.mark.parametrize(
    "stack,machine,sizes,disk",
    [
        ("gcp-dev", "e2-standard-4", (1, 3), 100),
        ("gcp-staging", "e2-standard-8", (2, 5), 100),
        ("gcp-production", "n2-standard-16", (3, 10), 200),
        ("gcp-dr", "n2-standard-16", (3, 10), 200),
    ],
)
def test_node_pool_matches_the_matrix(shipped, stack, machine, sizes, disk):
    pool = shipped(stack).one("gcp:container/nodePool:NodePool")
    assert pool["nodeConfig"]["machineType"] == machine and pool["nodeConfig"]["diskSizeGb"] == disk
    assert (pool["autoscaling"]["totalMinNodeCount"], pool["autoscaling"]["totalMaxNodeCount"]) == sizes


def test_dr_starts_with_at_least_five_nodes(shipped):
    pool = shipped("gcp-dr").one("gcp:container/nodePool:NodePool")
    assert pool["initialNodeCount"] * len(pool["nodeLocations"]) >= 5


def test_regional_private_cluster(gke):
    cluster = gke.one("gcp:container/cluster:Cluster")
    assert cluster["location"] == "asia-northeast3"
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["privateClusterConfig"]["masterIpv4CidrBlock"] == "172.16.0.0/28"


def test_authorized_networks_only(gke):
    networks = gke.one("gcp:container/cluster:Cluster")["masterAuthorizedNetworksConfig"]
    assert [b["cidrBlock"] for b in networks["cidrBlocks"]] == ["203.0.113.0/24"]
    assert networks["gcpPublicCidrsAccessEnabled"] is False


def test_world_open_control_plane_is_refused():
    with pytest.raises(ValueError, match=r"0.0.0.0/0"):
        gke_args(authorized_networks=["0.0.0.0/0"])


def test_release_channel_and_workload_identity(gke):
    cluster = gke.one("gcp:container/cluster:Cluster")
    assert cluster["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster["workloadIdentityConfig"] == {"workloadPool": "p.svc.id.goog"}


def test_hardening(gke):
    cluster = gke.one("gcp:container/cluster:Cluster")
    assert cluster["enableLegacyAbac"] is False and cluster["enableShieldedNodes"] is True
    assert cluster["masterAuth"]["clientCertificateConfig"]["issueClientCertificate"] is False
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": "projects/p/keys/gke"}
    assert cluster["loggingConfig"]["enableComponents"] == ["SYSTEM_COMPONENTS", "WORKLOADS"]


def test_default_pool_removed_for_a_managed_one(gke):
    assert gke.one("gcp:container/cluster:Cluster")["removeDefaultNodePool"] is True
    assert len(gke.of_type("gcp:container/nodePool:NodePool")) == 1


CLUSTER = "gcp:container/cluster:Cluster"
POOL = "gcp:container/nodePool:NodePool"


@pytest.mark.parametrize(
    "change", [{"machine_type": "n2-standard-32"}, {"disk_size_gb": 500}, {"node_tags": ["crm-app", "crm-batch"]}], ids=str
)
def test_a_node_change_reaches_the_pool_and_leaves_the_cluster_alone(run_component, change):
    before = run_component(lambda: GkeCluster("gke", gke_args()))
    after = run_component(lambda: GkeCluster("gke", gke_args(**change)))
    # The provider updates a cluster's node_config through its default pool, which this cluster removed (404).
    assert after.one(CLUSTER).inputs == before.one(CLUSTER).inputs
    assert after.one(POOL)["nodeConfig"] != before.one(POOL)["nodeConfig"]


def test_clusters_created_with_a_node_config_keep_it(gke):
    # A cluster deployed when its node_config still named the machine type keeps what it has: no update, no replacement.
    assert "nodeConfig" in gke.one(CLUSTER).options["ignoreChanges"]


def test_the_bootstrap_pool_is_as_hardened_as_the_managed_one(gke):
    bootstrap, pool = gke.one(CLUSTER)["nodeConfig"], gke.one(POOL)["nodeConfig"]
    for key in ("serviceAccount", "shieldedInstanceConfig", "workloadMetadataConfig", "oauthScopes", "metadata"):
        assert bootstrap[key] == pool[key]


def test_nodes_are_shielded_and_use_the_gke_metadata_server(gke):
    node = gke.one("gcp:container/nodePool:NodePool")["nodeConfig"]
    assert node["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert node["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}


def test_nodes_run_as_the_least_privilege_account_bootstrap_created(gke):
    # The component creates no account: a deploy identity that may create one could not be kept from granting itself
    # a role on every account of the project.
    assert gke.of_type("gcp:serviceaccount/account:Account") == []
    nodes = gke_args().node_service_account
    assert gke.one("gcp:container/nodePool:NodePool")["nodeConfig"]["serviceAccount"] == nodes
    assert gke.one("gcp:container/cluster:Cluster")["nodeConfig"]["serviceAccount"] == nodes
    roles = sorted(m["role"] for m in gke.of_type("gcp:projects/iAMMember:IAMMember") if m["member"] == f"serviceAccount:{nodes}")
    assert roles == sorted(NODE_ROLES)
    assert not any(r in ("roles/editor", "roles/owner") for r in roles)


def test_initial_nodes_are_spread_per_zone(gke):
    assert gke.one("gcp:container/nodePool:NodePool")["initialNodeCount"] == 2  # ceil(5 / 3 zones)


def test_deletion_protection_outside_dev(shipped):
    assert shipped("gcp-production").one("gcp:container/cluster:Cluster")["deletionProtection"] is True
    assert shipped("gcp-dev").one("gcp:container/cluster:Cluster")["deletionProtection"] is False


def test_node_counts_must_be_ordered():
    with pytest.raises(ValueError, match="min <= initial <= max"):
        gke_args(initial_nodes=11)


def test_maintenance_window_leaves_gke_its_48_hours_per_32_days(gke):
    from datetime import datetime

    window = gke.one("gcp:container/cluster:Cluster")["maintenancePolicy"]["recurringWindow"]
    hours = (
        datetime.fromisoformat(window["endTime"].replace("Z", "+00:00"))
        - datetime.fromisoformat(window["startTime"].replace("Z", "+00:00"))
    ).seconds / 3600
    days_per_week = len(window["recurrence"].split("BYDAY=")[1].split(","))
    worst_32_days = hours * days_per_week * 4  # at least four full weeks fit in any 32 days
    assert hours >= 4 and worst_32_days >= 48


def test_control_plane_has_a_dns_endpoint_open_to_iam_checked_external_traffic(gke):
    cluster = gke.one("gcp:container/cluster:Cluster")
    assert cluster["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["allowExternalTraffic"] is True


def test_kubeconfig_targets_the_dns_endpoint_with_the_gcloud_plugin(shipped, plain):
    import json

    result = shipped("gcp-dr", preview=False)
    kubeconfig = json.loads(plain(result.outputs["kubeconfig"]))
    assert kubeconfig["clusters"][0]["cluster"] == {"server": f"https://{result.outputs['clusterDnsEndpoint']}"}
    assert result.outputs["clusterDnsEndpoint"].endswith(".gke.goog")
    assert kubeconfig["users"][0]["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"


def test_kubernetes_provider_uses_that_kubeconfig(shipped, plain):
    result = shipped("gcp-dr", preview=False)
    provider = result.one("pulumi:providers:kubernetes")
    assert plain(provider["kubeconfig"]) == plain(result.outputs["kubeconfig"])
