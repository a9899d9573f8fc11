"""Upstream bodies in XML, CSV/TSV/PSV, YAML, HTML, Markdown, Avro or Protobuf read as data,
so outputs can map them (the engine's Converter shapes; see _markup and _binary)."""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from . import _runtime as rt


def parse(answer: rt.Result, output_format: str, schema: Any = None) -> Any:
    """The body as data; a body that is not valid `output_format` is an upstream error (502).

    `schema` is the operation's outputSchema as the build read it: an HTML CSS selector, a
    Markdown heading prefix, an Avro schema, or a Protobuf message layout."""
    try:
        if output_format in ("avro", "protobuf"):
            binary = importlib.import_module(f"{__package__}._binary")
            return binary.decode(answer.body, output_format, schema)
    except (ValueError, EOFError, IndexError, KeyError, TypeError, RecursionError) as exc:
        raise rt.UpstreamError(
            f"the upstream answered with a body that is not valid {output_format}"
        ) from exc
    text = answer.body.decode("utf-8-sig", errors="replace")
    try:
        if output_format in ("html", "markdown"):
            markup = importlib.import_module(f"{__package__}._markup")
            if output_format == "html":
                return markup.html_to_data(text, schema)
            return markup.markdown_to_data(text, schema)
        if output_format == "xml":
            return _xml_to_data(ElementTree.fromstring(text))
        if output_format in ("csv", "tsv", "psv"):
            delimiter = {"csv": ",", "tsv": "\t", "psv": "|"}[output_format]
            return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
        if output_format == "yaml":
            return load_yaml(text)
        return answer.json()
    except (ValueError, ElementTree.ParseError, csv.Error, ImportError, RecursionError) as exc:
        raise rt.UpstreamError(
            f"the upstream answered with a body that is not valid {output_format}"
        ) from exc
    except Exception as exc:  # yaml.YAMLError and friends: never a 500
        raise rt.UpstreamError(
            f"the upstream answered with a body that is not valid {output_format}"
        ) from exc


def reader(output_format: str, schema: Any = None) -> Callable[[rt.Result], Any]:
    """The parser for one output format, as Result.map takes it."""
    return lambda answer: parse(answer, output_format, schema)


def load_yaml(text: str) -> Any:
    """YAML as JSON data: dates and times stay text (as the engine's Jackson reads them), so
    every value can be answered as JSON."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    class Loader(yaml.SafeLoader):  # type: ignore[misc,name-defined,unused-ignore]
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml.load(text, Loader=Loader)  # a SafeLoader subclass: no arbitrary objects


def _xml_to_data(element: ElementTree.Element) -> Any:
    children = list(element)
    attrs = {"@" + k: v for k, v in element.attrib.items()}
    if not children and not attrs:
        return (element.text or "").strip()
    out: dict[str, Any] = dict(attrs)
    for child in children:
        value = _xml_to_data(child)
        if child.tag in out:
            previous = out[child.tag]
            out[child.tag] = previous + [value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    text = (element.text or "").strip()
    if text:
        out["#text"] = text
    return out
