"""Which inputs of a Terraform resource force its replacement, read from the provider's Go source.

Two schema styles exist, with different semantics that the data keeps apart:

- SDKv2 (`schema.Resource`): `ForceNew: true` on an attribute replaces the resource when its value
  changes. On a block (`Elem: &schema.Resource{...}`) it replaces only when the number of blocks
  changes (one added or removed); a change inside a block replaces only through the inner
  attribute's own ForceNew. On a list, set or map of plain values it applies to the elements.
  `CustomizeDiff` may force replacement under a condition (`customdiff.ForceNewIf`,
  `ForceNewIfChange`, `d.ForceNew(...)`): recorded as conditional.
- Plugin Framework (`schema.Schema`): a `RequiresReplace()` plan modifier replaces on any change of
  that attribute or block, nested values included; `RequiresReplaceIf...` is conditional
  (`RequiresReplaceIfConfigured` replaces when a configured value changes, which is how an input
  changes, so it counts as unconditional).

Each attribute comes out as `Attribute(kind, optional_computed, conditional, children)` keyed by
its Terraform name.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .golang import FuncValue, Module, Opaque, Struct, walk_values

ATTRIBUTE = "attr"  # replaces when this value changes (plain values, and lists/sets/maps of them)
BLOCK = "block"  # SDKv2 block: replaces when blocks are added or removed
WHOLE = "whole"  # replaces on any change at or below this path (Plugin Framework RequiresReplace)


@dataclass
class Attribute:
    force_new: str | None = None
    optional_computed: bool = False
    conditional: str | None = None
    is_input: bool = True
    children: dict[str, Attribute] | None = None


@dataclass
class ResourceSchema:
    type: str
    source: str  # the file the resource is declared in
    attributes: dict[str, Attribute] = field(default_factory=dict)
    conditional: dict[str, str] = field(default_factory=dict)  # Terraform path -> the CustomizeDiff function
    on_decrease: set[str] = field(default_factory=set)  # Terraform paths whose condition is "the new value is smaller"
    notes: list[str] = field(default_factory=list)


class SourceTree:
    """A provider's source at one revision: a checked-out directory or a bare git directory + revision."""

    def __init__(self, location: str, overlay: Path | None = None):
        path, _, revision = location.partition("@")
        self.root = Path(path)
        self.revision = revision
        self.is_git = bool(revision)
        self._listing: dict[str, list[str]] | None = None
        if self.is_git:
            self.commit = self._git("rev-parse", f"{revision}^{{commit}}").strip()
        # Files read from a newer revision of the same repository than the tree (a resource the tree's
        # release predates): OVERLAY/<path>, with OVERLAY/REVISIONS listing "<path> <commit>" per file.
        self.overlay = overlay
        self.overlay_revisions: dict[str, str] = {}
        if overlay is not None:
            for line in (overlay / "REVISIONS").read_text().splitlines():
                if line.strip():
                    name, commit = line.split()
                    self.overlay_revisions[name] = commit

    def revision_of(self, path: str) -> str:
        return self.overlay_revisions.get(path, self.commit if self.is_git else "")

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "--git-dir", str(self.root), *args], capture_output=True, text=True, check=True).stdout

    def files(self) -> dict[str, list[str]]:
        """directory -> its .go files"""
        if self._listing is None:
            if self.is_git:
                names = self._git("ls-tree", "-r", "--name-only", self.commit).splitlines()
            else:
                names = [str(p.relative_to(self.root)) for p in self.root.rglob("*.go")]
            listing: dict[str, list[str]] = {}
            for name in names:
                if name.endswith(".go") and not name.endswith("_test.go"):
                    directory, _, _ = name.rpartition("/")
                    listing.setdefault(directory, []).append(name)
            for name in self.overlay_revisions:
                directory, _, _ = name.rpartition("/")
                if name not in listing.setdefault(directory, []):
                    listing[directory].append(name)
            self._listing = listing
        return self._listing

    def read(self, path: str) -> str:
        if path in self.overlay_revisions and self.overlay is not None:
            return (self.overlay / path).read_text()
        if self.is_git:
            return self._git("show", f"{self.commit}:{path}")
        return (self.root / path).read_text()

    def read_many(self, paths: list[str]) -> dict[str, str]:
        overlaid = {p: self.read(p) for p in paths if p in self.overlay_revisions}
        paths = [p for p in paths if p not in overlaid]
        if not self.is_git or not paths:
            return {**{p: self.read(p) for p in paths}, **overlaid}
        request = "".join(f"{self.commit}:{p}\n" for p in paths)
        out = subprocess.run(
            ["git", "--git-dir", str(self.root), "cat-file", "--batch"], input=request.encode(), capture_output=True, check=True
        ).stdout
        result, position = {}, 0
        for path in paths:
            header_end = out.index(b"\n", position)
            header = out[position:header_end].split()
            size = int(header[2])
            result[path] = out[header_end + 1 : header_end + 1 + size].decode("utf-8", "replace")
            position = header_end + 1 + size + 1
        return {**result, **overlaid}

    def read_dir(self, directory: str) -> dict[str, str]:
        return self.read_many(self.files().get(directory, []))

    def grep(self, pattern: str, under: str) -> list[tuple[str, str]]:
        """(path, line) of every line matching a fixed string under a directory."""
        overlaid = [
            (path, line)
            for path in self.overlay_revisions
            if path.startswith(under + "/")
            for line in self.read(path).splitlines()
            if pattern in line
        ]
        return overlaid + self._grep(pattern, under)

    def _grep(self, pattern: str, under: str) -> list[tuple[str, str]]:
        if self.is_git:
            completed = subprocess.run(
                ["git", "--git-dir", str(self.root), "grep", "-F", "-e", pattern, self.commit, "--", f"{under}/*.go"],
                capture_output=True,
                text=True,
            )
            hits = []
            for line in completed.stdout.splitlines():
                _rev, path, text = line.split(":", 2)
                hits.append((path, text))
            return hits
        hits = []
        for path in (self.root / under).rglob("*.go"):
            for text in path.read_text().splitlines():
                if pattern in text:
                    hits.append((str(path.relative_to(self.root)), text))
        return hits


