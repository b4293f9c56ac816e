"""Knowledge-base demo data: a dozen articles in English, Chinese, Japanese and Italian
(including the tier time-box article), an internal one for agents, featured FAQ entries,
and a month of answer-bot sessions so the deflection page has something to show.
Everything goes through the kb services; `load(db, now)` flushes, never commits."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tierdesk.core.security import ANONYMOUS, SYSTEM
from tierdesk.kb import answers, service
from tierdesk.kb import repository as repo
from tierdesk.kb.models import Visibility
from tierdesk.kb.schemas import ArticleIn, AskIn, CategoryIn, FaqIn, FeedbackIn, TranslationIn
from tierdesk.tickets import service as tickets
from tierdesk.tickets.service import TicketFilter

CATEGORIES = [
    ("accounts", "Accounts and sign-in", "Passwords, two-factor authentication, locked accounts."),
    ("billing", "Billing and refunds", "Invoices, payments, refunds and plans."),
    ("support-process", "How support works", "Response times, support hours, escalation between tiers."),
    ("orders", "Orders and delivery", "Shipping times and tracking."),
]
FAQ = [
    (
        "support-process",
        "en",
        "How long before my ticket goes to a specialist?",
        "An L1 ticket that needs more than 15 minutes moves to L2 specialists.",
        "tier-timebox",
    ),
    (
        "billing",
        "en",
        "Can I get a refund?",
        "Yes, a full refund within 14 days of purchase.",
        "refund-policy",
    ),
    (
        "accounts",
        "en",
        "I forgot my password",
        "Use 'Forgot password' on the sign-in page; the link works for 30 minutes.",
        "reset-password",
    ),
    ("billing", "en", "Where are my invoices?", "Under Billing > Invoices, as PDF.", "invoice-download"),
    (
        "support-process",
        "zh",
        "一级工单多久会升级？",
        "一级工单超过15分钟未解决就会升级到二级专家。",
        "tier-timebox",
    ),
    ("billing", "zh", "可以退款吗？", "购买后14天内可以全额退款。", "refund-policy"),
    (
        "support-process",
        "ja",
        "チケットはいつエスカレーションされますか？",
        "L1で15分を超えるとL2の専門チームに引き継ぎます。",
        "tier-timebox",
    ),
    ("billing", "ja", "返金してもらえますか？", "購入から14日以内なら全額返金します。", "refund-policy"),
    (
        "support-process",
        "it",
        "Quando un ticket passa al secondo livello?",
        "Dopo 15 minuti al primo livello passa agli specialisti.",
        "tier-timebox",
    ),
    ("billing", "it", "Posso avere un rimborso?", "Sì, entro 14 giorni dall'acquisto.", "refund-policy"),
]
INTERNAL = (
    "Refund exceptions (agents only)",
    "L1 may refund up to 100 EUR after the 14-day window when the customer reports a product bug. "
    "Above that, or for B2B accounts, escalate to the billing team with the order number.",
)
# (locale, question, solved?) asked by visitors over the last four weeks.
QUESTIONS = [
    ("en", "how long until my refund arrives", True),
    ("en", "I forgot my password", True),
    ("en", "card payment declined what now", False),
    ("en", "when does an L1 ticket escalate", True),
    ("en", "download invoice pdf", True),
    ("zh", "一级工单多久要升级", True),
    ("zh", "退款多久能到账", False),
    ("zh", "忘记密码怎么办", True),
    ("ja", "パスワードを忘れました", True),
    ("ja", "荷物が届きません", False),
    ("it", "posso avere un rimborso?", True),
    ("it", "tempi di risposta del piano Enterprise", None),
]

ARTICLES: list[tuple[str, str, dict[str, tuple[str, str]]]] = [
    (
        "tier-timebox",
        "support-process",
        {
            "en": (
                "Tier time boxes: when a ticket moves to the next level",
                "A first-level (L1) ticket that needs more than 15 minutes escalates to L2 specialists. L2 works on a ticket for 30 minutes or less before handing it to L3 experts.\n\nL3 has no time limit: experts work on product bugs and custom setups until they are solved.",
            ),
            "zh": (
                "各级工单的时间盒：什么时候升级",
                "一级（L1）工单如果处理超过15分钟仍未解决，就要升级到二级（L2）专家。二级专家处理一个工单最多30分钟，然后交给三级（L3）专家。\n\n三级没有时间限制：专家会一直处理产品缺陷和定制配置，直到问题解决。",
            ),
            "ja": (
                "レベルごとの対応時間：チケットがエスカレーションされるとき",
                "一次対応（L1）のチケットが15分を超えても解決しない場合は、二次対応（L2）の専門チームにエスカレーションします。L2は一件あたり30分以内で対応し、その後L3のエキスパートに引き継ぎます。\n\nL3には時間制限がありません。製品の不具合や特別な構成は解決するまで対応します。",
            ),
            "it": (
                "Tempi massimi per livello: quando un ticket passa al livello successivo",
                "Un ticket di primo livello (L1) che richiede più di 15 minuti viene escalato agli specialisti del secondo livello (L2). Il secondo livello lavora su un ticket al massimo 30 minuti prima di passarlo agli esperti del terzo livello (L3).\n\nIl terzo livello non ha limiti di tempo: gli esperti seguono bug del prodotto e configurazioni personalizzate fino alla soluzione.",
            ),
        },
    ),
    (
        "reset-password",
        "accounts",
        {
            "en": (
                "Reset your password",
                "If you forgot your password, open the sign-in page and choose **Forgot password**. We e-mail you a reset link that works for 30 minutes.\n\nThe new password needs at least 12 characters. After the reset, every other device is signed out.",
            ),
            "zh": (
                "重置密码",
                "如果忘记了密码，请在登录页面点击“忘记密码”。我们会发送一封重置邮件，链接在30分钟内有效。\n\n新密码至少需要12个字符。重置后，其他设备上的登录都会被注销。",
            ),
            "ja": (
                "パスワードの再設定",
                "パスワードを忘れた場合は、サインイン画面で「パスワードをお忘れですか」を選んでください。再設定用のリンクをメールでお送りします。リンクの有効期限は30分です。\n\n新しいパスワードは12文字以上が必要です。再設定すると、ほかの端末はすべてサインアウトされます。",
            ),
            "it": (
                "Reimpostare la password",
                "Se hai dimenticato la password, apri la pagina di accesso e scegli **Password dimenticata**. Ti inviamo per e-mail un link di reimpostazione valido per 30 minuti.\n\nLa nuova password deve avere almeno 12 caratteri. Dopo la reimpostazione tutti gli altri dispositivi vengono disconnessi.",
            ),
        },
    ),
    (
        "refund-policy",
        "billing",
        {
            "en": (
                "Refund policy",
                "You can ask for a full refund within 14 days of purchase, no questions asked. After 14 days we refund unused months of yearly plans only.\n\nRefunds are paid back to the original payment method.",
            ),
            "zh": (
                "退款政策",
                "购买后14天内可以申请全额退款，无需说明理由。超过14天后，只退还年付套餐中未使用的月份。\n\n退款会退回到原来的支付方式。",
            ),
            "ja": (
                "返金ポリシー",
                "購入から14日以内であれば、理由を問わず全額返金します。14日を過ぎた場合は、年間プランの未使用の月分のみ返金します。\n\n返金は元の支払い方法に戻されます。",
            ),
            "it": (
                "Politica di rimborso",
                "Puoi chiedere il rimborso completo entro 14 giorni dall'acquisto, senza dover spiegare il motivo. Dopo 14 giorni rimborsiamo solo i mesi non usati dei piani annuali.\n\nIl rimborso viene accreditato sul metodo di pagamento originale.",
            ),
        },
    ),
    (
        "refund-status",
        "billing",
        {
            "en": (
                "When will my refund arrive?",
                "We send the refund on the day it is approved. Card refunds take 5 to 10 business days to appear on your statement, bank transfers up to 3 business days.\n\nIf nothing arrived after 10 business days, reply to your refund ticket with the last four digits of the card.",
            ),
            "zh": (
                "退款什么时候到账？",
                "退款批准当天就会发出。信用卡退款需要5到10个工作日才会显示在账单上，银行转账最多3个工作日。\n\n如果10个工作日后仍未收到，请在退款工单中回复卡号的后四位。",
            ),
        },
    ),
    (
        "invoice-download",
        "billing",
        {
            "en": (
                "Download invoices as PDF",
                "Every invoice is available under Billing > Invoices. Click an invoice to download it as a PDF file.\n\nInvoices are also e-mailed to the billing contact each month.",
            ),
            "zh": (
                "下载PDF发票",
                "所有发票都在“账单 > 发票”页面。点击发票即可下载PDF文件。\n\n每个月发票也会通过邮件发送给账单联系人。",
            ),
            "it": (
                "Scaricare le fatture in PDF",
                "Tutte le fatture si trovano in Fatturazione > Fatture. Fai clic su una fattura per scaricarla in formato PDF.\n\nOgni mese le fatture vengono anche inviate per e-mail al referente amministrativo.",
            ),
        },
    ),
    (
        "account-locked",
        "accounts",
        {
            "en": (
                "Account locked after failed sign-ins",
                "After five wrong passwords in fifteen minutes your account is locked for fifteen minutes to stop password guessing.\n\nWait until the lock ends, or reset your password to get in at once.",
            ),
            "zh": (
                "多次登录失败后账户被锁定",
                "15分钟内输错五次密码后，账户会被锁定15分钟，以防止有人猜测密码。\n\n请等锁定结束，或者重置密码后立即登录。",
            ),
        },
    ),
    (
        "two-factor",
        "accounts",
        {
            "en": (
                "Turn on two-factor authentication",
                "Two-factor authentication (2FA) protects your account with a second step at sign-in. Go to Settings > Security and scan the QR code with an authenticator app.\n\nKeep the ten recovery codes somewhere safe: each one lets you in once if you lose your phone.",
            ),
            "ja": (
                "二段階認証を有効にする",
                "二段階認証は、サインイン時にもう一つの確認を加えてアカウントを守ります。設定 > セキュリティを開き、認証アプリでQRコードを読み取ってください。\n\n10個のリカバリーコードは安全な場所に保管してください。スマートフォンを紛失したときに一回ずつ使えます。",
            ),
        },
    ),
    (
        "payment-failed",
        "billing",
        {
            "en": (
                "Card payment declined",
                "When a card payment fails we retry it after 3 and 7 days and e-mail you each time. Common causes are an expired card, insufficient funds or a bank blocking online payments.\n\nAdd a new card under Billing > Payment methods to pay the open invoice at once.",
            ),
            "ja": (
                "カード決済が失敗した",
                "カード決済に失敗した場合は、3日後と7日後に再試行し、そのたびにメールでお知らせします。よくある原因は、カードの有効期限切れ、残高不足、銀行によるオンライン決済のブロックです。\n\n請求 > 支払い方法で新しいカードを追加すると、未払いの請求書をすぐに支払えます。",
            ),
        },
    ),
    (
        "sla-response",
        "support-process",
        {
            "en": (
                "Response times by plan",
                "We answer the first message within 8 business hours on the Basic plan, 4 hours on Business and 1 hour on Enterprise.\n\nUrgent tickets from Enterprise customers are answered within 30 minutes, day and night.",
            ),
            "it": (
                "Tempi di risposta per piano",
                "Rispondiamo al primo messaggio entro 8 ore lavorative con il piano Basic, 4 ore con Business e 1 ora con Enterprise.\n\nI ticket urgenti dei clienti Enterprise ricevono risposta entro 30 minuti, giorno e notte.",
            ),
        },
    ),
    (
        "business-hours",
        "support-process",
        {
            "en": (
                "Support hours and public holidays",
                "Our support team works Monday to Friday, 8:00 to 18:00 in your region's time zone. On public holidays we answer urgent tickets only.\n\nEnterprise customers have round-the-clock cover for urgent problems.",
            ),
            "zh": (
                "客服工作时间和法定节假日",
                "我们的客服团队周一至周五工作，时间为当地时区的8:00到18:00。法定节假日只处理紧急工单。\n\n企业客户的紧急问题有全天候支持。",
            ),
        },
    ),
    (
        "shipping-delay",
        "orders",
        {
            "en": (
                "My order has not arrived",
                "Orders ship within 2 business days and arrive in 3 to 7 days. Use the tracking link in your shipping e-mail to follow the parcel.\n\nIf the parcel has not arrived after 10 days, tell us the order number and we will send a replacement or refund it.",
            ),
            "ja": (
                "注文した商品が届かない",
                "ご注文は2営業日以内に発送され、3日から7日でお届けします。発送メールの追跡リンクで荷物の状況を確認できます。\n\n10日たっても届かない場合は、注文番号をお知らせください。代わりの商品をお送りするか、返金します。",
            ),
        },
    ),
    (
        "escalation-how",
        "support-process",
        {
            "en": (
                "How escalation works",
                "Your ticket starts with the front-line team. If they cannot solve it, they escalate it to specialists with a summary, so you never have to repeat yourself.\n\nYou can see the current level of your ticket in the portal.",
            ),
        },
    ),
]


def load(db: Session, now: datetime) -> dict[str, int]:
    """Create the demo knowledge base; returns article key -> id."""
    rng = random.Random(5)
    for slug, name, description in CATEGORIES:
        service.create_category(db, SYSTEM, CategoryIn(slug=slug, name=name, description=description), now)
    ids: dict[str, int] = {}
    for key, category, texts in ARTICLES:
        title, body = texts["en"]
        written = now - timedelta(days=40)
        article = service.create_article(
            db, SYSTEM, ArticleIn(title=title, body=body, locale="en", category=category), written
        )
        for locale, (t, b) in texts.items():
            if locale != "en":
                service.save_translation(
                    db, SYSTEM, article.id, locale, TranslationIn(title=t, body=b), written
                )
        ids[key] = article.id
    service.create_article(
        db,
        SYSTEM,
        ArticleIn(
            title=INTERNAL[0],
            body=INTERNAL[1],
            locale="en",
            category="billing",
            visibility=Visibility.internal,
        ),
        now - timedelta(days=30),
    )
    for position, (category, locale, question, answer, key) in enumerate(FAQ):
        service.create_faq(
            db,
            SYSTEM,
            FaqIn(
                category=category,
                locale=locale,
                question=question,
                answer=answer,
                article_id=ids[key],
                position=position,
                featured=True,
            ),
            now,
        )
    _sessions(db, now, rng)
    return ids


def _sessions(db: Session, now: datetime, rng: random.Random) -> None:
    """Answer-bot sessions over the last four weeks: some solved, some left without an answer
    (settled after 24 hours), and some whose customer opened a ticket right after (not
    deflected). No hand-off tickets are created, so the demo's ticket set stays as it is."""
    for day in range(2, 28):
        for locale, question, solved in rng.sample(QUESTIONS, 3):
            at = now - timedelta(days=day, hours=rng.randint(0, 8))
            out = answers.ask(db, ANONYMOUS, AskIn(question=question, locale=locale), at)
            if solved:
                answers.feedback(
                    db, ANONYMOUS, out.session, FeedbackIn(solved=True), at + timedelta(minutes=2)
                )
    # Customers who read an answer and still wrote in: their sessions become "ticket_opened".
    recent, _ = tickets.list_tickets(
        db, SYSTEM, TicketFilter(created_from=now - timedelta(days=27)), "-created_at", None, 12
    )
    for ticket in recent:
        at = ticket.created_at - timedelta(minutes=10)
        out = answers.ask(db, ANONYMOUS, AskIn(question=ticket.subject[:200], locale="en"), at)
        session = repo.session_by_key(db, out.session)
        if session is not None and session.first_answer_at is not None:
            session.customer_id = ticket.requester_id
    answers.settle_sessions(db, now)
    for query in (
        "refund",
        "password reset",
        "一级工单升级",
        "invoice pdf",
        "dark mode",
        "返金",
        "rimborso",
        "gift card",
    ):
        service.search_articles(db, ANONYMOUS, query, None, 10, now - timedelta(hours=rng.randint(1, 200)))
    db.flush()
