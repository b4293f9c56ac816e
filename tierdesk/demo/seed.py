"""Demo data: a B2C shop and a B2B SaaS vendor sharing one helpdesk.

Everything goes through the domain services, so the demo looks exactly like data the app
made itself: configuration as `SYSTEM`, ticket work as the real agents and customers, each
change with its `ticket_event` rows. Deterministic (random.Random(42)); only flushes.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.accounts.schemas import UserIn
from tierdesk.core.security import SYSTEM, Actor, Role
from tierdesk.customers import service as customers
from tierdesk.customers.models import Segment
from tierdesk.customers.schemas import CustomerIn, OrganizationIn
from tierdesk.kb import demo as kb_demo
from tierdesk.routing import service as routing
from tierdesk.routing.schemas import RuleIn
from tierdesk.sla import service as sla
from tierdesk.sla import tasks as sla_tasks
from tierdesk.sla.schemas import PolicyIn, TargetIn
from tierdesk.tickets import service as tickets
from tierdesk.tickets.models import Channel, LinkKind, MessageKind, Priority, Status
from tierdesk.tickets.schemas import LinkCreate, MessageCreate, TicketCreate, TicketPatch
from tierdesk.tiers import service as tiers
from tierdesk.tiers.models import Presence, TeamKind
from tierdesk.tiers.schemas import (
    AgentWorkIn,
    CalendarIn,
    EscalationPathIn,
    SkillIn,
    TeamIn,
    TeamPatch,
    TierIn,
    check_timezone,
)

DEMO_PASSWORD = "tierdesk-demo"
DOMAIN = "tierdesk.example.com"
SHOP_DOMAIN = "shopper.example.net"
TICKET_COUNT = 200
DAYS = 30
SEED = 42

# --- configuration ------------------------------------------------------------------------
OFFICE_HOURS = {str(day): [("09:00", "18:00")] for day in range(5)}
ITALIAN_HOLIDAYS_2026 = [
    "2026-01-01", "2026-01-06", "2026-04-05", "2026-04-06", "2026-04-25", "2026-05-01",
    "2026-06-02", "2026-08-15", "2026-11-01", "2026-12-08", "2026-12-25", "2026-12-26",
]  # fmt: skip
LIVE = 12  # tickets filed in the ten minutes before the demo starts

SLA_POLICIES = [  # name, position, segment, calendar, [(metric, business minutes)]
    ("Enterprise 24/7", 10, "enterprise", "24/7",
     [("first_response", 30), ("next_response", 60), ("resolution", 8 * 60), ("periodic_update", 60)]),
    ("Standard", 100, None, "Europe office",
     [("first_response", 4 * 60), ("next_response", 8 * 60), ("resolution", 3 * 9 * 60)]),
]  # fmt: skip

ROUTING_RULES = [  # name, conditions, actions
    ("Strategic accounts to their experts", [{"field": "organization.strategic", "op": "eq", "value": True}],
     {"tier": "L3", "team": "@dedicated"}),
    ("Fraud to the fraud team", [{"field": "ticket.category", "op": "eq", "value": "fraud"}],
     {"team": "fraud", "priority": "high"}),
    ("Compliance to compliance", [{"field": "ticket.category", "op": "eq", "value": "compliance"}],
     {"team": "compliance"}),
    ("Outages to the crisis room", [{"field": "ticket.has_incident", "op": "eq", "value": True}],
     {"team": "crisis"}),
]  # fmt: skip

CALENDARS = [  # name, time zone, hours, holidays
    ("Europe office", "Europe/Rome", OFFICE_HOURS, ITALIAN_HOLIDAYS_2026),
    ("Asia office", "Asia/Tokyo", OFFICE_HOURS, []),
    ("24/7", "UTC", {str(day): [("00:00", "24:00")] for day in range(7)}, []),
]
TIER_FIELDS = ("key", "name", "level", "time_box_minutes", "self_service", "vendor", "is_default", "description")  # fmt: skip
TIERS = [
    ("L0", "Self-service", 0, None, True, False, False, "Knowledge base, FAQ, chatbot, portal."),
    ("L1", "Front line", 1, 15, False, False, True, "Passwords, unlocks, how-to, simple billing."),
    ("L2", "Specialists", 2, 30, False, False, False, "Advanced features and known fixes."),
    ("L3", "Experts", 3, None, False, False, False, "Product bugs, custom setups; works with R&D."),
    ("L4", "Vendor", 4, None, False, True, False, "The vendor of a product we integrate with."),
]
TEAMS = [  # key, name, kind, need-to-know, calendar, description
    ("billing", "Billing", TeamKind.billing, False, "Europe office", "Invoices, payments, big refunds."),
    ("compliance", "Compliance", TeamKind.compliance, True, "Europe office", "GDPR, DPAs, audits."),
    ("fraud", "Fraud & identity", TeamKind.fraud, True, "Europe office", "Account takeover, chargebacks."),
    ("crisis", "Crisis room", TeamKind.crisis, False, "24/7", "Outages: status updates every 30 min."),
    ("enterprise", "Enterprise experts", TeamKind.enterprise, False, "Asia office", "Strategic accounts."),
    ("vendor", "Vendor liaison", TeamKind.vendor, False, "Europe office", "Cases open with vendors."),
    ("engineering", "Engineering", TeamKind.engineering, False, "Europe office", "Product developers."),
]
TEAM_LEADS = {
    "billing": "marco",
    "compliance": "lin",
    "fraud": "emma",
    "crisis": "supervisor",
    "enterprise": "kenji",
}
PATHS = [  # from tier, to tier, to team, allowed roles (None: every staff role)
    ("L1", "L2", None, None),
    ("L2", "L3", None, None),
    ("L3", "L4", None, [Role.supervisor, Role.admin]),
    ("L1", None, "engineering", None),  # the small-shop shortcut straight to the developers
]
SKILLS = {
    "billing": "Billing", "refunds": "Refunds", "sso": "Single sign-on", "api": "API",
    "networking": "Networking", "gdpr": "GDPR", "fraud-investigation": "Fraud investigation",
    "japanese": "Japanese", "chinese": "Chinese", "italian": "Italian",
}  # fmt: skip


class Staff(NamedTuple):
    key: str
    local: str  # e-mail local part
    name: str
    role: Role
    description: str
    language: str
    timezone: str
    tiers: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    skills: dict[str, int] | None = None
    languages: tuple[str, ...] = ("en",)
    calendar: str | None = None
    max_open: int = 25
    max_chats: int = 3


STAFF = [
    Staff("admin", "admin", "Alex Morgan", Role.admin, "administrator", "en", "Europe/London"),
    Staff("supervisor", "supervisor", "Chiara Esposito", Role.supervisor, "supervisor L1-L3", "it",
          "Europe/Rome", ("L1", "L2", "L3"), (), {"billing": 3, "italian": 5}, ("it", "en"),
          "Europe office", 15, 2),
    Staff("yuki", "l1.yuki", "Yuki Tanaka", Role.agent, "agent L1 (ja)", "ja", "Asia/Tokyo", ("L1",),
          (), {"japanese": 5, "billing": 2, "sso": 1}, ("ja", "en"), "Asia office", 40, 4),
    Staff("giulia", "l1.giulia", "Giulia Romano", Role.agent, "agent L1 (it)", "it", "Europe/Rome",
          ("L1",), (), {"italian": 5, "refunds": 3, "billing": 2}, ("it", "en"), "Europe office", 40, 4),
    Staff("wei", "l2.wei", "Wei Chen", Role.agent, "agent L2 (zh)", "zh", "Asia/Shanghai", ("L2",), (),
          {"chinese": 5, "api": 3, "networking": 4}, ("zh", "en"), "Asia office", 30, 3),
    Staff("sarah", "l2.sarah", "Sarah Mitchell", Role.agent, "agent L2 (en)", "en", "Europe/London",
          ("L2",), (), {"api": 4, "sso": 4, "networking": 2}, ("en",), "24/7", 30, 3),
    Staff("kenji", "l3.kenji", "Kenji Watanabe", Role.agent, "agent L3+enterprise", "ja", "Asia/Tokyo",
          ("L3",), ("enterprise",), {"api": 5, "sso": 5, "networking": 4, "japanese": 5}, ("ja", "en"),
          "Asia office", 20, 2),
    Staff("marco", "billing.marco", "Marco Bianchi", Role.specialist, "billing specialist", "it",
          "Europe/Rome", (), ("billing",), {"billing": 5, "refunds": 5, "italian": 5}, ("it", "en"),
          "Europe office", 30, 2),
    Staff("emma", "fraud.emma", "Emma Clarke", Role.specialist, "fraud specialist", "en", "Europe/London",
          (), ("fraud",), {"fraud-investigation": 5}, ("en",), "Europe office", 20, 0),
    Staff("lin", "compliance.lin", "Lin Zhou", Role.specialist, "compliance specialist", "zh",
          "Asia/Shanghai", (), ("compliance",), {"gdpr": 5, "chinese": 5}, ("zh", "en"), "Europe office",
          20, 0),
]  # fmt: skip
L1_BY_LANGUAGE = {"ja": "yuki", "it": "giulia"}
L2_BY_LANGUAGE = {"zh": "wei"}

# --- customers ------------------------------------------------------------------------------
# key, name, domain, plan, segment, strategic, shared tickets, flags, time zone, contacts' languages, notes
ORGANIZATIONS = [
    ("kitsune", "Kitsune Logistics K.K.", "kitsune-logistics.example.com", "enterprise", Segment.enterprise,
     True, True, {"proactive_contact": True, "sla": "platinum"}, "Asia/Tokyo", ["ja"] * 5 + ["en"],
     "Strategic B2B account: dedicated enterprise team; contact proactively on any glitch."),
    ("bellavista", "Bellavista Hotels S.p.A.", "bellavista-hotels.example.com", "business", Segment.mid_market,
     False, False, {"region": "EU"}, "Europe/Rome", ["it"] * 4 + ["en"],
     "Hotel chain, 14 properties; reception desks use the web app around the clock."),
    ("lotus", "Lotus Tea Co.", "lotustea.example.com", "starter", Segment.smb, False, False, {},
     "Asia/Shanghai", ["zh"] * 3 + ["en"], "Online tea shop on the starter plan."),
]  # fmt: skip
PEOPLE = {  # "name/e-mail local part, ...", taken in order: organizations first, then consumers
    "ja": "佐藤 花子/hanako.sato, 鈴木 一郎/ichiro.suzuki, 高橋 美咲/misaki.takahashi, 伊藤 翔/sho.ito, "
    "渡辺 結衣/yui.watanabe, 山本 大輔/daisuke.yamamoto, 中村 さくら/sakura.nakamura, 小林 健太/kenta.kobayashi, "
    "加藤 愛/ai.kato, 吉田 悠人/yuto.yoshida, 山田 陽菜/hina.yamada, 松本 蓮/ren.matsumoto",
    "zh": "王芳/fang.wang, 李伟/wei.li, 张敏/min.zhang, 刘洋/yang.liu, 陈静/jing.chen, 杨磊/lei.yang, 赵丽/li.zhao, "
    "黄强/qiang.huang, 周婷/ting.zhou, 吴军/jun.wu, 徐雪/xue.xu, 孙浩/hao.sun",
    "it": "Francesca Russo/francesca.russo, Alessandro Ferrari/alessandro.ferrari, Sofia Colombo/sofia.colombo, "
    "Lorenzo Ricci/lorenzo.ricci, Giorgia Marino/giorgia.marino, Matteo Greco/matteo.greco, "
    "Martina Bruno/martina.bruno, Davide Gallo/davide.gallo, Chiara Conti/chiara.conti, "
    "Luca De Luca/luca.deluca, Elena Costa/elena.costa, Andrea Fontana/andrea.fontana",
    "en": "Emily Carter/emily.carter, James Walker/james.walker, Olivia Bennett/olivia.bennett, "
    "Noah Turner/noah.turner, Amelia Hughes/amelia.hughes, Liam Foster/liam.foster, Grace Morgan/grace.morgan, "
    "Ethan Price/ethan.price, Chloe Reed/chloe.reed, Jack Cooper/jack.cooper, Mia Howard/mia.howard, "
    "Ryan Brooks/ryan.brooks, Ava Collins/ava.collins, Owen Ward/owen.ward",
}
CONSUMER_TIMEZONES = {
    "ja": ["Asia/Tokyo"],
    "zh": ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei"],
    "it": ["Europe/Rome"],
    "en": ["Europe/London", "America/New_York", "Australia/Sydney"],
}
VIP_CONSUMERS = {"sakura.nakamura", "lei.yang", "martina.bruno", "grace.morgan"}
CUSTOMER_LOGINS = {  # e-mail local part -> how the login is described
    "noah.turner": "customer (B2C shop)",
    "hanako.sato": "customer (Kitsune)",
    "francesca.russo": "customer (Bellavista)",
}

# --- ticket texts -----------------------------------------------------------------------------
B2B_CATEGORIES = {"billing": 5, "login": 4, "bug": 5, "how-to": 4, "outage": 2, "compliance": 2}
B2C_CATEGORIES = {"login": 5, "how-to": 4, "refund": 5, "billing": 3, "fraud": 2, "bug": 2, "compliance": 1}
EXTRA_TAGS = ["mobile", "ios", "android", "invoice", "sso", "api", "card", "eu", "returning-customer"]
ENGINEERING_BUGS = ["ENG-231", "ENG-238", "ENG-245", "ENG-252"]
INCIDENTS = ["INC-2026-014", "INC-2026-019"]
TEMPLATES: dict[str, dict[str, list[str]]] = {  # "subject | description", {n} is a number
    "en": {
        "billing": ["Invoice {n} shows the wrong amount | Invoice {n} charges us for 25 seats but we only have 18. Please correct it.",
                    "Charged twice this month | My card was charged twice for the same subscription (order {n}). Please check."],
        "login": ["Cannot log in to my account | Since this morning the login page says my password is wrong, even after a reset.",
                  "Account locked after password reset | I reset my password and now the account is locked. I cannot see order {n}."],
        "bug": ["Export to CSV fails with error 500 | Exporting report {n} to CSV shows 'Internal Server Error'. Steps: Reports > Export.",
                "Mobile app crashes at checkout | The iOS app closes as soon as I tap 'Pay' on order {n}."],
        "how-to": ["How do I add a new user? | Where can I invite a colleague and give them read-only access?",
                   "How to change the delivery address | I need to change the delivery address of order {n}."],
        "outage": ["Dashboard is not loading | Since 10:15 the dashboard shows a blank page for all our users. Our dispatchers are blocked.",
                   "API returns 503 for every request | All calls to the shipments API fail with 503 since a few minutes. Request id {n}."],
        "compliance": ["GDPR data access request | Under GDPR article 15 I request a copy of all personal data you hold about me.",
                       "Where is our data stored? | Our DPO asks in which region our data is hosted and for your list of subprocessors."],
        "fraud": ["Order I did not place | I received a confirmation for order {n}, but I never placed it. Has someone used my account?",
                  "Suspicious login from another country | I got an alert about a login from an unknown device. It was not me."],
        "refund": ["Refund for order {n} | The item arrived damaged. I would like a refund for order {n}.",
                   "Return not refunded yet | I returned order {n} two weeks ago and still have no refund."],
    },
    "zh": {
        "billing": ["发票 {n} 金额不对 | 您好，发票 {n} 按 25 个席位收费，但我们只有 18 个用户，请帮忙更正。",
                    "本月被重复扣款 | 我的银行卡这个月被扣了两次订阅费（订单 {n}），请核实。"],
        "login": ["无法登录账户 | 从今天早上开始，登录页面一直提示密码错误，重置密码后也不行。",
                  "重置密码后账户被锁定 | 我刚重置了密码，现在账户被锁定了，无法查看订单 {n}。"],
        "bug": ["导出 CSV 时出现 500 错误 | 把报表 {n} 导出为 CSV 时显示“服务器内部错误”。",
                "手机应用在付款时闪退 | 在订单 {n} 点击“付款”后，iOS 应用马上就关闭了。"],
        "how-to": ["如何添加新用户？ | 请问在哪里邀请同事，并且只给他只读权限？",
                   "如何修改收货地址 | 我需要修改订单 {n} 的收货地址，应该怎么操作？"],
        "outage": ["控制台无法加载 | 从 10:15 开始，我们所有用户打开控制台都是空白页面。",
                   "API 所有请求都返回 503 | 几分钟前开始，所有 API 调用都返回 503，请求编号 {n}。"],
        "compliance": ["个人数据访问请求 | 根据 GDPR 第 15 条，请提供你们保存的关于我的全部个人数据副本。",
                       "我们的数据存放在哪里？ | 我们的数据保护官想了解数据托管在哪个地区，以及你们的分包处理方名单。"],
        "fraud": ["我没有下过这个订单 | 我收到了订单 {n} 的确认邮件，但我从来没有下过这个订单。是不是有人盗用了我的账户？",
                  "异地可疑登录 | 我收到提醒说有陌生设备登录了我的账户，但不是我本人操作的。"],
        "refund": ["申请退款：订单 {n} | 商品到货时已经损坏，我想为订单 {n} 申请退款。",
                   "退货后还没收到退款 | 我两周前退回了订单 {n}，到现在还没有收到退款。"],
    },
    "ja": {
        "billing": ["請求書の金額が間違っています | 請求書 {n} で 25 席分が請求されていますが、利用しているのは 18 席です。修正をお願いします。",
                    "今月二重に請求されました | 同じサブスクリプション（注文 {n}）でカードに二回請求がありました。ご確認ください。"],
        "login": ["ログインできません | 今朝からパスワードをリセットしても「パスワードが違います」と表示されます。",
                  "パスワード再設定後にアカウントがロックされました | パスワードを再設定したらアカウントがロックされ、注文 {n} を確認できません。"],
        "bug": ["CSV エクスポートで 500 エラー | レポート {n} を CSV にエクスポートすると「Internal Server Error」になります。",
                "決済画面でアプリが落ちます | 注文 {n} で「支払う」を押すと iOS アプリがすぐに終了します。"],
        "how-to": ["新しいユーザーを追加する方法 | 同僚を招待して閲覧のみの権限を付けるにはどうすればよいですか？",
                   "配送先住所の変更方法 | 注文 {n} の配送先住所を変更したいのですが、手順を教えてください。"],
        "outage": ["ダッシュボードが表示されません | 10:15 から全ユーザーのダッシュボードが真っ白です。配車業務が止まっています。",
                   "API がすべて 503 を返します | 数分前から出荷 API へのすべてのリクエストが 503 になります。リクエスト ID {n}。"],
        "compliance": ["個人データ開示の請求 | GDPR 第 15 条に基づき、保有している私の個人データの写しを請求します。",
                       "データの保管場所について | 当社の DPO から、データの保管リージョンと委託先一覧を求められています。"],
        "fraud": ["身に覚えのない注文があります | 注文 {n} の確認メールが届きましたが、注文した覚えがありません。不正利用でしょうか？",
                  "海外からの不審なログイン | 見覚えのない端末からのログイン通知が届きました。私ではありません。"],
        "refund": ["注文 {n} の返金について | 商品が破損して届きました。注文 {n} の返金をお願いします。",
                   "返品の返金がまだです | 2 週間前に注文 {n} を返品しましたが、まだ返金されていません。"],
    },
    "it": {
        "billing": ["Importo errato sulla fattura {n} | La fattura {n} addebita 25 postazioni ma ne usiamo solo 18. Potete correggerla?",
                    "Addebito doppio questo mese | La mia carta è stata addebitata due volte per lo stesso abbonamento (ordine {n})."],
        "login": ["Non riesco ad accedere al mio account | Da stamattina la pagina di accesso dice che la password è sbagliata, anche dopo il reset.",
                  "Account bloccato dopo il reset della password | Ho reimpostato la password e ora l'account è bloccato; non vedo l'ordine {n}."],
        "bug": ["Errore 500 nell'esportazione CSV | Esportando il report {n} in CSV compare 'Internal Server Error'.",
                "L'app si chiude al pagamento | L'app iOS si chiude appena tocco 'Paga' sull'ordine {n}."],
        "how-to": ["Come aggiungo un nuovo utente? | Dove posso invitare un collega e dargli accesso in sola lettura?",
                   "Come cambiare l'indirizzo di consegna | Devo cambiare l'indirizzo di consegna dell'ordine {n}."],
        "outage": ["La dashboard non si carica | Dalle 10:15 la dashboard mostra una pagina bianca a tutti i nostri utenti. La reception è bloccata.",
                   "L'API risponde 503 a ogni richiesta | Da qualche minuto tutte le chiamate API falliscono con 503. Request id {n}."],
        "compliance": ["Richiesta di accesso ai dati (GDPR) | Ai sensi dell'articolo 15 del GDPR chiedo copia di tutti i dati personali che conservate su di me.",
                       "Dove sono conservati i nostri dati? | Il nostro DPO chiede in quale regione sono ospitati i dati e l'elenco dei sub-responsabili."],
        "fraud": ["Ordine che non ho effettuato | Ho ricevuto la conferma dell'ordine {n}, ma non l'ho mai fatto. Qualcuno ha usato il mio account?",
                  "Accesso sospetto dall'estero | Ho ricevuto un avviso di accesso da un dispositivo sconosciuto. Non ero io."],
        "refund": ["Rimborso per l'ordine {n} | L'articolo è arrivato danneggiato. Vorrei il rimborso dell'ordine {n}.",
                   "Reso non ancora rimborsato | Ho restituito l'ordine {n} due settimane fa e non ho ancora ricevuto il rimborso."],
    },
}  # fmt: skip
REPLIES = {  # staff: ack, ask, update, solved; customer: info, again
    "en": {"ack": "Thank you for contacting us. I am looking into this now and will update you shortly.",
           "ask": "Could you send us a screenshot and the exact time it happened?",
           "update": "Status update: our engineers are still working on it. Next update within 30 minutes. We apologise for the disruption.",
           "solved": "This is fixed on our side. Please let us know if anything else comes up.",
           "info": "Here is the screenshot; it happened around 9:40.",
           "again": "Sorry, it is happening again today."},
    "zh": {"ack": "感谢您的联系，我正在处理这个问题，稍后会给您答复。",
           "ask": "能否提供截图以及问题发生的具体时间？",
           "update": "最新进展：工程师仍在处理中，30 分钟内会再次更新。对此造成的不便我们深表歉意。",
           "solved": "问题已经在我们这边解决，如还有其他问题请随时联系我们。",
           "info": "截图已附上，大约是 9:40 发生的。",
           "again": "不好意思，今天又出现了同样的问题。"},
    "ja": {"ack": "お問い合わせありがとうございます。現在確認しておりますので、少々お待ちください。",
           "ask": "スクリーンショットと発生時刻を教えていただけますか？",
           "update": "状況のお知らせ：エンジニアが引き続き対応中です。30 分以内に再度ご連絡します。ご迷惑をおかけして申し訳ございません。",
           "solved": "こちらで解決いたしました。他にご不明な点があればお知らせください。",
           "info": "スクリーンショットを添付します。9:40 頃に発生しました。",
           "again": "すみません、今日また同じ問題が起きています。"},
    "it": {"ack": "Grazie per averci contattato. Sto verificando e vi aggiorno a breve.",
           "ask": "Potete inviarci uno screenshot e l'orario esatto del problema?",
           "update": "Aggiornamento: i nostri tecnici ci stanno ancora lavorando. Prossimo aggiornamento entro 30 minuti. Ci scusiamo per il disagio.",
           "solved": "Il problema è risolto. Fateci sapere se serve altro.",
           "info": "Ecco lo screenshot, è successo verso le 9:40.",
           "again": "Scusate, oggi il problema si ripresenta."},
}  # fmt: skip
NOTES = {  # internal notes, in the team's working language
    "escalate": "L1 notes: reproduced it, cleared sessions and cache, still failing. Handing over with the steps above.",
    "expert": "L2 notes: known fixes do not apply; logs attached to the timeline. Needs an expert.",
    "identity": "Identity verified with two security questions. Card and address details stay in the fraud case file.",
    "compliance": "Request logged in the GDPR register; 30-day deadline tracked by compliance.",
    "strategic": "Strategic account: proactive contact is on, keep the customer informed at every step.",
}  # fmt: skip


# --- loader ---------------------------------------------------------------------------------
M = TypeVar("M", bound=BaseModel)


@dataclass
class _Customer:
    id: int
    language: str
    org: str | None
    vip: bool


@dataclass
class _Demo:
    db: Session
    now: datetime
    rng: random.Random
    tier: dict[str, int] = field(default_factory=dict)
    team: dict[str, int] = field(default_factory=dict)
    calendar: dict[str, int] = field(default_factory=dict)
    user: dict[str, int] = field(default_factory=dict)
    actor: dict[str, Actor] = field(default_factory=dict)
    org: dict[str, int] = field(default_factory=dict)
    people: list[_Customer] = field(default_factory=list)
    logins: dict[int, Actor] = field(default_factory=dict)  # customer id -> their login's actor
    zones: set[str] = field(default_factory=set)

    def zoned(self, model: M, tz: str) -> M:
        """`model` with time zone `tz`, checked once per zone: the schemas' check_timezone
        rescans the whole zone database on every call (~40 ms), too slow for 60 records."""
        if tz not in self.zones:
            check_timezone(tz)
            self.zones.add(tz)
        return model.model_copy(update={"timezone": tz})


def load_demo(db: Session, now: datetime, only_if_empty: bool = False) -> list[tuple[str, str]] | None:
    """Load the demo; returns (e-mail, description) for every login, or None when skipped
    because users already exist and `only_if_empty` is set. Flushes, never commits."""
    if only_if_empty and accounts.list_users(db, SYSTEM, None, 1, None):
        return None
    demo = _Demo(db=db, now=now, rng=random.Random(SEED))
    _configure(demo)
    logins = _staff(demo) + _customers(demo)
    _tickets(demo)
    _rules(demo)
    kb_demo.load(db, now)  # help center: articles in 4 languages, FAQ, a month of bot sessions
    # Bring the clocks up to date: time boxes that ran out during the simulated month
    # escalate now, as the scheduler would have done, so the queues match the rules.
    while sla_tasks.tick(db, now).breached:
        pass
    db.flush()
    return logins


def _rules(demo: _Demo) -> None:
    """Skip-tier rules for tickets filed from now on (the month above was routed by hand)."""
    for name, conditions, actions in ROUTING_RULES:
        routing.create_rule(
            demo.db,
            SYSTEM,
            RuleIn.model_validate({"name": name, "conditions": conditions, "actions": actions}),
            demo.now,
        )


def _actor(db: Session, user_id: int) -> Actor:
    actor = accounts.actor_for_user_id(db, user_id)
    if actor is None:
        raise RuntimeError(f"demo user {user_id} has no actor")
    return actor


def _configure(demo: _Demo) -> None:
    db = demo.db
    for name, tz, hours, holidays in CALENDARS:
        cal = CalendarIn(name=name, timezone=tz, hours=hours, holidays=holidays)
        demo.calendar[name] = tiers.create_calendar(db, SYSTEM, cal).id
    for row in TIERS:
        tier = TierIn.model_validate(dict(zip(TIER_FIELDS, row, strict=True)))
        if tier.key in ("L1", "L2"):  # time boxes count in office hours
            tier.calendar_id = demo.calendar["Europe office"]
        demo.tier[tier.key] = tiers.create_tier(db, SYSTEM, tier).id
    for name, position, segment, calendar, targets in SLA_POLICIES:
        sla.create_policy(
            db,
            SYSTEM,
            PolicyIn(
                name=name,
                position=position,
                segment=segment,
                calendar_id=demo.calendar[calendar],
                targets=[TargetIn(metric=m, minutes=minutes) for m, minutes in targets],
            ),
        )
    for skill_key, skill_name in SKILLS.items():
        tiers.create_skill(db, SYSTEM, SkillIn(key=skill_key, name=skill_name))
    for key, name, kind, need_to_know, calendar, text in TEAMS:
        cal_id, email = demo.calendar[calendar], f"{key}@{DOMAIN}"
        team = TeamIn(
            key=key,
            name=name,
            kind=kind,
            need_to_know=need_to_know,
            calendar_id=cal_id,
            email=email,
            description=text,
        )
        demo.team[key] = tiers.create_team(db, SYSTEM, team).id
    for src, to_tier, to_team, roles in PATHS:
        path = EscalationPathIn(
            from_tier_id=demo.tier[src],
            to_tier_id=demo.tier[to_tier] if to_tier else None,
            to_team_id=demo.team[to_team] if to_team else None,
        )
        if roles is not None:
            path.allowed_roles = roles
        tiers.create_path(db, SYSTEM, path)


def _staff(demo: _Demo) -> list[tuple[str, str]]:
    db, out = demo.db, []
    for s in STAFF:
        work = None
        if s.role != Role.admin:
            work = AgentWorkIn(
                tier_ids=[demo.tier[t] for t in s.tiers],
                team_ids=[demo.team[t] for t in s.teams],
                skills=s.skills or {},
                languages=list(s.languages),
                max_open_tickets=s.max_open,
                max_concurrent_chats=s.max_chats,
                calendar_id=demo.calendar[s.calendar] if s.calendar else None,
                presence=Presence.online if s.role == Role.agent else Presence.away,
            )
        email = f"{s.local}@{DOMAIN}"
        data = UserIn(
            email=email, name=s.name, role=s.role, password=DEMO_PASSWORD, language=s.language, work=work
        )
        demo.user[s.key] = accounts.create_user(db, SYSTEM, demo.zoned(data, s.timezone)).id
        out.append((email, s.description))
    for team_key, staff_key in TEAM_LEADS.items():
        tiers.update_team(db, SYSTEM, demo.team[team_key], TeamPatch(lead_id=demo.user[staff_key]))
    # Actors last: what they may see comes from the memberships made above.
    demo.actor = {key: _actor(db, uid) for key, uid in demo.user.items()}
    return out


def _customers(demo: _Demo) -> list[tuple[str, str]]:
    db, rng = demo.db, demo.rng
    queues = {lang: [p.split("/") for p in text.split(", ")] for lang, text in PEOPLE.items()}
    people: list[tuple[str, str, str, str | None, str, str]] = []  # name, local, lang, org, domain, tz
    for key, name, domain, plan, segment, strategic, shared, flags, tz, langs, notes in ORGANIZATIONS:
        org = OrganizationIn(
            name=name,
            domain=domain,
            plan=plan,
            segment=segment,
            strategic=strategic,
            shared_tickets=shared,
            flags=flags,
            notes=notes,
            dedicated_team_id=demo.team["enterprise"] if strategic else None,
            account_owner_id=demo.user["kenji"] if strategic else None,
            calendar_id=demo.calendar["24/7"] if strategic else None,  # bought round-the-clock cover
        )
        demo.org[key] = customers.create_organization(db, SYSTEM, org).id
        for lang in langs:
            person, local = queues[lang].pop(0)
            people.append((person, local, lang, key, domain, tz))
    for lang, queue in queues.items():
        for person, local in queue:
            people.append((person, local, lang, None, SHOP_DOMAIN, rng.choice(CONSUMER_TIMEZONES[lang])))
    out = []
    for person, local, lang, org_key, domain, tz in people:
        vip = local in VIP_CONSUMERS
        data = CustomerIn(
            name=person,
            email=f"{local}@{domain}",
            phone=f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            organization_id=demo.org[org_key] if org_key else None,
            language=lang,
            vip=vip,
            flags={"loyalty": "gold"} if vip else {},
        )
        cust = customers.create_customer(db, SYSTEM, demo.zoned(data, tz))
        demo.people.append(_Customer(cust.id, lang, org_key, vip))
        if local in CUSTOMER_LOGINS:
            email = f"{local}@{domain}"
            login = UserIn(
                email=email,
                name=person,
                role=Role.customer,
                password=DEMO_PASSWORD,
                language=lang,
                customer_id=cust.id,
            )
            user = accounts.create_user(db, SYSTEM, demo.zoned(login, tz))
            demo.logins[cust.id] = _actor(db, user.id)
            out.append((email, CUSTOMER_LOGINS[local]))
    return out


# --- tickets ----------------------------------------------------------------------------------
@dataclass
class _Work:
    """One ticket being worked: who owns it now, and its own clock, which only moves forward,
    never past the load's `now` (young tickets move faster)."""

    demo: _Demo
    ticket_id: int
    t: datetime
    handler: str  # staff key of the current owner
    requester: int
    category: str
    org: str | None
    status: str

    def step(self, low: float, high: float) -> datetime:
        scale = min(1.0, (self.demo.now - self.t) / timedelta(days=2))
        self.t = min(self.t + timedelta(minutes=self.demo.rng.uniform(low, high) * scale), self.demo.now)
        return self.t

    def actor(self, who: str | Actor) -> Actor:
        return self.demo.actor[who] if isinstance(who, str) else who

    def update(self, who: str | Actor, low: float, high: float, **patch: Any) -> None:
        data = TicketPatch(**patch)
        tickets.update_ticket(self.demo.db, self.actor(who), self.ticket_id, data, self.step(low, high))

    def say(self, who: str | Actor, body: str, low: float, high: float, **extra: Any) -> None:
        data = MessageCreate(body=body, **extra)
        tickets.add_message(self.demo.db, self.actor(who), self.ticket_id, data, self.step(low, high))

    def link(self, who: str | Actor, kind: LinkKind, low: float, high: float, **target: Any) -> None:
        data = LinkCreate(kind=kind, **target)
        tickets.add_link(self.demo.db, self.actor(who), self.ticket_id, data, self.step(low, high))