def _merge_schemas(*maps: Any) -> dict:
    merged: dict = {}
    for item in maps:
        if isinstance(item, dict):
            merged.update(item)
    return merged


def _maps_copy(destination: Any, source: Any) -> None:
    if isinstance(destination, dict) and isinstance(source, dict):
        destination.update(source)


class Provider:
    def __init__(self, tree: SourceTree, module_path: str):
        self.tree = tree
        self.module = Module(module_path, tree.read_dir)
        self.module.special.update(
            {
                "tpgresource.MergeSchemas": _merge_schemas,
                "maps.Copy": _maps_copy,
            }
        )

    # -- SDKv2
    def sdk_resource(self, directory: str, function: str, tf_type: str, args: list[Any] | None = None) -> ResourceSchema:
        package = self.module.package(directory)
        found = package.functions.get(function)
        if found is None:
            raise LookupError(f"{tf_type}: no function {function} in {directory}")
        value = self.module.call(FuncValue(found, found.params, found.tokens, found.body, package, {}, found.file), args or [])
        if isinstance(value, list):
            value = value[0]
        if not isinstance(value, Struct):
            raise LookupError(f"{tf_type}: {function} did not evaluate to a schema.Resource ({value!r})")
        result = ResourceSchema(tf_type, found.file)
        result.attributes = self._sdk_attributes(_sdk_schema_map(self.module, value))
        result.conditional, result.on_decrease = self._customize_diff(value.get("CustomizeDiff"), package)
        return result

    def _sdk_attributes(self, schema_map: Any) -> dict[str, Attribute]:
        attributes: dict[str, Attribute] = {}
        if not isinstance(schema_map, dict):
            return attributes
        for name, declared in schema_map.items():
            value = self.module.call(declared, []) if isinstance(declared, FuncValue) else declared
            if not isinstance(value, Struct):
                continue
            required = value.get("Required") is True
            optional = value.get("Optional") is True
            computed = value.get("Computed") is True
            attribute = Attribute(
                optional_computed=optional and computed,
                is_input=required or optional,
            )
            elem = value.get("Elem")
            if isinstance(elem, FuncValue):
                elem = self.module.call(elem, [])
            nested = _sdk_schema_map(self.module, elem) if isinstance(elem, Struct) and _is_resource(elem) else None
            if value.get("ForceNew") is True:
                attribute.force_new = BLOCK if nested is not None else ATTRIBUTE
            if nested is not None:
                attribute.children = self._sdk_attributes(nested)
            attributes[str(name)] = attribute
        return attributes

    def _customize_diff(self, value: Any, package: Any) -> tuple[dict[str, str], set[str]]:
        """`customdiff.ForceNewIf*("path", ...)` calls, and `d.ForceNew("path")` in the functions CustomizeDiff
        names; with the paths whose condition compares the old and new values (a shrink or a downgrade)."""
        found: dict[str, str] = {}
        decrease: set[str] = set()
        seen: set[int] = set()
        for item in walk_values(value):
            if isinstance(item, Opaque):
                kind = re.search(r"customdiff\.(ForceNewIf\w*)\(\)$", item.text)
                if kind and item.args and isinstance(item.args[0], str):
                    found[item.args[0]] = f"customdiff.{kind.group(1)}"
                    condition = item.args[1] if len(item.args) > 1 else None
                    if isinstance(condition, FuncValue) and _compares_old_and_new(condition):
                        decrease.add(item.args[0])
            elif isinstance(item, FuncValue) and id(item.function or item) not in seen:
                seen.add(id(item.function or item))
                body = _body(item)
                label = item.function.name if item.function else "a CustomizeDiff function"
                paths = re.findall(r'\.\s*ForceNew\s*\(\s*"([^"]+)"', body)
                # d.ForceNew(key) with `key := "settings.0.disk_size"` earlier in the same function
                names = dict(re.findall(r'\b(\w+)\s*:?=\s*"([^"]+)"', body))
                paths += [names[v] for v in re.findall(r"\.\s*ForceNew\s*\(\s*(\w+)\s*\)", body) if v in names]
                for path in paths:
                    found[path] = label
                    if _compares_old_and_new(item):
                        decrease.add(path)
        return found, decrease

    # -- Plugin Framework
    def framework_resource(self, directory: str, type_name: str, tf_type: str) -> ResourceSchema:
        package = self.module.package(directory)
        method = None
        for candidate in [type_name, *_embedded(package, type_name)]:
            method = package.methods.get((candidate, "Schema"))
            if method is not None:
                break
        if method is None:
            raise LookupError(f"{tf_type}: no Schema method on {type_name} in {directory}")
        env_local: dict[str, Any] = {}
        from .golang import Env

        env = Env(self.module, package, method.file, method.tokens, env_local)
        self.module.run_body(method.tokens, method.body, env)
        assigned = env_local.get("__fields__", {})
        schema_value = next((v for (base, name), v in assigned.items() if name == "Schema"), None)
        if not isinstance(schema_value, Struct):
            raise LookupError(f"{tf_type}: the Schema method of {type_name} assigns no schema.Schema ({schema_value!r})")
        result = ResourceSchema(tf_type, method.file)
        result.attributes = self._framework_attributes(schema_value.get("Attributes"), schema_value.get("Blocks"))
        return result

    def _framework_attributes(self, attributes: Any, blocks: Any) -> dict[str, Attribute]:
        out: dict[str, Attribute] = {}
        for collection, is_block in ((attributes, False), (blocks, True)):
            if not isinstance(collection, dict):
                continue
            for name, declared in collection.items():
                value = self.module.call(declared, []) if isinstance(declared, FuncValue) else declared
                if not isinstance(value, Struct):
                    continue
                required = value.get("Required") is True
                optional = value.get("Optional") is True
                computed = value.get("Computed") is True
                attribute = Attribute(optional_computed=optional and computed, is_input=is_block or required or optional)
                replace = _requires_replace(value.get("PlanModifiers"))
                if replace == "always":
                    attribute.force_new = WHOLE
                elif replace:
                    attribute.conditional = replace
                nested_object = value.get("NestedObject")
                inner = nested_object if isinstance(nested_object, Struct) else value
                if "Attributes" in inner.fields or "Blocks" in inner.fields:
                    attribute.children = self._framework_attributes(inner.get("Attributes"), inner.get("Blocks"))
                    if attribute.children and not is_block and not (required or optional):
                        attribute.is_input = False
                out[str(name)] = attribute
        return out


