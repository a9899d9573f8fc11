"""Upstream bodies in XML, CSV/TSV/PSV or YAML read as data, so outputs can map them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

from . import _runtime as rt


def parse(answer: rt.Result, output_format: str) -> Any:
    """The body as data; a body that is not valid `output_format` is an upstream error (502)."""
    text = answer.body.decode("utf-8-sig", errors="replace")
    try:
        if output_format == "xml":
            # expat refuses entity-expansion bombs and never fetches external entities.
            return _xml_to_data(ElementTree.fromstring(text))  # noqa: S314
        if output_format in ("csv", "tsv", "psv"):
            delimiter = {"csv": ",", "tsv": "\t", "psv": "|"}[output_format]
            return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
        if output_format == "yaml":
            import yaml  # type: ignore[import-untyped,unused-ignore]

            return yaml.safe_load(text)
        return answer.json()
    except (ValueError, ElementTree.ParseError, csv.Error, ImportError, RecursionError) as exc:
        raise rt.UpstreamError(
            f"the upstream answered with a body that is not valid {output_format}"
        ) from exc
    except Exception as exc:  # yaml.YAMLError and friends: never a 500
        raise rt.UpstreamError(
            f"the upstream answered with a body that is not valid {output_format}"
        ) from exc


def reader(output_format: str) -> Callable[[rt.Result], Any]:
    """The parser for one output format, as Result.map takes it."""
    return lambda answer: parse(answer, output_format)


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
            out[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[child.tag] = value
    text = (element.text or "").strip()
    if text:
        out["#text"] = text
    return out
