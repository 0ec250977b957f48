"""MkDocs hook: pages carry markers that are replaced, at build time, by text
generated from the code itself, so the docs cannot drift from it.

    <!-- generated:segments -->   the segments, from rfm_segmentation.segments
    <!-- generated:rules -->      their centre rules, with conf/base's thresholds
    <!-- generated:customer_rules --> what each name means for one customer
    <!-- generated:uci_highlights --> the biggest migrations on the real data (make docs-figures)
    <!-- generated:pipelines -->  the registered pipelines' names, in run order
    <!-- generated:lineage -->    a Mermaid diagram of the registered pipelines
    <!-- generated:catalog -->    the entries of conf/base/catalog.yml
    <!-- generated:api -->        every endpoint of the app's OpenAPI schema
"""

from __future__ import annotations

import json
import os
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

ROOT = Path(__file__).resolve().parents[1]


def on_page_markdown(markdown: str, **_: Any) -> str:
    for name, render in GENERATORS.items():
        marker = f"<!-- generated:{name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return markdown


def segments() -> str:
    from rfm_segmentation.segments import segments_markdown  # noqa: PLC0415

    return segments_markdown()


def _naming() -> dict[str, Any]:
    parameters = yaml.safe_load(
        (ROOT / "conf/base/parameters_clustering.yml").read_text()
    )
    return parameters["naming"]


def rules() -> str:
    from rfm_segmentation.segments import rules_markdown  # noqa: PLC0415

    return rules_markdown(_naming())


def customer_rules() -> str:
    from rfm_segmentation.segments import customer_rules_markdown  # noqa: PLC0415

    return customer_rules_markdown(_naming())


def uci_highlights() -> str:
    import pandas as pd  # noqa: PLC0415

    flows = pd.read_csv(ROOT / "docs/img/uci_migration_highlights.csv")
    return "\n".join(f"- {sentence}" for sentence in flows["summary"])


def registered_pipelines() -> dict[str, Any]:
    """The project's pipelines by name, each after those whose outputs it reads
    (ties by name), so that the docs follow find_pipelines as it grows."""
    from kedro.framework.project import configure_project, pipelines  # noqa: PLC0415

    configure_project("rfm_segmentation")
    named = {name: pipe for name, pipe in pipelines.items() if name != "__default__"}
    sorter = TopologicalSorter(
        {
            name: {
                other
                for other in named
                if other != name and named[other].all_outputs() & pipe.inputs()
            }
            for name, pipe in named.items()
        }
    )
    sorter.prepare()
    ordered: dict[str, Any] = {}
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.update((name, named[name]) for name in ready)
        sorter.done(*ready)
    return ordered


def pipeline_names() -> str:
    return ", ".join(f"`{name}`" for name in registered_pipelines())


def lineage() -> str:
    from kedro.framework.project import pipelines  # noqa: PLC0415

    lines = ["```mermaid", "flowchart LR"]
    for name, pipeline in registered_pipelines().items():
        lines.append(f"  subgraph {name}")
        for node in pipeline.nodes:
            lines.append(f"    {node.name}[[{node.name}]]")
        lines.append("  end")
    for node in pipelines["__default__"].nodes:
        for dataset in node.inputs:
            if not dataset.startswith("params:"):
                lines.append(f"  {dataset}([{dataset}]) --> {node.name}")
        lines.extend(
            f"  {node.name} --> {dataset}([{dataset}])" for dataset in node.outputs
        )
    lines.append("```")
    return "\n".join(lines)


def catalog() -> str:
    entries = yaml.safe_load((ROOT / "conf/base/catalog.yml").read_text())
    rows = [
        "| entry | type | where | layer | versioned |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, entry in entries.items():
        layer = entry.get("metadata", {}).get("kedro-viz", {}).get("layer", "")
        where = entry.get("filepath", "memory").replace("|", "\\|")
        versioned = "yes" if entry.get("versioned") else ""
        rows.append(
            f"| `{name}` | `{entry['type']}` | `{where}` | {layer} | {versioned} |"
        )
    return "\n".join(rows)


def api() -> str:
    from rfm_segmentation.api.app import create_app  # noqa: PLC0415

    schema = create_app().openapi()
    parts = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            parts.append(
                f"### `{method.upper()} {path}`\n\n{operation.get('description') or operation.get('summary', '')}\n"
            )
            body = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
            )
            if body:
                parts.append(f"Request body: `{_schema_name(body['schema'])}`\n")
                example = _example(schema, body["schema"])
                if example:
                    parts.append(f"```json\n{json.dumps(example, indent=2)}\n```\n")
            codes = ", ".join(
                f"`{code}` {response.get('description', '')}"
                for code, response in operation["responses"].items()
            )
            parts.append(f"Responses: {codes}\n")
    return "\n".join(parts)


def _schema_name(schema: dict[str, Any]) -> str:
    return schema.get("$ref", "").rsplit("/", 1)[-1] or schema.get("type", "object")


def _example(openapi: dict[str, Any], schema: dict[str, Any]) -> Any:
    name = _schema_name(schema)
    examples = openapi["components"]["schemas"].get(name, {}).get("examples")
    return examples[0] if examples else None


GENERATORS = {
    "segments": segments,
    "rules": rules,
    "customer_rules": customer_rules,
    "uci_highlights": uci_highlights,
    "pipelines": pipeline_names,
    "lineage": lineage,
    "catalog": catalog,
    "api": api,
}