def _body(function: FuncValue) -> str:
    return " ".join(t.text for t in function.tokens[function.body[0] : function.body[1]])


def _compares_old_and_new(function: FuncValue) -> bool:
    """A condition that orders the old and new values (`new.(int) < old.(int)`, `isRedisVersionDecreasing`):
    the provider replaces when the value goes down, never when it goes up."""
    name = function.function.name if function.function else ""
    body = _body(function)
    if re.search(r"decreas|shrink|downgrad", name, re.I) or re.search(r"LessThan|Shrink|Decreas", body):
        return True
    return bool(re.search(r"\b(old|new)\w*\b[^;{}]*?[<>]=?[^;{}]*?\b(new|old)\w*\b", body))


def _requires_replace(modifiers: Any) -> str | None:
    if not isinstance(modifiers, list):
        return None
    result = None
    for modifier in modifiers:
        text = modifier.text if isinstance(modifier, Opaque) else repr(modifier)
        # RequiresReplaceIfConfigured: when a configured value changes; IfValuesNotNull (terraform-provider-random's
        # keepers): when a value that is set changes. Inputs are configured values, so both replace on any change.
        if re.search(r"RequiresReplace(IfConfigured|IfValuesNotNull)?\(\)$", text):
            return "always"
        if "RequiresReplace" in text:
            result = text
    return result


