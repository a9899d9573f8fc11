"""The `naftiko-gen` command: build (and --check / diff) and validate, thin layers over codegen."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from naftiko_gen import __version__
from naftiko_gen.build import build as run_build
from naftiko_gen.codegen import Generated, find_specs, validate
from naftiko_gen.degrade import skipped_by_spec
from naftiko_gen.diagnostics import Diagnostic, Report, Severity
from naftiko_gen.formatting import FormatterError
from naftiko_gen.rules import markdown_table
from naftiko_gen.writer import MANIFEST, Changes, apply_changes, describe, plan_changes

EXIT_OK, EXIT_DIFF, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\b
Exit codes:
  0    success: built, up to date, or valid (warnings and notes allowed)
  1    build --check / diff: OUTPUT differs from what build would write;
       validate: a spec has errors (with --strict: or warnings)
  2    build: a spec has errors, a file cannot be read or written, OUTPUT is
       not a folder, or build would overwrite a file it did not write;
       validate: a spec or folder cannot be read; any command: bad usage
  3    internal error in naftiko-gen (a bug: please report it)
  130  interrupted (Ctrl-C)

\b
Global options (--debug, --color/--no-color) may also follow the command:
  naftiko-gen build specs/ --debug"""

WARNINGS_SHOWN_PER_RULE = 2
# With this many specs or more, a build on a terminal shows that it is working.
PROGRESS_MIN_SPECS = 4
GLOBAL_FLAGS = ("--debug", "--color", "--no-color")

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.NOTE: 2}
_SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.NOTE: "cyan"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(report: Report, notes: bool = True, always: bool = False) -> str:
    """'2 errors, 1 warning' — zero counts left out unless `always`."""
    parts = [
        _plural(n, word)
        for n, word in (
            (len(report.errors), "error"),
            (len(report.warnings), "warning"),
            (len(report.notes) if notes else 0, "note"),
        )
        if n or (always and word != "note")
    ]
    return ", ".join(parts)


def _by_severity(report: Report) -> list[Diagnostic]:
    """Errors first, then warnings, then notes; each in file and line order."""
    return sorted(report.sorted(), key=lambda d: _SEVERITY_ORDER[d.severity])


def _styled(d: Diagnostic) -> str:
    text = d.format()
    head = f"{d.severity.value} {d.rule}:"
    styled = click.style(f"{d.severity.value} {d.rule}", fg=_SEVERITY_COLOUR[d.severity], bold=True)
    return text.replace(head, styled + ":", 1)


def _print_report(report: Report, show_warnings: bool = True) -> None:
    """Errors in full, then warnings grouped (real specs repeat one deviation many times).

    Notes are never printed here; callers print their count.
    """
    counts: dict[tuple[str, str], int] = {}
    for d in _by_severity(report):
        if d.severity is Severity.NOTE:
            continue
        if d.severity is Severity.WARNING:
            if not show_warnings:
                continue
            key = (d.pos.file, d.rule)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] > WARNINGS_SHOWN_PER_RULE:
                continue
        click.echo(_styled(d), err=True)
    for (file, rule), n in counts.items():
        if n > WARNINGS_SHOWN_PER_RULE:
            click.echo(
                f"{file}: {n - WARNINGS_SHOWN_PER_RULE} more {rule} warning(s) "
                "('naftiko-gen validate' lists them all)",
                err=True,
            )


def _openapi_mapping(values: tuple[str, ...]) -> dict[str, Path]:
    """`--openapi NS=FILE` options → {NS: FILE}; a malformed one is a usage error (exit 2)."""
    out: dict[str, Path] = {}
    for value in values:
        ns, sep, file = value.partition("=")
        if not sep or not ns.strip() or not file.strip():
            raise click.BadParameter(
                f"'{value}' is not NAMESPACE=FILE (e.g. qovery-containers=qovery-openapi.yaml)",
                param_hint="'--openapi'",
            )
        if ns.strip() in out:
            raise click.BadParameter(f"namespace '{ns}' is given twice", param_hint="'--openapi'")
        out[ns.strip()] = Path(file.strip())
    return out


OPENAPI_HELP = (
    "NAMESPACE=FILE: the OpenAPI document of the upstream consumed as NAMESPACE; tool and "
    "OpenAPI schemas come from it (repeatable; default: openapi/<NAMESPACE>.yaml beside the spec)."
)


