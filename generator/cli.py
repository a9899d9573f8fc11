"""The `naftiko-gen` command: build (and --check / diff) and validate, thin layers over codegen."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from generator import __version__
from generator.codegen import Generated, generate, validate
from generator.diagnostics import Report, Severity
from generator.rules import markdown_table
from generator.writer import apply_changes, describe, plan_changes

EXIT_OK, EXIT_DIFF, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3


WARNINGS_SHOWN_PER_RULE = 2


def _print_report(report: Report, show_warnings: bool = True) -> None:
    """Errors in full; warnings grouped, since real specs repeat one deviation many times."""
    counts: dict[tuple[str, str], int] = {}
    for d in report.sorted():
        if d.severity is Severity.WARNING:
            if not show_warnings:
                continue
            key = (d.pos.file, d.rule)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] > WARNINGS_SHOWN_PER_RULE:
                continue
        click.echo(d.format(), err=True)
    for (file, rule), n in counts.items():
        if n > WARNINGS_SHOWN_PER_RULE:
            click.echo(
                f"{file}: {n - WARNINGS_SHOWN_PER_RULE} more {rule} warning(s) "
                "('naftiko-gen validate' lists them all)",
                err=True,
            )


def _guarded(debug: bool, body: Callable[[], int]) -> int:
    """Every failure is a diagnostic; a generator bug is one line asking for a report."""
    try:
        return body()
    except KeyboardInterrupt:
        click.echo("naftiko-gen: interrupted", err=True)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, like other command-line tools.
        sys.stderr = sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        first = str(exc).splitlines()[0] if str(exc) else ""
        click.echo(
            f"naftiko-gen: internal error ({type(exc).__name__}: {first[:200]}); this is a bug in "
            "naftiko-gen, please report it with the spec that caused it (rerun with --debug for details)",
            err=True,
        )
        return EXIT_INTERNAL


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="naftiko-gen")
@click.option("--debug", is_flag=True, help="Show Python tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Generate static aiohttp REST and MCP servers from Naftiko capability specs."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "out_dir", default=Path("generated"), type=click.Path(path_type=Path),
    show_default=True, help="Folder that receives one package per spec.",
)  # fmt: skip
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if OUTPUT is stale.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print warnings.")
@click.pass_context
def build(
    ctx: click.Context, paths: tuple[Path, ...], out_dir: Path, check: bool, quiet: bool
) -> None:
    """Generate one Python package per capability spec (files or folders of *.yaml)."""
    ctx.exit(_guarded(ctx.obj["debug"], lambda: _build(list(paths), out_dir, check, quiet)))


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "out_dir",
    default=Path("generated"),
    type=click.Path(path_type=Path),
    show_default=True,
)
@click.pass_context
def diff(ctx: click.Context, paths: tuple[Path, ...], out_dir: Path) -> None:
    """Show what build would change in OUTPUT (same as build --check)."""
    ctx.exit(_guarded(ctx.obj["debug"], lambda: _build(list(paths), out_dir, True, False)))


def _build(paths: list[Path], out_dir: Path, check: bool, quiet: bool) -> int:
    result: Generated = generate(paths, out_dir)
    _print_report(result.report, show_warnings=not quiet)
    if result.report.has_errors():
        n = len(result.report.errors)
        click.echo(f"naftiko-gen: {n} error{'s' if n != 1 else ''}; nothing was written", err=True)
        return EXIT_INVALID
    changes = plan_changes(result.files, result.specs, out_dir)
    if check:
        if changes.clean:
            click.echo(f"{out_dir.as_posix()}/ is up to date ({len(result.packages)} package(s))")
            return EXIT_OK
        click.echo(describe(changes, out_dir), nl=False)
        click.echo(
            f"naftiko-gen: {out_dir.as_posix()}/ is stale; run 'naftiko-gen build "
            f"{' '.join(p.as_posix() for p in paths)}' and commit the result",
            err=True,
        )
        return EXIT_DIFF
    try:
        apply_changes(changes, out_dir)
    except OSError as exc:
        click.echo(
            f"naftiko-gen: cannot write {out_dir.as_posix()}/: {exc.strerror or exc} "
            f"({exc.filename or out_dir})",
            err=True,
        )
        return EXIT_INVALID
    written = len(changes.write) + len(changes.remove) + len(changes.remove_dirs)
    click.echo(
        f"built {len(result.packages)} package(s) into {out_dir.as_posix()}/: "
        f"{written} change(s), {changes.unchanged} file(s) unchanged"
    )
    return EXIT_OK


@cli.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@click.pass_context
def validate_cmd(ctx: click.Context, paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Check specs without generating: schema, semantic rules, wiring."""

    def body() -> int:
        report, unreadable = validate(list(paths))
        if fmt == "json":
            click.echo(report.to_json())
        else:
            for d in report.sorted():
                click.echo(d.format())
            errors, warnings = len(report.errors), len(report.warnings)
            click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)
        if unreadable:
            return EXIT_INVALID
        if report.has_errors() or (strict and report.warnings):
            return 1
        return EXIT_OK

    ctx.exit(_guarded(ctx.obj["debug"], body))


@cli.command("rules")
def rules_cmd() -> None:
    """Print every diagnostic rule as a Markdown table (id, severity, meaning, fix)."""
    click.echo(markdown_table(), nl=False)


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="naftiko-gen")


if __name__ == "__main__":
    sys.exit(main())
