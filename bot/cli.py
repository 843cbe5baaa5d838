"""`qabot`: the local harness over the same pipeline the Discord bot uses."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.config import Settings, load_settings
from bot.reading import read_paths
from bot.render import printable, render_answer, render_explanation, terminal_width, wants_style
from bot.service import QAService
from bot.spaces import Spaces
from index.errors import IndexMissingError, InputError, QABotError
from index.store import index_exists

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("qabot")


def common(func: F) -> F:
    """--config and --index-dir, accepted by every command."""
    func = click.option(
        "--index-dir", type=click.Path(file_okay=False), default=None,
        help="Index directory (default: $QABOT_INDEX_DIR or ~/.local/share/qabot/index).",
    )(func)
    func = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), default=None,
        envvar="QABOT_CONFIG", help="TOML settings file (see config.example.toml).",
    )(func)
    return func


def guild_option(func: F) -> F:
    """--guild ID: act on that Discord server's space (default: the default space)."""
    return click.option(
        "--guild", "guild", type=int, default=None, metavar="ID",
        help="A Discord server's id: act on exactly what that server sees (default: the default space).",
    )(func)


def make_service(config_path: str | None, index_dir: str | None, guild: int | None = None) -> QAService:
    settings: Settings = load_settings(config_path)
    return Spaces.create(settings, settings.index_dir(index_dir)).for_guild(guild)