def _warn(message: str) -> None:
    click.echo(f"{click.style('warning', fg='yellow', bold=True)}: {message}", err=True)


def _fail(message: str) -> None:
    click.echo(f"naftiko-gen: {click.style('error', fg='red', bold=True)}: {message}", err=True)


def _guarded(debug: bool, body: Callable[[], int]) -> int:
    """Every failure is a diagnostic; a generator bug is one line asking for a report."""
    try:
        return body()
    except KeyboardInterrupt:
        click.echo("naftiko-gen: interrupted", err=True)
        return EXIT_INTERRUPTED
    except FormatterError as exc:  # NAFTIKO_GEN_FORMATTER or the installation, not the spec
        _fail(str(exc))
        return EXIT_INVALID
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


class _Cli(click.Group):
    """A group whose global flags may also come after the command (`build specs/ --debug`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        hoisted: list[str] = []
        rest: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                rest.extend(args[i:])
                break
            (hoisted if arg in GLOBAL_FLAGS else rest).append(arg)
        return super().parse_args(ctx, hoisted + rest)


@click.group(
    cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP
)
@click.version_option(__version__, prog_name="naftiko-gen")
@click.option("--debug", is_flag=True, help="Show Python tracebacks of internal errors.")
@click.option(
    "--color/--no-color", "color", default=None,
    help="Colour diagnostics and diffs (default: only on a terminal).",
)  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, debug: bool, color: bool | None) -> None:
    """Generate static aiohttp REST and MCP servers from Naftiko capability specs."""
    ctx.obj = {"debug": debug}
    ctx.color = color


def _family_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options choosing what a family serves (build --compose, serve of several specs)."""
    options = (
        click.option(
            "--prefix-all", is_flag=True,
            help="Family: prefix every tool with its capability and every route with "
            "/<capability> (default: only names and routes two capabilities share).",
        ),
        click.option(
            "--include", "include", multiple=True, metavar="GLOB",
            help="Family: serve only the tools and routes whose capability, name ('METHOD "
            "/path' for routes) or capability tag matches (repeatable).",
        ),
        click.option(
            "--exclude", "exclude", multiple=True, metavar="GLOB",
            help="Family: leave out the tools and routes that match (as --include; repeatable).",
        ),
    )  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _selection(prefix_all: bool, include: tuple[str, ...], exclude: tuple[str, ...]) -> Any:
    from naftiko_gen.plan.family import Selection

    return Selection(prefix_all, include, exclude)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "out_dir", default=Path("generated"), type=click.Path(path_type=Path),
    show_default=True, help="Folder that receives one package per spec.",
)  # fmt: skip
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff if OUTPUT is stale.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print warnings or the notes count.")
@click.option("-v", "--verbose", is_flag=True, help="List every file written or removed.")
@click.option("--openapi", "openapi", multiple=True, metavar="NAMESPACE=FILE", help=OPENAPI_HELP)
@click.option(
    "--strict", is_flag=True, help="Skipped operations, routes or tools are errors (exit 2)."
)
@click.option(
    "--compose", "compose", metavar="NAME", default=None,
    help="Also write the package NAME serving every capability built as one family: one REST "
    "server, one MCP endpoint (python -m NAME.rest_server, python -m NAME.mcp_server).",
)  # fmt: skip
@_family_options
@click.pass_context
def build(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out_dir: Path,
    check: bool,
    quiet: bool,
    verbose: bool,
    openapi: tuple[str, ...],
    strict: bool,
    compose: str | None,
    prefix_all: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Generate one Python package per capability spec (files or folders of *.yaml).

    Only files naftiko-gen wrote (listed in OUTPUT/.naftiko-gen.json) are ever overwritten or
    removed; other files in a package folder are left alone and named in a warning.
    """
    documents = _openapi_mapping(openapi)
    family = None
    if compose is not None:
        if not compose.isidentifier() or not compose.islower():
            raise click.BadParameter("a lower-case Python package name", param_hint="--compose")
        family = (compose, _selection(prefix_all, include, exclude))
    ctx.exit(
        _guarded(
            ctx.obj["debug"],
            lambda: _build(list(paths), out_dir, check, quiet, verbose, documents, strict, family),
        )
    )


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "out_dir", default=Path("generated"), type=click.Path(path_type=Path),
    show_default=True, help="Folder that receives one package per spec.",
)  # fmt: skip
@click.pass_context
def diff(ctx: click.Context, paths: tuple[Path, ...], out_dir: Path) -> None:
    """Show what build would change in OUTPUT (same as build --check)."""
    ctx.exit(_guarded(ctx.obj["debug"], lambda: _build(list(paths), out_dir, True, False, False)))


def _not_a_folder(out_dir: Path) -> Path | None:
    """The output folder, or the first of its parents, when it exists as something else."""
    for candidate in (out_dir, *out_dir.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


@contextmanager
def _progress(paths: list[Path]) -> Iterator[None]:
    """A spinner on a terminal while many specs build; nothing otherwise."""
    if not sys.stderr.isatty():
        yield
        return
    count = len(find_specs(paths, Report()))
    if count < PROGRESS_MIN_SPECS:
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(f"building {count} specs…"):
        yield


def _colour_diff(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        elif line.startswith(("missing:", "extra:")):
            out.append(click.style(line, fg="yellow"))
        else:
            out.append(line)
    return "".join(out)


def _notes_hint(report: Report, paths: list[Path]) -> str:
    n = len(report.notes)
    named = " ".join(p.as_posix() for p in paths)
    return f"{_plural(n, 'note')} (naftiko-gen validate {named} --notes)"


def _report_ownership(changes: Changes, out_dir: Path) -> bool:
    """Warn about foreign files; print refusals. True when the build must stop."""
    for rel in changes.foreign:
        _warn(
            f"{(out_dir / rel).as_posix()} was not written by naftiko-gen; it is left alone "
            f"(not listed in {(out_dir / MANIFEST).as_posix()})"
        )
    if changes.manifest_error is not None:
        _fail(changes.manifest_error)
        return True
    for rel in changes.conflicts:
        _fail(
            f"refusing to overwrite {(out_dir / rel).as_posix()}: naftiko-gen did not write it "
            f"(it is not listed in {(out_dir / MANIFEST).as_posix()}) and it differs from the "
            "generated file; move it away, or choose another output folder with -o"
        )
    return bool(changes.conflicts)


def _build(
    paths: list[Path],
    out_dir: Path,
    check: bool,
    quiet: bool,
    verbose: bool,
    openapi: dict[str, Path] | None = None,
    strict: bool = False,
    family: tuple[str, Any] | None = None,
) -> int:
    blocker = _not_a_folder(out_dir)
    if blocker is not None:
        _fail(
            f"-o {out_dir.as_posix()}: {blocker.as_posix()} is a file, not a folder; "
            "name a folder (it is created if missing)"
        )
        return EXIT_INVALID
    # An output folder made here for a build that writes nothing (errors, refusals, Ctrl-C) is
    # removed again.
    made = None if check else _make_folders(out_dir)
    try:
        return _build_and_write(paths, out_dir, check, quiet, verbose, openapi, strict, family)
    finally:
        for folder in reversed(made or []):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty: the build wrote into it


def _make_folders(out_dir: Path) -> list[Path] | None:
    """Create the output folder; the folders that did not exist (outermost first), or None."""
    missing = []
    for candidate in (out_dir, *out_dir.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return list(reversed(missing))


def _build_and_write(
    paths: list[Path],
    out_dir: Path,
    check: bool,
    quiet: bool,
    verbose: bool,
    openapi: dict[str, Path] | None,
    strict: bool,
    family: tuple[str, Any] | None = None,
) -> int:
    with _progress(paths):
        result: Generated = run_build(paths, out_dir, openapi)
        if family is not None and not result.report.has_errors():
            from naftiko_gen.compose import add_family

            add_family(result, paths, out_dir, openapi, *family)
    report = result.report
    _print_report(report, show_warnings=not quiet)
    if report.has_errors():
        click.echo(
            f"naftiko-gen: {_counts(report, notes=False, always=True)}; nothing was written",
            err=True,
        )
        return EXIT_INVALID
    skips = skipped_by_spec(report, result.specs)
    if strict and skips:
        click.echo(
            f"naftiko-gen: --strict: {_plural(sum(map(len, skips.values())), 'skipped part')}; "
            "nothing was written",
            err=True,
        )
        return EXIT_INVALID
    if not quiet:
        for package, parts in skips.items():
            click.echo(f"{package}: {len(parts)} skipped ({', '.join(parts)})", err=True)
    changes = plan_changes(result.files, result.specs, out_dir)
    summary = _counts(report, notes=False)
    if skips:  # skipped parts stay warnings, but the summary says how many (--strict fails)
        skipped = _plural(sum(map(len, skips.values())), "part")
        summary += f" ({skipped} skipped; --strict fails on them)"
    if summary and not quiet:
        click.echo(summary, err=True)
    if report.notes and not quiet:
        click.echo(_notes_hint(report, paths), err=True)
    if _report_ownership(changes, out_dir):
        return EXIT_INVALID
    if check:
        if changes.clean:
            click.echo(
                f"{out_dir.as_posix()}/ is up to date ({_plural(len(result.packages), 'package')})"
            )
            return EXIT_OK
        click.echo(_colour_diff(describe(changes, out_dir)), nl=False)
        click.echo(
            f"naftiko-gen: {out_dir.as_posix()}/ is stale; run 'naftiko-gen build "
            f"{' '.join(p.as_posix() for p in paths)}' and commit the result",
            err=True,
        )
        return EXIT_DIFF

    def log(action: str, path: str) -> None:
        if verbose:
            click.echo(f"{action} {path}")

    try:
        apply_changes(changes, out_dir, log=log)
    except OSError as exc:
        _fail(
            f"cannot write {out_dir.as_posix()}/: {exc.strerror or exc} "
            f"({exc.filename or out_dir})"
        )
        return EXIT_INVALID
    written = len(changes.write) + len(changes.remove) + len(changes.remove_dirs)
    click.echo(
        f"built {_plural(len(result.packages), 'package')} into {out_dir.as_posix()}/: "
        f"{_plural(written, 'change')}, {changes.unchanged} file(s) unchanged"
    )
    return EXIT_OK


@cli.command("validate", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="json lists every diagnostic, notes included.",
)  # fmt: skip
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (notes never fail).")
@click.option("--notes", "show_notes", is_flag=True, help="Also list notes (accepted deviations).")
@click.option("--openapi", "openapi", multiple=True, metavar="NAMESPACE=FILE", help=OPENAPI_HELP)
@click.pass_context
def validate_cmd(
    ctx: click.Context,
    paths: tuple[Path, ...],
    fmt: str,
    strict: bool,
    show_notes: bool,
    openapi: tuple[str, ...],
) -> None:
    """Check specs without generating: schema, semantic rules, wiring."""
    documents = _openapi_mapping(openapi)

    def body() -> int:
        from naftiko_gen.reader.versions import VERSION_READ as version_read  # validate reads

        report, unreadable = validate(list(paths), documents)
        if fmt == "json":
            click.echo(report.to_json())
        else:
            for d in _by_severity(report):
                # the version a document was read as is always said (reader/versions.py)
                if d.severity is not Severity.NOTE or show_notes or d.rule in version_read:
                    click.echo(_styled(d))
            summary = _counts(report, notes=show_notes, always=True)
            if report.notes and not show_notes:
                summary += f", {_plural(len(report.notes), 'note')} (--notes lists them)"
            click.echo(summary, err=True)
        if unreadable:
            return EXIT_INVALID
        if report.has_errors() or (strict and report.warnings):
            return EXIT_DIFF
        return EXIT_OK

    ctx.exit(_guarded(ctx.obj["debug"], body))


@cli.command("rules")
def rules_cmd() -> None:
    """Print every diagnostic rule as a Markdown table (id, severity, meaning, fix)."""
    click.echo(markdown_table(), nl=False)


@cli.group("import")
def import_group() -> None:
    """Write capability specs from another API description."""


@import_group.command("openapi")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--by", type=click.Choice(["document", "tag", "path"]), default="document",
    show_default=True,
    help="One capability for the whole document, one per tag, or one per first path segment.",
)  # fmt: skip
@click.option("--include", multiple=True, metavar="GLOB",
              help="Import only operations whose operationId, path, 'METHOD path' or tag matches "
              "(repeatable).")  # fmt: skip
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Leave out operations that match (as --include; repeatable).")  # fmt: skip
@click.option(
    "-o", "--output", "out_dir", default=Path("specs"), type=click.Path(path_type=Path),
    show_default=True, help="Folder that receives the specs.",
)  # fmt: skip
@click.option("--name", help="File and namespace prefix (default: from the API title).")
@click.option("--base-uri", help="Upstream base URI (default: the document's first server).")
@click.option("--env-prefix", help="Prefix of the secret variables (default: from the API title).")
@click.option("--force", is_flag=True, help="Overwrite existing spec files.")
@click.pass_context
def import_openapi_cmd(
    ctx: click.Context,
    file: Path,
    by: str,
    out_dir: Path,
    name: str | None,
    base_uri: str | None,
    env_prefix: str | None,
    force: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Write alpha2 capability specs from an OpenAPI 3.x or Swagger 2.0 FILE (YAML or JSON), and
    the document itself as openapi/<namespace>.yaml beside them (builds read it from there)."""
    from naftiko_gen.openapi_import import run_import

    ctx.exit(
        _guarded(
            ctx.obj["debug"],
            lambda: run_import(
                file, by, out_dir, name, base_uri, env_prefix, force, include, exclude
            ),
        )
    )


@cli.command("deploy-files")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", "out_dir", default=Path("deploy"), type=click.Path(path_type=Path),
    show_default=True, help="Folder that receives one folder per capability.",
)  # fmt: skip
@click.option("--image", help="Container image name (default: naftiko/<package>:latest).")
@click.option("--replicas", default=2, show_default=True, type=click.IntRange(1, 1000))
@click.option("--generated", "generated_dir", default=Path("generated"), show_default=True,
              type=click.Path(path_type=Path), help="Where 'build' wrote the packages.")  # fmt: skip
