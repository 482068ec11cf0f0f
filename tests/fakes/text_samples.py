"""Natural sentences in several languages and the encodings to sweep them through.

Every text encoding Python's codec registry knows is swept, except the few that are not character
sets of files (listed in NOT_FILE_ENCODINGS with the reason).
"""

from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import pkgutil

SAMPLES: dict[str, str] = {
    "en": "The committee met on Tuesday to review the budget. Everyone agreed that the bridge "
    "repairs should start before winter, and the council will publish the plan in March.\n",
    "pt": "Os moradores disseram que a água não está limpa, e a prefeitura ainda não respondeu. "
    "Então, a reunião foi adiada para março, às dez horas, na praça São João.\n",
    "fr": "Le comité s'est réuni mardi pour étudier le budget. Tout le monde a convenu que les "
    "réparations du pont devraient commencer avant l'hiver, à la fin d'octobre.\n",
    "de": "Die Bürger äußerten sich über die neue Straßenbahn. Größere Änderungen sind für das "
    "nächste Jahr geplant, sagte die Bürgermeisterin am Dienstag.\n",
    "pl": "Mieszkańcy zauważyli, że źródło wody jest czyste. Urzędnicy obiecali, że naprawa mostu "
    "zacznie się przed zimą, a prace potrwają dwa miesiące.\n",
    "cs": "Obyvatelé si všimli, že řeka je čistá. Úředníci slíbili, že oprava mostu začne před "
    "zimou a potrvá přibližně dva měsíce.\n",
    "tr": "Merkez bankası faiz oranlarını değiştirmedi. Şirketler ve çalışanlar yeni düzenlemeleri "
    "bekliyor; ağustos ayında açıklama yapılacak.\n",
    "ru": "Жители заметили, что вода в реке стала чистой. Чиновники пообещали начать ремонт моста "
    "до зимы, и работы продлятся два месяца.\n",
    "el": "Οι κάτοικοι παρατήρησαν ότι το νερό του ποταμού είναι καθαρό. Οι αρχές υποσχέθηκαν να "
    "επισκευάσουν τη γέφυρα πριν από τον χειμώνα.\n",
    "he": "התושבים שמו לב שהמים בנהר נקיים. הפקידים הבטיחו לתקן את הגשר לפני החורף, והעבודות "
    "יימשכו חודשיים.\n",
    "ar": "لاحظ السكان أن مياه النهر أصبحت نظيفة. ووعد المسؤولون بإصلاح الجسر قبل الشتاء، "
    "وستستمر الأعمال شهرين.\n",
    "th": "ชาวบ้านสังเกตว่าน้ำในแม่น้ำสะอาดขึ้น เจ้าหน้าที่สัญญาว่าจะซ่อมสะพานก่อนฤดูหนาว\n",
    "ja": "住民は川の水がきれいになったことに気づいた。役所は冬になる前に橋の修理を始めると約束し、"
    "工事は二か月かかる予定だ。\n",
    "ja-csv": "氏名,金額\n佐藤,100\n鈴木,200\n高橋,350\n田中,120\n",
    "zh-hans": "居民们注意到河水变干净了。官员们承诺在冬天之前开始修理这座桥，工程预计持续两个月。\n",
    "zh-hant": "居民們注意到河水變乾淨了。官員們承諾在冬天之前開始修理這座橋，工程預計持續兩個月。\n",
    "ko": "주민들은 강물이 깨끗해진 것을 알아차렸다. 공무원들은 겨울이 오기 전에 다리 수리를 "
    "시작하겠다고 약속했고, 공사는 두 달 동안 계속될 예정이다.\n",
}

# Sample sizes in bytes after encoding (the text is repeated, then cut on a character boundary).
LENGTHS = (20, 200, 2_000, 20_000)

NOT_FILE_ENCODINGS = {
    "idna": "host names, not files",
    "punycode": "host names, not files",
    "unicode_escape": "Python literal syntax",
    "raw_unicode_escape": "Python literal syntax",
    "undefined": "raises on every use",
    "mbcs": "Windows only",
    "oem": "Windows only",
    "charmap": "a codec factory, not an encoding",
}


def text_encodings() -> list[str]:
    """Every text encoding in Python's codec registry, by canonical codec name."""
    names = {name for _, name, _ in pkgutil.iter_modules(encodings.__path__)}
    names |= set(encodings.aliases.aliases.values())
    found = set()
    for name in names:
        if name in NOT_FILE_ENCODINGS or name == "aliases":
            continue
        try:
            info = codecs.lookup(name)
        except LookupError:
            continue
        if getattr(info, "_is_text_encoding", True):
            found.add(info.name.replace("-", "_"))
    return sorted(found)


def sized_sample(text: str, encoding: str, size: int) -> bytes | None:
    """``text`` repeated and cut to at most ``size`` bytes in ``encoding`` (None if it cannot
    encode the text)."""
    try:
        unit = len(text.encode(encoding))
    except UnicodeEncodeError:
        return None
    repeated = text * (size // max(unit, 1) + 1)
    lo, hi = 1, len(repeated)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if len(repeated[:mid].encode(encoding)) <= size:
            lo = mid
        else:
            hi = mid - 1
    return repeated[:lo].encode(encoding)


def sweep_cases() -> list[tuple[str, str, int, str, bytes]]:
    """(encoding, language, size, expected text, bytes) for every encodable combination."""
    cases = []
    for encoding in text_encodings():
        for language, text in SAMPLES.items():
            for size in LENGTHS:
                data = sized_sample(text, encoding, size)
                if data is None:
                    break
                expected = data.decode(encoding)
                if encoding.startswith(("utf_16", "utf_32")) and expected.startswith("\ufeff"):
                    expected = expected[1:]
                cases.append((encoding, language, size, expected, data))
    return cases
