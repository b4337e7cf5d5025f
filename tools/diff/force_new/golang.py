"""Just enough Go to read a provider's schema declarations: a tokenizer, an expression parser and an
evaluator for the constant parts of a package (composite literals, constants, functions that return one).

Terraform providers declare their schemas as Go literals (`map[string]*schema.Schema{...}`,
`schema.StringAttribute{PlanModifiers: ...}`), often through helper functions and constants in other
packages of the same module. This module reads them from the source without a Go toolchain:
anything it cannot evaluate (a call into a library, a loop) becomes an `Opaque` value that names
what it was, so the caller can still recognise `stringplanmodifier.RequiresReplace()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------------------------------
# Tokens

_TOKEN = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f]+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:\\.|[^"\\\n])*")
  | (?P<rune>'(?:\\.|[^'\\\n])+')
  | (?P<num>0[xXbBoO][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?i?)
  | (?P<ident>[^\W\d]\w*)
  | (?P<op><<=|>>=|&\^=|\.\.\.|&&|\|\||<-|\+\+|--|==|!=|<=|>=|:=|\+=|-=|\*=|/=|%=|&=|\|=|\^=|<<|>>|&\^|[-+*/%&|^<>=!()\[\]{},;.:~])
    """,
    re.VERBOSE | re.DOTALL,
)
_ENDS_STATEMENT = {"ident", "str", "rune", "num"}  # identifiers include the keywords that end a statement
_CLOSERS = {")", "]", "}", "++", "--"}


@dataclass(frozen=True)
class Token:
    kind: str  # ident, str, num, rune, op, ";"
    text: str


def tokenize(source: str) -> list[Token]:
    """Go tokens with the automatic semicolons the language inserts at line ends."""
    tokens: list[Token] = []
    position = 0

    def newline() -> None:
        if tokens:
            last = tokens[-1]
            if last.kind in _ENDS_STATEMENT or (last.kind == "op" and last.text in _CLOSERS):
                tokens.append(Token(";", ";"))

    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:  # a character Go would reject; skip it rather than fail a whole file
            position += 1
            continue
        kind = match.lastgroup or ""
        text = match.group()
        position = match.end()
        if kind == "nl":
            newline()
        elif kind == "comment":
            if "\n" in text:
                newline()
        elif kind == "ws":
            continue
        elif kind == "raw":
            tokens.append(Token("str", text))
        elif kind == "op" and text == ";":
            tokens.append(Token(";", ";"))
        else:
            tokens.append(Token(kind, text))
    newline()
    return tokens


# ---------------------------------------------------------------------------------------------------
# Syntax: only what schema declarations use. Nodes are tuples: (kind, ...).


class ParseError(Exception):
    pass


_BINARY = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "|": 4,
    "^": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "<<": 5,
    ">>": 5,
    "&": 5,
    "&^": 5,
}


