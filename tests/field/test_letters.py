"""Letters that can be posted: the kinsoku rule (no line starts with a closing mark), every font embedded,
the postal address and the signing lawyer on the letter, a print batch with its manifest uploaded to a
local SFTP server, and returned mail blocking the next letter (cn.returned_mail). SQLite and PostgreSQL.

    L1 B1 林小华, 上海市浦东新区示例路1号; a 1000.00 白条 purchase due 2026-01-10.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from arrears.adapters.channels import OutgoingMessage
from arrears.adapters.channels.letters import PdfLetterChannel
from arrears.adapters.letters import NO_LINE_END, NO_LINE_START, break_lines, render_letter, render_letter_pdf
from arrears.domain.messages import MessageChannel, MessageType, RenderedMessage
from tests.conftest import CliResult
from tests.field.sftp_server import sftp_server

Cli = Callable[..., CliResult]
ADDRESS = "上海市浦东新区示例路1号"
LOANS = f"""loan_id,borrower_id,product,currency,seq,due_date,principal,interest,borrower_name,phone,address,timezone,language
L1,B1,baitiao-30d,CNY,1,2026-01-10,1000.00,0.00,林小华,13800000001,{ADDRESS},Asia/Shanghai,zh-CN
"""
POLICY = """name: letters-e2e
version: 1
compliance_profile: cn
segments:
  - {name: everyone, ladder: letters}
ladders:
  letters:
    - {id: notice_letter, offset: 47, channel: letter, template: letter/bureau_notice, tone: regular}
"""


# --- layout ------------------------------------------------------------------------------------------

chinese = st.text(
    alphabet=st.sampled_from("甲乙丙丁戊己庚辛，。；：、！？（）「」《》"), min_size=1, max_size=200
)


@settings(max_examples=200, deadline=None)
@given(text=chinese, width=st.integers(min_value=3, max_value=30))
def test_lines_never_start_with_a_closing_mark_nor_end_with_an_opening_one(text: str, width: int) -> None:
    lines = break_lines(text, width, len)  # every character one unit wide
    assert "".join(lines) == text
    for line in lines[1:]:  # at every break
        assert line[0] not in NO_LINE_START, lines
    for line in lines[:-1]:
        if any(c not in NO_LINE_START | NO_LINE_END for c in line):
            assert line[-1] not in NO_LINE_END, lines


def extracted_lines(pdf: bytes) -> list[str]:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return [line for line in text.split("\n") if line.strip()]


def fonts_of(pdf: bytes) -> list[dict[str, Any]]:
    """Every font the pages use, resolved (the descendant font of a Type0 font)."""
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if font["/Subtype"] == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            out.append(font)
    return out


def test_a_chinese_letter_keeps_the_kinsoku_rule_and_embeds_every_font() -> None:
    unit = (
        "借款于二零二六年一月十日到期，截至本函出具之日已逾期三十天；请于七日内还款。如有异议，请联系我们："
    )
    for n in range(1, 30):  # shift the punctuation across every position of a line
        body = ("甲" * n + unit) * 4 + "\n\nPayment reference L1-2026, hotline 400-800-1000."
        message = RenderedMessage(
            "letter/lawyer_letter", "zh-CN", MessageChannel.LETTER, MessageType.LAWYER_LETTER, body, "律师函"
        )
        pdf = render_letter_pdf(message)
        starts = [line[0] for line in extracted_lines(pdf)]
        assert not set(starts) & NO_LINE_START, (n, starts)
    for font in fonts_of(pdf):  # Latin too: no base-14 font, every font's program inside the file
        descriptor = font["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font


# --- the print batch, SFTP and returned mail -----------------------------------------------------------


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.stdout + result.stderr
    return result


def spool_lawyer_letter(spool: Path, *, signed: bool) -> str:
    """A lawyer's letter as the dispatcher sends it: rendered with the full address, spooled by the channel."""
    context = {
        "lender_name": "示例消费金融", "hotline": "400-800-1000", "dispute_contact": "400-800-1001",
        "complaint_contact": "400-800-1002", "borrower_name": "林小华", "amount_due": 101500,
        "due_date": "2026-01-10", "days_past_due": 40, "pay_link": "https://pay.example.cn/r/L1",
        "contract_clause": "第8.2条", "law_firm": "上海示例律师事务所", "approval_ref": "LR-2026-0042",
        "letter_date": "2026-02-19", "loan_ref": "L1", "borrower_address": ADDRESS,
        "signing_lawyer": "王律师" if signed else "", "firm_registration": "31310000000000001X" if signed else "",
    }  # fmt: skip
    rendered, _ = render_letter("letter/lawyer_letter", "zh-CN", context)
    channel = PdfLetterChannel(
        spool,
        signing_lawyer="王律师" if signed else "",
        firm_registration="31310000000000001X" if signed else "",
    )
    key = f"L1:2026-02-19:lawyer_letter{'' if signed else '_unsigned'}:lawyer_letter"
    message = OutgoingMessage(
        "lawyer_letter", "林**", rendered.body, loan_id="L1", borrower_id="B1", rendered=rendered
    )
    channel.send(message, key)
    return key