def _tickets(demo: _Demo) -> None:
    rng = demo.rng
    start = demo.now - timedelta(days=DAYS)
    times = sorted(
        start + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 300)) for _ in range(TICKET_COUNT - LIVE)
    )
    # The newest few arrived in the last minutes: the L1 queue is live when the demo starts.
    times += sorted(demo.now - timedelta(seconds=rng.uniform(60, 600)) for _ in range(LIVE))
    with_login = [p for p in demo.people if p.id in demo.logins]
    done = [
        _ticket(demo, rng.choice(with_login) if rng.random() < 0.15 else rng.choice(demo.people), created)
        for created in times
    ]
    _links(done)


def _destiny(rng: random.Random, age: timedelta) -> str:
    days = age / timedelta(days=1)
    if days < 2:
        odds = {"new": 4, "open": 3, "pending": 3}
    elif days < 10:
        odds = {"new": 1, "open": 3, "pending": 2, "on_hold": 1, "solved": 5}
    else:
        odds = {"open": 1, "on_hold": 1, "solved": 2, "closed": 8}
    return rng.choices(list(odds), list(odds.values()))[0]


def _route(
    rng: random.Random, category: str, person: _Customer, l2: str
) -> tuple[str | None, str | None, str, str, str] | None:
    """Where L1 sends a ticket: (team, tier, new owner, reason, note key) or None to keep it."""
    if category == "compliance":
        return "compliance", None, "lin", "compliance question: straight to the compliance team", "compliance"
    if category == "fraud":
        return "fraud", None, "emma", "possible account takeover: identity check by fraud team", "identity"
    if person.org == "kitsune":
        return "enterprise", "L3", "kenji", "strategic account: dedicated enterprise team", "strategic"
    if category == "outage":
        return "crisis", "L2", l2, "outage: crisis plan, status updates every 30 minutes", "escalate"
    if (category == "billing" and person.org) or (category == "refund" and rng.random() < 0.3):
        return "billing", "L2", "marco", "billing question beyond what L1 may decide", "escalate"
    if category == "bug" or rng.random() < 0.12:
        return None, "L2", l2, "L1 time box (15 minutes) exceeded", "escalate"
    return None


