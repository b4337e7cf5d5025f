from __future__ import annotations


def test_google_service_account_bound_to_the_kubernetes_one(shipped):
    result = shipped("gcp-dr", preview=False)
    binding = result.one("gcp:serviceaccount/iAMMember:IAMMember", "crm-dr-app-wi")
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == "serviceAccount:crm-dr-project.svc.id.goog[crm/crm-app]"
    ksa = result.one("kubernetes:core/v1:ServiceAccount", "crm-dr-app-sa")  # the application's, named crm:platform.appServiceAccount
    assert (ksa["metadata"]["namespace"], ksa["metadata"]["name"]) == ("crm", "crm-app")
    # The Google account is the one bootstrap created in this project (the stack creates none).
    assert result.of_type("gcp:serviceaccount/account:Account") == []
    gsa = shipped("bootstrap", preview=False).outputs["gcpServiceAccounts"]["crm-dr-project"]["app"]["email"]
    assert ksa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == gsa
    assert binding["serviceAccountId"] == f"projects/crm-dr-project/serviceAccounts/{gsa}"


def test_it_may_read_only_its_secret(shipped):
    result = shipped("gcp-dr", preview=False)
    access = result.one("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert access["role"] == "roles/secretmanager.secretAccessor"
    assert access["secretId"] == result.one("gcp:secretmanager/secret:Secret").name + "-id"
    assert access["member"] == "serviceAccount:crm-app@crm-dr-project.iam.gserviceaccount.com"  # bootstrap's account


def test_binding_waits_for_the_cluster_that_creates_the_identity_pool(shipped):
    result = shipped("gcp-dr")
    binding = result.one("gcp:serviceaccount/iAMMember:IAMMember", "crm-dr-app-wi")
    assert result.one("gcp:container/cluster:Cluster").urn in binding.dependencies
