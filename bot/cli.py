"""The `speechbot` command: ask and search from a terminal, list speeches, reindex, run the bot."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.logs import redact, setup_logging
from bot.records import Records
from bot.settings import Settings, SettingsError, load_settings
from retrieval.home import default_data_dir, default_db_path, seed_corpus
from retrieval.ingest.corpus import corpus_files
from retrieval.ingest.folder import RefusedChange, read_candidate
from retrieval.offline.evaluation import Question, figures_line, first_answer_rank, load_questions, score
from retrieval.question import read_question
from retrieval.ranking.ranker import TRAINING_ELSEWHERE, TRAINING_NEGATIVES, TRAINING_QUESTIONS, ranker_path
from retrieval.results import Hit, SpeechRef
from retrieval.semantic.choice import EmbedderUnavailable
from retrieval.semantic.vectors import bundle_path, corpus_texts, write_bundle
from retrieval.service import ReindexError, ReindexReport, SearchService
from retrieval.shown import file_label, unhashed
from retrieval.storage.store import Store, StoreUnavailable

SCRIPT_OPTION = ("--script",)
SCRIPT_HELP: dict[str, Any] = {
    "choices": ("source", "simplified", "traditional"),
    "default": "source",
    "help": "the script titles are printed in: each speech's own (default), or one for all",
}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"speechbot: {exc}", file=sys.stderr)
        return 2
    if args.data_dir:
        settings = replace(settings, data_dir=Path(args.data_dir))
    if args.db:
        settings = replace(settings, db_path=Path(args.db))
    # Only the real bot logs at LOG_LEVEL; commands, and the local chat (whose terminal is the conversation),
    # log warnings alone, to stderr.
    serving = args.command == "run" and bool(settings.token)
    secrets = [settings.token, settings.webhook_secret, settings.user_hash_salt]
    setup_logging(settings.log_level if serving else "WARNING", secrets)
    if args.command not in ("reindex", "export-log"):  # the others answer with the meaning model, or fit for it
        try:
            settings.embedder.check()
        except EmbedderUnavailable as exc:
            print(f"speechbot: {exc}", file=sys.stderr)
            return 2
    if settings.data_dir == default_data_dir():
        try:
            seed_corpus(settings.data_dir)
        except OSError as exc:
            print(f"speechbot: cannot set up the corpus folder {settings.data_dir}: {exc.strerror}", file=sys.stderr)
            return 1
    if args.command == "run" and settings.token:
        return _run_bot_reporting(settings)
    if args.command == "run":
        print("No TELEGRAM_BOT_TOKEN set: starting the local harness chat (no Telegram, no network).", file=sys.stderr)
        args.handler = _chat
    try:
        return asyncio.run(args.handler(settings, args))
    except StoreUnavailable as exc:
        print(f"speechbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (speechbot ask … | head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, sqlite3.OperationalError) as exc:  # a full disk, a read-only folder: the operator's to fix
        print(f"speechbot: {condition(exc)}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speechbot", description=__doc__)
    parser.add_argument(
        "--data-dir",
        help=f"corpus folder (default: $SPEECHBOT_DATA_DIR or {default_data_dir()}, seeded from the bundled corpus)",
    )
    parser.add_argument("--db", help=f"SQLite store (default: $SPEECHBOT_DB or {default_db_path()})")
    commands = parser.add_subparsers(dest="command", required=True)

    def _command(name: str, about: str) -> argparse.ArgumentParser:
        """A subcommand whose --help says what it does (the same line as in `speechbot --help`)."""
        return commands.add_parser(name, help=about, description=about)

    ask = _command("ask", "answer a question as the bot would, in the terminal")
    ask.add_argument("question", nargs="+", help="the question, in Simplified or Traditional (the answer follows it)")
    ask.add_argument("--top-k", type=at_least_one, default=3, help="how many passages to show (default: 3)")
    ask.add_argument(
        "--wait-vectors",
        action="store_true",
        help="embed the passages the vector cache lacks first (else they are searched by words, said on stderr)",
    )
    ask.set_defaults(handler=_ask)

    search = _command("search", "ranked passages as JSON lines (one query a line from stdin if none given)")
    search.add_argument("query", nargs="*", help="the query; with none, one query a line is read from stdin")
    search.add_argument("--json", action="store_true", help="one JSON object per query (the default and only format)")
    search.add_argument("--top-k", type=at_least_one, default=10, help="passages per query (default: 10)")
    search.add_argument(*SCRIPT_OPTION, **SCRIPT_HELP)
    search.add_argument(
        "--wait-vectors",
        action="store_true",
        help="embed the passages the vector cache lacks first (else they are searched by words, said on stderr)",
    )
    search.set_defaults(handler=_search)

    speeches = _command("speeches", "list the speeches held: id, title, source file, paragraphs")
    speeches.add_argument(*SCRIPT_OPTION, **SCRIPT_HELP)
    speeches.set_defaults(handler=_speeches)

    reindex = _command("reindex", "rebuild the index from the data folder (the old one stays if it fails)")
    reindex.set_defaults(handler=_reindex)

    add = _command(
        "add",
        "check speech files and add them to the data folder, then reindex; into an empty or new folder they "
        "start a corpus",
    )
    add.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help=".txt (UTF-8 or GB18030), .docx or .md speech files; nothing is added if any is refused",
    )
    add.set_defaults(handler=_add)

    export = _command("export-log", "write the query log as CSV (unanswered questions show gaps)")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.set_defaults(handler=_export_log)

    run = _command("run", "run the bot (the local chat when no TELEGRAM_BOT_TOKEN is set)")
    run.set_defaults(handler=None)

    chat = _command(
        "chat",
        "talk to the real bot in this terminal through a local Bot API server; one line a message, #N presses "
        "button N, '@ 问题' runs an inline query",
    )
    chat.set_defaults(handler=_chat)

    evaluate = commands.add_parser(
        "eval", help="score retrieval on questions with answer spans (the figures ../shared/eval/score.py prints)"
    )
    evaluate.add_argument(
        "questions",
        nargs="?",
        type=Path,
        default=TRAINING_QUESTIONS,
        help="JSON lines with question and answers (default: the bundled training questions)",
    )
    evaluate.add_argument(
        "--cv",
        action="store_true",
        help="cross-validate the ranker on these questions instead (the honest figures for "
        "questions it was fitted on): folds x seeds, mean ± spread, per difficulty",
    )
    evaluate.add_argument("--folds", type=int, default=5, help="folds for --cv (default 5)")
    evaluate.add_argument("--seeds", type=int, default=3, help="seeds for --cv (default 3)")
    evaluate.add_argument(
        "--negatives",
        type=Path,
        default=TRAINING_NEGATIVES,
        help="off-topic questions added to every training split for --cv (default: bundled)",
    )
    evaluate.add_argument(
        "--elsewhere",
        type=Path,
        default=TRAINING_ELSEWHERE,
        help="questions about places no speech speaks for: gate negatives, scored out-of-fold for --cv "
        "(default: bundled)",
    )
    evaluate.add_argument("--misses", action="store_true", help="list the questions not answered in the top 3")
    evaluate.add_argument(
        "--wait-vectors",
        action="store_true",
        help="embed the passages the vector cache lacks first (else they are searched by words, said on stderr)",
    )
    evaluate.set_defaults(handler=_eval)

    train = commands.add_parser("train", help="refit the ranker and the gate on questions with answer spans")
    train.add_argument(
        "questions",
        nargs="?",
        type=Path,
        default=TRAINING_QUESTIONS,
        help="JSON lines with question and answers (default: the bundled training questions)",
    )
    train.add_argument(
        "--negatives",
        type=Path,
        default=TRAINING_NEGATIVES,
        help="off-topic questions for the gate only, never scored (default: the bundled ones)",
    )
    train.add_argument(
        "--elsewhere",
        type=Path,
        default=TRAINING_ELSEWHERE,
        help="questions about places no speech speaks for, for the gate (default: the bundled ones)",
    )
    train.add_argument(
        "--out",
        type=Path,
        help="model file to write (default: data/models/ranker__<meaning model>.json, for SPEECHBOT_EMBEDDER's model)",
    )
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    train.add_argument("--seeds", type=int, default=3, help="cross-validation seeds (default 3)")
    train.set_defaults(handler=_train)

    embed = commands.add_parser(
        "embed", help="compute the corpus's missing meaning vectors now and write them beside the corpus"
    )
    embed.set_defaults(handler=_embed)

    return parser


def at_least_one(text: str) -> int:
    """A count of passages: a whole number from 1 (0 would say "nothing found" of every question)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