class ProgressBar:
    """A progress bar on stderr while sentences are embedded (a bot.progress.Progress)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def total(self, n: int) -> None:
        self.bar = click.progressbar(length=max(n, 1), label=self.label, file=sys.stderr)
        self.bar.__enter__()

    def step(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def build_with_progress(service: QAService, sources: list[Any], label: str = "Embedding",
                        feeds: list[Any] | None = None) -> dict[str, Any]:
    progress = ProgressBar(label)
    try:
        return service.catalog.build(sources, progress=progress, feeds=feeds)
    finally:
        progress.close()


def ensure_index(service: QAService, explicit_dir: bool) -> None:
    """Build the configured sources first when the default index does not exist yet."""
    service = service.base or service  # a server without its own index is answered from the default
    if index_exists(service.index_dir) or service.registered:
        return  # (registered: PostgreSQL holds its sources; the index is rebuilt from them when asked)
    if explicit_dir:
        raise IndexMissingError(
            f"There is no index at {service.index_dir}. Build one with "
            f"`qabot index --index-dir {service.index_dir}`."
        )
    click.echo(f"No index yet at {service.index_dir}; building it from the configured sources first.", err=True)
    build_with_progress(service, service.catalog.configured_sources())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qabot")
def main() -> None:
    """Answer questions about news articles with exact, checkable citations."""


@main.command("index")
@common
@guild_option
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Rebuild from the sources the index already holds.")
def index_cmd(config_path: str | None, index_dir: str | None, guild: int | None, sources: tuple[Path, ...],
              rebuild: bool) -> None:
    """Build the index from files or directories (default: the configured sources)."""
    service = make_service(config_path, index_dir, guild)
    if rebuild and sources:
        raise InputError("--rebuild takes no SOURCE: it rebuilds what the index already holds.")
    feeds: list[Any] = []
    if rebuild:
        chosen, origin, feeds = service.catalog.recover_sources()
        click.echo(f"Rebuilding from {origin}.", err=True)
    else:
        chosen = read_paths(list(sources)) if sources else service.catalog.configured_sources()
    manifest = build_with_progress(service, chosen, feeds=feeds)
    counts = manifest["counts"]
    click.echo(
        f"Indexed {counts['sources']} source(s): {counts['chunks']} passages, "
        f"{counts['sentences']} sentences ({manifest['indexed']} indexed anew) in {service.index_dir}"
    )


def _questions(file: str) -> Iterator[str]:
    stream = sys.stdin if file == "-" else None
    if stream is None:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"Question file {file} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"Question file {file} cannot be read: {exc}.") from None
        lines = text.splitlines()
    else:
        lines = [line.rstrip("\n") for line in stream]
    yield from (line for line in lines if line.strip())


@main.command("ask")
@common
@guild_option
@click.argument("question", required=False)
@click.option("--file", "file", default=None, help="Read one question per line from FILE ('-' for stdin).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per line with --file).")
@click.option("--top-k", type=int, default=None, help="How many sentences to retrieve before answering.")
@click.option("--explain", is_flag=True, help="Also show each passage's features, weights and the decision.")
def ask_cmd(config_path: str | None, index_dir: str | None, guild: int | None, question: str | None,
            file: str | None, as_json: bool, top_k: int | None, explain: bool) -> None:
    """Answer QUESTION (or every line of --file) from the index."""
    if (question is None) == (file is None):
        raise InputError("Give a QUESTION or --file FILE (not both).")
    if question is not None and not question.strip():
        raise InputError("The question is empty.")
    if top_k is not None and top_k < 1:
        raise InputError("--top-k must be at least 1.")
    questions = [question] if question is not None else list(_questions(file or "-"))
    if not questions:
        raise InputError("The question file holds no questions.")
    service = make_service(config_path, index_dir, guild)
    ensure_index(service, explicit_dir=index_dir is not None)
    for q in questions:
        answer = service.ask(q, top_k, explain=explain)
        if as_json:
            click.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            if len(questions) > 1:
                click.echo(f"Q: {answer.question}")
            if answer.explanation:  # the verdict first: that is what --explain is asked for
                click.echo(render_explanation(answer.explanation, answer))
            click.echo(render_answer(answer, terminal_width(), wants_style()))


CHAT_HELP = ("Ask about the indexed sources; follow-ups (\"and Johnson?\", \"what did he say about NATO?\") "
             "are read with the questions before them. :reset starts over, :help shows this, "
             ":q, an empty line or Ctrl-D quits.")


def _line_editing() -> None:
    """Arrow keys, editing and a history kept across sessions (``$XDG_STATE_HOME/qabot/history``),
    when the input is a terminal and Python has readline."""
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline
        return
    import atexit
    import os

    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "qabot"
    history = state / "history"
    try:
        state.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
    except OSError:
        log.info("no chat history at %s", history, exc_info=True)
    readline.set_history_length(1000)

    def save() -> None:
        try:
            readline.write_history_file(history)
        except OSError:
            log.info("could not save the chat history to %s", history, exc_info=True)

    atexit.register(save)


@main.command("chat")
@common
def chat_cmd(config_path: str | None, index_dir: str | None) -> None:
    """Ask questions one after another, follow-ups read with the ones before (:reset, :help, :q)."""
    service = make_service(config_path, index_dir)
    ensure_index(service, explicit_dir=index_dir is not None)
    interactive = sys.stdin.isatty()
    if interactive:
        _line_editing()
    click.echo(CHAT_HELP, err=True)
    history: list[Any] = []
    while True:
        try:
            question = input("qabot> " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            click.echo("", err=True)
            return
        command = question.strip().lower()
        if command in ("", ":q", ":quit", ":exit"):
            return
        if command == ":reset":
            history.clear()
            click.echo("Starting over: the next question stands alone.", err=True)
            continue
        if command in (":help", ":h", ":?"):
            click.echo(CHAT_HELP, err=True)
            continue
        try:
            answer = service.ask(question, history=history)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            continue
        click.echo(render_answer(answer, terminal_width(), wants_style()))
        history.append(service.turn_of(answer))


@main.command("eval")
@common
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--with-source", "extra", multiple=True, type=click.Path(path_type=Path),
              help="Evaluate on a temporary index of the configured sources plus this file (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--show-failures", is_flag=True, help="List the questions that missed.")
@click.option("--ablate", "ablate", default=None, metavar="FEATURE",
              help="Rerun with this feature's fitted weight set to zero (see `qabot ask --explain`).")
def eval_cmd(config_path: str | None, index_dir: str | None, file: Path, extra: tuple[Path, ...],
             as_json: bool, show_failures: bool, ablate: str | None) -> None:
    """Score answers on a JSONL dev set (key phrase, hit@1/3, MRR, abstention, length)."""
    import tempfile

    from bot.evaluate import Outcome, evaluate, load_cases, report_json
    from index.model import load_model

    cases = load_cases(file)
    model = load_model().without(ablate) if ablate else None
    service = make_service(config_path, index_dir)
    with tempfile.TemporaryDirectory(prefix="qabot-eval-") as tmp:
        if extra:
            service = QAService(service.settings, Path(tmp), embedder=service.embedder)
            service.catalog.build(service.catalog.configured_sources() + read_paths(list(extra)))
        else:
            ensure_index(service, explicit_dir=index_dir is not None)
        if model is not None:
            service.use_model(model)

        def run_one(question: str) -> Outcome:
            answer = service.ask(question)
            return Outcome(answer.found, answer.answer, [c.text for c in answer.citations])

        report = evaluate(f"qabot without {ablate}" if ablate else "qabot", cases, run_one)
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False))
        return
    click.echo("\n".join(report.lines()))
    if show_failures and report.failures:
        click.echo("\nmisses:")
        for failure in report.failures:
            click.echo(f"  - {failure}")


@main.command("reindex")
@common
@guild_option
@click.argument("ids", nargs=-1)
def reindex_cmd(config_path: str | None, index_dir: str | None, guild: int | None, ids: tuple[str, ...]) -> None:
    """Re-read sources (all, or the given ids) and swap in the new index; unchanged text is reused."""
    service = make_service(config_path, index_dir, guild)
    progress = ProgressBar("Embedding")
    try:
        report = service.catalog.reindex(list(ids) or None, progress=progress)
    finally:
        progress.close()
    click.echo(report.summary())
    if report.failed:
        raise click.exceptions.Exit(1)


def _add_commands() -> None:
    """`qabot sources` lives in bot.cli_sources, `qabot gaps` and `qabot brief` in bot.cli_insight,
    `qabot serve` in bot.cli_serve, `qabot migrate-db` in bot.cli_db (they import the options above)."""
    from bot.cli_insight import brief_cmd, gaps_cmd
    from bot.cli_serve import serve_cmd
    from bot.cli_sources import sources_cmd

    main.add_command(sources_cmd)
    main.add_command(gaps_cmd)
    main.add_command(brief_cmd)
    main.add_command(serve_cmd)
    from bot.cli_db import migrate_db_cmd

    main.add_command(migrate_db_cmd)


_add_commands()


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; domain errors become one line on stderr and exit code 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        # without standalone mode click returns (not raises) the code of a command's Exit
        code = main.main(args=argv, prog_name="qabot", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except QABotError as exc:
        click.echo(f"error: {printable(str(exc))}", err=True)
        return 1
    except BrokenPipeError:
        return 0
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(run())
