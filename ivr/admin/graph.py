"""The flow as a graph for the map page: steps as nodes, every branch as a labelled edge,
with the validator's dead ends and loops marked on the steps they concern. The layout is
done in the browser by dagre (vendored in static/); this only says what to draw."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivr import validation
from ivr.flowdoc import DEFAULT_SETTINGS


def _preview(step: Mapping[str, Any], lang: str) -> str:
    texts = step.get("prompt") or step.get("ask_prompt") or {}
    text = str(texts.get(lang) or next(iter(texts.values()), "")) if texts else ""
    return text if len(text) <= 60 else text[:57] + "…"


def flow_graph(document: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """{nodes: [...], edges: [...]} for a flow document; marks come from the validator."""
    steps: Mapping[str, Any] = document.get("steps") or {}
    settings = {**DEFAULT_SETTINGS, **(document.get("settings") or {})}
    marks: dict[str, set[str]] = {name: set() for name in steps}
    for problem in validation.path_problems(document):
        name = problem.path.split("/")[1] if problem.path.startswith("steps/") else ""
        if name in marks and problem.rule in ("dead_end", "loop", "unreachable"):
            marks[name].add(problem.rule)
    for component in validation.cycles(document):
        for name in component:
            marks[name].add("cycle")
    nodes = [{"id": name, "type": step["type"], "text": _preview(step, lang),
              "start": name == document.get("start"),
              "human": name == settings.get("human_step"),
              "emergency": name == settings.get("emergency_step"),
              "marks": sorted(marks[name])}
             for name, step in steps.items()]
    edges = [{"from": name, "to": target, "label": key}
             for name, step in steps.items()
             for key, target in validation.step_targets(step) if target in steps]
    return {"nodes": nodes, "edges": edges}
