"""The shipped force-new data (tools/diff/data/force_new/) and the reader that extracts it from Go sources."""

from __future__ import annotations

import importlib.metadata
import textwrap
from pathlib import Path

import botocore
import pytest

from components.aws.load_balancer_controller import CHART_VERSION as LOAD_BALANCER_CONTROLLER
from components.kubernetes.external_secrets import ESO_VERSION
from stacks.config.rules import STRIMZI_DEFAULT
from tests.conftest import ALL_STACKS
from tools.diff import force_new
from tools.diff.force_new.generate import docstring_statement, pulumi_paths, sdk_docstring_paths
from tools.diff.force_new.terraform import (
    ATTRIBUTE,
    BLOCK,
    WHOLE,
    Attribute,
    AwsProvider,
    FrameworkProvider,
    GoogleProvider,
    ResourceSchema,
    SourceTree,
)


@pytest.mark.parametrize("provider", sorted(force_new.PULUMI_PACKAGES))
def test_the_data_was_made_for_the_installed_provider(provider):
    """Bumping a provider in pyproject.toml fails here until the data is regenerated
    (`python -m tools.diff.force_new.generate`, see docs/diff.md)."""
    document = force_new.data(provider)
    assert document["pulumiVersion"] == importlib.metadata.version(force_new.PULUMI_PACKAGES[provider])
    assert document["upstream"]["repository"].startswith("https://github.com/")
    assert document["upstream"]["revision"]


def test_the_controller_data_is_read_at_the_releases_the_stacks_install():
    controllers = force_new.data("controllers")["controllers"]
    # The chart's appVersion is its version (helm/aws-load-balancer-controller/Chart.yaml at the tag).
    assert controllers["load-balancer-controller"]["version"] == f"v{LOAD_BALANCER_CONTROLLER}"
    assert controllers["strimzi"]["version"] == STRIMZI_DEFAULT
    assert controllers["external-secrets"]["version"] == f"helm-chart-{ESO_VERSION}"


def test_the_cloud_api_data_was_read_from_the_installed_botocore():
    assert force_new.data("cloud_api")["botocoreVersion"] == botocore.__version__


@pytest.mark.parametrize("stack", ALL_STACKS)
def test_every_resource_type_a_shipped_stack_creates_is_covered(stack, shipped):
    types = {r.type for r in shipped(stack).resources if r.custom}
    assert types, "the stack registered no resource"
    assert sorted(t for t in types if not force_new.covered(t)) == []


def test_the_data_says_what_the_providers_replace_on():
    rds = force_new.rules("aws:rds/instance:Instance")
    assert rds.replace_on["storageEncrypted"]["kind"] == ATTRIBUTE and "instanceClass" not in rds.replace_on
    sql = force_new.rules("gcp:sql/databaseInstance:DatabaseInstance")
    assert "name" in sql.replace_on and "settings.tier" not in sql.replace_on
    assert "port" in force_new.rules("aws:lb/targetGroup:TargetGroup").replace_on
    deployment = force_new.rules("kubernetes:apps/v1:Deployment", {}, {})
    assert {"metadata.name", "spec.selector"} <= set(deployment.replace_on)
    binding = force_new.rules("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", {}, {})
    assert binding.refused_in_place["spec.targetGroupARN"] == "change" and "metadata.name" in binding.replace_on


def test_secret_and_config_map_data_replace_unless_the_provider_makes_them_mutable():
    secret = "kubernetes:core/v1:Secret"
    assert "stringData" in force_new.rules(secret, {}, {}).replace_on
    assert "stringData" not in force_new.rules(secret, {}, {"enableSecretMutable": "true"}).replace_on
    assert "stringData" in force_new.rules(secret, {"immutable": True}, {"enableSecretMutable": "true"}).replace_on
    assert "data" not in force_new.rules("kubernetes:core/v1:ConfigMap", {}, {"enableConfigMapMutable": True}).replace_on


# -- The Go reader, on sources written the way the providers write them


def _tree(tmp_path: Path, files: dict[str, str]) -> SourceTree:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text))
    return SourceTree(str(tmp_path))


