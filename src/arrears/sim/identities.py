"""Synthetic zh_CN identities: names, mobile numbers, resident ID numbers and e-mail addresses.

Everything here is made up. Names come from short built-in lists of common surnames and given-name
characters; mobile numbers use real prefixes (so formats and masking behave as with real data) with
random subscriber digits; resident ID numbers are 18 digits with a real county code, a valid birth date
and a correct ISO 7064 MOD 11-2 check character; e-mail addresses are on the RFC 2606 domains
example.com / example.net / example.org, which can never be delivered. See docs/synthetic-data.md.

The generator is vectorised: each function takes a numpy Generator and a count and returns pyarrow
arrays, with no per-row Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The rule lives in the domain; the generator writes numbers it holds valid (re-exported for the tests).
from arrears.domain.resident_id import ID_CHECK_CHARACTERS, ID_WEIGHTS
from arrears.domain.resident_id import PROVINCE_PREFIXES as PROVINCE_PREFIXES
from arrears.domain.resident_id import id_check_character as id_check_character
from arrears.domain.resident_id import valid_id_number as valid_id_number
from arrears.sim.distributions import normalised

# (surname, pinyin, relative frequency in ‰ of the population, rounded from the 2020 census rankings).
# Two compound surnames keep name masking honest (欧阳** must not show the second surname character).
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 71.0), ("李", "li", 70.0), ("张", "zhang", 67.0), ("刘", "liu", 54.0),
    ("陈", "chen", 45.0), ("杨", "yang", 31.0), ("黄", "huang", 22.0), ("赵", "zhao", 20.0),
    ("吴", "wu", 19.0), ("周", "zhou", 19.0), ("徐", "xu", 13.0), ("孙", "sun", 13.0),
    ("马", "ma", 12.0), ("朱", "zhu", 11.0), ("胡", "hu", 11.0), ("郭", "guo", 11.0),
    ("何", "he", 9.6), ("林", "lin", 9.0), ("高", "gao", 9.0), ("罗", "luo", 9.0),
    ("郑", "zheng", 8.0), ("梁", "liang", 8.0), ("谢", "xie", 7.0), ("宋", "song", 6.0),
    ("唐", "tang", 6.0), ("许", "xu", 6.0), ("韩", "han", 6.0), ("邓", "deng", 5.0),
    ("冯", "feng", 5.0), ("曹", "cao", 5.0), ("彭", "peng", 5.0), ("曾", "zeng", 5.0),
    ("肖", "xiao", 5.0), ("田", "tian", 4.0), ("董", "dong", 4.0), ("潘", "pan", 4.0),
    ("袁", "yuan", 4.0), ("蔡", "cai", 4.0), ("蒋", "jiang", 4.0), ("余", "yu", 4.0),
    ("于", "yu", 4.0), ("杜", "du", 4.0), ("叶", "ye", 4.0), ("程", "cheng", 4.0),
    ("魏", "wei", 3.0), ("苏", "su", 3.0), ("吕", "lv", 3.0), ("丁", "ding", 3.0),
    ("任", "ren", 3.0), ("卢", "lu", 3.0), ("姚", "yao", 3.0), ("沈", "shen", 3.0),
    ("钟", "zhong", 3.0), ("姜", "jiang", 3.0), ("崔", "cui", 3.0), ("谭", "tan", 3.0),
    ("陆", "lu", 3.0), ("范", "fan", 2.0), ("汪", "wang", 2.0), ("廖", "liao", 2.0),
    ("石", "shi", 2.0), ("金", "jin", 2.0), ("韦", "wei", 2.0), ("贾", "jia", 2.0),
    ("夏", "xia", 2.0), ("付", "fu", 2.0), ("方", "fang", 2.0), ("邹", "zou", 2.0),
    ("熊", "xiong", 2.0), ("白", "bai", 2.0), ("孟", "meng", 2.0), ("秦", "qin", 2.0),
    ("邱", "qiu", 2.0), ("侯", "hou", 2.0), ("江", "jiang", 2.0), ("尹", "yin", 2.0),
    ("薛", "xue", 2.0), ("闫", "yan", 2.0), ("段", "duan", 2.0), ("雷", "lei", 2.0),
    ("龙", "long", 2.0), ("黎", "li", 2.0), ("史", "shi", 2.0), ("陶", "tao", 2.0),
    ("贺", "he", 2.0), ("毛", "mao", 2.0), ("郝", "hao", 2.0), ("顾", "gu", 2.0),
    ("龚", "gong", 2.0), ("邵", "shao", 2.0), ("万", "wan", 1.0), ("覃", "qin", 1.0),
    ("武", "wu", 1.0), ("钱", "qian", 1.0), ("戴", "dai", 1.0), ("严", "yan", 1.0),
    ("欧阳", "ouyang", 0.5), ("司马", "sima", 0.1),
)  # fmt: skip

# Common given-name characters with their pinyin; a given name is one (30 %) or two (70 %) of them.
GIVEN_CHARACTERS: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("兰", "lan"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("英", "ying"),
    ("华", "hua"), ("文", "wen"), ("辉", "hui"), ("建", "jian"), ("国", "guo"), ("玲", "ling"),
    ("红", "hong"), ("鹏", "peng"), ("飞", "fei"), ("宇", "yu"), ("浩", "hao"), ("婷", "ting"),
    ("雪", "xue"), ("琳", "lin"), ("晨", "chen"), ("欣", "xin"), ("怡", "yi"), ("佳", "jia"),
    ("子", "zi"), ("涵", "han"), ("轩", "xuan"), ("梓", "zi"), ("萱", "xuan"), ("博", "bo"),
    ("思", "si"), ("雨", "yu"), ("嘉", "jia"), ("俊", "jun"), ("凯", "kai"), ("宁", "ning"),
    ("志", "zhi"), ("海", "hai"), ("斌", "bin"), ("波", "bo"), ("鑫", "xin"), ("峰", "feng"),
    ("亮", "liang"), ("晓", "xiao"), ("春", "chun"), ("秋", "qiu"), ("梅", "mei"), ("燕", "yan"),
    ("莉", "li"), ("倩", "qian"), ("颖", "ying"), ("慧", "hui"), ("丹", "dan"), ("阳", "yang"),
    ("天", "tian"), ("瑞", "rui"), ("泽", "ze"), ("睿", "rui"), ("一", "yi"), ("诺", "nuo"),
    ("然", "ran"), ("安", "an"), ("心", "xin"), ("美", "mei"), ("玉", "yu"), ("成", "cheng"),
    ("德", "de"), ("永", "yong"), ("立", "li"), ("新", "xin"), ("云", "yun"), ("彬", "bin"),
    ("昊", "hao"), ("翔", "xiang"),
)  # fmt: skip

# Real county-level administrative codes (GB/T 2260) in big cities, with the province's ISO 3166-2 code.
# The borrower's `region` column is the province of the county that issued the ID number.
REGION_CODES: tuple[tuple[int, str, str], ...] = (
    (110101, "北京市东城区", "CN-BJ"), (110105, "北京市朝阳区", "CN-BJ"), (110108, "北京市海淀区", "CN-BJ"),
    (120101, "天津市和平区", "CN-TJ"), (130102, "石家庄市长安区", "CN-HE"), (140105, "太原市小店区", "CN-SX"),
    (210102, "沈阳市和平区", "CN-LN"), (220102, "长春市南关区", "CN-JL"), (230102, "哈尔滨市道里区", "CN-HL"),
    (310101, "上海市黄浦区", "CN-SH"), (310115, "上海市浦东新区", "CN-SH"), (320102, "南京市玄武区", "CN-JS"),
    (320505, "苏州市虎丘区", "CN-JS"), (330106, "杭州市西湖区", "CN-ZJ"), (340103, "合肥市庐阳区", "CN-AH"),
    (350203, "厦门市思明区", "CN-FJ"), (360102, "南昌市东湖区", "CN-JX"), (370102, "济南市历下区", "CN-SD"),
    (370202, "青岛市市南区", "CN-SD"), (410105, "郑州市金水区", "CN-HA"), (420106, "武汉市武昌区", "CN-HB"),
    (430102, "长沙市芙蓉区", "CN-HN"), (440103, "广州市荔湾区", "CN-GD"), (440106, "广州市天河区", "CN-GD"),
    (440305, "深圳市南山区", "CN-GD"), (450103, "南宁市青秀区", "CN-GX"), (460105, "海口市秀英区", "CN-HI"),
    (500103, "重庆市渝中区", "CN-CQ"), (510104, "成都市锦江区", "CN-SC"), (520102, "贵阳市南明区", "CN-GZ"),
    (530102, "昆明市五华区", "CN-YN"), (610113, "西安市雁塔区", "CN-SN"), (620102, "兰州市城关区", "CN-GS"),
)  # fmt: skip

# Real mobile prefixes of the three operators (China Mobile, China Unicom, China Telecom).
MOBILE_PREFIXES: tuple[str, ...] = (
    "134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159", "178",
    "182", "183", "184", "187", "188", "198",
    "130", "131", "132", "155", "156", "166", "175", "176", "185", "186",
    "133", "153", "173", "177", "180", "181", "189", "199",
)  # fmt: skip

# RFC 2606 reserves these second-level domains: mail to them is never delivered.
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org")


@dataclass(frozen=True)
class Identities:
    """One synthetic person per row, as pyarrow arrays of equal length."""

    name: pa.Array
    phone: pa.Array
    id_number: pa.Array
    email: pa.Array
    region: pa.Array
    birth_date: pa.Array
    address: pa.Array  # postal address in the county that issued the ID number (a made-up street)


def synthetic_identities(
    rng: np.random.Generator, count: int, as_of: date, *, age: dict[str, float], email_share: float
) -> Identities:
    """`count` made-up people: names, unique phones and ID numbers, e-mail (or null), home region, postal
    address (in the ID number's county, on a street named 示例路 "example road", so never a real one).

    `age` holds mean, sd, min and max in years at `as_of` (a clipped normal distribution).
    """
    parts = _name_parts(rng, count)
    name = _names(parts)
    region_idx = rng.integers(0, len(REGION_CODES), count)
    years = np.clip(rng.normal(age["mean"], age["sd"], count), age["min"], age["max"])
    as_of_day = (as_of - date(1970, 1, 1)).days
    birth_day = as_of_day - (years * 365.25).astype(np.int64)
    id_number = _id_numbers(rng, region_idx, birth_day)
    phone = _phones(rng, count)
    email = _emails(rng, parts, email_share)
    region = pc.take(pa.array([r[2] for r in REGION_CODES]), pa.array(region_idx))
    birth = pa.array(birth_day.astype(np.int32)).view(pa.date32())
    return Identities(name, phone, id_number, email, region, birth, _addresses(region_idx, birth_day))


def _addresses(region_idx: np.ndarray, birth_day: np.ndarray) -> pa.Array:
    """示例路 N号 M室 in the person's county: drawn from what is already drawn (no random numbers taken, so
    every other column of a seed stays as it was)."""
    county = pc.take(pa.array([r[1] for r in REGION_CODES]), pa.array(region_idx))
    row = np.arange(len(region_idx), dtype=np.int64)
    number = pc.cast(pa.array((birth_day.astype(np.int64) * 31 + row) % 899 + 1), pa.string())
    room = pc.cast(pa.array(101 + (row * 7 + birth_day.astype(np.int64)) % 20), pa.string())
    return pc.binary_join_element_wise(county, "示例路", number, "号", room, "室", "")


_NameParts = tuple[np.ndarray, np.ndarray, np.ndarray]


def _name_parts(rng: np.random.Generator, count: int) -> _NameParts:
    """Indices of the surname, the first and the (optional) second given-name character."""
    surname = rng.choice(len(SURNAMES), size=count, p=normalised([s[2] for s in SURNAMES]))
    first = rng.integers(0, len(GIVEN_CHARACTERS), count)
    # 0 = no second character; k = GIVEN_CHARACTERS[k - 1].
    second = np.where(rng.random(count) < 0.7, rng.integers(1, len(GIVEN_CHARACTERS) + 1, count), 0)
    return surname, first, second


def _names(parts: _NameParts) -> pa.Array:
    surname, first, second = parts
    surnames = pa.array([s[0] for s in SURNAMES])
    given = pa.array([g[0] for g in GIVEN_CHARACTERS])
    given_or_empty = pa.array(["", *(g[0] for g in GIVEN_CHARACTERS)])
    return pc.binary_join_element_wise(
        pc.take(surnames, pa.array(surname)),
        pc.take(given, pa.array(first)),
        pc.take(given_or_empty, pa.array(second)),
        "",
    )


def _phones(rng: np.random.Generator, count: int) -> pa.Array:
    """Unique 11-digit mobile numbers: a real prefix and 8 random subscriber digits."""
    space = len(MOBILE_PREFIXES) * 10**8
    pick = rng.choice(space, size=count, replace=False)
    prefix = pc.take(pa.array(MOBILE_PREFIXES), pa.array(pick // 10**8))
    subscriber = pc.utf8_lpad(pc.cast(pa.array(pick % 10**8), pa.string()), 8, "0")
    return pc.binary_join_element_wise(prefix, subscriber, "")


def _id_numbers(rng: np.random.Generator, region_idx: np.ndarray, birth_day: np.ndarray) -> pa.Array:
    """18-digit resident ID numbers, unique: county code, birth date YYYYMMDD, sequence, check character."""
    count = len(region_idx)
    born = birth_day.astype("datetime64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (born - born.astype("datetime64[M]")).astype(np.int64) + 1
    birth8 = year * 10000 + month * 100 + day
    # Sequence digits unique within (county, birth date): a random start per group plus the rank in it,
    # so two synthetic people never share an ID number (groups stay far below 1000 people).
    key = region_idx.astype(np.int64) * 10**8 + birth8
    start = rng.integers(0, 1000, count)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    first_of_group = np.ones(count, dtype=bool)
    first_of_group[1:] = sorted_key[1:] != sorted_key[:-1]
    group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(count), 0))
    rank = np.arange(count) - group_start
    seq_sorted = (start[order][group_start] + rank) % 1000
    seq = np.empty(count, dtype=np.int64)
    seq[order] = seq_sorted
    county = np.asarray([r[0] for r in REGION_CODES], dtype=np.int64)[region_idx]
    first17 = county * 10**11 + birth8 * 1000 + seq
    total = np.zeros(count, dtype=np.int64)
    for i, weight in enumerate(ID_WEIGHTS):
        total += (first17 // 10 ** (16 - i)) % 10 * weight
    check = pc.take(pa.array(list(ID_CHECK_CHARACTERS)), pa.array(total % 11))
    return pc.binary_join_element_wise(pc.cast(pa.array(first17), pa.string()), check, "")


def _emails(rng: np.random.Generator, parts: _NameParts, share: float) -> pa.Array:
    """givenname.surname.N@example.{com,net,org} in pinyin (unique by N) for `share` of people, else null."""
    surname, first, second = parts
    count = len(surname)
    surnames = pa.array([s[1] for s in SURNAMES])
    given = pa.array([g[1] for g in GIVEN_CHARACTERS])
    given_or_empty = pa.array(["", *(g[1] for g in GIVEN_CHARACTERS)])
    number = pc.cast(pa.array(rng.permutation(count) + 1), pa.string())
    domain = pc.take(pa.array(EMAIL_DOMAINS), pa.array(rng.integers(0, len(EMAIL_DOMAINS), count)))
    local = pc.binary_join_element_wise(
        pc.take(given, pa.array(first)),
        pc.take(given_or_empty, pa.array(second)),
        ".",
        pc.take(surnames, pa.array(surname)),
        number,
        "",
    )
    address = pc.binary_join_element_wise(local, domain, "@")
    has_email = pa.array(rng.random(count) < share)
    return pc.if_else(has_email, address, pa.nulls(count, pa.string()))
