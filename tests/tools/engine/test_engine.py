"""The mock-engine run itself: config, secrets, unknowns, protection and outputs as the real engine would see them."""

from __future__ import annotations

import gc

import pulumi
import pulumi_random as random
import pytest

from tests.helpers import is_secret, secret_value
from tools.engine import UNKNOWN, run_program
from tools.engine.engine import StackReferenceError


def test_secure_config_values_become_placeholder_secrets():
    def program():
        token = pulumi.Config("cloudflare").require_secret("apiToken")
        pulumi.export("token", token)

    result = run_program("global", {"cloudflare:apiToken": {"secure": "v1:AAAABBBB"}}, program, preview=False)
    assert is_secret(result.outputs["token"])
    assert secret_value(result.outputs["token"]).startswith("offline-secret-")
    assert "AAAABBBB" not in secret_value(result.outputs["token"])


def test_structured_config_reaches_the_program_as_json():
    def program():
        pulumi.export("cidr", pulumi.Config("crm").require_object("network")["cidr"])

    result = run_program("s", {"crm:network": {"cidr": "10.0.0.0/16"}}, program)
    assert result.outputs["cidr"] == "10.0.0.0/16"


def test_preview_leaves_provider_computed_values_unknown():
    def program():
        pulumi.export("result", random.RandomPet("pet").id)

    assert run_program("s", {}, program, preview=True).outputs["result"] is UNKNOWN
    assert run_program("s", {}, program, preview=False).outputs["result"] == "pet-id"


def test_protect_parent_and_dependencies_are_recorded():
    def program():
        first = random.RandomPet("first")
        random.RandomPet("second", prefix=first.id, opts=pulumi.ResourceOptions(protect=True))

    result = run_program("s", {}, program)
    second = result.one("random:index/randomPet:RandomPet", "second")
    assert second.protect and second.parent.endswith("pulumi:pulumi:Stack::crm-s")
    assert second.dependencies == [result.one("random:index/randomPet:RandomPet", "first").urn]
    assert second.property_dependencies["prefix"] == [result.one("random:index/randomPet:RandomPet", "first").urn]


def test_lifecycle_options_are_recorded_in_the_state_files_spelling():
    def program():
        random.RandomPet(
            "pet",
            prefix="a",
            opts=pulumi.ResourceOptions(
                ignore_changes=["prefix"], replace_on_changes=["length"], delete_before_replace=True, retain_on_delete=True
            ),
        )
        random.RandomPet("plain")

    result = run_program("s", {}, program)
    assert result.one("random:index/randomPet:RandomPet", "pet").options == {
        "ignoreChanges": ["prefix"],
        "replaceOnChanges": ["length"],
        "deleteBeforeReplace": True,
        "retainOnDelete": True,
    }
    assert result.one("random:index/randomPet:RandomPet", "plain").options == {}


def test_a_reference_to_a_stack_not_previewed_first_is_refused():
    def program():
        pulumi.StackReference("ref", stack_name="organization/crm/aws-nowhere")

    with pytest.raises(StackReferenceError, match="has not been previewed first"):
        run_program("gcp-dr", {}, program)


def test_a_read_back_of_a_stack_that_deploys_later_finds_it_never_deployed():
    def program():
        ref = pulumi.StackReference("global-readback", stack_name="organization/crm/global")
        pulumi.export("neverDeployed", ref.get_output("originAuthHeader").apply(lambda value: value is None))

    assert run_program("gcp-dr", {}, program, preview=False).outputs["neverDeployed"] is True


def test_runs_do_not_leak_into_each_other():
    run_program("first", {"crm:x": "1"}, lambda: random.RandomPet("only-in-first") and None)
    second = run_program("second", {}, lambda: pulumi.export("x", pulumi.Config("crm").get("x") or "unset"))
    assert second.resources == [] and second.outputs["x"] == "unset"


def test_each_test_gets_its_own_copy_of_a_shipped_preview(shipped):
    first = shipped("aws-dev")
    first.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] = "changed by a careless test"
    assert shipped("aws-dev").one("aws:ec2/vpc:Vpc")["cidrBlock"] == "10.10.0.0/16"


def test_what_the_provider_returned_is_recorded_beside_the_inputs():
    def program():
        random.RandomPet("pet", length=2)

    preview = run_program("s", {}, program, preview=True).one("random:index/randomPet:RandomPet")
    up = run_program("s", {}, program, preview=False).one("random:index/randomPet:RandomPet")
    assert preview.output("id") is UNKNOWN and up.output("id") == "pet-id"
    assert up.outputs["length"] == 2 and up.inputs["length"] == 2
    with pytest.raises(KeyError, match="no output 'arn'"):
        up.output("arn")


