"""Prohibited language in collection messages, by category, in Chinese (simplified patterns, matched
against text normalised from traditional) and English.

A compliance officer reads this file: each rule has a stable id, a category and the reason it exists.
Patterns flag a phrase wherever it stands in the sent text, unless a negation stands right before it
("我们不会联系您的家人", "we will never contact your employer") for the categories where a negation
turns a threat into a reassurance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORIES: dict[str, tuple[str, str]] = {
    "violence": ("threat of violence or harm", "暴力或人身伤害威胁"),
    "arrest": ("threat of arrest or criminal prosecution", "以逮捕、刑事追究相威胁"),
    "impersonation": ("impersonating a court, police or government body", "冒充法院、公安或政府机关"),
    "fake_legal_document": ("fake or premature legal documents", "伪造或虚假的法律文书"),
    "insult": ("insults and obscenity", "侮辱、谩骂或低俗用语"),
    "third_party_disclosure": (
        "disclosure to, or threats to contact, family, employer or contacts",
        "向家人、单位或通讯录联系人透露或以此相威胁",
    ),
    "public_shaming": ("public shaming", "公开曝光、羞辱"),
    "false_credit_claim": ("false or exaggerated credit-impact claims", "虚假或夸大的征信后果"),
    "literal_amount": (
        "literal amount or rate written in the template instead of a variable",
        "模板中写死金额或费率",
    ),
    "urgency_deception": ("fake deadlines and deceptive urgency", "虚假期限或制造紧迫感"),
    "personal_account": (
        "payment to a personal account or an unofficial channel",
        "要求向个人账户或非官方渠道还款",
    ),
    "misrepresentation": (
        "false claims of legal consequences (seizure, freezing, fines, illegality)",
        "虚构法律后果（查封、冻结、罚款、违法）",
    ),
    "harassment": ("threats of relentless contact", "以持续骚扰相威胁"),
    "unauthorized_fee": ("fees the contract does not provide for", "收取合同未约定的费用"),
    "personal_data": ("personal data written into the template", "模板中写入个人信息"),
    "missing_element": ("a required element is missing", "缺少必备要素"),
    "structure": ("template metadata", "模板元数据"),
}

# Categories where a negation right before the phrase makes it a reassurance, not a threat.
NEGATABLE = frozenset(
    {
        "violence",
        "arrest",
        "impersonation",
        "third_party_disclosure",
        "public_shaming",
        "false_credit_claim",
        "misrepresentation",
        "harassment",
        "personal_account",
        "unauthorized_fee",
    }
)
ZH_NEGATION = re.compile(
    r"(?:不会|不得|绝不|决不|从不|从未|不曾|不|没有|无需|无须|不必|不要|切勿|请勿|勿|别|不可|不能|不应|禁止|严禁|杜绝|拒绝|并非|并不)"
    r"(?:会|再|予|去)?(?:向|对|给|在|到|至|把|与|和|跟|任何|其他|其它|他人|的|转账|转|汇款|付款|打款|还款|\s)*$"
)
EN_NEGATION = re.compile(
    r"(?:\bnot\b|\bnever\b|n't\b|\bno\b|\bwithout\b)(?:\s+[\w'-]+){0,2}\s*$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Pattern:
    """One prohibited phrase family: stable id, category, language and why it is prohibited."""

    rule: str
    category: str
    language: str  # zh | en
    regex: re.Pattern[str]
    why: str
    literal_only: bool = False  # only outside Jinja expressions (amounts, rates, personal data)


_YOU = r"(?:你|您|你们|您们)?"
_TO_CONTACT = r"(?:联系|联络|通知|告知|告诉|打给|致电|打电话给|电话|短信|找|拜访|走访|上门找|去找|发给)"
_CIRCLE = (
    r"(?:家人|家属|家里人|父母|爸妈|配偶|老婆|老公|子女|孩子|亲友|亲属|亲戚|朋友|同事|领导|上司|老板|单位|公司|雇主|"
    r"学校|邻居|通讯录|紧急联系人|联系人|村委会|居委会)"
)
_EN_CIRCLE = (
    r"(?:family|relatives|parents|mother|father|spouse|wife|husband|partner|children|kids|friends|employer|boss|"
    r"manager|supervisor|co-?workers|colleagues|neighbou?rs|references|contacts|landlord|school|HR department)"
)


def _zh(rule: str, category: str, pattern: str, why: str, *, literal_only: bool = False) -> Pattern:
    return Pattern(rule, category, "zh", re.compile(pattern), why, literal_only)


def _en(rule: str, category: str, pattern: str, why: str, *, literal_only: bool = False) -> Pattern:
    return Pattern(rule, category, "en", re.compile(pattern, re.IGNORECASE), why, literal_only)


PATTERNS: tuple[Pattern, ...] = (
    # ---- threat of violence
    _zh(
        "violence.harm.zh",
        "violence",
        rf"打断{_YOU}的?(?:腿|手|胳膊)|弄死|打死|砍死|杀了{_YOU}|砍{_YOU}|捅{_YOU}|废了{_YOU}|收拾{_YOU}|揍{_YOU}",
        "threat of bodily harm",
    ),
    _zh(
        "violence.intimidation.zh",
        "violence",
        rf"人身安全|小心{_YOU}的?(?:家人|孩子|安全|人身|腿)|出门小心|走夜路|后果自负|让{_YOU}好看|付出代价|吃不了兜着走|不得好死|泼油漆|堵{_YOU}的?门|上门讨说法",
        "intimidation",
    ),
    _en(
        "violence.harm.en",
        "violence",
        r"\b(?:kill|hurt|harm|beat(?: up)?|break|smash)\s+(?:you|your\s+(?:legs?|arms?|face|bones|family|kids))\b|\bbreak\s+your\s+\w+",
        "threat of bodily harm",
    ),
    _en(
        "violence.intimidation.en",
        "violence",
        r"\bwe know where you (?:live|work|sleep)\b|\bwatch your back\b|\byou(?:'ll| will) regret\b|\bsomething bad (?:will|could|might) happen\b|\bfor your own safety\b|\byour safety\b",
        "intimidation",
    ),
    # ---- arrest / criminal prosecution
    _zh(
        "arrest.criminal.zh",
        "arrest",
        rf"抓{_YOU}|抓捕|逮捕|拘留|刑拘|坐牢|入狱|蹲监狱|判刑|刑事(?:责任|立案|案件|处罚|犯罪|诉讼)|立案侦查|报警|移送公安|公安机关(?:将|会|已)|涉嫌(?:诈骗|犯罪|恶意透支|信用卡诈骗|违法)|诈骗罪|恶意透支|拒不执行判决(?:罪)?|构成(?:犯罪|诈骗)|经侦",
        "overdue debt is a civil matter: threatening arrest or prosecution is prohibited",
    ),
    _en(
        "arrest.criminal.en",
        "arrest",
        r"\barrest(?:ed|ing)?\b|\bjail\b|\bprison\b|\bcriminal\s+(?:charges?|prosecution|case|complaint|investigation|record)\b|\bprosecut(?:e|ed|ion)\b|\bpolice\b|\blaw enforcement\b|\bfraud charges?\b|\bcommitt?(?:ed|ing)? fraud\b|\bfelony\b|\bmisdemeanou?r\b",
        "overdue debt is a civil matter: threatening arrest or prosecution is prohibited",
    ),
    # ---- impersonating a court, police, government
    _zh(
        "impersonation.authority.zh",
        "impersonation",
        r"(?:我们是|我是|这里是|本)(?:法院|法官|公安|警察|派出所|检察院|政府|司法)|本院|执行局|执行庭|法院(?:通知|公告|工作人员|来电|已受理|执行)|公安(?:局|部)|派出所|检察院|司法所|网警|(?:来自|代表)(?:法院|公安|政府|监管)|政府(?:部门|机关)|金融监管(?:部门|局)(?:通知|来电)",
        "a lender must never present itself as a court, the police or a government body",
    ),
    _en(
        "impersonation.authority.en",
        "impersonation",
        r"\bthis is the (?:court|police|sheriff)\b|\bon behalf of the (?:court|police|government|state)\b|\b(?:sheriff|marshal|police department|district attorney|federal agent|FBI|IRS|attorney general|court officer|government agency|process server)\b",
        "a collector must never present itself as a court, the police or a government body",
    ),
    # ---- fake legal documents
    _zh(
        "fake_document.court.zh",
        "fake_legal_document",
        r"法院传票|传票|逮捕令|拘捕令|通缉令|拘留证|立案通知书|协查(?:函|通知)|执行令|冻结令|法院公函|判决书已|起诉书已",
        "documents only a court or the police can issue",
    ),
    _en(
        "fake_document.court.en",
        "fake_legal_document",
        r"\bcourt summons\b|\bsummons\b|\bsubpoena\b|\b(?:arrest |bench |search )?warrant\b|\bcourt order\b|\blegal notice of (?:seizure|arrest|garnishment)\b|\bjudg(?:e)?ment (?:has been|was) (?:entered|issued)\b",
        "documents only a court or the police can issue",
    ),
    # ---- insults and obscenity
    _zh(
        "insult.abuse.zh",
        "insult",
        r"老赖|骗子|无赖|废物|垃圾|不要脸|畜生|死全家|傻[逼bB屄]|煞笔|他妈的?|操你|滚蛋|贱人|败类|人渣|王八蛋|混蛋|白眼狼|猪狗不如|丢人现眼|穷鬼|赖皮|蠢货",
        "insulting or obscene language",
    ),
    _en(
        "insult.abuse.en",
        "insult",
        r"\b(?:deadbeat|loser|idiot|stupid|scum(?:bag)?|liar|thief|crook|bastard|bitch|moron|pathetic|worthless|lowlife|freeloader)\b|\bfuck\w*|\bshit\w*|\bdamn\b",
        "insulting or obscene language",
    ),
    # ---- family, employer, contacts
    _zh(
        "third_party.threat_to_contact.zh",
        "third_party_disclosure",
        rf"{_TO_CONTACT}{_YOU}的?{_CIRCLE}|爆通讯录|通讯录|群发(?:给)?{_YOU}的?(?:亲友|联系人)|让{_YOU}的?(?:家人|朋友|同事|领导|亲友)(?:都)?知道",
        "the debt must not be disclosed to, or threatened to be disclosed to, third parties",
    ),
    _en(
        "third_party.threat_to_contact.en",
        "third_party_disclosure",
        rf"\b(?:contact|call|notify|tell|inform|reach out to|visit|text|e-?mail|message)\s+your\s+{_EN_CIRCLE}\b|\byour (?:contact list|phone ?book|address book)\b|\beveryone you know\b",
        "the debt must not be disclosed to, or threatened to be disclosed to, third parties",
    ),
    # ---- public shaming
    _zh(
        "shaming.public.zh",
        "public_shaming",
        rf"曝光|公开(?!透明|渠道|招标)|公示|挂网|大字报|游街|社死|上墙|朋友圈|抖音|微博|(?:张贴|发布|散布){_YOU}的?(?:照片|信息|身份证|欠款)|让所有人(?:都)?知道|丢人",
        "public shaming of a debtor is prohibited",
    ),
    _en(
        "shaming.public.en",
        "public_shaming",
        r"\bexpose you\b|\bpublicly\b|\bpost your (?:name|photo|picture|details)\b|\bshame\b|\bsocial media\b|\bwall of shame\b|\beveryone will know\b|\bname and shame\b",
        "public shaming of a debtor is prohibited",
    ),
    # ---- false credit-impact claims
    _zh(
        "credit.false_claim.zh",
        "false_credit_claim",
        rf"永久(?:性)?(?:黑名单|污点|记录|影响|不良|无法)|黑名单|终身(?:不能|无法|影响)|一辈子|影响{_YOU}?的?(?:子女|孩子|后代|家人)|子女(?:上学|就业|考公|入伍|政审|读书)|(?:不能|无法)(?:坐|乘)(?:飞机|高铁|火车)|限制(?:出行|高消费|乘坐)|失信(?:被执行)?人|信用破产|征信(?:全)?(?:黑|花)了|全国联网",
        "credit reporting is time-limited and has no blacklist; these consequences are false at this stage",
    ),
    _en(
        "credit.false_claim.en",
        "false_credit_claim",
        r"\bruin(?:s|ed)? your credit\b|\bdestroy(?:s|ed)? your credit\b|\b(?:permanent(?:ly)?|forever|for life|for the rest of your life)\b[^.!?\n]{0,40}\bcredit\b|\bcredit\b[^.!?\n]{0,40}\b(?:permanent(?:ly)?|forever|for life)\b|\bnever (?:be able to )?(?:get|obtain|qualify for) (?:a |any )?(?:loan|credit|mortgage|card)\b|\bblacklist(?:ed)?\b|\byour (?:children|kids)(?:'s)? (?:future|school|education)\b|\bcredit (?:score|rating) will be (?:destroyed|ruined|wiped)\b",
        "negative credit information is time-limited; these claims are false",
    ),
    # ---- literal amounts and rates (only in literal text, never inside {{ }})
    _zh(
        "literal_amount.currency",
        "literal_amount",
        r"[¥￥]\s*\d[\d,，]*(?:\.\d+)?|(?:RMB|CNY|USD|US\$|NT\$|HK\$|\$)\s*\d[\d,，]*(?:\.\d+)?|\d[\d,，]*(?:\.\d+)?\s*(?:元|块钱|块|圆|万元|美元|美金)|[一二三四五六七八九十百千万两壹贰叁肆伍陆柒捌玖拾佰仟]+(?:元|块钱|万元)(?!旦)",
        "write amounts as variables ({{ amount_due | money }}), never as literals",
        literal_only=True,
    ),
    _en(
        "literal_amount.currency.en",
        "literal_amount",
        r"\d[\d,]*(?:\.\d+)?\s*(?:dollars?|yuan|bucks|RMB)\b",
        "write amounts as variables ({{ amount_due | money }}), never as literals",
        literal_only=True,
    ),
    _zh(
        "literal_amount.rate",
        "literal_amount",
        r"\d+(?:\.\d+)?\s*[%％‰]|[万千百]分之[一二三四五六七八九十零〇\d.]+",
        "write rates as variables ({{ late_fee_daily_rate | percent }}): the product's rate may differ",
        literal_only=True,
    ),
    # ---- deceptive urgency, fake deadlines
    _zh(
        "urgency.fake_deadline.zh",
        "urgency_deception",
        r"最后通牒|最后一次(?:机会|通知|警告|提醒)|最后期限|(?:\d+|[一二三四五六七八九十两半]+)个?小时内|今天(?:之内|内)?(?:不还|必须)|限{_YOU}?(?:今天|今日|当天|明天)|(?:立即|马上|立刻)[^。；;\n]{0,8}否则|否则后果|仅剩|倒计时|即将(?:被)?(?:起诉|立案|上门|冻结|执行)".replace(
            "{_YOU}", _YOU
        ),
        "deadlines must be real dates from variables; no invented urgency",
    ),
    _en(
        "urgency.fake_deadline.en",
        "urgency_deception",
        r"\bfinal (?:notice|warning)\b|\blast (?:chance|warning)\b|\bact (?:now|immediately|today) or\b|\bwithin \d+ hours\b|\btoday only\b|\bbefore it'?s too late\b|\bimmediately or\b|\bexpires? (?:today|tonight)\b|\btime is running out\b",
        "deadlines must be real dates from variables; no invented urgency",
    ),
    # ---- payment to personal accounts
    _zh(
        "payment.personal_account.zh",
        "personal_account",
        r"个人(?:账户|账号|银行卡|卡号|微信|支付宝|收款码)|私人(?:账户|账号|银行卡|微信|支付宝)|(?:转账|转|打款|汇款|付款)(?:到|至|给)(?:我|本人|催收员|工作人员|业务员)|加(?:我|我的)?(?:个人)?微信|扫我|微信转账|支付宝转账|(?:我的|本人)(?:银行卡|账户|卡号)",
        "payments go only to the lender's official channels",
    ),
    _en(
        "payment.personal_account.en",
        "personal_account",
        r"\bpersonal (?:bank )?account\b|\bmy (?:own )?(?:bank )?account\b|\b(?:wire|send|transfer) (?:it|the money|payment) to me\b|\bvenmo\b|\bzelle\b|\bcash ?app\b|\bpaypal\.me\b|\bgift cards?\b|\bwestern union\b|\bbitcoin\b|\bcrypto(?:currency)?\b",
        "payments go only to the lender's official channels",
    ),
    # ---- false legal consequences
    _zh(
        "legal.false_consequence.zh",
        "misrepresentation",
        rf"冻结{_YOU}的?(?:银行卡|账户|资产|财产|工资|微信|支付宝)|查封|扣押|拍卖{_YOU}的?|强制执行|划扣{_YOU}的?(?:工资|存款)|没收|罚款|{_YOU}已(?:经)?(?:违法|犯罪)|违法行为|(?:上|录入)(?:公安|犯罪)(?:系统|记录)|案底",
        "only a court can order these, and only after judgment",
    ),
    _en(
        "legal.false_consequence.en",
        "misrepresentation",
        r"\bgarnish(?:ment|ed|ing)?\b|\bseiz(?:e|ure|ed)\b|\brepossess\w*\b|\bfreeze your (?:bank )?accounts?\b|\btake your (?:house|home|car|property|wages)\b|\blien on your\b|\bbreaking the law\b|\billegal\b",
        "only a court can order these, and only after judgment",
    ),
    # ---- harassment
    _zh(
        "harassment.relentless.zh",
        "harassment",
        r"(?:每天|每小时|不停地?|反复|一直|轮番)(?:打|给你打|给您打|致电|轰炸|联系)|电话轰炸|短信轰炸|打爆|呼死|24小时(?:不间断)?(?:催收|联系)|直到{_YOU}还(?:钱|款)为止".replace(
            "{_YOU}", _YOU
        ),
        "threatening relentless contact is harassment",
    ),
    _en(
        "harassment.relentless.en",
        "harassment",
        r"\bcall you (?:every|all) (?:day|hour|night)\b|\b(?:won't|will not|never) stop calling\b|\buntil you pay\b|\baround the clock\b|\b24/7\b",
        "threatening relentless contact is harassment",
    ),
    # ---- fees
    _zh(
        "fee.unauthorized.zh",
        "unauthorized_fee",
        r"催收(?:费|服务费)|上门费|外访费|利滚利|高额罚金",
        "only fees the contract provides for may be charged",
    ),
    _en(
        "fee.unauthorized.en",
        "unauthorized_fee",
        r"\bcollection (?:fee|charge)s?\b|\bconvenience fee\b|\bprocessing fee\b",
        "only fees the contract provides for may be charged",
    ),
    # ---- personal data literally in a template
    _zh(
        "personal_data.literal",
        "personal_data",
        r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dXx]|\d{6}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx])(?!\d)",
        "personal data comes from variables and is masked; never write it into a template",
        literal_only=True,
    ),
)

# Words that reveal a debt. A message to a third party must contain none of them.
DEBT_WORDS_ZH = re.compile(
    r"欠款|欠债|欠费|债务|逾期|还款|还钱|催收|贷款|借款|账单|白条|信用卡|征信|分期|欠|罚息|滞纳金|违约"
)
DEBT_WORDS_EN = re.compile(
    r"\b(?:debts?|owe[sd]?|owing|overdue|past due|payments?|loans?|collect(?:ion|or|ing)?s?|balance|credit|arrears|bills?|delinquen\w*)\b",
    re.IGNORECASE,
)
OPT_OUT_TEXT = re.compile(r"退订|回复\s*TD|\bTD\b|\bSTOP\b|opt[ -]?out|unsubscribe|取消订阅", re.IGNORECASE)
