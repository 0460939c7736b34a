"""The command menus Telegram shows: everyone's, and the admins' (in their private chats only)."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

log = logging.getLogger(__name__)

USER_COMMANDS = [
    BotCommand("start", "开始使用与示例问题"),
    BotCommand("help", "使用说明"),
    BotCommand("speeches", "讲话列表"),
    BotCommand("speech", "阅读一篇讲话：/speech 编号"),
    BotCommand("ask", "提问（群组中使用）：/ask 问题"),
]
ADMIN_COMMANDS = [
    BotCommand("reindex", "重建索引"),
    BotCommand("stats", "使用统计"),
    BotCommand("remove", "移出一篇讲话所在的文件：/remove 编号"),
    BotCommand("restore", "恢复移出的文件"),
]


async def show_admin_commands(bot: Bot, admin_id: int) -> None:
    """The admin menu in an admin's private chat; retried on their /start if they had not opened one yet."""
    try:
        await bot.set_my_commands(USER_COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(admin_id))
    except TelegramError as exc:
        log.info("admin menu for %s waits for their /start: %s", admin_id, exc)
