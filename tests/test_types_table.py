"""The ThingsDB types have one home, hooks/thingsdb_types.json: the answers' constants, both
runtimes' type maps, the handlers' field types and annotations, and the READMEs' type tables
are what it says, row for row."""

from __future__ import annotations

import ast
import json
import re

import pytest
from conftest import SIGNATURE_SHAPES, TEMPLATE_DIR

from hooks.template import facts, go_code, markdown, module_json, signatures

TABLE = json.loads((TEMPLATE_DIR / "hooks" / "thingsdb_types.json").read_text(encoding="utf-8"))
ROWS = facts.THINGSDB_TYPES
NAMES = [row["name"] for row in ROWS]
POINTED = [row for row in ROWS if row["go_nullable_type"] != row["go_type"]]


def mixed_signature():
    """The `mixed` function of SIGNATURE_SHAPES, as the answers read it."""
    shapes = signatures.split_top_level(SIGNATURE_SHAPES)
    return signatures.parse_signature(next(f for f in shapes if f.strip().startswith("mixed")))


def test_every_row_has_every_column():
    columns = set(TABLE["types"][0])
    assert {"name", "python_type", "python_annotation", "go_type", "go_nullable_type"} <= columns
    assert {"sample", "wrong_sample"} <= columns
    assert all(set(row) == columns for row in TABLE["types"])
    assert len(set(NAMES)) == len(NAMES)


def test_the_answers_constants_are_the_table():
    assert tuple(NAMES) == facts.ARGUMENT_TYPES
    assert {row["name"]: row["sample"] for row in ROWS} == facts.SAMPLES
    assert {
        row["name"]: row["wrong_sample"] for row in ROWS if row["wrong_sample"] is not None
    } == facts.WRONG_SAMPLES
    assert {row["name"]: row["python_annotation"] for row in ROWS} == facts.PY_ANNOTATIONS
    assert {row["name"]: row["go_type"] for row in ROWS} == facts.GO_TYPES
    assert {row["name"]: row["go_nullable_type"] for row in ROWS} == facts.GO_NULLABLE_TYPES
    assert facts.SAMPLES["bytes"] == b"hello"  # {"$bytes": ...} in the JSON


@pytest.mark.parametrize("row", ROWS, ids=NAMES)
def test_samples_are_of_their_type_and_wrong_samples_are_not(row):
    if row["python_type"] is None:  # any: every value fits, so there is no wrong one
        assert row["wrong_sample"] is None
        return
    assert signatures.thingsdb_type_name(row["sample"]) == row["name"]
    assert signatures.thingsdb_type_name(row["wrong_sample"]) not in (row["name"], "nil")


def _python_dict(source: str, name: str) -> dict[str, str]:
    """A dict literal assigned to ``name`` in Python source: key source text -> value."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.AnnAssign, ast.Assign)):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return {
                    ast.unparse(k): ast.literal_eval(v)
                    for k, v in zip(node.value.keys, node.value.values)
                }
    raise AssertionError(f"no {name} = {{...}} in timod_loop.py")


def test_python_runtime_maps_are_the_table(baked):
    project = baked(functions=SIGNATURE_SHAPES)
    loop = project.read("timod_loop.py")
    arriving = {row["python_type"]: row["name"] for row in ROWS if row["python_type"]}
    assert _python_dict(loop, "THINGSDB_TYPE_NAMES") == {"type(None)": "nil", **arriving}
    checked = {row["python_type"] or row["python_annotation"]: row["name"] for row in ROWS}
    assert _python_dict(loop, "CHECKED_TYPES") == {**checked, "object": "any"}
    annotations = ", ".join(row["python_annotation"] for row in ROWS)
    assert f"ANNOTATIONS = {json.dumps(annotations)}" in loop


def test_python_handlers_are_annotated_from_the_table(baked):
    project = baked(functions=SIGNATURE_SHAPES)
    tree = ast.parse(project.read("main.py"))
    mixed = next(n for n in ast.walk(tree) if getattr(n, "name", None) == "mixed")
    declared = mixed_signature()
    for parameter, argument in zip(mixed.args.args, declared.arguments):
        nullable = argument.optional and argument.default is None and argument.type != "any"
        expected = facts.PY_ANNOTATIONS[argument.type] + (" | None" if nullable else "")
        assert ast.unparse(parameter.annotation) == expected, parameter.arg


def test_go_runtime_maps_are_the_table(baked):
    project = baked(language="go", functions=SIGNATURE_SHAPES)
    args = project.read("internal/module/args.go")
    constants = re.search(r"const \(\n(.*?)\n\)", args, re.DOTALL)[1].split()
    assert [c for c in constants if c.startswith("kind") and c != "kind"] == [
        "kind" + go_code.go_name(name) for name in NAMES
    ]
    names = re.search(r"var kindNames = \[\.\.\.\]string\{(.*)\}", args)[1]
    assert json.loads(f"[{names}]") == NAMES
    pairs = re.findall(r"reflect\.TypeFor\[(.+?)\]\(\):\s+kind(\w+),", args)
    expected = []
    for row in ROWS:
        for go_type in dict.fromkeys([row["go_type"], row["go_nullable_type"]]):
            expected.append((go_type, go_code.go_name(row["name"])))
    assert pairs == expected
    pointers = ", ".join(row["go_type"] for row in POINTED[:-1]) + " or " + POINTED[-1]["go_type"]
    assert f"or a pointer to {pointers})" in args


def test_go_handlers_fields_are_typed_from_the_table(baked):
    project = baked(language="go", functions=SIGNATURE_SHAPES)
    struct = re.search(
        r"type MixedArgs struct \{\n(.*?)\n\}", project.read("handlers.go"), re.DOTALL
    )
    fields = {m[2]: m[1] for m in re.finditer(r'^\t\w+\s+(\S+)\s+`msgpack:"(\w+)', struct[1], re.M)}
    declared = mixed_signature()
    for argument in declared.arguments:
        nullable = argument.optional and argument.default is None
        table = facts.GO_NULLABLE_TYPES if nullable else facts.GO_TYPES
        assert fields[argument.name] == table[argument.type], argument.name
    comment = " ".join(project.read("handlers.go").split("package main", 1)[1].split("//"))
    comment = " ".join(comment.split())
    assert "Argument types: " + ", ".join(f"{r['name']} {r['go_type']}" for r in ROWS) in comment


def _table_rows(markdown: str, header: str) -> list[list[str]]:
    """The cells of the Markdown table whose header line starts with ``header``."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def _code(value: str) -> str:
    return markdown.md_code(value)


def test_template_readme_types_table_is_the_table():
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    expected = [
        [
            _code(row["name"]),
            _code(row["python_annotation"]),
            _code(row["go_type"]),
            _code(row["go_nullable_type"]),
            _code(module_json.thingsdb_value(row["sample"])),
            "(every value fits)"
            if row["wrong_sample"] is None
            else _code(module_json.thingsdb_value(row["wrong_sample"])),
        ]
        for row in ROWS
    ]
    assert _table_rows(readme, "| type | Python annotation |") == expected


@pytest.mark.parametrize("language", ["python", "go"])
def test_generated_readme_types_table_is_the_table(baked, language):
    readme = baked(language=language, functions=SIGNATURE_SHAPES).read("README.md")
    columns = ["python_annotation"] if language == "python" else ["go_type", "go_nullable_type"]
    expected = [
        [_code(row["name"])]
        + [_code(row[column]) for column in columns]
        + [_code(module_json.thingsdb_value(row["sample"]))]
        for row in ROWS
    ]
    assert _table_rows(readme, "| ThingsDB type |") == expected