SDK_RESOURCE = """
    package db

    import (
        "github.com/hashicorp/terraform-plugin-sdk/v2/helper/customdiff"
        "github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
        "github.com/hashicorp/terraform-provider-aws/names"
    )

    // @SDKResource("aws_db_instance", name="DB Instance")
    func ResourceInstance() *schema.Resource {
        return &schema.Resource{
            CustomizeDiff: customdiff.All(
                customdiff.ForceNewIfChange("allocated_storage", func(_ context.Context, old, new, meta any) bool {
                    return new.(int) < old.(int)
                }),
            ),
            Schema: map[string]*schema.Schema{
                names.AttrName: {
                    Type:     schema.TypeString,
                    Optional: true,
                    Computed: true,
                    ForceNew: true,
                    DiffSuppressFunc: func(k, old, new string, d *schema.ResourceData) bool {
                        return old == new
                    },
                },
                "allocated_storage": {Type: schema.TypeInt, Optional: true},
                "instance_class":    {Type: schema.TypeString, Required: true},
                "s3_import":         s3ImportSchema(),
                "tags": {
                    Type:     schema.TypeSet,
                    Optional: true,
                    ForceNew: true,
                    Elem:     &schema.Schema{Type: schema.TypeString},
                },
            },
        }
    }

    func s3ImportSchema() *schema.Schema {
        return &schema.Schema{
            Type:     schema.TypeList,
            Optional: true,
            MaxItems: 1,
            ForceNew: true,
            Elem: &schema.Resource{
                Schema: map[string]*schema.Schema{
                    "bucket_name":   {Type: schema.TypeString, Required: true, ForceNew: true},
                    "bucket_prefix": {Type: schema.TypeString, Optional: true},
                },
            },
        }
    }
"""

NAMES = """
    package names

    const (
        AttrName = "name"
        AttrID   = "id"
    )
"""


def test_the_reader_takes_sdk_force_new_with_its_block_semantics_and_conditions(tmp_path):
    tree = _tree(tmp_path, {"internal/service/db/instance.go": SDK_RESOURCE, "names/consts.go": NAMES})
    schema = AwsProvider(tree).resource("aws_db_instance")
    name, tags, s3 = schema.attributes["name"], schema.attributes["tags"], schema.attributes["s3_import"]
    assert (name.force_new, name.optional_computed) == (ATTRIBUTE, True)
    assert tags.force_new == ATTRIBUTE  # a set of plain values: every element
    assert s3.force_new == BLOCK and s3.children is not None
    assert s3.children["bucket_name"].force_new == ATTRIBUTE and s3.children["bucket_prefix"].force_new is None
    assert schema.attributes["instance_class"].force_new is None
    assert schema.conditional == {"allocated_storage": "customdiff.ForceNewIfChange"}
    assert schema.on_decrease == {"allocated_storage"}  # its condition orders the new value below the old


FRAMEWORK_RESOURCE = """
    package dns_record

    import (
        "github.com/hashicorp/terraform-plugin-framework/resource"
        "github.com/hashicorp/terraform-plugin-framework/resource/schema"
        "github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
        "github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
    )

    type DNSRecordResource struct{}

    func (r *DNSRecordResource) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
        resp.TypeName = req.ProviderTypeName + "_dns_record"
    }

    func (r *DNSRecordResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
        resp.Schema = ResourceSchema(ctx)
    }

    func ResourceSchema(ctx context.Context) schema.Schema {
        return schema.Schema{
            Attributes: map[string]schema.Attribute{
                "zone_id": schema.StringAttribute{
                    Required:      true,
                    PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
                },
                "name": schema.StringAttribute{Required: true},
                "type": schema.StringAttribute{
                    Required:      true,
                    PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(typeChanged, "", "")},
                },
                "data": schema.SingleNestedAttribute{
                    Optional:      true,
                    PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplace()},
                    Attributes: map[string]schema.Attribute{
                        "flags": schema.StringAttribute{Optional: true},
                    },
                },
            },
        }
    }
"""


def test_the_reader_takes_framework_requires_replace_for_the_whole_nested_value(tmp_path):
    tree = _tree(tmp_path, {"internal/services/dns_record/resource.go": FRAMEWORK_RESOURCE})
    provider = FrameworkProvider(tree, "github.com/cloudflare/terraform-provider-cloudflare", "cloudflare", "internal/services")
    attributes = provider.resource("cloudflare_dns_record").attributes
    assert attributes["zone_id"].force_new == WHOLE and attributes["data"].force_new == WHOLE
    assert attributes["name"].force_new is None
    assert attributes["type"].force_new is None and "RequiresReplaceIf" in (attributes["type"].conditional or "")


