"""What a stack reads of a component is declared by the component: annotated with its type, and registered
with `register_outputs` when it is an Output (so `pulumi stack export` and the engine see what callers use).

An AST walk over stacks/: each name bound to a component's constructor in a module, and each parameter
annotated with a component class, is followed to the attributes the module reads of it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pulumi

import stacks

STACKS = pathlib.Path(stacks.__file__).parent


def _component_classes(tree: ast.Module) -> dict[str, type]:
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("components"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                obj = getattr(module, alias.name, None)
                if inspect.isclass(obj) and issubclass(obj, pulumi.ComponentResource):
                    found[alias.asname or alias.name] = obj
    return found


def _bound_names(tree: ast.Module, classes: dict[str, type]) -> dict[str, set[type]]:
    bound: dict[str, set[type]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name):
            cls = classes.get(node.value.func.id)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if cls is not None and isinstance(target, ast.Name):
                    bound.setdefault(target.id, set()).add(cls)
        if isinstance(node, ast.arg) and node.annotation is not None:
            for name in ast.walk(node.annotation):
                if isinstance(name, ast.Name) and name.id in classes:
                    bound.setdefault(node.arg, set()).add(classes[name.id])
    return bound


def stack_reads() -> dict[tuple[type, str], set[str]]:
    """(component class, attribute) -> the stack modules that read it."""
    reads: dict[tuple[type, str], set[str]] = {}
    for path in sorted(STACKS.rglob("*.py")):
        if "config" in path.relative_to(STACKS).parts:
            continue
        tree = ast.parse(path.read_text())
        bound = _bound_names(tree, _component_classes(tree))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
                for cls in bound[node.value.id]:
                    reads.setdefault((cls, node.attr), set()).add(path.name)
    return reads


def annotation(cls: type, attr: str) -> object:
    for klass in cls.__mro__:
        if klass in (pulumi.ComponentResource, pulumi.Resource, object):
            break
        if attr in vars(klass).get("__annotations__", {}):
            return vars(klass)["__annotations__"][attr]
    return None


def registered(cls: type) -> set[str]:
    """The attributes a component hands to `register_outputs` (as `self.<attr>` values of its dict)."""
    names = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("pulumi", "builtins"):
            continue
        for node in ast.walk(ast.parse(inspect.getsource(klass).lstrip())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register_outputs":
                for value in ast.walk(node):
                    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
                        names.add(value.attr)
            # outputs = {...}; outputs["x"] = self.x; self.register_outputs(outputs)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
                (isinstance(t, ast.Name) and t.id == "outputs") or isinstance(t, ast.Subscript) for t in getattr(node, "targets", [])
            ):
                for value in ast.walk(node.value):
                    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "self":
                        names.add(value.attr)
    return names


def is_output(declared: object) -> bool:
    text = declared if isinstance(declared, str) else repr(declared)
    return "Output" in text


def problem(cls: type, attr: str) -> str | None:
    declared = annotation(cls, attr)
    if declared is None:
        return "not annotated"
    if is_output(declared) and attr not in registered(cls):
        return "not registered"
    return None


def gaps() -> list[str]:
    found = []
    for (cls, attr), modules in sorted(stack_reads().items(), key=lambda item: (item[0][0].__name__, item[0][1])):
        if inspect.isroutine(getattr(cls, attr, None)):
            continue  # a method the stack calls (PublicLoadBalancer.forward)
        issue = problem(cls, attr)
        if issue is not None:
            found.append(f"{cls.__name__}.{attr} (read in {', '.join(sorted(modules))}): {issue}")
    return found


def test_the_walk_finds_what_the_stacks_read():
    reads = stack_reads()
    assert len(reads) > 100
    assert {"PublicLoadBalancer", "EksCluster", "GkeCluster", "S3StateBackend", "GlobalLoadBalancer"} <= {c.__name__ for c, _ in reads}


def test_every_component_attribute_a_stack_reads_is_declared_and_registered():
    assert gaps() == []


def test_registered_outputs_reach_the_engine(run_component):
    """What the check reads from source is what the engine records: the ALB's metric dimensions, the state bucket."""
    from components.aws.alb import PublicLoadBalancer, PublicLoadBalancerArgs
    from components.bootstrap.state_backend import S3StateBackend, S3StateBackendArgs

    alb = run_component(
        lambda: PublicLoadBalancer(
            "web",
            PublicLoadBalancerArgs(
                vpc_id="vpc-1",
                vpc_cidr="10.30.0.0/16",
                subnet_ids=["pub-a"],
                certificate_arn="arn:aws:acm:cert",
                allowed_cidrs=["173.245.48.0/20"],
                target_security_group_id="sg-app",
                tags={},
            ),
        )
    )
    group = alb.one("aws:lb/targetGroup:TargetGroup")
    assert alb.one("crm:aws:PublicLoadBalancer").outputs["targetGroupArnSuffix"] == group.output("arnSuffix")
    state = run_component(
        lambda: S3StateBackend("state", S3StateBackendArgs(region="ap-northeast-2", tags={}, key_users=["arn:aws:iam::1:role/d"]))
    )
    outputs = state.one("crm:bootstrap:S3StateBackend").outputs
    assert outputs["logBucketArn"] == state.one("aws:s3/bucket:Bucket", "state-logs").output("arn")
    assert outputs["bucketName"] == state.one("aws:s3/bucket:Bucket", "state").output("bucket")


class _Sample(pulumi.ComponentResource):
    """Read as source only, never constructed."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    release: pulumi.CustomResource

    def __init__(self) -> None:
        super().__init__("test:index:Sample", "s")
        self.register_outputs({"address": self.address})


def test_an_output_read_but_not_registered_or_not_annotated_is_reported():
    assert problem(_Sample, "address") is None and problem(_Sample, "release") is None
    assert problem(_Sample, "port") == "not registered"
    assert problem(_Sample, "host") == "not annotated"
