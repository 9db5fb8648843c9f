"""Lawyer's letters and bureau notices as PDF: the Chinese text must come back out of the file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from arrears.adapters import letters
from arrears.adapters.letters import LetterFont, render_letter, render_letter_pdf, write_letter_pdf
from arrears.adapters.rendering import TemplateLibrary
from arrears.domain.errors import InputError
from tests.messages.conftest import SAMPLE_EN, SAMPLE_ZH


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    # the letter wraps lines anywhere between Chinese characters; compare without the breaks
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


def test_zh_cn_lawyer_letter_pdf_holds_the_chinese_text() -> None:
    message, pdf = render_letter("letter/lawyer_letter", "zh-CN", SAMPLE_ZH)
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert text.startswith("律师函北京示例律师事务所函件编号：LR-2026-0117致：张*")
    for expected in (
        "张*",
        "¥1,234.56",
        "北京示例律师事务所",
        "LR-2026-0117",
        "依据借款合同第8.2条的约定",
        "示例消费金融",
        "2026年1月21日",
        "不是法院或其他国家机关的法律文书",
        "400-800-1001",
    ):
        assert expected in text, expected
    assert "张三" not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "律师函"
    assert message.subject == "律师函"


def test_zh_tw_bureau_notice_pdf() -> None:
    _, pdf = render_letter("letter/bureau_notice", "zh-TW", SAMPLE_ZH)
    text = _text(pdf)
    assert "個人不良資訊報送事先告知書" in text
    assert "應還金額為CN¥1,234.56" in text
    assert "如您於2026年2月10日前仍未還清上述款項" in text


def test_en_lawyer_letter_pdf() -> None:
    _, pdf = render_letter("letter/lawyer_letter", "en", SAMPLE_EN)
    text = _text(pdf)
    assert "Harper & Lane LLP acts for Example Consumer Finance" in text
    assert "The amount now due is CN¥1,234.56." in text


def test_same_letter_same_bytes() -> None:
    _, first = render_letter("letter/lawyer_letter", "zh-CN", SAMPLE_ZH)
    _, second = render_letter("letter/lawyer_letter", "zh-CN", SAMPLE_ZH)
    assert first == second


def test_a_long_letter_flows_onto_more_pages(templates: TemplateLibrary) -> None:
    message = templates.render(
        "letter/lawyer_letter", "zh-CN", {**SAMPLE_ZH, "borrower_address": "长" * 4000}
    )
    reader = PdfReader(io.BytesIO(render_letter_pdf(message)))
    assert len(reader.pages) >= 2


def test_only_letters_become_pdf(templates: TemplateLibrary) -> None:
    sms = templates.render("sms/lawyer_letter", "zh-CN", SAMPLE_ZH)
    with pytest.raises(InputError, match="sms/lawyer_letter is a sms message, not a letter"):
        render_letter_pdf(sms)


def test_write_letter_pdf(tmp_path: Path, templates: TemplateLibrary) -> None:
    message = templates.render("letter/bureau_notice", "zh-CN", SAMPLE_ZH)
    target = write_letter_pdf(message, tmp_path / "notice.pdf")
    assert "中国人民银行征信中心" in _text(target.read_bytes())


def test_without_a_truetype_font_the_builtin_cid_font_keeps_text_extractable(
    monkeypatch: pytest.MonkeyPatch, templates: TemplateLibrary
) -> None:
    monkeypatch.setattr(letters, "_candidates", lambda: [("/nonexistent/font.ttc", 0)])
    font = letters.letter_font.__wrapped__("zh-CN")
    assert font == LetterFont("STSong-Light", None, 0, embedded=False)
    message = templates.render("letter/lawyer_letter", "zh-CN", SAMPLE_ZH)
    pdf = render_letter_pdf(message, font=font)
    assert "北京示例律师事务所" in _text(pdf) and "¥1,234.56" in _text(pdf)
    assert b"/FontFile2" not in pdf


def test_noto_cjk_cff_is_skipped_not_fatal() -> None:
    noto = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    if not Path(noto).is_file():
        pytest.skip("fonts-noto-cjk is not installed")
    # reportlab reads TrueType outlines only; Noto CJK is CFF, so registration declines it quietly
    assert letters._register_truetype(noto, 2) is None


def test_a_truetype_cjk_font_is_embedded_when_installed() -> None:
    if not any(Path(path).is_file() for path, _ in letters.CJK_FONT_CANDIDATES[:3]):
        pytest.skip("no TrueType-outline CJK font installed (apt-get install fonts-wqy-zenhei)")
    font = letters.letter_font("zh-CN")
    assert font.embedded and font.path is not None
    _, pdf = render_letter("letter/lawyer_letter", "zh-CN", SAMPLE_ZH)
    assert b"/FontFile2" in pdf
