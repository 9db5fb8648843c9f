"""Traditional → simplified Chinese, character for character, so one pattern set serves zh-CN and zh-TW.

The mapping covers the characters the prohibited-language patterns and the required-element checks use
(and their common neighbours). Every mapping is one character to one character, so a match found in the
normalised text has the same line and column in the original.
"""

from __future__ import annotations

# Pairs "traditional simplified", space separated. One traditional form per pair; several traditional
# forms may map to one simplified character (複 復 覆 → 复; 係 繫 → 系).
_PAIRS = (
    "聯联 絡络 訊讯 錄录 屬属 單单 領领 導导 親亲 鄰邻 緊紧 話话 訴诉 門门 訪访 斷断 殺杀 廢废 後后 負负 擔担 "
    "責责 報报 詐诈 騙骗 惡恶 獄狱 檢检 傳传 執执 機机 關关 緝缉 書书 協协 賴赖 無无 恥耻 臉脸 媽妈 滾滚 賤贱 "
    "敗败 類类 開开 掛挂 網网 貼贴 遊游 終终 輩辈 學学 響响 業业 軍军 審审 飛飞 鐵铁 製制 費费 汙污 點点 記记 "
    "塊块 圓圆 幣币 萬万 會会 內内 時时 馬马 則则 個个 賬账 帳账 戶户 銀银 轉转 寶宝 給给 凍冻 結结 強强 車车 "
    "產产 資资 罰罚 違违 續续 債债 貸贷 還还 訂订 複复 復复 覆复 係系 繫系 裡里 裏里 發发 髮发 準准 幹干 乾干 "
    "臺台 颱台 麵面 隻只 誌志 爾尔 們们 這这 來来 對对 將将 過过 說说 請请 與与 為为 區区 號号 碼码 實实 際际 "
    "號号 頁页 權权 據据 處处 理理 辦办 經经 濟济 務务 稱称 數数 額额 應应 欠欠 償偿 滯滞 納纳 條条 約约 "
    "義义 務务 議议 異异 項项 聲声 這这 樣样 讓让 擊击 槍枪 彈弹 傷伤 險险 懲惩 罰罚 監监 獄狱 偵侦 察察 "
    "緊紧 急急 鬧闹 羞羞 辱辱 騷骚 擾扰 轟轰 炸炸 爛烂 垃垃 圾圾 蛋蛋 蠢蠢 豬猪 狗狗 窮穷 鬼鬼 滅灭 廣广 "
    "眾众 誰谁 論论 壇坛 視视 頻频 圖图 片片 證证 護护 戶户 註注 銷销 簡简 訊讯 箋笺 紙纸 費费 續续 "
    "兌兑 換换 匯汇 款款 買买 賣卖 損损 壞坏 騙骗 謊谎 錢钱 財财 產产 扣扣 押押 拍拍 賠赔 償偿 歸归 "
    "絕绝 決决 從从 沒没 禁禁 嚴严 杜杜 拒拒 須须 務务 勿勿 別别 斷断 終终 徵征 信信 陸陆 續续 擬拟 "
    "黨党 員员 幫帮 線线 場场 東东 興兴 門门 問问 題题 調调 解解 決决 訴诉 訟讼 郵邮 遞递 達达 優优 惠惠"
)

T2S: dict[str, str] = {}
for pair in _PAIRS.split():
    traditional, simplified = pair[0], pair[1]
    T2S.setdefault(traditional, simplified)

_TABLE = str.maketrans(T2S)


def to_simplified(text: str) -> str:
    """Map the known traditional characters to simplified ones; length and positions are unchanged."""
    return text.translate(_TABLE)