def test_a_component_records_its_registered_outputs():
    class Pair(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("test:index:Pair", name)
            pet = random.RandomPet(f"{name}-pet", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({"petId": pet.id})

    result = run_program("s", {}, lambda: Pair("p") and None, preview=False)
    assert result.one("test:index:Pair").outputs == {"petId": result.one("random:index/randomPet:RandomPet").output("id")}


def test_a_stack_references_secret_outputs_stay_secret_in_its_recorded_state():
    def program():
        pulumi.StackReference("ref", stack_name="organization/crm/aws-dr")

    outputs = {"aws-dr": ({"password": "from-upstream", "region": "ap-northeast-2"}, ["password"])}
    reference = run_program("gcp-dr", {}, program, preview=False, stack_outputs=outputs).one("pulumi:pulumi:StackReference")
    assert is_secret(reference.outputs["outputs"]["password"]) and reference.outputs["outputs"]["region"] == "ap-northeast-2"


def test_cloudflare_ranges_fake_is_the_recorded_published_list():
    import ipaddress

    from tools.engine.fakes import invoke

    answer = invoke("cloudflare:index/getIpRanges:getIpRanges", {})
    networks = [ipaddress.ip_network(c) for c in answer["ipv4Cidrs"]]
    assert networks and all(n.version == 4 and n.is_global and n.prefixlen >= 13 for n in networks)
    assert all(ipaddress.ip_network(c).version == 6 for c in answer["ipv6Cidrs"])


def _registered_sources() -> list[str]:
    """Where each registration of a one-resource program says it was declared."""
    from tools.engine import engine

    uris: list[str] = []

    class SourceRecordingMonitor(engine._RecordingMonitor):
        def RegisterResource(self, request):
            if request.type != "pulumi:pulumi:Stack":
                uris.append(request.sourcePosition.uri)
            return super().RegisterResource(request)

    run_program("s", {}, lambda: random.RandomPet("pet") and None, monitor=SourceRecordingMonitor(engine._Mocks(True, {}, "s")))
    assert uris, "the program registered nothing"
    return uris


def test_a_run_skips_the_sdks_source_positions_the_mock_monitor_drops():
    assert _registered_sources() == [""]


def test_source_positions_are_back_after_a_failed_run(monkeypatch):
    import contextlib

    from tools.engine import sdk_internals

    def failing() -> None:
        raise RuntimeError("the program failed")

    with pytest.raises(RuntimeError):
        run_program("s", {}, failing)
    # The SDK's own registration, as outside any run: it names this file again.
    monkeypatch.setattr(sdk_internals, "without_source_positions", contextlib.nullcontext)
    (uri,) = _registered_sources()
    assert uri.endswith("/tests/tools/engine/test_engine.py")


def _loops_made_during(monkeypatch, action) -> list:
    import asyncio

    made = []
    new_event_loop = asyncio.new_event_loop

    def recording():
        loop = new_event_loop()
        made.append(loop)
        return loop

    monkeypatch.setattr(asyncio, "new_event_loop", recording)
    action()
    return made


def test_every_event_loop_a_run_makes_is_closed_when_it_ends(monkeypatch):
    # The SDK's mock monitor answers on executor threads and gives each thread a loop of its own; one left open
    # is closed by the garbage collector at some later test, which then reports an "Invalid file descriptor".
    def program() -> None:
        random.RandomPet("pet")
        random.RandomPet("other")

    made = _loops_made_during(monkeypatch, lambda: run_program("s", {}, program))
    assert len(made) >= 2  # the run's own and at least one executor thread's
    assert [loop for loop in made if not loop.is_closed()] == []


def test_the_calling_threads_event_loop_is_its_loop_again_after_a_run():
    import asyncio

    before = asyncio.new_event_loop()  # as the SDK sets one when it awaits synchronously outside a run
    asyncio.set_event_loop(before)
    try:
        run_program("s", {}, lambda: random.RandomPet("pet") and None)
        assert asyncio.get_event_loop_policy().get_event_loop() is before
        assert not before.is_closed()
    finally:
        asyncio.set_event_loop(None)
        before.close()


@pytest.fixture
def default_collector():
    """The interpreter's own collector thresholds for one test (the suite runs with the commands' tuned ones)."""
    tuned = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*tuned)


def _collections_during(action) -> int:
    started: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(count)
    try:
        action()
    finally:
        gc.callbacks.remove(count)
    return len(started)


def _many_resources() -> None:
    for number in range(300):
        random.RandomPet(f"pet-{number}")


def test_a_run_under_the_tuned_collector_starts_a_handful_of_collections(default_collector):
    from tools.engine import tune_garbage_collector

    untuned = _collections_during(lambda: run_program("s", {}, _many_resources))
    tune_garbage_collector()
    tuned = _collections_during(lambda: run_program("s", {}, _many_resources))
    assert tuned <= 5 < untuned


@pytest.mark.parametrize("command", ["tools", "tools.docs", "tools.iam_scan"])
@pytest.mark.filterwarnings("ignore:.*found in sys.modules:RuntimeWarning")  # runpy, of a module the suite imported
def test_the_commands_run_with_the_tuned_collector(command, default_collector, monkeypatch):
    import runpy
    import sys

    from tools.engine.engine import COLLECTOR_THRESHOLDS

    monkeypatch.setattr(sys, "argv", [command, "--help"])
    with pytest.raises(SystemExit):
        runpy.run_module(command, run_name="__main__")
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS
