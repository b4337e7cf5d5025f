"""The zone's origin-auth header across the three stacks: the GCP stack generates it, the AWS stack admits what
the GCP stack and the global stack deployed last, and the global stack sends a value both origins admit."""

from __future__ import annotations

import pytest

from components.cloudflare.rulesets import ORIGIN_AUTH_HEADER
from stacks.global_stack import NoCommonOriginAuthValue, header_to_send
from tests.conftest import ROOT, _shipped, kept_runs, stack_config
from tools.engine import PreviewResult, cache, workspace
from tools.engine.engine import Secret, reveal

RULE = "aws:lb/listenerRule:ListenerRule"
SENT = "ValueTheZoneSendsNow0123456789abcdefghijklmnopqr"


def deployed_after(stack: str, read_back: dict[str, tuple[dict, list[str]]], changes: dict | None = None) -> PreviewResult:
    """`stack` deployed (preview=False) with the shipped stacks it references, when the stacks it reads back exported
    `read_back` (none named: initialized, never deployed). Each distinct run once per test session, kept as run_stack's runs
    are (the same key as run_stack's for no read-back), so the tests that read the same deploy share it."""
    config = stack_config(stack, changes)
    references = {d: workspace.exported_for_reference(_shipped(d, False)) for d in workspace.load(stack, config).references}
    references.update(read_back)

    def run() -> PreviewResult:
        return workspace.preview_stack(stack, preview=False, config_override=config, reference_outputs=references)

    return cache.remember(ROOT, workspace.run_key(stack, config, False, references), run, where=kept_runs())


def _secret(outputs: dict) -> tuple[dict, list[str]]:
    return outputs, sorted(outputs)


def test_the_aws_origin_admits_what_the_gcp_stack_accepts_and_what_the_zone_sends():
    gcp = _shipped("gcp-dr", False)
    accepted = reveal(gcp.outputs["originAuthAccepted"])
    result = deployed_after("aws-dr", {"gcp-dr": workspace.exported_for_reference(gcp), "global": _secret({"originAuthHeader": SENT})})
    (rule,) = result.of_type(RULE)
    header = rule["conditions"][0]["httpHeader"]
    assert header["httpHeaderName"] == ORIGIN_AUTH_HEADER and isinstance(header["values"], Secret)
    assert reveal(header["values"]) == [*accepted, SENT]
    https = next(x for x in result.of_type("aws:lb/listener:Listener") if x["port"] == 443)
    assert https["defaultActions"][0]["fixedResponse"]["statusCode"] == "403"
    assert isinstance(result.outputs["originAuthAccepted"], Secret)


def test_an_aws_stack_deployed_before_the_others_forwards_until_they_are():
    result = deployed_after("aws-dr", {})  # gcp-dr and global initialized, never deployed
    https = next(x for x in result.of_type("aws:lb/listener:Listener") if x["port"] == 443)
    assert https["defaultActions"][0]["type"] == "forward"


def test_a_gcp_stack_deployed_before_it_exported_its_list_lends_its_current_value():
    result = deployed_after("aws-dr", {"gcp-dr": _secret({"originAuthHeader": SENT})})
    assert reveal(result.of_type(RULE)[0]["conditions"][0]["httpHeader"]["values"]) == [SENT]


def test_the_aws_stacks_outside_the_dr_pair_do_not_require_it(shipped):
    assert shipped("aws-production", preview=False).of_type(RULE) == []


def test_the_global_stack_sends_one_value_both_origins_admit(shipped):
    gcp, global_ = shipped("gcp-dr", preview=False), shipped("global", preview=False)
    aws = deployed_after("aws-dr", {"gcp-dr": workspace.exported_for_reference(gcp), "global": workspace.exported_for_reference(global_)})
    sent = reveal(global_.outputs["originAuthHeader"])
    assert sent in reveal(gcp.outputs["originAuthAccepted"])
    assert sent in reveal(aws.one(RULE)["conditions"][0]["httpHeader"]["values"])
    monitor = global_.one("cloudflare:index/loadBalancerMonitor:LoadBalancerMonitor")
    assert reveal(monitor["header"][ORIGIN_AUTH_HEADER]) == [sent]  # the AWS pool's health checks carry it too


NEW, OLD, OTHER = "new", "old", "other"


@pytest.mark.parametrize(
    ("aws_accepted", "sent"),
    [
        pytest.param(None, NEW, id="aws-requires-nothing-yet"),
        pytest.param([NEW, OLD], NEW, id="aws-deployed-after-gcp-rotated"),
    ],
)
def test_the_value_sent_is_the_gcp_stacks_newest_once_aws_admits_it(aws_accepted, sent):
    assert header_to_send(NEW, [NEW, OTHER, OLD], aws_accepted) == sent


def test_until_aws_admits_the_newest_value_one_both_still_admit_is_sent():
    assert header_to_send(NEW, [NEW, OLD], [OTHER, OLD]) == OLD


def test_a_global_deploy_that_one_origin_would_refuse_is_stopped():
    with pytest.raises(NoCommonOriginAuthValue, match="crm:rotation"):
        header_to_send(NEW, [NEW, OLD], [OTHER])


def test_the_values_are_never_plaintext_in_the_aws_stacks_inputs_or_outputs(shipped):
    from tests.components.gcp.test_origin_auth import _plain_occurrences

    gcp = shipped("gcp-dr", preview=False)
    result = deployed_after("aws-dr", {"gcp-dr": workspace.exported_for_reference(gcp), "global": _secret({"originAuthHeader": SENT})})
    values = [*reveal(gcp.outputs["originAuthAccepted"]), SENT]
    assert result.of_type(RULE)
    for value in values:
        assert [r.name for r in result.resources if _plain_occurrences(r.inputs, value)] == []
        assert _plain_occurrences(result.outputs, value) == 0


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-staging", "gcp-production"])
def test_only_the_dr_pairs_gcp_stack_reads_the_global_stack_back(shipped, stack):
    """The non-production deploy role may not read the production stacks' state (global's included), and the value
    global sends is the DR pair's secret: the GCP stacks outside the pair never read it."""
    references = [r.name for r in shipped(stack).of_type("pulumi:pulumi:StackReference")]
    assert references and not [name for name in references if name.startswith("global")]
    assert [r.name for r in shipped("gcp-dr").of_type("pulumi:pulumi:StackReference") if r.name.startswith("global")]