def test_a_letter_batch_reaches_the_vendor_by_sftp_and_returned_mail_blocks_letters(
    cli: Cli, store_url: str, tmp_path: Path
) -> None:
    (tmp_path / "loans.csv").write_text(LOANS, encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    ok(cli("db", "upgrade"))
    ok(cli("import", "loans", str(tmp_path / "loans.csv")))
    spool, out = tmp_path / "spool", tmp_path / "print"

    unsigned = spool_lawyer_letter(spool, signed=False)
    refused = cli("letters", "batch", "--spool", str(spool), "--out", str(out))
    assert refused.code == 2 and "signing lawyer" in refused.stderr + refused.stdout
    for path in spool.glob("*"):  # the unsigned letter is withdrawn from the spool
        path.unlink()
    letter_id = spool_lawyer_letter(spool, signed=True)
    assert letter_id != unsigned

    with sftp_server(tmp_path) as vendor:
        result = json.loads(
            ok(cli("letters", "batch", "--spool", str(spool), "--out", str(out), "--sftp", vendor.url(),
                   "--key", str(vendor.key), "--known-hosts", str(vendor.known_hosts), "--json")).stdout
        )  # fmt: skip
        assert result["letters"] == 1 and result["delivered_to"].startswith(
            f"sftp://vendor@127.0.0.1:{vendor.port}/inbox/"
        )
        (batch,) = (vendor.root / "inbox").iterdir()
        with (batch / "manifest.csv").open(encoding="utf-8") as handle:
            (row,) = list(csv.DictReader(handle))
        assert (row["letter_id"], row["loan_id"], row["recipient"], row["address"], row["pages"]) == (
            letter_id, "L1", "林小华", ADDRESS, "1",
        )  # fmt: skip
        pdf = (batch / row["file"]).read_bytes()
        text = "".join(extracted_lines(pdf))
        assert ADDRESS in text and "王律师" in text and "31310000000000001X" in text
        # a second batch finds nothing new
        again = ok(cli("letters", "batch", "--spool", str(spool), "--out", str(out)))
        assert "no letters to print" in again.stdout

    # the post brings it back: the address is marked, and the next letter to it is blocked
    returned = tmp_path / "returned.csv"
    returned.write_text(f"letter_id,returned_on,reason\n{letter_id},2026-02-25,查无此人\n", encoding="utf-8")
    ok(cli("letters", "returned", str(returned)))
    ok(cli("run", "--as-of", "2026-02-26", "--policy", str(tmp_path / "policy.yaml")))
    rows = json.loads(ok(cli("outbox", "list", "--day", "2026-02-26", "--json")).stdout)
    assert [(r["step"], r["status"], r["rules"]) for r in rows] == [
        ("notice_letter", "blocked", ["cn.returned_mail"])
    ]
    # a returned-mail file naming a letter never printed is refused with its line
    bad = tmp_path / "bad.csv"
    bad.write_text("letter_id,returned_on,reason\nNOPE,2026-02-25,x\n", encoding="utf-8")
    refused = cli("letters", "returned", str(bad))
    assert refused.code == 2 and "bad.csv" in refused.stderr + refused.stdout
