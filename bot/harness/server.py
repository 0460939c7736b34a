"""A local Telegram Bot API server, so the bot can be tested end to end without Telegram.

The real bot code talks HTTP to it exactly as to api.telegram.org (point python-telegram-bot's
``base_url`` / ``base_file_url`` at ``server.base_url``). Tests and the terminal chat act as
users through the async Python API (``send_text``, ``press_button``, ``inline_query``...) and
read what the bot did (``wait_for_bot_messages``, ``bot_messages``, ``calls``, ``errors``).
Validation and error texts follow Telegram's, so a call that fails here fails in production.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlparse

import aiohttp
from aiohttp import web
from telegram.constants import (
    BotCommandLimit,
    CallbackQueryLimit,
    FileSizeLimit,
    InlineKeyboardButtonLimit,
    InlineQueryLimit,
    InlineQueryResultLimit,
    MessageLimit,
)

from bot.harness.telegram_html import TelegramHTMLError, find_entities, fix_formatted_text, parse_html

__all__ = ["ApiError", "Chat", "FailedCall", "FakeTelegramServer", "StoredFile", "Upload", "User"]

T = TypeVar("T")
Handler = Callable[[dict[str, Any]], Awaitable[Any]]

_JSON_FIELDS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "results", "commands", "scope",
        "allowed_updates", "reply_parameters", "link_preview_options", "button",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "reply_to_message_id", "message_thread_id", "user_id", "cache_time"}
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert", "is_personal", "disable_notification", "protect_content", "drop_pending_updates",
        "allow_sending_without_reply", "disable_content_type_detection", "disable_web_page_preview",
    }
)  # fmt: skip
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)  # fmt: skip
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """A Bot API failure, answered as ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class FailedCall(NamedTuple):
    """One call the server refused, kept so tests can assert there were none."""

    method: str
    params: dict
    description: str


@dataclass(frozen=True)
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str = "Test"
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> dict:
        data: dict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Chat:
    """A chat handle; a private chat's ``user`` is the person the bot talks to."""

    id: int
    type: str
    title: str | None = None
    user: User | None = None

    def to_dict(self) -> dict:
        if self.user is not None:
            data: dict = {"id": self.id, "first_name": self.user.first_name, "type": self.type}
            if self.user.username:
                data["username"] = self.user.username
            return data
        return {"id": self.id, "title": self.title, "type": self.type}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file the server holds, downloadable through getFile."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None


def _coerce(name: str, value: Any) -> Any:
    """Form fields arrive as strings; decode them as Telegram does per field."""
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise _bad_request(f"can't parse {name} JSON object") from None
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


def _utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le", "surrogatepass")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le", "surrogatepass")


def _as_user(who: User | Chat) -> User:
    """Lets tests pass a private chat handle wherever a user is expected."""
    if isinstance(who, User):
        return who
    if who.user is None:
        raise ValueError(f"chat {who.id} is not a private chat; pass a User")
    return who.user