# C0 and C1 control characters but tab and line feed: an ESC starts a terminal escape sequence (clear the
# screen, retitle the window, rewrite a line already shown), whatever text carries it.
_TERMINAL_CONTROLS = dict.fromkeys(p for p in (*range(0x20), *range(0x7F, 0xA0)) if chr(p) not in "\t\n")


def terminal_safe(text: str) -> str:
    """Text as a terminal may be given it: control characters out (the escapes this program adds come after)."""
    return text.translate(_TERMINAL_CONTROLS)


def condition(exc: OSError | sqlite3.OperationalError) -> str:
    """An operating-system or SQLite condition in one line: what failed and on which file."""
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc)


# What a one-shot command does about passages the vector cache lacks: embed them first (WAIT), say on
# stderr how many are searched by words alone (TELL), or nothing (commands that do not search).
WAIT, TELL, IGNORE = "wait", "tell", "ignore"


def _vectors_mode(args: argparse.Namespace) -> str:
    return WAIT if args.wait_vectors else TELL


async def _with_service(
    settings: Settings, work: Callable[[SearchService], Awaitable[int]], vectors: str = IGNORE
) -> int:
    """Run `work` on a started service. No embedding process is started unless the command waits for it:
    one stopped at the command's end would have embedded a batch or two for nothing."""
    async with Store(settings.db_path) as store:
        service = SearchService(store, settings.data_dir, settings.embedder, fill=False)
        try:
            report = await service.start(progress=_progress_bar())
        except ReindexError as exc:
            print(f"speechbot: {exc}", file=sys.stderr)
            return 1
        if report:
            _print_report(report, file=sys.stderr)
        try:
            await service.wait_for_model()
            if vectors == WAIT:
                service.fill_vectors()
                await _wait_for_vectors(service)
            elif vectors == TELL and (missing := service.missing_vectors):
                print(
                    f"speechbot: passages with no meaning vector yet: {missing} of {len(service.index.chunks)}, "
                    "searched by words alone (--wait-vectors embeds them first)",
                    file=sys.stderr,
                )
            return await work(service)
        finally:
            await service.close()  # also stores the weights of a change it made


