from __future__ import annotations

import json

from components.aws.ecr import ContainerRegistry, ContainerRegistryArgs


def test_repositories_are_immutable_scanned_and_kms_encrypted(run_component):
    result = run_component(lambda: ContainerRegistry("ecr", ContainerRegistryArgs(repositories=["crm-api"], kms_key_arn="arn:kms:ecr", tags={})))
    repo = result.one("aws:ecr/repository:Repository")
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repo["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": "arn:kms:ecr"}]


def test_lifecycle_keeps_the_newest_images_and_drops_untagged(run_component):
    result = run_component(lambda: ContainerRegistry("ecr", ContainerRegistryArgs(repositories=["crm-api"], kms_key_arn="k", tags={}, keep_images=12)))
    rules = json.loads(result.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")["policy"])["rules"]
    assert rules[0]["selection"]["tagStatus"] == "untagged"
    assert rules[1]["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 12}


def test_one_repository_per_configured_name(shipped):
    names = sorted(r["name"] for r in shipped("aws-dr").of_type("aws:ecr/repository:Repository"))
    assert names == ["crm-api", "crm-web"]