def _is_resource(value: Struct) -> bool:
    return value.type == "Resource" or "Schema" in value.fields or "SchemaFunc" in value.fields


def _sdk_schema_map(module: Module, resource: Any) -> Any:
    if not isinstance(resource, Struct):
        return None
    schema_map = resource.get("Schema")
    if schema_map is None and isinstance(resource.get("SchemaFunc"), FuncValue):
        schema_map = module.call(resource.get("SchemaFunc"), [])
    if isinstance(schema_map, FuncValue):
        schema_map = module.call(schema_map, [])
    return schema_map if isinstance(schema_map, dict) else None


def _embedded(package: Any, type_name: str) -> list[str]:
    seen, queue = [], list(package.structs.get(type_name, []))
    while queue:
        name = queue.pop(0)
        if name not in seen:
            seen.append(name)
            queue.extend(package.structs.get(name, []))
    return seen


# ---------------------------------------------------------------------------------------------------
# Where each provider declares a resource type


class AwsProvider(Provider):
    """hashicorp/terraform-provider-aws: `// @SDKResource("aws_x", ...)` above the constructor of an SDKv2
    resource; a Plugin Framework resource sets `TypeName = "aws_x"` in its Metadata method (newer
    releases annotate it `@FrameworkResource("aws_x", ...)` as well)."""

    MODULE = "github.com/hashicorp/terraform-provider-aws"

    def __init__(self, tree: SourceTree):
        super().__init__(tree, self.MODULE)
        self._sdk: dict[str, tuple[str, str]] = {}
        self._framework: dict[str, tuple[str, str]] = {}
        for path, line in tree.grep("@SDKResource(", "internal/service"):
            found = re.search(r'@SDKResource\("(\w+)"', line)
            if found:
                self._sdk[found.group(1)] = (path, "")
        for path, line in tree.grep("@FrameworkResource(", "internal/service"):
            found = re.search(r'@FrameworkResource\("(\w+)"', line)
            if found:
                self._framework.setdefault(found.group(1), (path, ""))
        for path, line in tree.grep('TypeName = "aws_', "internal/service"):
            found = re.search(r'TypeName = "(aws_\w+)"', line)
            if found:
                self._framework[found.group(1)] = (path, "")

    def resource(self, tf_type: str) -> ResourceSchema:
        if tf_type in self._sdk:
            path = self._sdk[tf_type][0]
            text = self.tree.read(path)
            at = text.index(f'@SDKResource("{tf_type}"')
            function = re.compile(r"^func (\w+)\(", re.M).search(text, at)
            if function is None:
                raise LookupError(f"{tf_type}: no constructor after its annotation in {path}")
            return self.sdk_resource(path.rpartition("/")[0], function.group(1), tf_type)
        if tf_type in self._framework:
            path = self._framework[tf_type][0]
            text = self.tree.read(path)
            receiver = re.search(
                r"func \(\w*\s*\*?(\w+)\) Metadata\([^)]*resource\.MetadataRequest[^)]*\)[^{]*\{[^}]*TypeName = \"" + tf_type + '"', text
            )
            if receiver is None:
                constructor = re.compile(r"^func \w+\([^)]*\)[^{]*\{\s*\w+ := &(\w+)\{", re.M).search(text, text.index(tf_type))
                if constructor is None:
                    raise LookupError(f"{tf_type}: cannot find its resource type in {path}")
                type_name = constructor.group(1)
            else:
                type_name = receiver.group(1)
            return self.framework_resource(path.rpartition("/")[0], type_name, tf_type)
        raise LookupError(f"{tf_type}: not declared in this source tree")