class Parser:
    def __init__(self, tokens: list[Token], start: int = 0, end: int | None = None):
        self.tokens = tokens
        self.i = start
        self.end = len(tokens) if end is None else end
        self.no_literal = 0  # > 0 inside `if`/`for`/`switch` headers, where `x {` opens a block

    # -- helpers
    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < self.end else None

    def at(self, text: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.text == text and token.kind in ("op", ";", "ident")

    def take(self, text: str | None = None) -> Token:
        token = self.peek()
        if token is None:
            raise ParseError("unexpected end of input")
        if text is not None and token.text != text:
            raise ParseError(f"expected {text!r}, got {token.text!r}")
        self.i += 1
        return token

    def skip_balanced(self) -> None:
        """Skips one bracketed group starting at the current token."""
        pairs = {"(": ")", "[": "]", "{": "}"}
        opener = self.take().text
        depth = [pairs[opener]]
        while depth:
            token = self.take()
            if token.kind == "op" and token.text in pairs:
                depth.append(pairs[token.text])
            elif token.kind == "op" and token.text == depth[-1]:
                depth.pop()

    # -- types
    def parse_type(self) -> Any:
        token = self.peek()
        if token is None:
            raise ParseError("expected a type")
        if token.text == "*":
            self.take()
            return ("ptr", self.parse_type())
        if token.text == "[":
            self.take()
            if self.at("]"):
                self.take()
                return ("slice", self.parse_type())
            if self.at("..."):
                self.take()
            else:
                self.parse_expr()
            self.take("]")
            return ("array", self.parse_type())
        if token.text == "map":
            self.take()
            self.take("[")
            key = self.parse_type()
            self.take("]")
            return ("map", key, self.parse_type())
        if token.text in ("interface", "struct"):
            self.take()
            if self.at("{"):
                self.skip_balanced()
            return ("name", token.text)
        if token.text == "func":
            self.take()
            self.skip_balanced()  # parameters
            self._skip_result()
            return ("name", "func")
        if token.text == "chan":
            self.take()
            return ("chan", self.parse_type())
        if token.text == "(":
            self.take()
            inner = self.parse_type()
            self.take(")")
            return inner
        if token.kind == "ident":
            self.take()
            name: Any = ("name", token.text)
            if self.at("."):
                self.take()
                name = ("sel", name, self.take().text)
            if self.at("["):  # generic instantiation
                self.skip_balanced()
            return name
        raise ParseError(f"unexpected {token.text!r} in a type")

    def _skip_result(self) -> None:
        if self.at("("):
            self.skip_balanced()
        elif self.peek() is not None and not self.at("{") and not self.at(";") and not self.at(",") and not self.at(")"):
            self.parse_type()

    # -- expressions
    def parse_expr(self, precedence: int = 1) -> Any:
        left = self.parse_unary()
        while True:
            token = self.peek()
            if token is None or token.kind != "op" or token.text not in _BINARY or _BINARY[token.text] < precedence:
                return left
            self.take()
            right = self.parse_expr(_BINARY[token.text] + 1)
            left = ("binary", token.text, left, right)

    def parse_unary(self) -> Any:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ("&", "-", "+", "!", "^", "*", "<-"):
            self.take()
            return ("unary", token.text, self.parse_unary())
        return self.parse_postfix(self.parse_primary())

    def parse_primary(self) -> Any:
        token = self.peek()
        if token is None:
            raise ParseError("unexpected end of input")
        if token.kind == "str":
            self.take()
            return ("lit", _string(token.text))
        if token.kind == "num":
            self.take()
            return ("lit", _number(token.text))
        if token.kind == "rune":
            self.take()
            return ("lit", token.text)
        if token.text == "(":
            self.take()
            self.no_literal, saved = 0, self.no_literal
            inner = self.parse_expr()
            self.no_literal = saved
            self.take(")")
            return ("paren", inner)
        if token.text == "func":
            self.take()
            params = self._parameters()
            self._skip_result()
            if self.at("{"):
                start = self.i
                self.skip_balanced()
                return ("funclit", params, (start + 1, self.i - 1))
            return ("name", "func")
        if token.text in ("[", "map", "struct", "interface", "*", "chan"):
            typ = self.parse_type()
            if self.at("{"):
                return self.parse_composite(typ)
            return ("type", typ)
        if token.text == "{":  # an element whose type is elided
            return self.parse_composite(None)
        if token.kind == "ident":
            self.take()
            return ("name", token.text)
        raise ParseError(f"unexpected {token.text!r}")

    def _parameters(self) -> list[str]:
        """Parameter names of a signature (types skipped)."""
        self.take("(")
        names: list[str] = []
        depth = 1
        expecting_name = True
        while depth:
            token = self.take()
            if token.kind == "op" and token.text in "([{":
                depth += 1
            elif token.kind == "op" and token.text in ")]}":
                depth -= 1
            elif depth == 1 and token.text == ",":
                expecting_name = True
            elif depth == 1 and expecting_name and token.kind == "ident":
                names.append(token.text)
                expecting_name = False
        return names

    def parse_postfix(self, node: Any) -> Any:
        while True:
            token = self.peek()
            if token is None:
                return node
            if token.text == ".":
                self.take()
                if self.at("("):  # type assertion
                    self.take("(")
                    if self.at("type"):
                        self.take()
                    else:
                        self.parse_type()
                    self.take(")")
                    node = ("assert", node)
                else:
                    node = ("sel", node, self.take().text)
            elif token.text == "(":
                self.take()
                args = []
                self.no_literal, saved = 0, self.no_literal
                while not self.at(")"):
                    if self.at("..."):
                        self.take()
                        continue
                    args.append(self.parse_expr())
                    if self.at("..."):
                        self.take()
                    if self.at(","):
                        self.take()
                self.no_literal = saved
                self.take(")")
                node = ("call", node, args)
            elif token.text == "[":
                self.take()
                self.no_literal, saved = 0, self.no_literal
                parts = []
                while not self.at("]"):
                    if self.at(":"):
                        self.take()
                        continue
                    parts.append(self.parse_expr())
                    if self.at(","):
                        self.take()
                self.no_literal = saved
                self.take("]")
                node = ("index", node, parts)
            elif token.text == "{" and not self.no_literal and _is_type_like(node):
                node = self.parse_composite(node)
            else:
                return node

    def parse_composite(self, typ: Any) -> Any:
        self.take("{")
        self.no_literal, saved = 0, self.no_literal
        elements: list[tuple[Any, Any]] = []
        while not self.at("}"):
            if self.at(";"):
                self.take()
                continue
            first = self.parse_expr()
            if self.at(":"):
                self.take()
                elements.append((first, self.parse_expr()))
            else:
                elements.append((None, first))
            if self.at(","):
                self.take()
            while self.at(";"):
                self.take()
        self.take("}")
        self.no_literal = saved
        return ("composite", typ, elements)


def _is_type_like(node: Any) -> bool:
    kind = node[0]
    if kind == "name":
        return True
    if kind == "sel":
        return _is_type_like(node[1]) and node[1][0] in ("name", "sel")
    if kind == "index":  # generic type instantiation: T[X]{...}
        return _is_type_like(node[1])
    return kind == "type"


def _string(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    body = text[1:-1]
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _number(text: str) -> Any:
    cleaned = text.replace("_", "")
    try:
        return int(cleaned, 0)
    except ValueError:
        try:
            return float(cleaned.rstrip("i"))
        except ValueError:
            return cleaned


# ---------------------------------------------------------------------------------------------------
# Declarations of one package


@dataclass
class Function:
    name: str
    receiver: str  # the receiver's type name for methods, "" for functions
    params: list[str]
    tokens: list[Token]
    body: tuple[int, int]  # token range of the body, braces excluded
    file: str
    package: Package


@dataclass
class Package:
    directory: str
    name: str = ""
    files: dict[str, str] = field(default_factory=dict)  # path -> text
    functions: dict[str, Function] = field(default_factory=dict)
    methods: dict[tuple[str, str], Function] = field(default_factory=dict)  # (type, name)
    values: dict[str, tuple[list[Token], int, int, str]] = field(default_factory=dict)  # var/const name -> expression range
    imports: dict[str, dict[str, str]] = field(default_factory=dict)  # file -> alias -> import path
    structs: dict[str, list[str]] = field(default_factory=dict)  # type name -> embedded type names
    inits: list[Function] = field(default_factory=list)  # every file's init()
    named: dict[str, str] = field(default_factory=dict)  # named map and slice types -> "map" | "slice"
    evaluated: dict[str, Any] = field(default_factory=dict)  # package-level values already evaluated


def parse_package(directory: str, files: dict[str, str]) -> Package:
    package = Package(directory=directory, files=dict(files))
    for path, text in files.items():
        if path.endswith("_test.go"):
            continue
        tokens = tokenize(text)
        _declarations(package, path, tokens)
    return package


def _declarations(package: Package, path: str, tokens: list[Token]) -> None:
    parser = Parser(tokens)
    imports: dict[str, str] = {}
    package.imports[path] = imports
    while parser.peek() is not None:
        token = parser.peek()
        assert token is not None
        try:
            if token.text == "package":
                parser.take()
                package.name = parser.take().text
            elif token.text == "import":
                parser.take()
                if parser.at("("):
                    parser.take()
                    while not parser.at(")"):
                        _import(parser, imports)
                    parser.take()
                else:
                    _import(parser, imports)
            elif token.text == "func":
                _function(package, path, parser)
            elif token.text in ("var", "const"):
                parser.take()
                if parser.at("("):
                    parser.take()
                    iota_type = None
                    while not parser.at(")"):
                        if parser.at(";"):
                            parser.take()
                            continue
                        iota_type = _value_spec(package, path, parser, iota_type)
                    parser.take()
                else:
                    _value_spec(package, path, parser, None)
            elif token.text == "type":
                parser.take()
                if parser.at("("):
                    parser.take()
                    while not parser.at(")"):
                        if parser.at(";"):
                            parser.take()
                            continue
                        _type_spec(package, parser)
                    parser.take()
                else:
                    _type_spec(package, parser)
            else:
                parser.take()
        except ParseError:
            _skip_to_top_level(parser)


def _skip_to_top_level(parser: Parser) -> None:
    """After a construct the parser does not know, resume at the next top-level keyword."""
    depth = 0
    while parser.peek() is not None:
        token = parser.peek()
        assert token is not None
        if token.kind == "op" and token.text in "([{":
            depth += 1
        elif token.kind == "op" and token.text in ")]}":
            depth = max(depth - 1, 0)
        elif depth == 0 and token.kind == "ident" and token.text in ("func", "var", "const", "type") and parser.i > 0:
            previous = parser.tokens[parser.i - 1]
            if previous.kind == ";":
                return
        parser.take()


def _import(parser: Parser, imports: dict[str, str]) -> None:
    if parser.at(";"):
        parser.take()
        return
    alias = None
    token = parser.take()
    if token.kind in ("ident", "op"):
        alias = token.text
        token = parser.take()
    path = _string(token.text)
    imports[alias or path.rsplit("/", 1)[-1]] = path
    if parser.at(";"):
        parser.take()


def _function(package: Package, path: str, parser: Parser) -> None:
    parser.take("func")
    receiver = ""
    if parser.at("("):
        start = parser.i
        parser.skip_balanced()
        inner = [t.text for t in parser.tokens[start + 1 : parser.i - 1] if t.kind == "ident"]
        receiver = inner[-1] if inner else ""
    name = parser.take().text
    if parser.at("["):  # type parameters
        parser.skip_balanced()
    params = parser._parameters()
    parser._skip_result()
    if not parser.at("{"):
        return
    start = parser.i
    parser.skip_balanced()
    function = Function(name, receiver, params, parser.tokens, (start + 1, parser.i - 1), path, package)
    if receiver:
        package.methods[(receiver, name)] = function
    elif name == "init":
        package.inits.append(function)
    else:
        package.functions[name] = function


def _value_spec(package: Package, path: str, parser: Parser, iota_type: Any) -> Any:
    names = [parser.take().text]
    while parser.at(","):
        parser.take()
        names.append(parser.take().text)
    if not parser.at("=") and not parser.at(";") and not parser.at(")"):
        iota_type = parser.parse_type()
    if parser.at("="):
        parser.take()
        for index, name in enumerate(names):
            start = parser.i
            parser.parse_expr()
            package.values[name] = (parser.tokens, start, parser.i, path)
            if index < len(names) - 1 and parser.at(","):
                parser.take()
    if parser.at(";"):
        parser.take()
    return iota_type


def _type_spec(package: Package, parser: Parser) -> None:
    name = parser.take().text
    after, second = parser.peek(1), parser.peek(2)
    if parser.at("[") and after is not None and after.kind == "ident" and second is not None and second.text != "]":
        parser.skip_balanced()  # type parameters, not a slice or array type
    if parser.at("="):
        parser.take()
    if parser.at("struct"):
        parser.take()
        start = parser.i
        parser.skip_balanced()
        body = parser.tokens[start + 1 : parser.i - 1]
        embedded = []
        line: list[Token] = []
        for token in [*body, Token(";", ";")]:
            if token.kind == ";":
                idents = [t for t in line if t.kind == "ident"]
                if (
                    line
                    and len(idents) == len([t for t in line if t.text not in ("*", ".")])
                    and len(idents) in (1, 2)
                    and (len(idents) == 1 or line[1].text == ".")
                ):
                    embedded.append(idents[-1].text)
                line = []
            else:
                line.append(token)
        package.structs[name] = embedded
    else:
        underlying = parser.parse_type()
        if underlying[0] in ("map", "slice", "array"):
            package.named[name] = "map" if underlying[0] == "map" else "slice"
    if parser.at(";"):
        parser.take()


# ---------------------------------------------------------------------------------------------------
# Evaluation


@dataclass(frozen=True)
class Opaque:
    """A value the evaluator cannot compute, named for what it was (`stringplanmodifier.RequiresReplace()`);
    a call into a library keeps its evaluated arguments."""

    text: str
    args: tuple = field(default=(), compare=False)


@dataclass
class Struct:
    """A composite literal of a struct type: its type's last name and its fields."""

    type: str
    fields: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


@dataclass
class FuncValue:
    function: Function | None
    params: list[str]
    tokens: list[Token]
    body: tuple[int, int]
    package: Package
    closure: dict[str, Any]
    file: str = ""


class Module:
    """A Go module read from a source tree; packages are parsed when first used."""

    def __init__(self, module_path: str, read_dir: Callable[[str], dict[str, str]]):
        self.module_path = module_path
        self.read_dir = read_dir
        self.packages: dict[str, Package] = {}
        self.special: dict[str, Callable[..., Any]] = {}  # "pkgname.Func" -> python implementation
        self._depth = 0

    def package(self, directory: str) -> Package:
        if directory not in self.packages:
            self.packages[directory] = parse_package(directory, self.read_dir(directory))
        return self.packages[directory]

    def package_of_import(self, package: Package, file: str, alias: str) -> Package | None:
        path = package.imports.get(file, {}).get(alias)
        if path is None or not path.startswith(self.module_path + "/"):
            return None
        return self.package(path[len(self.module_path) + 1 :])

    # -- expressions
    def evaluate(self, node: Any, env: Env) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "paren":
            return self.evaluate(node[1], env)
        if kind == "name":
            return env.lookup(node[1])
        if kind == "unary":
            value = self.evaluate(node[2], env)
            if node[1] == "&":
                return value
            if node[1] == "!" and isinstance(value, bool):
                return not value
            if node[1] == "-" and isinstance(value, (int, float)):
                return -value
            return Opaque(f"{node[1]}{_describe(value)}")
        if kind == "binary":
            left, right = self.evaluate(node[2], env), self.evaluate(node[3], env)
            if node[1] == "+" and isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(left, (int, float)) and isinstance(right, (int, float)) and node[1] in ("+", "-", "*"):
                return {"+": left + right, "-": left - right, "*": left * right}[node[1]]
            return Opaque(f"{_describe(left)} {node[1]} {_describe(right)}")
        if kind == "sel":
            return self._select(node, env)
        if kind == "composite":
            return self._composite(node, env)
        if kind == "call":
            return self._call(node, env)
        if kind == "funclit":
            return FuncValue(None, node[1], env.tokens, node[2], env.package, dict(env.local), env.file)
        if kind == "index":
            base = self.evaluate(node[1], env)
            if isinstance(base, dict) and len(node[2]) == 1:
                key = self.evaluate(node[2][0], env)
                if isinstance(key, str) and key in base:
                    return base[key]
            if isinstance(base, (FuncValue, Opaque)):
                return base  # a generic function instantiated with types
            return Opaque(f"{_describe(base)}[...]")
        if kind == "assert":
            return self.evaluate(node[1], env)
        if kind == "type":
            return Opaque("type")
        return Opaque(kind)

    def _select(self, node: Any, env: Env) -> Any:
        base_node, name = node[1], node[2]
        if base_node[0] == "name" and base_node[1] not in env.local:
            other = self.package_of_import(env.package, env.file, base_node[1])
            if other is not None:
                return Env(self, other, "", [], {}).lookup(name)
            if base_node[1] in env.package.imports.get(env.file, {}):
                return Opaque(f"{base_node[1]}.{name}")
        base = self.evaluate(base_node, env)
        if isinstance(base, Struct):
            return base.fields.get(name, Opaque(f"{base.type}.{name}"))
        return Opaque(f"{_describe(base)}.{name}")

    def _composite(self, node: Any, env: Env) -> Any:
        typ, elements = node[1], node[2]
        type_name = _type_name(typ)
        if typ is not None and typ[0] == "name" and typ[1] in env.package.named:
            typ = ("map", None, None) if env.package.named[typ[1]] == "map" else ("slice", None)
        shape = typ[1][0] if typ is not None and typ[0] == "type" else (typ[0] if typ is not None else None)
        if shape == "map":
            result: dict[Any, Any] = {}
            for key, value in elements:
                if key is None:
                    continue
                resolved = self.evaluate(key, env)
                result[resolved if isinstance(resolved, str) else _describe(resolved)] = self.evaluate(value, env)
            return result
        if shape in ("slice", "array"):
            return [self.evaluate(value, env) for _key, value in elements]
        if elements and all(key is None for key, _ in elements) and typ is None:
            return [self.evaluate(value, env) for _key, value in elements]
        if typ is None and elements and all(key is not None and key[0] == "lit" for key, _ in elements):
            return {self.evaluate(key, env): self.evaluate(value, env) for key, value in elements}
        fields: dict[str, Any] = {}
        for key, value in elements:
            if key is None:
                continue
            if key[0] == "name":
                field_name = key[1]
            else:
                resolved = self.evaluate(key, env)
                field_name = resolved if isinstance(resolved, str) else _describe(resolved)
            fields[field_name] = self.evaluate(value, env)
        return Struct(type_name, fields)

    def _call(self, node: Any, env: Env) -> Any:
        callee_node, arg_nodes = node[1], node[2]
        name = _call_name(callee_node)
        if name in self.special:
            return self.special[name](*[self.evaluate(a, env) for a in arg_nodes])
        callee = self.evaluate(callee_node, env)
        args = [self.evaluate(a, env) for a in arg_nodes]
        if isinstance(callee, FuncValue) and "RequiresReplace" in name:  # a plan modifier: its name says what it does
            return Opaque(f"{name}()", tuple(args))
        if isinstance(callee, FuncValue):
            return self.call(callee, args)
        return Opaque(f"{name}()", tuple(args))

    def call(self, function: FuncValue, args: list[Any]) -> Any:
        if self._depth > 40:
            return Opaque("recursion")
        self._depth += 1
        try:
            local = dict(function.closure)
            local.update(zip(function.params, args))
            env = Env(self, function.package, function.function.file if function.function else function.file, function.tokens, local)
            return self.run_body(function.tokens, function.body, env)
        finally:
            self._depth -= 1

    def run_body(self, tokens: list[Token], body: tuple[int, int], env: Env) -> Any:
        """Runs the straight-line statements of a body: assignments to names, fields and map keys, and the
        first `return` at the top level. Control flow is not followed."""
        returned: Any = Opaque("no return")
        for start, end in _statements(tokens, body):
            parser = Parser(tokens, start, end)
            first = parser.peek()
            if first is None:
                continue
            try:
                if first.text == "return":
                    parser.take()
                    if parser.peek() is None:
                        return env.local.get("__named_result__", Opaque("bare return"))
                    values = [parser.parse_expr()]
                    while parser.at(","):
                        parser.take()
                        values.append(parser.parse_expr())
                    results = [self.evaluate(v, env) for v in values]
                    return results[0] if len(results) == 1 else results
                if first.text == "var":
                    parser.take()
                    name = parser.take().text
                    if not parser.at("="):
                        parser.parse_type()
                    if parser.at("="):
                        parser.take()
                        env.local[name] = self.evaluate(parser.parse_expr(), env)
                    continue
                if first.text in ("if", "for", "switch", "select", "go", "defer", "const", "type"):
                    continue
                target = parser.parse_expr()
                if parser.at(":=") or parser.at("="):
                    parser.take()
                    value = self.evaluate(parser.parse_expr(), env)
                    self._assign(target, value, env)
                elif parser.at(","):  # a, b := f(): keep the first
                    parser.take()
                    parser.parse_expr()
                    if parser.at(":=") or parser.at("="):
                        parser.take()
                        value = self.evaluate(parser.parse_expr(), env)
                        self._assign(target, value[0] if isinstance(value, list) and value else value, env)
            except (ParseError, RecursionError):
                continue
        return returned

    def _assign(self, target: Any, value: Any, env: Env) -> None:
        if target[0] == "name":
            env.local[target[1]] = value
        elif target[0] == "sel":
            base = self.evaluate(target[1], env)
            if isinstance(base, Struct):
                base.fields[target[2]] = value
            elif target[1][0] == "name":
                env.local.setdefault("__fields__", {})[(target[1][1], target[2])] = value
        elif target[0] == "index" and len(target[2]) == 1:
            base = self.evaluate(target[1], env)
            key = self.evaluate(target[2][0], env)
            if isinstance(base, dict) and isinstance(key, str):
                base[key] = value


def _statements(tokens: list[Token], body: tuple[int, int]) -> Iterable[tuple[int, int]]:
    depth = 0
    start = body[0]
    for index in range(body[0], body[1]):
        token = tokens[index]
        if token.kind == "op" and token.text in "([{":
            depth += 1
        elif token.kind == "op" and token.text in ")]}":
            depth -= 1
        elif token.kind == ";" and depth == 0:
            if index > start:
                yield start, index
            start = index + 1
    if body[1] > start:
        yield start, body[1]


class Env:
    def __init__(self, module: Module, package: Package, file: str, tokens: list[Token], local: dict[str, Any]):
        self.module = module
        self.package = package
        self.file = file
        self.tokens = tokens
        self.local = local

    def lookup(self, name: str) -> Any:
        if name in self.local:
            return self.local[name]
        if name in ("true", "false"):
            return name == "true"
        if name == "nil":
            return None
        package = self.package
        if name in package.values:
            tokens, start, end, path = package.values[name]
            cache = package.evaluated
            if name not in cache:
                cache[name] = Opaque(f"cycle {name}")
                parser = Parser(tokens, start, end)
                cache[name] = self.module.evaluate(parser.parse_expr(), Env(self.module, package, path, tokens, {}))
            return cache[name]
        if name in package.functions:
            function = package.functions[name]
            return FuncValue(function, function.params, function.tokens, function.body, package, {}, function.file)
        return Opaque(name)


def _type_name(typ: Any) -> str:
    if typ is None:
        return ""
    if typ[0] == "name":
        return typ[1]
    if typ[0] == "sel":
        return typ[2]
    if typ[0] in ("ptr", "type"):
        return _type_name(typ[1])
    if typ[0] == "index":
        return _type_name(typ[1])
    return typ[0]


def _call_name(node: Any) -> str:
    if node[0] == "name":
        return node[1]
    if node[0] == "sel":
        return f"{_call_name(node[1])}.{node[2]}"
    if node[0] == "index":
        return _call_name(node[1])
    return node[0]


def _describe(value: Any) -> str:
    if isinstance(value, Opaque):
        return value.text
    if isinstance(value, Struct):
        return value.type
    return repr(value)


def walk_values(value: Any) -> Iterable[Any]:
    """Every value inside a value (structs, maps, lists), the value itself first."""
    yield value
    if isinstance(value, Struct):
        for item in value.fields.values():
            yield from walk_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from walk_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_values(item)
    elif isinstance(value, Opaque):
        for item in value.args:
            yield from walk_values(item)
