"""docs/analysis.md documents every plan key with an example (issue 11 "Done when").

The key paths are read from ``AnalysisPlan`` itself (nested sections, list entries as ``outcomes[].code``) and
from ``ClinicalSettings`` (``clinical.<setting>``), so a key added to the plan without a row in the docs table
"Every plan key, with an example" fails here. Simple examples (a scalar under a section) are also validated as plans.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from ipafstudy.analysis.examples import EXAMPLE_PLANS
from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict
from ipafstudy.settings import describe_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analysis.md"
HEADING = "### Every plan key, with an example"


def _model_in(annotation: object) -> type[BaseModel] | None:
    stack = [annotation]
    while stack:
        a = stack.pop()
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
        stack.extend(typing.get_args(a))
    return None


def _is_list(annotation: object) -> bool:
    stack = [annotation]
    while stack:
        a = stack.pop()
        if typing.get_origin(a) in (tuple, list):
            return True
        stack.extend(typing.get_args(a))
    return False


def plan_key_paths(model: type[BaseModel] = AnalysisPlan, prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = prefix + name
        paths.append(path)
        sub = _model_in(info.annotation)
        if sub is not None:
            paths += plan_key_paths(sub, path + ("[]." if _is_list(info.annotation) else "."))
    paths += [f"clinical.{name}" for name, _, _ in describe_settings()] if not prefix else []
    return paths


def docs_table() -> dict[str, tuple[str, str]]:
    """key -> (what, example) from the docs table."""
    text = DOCS.read_text(encoding="utf-8")
    assert HEADING in text, f"docs/analysis.md lost the section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n#", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (.+?) \| (.*) \|$", line)
        if m:
            assert m.group(1) not in rows, f"docs table lists {m.group(1)} twice"
            rows[m.group(1)] = (m.group(2).strip(), m.group(3).strip())
    return rows


def test_key_walk_finds_nested_and_list_keys() -> None:
    paths = plan_key_paths()
    assert {"title", "statistics.seed", "outcomes[].better", "variables[].units", "clinical.min_age"} <= set(paths)
    assert len(paths) == len(set(paths))


def test_every_plan_key_has_a_row_with_an_example() -> None:
    rows = docs_table()
    missing = [p for p in plan_key_paths() if p not in rows]
    assert not missing, f"add a row (key | what it does | example) to {HEADING!r} in docs/analysis.md for: {missing}"
    # A row for a section the plan does not have yet is allowed (documented ahead of a parallel stream's landing);
    # a row under an existing section must name a real key.
    top = {p.split(".")[0].split("[")[0] for p in plan_key_paths()}
    stale = [k for k in rows if k not in plan_key_paths() and k.split(".")[0].split("[")[0] in top]
    assert not stale, f"docs/analysis.md documents keys the plan does not have: {stale}"
    empty = [k for k, (what, example) in rows.items() if not what or not example.startswith("`")]
    assert not empty, f"rows without a description or an example: {empty}"


def test_every_key_of_the_example_plan_is_documented() -> None:
    rows = docs_table()

    def keys(data: object, prefix: str = "") -> list[str]:
        """Key paths of a plan mapping; free-form mappings (labels, units, levels) are one key."""
        out: list[str] = []
        if isinstance(data, dict):
            for k, v in data.items():
                path = prefix + str(k)
                out.append(path)
                if any(r.startswith((path + ".", path + "[].")) for r in rows):
                    out += keys(v, path + ".")
        elif isinstance(data, list):
            for item in data:
                if isinstance(item, dict):
                    out += keys(item, prefix.rstrip(".") + "[].")
        return out

    for name, plan in EXAMPLE_PLANS.items():
        undocumented = sorted({k for k in keys(plan) if k not in rows})
        assert not undocumented, f"example {name}: keys not in the docs table: {undocumented}"


SIMPLE = re.compile(r"^`(\w+): ([^{}\[\]`]+)`$")
NEEDS_OUTCOMES = ("primary_outcome", "regression.outcome")


def _simple_examples() -> list[tuple[str, str]]:
    """(key, example) of the rows whose example is one scalar under a section (``continuity: true``)."""
    rows = docs_table()
    out = []
    for key in plan_key_paths():
        if "[]" in key or key.count(".") > 1 or key in NEEDS_OUTCOMES or key not in rows:
            continue
        m = SIMPLE.match(rows[key][1])
        if m and m.group(1) == key.rsplit(".", 1)[-1]:
            out.append((key, m.group(2)))
    return out


def test_most_keys_have_a_scalar_example_checked_below() -> None:
    assert len(_simple_examples()) >= 40


@pytest.mark.parametrize(("key", "example"), _simple_examples(), ids=[k for k, _ in _simple_examples()])
def test_simple_examples_are_valid_plans(key: str, example: str) -> None:
    """A scalar example under a section (``statistics.continuity: true``) loads as a plan."""
    section, _, leaf = key.rpartition(".")
    value = yaml.safe_load(example)
    data = {section: {leaf: value}} if section else {leaf: value}
    plan = plan_from_dict(data, source=f"(docs example {key})")
    if section != "clinical":  # the value is taken as written (clinical values are checked by ClinicalSettings)
        got = getattr(getattr(plan, section) if section else plan, leaf)
        assert got == value or str(got) == str(value)