@click.option(
    "--compose", "compose", metavar="NAME", default=None,
    help="The files of the family package NAME (build --compose NAME): one Deployment serving "
    "every capability, instead of one per capability.",
)  # fmt: skip
@click.pass_context
def deploy_files_cmd(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out_dir: Path,
    image: str | None,
    replicas: int,
    generated_dir: Path,
    compose: str | None,
) -> None:
    """Write a Dockerfile and Kubernetes manifests for each capability spec (or their family)."""
    from naftiko_gen.deploy import run_deploy_files

    ctx.exit(
        _guarded(
            ctx.obj["debug"],
            lambda: run_deploy_files(list(paths), out_dir, image, replicas, generated_dir, compose),
        )
    )


@cli.command("serve", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--mock",
    is_flag=True,
    help="Also start a mock upstream answering every consumed operation (no API key).",
)
@click.option(
    "--rest-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the (first, or the family's) REST server (default: the spec's; 0: any "
    "free port).",
)
@click.option(
    "--mcp-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the (first, or the family's) MCP server (default: the spec's; 0: any "
    "free port).",
)
@click.option("--openapi", "openapi", multiple=True, metavar="NAMESPACE=FILE", help=OPENAPI_HELP)
@click.option(
    "-o", "--output", "out_dir", default=Path("generated"), type=click.Path(path_type=Path),
    show_default=True, help="Used as it is when fresh for these specs; else a temporary build.",
)  # fmt: skip
@_family_options
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    paths: tuple[Path, ...],
    mock: bool,
    rest_port: int | None,
    mcp_port: int | None,
    openapi: tuple[str, ...],
    out_dir: Path,
    prefix_all: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Build and run the REST and MCP servers of one spec, or of a family (several specs: a
    folder of them) on one REST port and one MCP endpoint.

    In a family, a tool name two capabilities share is listed as <capability>_<name>, and a
    capability whose routes collide with another's is served under /<capability>.
    With --mock, a mock upstream answers every consumed operation (from the spec's mock values,
    the upstream's OpenAPI examples or schemas, or plausible JSON), the servers are pointed at
    it and every secret gets a dummy value. Prints one line per server; Ctrl-C stops them all.
    """
    from naftiko_gen.serve import run_serve

    documents = _openapi_mapping(openapi)
    selection = _selection(prefix_all, include, exclude)
    ctx.exit(
        _guarded(
            ctx.obj["debug"],
            lambda: run_serve(
                list(paths), out_dir, mock, rest_port, mcp_port, documents, selection
            ),
        )
    )


def main(argv: list[str] | None = None) -> Any:
    if argv is not None:
        return cli.main(args=argv, prog_name="naftiko-gen")
    return cli.main(prog_name="naftiko-gen")  # the command line (console script, python -m)


if __name__ == "__main__":
    sys.exit(main())