GOOGLE_RESOURCE = """
    package sql

    import (
        "github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
        "github.com/hashicorp/terraform-provider-google-beta/google-beta/registry"
        "github.com/hashicorp/terraform-provider-google-beta/google-beta/tpgresource"
    )

    func init() {
        registry.Schema{
            Name:        "google_sql_database_instance",
            ProductName: "sql",
            Type:        registry.SchemaTypeResource,
            Schema:      ResourceSqlDatabaseInstance(),
        }.Register()
    }

    var base = map[string]*schema.Schema{
        "region": {Type: schema.TypeString, Optional: true, Computed: true, ForceNew: true},
    }

    func ResourceSqlDatabaseInstance() *schema.Resource {
        return &schema.Resource{
            Schema: tpgresource.MergeSchemas(base, map[string]*schema.Schema{
                "settings": {
                    Type:     schema.TypeList,
                    Required: true,
                    MaxItems: 1,
                    Elem: &schema.Resource{
                        Schema: map[string]*schema.Schema{
                            "tier":      {Type: schema.TypeString, Required: true},
                            "collation": {Type: schema.TypeString, Optional: true, ForceNew: true},
                        },
                    },
                },
            }),
        }
    }
"""


def test_the_reader_follows_google_registrations_and_merged_schemas(tmp_path):
    tree = _tree(tmp_path, {"google-beta/services/sql/resource_sql_database_instance.go": GOOGLE_RESOURCE})
    attributes = GoogleProvider(tree).resource("google_sql_database_instance").attributes
    assert attributes["region"].force_new == ATTRIBUTE
    settings = attributes["settings"]
    assert settings.force_new is None and settings.children is not None
    assert settings.children["collation"].force_new == ATTRIBUTE and settings.children["tier"].force_new is None


def test_terraform_paths_become_the_sdks_input_names():
    schema = ResourceSchema(
        "aws_backup_selection",
        "x.go",
        {
            "condition": Attribute(
                force_new=BLOCK, children={"string_equals": Attribute(force_new=BLOCK, children={"key": Attribute(force_new=ATTRIBUTE)})}
            ),
            "iam_role_arn": Attribute(force_new=ATTRIBUTE),
            "tags_all": Attribute(force_new=ATTRIBUTE),
        },
    )
    replace, _conditional, missing = pulumi_paths("aws:backup/selection:Selection", schema)
    assert set(replace) == {"conditions", "conditions.stringEquals", "conditions.stringEquals.key", "iamRoleArn"}
    assert missing == []


# -- The installed SDKs' docstrings


def test_the_sdk_docstring_reader_finds_the_inputs_that_force_a_new_resource():
    paths = sdk_docstring_paths("aws:eks/cluster:Cluster")
    kind, sentence, is_object = paths["bootstrapSelfManagedAddons"]
    assert kind == "replace" and "force a new cluster" in sentence and not is_object
    assert paths["vpcConfig.controlPlaneEgressMode"][0] == "conditional"
    assert "version" not in paths and "roleArn" not in paths


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        ("Name of the cluster. Changing this forces a new resource to be created.", "replace"),
        ("You can only set it on create, changing this value will force a new cluster to be created.", "replace"),
        ("If `type` is `network`, changing this value forces a new resource to be created.", "conditional"),
        ("Changing from `A` back to `B` forces a new resource.", "conditional"),
        ("When decreased, this will force a recreation of the resource.", "decrease"),
        ("Changing this value does not force a new resource.", None),
        ("Early testers and developers who requires new features.", None),
    ],
)
def test_the_sdk_docstring_reader_tells_a_condition_and_a_negation_from_a_statement(doc, kind):
    statement = docstring_statement(doc)
    assert (statement[0] if statement else None) == kind


def test_the_data_holds_what_the_installed_sdks_docstrings_say_forces_a_new_resource():
    cluster = force_new.rules("aws:eks/cluster:Cluster")
    assert cluster.replace_on["bootstrapSelfManagedAddons"] == {"kind": ATTRIBUTE, "from": "docstring"}
    assert force_new.data("aws")["sdkDocstrings"]["version"] == importlib.metadata.version("pulumi-aws")
