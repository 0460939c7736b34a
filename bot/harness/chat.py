"""`speechbot chat`: talk to the real bot in a terminal, through the local Bot API server, with no network.

Type a question; `/commands` work; `#N` presses button N of the last message
that has buttons; `@ 问题` runs an inline query. Bot messages are printed as
they arrive or change, also while you type (a rebuilt index reports when it is
done, not at your next line). Reads stdin line by line when it is not a
terminal, so a session can be scripted.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import replace
from typing import TextIO

from bot.harness.local import LOCAL_ADMIN_ID, local_server, running_bot
from bot.harness.server import FakeTelegramServer
from bot.harness.telegram_html import entities_to_ansi
from bot.settings import Settings

SETTLE_SECONDS = 0.3
REPLY_TIMEOUT = 30.0
PROMPT = "你> "
HELP = (
    "输入问题回车即可；/start、/speeches、/speech 编号 等命令可用；#N 按下第 N 个按钮；@ 问题 试内联模式；Ctrl-D 退出。"
)


class TerminalChat:
    def __init__(self, server: FakeTelegramServer, out: TextIO, colour: bool, interactive: bool = False) -> None:
        self.server = server
        self.out = out
        self.colour = colour
        self.interactive = interactive
        self.chat = server.private_chat(LOCAL_ADMIN_ID, first_name="You")
        self.seen: dict[int, str] = {}
        self.buttons: list[tuple[int, str]] = []  # (message id, callback data) of the last keyboard shown
        self.at_prompt = False  # the prompt is on screen, the user typing after it

    async def handle(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        if line.startswith("#") and line[1:].isdigit():
            await self.press(int(line[1:]))
        elif line.startswith("@"):
            await self.inline(line[1:].strip())
        else:
            await self.server.send_text(self.chat, self.chat, line)
            try:
                await self.server.wait_for_bot_messages(self.chat.id, timeout=REPLY_TIMEOUT)
            except TimeoutError:
                self.say("（没有回复）")
        await self._settle()
        self.show_changes()

    async def press(self, number: int) -> None:
        if not 1 <= number <= len(self.buttons):
            self.say(f"没有第 {number} 个按钮。")
            return
        message_id, data = self.buttons[number - 1]
        query_id = await self.server.press_button(self.chat, self.chat, message_id, data)
        answer = await self.server.wait_for_callback_answer(query_id, timeout=REPLY_TIMEOUT)
        if answer.get("text"):
            self.say(f"（{answer['text']}）")

    async def inline(self, query: str) -> None:
        query_id = await self.server.inline_query(self.chat, query)
        answer = await self.server.wait_for_inline_answer(query_id, timeout=REPLY_TIMEOUT)
        if answer.get("button"):
            self.say(f"（{answer['button']['text']}）")
        for n, result in enumerate(answer["results"], start=1):
            self.say(f"  {n}. {result['title']} — {result.get('description', '')}")

    async def watch(self) -> None:
        """Print bot messages the moment they arrive or change, whatever the user is doing."""
        while True:
            await self.server.wait_until(lambda: self._unseen() or None, timeout=float("inf"))
            self.show_changes()

    def _unseen(self) -> list[dict]:
        return [
            m
            for m in self.server.bot_messages(self.chat.id)
            if self.seen.get(m["message_id"]) != m.get("text", "") + str(m.get("reply_markup"))
        ]

    def show_changes(self) -> None:
        """Print every bot message that is new or edited since last time."""
        for message in self._unseen():
            edited = message["message_id"] in self.seen
            self.seen[message["message_id"]] = message.get("text", "") + str(message.get("reply_markup"))
            self.print_message(message, edited)

    def print_message(self, message: dict, edited: bool) -> None:
        text = message.get("text", "")
        shown = entities_to_ansi(text, message.get("entities", [])) if self.colour else text
        self.say(("bot（已更新）> " if edited else "bot> ") + shown)
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        flat = [b for row in rows for b in row if "callback_data" in b]
        if flat:
            self.buttons = [(message["message_id"], b["callback_data"]) for b in flat]
            self.say("   " + "  ".join(f"[#{n}] {b['text']}" for n, b in enumerate(flat, start=1)))

    async def _settle(self) -> None:
        """Wait until the bot has made no call for a moment: a reply may come in several messages."""
        calls = -1
        for _ in range(int(REPLY_TIMEOUT / SETTLE_SECONDS)):
            if len(self.server.calls) == calls:
                return
            calls = len(self.server.calls)
            await asyncio.sleep(SETTLE_SECONDS)

    def say(self, text: str) -> None:
        if self.interactive and self.at_prompt:  # over the line the user is typing on, then that line again
            typed = _typed_so_far()
            print(f"\r\033[K{text}", file=self.out)
            print(f"{PROMPT}{typed}", end="", file=self.out, flush=True)
        else:  # the prompt comes with the next read
            print(text, file=self.out, flush=True)

    async def read_line(self, stdin: TextIO) -> str | None:
        """The user's next line; None at end of input (Ctrl-D)."""
        self.at_prompt = self.interactive
        try:
            return await asyncio.to_thread(_read_line, stdin, self.interactive)
        finally:
            self.at_prompt = False


def _typed_so_far() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - platforms without readline
        return ""
    return readline.get_line_buffer()


async def run_chat(settings: Settings, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    interactive = stdin.isatty() and out.isatty()
    async with local_server() as server:
        terminal = TerminalChat(server, out, colour=out.isatty(), interactive=interactive)
        settings = replace(settings, admin_ids=settings.admin_ids | {LOCAL_ADMIN_ID})
        async with running_bot(settings, server):
            terminal.say(f"本地对话（不联网，你是管理员）。{HELP}")
            watcher = asyncio.create_task(terminal.watch())
            try:
                while True:
                    line = await terminal.read_line(stdin)
                    if line is None:
                        break
                    if not interactive and line.strip():
                        terminal.say(f"{PROMPT}{line.rstrip()}")
                    await terminal.handle(line)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        terminal.show_changes()  # what the bot finished while it stopped (it completes the work in hand)
    if interactive:
        print(file=out)
    return 0


def _read_line(stdin: TextIO, interactive: bool) -> str | None:
    if interactive:
        try:
            return input(PROMPT)
        except EOFError:
            return None
    line = stdin.readline()
    return line if line else None