async def _wait_for_vectors(service: SearchService) -> None:
    """Embed what the cache lacks first, with a progress bar (redrawn twice a second while the job runs);
    a job that failed is said in one line, and the command goes on with the vectors in hand."""
    progress = service.embedding_progress
    bar = tqdm(total=progress.total, unit="text", desc="embedding", file=sys.stderr, leave=False)
    waiting = asyncio.ensure_future(service.wait_for_vectors())
    while not waiting.done():
        await asyncio.wait([waiting], timeout=0.5)
        progress = service.embedding_progress
        bar.total = progress.total
        bar.update(progress.done - bar.n)
    bar.close()
    await waiting
    if progress.failed:
        print(
            f"speechbot: embedding stopped after {progress.done} of {progress.total} texts ({progress.failed}); "
            f"{service.missing_vectors} passages are searched by words alone",
            file=sys.stderr,
        )


async def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from bot.harness.telegram_html import html_to_ansi
    from bot.view.render import PAGE_CHARS, answer_html, no_answer_html, places_note, shortened_note
    from bot.view.script import writer_for

    if not read_question(" ".join(args.question)).text:  # told before the service's slow start
        print("请输入一个问题，例如：speechbot ask 区长质量奖的奖金是多少", file=sys.stderr)
        return 2
    page_chars = PAGE_CHARS * -(-args.top_k // 3)  # as the bot's pages of three passages

    async def work(service: SearchService) -> int:
        found = await service.search(" ".join(args.question), args.top_k)
        question, note = found.question.text, shortened_note(found.question)
        writer = writer_for(question, None, settings.traditional_variant)
        shown_note = "\n".join(filter(None, [note, places_note(found.uncovered_places)]))
        html = (
            answer_html(
                question, found.hits, note=shown_note, confidence=found.confidence, writer=writer, limit=page_chars
            )
            if found.hits
            else no_answer_html(question, note, writer, found.uncovered_places, found.elsewhere)
        )
        html = terminal_safe(html)  # the corpus's text (a store made before it was cleaned at reading, say)
        print(html_to_ansi(html) if sys.stdout.isatty() else _plain(html))
        return 0

    return await _with_service(settings, work, _vectors_mode(args))


async def _search(settings: Settings, args: argparse.Namespace) -> int:
    queries = [" ".join(args.query)] if args.query else None
    titled = _title_writer(args.script)

    async def work(service: SearchService) -> int:
        lines = queries if queries is not None else (line.rstrip("\n") for line in sys.stdin)
        for query in lines:
            found = await service.search(query, args.top_k)
            print(
                json.dumps(
                    {
                        "query": query,
                        "confidence": found.confidence.value,
                        "results": hits_json(found.hits, titled),
                        "uncovered_places": list(found.uncovered_places),  # asked, and no speech speaks for them
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
        return 0

    return await _with_service(settings, work, _vectors_mode(args))


async def _speeches(settings: Settings, args: argparse.Namespace) -> int:
    from bot.view.titles import distinct_titles

    titled = _title_writer(args.script)

    async def work(service: SearchService) -> int:
        index = service.index
        speeches = [index.speeches[s] for s in index.speech_order]
        titles = distinct_titles(SpeechRef(s.id, s.title, 0, s.source_title, s.source_file) for s in speeches)
        for speech in speeches:
            paragraphs = index.paragraph_count(speech.id)
            print(
                terminal_safe(
                    f"{speech.id}\t{titled(titles[speech.id])}\t{file_label(speech.source_file)}\t{paragraphs}"
                )
            )
        return 0

    return await _with_service(settings, work)


def _title_writer(script: str) -> Callable[[str], str]:
    """Titles wholly in one script: each in its source's (a derived title's added words follow it), or the
    one asked for."""
    from bot.view.script import Script, Writer, source_script

    if script == "source":
        return lambda title: source_script(title).text(title)
    writer = Writer(Script.SIMPLIFIED if script == "simplified" else Script.TRADITIONAL)
    return writer.text


async def _reindex(settings: Settings, args: argparse.Namespace) -> int:
    async with Store(settings.db_path) as store:
        service = SearchService(store, settings.data_dir)
        try:
            report = await service.reindex(progress=_progress_bar())
        except ReindexError as exc:
            print(f"speechbot: {exc}", file=sys.stderr)
            return 1
        _print_report(report, file=sys.stdout)
        return 0


async def _eval(settings: Settings, args: argparse.Namespace) -> int:
    questions = load_questions(args.questions)
    if args.cv:
        negatives, elsewhere = load_questions(args.negatives), load_questions(args.elsewhere)
        return await _train_or_cv(settings, questions, negatives, elsewhere, args.folds, args.seeds)

    async def work(service: SearchService) -> int:
        results = []
        for q in questions:
            found = await service.search(q.question, 10)
            results.append([h.text for h in found.hits])
            if args.misses and q.answerable and (first_answer_rank(results[-1], q) or 99) > 3:
                print(f"miss: {q.id} {q.question}", file=sys.stderr)
        print(figures_line(score(questions, results)))
        return 0

    return await _with_service(settings, work, _vectors_mode(args))


async def _train(settings: Settings, args: argparse.Namespace) -> int:
    return await _train_or_cv(
        settings,
        load_questions(args.questions),
        load_questions(args.negatives),
        load_questions(args.elsewhere),
        args.folds,
        args.seeds,
        True,
        args.out,
    )


async def _train_or_cv(
    settings: Settings,
    questions: list[Question],
    negatives: list[Question],
    elsewhere: list[Question],
    folds: int,
    seeds: int,
    write: bool = False,
    out: Path | None = None,
) -> int:
    """Cross-validated figures of the ranker on these questions; with `write`, also the refitted model, into
    `out` or the file named after the configured meaning model."""
    from threadpoolctl import threadpool_limits

    try:
        from retrieval.offline import training
    except ImportError as exc:
        print(f"speechbot: fitting needs the train extra (pip install '.[train]'): {exc}", file=sys.stderr)
        return 2

    async def work(service: SearchService) -> int:
        retriever = service.retriever
        embedder = service.embedder
        if embedder is None:
            print(
                f"speechbot: fitting needs the meaning model, which did not load: {_load_error(service)}",
                file=sys.stderr,
            )
            return 1
        bar = tqdm(total=len(questions), unit="question", desc="features", file=sys.stderr, leave=False)
        with threadpool_limits(1):
            model, table = await asyncio.to_thread(
                training.train,
                retriever.index,
                retriever.vectors,
                embedder,
                questions,
                folds,
                tuple(range(1, seeds + 1)),
                negatives,
                lambda done, total: bar.update(done - bar.n),
                elsewhere,
            )
        bar.close()
        print(f"cross-validated, {folds} folds x {seeds} seeds, out-of-fold (mean ± spread over seeds):")
        print(training.format_summary(table))
        if write:
            path = out or ranker_path(embedder.model_id)
            model.save(path)
            print(f"wrote {path}")
        return 0

    return await _with_service(settings, work, WAIT)


async def _embed(settings: Settings, args: argparse.Namespace) -> int:
    """Fill the store's vector cache for the corpus, then write the corpus folder's vector file from it."""

    async def work(service: SearchService) -> int:
        embedder = service.embedder
        if embedder is None:
            print(f"speechbot: the meaning model did not load: {_load_error(service)}", file=sys.stderr)
            return 1
        if not service.embedding_progress.complete:
            return 1  # the job failed: said above; the vector file is not written short
        cached = await service.store.vectors(embedder.model_id)
        keys = {t.key for t in corpus_texts(service.index.chunks)}
        path = bundle_path(settings.data_dir, embedder.model_id)
        write_bundle(path, {k: v for k, v in cached.items() if k in keys})
        print(f"wrote {len(keys)} vectors to {path}")
        return 0

    return await _with_service(settings, work, WAIT)


async def _add(settings: Settings, args: argparse.Namespace) -> int:
    documents = []
    for path in args.files:
        try:
            documents.append((path.name, read_candidate(path, settings.max_upload_bytes)))
        except RefusedChange as exc:
            print(f"speechbot: nothing added: {unhashed(str(exc))}", file=sys.stderr)
            return 1

    async def work(service: SearchService) -> int:
        try:
            report = await service.add_documents(documents, settings.max_upload_bytes)
        except (RefusedChange, ReindexError) as exc:
            print(f"speechbot: nothing added: {unhashed(str(exc))}", file=sys.stderr)
            return 1
        for speech in report.speeches:
            print(terminal_safe(f"added {speech.id}\t{speech.title}\t{file_label(speech.source_file)}"))
        _print_report(report.reindex, file=sys.stdout)
        return 0

    data_dir = settings.data_dir
    if not data_dir.is_dir() or not corpus_files(data_dir):
        # A new corpus: nothing to load or build first; these files start it.
        data_dir.mkdir(parents=True, exist_ok=True)
        async with Store(settings.db_path) as store:
            service = SearchService(store, data_dir, settings.embedder, fill=False)
            try:
                return await work(service)
            finally:
                await service.close()  # stores the new corpus's weights
    return await _with_service(settings, work)


async def _export_log(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.db_path.is_file():
        print(f"speechbot: no store at {settings.db_path}, so no query log", file=sys.stderr)
        return 1
    try:  # read-only: exporting never changes, rebuilds or moves the store
        async with Records(settings.db_path, read_only=True) as records:
            rows = await records.log_rows()
    except sqlite3.Error as exc:
        print(f"speechbot: cannot read the query log in {settings.db_path}: {exc}", file=sys.stderr)
        return 1
    try:
        out = args.out.open("w", encoding="utf-8", newline="") if args.out else sys.stdout
    except OSError as exc:
        print(f"speechbot: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        writer = csv.writer(out)
        writer.writerow(["time", "chat_type", "user_hash", "question", "result_ids", "latency_ms", "feedback"])
        for at, chat_type, user_hash, question, result_ids, latency_ms, feedback in rows:
            writer.writerow(
                [
                    datetime.fromtimestamp(at).isoformat(timespec="seconds"),
                    chat_type,
                    user_hash,
                    spreadsheet_safe(question),
                    result_ids,
                    f"{latency_ms:.1f}",
                    feedback,
                ]
            )
    finally:
        if args.out:
            out.close()
    return 0


# A cell a spreadsheet would read as a formula (=HYPERLINK(…), +cmd|…, @SUM, -1+1): what users typed is text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """The cell as text to Excel, LibreOffice and Sheets alike: a leading apostrophe where it would be a formula."""
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


async def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.harness.chat import run_chat

    return await run_chat(settings)


def _run_bot_reporting(settings: Settings) -> int:
    """run_bot, with a start-up failure told in one line that never holds the token (systemd keeps stderr)."""
    from telegram.error import InvalidToken

    secrets = [settings.token, settings.webhook_secret]
    try:
        wait_for_bot_api(settings, secrets)
        run_bot(settings)  # python-telegram-bot owns the event loop and stops on SIGINT/SIGTERM
    except KeyboardInterrupt:  # Ctrl-C while waiting for the Bot API
        return 130
    except InvalidToken:
        print(
            "speechbot: Telegram refused TELEGRAM_BOT_TOKEN (revoked or mistyped); get the current one from @BotFather",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:
        logging.getLogger("speechbot").debug("the bot stopped on an error", exc_info=True)  # redacted by the filter
        print(f"speechbot: the bot stopped: {redact(f'{exc.__class__.__name__}: {exc}', secrets)}", file=sys.stderr)
        return 1
    return 0


# Waits between tries to reach the Bot API at start-up: doubling, at most this long.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


def wait_for_bot_api(settings: Settings, secrets: list[str]) -> None:
    """Until the Bot API answers: one line per failed try (a network down at boot, a proxy not up yet), and
    waits that double up to a minute. A refused token is not retried: it is raised at once."""
    from telegram import Bot
    from telegram.error import NetworkError

    async def get_me() -> None:
        async with Bot(settings.token, base_url=settings.bot_api_url, base_file_url=settings.bot_file_url) as bot:
            await bot.get_me()

    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            asyncio.run(get_me())
            return
        except NetworkError as exc:  # TimedOut too; InvalidToken is not one
            reason = redact(str(exc) or exc.__class__.__name__, secrets)
            print(
                f"speechbot: the Bot API at {settings.api_base_url} cannot be reached ({reason}); "
                f"trying again in {delay:g} s",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)


def run_bot(settings: Settings) -> None:
    """The real bot: long polling, or webhook mode when WEBHOOK_URL is set. A connection lost while starting
    is retried by python-telegram-bot itself (bootstrap_retries=-1: waits growing to 30 s)."""
    from bot.app import build_application

    application = build_application(settings)
    if settings.webhook_url:
        application.run_webhook(**settings.webhook_options(), bootstrap_retries=-1)
    else:
        application.run_polling(bootstrap_retries=-1)


def hits_json(hits: list[Hit], titled: Callable[[str], str] = str) -> list[dict[str, object]]:
    """Hits as JSON, titles told apart and in one script, files by the names an admin knows."""
    from bot.view.render import reply_titles

    titles = reply_titles(hits)
    return [hit_json(hit, {k: titled(v) for k, v in titles.items()}) for hit in hits]


def hit_json(hit: Hit, titles: dict[str, str] | None = None) -> dict[str, object]:
    titles = titles or {}
    a, b = hit.answer_span
    return {
        "rank": hit.rank,
        "score": hit.score,
        "chunk_id": hit.chunk_id,
        "speech_id": hit.speech_id,
        "speech_title": titles.get(hit.speech_id, hit.speech_title),
        "source_title": hit.source_title,
        "source_file": file_label(hit.source_file),
        "paragraph": hit.paragraph,
        "text": hit.text,
        "best_sentence": hit.best_sentence,
        "answer": hit.shown_text[a:b],
        "answer_paragraph": hit.answer_paragraph,
        "matched_terms": hit.matched_terms,
        "also_in": [
            {
                "speech_id": r.speech_id,
                "speech_title": titles.get(r.speech_id, r.speech_title),
                "paragraph": r.paragraph,
            }
            for r in hit.also_in
        ],
    }


def _progress_bar() -> Callable[[int, int], None]:
    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", desc="indexing", file=sys.stderr, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def _print_report(report: ReindexReport, file) -> None:
    print(f"indexed {report.speeches} speeches, {report.chunks} passages in {report.seconds:.1f} s", file=file)
    for problem in report.problems:
        print(terminal_safe(f"skipped {problem}"), file=file)


def _load_error(service: SearchService) -> str:
    return service.model_state.error or "see the log"


def _plain(html: str) -> str:
    from bot.harness.telegram_html import parse_html

    text, _ = parse_html(html)
    return text


if __name__ == "__main__":
    sys.exit(main())