def _ticket(demo: _Demo, person: _Customer, created: datetime) -> _Work:
    db, rng, lang = demo.db, demo.rng, person.language
    odds = B2B_CATEGORIES if person.org else B2C_CATEGORIES
    category = rng.choices(list(odds), list(odds.values()))[0]
    variant = rng.randrange(len(TEMPLATES[lang][category]))
    template = TEMPLATES[lang][category][variant].format(n=rng.randint(1000, 9999))
    subject, description = template.split(" | ")
    strategic = person.org == "kitsune"
    if category == "outage":
        priority = Priority.urgent
    elif category == "fraud" or person.vip or strategic:
        priority = Priority.high
    else:
        priority = rng.choices([Priority.low, Priority.normal, Priority.high], [2, 6, 2])[0]
    tags = [category, "b2b" if person.org else "b2c", *rng.sample(EXTRA_TAGS, rng.randint(0, 2))]
    tags += ["vip"] * person.vip + ["strategic"] * strategic
    fields: dict[str, Any] = dict(subject=subject, description=description, priority=priority)
    fields.update(category=category, language=lang)
    customer = demo.logins.get(person.id)
    l1 = L1_BY_LANGUAGE.get(lang) or rng.choice(["yuki", "giulia"])
    l2 = L2_BY_LANGUAGE.get(lang, "sarah")
    status = _destiny(rng, demo.now - created)
    if customer is not None and rng.random() < 0.8:  # the customer writes in through the portal
        fields["channel"] = rng.choice([Channel.web, Channel.chat])
        ticket = tickets.create_ticket(db, customer, TicketCreate(**fields), created)
    else:  # e-mail and API arrive through the admin's integration; L1 logs calls and chats itself
        channels = [Channel.email, Channel.phone, Channel.chat, Channel.web, Channel.api]
        fields["channel"] = rng.choices(channels, [5, 2, 2, 1, 1 if person.org else 0])[0]
        by_l1 = fields["channel"] not in (Channel.email, Channel.api)
        if by_l1 and status != "new":
            fields["assignee_id"] = demo.user[l1]
        data = TicketCreate(requester_id=person.id, tags=tags, **fields)
        ticket = tickets.create_ticket(db, demo.actor[l1 if by_l1 else "admin"], data, created)
    w = _Work(demo, ticket.id, created, l1, person.id, category, person.org, status)
    if status == "new":
        return w
    if ticket.assignee_id is None:
        triage: dict[str, Any] = {"assignee_id": demo.user[l1], "reason": "triage"}
        if not ticket.tags:
            triage["tags"] = tags
        w.update(l1, 2, 90, **triage)
    move = _route(rng, category, person, l2)
    if move is not None or (status == "open" and rng.random() < 0.6):
        w.say(l1, REPLIES[lang]["ack"], 1, 20)
    if move is not None:
        team, tier, owner, reason, note = move
        if note == "escalate":
            w.say(l1, NOTES[note], 1, 15, kind=MessageKind.internal)
        patch: dict[str, Any] = {"assignee_id": demo.user[owner], "reason": reason}
        if team:
            patch["team_id"] = demo.team[team]
        if tier:
            patch["tier_id"] = demo.tier[tier]
        w.update(l1, 1, 10, **patch)
        w.handler = owner
        if note != "escalate":
            w.say(owner, NOTES[note], 5, 60, kind=MessageKind.internal)
    vendor_bug = category == "bug" and variant == 1 and not strategic  # checkout crash: payment SDK
    if category == "bug" and w.handler == l2 and (vendor_bug or rng.random() < 0.5):
        w.say(l2, NOTES["expert"], 10, 30, kind=MessageKind.internal)
        reason = "L2 time box (30 minutes) exceeded: needs an expert"
        w.update(l2, 1, 5, tier_id=demo.tier["L3"], assignee_id=demo.user["kenji"], reason=reason)
        w.handler = "kenji"
    if category == "bug" and w.handler == "kenji" and (vendor_bug or rng.random() < 0.7):
        key = rng.choice(ENGINEERING_BUGS)
        w.link("kenji", LinkKind.engineering_bug, 30, 240, external_key=key, note="Reproduced; filed.")
        if not strategic:
            w.update("kenji", 1, 5, team_id=demo.team["engineering"], reason=f"filed {key} with engineering")
        if vendor_bug:
            reason = f"{key}: the crash is inside the payment provider's SDK; case opened with the vendor"
            patch = {"tier_id": demo.tier["L4"], "team_id": demo.team["vendor"], "reason": reason}
            w.update("supervisor", 60, 600, **patch)
    if category == "outage":
        w.link(w.handler, LinkKind.part_of_incident, 1, 10, external_key=rng.choice(INCIDENTS))
        for _ in range(rng.randint(1, 2)):
            w.say(w.handler, REPLIES[lang]["update"], 25, 35)
    if status == "open":
        return w
    if status == "pending" or (customer is not None and rng.random() < 0.6):
        w.say(w.handler, REPLIES[lang]["ask"], 5, 60, status=Status.pending)
        if status == "pending" or customer is None:
            return w
        w.say(customer, REPLIES[lang]["info"], 30, 600)
    if status == "on_hold":
        w.update(w.handler, 5, 60, status=Status.on_hold, reason="waiting on a third party")
        return w
    w.say(w.handler, REPLIES[lang]["solved"], 30, 1440, status=Status.solved)
    if rng.random() < 0.12:  # the fix did not hold: reopened, then solved again
        if customer is not None:
            w.say(customer, REPLIES[lang]["again"], 600, 2880)
        else:
            w.update(w.handler, 600, 2880, status=Status.open, reason="customer called back: it is back")
        w.say(w.handler, REPLIES[lang]["solved"], 60, 600, status=Status.solved)
    if status == "closed":
        w.update(w.handler, 4 * 1440, 5 * 1440, status=Status.closed, reason="solved 4 days ago, no reply")
    return w


def _links(done: list[_Work]) -> None:
    """A requester's repeated question is a duplicate; an account's repeated symptom is related."""
    first: dict[tuple[Any, ...], _Work] = {}
    made: Counter[LinkKind] = Counter()
    for w in done:
        for kind, key, note in (
            (LinkKind.duplicate_of, (w.requester, w.category), "Same request sent twice."),
            (LinkKind.related, (w.org, w.category), "Same account, same symptom."),
        ):
            target = first.setdefault((kind, *key), w)
            if target is w or w.status == "closed" or made[kind] >= 4 or None in key:
                continue
            w.t = max(w.t, target.t)
            w.link("admin", kind, 5, 30, target_ticket_id=target.ticket_id, note=note)
            made[kind] += 1
            break