class GoogleProvider(Provider):
    """hashicorp/terraform-provider-google(-beta): each resource registers itself in an init() with
    `registry.Schema{Name: "google_x", Type: registry.SchemaTypeResource, Schema: ResourceX()}`."""

    def __init__(
        self, tree: SourceTree, module_path: str = "github.com/hashicorp/terraform-provider-google-beta", root: str = "google-beta"
    ):
        super().__init__(tree, module_path)
        self.root = root
        self._files: dict[str, list[str]] = {}
        for path, line in tree.grep("Name:", f"{root}/services"):
            found = re.search(r'Name:\s+"(google_\w+)"', line)
            if found and path not in self._files.setdefault(found.group(1), []):
                self._files[found.group(1)].append(path)

    def resource(self, tf_type: str) -> ResourceSchema:
        paths = self._files.get(tf_type)
        if not paths:
            raise LookupError(f"{tf_type}: not registered in this source tree")
        for path in paths:
            found = self._registered(tf_type, path)
            if found is not None:
                return found
        raise LookupError(f"{tf_type}: no resource registration found in {', '.join(paths)}")

    def _registered(self, tf_type: str, path: str) -> ResourceSchema | None:
        from .golang import Env, Parser, _statements

        directory = path.rpartition("/")[0]
        package = self.module.package(directory)
        for init in (i for i in package.inits if i.file == path):
            env = Env(self.module, package, init.file, init.tokens, {})
            for start, end in _statements(init.tokens, init.body):
                node = Parser(init.tokens, start, end).parse_expr()
                if node[0] == "call" and node[1][0] == "sel" and node[1][2] == "Register" and node[1][1][0] == "composite":
                    elements = {key[1]: value for key, value in node[1][1][2] if key is not None and key[0] == "name"}
                    kind = elements.get("Type")
                    is_resource = kind is not None and kind[0] == "sel" and kind[2] in ("SchemaTypeResource", "SchemaTypeIAMResource")
                    if not is_resource or self.module.evaluate(elements.get("Name", ("lit", "")), env) != tf_type:
                        continue
                    entry = self.module.evaluate(node[1][1], env)
                    if isinstance(entry, Struct):
                        value = entry.get("Schema")
                        if not isinstance(value, Struct):
                            raise LookupError(f"{tf_type}: its registered schema did not evaluate ({value!r})")
                        result = ResourceSchema(tf_type, path)
                        result.attributes = self._sdk_attributes(_sdk_schema_map(self.module, value))
                        result.conditional, result.on_decrease = self._customize_diff(value.get("CustomizeDiff"), package)
                        return result
        return None


class FrameworkProvider(Provider):
    """A provider written on the Plugin Framework only (cloudflare/terraform-provider-cloudflare v5,
    hashicorp/terraform-provider-random): `resp.TypeName = req.ProviderTypeName + "_x"` in a Metadata method."""

    def __init__(self, tree: SourceTree, module_path: str, prefix: str, under: str):
        super().__init__(tree, module_path)
        self.prefix = prefix
        self._types: dict[str, tuple[str, str]] = {}
        for path, line in tree.grep("TypeName", under):
            found = re.search(r'ProviderTypeName\s*\+\s*"(_\w+)"', line)
            if found:
                self._types.setdefault(prefix + found.group(1), (path, ""))

    def resource(self, tf_type: str) -> ResourceSchema:
        if tf_type not in self._types:
            raise LookupError(f"{tf_type}: not declared in this source tree")
        path = self._types[tf_type][0]
        directory = path.rpartition("/")[0]
        text = "\n".join(self.module.package(directory).files.values())
        suffix = tf_type[len(self.prefix) :]
        receiver = re.search(
            r"func \(\w*\s*\*?(\w+)\) Metadata\([^)]*resource\.MetadataRequest[^)]*\)[^{]*\{[^}]*\"" + re.escape(suffix) + '"', text
        )
        if receiver is None:
            raise LookupError(f"{tf_type}: no Metadata method names it in {directory}")
        return self.framework_resource(directory, receiver.group(1), tf_type)