class FakeTelegramServer:
    """The Bot API over HTTP on 127.0.0.1, plus a Python API to play the users."""

    def __init__(self, token: str, bot_username: str = "speech_test_bot") -> None:
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot_user = User(
            id=int(bot_id) if bot_id.isdigit() else 123456,
            first_name="Speech Test Bot",
            username=bot_username,
            language_code=None,
            is_bot=True,
        )
        self.flood_limit_per_chat_per_second: float | None = None
        self.group_privacy = True
        self.calls: list[tuple[str, dict]] = []
        self.errors: list[FailedCall] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.webhook: dict[str, Any] = {}
        self._chats: dict[int, Chat] = {}
        self._started_private_chats: set[int] = set()
        self._messages: dict[int, dict[int, dict]] = {}
        self._message_ids: dict[int, itertools.count] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._callback_queries: dict[str, dict] = {}
        self._callback_answers: dict[str, dict] = {}
        self._inline_queries: dict[str, dict] = {}
        self._inline_answers: dict[str, dict] = {}
        self._edit_counts: dict[tuple[int, int], int] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._sent_times: dict[int, deque[float]] = {}
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._webhook_origin: str | None = None
        self._webhook_session: aiohttp.ClientSession | None = None
        self._deliveries: set[asyncio.Task] = set()
        self.webhook_responses: list[int] = []  # HTTP status of each webhook delivery, in order
        self._host = "127.0.0.1"
        self._port = 0
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler) for name, handler in self._method_table().items()
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serves until stop(); port 0 picks a free port."""
        self._closing = False
        self._host = host
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # Long polls must end when the bot hangs up, as Telegram forgets them too.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Ends pending long polls at once, then closes the server."""
        self._closing = True
        await self._notify()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The server root: the bot calls {base_url}/bot{token}/{method}."""
        return f"http://{self._host}:{self._port}"

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if method.lower() not in self._methods:
                raise ApiError(404, "Not Found")
            method, handler = self._methods[method.lower()]
            params = await self._read_params(request)
            self.calls.append((method, params))
            result = await handler(params)
        except ApiError as error:
            return self._error_response(request, method, params, error)
        except Exception as error:  # a harness bug must show up in server.errors, not only in a log
            return self._error_response(request, method, params, ApiError(500, f"Internal Server Error: {error!r}"))
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    def _error_response(self, request: web.Request, method: str, params: dict, error: ApiError) -> web.Response:
        """Telegram's error shape; recorded unless nobody is left to read it (a dropped long poll)."""
        if request.transport is not None and not request.transport.is_closing():
            self.errors.append(FailedCall(method, params, error.description))
        body: dict = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        return web.json_response(body, status=error.code, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = next((f for f in self._files.values() if f.file_path == request.match_info["path"]), None)
        if request.match_info["token"] != self.token or stored is None:
            return await self._handle_unknown(request)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        body = {"ok": False, "error_code": 404, "description": "Not Found"}
        return web.json_response(body, status=404)

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        """Query string, JSON, urlencoded or multipart parameters, decoded per field."""
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise _bad_request("JSON object expected")
            raw.update(body)
        elif request.can_read_body:
            for name, value in (await request.post()).items():
                raw[name] = value if isinstance(value, str) else _upload(value)
        return {name: _coerce(name, value) for name, value in raw.items()}

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "setMyCommands": self._set_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "getFile": self._get_file,
        }

    # ------------------------------------------------------------------ Bot API: bot and updates

    async def _get_me(self, params: dict) -> dict:
        return {
            **self.bot_user.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict) -> list[dict]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        self._confirm_updates(params.get("offset"))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        self._poll_generation += 1
        generation = self._poll_generation
        async with self._changed:
            self._changed.notify_all()  # an older poll learns it has been replaced
            try:
                async with asyncio.timeout(timeout):
                    await self._changed.wait_for(
                        lambda: self._updates or generation != self._poll_generation or self._closing
                    )
            except TimeoutError:
                pass
        if generation != self._poll_generation:
            raise ApiError(
                409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
            )
        return copy.deepcopy(self._updates[:limit])

    def _confirm_updates(self, offset: Any) -> None:
        """Updates below offset are confirmed and forgotten; a negative offset keeps the last ones."""
        if not isinstance(offset, int):
            return
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    async def _delete_webhook(self, params: dict) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _set_webhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {key: value for key, value in params.items() if not isinstance(value, Upload)} if url else {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    # ------------------------------------------------------------------ Bot API: commands

    def _scope_key(self, params: dict) -> tuple[str, str]:
        """("default", ""), ("chat:42", "en")...: where setMyCommands stores a list."""
        scope = params.get("scope") or {"type": "default"}
        kind = scope.get("type") if isinstance(scope, dict) else None
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            key = kind
        elif kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._chat(scope.get("chat_id"))
            key = f"{kind}:{chat.id}" + (f":{scope.get('user_id')}" if kind == "chat_member" else "")
        else:
            raise _bad_request("unsupported bot command scope type")
        return key, str(params.get("language_code") or "")

    async def _set_my_commands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > BotCommandLimit.MAX_COMMAND_NUMBER:
            raise _bad_request("can't parse BotCommand array JSON object")
        stored = [_checked_command(command) for command in commands]
        key = self._scope_key(params)
        if stored:
            self.commands[key] = stored
        else:
            self.commands.pop(key, None)
        return True

    # ------------------------------------------------------------------ Bot API: messages

    async def _send_message(self, params: dict) -> dict:
        text, entities = _message_text(params)
        markup = _reply_markup(params)
        chat = self._chat_to_send(params)
        reply_to = self._reply_target(chat, params)
        self._check_flood(chat.id)
        message = self._add_message(chat, self.bot_user, text=text, entities=entities, reply_markup=markup)
        if reply_to:
            message["reply_to_message"] = reply_to
        await self._notify()
        return copy.deepcopy(message)

    async def _edit_message_text(self, params: dict) -> dict | bool:
        text, entities = _message_text(params)
        markup = _reply_markup(params)
        if params.get("inline_message_id"):
            return True
        message = self._message_to_edit(params)
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        if (message["text"], message.get("entities", []), message.get("reply_markup")) == (text, entities, markup):
            raise _bad_request(_NOT_MODIFIED)
        message["text"] = text
        _set_optional(message, "entities", entities)
        return await self._finish_edit(message, markup)

    async def _finish_edit(self, message: dict, markup: dict | None) -> dict:
        _set_optional(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        key = (message["chat"]["id"], message["message_id"])
        self._edit_counts[key] = self._edit_counts.get(key, 0) + 1
        await self._notify()
        return copy.deepcopy(message)

    def _message_to_edit(self, params: dict) -> dict:
        chat = self._chat(params.get("chat_id"))
        if params.get("message_id") is None:
            raise _bad_request("message identifier is not specified")
        message = self._messages.get(chat.id, {}).get(params["message_id"])
        if message is None or message["from"]["id"] != self.bot_user.id:
            raise _bad_request("message to edit not found")
        return message

    # ------------------------------------------------------------------ Bot API: queries

    async def _answer_callback_query(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_queries or query_id in self._callback_answers:
            raise _bad_request(_QUERY_INVALID)
        if len(str(params.get("text") or "")) > CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_answers[query_id] = {key: value for key, value in params.items() if key != "callback_query_id"}
        await self._notify()
        return True

    async def _answer_inline_query(self, params: dict) -> bool:
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request("can't parse inline query results JSON object")
        for result in results:
            _check_inline_result(result)
        query_id = str(params.get("inline_query_id") or "")
        if query_id not in self._inline_queries or query_id in self._inline_answers:
            raise _bad_request(_QUERY_INVALID)
        if len(results) > InlineQueryLimit.RESULTS:
            raise _bad_request("RESULTS_TOO_MUCH")
        ids = [str(result.get("id")) for result in results]
        if len(set(ids)) != len(ids):
            raise _bad_request("RESULT_ID_DUPLICATE")
        self._inline_answers[query_id] = {key: value for key, value in params.items() if key != "inline_query_id"}
        await self._notify()
        return True

    # ------------------------------------------------------------------ Bot API: files

    async def _get_file(self, params: dict) -> dict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad_request("invalid file_id")
        if len(stored.data) > FileSizeLimit.FILESIZE_DOWNLOAD:
            raise _bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _store_file(self, data: bytes, folder: str, file_name: str | None, mime_type: str | None) -> StoredFile:
        number = next(self._file_numbers)
        suffix = PurePosixPath(file_name or "").suffix or {"photos": ".jpg", "voice": ".oga"}.get(folder, ".webp")
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:08d}",
            file_unique_id=f"AgAD{number:04d}",
            file_path=f"{folder}/file_{number}{suffix}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    # ------------------------------------------------------------------ chats, messages, updates

    def _chat(self, chat_id: Any) -> Chat:
        """The chat a Bot API call names, by id or @username."""
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            chat = next((c for c in self._chats.values() if c.user and (c.user.username or "").lower() == name), None)
        else:
            chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad_request("chat not found")
        return chat

    def _chat_to_send(self, params: dict) -> Chat:
        """A chat the bot may write to: users must have started the conversation."""
        chat = self._chat(params.get("chat_id"))
        if chat.type == "private" and chat.id not in self._started_private_chats:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _reply_target(self, chat: Chat, params: dict) -> dict | None:
        given = params.get("reply_parameters")
        reply: dict = given if isinstance(given, dict) else {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        target = self._messages.get(chat.id, {}).get(message_id)
        if target is None:
            if reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"):
                return None
            raise _bad_request("message to be replied not found")
        return {key: value for key, value in copy.deepcopy(target).items() if key != "reply_to_message"}

    def _check_flood(self, chat_id: int) -> None:
        """Answers 429 with retry_after when the bot writes to a chat faster than the limit."""
        limit = self.flood_limit_per_chat_per_second
        if limit is None:
            return
        window = max(1.0, 1.0 / limit)
        capacity = max(1, int(limit * window))
        now = time.monotonic()
        sent = self._sent_times.setdefault(chat_id, deque())
        while sent and sent[0] <= now - window:
            sent.popleft()
        if len(sent) >= capacity:
            retry_after = max(1, math.ceil(sent[0] + window - now))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        sent.append(now)

    def _add_message(self, chat: Chat, sender: User, **content: Any) -> dict:
        """Stores a new message; empty optional fields are left out, as Telegram does."""
        self._chats.setdefault(chat.id, chat)
        message_id = next(self._message_ids.setdefault(chat.id, itertools.count(1)))
        message = {"message_id": message_id, "from": sender.to_dict(), "chat": chat.to_dict(), "date": int(time.time())}
        message.update({key: value for key, value in content.items() if value not in (None, "", [])})
        self._messages.setdefault(chat.id, {})[message_id] = message
        return message

    async def _enqueue(self, kind: str, payload: dict) -> None:
        allowed = self.webhook.get("allowed_updates") or self._allowed_updates
        if (kind in allowed) or (not allowed and kind not in _DEFAULT_EXCLUDED_UPDATES):
            update = {"update_id": next(self._update_ids), kind: copy.deepcopy(payload)}
            self._updates.append(update)
            if self.webhook.get("url") and self._webhook_origin is not None:
                task = asyncio.create_task(self._deliver(update))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
        await self._notify()

    def deliver_webhooks_to(self, origin: str) -> None:
        """Where the webhook's HTTPS URL really leads (the reverse proxy's job): http://host:port."""
        self._webhook_origin = origin.rstrip("/")

    async def _deliver(self, update: dict) -> None:
        """POSTs an update to the webhook with its secret header; a 200 confirms it, as Telegram counts."""
        if self._webhook_session is None:
            self._webhook_session = aiohttp.ClientSession()
        path = urlparse(str(self.webhook["url"])).path
        headers = {}
        if self.webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
        async with self._webhook_session.post(f"{self._webhook_origin}{path}", json=update, headers=headers) as reply:
            self.webhook_responses.append(reply.status)
            if reply.status == 200:
                self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_until(self, predicate: Callable[[], T | None], timeout: float) -> T:
        """Waits until predicate, checked on every change of the server's state, gives a value."""
        return await self._wait(predicate, timeout, "change")

    async def _wait(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        """Waits on the server's condition until predicate gives a value."""
        async with self._changed:
            try:
                async with asyncio.timeout(timeout):
                    found = await self._changed.wait_for(predicate)
                    assert found is not None  # wait_for returns only once the predicate is truthy
                    return found
            except TimeoutError:
                raise TimeoutError(f"no {what} within {timeout}s; refused calls: {self.errors[-5:]}") from None

    # ------------------------------------------------------------------ Python API: users act

    def user(
        self, user_id: int, first_name: str = "Test", username: str | None = None, language_code: str | None = "en"
    ) -> User:
        """A user who can write to the bot in groups or send inline queries (in Telegram's language
        `language_code`, as their app sends it)."""
        return User(id=user_id, first_name=first_name, username=username, language_code=language_code)

    def private_chat(
        self, user_id: int, first_name: str = "Test", username: str | None = None, language_code: str | None = "en"
    ) -> Chat:
        """The private chat between the bot and a user (chat id = user id)."""
        chat = Chat(id=user_id, type="private", user=self.user(user_id, first_name, username, language_code))
        self._chats[user_id] = chat
        return chat

    def group_chat(self, chat_id: int, title: str) -> Chat:
        """A group the bot is in; ids below -10**12 make a supergroup."""
        chat = Chat(id=chat_id, type="supergroup" if chat_id < -(10**12) else "group", title=title)
        self._chats[chat_id] = chat
        return chat

    async def send_text(self, chat: Chat, user: User | Chat, text: str, reply_to_message_id: int | None = None) -> dict:
        """A user writes text (Telegram takes at most 4096 characters); commands and mentions get their entities."""
        if len(text) > MessageLimit.MAX_TEXT_LENGTH:
            raise ValueError(f"a user message holds at most {MessageLimit.MAX_TEXT_LENGTH} characters")
        return await self._user_message(chat, user, reply_to_message_id, text=text, entities=find_entities(text))

    async def send_sticker(self, chat: Chat, user: User | Chat, emoji: str = "👍") -> dict:
        stored = self._store_file(b"RIFF\0\0\0\0WEBPVP8 ", "stickers", None, "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return await self._user_message(chat, user, None, sticker=sticker)

    async def send_photo(
        self, chat: Chat, user: User | Chat, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg", caption: str | None = None
    ) -> dict:
        stored = self._store_file(data, "photos", None, "image/jpeg")
        size = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(data)}
        return await self._user_message(
            chat, user, None, photo=[{**size, "width": 320, "height": 240}], caption=caption
        )

    async def send_voice(
        self, chat: Chat, user: User | Chat, data: bytes = b"OggS fake-voice", duration: int = 2
    ) -> dict:
        stored = self._store_file(data, "voice", None, "audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return await self._user_message(chat, user, None, voice=voice)

    async def send_document(
        self,
        chat: Chat,
        user: User | Chat,
        filename: str,
        data: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> dict:
        """A user sends a file; the bot can fetch it with getFile and the download route."""
        stored = self._store_file(data, "documents", filename, mime_type)
        return await self._user_message(chat, user, None, document=_document_dict(stored), caption=caption)

    async def _user_message(self, chat: Chat, who: User | Chat, reply_to: int | None, **content: Any) -> dict:
        user = _as_user(who)
        if chat.type == "private":
            self._started_private_chats.add(chat.id)
        message = self._add_message(chat, user, **content)
        if reply_to is not None:
            target = self._messages.get(chat.id, {}).get(reply_to)
            if target is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
            message["reply_to_message"] = {key: value for key, value in target.items() if key != "reply_to_message"}
        if self._visible_to_bot(chat, message):
            await self._enqueue("message", message)
        return copy.deepcopy(message)

    def _visible_to_bot(self, chat: Chat, message: dict) -> bool:
        """Privacy mode: in groups the bot only sees commands, its mentions and replies to it."""
        if chat.type == "private" or not self.group_privacy:
            return True
        if message.get("reply_to_message", {}).get("from", {}).get("id") == self.bot_user.id:
            return True
        name = (self.bot_user.username or "").lower()
        for entity in message.get("entities", []):
            fragment = _utf16_slice(message["text"], entity["offset"], entity["length"]).lower()
            if entity["type"] == "bot_command" and fragment.partition("@")[2] in ("", name):
                return True
            if entity["type"] == "mention" and fragment == f"@{name}":
                return True
        return False

    async def press_button(
        self, chat: Chat, user: User | Chat, message_id: int, callback_data: str | None, forged: bool = False
    ) -> str:
        """A user presses an inline button of a bot message; returns the callback query id.

        ``forged=True`` sends data the message has no button for, as a modified client can.
        """
        message = self._messages.get(chat.id, {}).get(message_id)
        buttons = [b for row in (message or {}).get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if not forged and not any(button.get("callback_data") == callback_data for button in buttons):
            raise ValueError(f"message {message_id} in chat {chat.id} has no button with data {callback_data!r}")
        query_id = str(next(self._query_ids))
        query = {
            "id": query_id,
            "from": _as_user(user).to_dict(),
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(chat.id) * 7919 + 17),
        }
        if callback_data is not None:  # None: a query without data, as a forged or game button sends
            query["data"] = callback_data
        self._callback_queries[query_id] = query
        await self._enqueue("callback_query", query)
        return query_id

    async def inline_query(self, user: User | Chat, query: str, offset: str = "") -> str:
        """A user types ``@bot query`` in any chat; returns the inline query id."""
        query_id = str(next(self._query_ids))
        inline = {"id": query_id, "from": _as_user(user).to_dict(), "query": query, "offset": offset}
        self._inline_queries[query_id] = inline
        await self._enqueue("inline_query", inline)
        return query_id

    # ------------------------------------------------------------------ Python API: what the bot did

    def bot_messages(self, chat_id: int) -> list[dict]:
        """The bot's messages in a chat as they are now (edits applied, deletions gone)."""
        messages = self._messages.get(chat_id, {}).values()
        return [copy.deepcopy(m) for m in messages if m["from"]["id"] == self.bot_user.id]

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10) -> None:
        """Until the bot has made `count` calls of a method (a long poll counts once it reached the server)."""
        await self._wait(
            lambda: True if sum(m == method for m, _ in self.calls) >= count else None,
            timeout,
            f"{count} {method} call(s)",
        )

    async def wait_until_delivered(self, timeout: float = 30) -> None:
        """Until the bot has confirmed every update sent so far (it took them all in)."""
        await self._wait(lambda: True if not self._updates else None, timeout, "confirmation of every update")

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot: Telegram delivers these again to the next getUpdates."""
        return copy.deepcopy(self._updates)

    def _last_user_message_id(self, chat_id: int) -> int:
        messages = self._messages.get(chat_id, {}).values()
        return max((m["message_id"] for m in messages if m["from"]["id"] != self.bot_user.id), default=0)

    async def wait_for_bot_messages(
        self, chat_id: int, count: int = 1, timeout: float = 10, after_message_id: int | None = None
    ) -> list[dict]:
        """The first ``count`` bot messages after a message (default: the chat's last user message)."""
        after = self._last_user_message_id(chat_id) if after_message_id is None else after_message_id

        def ready() -> list[dict] | None:
            # Checked on every change of the server's state, for every waiter: copy only once found.
            chat = self._messages.get(chat_id, {})
            found = [m for i, m in chat.items() if i > after and m["from"]["id"] == self.bot_user.id]
            return [copy.deepcopy(m) for m in found[:count]] if len(found) >= count else None

        return await self._wait(ready, timeout, f"{count} bot message(s) in chat {chat_id} after {after}")

    async def wait_for_edit(self, chat_id: int, message_id: int, timeout: float = 10) -> dict:
        """The message once the bot edits it after this call."""
        key = (chat_id, message_id)
        seen = self._edit_counts.get(key, 0)

        def ready() -> dict | None:
            if self._edit_counts.get(key, 0) == seen:
                return None
            return copy.deepcopy(self._messages.get(chat_id, {}).get(message_id))

        return await self._wait(ready, timeout, f"edit of message {message_id} in chat {chat_id}")

    async def wait_for_callback_answer(self, callback_query_id: str, timeout: float = 10) -> dict:
        """The answerCallbackQuery parameters (text, show_alert...) once the bot answers."""
        # An answer with no text is an empty dict: wrap it so "answered" is not mistaken for "not yet".
        answered = await self._wait(
            lambda: (
                (self._callback_answers[callback_query_id],) if callback_query_id in self._callback_answers else None
            ),
            timeout,
            f"answer to callback {callback_query_id}",
        )
        return answered[0]

    async def wait_for_inline_answer(self, inline_query_id: str, timeout: float = 10) -> dict:
        """The answerInlineQuery parameters (results, cache_time...) once the bot answers."""
        return await self._wait(
            lambda: self._inline_answers.get(inline_query_id), timeout, f"answer to inline query {inline_query_id}"
        )

    async def ask(self, chat: Chat, user: User | Chat, text: str, timeout: float = 10) -> dict:
        """Sends text and returns the bot's next message in that chat."""
        sent = await self.send_text(chat, user, text)
        replies = await self.wait_for_bot_messages(chat.id, 1, timeout, after_message_id=sent["message_id"])
        return replies[0]


# ---------------------------------------------------------------------- validation helpers


def _dumps(value: Any) -> str:
    """JSON as Telegram sends it; text holding a lone surrogate goes \\u-escaped, as it can only be in JSON."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def _upload(field: Any) -> Upload:
    """An aiohttp FileField as an Upload."""
    return Upload(filename=field.filename, content_type=field.content_type, data=field.file.read())


def _set_optional(message: dict, key: str, value: Any) -> None:
    if value:
        message[key] = value
    else:
        message.pop(key, None)


def _document_dict(stored: StoredFile) -> dict:
    document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.data)}
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document


def _message_text(params: dict, field: str = "text") -> tuple[str, list[dict]]:
    """Parses and fixes a text or caption as Telegram does, with Telegram's refusals."""
    is_caption = field == "caption"
    raw = params.get(field)
    if raw is None or raw == "":
        if is_caption:
            return "", []
        raise _bad_request("message text is empty")
    given_entities = params.get("caption_entities" if is_caption else "entities")
    text, entities = _parse(str(raw), params.get("parse_mode"), given_entities)
    text, entities = fix_formatted_text(text, entities)
    if not text and not is_caption:
        raise _bad_request("message text is empty")
    if len(text) > (MessageLimit.CAPTION_LENGTH if is_caption else MessageLimit.MAX_TEXT_LENGTH):
        raise _bad_request("message caption is too long" if is_caption else "message is too long")
    return text, entities


def _parse(raw: str, parse_mode: Any, entities: Any) -> tuple[str, list[dict]]:
    if not parse_mode:
        if entities is not None and not (isinstance(entities, list) and all(isinstance(e, dict) for e in entities)):
            raise _bad_request("can't parse entities JSON object")
        return raw, list(entities or [])
    if str(parse_mode).lower() != "html":
        if str(parse_mode).lower() in ("markdown", "markdownv2"):
            raise _bad_request("the fake Telegram server only implements parse_mode HTML")
        raise _bad_request("unsupported parse_mode")
    try:
        return parse_html(raw)
    except TelegramHTMLError as error:
        raise _bad_request(f"can't parse entities: {error.detail}") from None


def _reply_markup(params: dict) -> dict | None:
    """The inline keyboard a message will carry (reply keyboards are accepted but not kept)."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
    for button in (button for row in rows for button in row):
        _check_button(button)
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None


def _check_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise _bad_request(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise _bad_request(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise _bad_request(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise _bad_request("BUTTON_TEXT_INVALID")
    actions = [action for action in _BUTTON_ACTIONS if action in button]
    if not actions:
        raise _bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _bad_request(prefix + "exactly one of the optional fields must be used")
    data = button.get("callback_data")
    if "callback_data" in button and not (
        isinstance(data, str) and 1 <= len(data.encode()) <= InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
    ):
        raise _bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"]), re.IGNORECASE):
        raise _bad_request("BUTTON_URL_INVALID")


def _check_inline_result(result: Any) -> None:
    if not isinstance(result, dict) or not isinstance(result.get("type"), str):
        raise _bad_request("can't parse InlineQueryResult JSON object")
    result_id = result.get("id")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= InlineQueryResultLimit.MAX_ID_LENGTH:
        raise _bad_request("RESULT_ID_INVALID")
    content = result.get("input_message_content")
    if result["type"] == "article":
        if not isinstance(result.get("title"), str):
            raise _bad_request('can\'t parse InlineQueryResult: Field "title" must be of type String')
        if not isinstance(content, dict):
            raise _bad_request("can't parse InlineQueryResult: Can't find field \"input_message_content\"")
    if isinstance(content, dict) and "message_text" in content:
        _message_text(content, "message_text")
    _reply_markup(result)


def _checked_command(command: Any) -> dict:
    """A BotCommand as setMyCommands accepts it (a leading '/' is dropped, as Telegram does)."""
    if not isinstance(command, dict) or not isinstance(command.get("command"), str):
        raise _bad_request("can't parse BotCommand JSON object")
    name = command["command"].removeprefix("/")
    description = str(command.get("description") or "").strip()
    if not name:
        raise _bad_request("command must be non-empty")
    if len(name) > BotCommandLimit.MAX_COMMAND:
        raise _bad_request("command is too long")
    if not _COMMAND_RE.fullmatch(name):
        raise _bad_request("BOT_COMMAND_INVALID")
    if not description:
        raise _bad_request("command description must be non-empty")
    if len(description) > BotCommandLimit.MAX_DESCRIPTION:
        raise _bad_request("command description is too long")
    return {"command": name, "description": description}
