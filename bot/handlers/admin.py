"""Admin commands, checked against ADMIN_IDS on every path; refusals are logged."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from html import escape
from typing import cast

from telegram import CallbackQuery, Chat, Document, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext, services
from bot.handlers.replies import STALE_BUTTON
from bot.records import hash_user
from bot.view.callbacks import ConfirmRemove, Restore, decode, encode, matches, name_key, read_as
from retrieval.ingest.folder import Refusal, RefusedChange
from retrieval.service import ChangeReport, ReindexBusy, ReindexError, SearchService
from retrieval.shown import file_label, unhashed

log = logging.getLogger(__name__)

REFUSED = "抱歉，这个命令只对管理员开放。"
CONFIRMATION_EXPIRED = "语料在这之后有过改动，这个确认已失效。请重新发送 /remove。"
MAX_PROBLEMS_SHOWN = 10
UPLOADS_ARE_FOR_ADMINS = (
    "只有管理员可以上传讲话稿。我能回答文字问题，比如“区长质量奖的奖金是多少”，发送 /help 查看用法。"
)


UPLOAD_REFUSALS = {
    Refusal.TOO_LARGE: "文件太大（上限 {limit}）。",
    Refusal.NOT_A_FILE: "只接受普通文件（不接受链接、设备或管道）。",
    Refusal.UNSAFE_NAME: "文件名不安全，请用普通文件名（不含路径、不以点开头）。",
    Refusal.UNSUPPORTED: "只接受 .txt（UTF-8 或 GB18030）、.docx 和 .md 文件。",
    Refusal.EXISTS: "已有同名文件，为免覆盖，请改名后再发。",
    Refusal.NOT_TEXT: "读不出文字：文件为空、是二进制文件，或编码不是 UTF-8 / GB18030。",
    Refusal.NO_SPEECH: "没有讲话正文：清理网页杂项后文字太少，或不是中文讲话。",
    Refusal.DUPLICATE: "语料中已有这篇讲话。",
    Refusal.NOT_FOUND: "没有找到。",
    Refusal.SHIPPED: "语料文件夹是随程序安装的文件，不能改动；请把 SPEECHBOT_DATA_DIR 设为自己的文件夹。",
}


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("reindex", reindex),
        CommandHandler("stats", stats),
        CommandHandler("remove", remove),
        CommandHandler("restore", restore),
        CallbackQueryHandler(confirm_remove_button, pattern=matches(ConfirmRemove)),
        CallbackQueryHandler(restore_button, pattern=matches(Restore)),
        MessageHandler(filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.Document.ALL, upload),
    ]


async def is_admin(update: Update, context: BotContext, action: str, refusal: str = REFUSED) -> bool:
    """True for an admin; anyone else is refused in one line (`refusal`), and the attempt is logged."""
    bot_services = services(context)
    user = update.effective_user
    allowed = user is not None and user.id in bot_services.settings.admin_ids
    user_hash = hash_user(user.id if user else 0, bot_services.settings.user_hash_salt)
    await bot_services.records.log_admin(user_hash, action, allowed)
    if not allowed:
        log.warning("refused %s to user %s", action, user_hash)
        if update.callback_query is not None:
            await update.callback_query.answer(refusal, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(refusal)
    return allowed


async def reindex(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    if not await is_admin(update, context, "reindex"):
        return
    search = services(context).search
    if search.reindexing:
        await message.reply_text("索引正在重建中，请稍候。")
        return
    progress = await message.reply_text("正在重建索引，期间照常回答问题……")
    try:
        report = await search.reindex()
    except ReindexBusy:
        await progress.edit_text("索引正在重建中，请稍候。")
        return
    except ReindexError as exc:
        await progress.edit_text(f"❌ 重建失败，继续使用原索引。\n{escape(unhashed(str(exc)))}")
        return
    lines = [f"✅ 索引已重建：{report.speeches} 篇讲话，{report.chunks} 个段落，用时 {report.seconds:.1f} 秒。"]
    lines += [f"⚠️ 跳过 {escape(unhashed(p)[:200])}" for p in report.problems[:MAX_PROBLEMS_SHOWN]]
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"……另有 {len(report.problems) - MAX_PROBLEMS_SHOWN} 个文件被跳过（见日志）。")
    await progress.edit_text("\n".join(lines))


async def upload(update: Update, context: BotContext) -> None:
    """An admin's document joins the corpus; anyone else's gets the one line on what the bot does."""
    if not await is_admin(update, context, "upload", refusal=UPLOADS_ARE_FOR_ADMINS):
        return
    bot_services = services(context)
    message = cast(Message, update.effective_message)
    document = cast(Document, message.document)  # the handler's filter: a message with a document
    limit = bot_services.settings.max_upload_bytes
    if document.file_size and document.file_size > limit:
        await message.reply_text(f"❌ 未改动语料：{UPLOAD_REFUSALS[Refusal.TOO_LARGE].format(limit=_size(limit))}")
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    await _change_corpus(
        update,
        context,
        "正在加入并重建索引……",
        bot_services.search.add_documents([(document.file_name or "", data)], limit),
        lambda report: (
            f"✅ 已加入 {escape(file_label(report.files[0]))}：{len(report.speeches)} 篇讲话"
            f"（{escape('、'.join(s.title for s in report.speeches[:5]))}）。"
        ),
    )


async def remove(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
    if not await is_admin(update, context, "remove"):
        return
    index = services(context).search.index
    speech_id = (context.args or [""])[0]
    speech = index.speeches.get(speech_id)
    if speech is None:
        await message.reply_text("请写上要移出的讲话编号，例如：/remove 003-1（/speeches 查看编号）。")
        return
    siblings = [s for s in index.speeches.values() if s.source_file == speech.source_file]
    if len(siblings) > 1:
        data = encode(ConfirmRemove(speech_id, services(context).search.generation))
        button = InlineKeyboardButton(f"确认移出全部 {len(siblings)} 篇", callback_data=data)
        await message.reply_text(
            f"《{escape(speech.title)}》所在的文件 {escape(file_label(speech.source_file))} "
            f"共有 {len(siblings)} 篇讲话，"
            "移出文件会一并移出它们（文件移到 removed/，可用 /restore 恢复）。",
            reply_markup=InlineKeyboardMarkup([[button]]),
        )
        return
    await _remove(update, context, speech_id)


async def confirm_remove_button(update: Update, context: BotContext) -> None:
    query = cast(CallbackQuery, update.callback_query)
    if not await is_admin(update, context, "remove"):
        return
    confirmed = decode(query.data)
    current = services(context).search.generation
    if not isinstance(confirmed, ConfirmRemove) or confirmed.generation != current:  # the corpus changed since
        await query.answer(CONFIRMATION_EXPIRED, show_alert=True)
        return
    await query.answer()
    await _remove(update, context, confirmed.speech_id)


async def _remove(update: Update, context: BotContext, speech_id: str) -> None:
    await _change_corpus(
        update,
        context,
        "正在移出并重建索引……",
        services(context).search.remove_file_of(speech_id),
        lambda report: (
            f"✅ 已移出 {escape(file_label(report.files[0]))}（{len(report.speeches)} 篇讲话），文件在 removed/ 中，"
            "可用 /restore 恢复。"
        ),
    )


async def restore(update: Update, context: BotContext) -> None:
    if not await is_admin(update, context, "restore"):
        return
    message = cast(Message, update.effective_message)
    if message is None:
        return
    removed = services(context).search.removed_files()
    if context.args:
        wanted = " ".join(context.args)
        named = [n for n in removed if wanted in (n, file_label(n))]
        if len(named) > 1:  # two removed files that differ only by their hash: the buttons tell them apart
            removed = named
        else:
            await _restore(update, context, named[0] if named else wanted)
            return
    if not removed:
        await message.reply_text("没有被移出的文件。")
        return
    labels = removed_labels(removed[:20])
    rows = [[InlineKeyboardButton(labels[n][:60], callback_data=encode(Restore(name_key(n))))] for n in removed[:20]]
    await message.reply_text("选择要恢复的文件：", reply_markup=InlineKeyboardMarkup(rows))


def removed_labels(names: list[str]) -> dict[str, str]:
    """Removed files by the names an admin knows (003.txt); files whose names differ only by their content
    hash are numbered in the order they were listed (003.txt（1）, 003.txt（2）)."""
    labels = {n: file_label(n) for n in names}
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    for name, label in labels.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            labels[name] = f"{label}（{seen[label]}）"
    return labels


async def restore_button(update: Update, context: BotContext) -> None:
    query = cast(CallbackQuery, update.callback_query)
    if not await is_admin(update, context, "restore"):
        return
    key = read_as(Restore, query.data).name_key
    name = next((n for n in services(context).search.removed_files() if name_key(n) == key), None)
    if name is None:
        await query.answer(STALE_BUTTON)
        return
    await query.answer()
    await _restore(update, context, name)


async def _restore(update: Update, context: BotContext, name: str) -> None:
    await _change_corpus(
        update,
        context,
        "正在恢复并重建索引……",
        services(context).search.restore_file(name),
        lambda report: f"✅ 已恢复 {escape(file_label(report.files[0]))}（{len(report.speeches)} 篇讲话）。",
    )


async def _change_corpus(update: Update, context: BotContext, working: str, change, done) -> None:
    """Run a corpus change, showing progress in one message and its outcome in the same message."""
    chat = cast(Chat, update.effective_chat)
    limit = _size(services(context).settings.max_upload_bytes)
    progress = await context.bot.send_message(chat.id, working)
    try:
        report: ChangeReport = await change
    except RefusedChange as exc:
        await progress.edit_text(
            f"❌ 未改动语料：{UPLOAD_REFUSALS[exc.reason].format(limit=limit)}\n<i>{escape(unhashed(str(exc)))}</i>"
        )
        return
    except ReindexBusy:
        await progress.edit_text("索引正在重建中，请稍候再试。")
        return
    except ReindexError as exc:
        log.warning("corpus change failed: %s", exc)
        await progress.edit_text(f"❌ 重建失败，语料和索引保持原样。\n{escape(unhashed(str(exc)))}")
        return
    except asyncio.CancelledError:  # the bot is stopping (bot/shutdown.py): the change was rolled back
        await progress.edit_text("❌ 服务正在重启，语料和索引保持原样，请稍后再试。")
        raise
    except Exception:
        await progress.edit_text("❌ 出错了，语料和索引保持原样。详情见日志。")
        raise
    summary = (
        f"索引现有 {report.reindex.speeches} 篇讲话、{report.reindex.chunks} 个段落，"
        f"用时 {report.reindex.seconds:.1f} 秒。"
    )
    await progress.edit_text(f"{done(report)}\n{summary}")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _semantic_line(search: SearchService) -> str:
    """How much of the corpus answers by meaning as well as by words (vectors still being computed)."""
    model = search.model_state
    if model.state == "none":
        return "语义检索：未启用（只按词检索）"
    if model.state == "loading":
        return f"语义检索：模型加载中（已 {model.seconds:.0f} 秒），暂按词检索"
    if model.state == "failed":
        return "语义检索：模型未能加载（详见日志），只按词检索"
    vectors = search.retriever.vectors
    if vectors is None:
        return "语义检索：段落向量计算中，暂按词检索"
    progress = search.embedding_progress
    if vectors.complete:
        return "语义检索：全部段落已就绪"
    return (
        f"语义检索：{vectors.coverage:.0%} 段落已就绪，后台计算中（{progress.done}/{progress.total}），"
        "其余段落暂按词检索"
    )


async def stats(update: Update, context: BotContext) -> None:
    message = cast(Message, update.effective_message)
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
        _semantic_line(services(context).search),
    ]
    if figures.top:
        lines += ["", "<b>常见问题</b>"] + [f"{n}× {escape(q[:60])}" for q, n in figures.top]
    if figures.recent_unanswered:
        lines += ["", "<b>最近未找到答案</b>"] + [escape(q[:60]) for q in figures.recent_unanswered]
    await message.reply_text("\n".join(lines))
