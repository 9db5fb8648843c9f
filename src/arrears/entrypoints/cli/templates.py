"""`arrears templates lint PATH...`: prohibited language and required elements in message templates.

Exit codes: 0 no findings, 1 findings, 2 bad input (a path that does not exist, an unknown profile).
"""

from __future__ import annotations

from pathlib import Path

import typer

from arrears.adapters.profile_file import load_profile
from arrears.domain.errors import InputError
from arrears.domain.lint import CATEGORIES, Finding, count_by_category, lint_template, template_meta
from arrears.entrypoints.cli.console import EXIT_FINDINGS, EXIT_OK, console, print_json
from arrears.entrypoints.cli.language import _
from arrears.entrypoints.cli.output import Column, count, fitted_table

templates_app = typer.Typer(
    help="Message templates: lint them against the collection rules.", no_args_is_help=True
)

TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
# The profile whose template requirements (opt-out in electronic messages) apply per language.
PROFILE_BY_LANGUAGE = {"en": "us-reg-f", "zh-CN": "cn", "zh-TW": "cn"}


def register(app: typer.Typer) -> None:
    app.add_typer(templates_app, name="templates")


def template_files(paths: list[Path]) -> list[Path]:
    """The templates under the given files and directories (recursively), in a stable order."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TEMPLATE_SUFFIXES))
            )
        elif path.is_file():
            out.append(path)
        else:
            raise InputError("no such file or directory", file=str(path))
    return out


def lint_paths(paths: list[Path], profile: str | None = None) -> tuple[list[Path], list[Finding]]:
    """Lint every template under `paths`; `profile` fixes the opt-out requirement, else it follows the language."""
    files = template_files(paths)
    cache: dict[str, bool] = {}

    def opt_out_required(name: str) -> bool:
        if name not in cache:
            cache[name] = load_profile(name).templates.opt_out_electronic
        return cache[name]

    findings: list[Finding] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", file=str(path)) from None
        meta = template_meta(str(path), text)
        name = profile or PROFILE_BY_LANGUAGE.get(meta.language or "", "cn")
        findings.extend(lint_template(str(path), text, opt_out_required=opt_out_required(name)))
    return files, findings


@templates_app.command("lint")
def lint(
    paths: list[Path] = typer.Argument(None, help="Template files or directories (default: templates/)."),
    profile: str | None = typer.Option(
        None, "--profile", help="Profile whose template rules apply (default: us-reg-f for en, cn for zh)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Flag prohibited language (threats, impersonation, shaming ...) and missing required elements."""
    files, findings = lint_paths(paths or [Path("templates")], profile)
    if json_out:
        print_json(
            {
                "files": len(files),
                "findings": [f.to_dict() for f in findings],
                "counts": count_by_category(findings),
            }
        )
    else:
        render_findings(files, findings)
    raise typer.Exit(EXIT_FINDINGS if findings else EXIT_OK)


def render_findings(files: list[Path], findings: list[Finding]) -> None:
    """Findings as file:line:column lines, then a count per category."""
    for f in findings:
        console.print(
            f"{f.file}:{f.line}:{f.column}-{f.end_column} [bold]{f.category}[/] {f.rule}: {f.excerpt!r}",
            highlight=False,
        )
        console.print(f"    {f.message}", highlight=False, markup=False)
    if not findings:
        console.print(_("{templates} template(s) checked: no findings").format(templates=count(len(files))))
        return
    title = _("{findings} finding(s) in {templates} template(s)").format(
        findings=count(len(findings)), templates=count(len(files))
    )
    columns = [Column(_("category"), "key"), Column(_("what"), drop=1), Column(_("findings"), "number")]
    rows = [
        [category, CATEGORIES[category][0], count(n)] for category, n in count_by_category(findings).items()
    ]
    console.print(fitted_table(columns, rows, console=console, title=title))
