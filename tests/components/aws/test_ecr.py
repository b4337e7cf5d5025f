from __future__ import annotations

import json

import pytest

from components.aws.ecr import ContainerRegistry, ContainerRegistryArgs


def test_repositories_are_immutable_scanned_and_kms_encrypted(run_component):
    result = run_component(
        lambda: ContainerRegistry(
            "ecr", ContainerRegistryArgs(repositories=["crm-api"], kms_key_arn="arn:kms:ecr", tags={}, namespace="crm-test")
        )
    )
    repo = result.one("aws:ecr/repository:Repository")
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": "arn:kms:ecr"}]


def test_lifecycle_keeps_the_newest_images_and_drops_untagged(run_component):
    result = run_component(
        lambda: ContainerRegistry(
            "ecr", ContainerRegistryArgs(repositories=["crm-api"], kms_key_arn="k", tags={}, namespace="crm-test", keep_images=12)
        )
    )
    rules = json.loads(result.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")["policy"])["rules"]
    assert rules[0]["selection"]["tagStatus"] == "untagged"
    assert rules[1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 12}


def test_one_repository_per_configured_name(shipped):
    names = sorted(r["name"] for r in shipped("aws-dr").of_type("aws:ecr/repository:Repository"))
    assert names == ["crm-dr/crm-api", "crm-dr/crm-web"]


def test_stacks_sharing_an_account_never_create_the_same_repository(shipped):
    stacks = ["aws-dev", "aws-staging", "aws-production", "aws-dr"]
    names = [r["name"] for stack in stacks for r in shipped(stack).of_type("aws:ecr/repository:Repository")]
    assert len(names) == 8 and len(set(names)) == len(names)


def test_repository_lives_under_its_environment(run_component):
    result = run_component(
        lambda: ContainerRegistry("ecr", ContainerRegistryArgs(repositories=["crm-api"], kms_key_arn="k", tags={}, namespace="crm-staging"))
    )
    assert result.one("aws:ecr/repository:Repository")["name"] == "crm-staging/crm-api"


@pytest.mark.parametrize(("stack", "destroyable"), [("aws-dev", True), ("aws-production", False)])
def test_only_dev_repositories_are_deleted_with_their_images(shipped, stack, destroyable):
    # A repository holding images refuses a delete (RepositoryNotEmptyException): dev must be destroyable.
    repositories = shipped(stack).of_type("aws:ecr/repository:Repository")
    assert repositories and all(r["forceDelete"] is destroyable and r.protect is not destroyable for r in repositories)
