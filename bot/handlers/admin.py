"""Admin commands, checked against ADMIN_IDS on every path; refusals are logged."""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes

from bot.context import services
from bot.records import hash_user
from retrieval.service import ReindexBusy, ReindexError

log = logging.getLogger(__name__)

REFUSED = "抱歉，这个命令只对管理员开放。"


def handlers() -> list[BaseHandler]:
    return [CommandHandler("reindex", reindex), CommandHandler("stats", stats)]


async def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, action: str) -> bool:
    """True for an admin; anyone else is refused in one line, and the attempt is logged."""
    bot_services = services(context)
    user = update.effective_user
    allowed = user is not None and user.id in bot_services.settings.admin_ids
    user_hash = hash_user(user.id if user else 0, bot_services.settings.user_hash_salt)
    await bot_services.records.log_admin(user_hash, action, allowed)
    if not allowed:
        log.warning("refused %s to user %s", action, user_hash)
        if update.callback_query is not None:
            await update.callback_query.answer(REFUSED, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(REFUSED)
    return allowed


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await is_admin(update, context, "reindex"):
        return
    search = services(context).search
    if search.reindexing:
        await update.effective_message.reply_text("索引正在重建中，请稍候。")
        return
    progress = await update.effective_message.reply_text("正在重建索引，期间照常回答问题……")
    try:
        report = await search.reindex()
    except ReindexBusy:
        await progress.edit_text("索引正在重建中，请稍候。")
        return
    except ReindexError as exc:
        await progress.edit_text(f"❌ 重建失败，继续使用原索引。\n{escape(str(exc))}")
        return
    lines = [f"✅ 索引已重建：{report.speeches} 篇讲话，{report.chunks} 个段落，用时 {report.seconds:.1f} 秒。"]
    lines += [f"⚠️ 跳过 {escape(p)}" for p in report.problems]
    await progress.edit_text("\n".join(lines))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await is_admin(update, context, "stats"):
        return
    midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    figures = await services(context).records.stats(since=midnight)
    latency = f"{figures.median_latency_ms:.1f} ms" if figures.median_latency_ms is not None else "—"
    lines = [
        "📊 <b>使用统计</b>",
        f"今日提问 {figures.today}，累计 {figures.total}，未找到答案 {figures.unanswered}",
        f"检索耗时中位数 {latency}",
        f"反馈：👍 {figures.useful}  👎 {figures.not_useful}",
    ]
    if figures.top:
        lines += ["", "<b>常见问题</b>"] + [f"{n}× {escape(q[:60])}" for q, n in figures.top]
    if figures.recent_unanswered:
        lines += ["", "<b>最近未找到答案</b>"] + [escape(q[:60]) for q in figures.recent_unanswered]
    await update.effective_message.reply_text("\n".join(lines))
