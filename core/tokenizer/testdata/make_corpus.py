#!/usr/bin/env python3
"""Writes corpus.jsonl: the tokenizer parity corpus (one JSON string per line).

Deterministic (fixed seed). Hand-written lines in many scripts and formats, plus generated
lines that stress the pre-tokenizer's edges: numbers in many forms, whitespace runs, CRLF,
emoji sequences, decomposed accents, zero-width characters, special tokens mid-text and
random mixtures of all of these. Regenerate with:
    python3 core/tokenizer/testdata/make_corpus.py > core/tokenizer/testdata/corpus.jsonl
"""
import json
import random
import sys

R = random.Random(20240603)

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged, that a single man in possession of a good fortune must be in want of a wife.",
    "We'll see what they've done; I'm sure you'd agree they're right.",
    "DON'T SHOUT! I'M RIGHT HERE, AREN'T I? YOU'LL SEE. WE'D BETTER GO. THEY'RE LATE, WE'VE WAITED.",
    "rock'n'roll, o'clock, y'all, 'tis, 'twas, ma'am, ne'er-do-well",
    "Reinforcement learning from verifiable rewards trains the policy on problems with checkable answers.",
    "GRPO normalises each reward by the mean and standard deviation of its group.",
    "Seamless keeps an exact ledger of every prompt and sample.",
    "Mr. Smith paid $1,234.56 on 2024-05-17 at 10:45 a.m. (UTC+8).",
    "e-mail: someone@example.com, web: https://example.org/path?query=1&x=y#frag",
    "  leading spaces and trailing spaces  ",
    "tab\tseparated\tvalues\there",
    "Line one\nLine two\nLine three",
    "Windows line endings\r\nsecond line\r\nthird\r\n",
    "A sentence with    four spaces and\t\ttwo tabs.",
    "Hyphen-ated, en–dash, em—dash, and ellipsis…",
    "“Curly quotes” and ‘single ones’ and «guillemets» and „German“ ones.",
    "ALL CAPS TEXT WITH NUMBERS 123 AND SYMBOLS #@!",
    "camelCaseIdentifier snake_case_identifier kebab-case-identifier SCREAMING_CASE",
    "The answer is \\boxed{42}.",
    "Let me think step by step. First, 3 + 4 = 7. Then 7 * 6 = 42.",
    "Q: What is 17 times 23?\nA: 391",
    "naïve café résumé coöperate façade jalapeño Zürich São Paulo",
    "I said: 'hello' and he said \"goodbye\".",
    "What's up? Nothing's up. It'S fine. SHE'S here. They'D come.",
    "The year 1999 was followed by 2000, then 2001.",
    "Version 3.11.7, build #4521, commit 8924325a.",
    "100% of 50% is 50%; 3/4 = 0.75; 1e-9 is tiny.",
    "Temperatures ranged from -40°C to +45°C (−40°F to 113°F).",
    "Footnote¹ and another² and chemical H₂O, CO₂, x² + y² = z².",
    "Roman numerals: Ⅰ Ⅱ Ⅲ Ⅳ Ⅻ ⅿ and fractions ½ ¾ ⅓ ⅞.",
    "Words with apostrophes: don't, can't, won't, shouldn't, it's, he's, she'll, I've, you're.",
    "Symbols: © ® ™ § ¶ † ‡ • ° ± × ÷ ≠ ≤ ≥ ∞ √ ∑ ∏ ∫ ∂ ∇",
    "Currency: $ € £ ¥ ₹ ₽ ₩ ₿ ¢",
    "Arrows → ← ↑ ↓ ↔ ⇒ ⇔ and box drawing ┌─┐│└┘",
    "Mixed: ABCdefGHIjkl 123abc abc123 a1b2c3",
    "Punctuation runs!!! ??? ... ,,, ;;; ::: --- ___ +++ === ***",
    "Ends with newline\n",
    "\nStarts with newline",
    "   ",
    "\n",
    "\t",
    "x",
    "'s",
    "' s",
    "''''",
    "\"quoted\"",
    "(parentheses) [brackets] {braces} <angles>",
]

CHINESE = [
    "强化学习是一种机器学习方法，智能体通过与环境交互来学习策略。",
    "今天天气很好，我们去公园散步吧！",
    "小米发布了MiMo-7B模型，在数学和代码推理上表现出色。",
    "请计算：三百二十五加上四百七十八等于多少？",
    "中华人民共和国成立于1949年10月1日。",
    "《红楼梦》是中国古典四大名著之一。",
    "他说：“我明天再来。”然后就走了。",
    "这个问题的答案是 \\boxed{12}。",
    "混合English和中文的句子，比如GPU、CPU、API。",
    "一二三四五六七八九十百千万亿",
    "繁體中文與簡體中文的區別在於字形。",
    "机器学习（Machine Learning）是人工智能的一个分支。",
    "数据集包含 2,000 行文本，每行一个 JSON 字符串。",
    "标点符号：，。！？；：、（）【】《》……——",
]

JAPANESE = [
    "今日はいい天気ですね。散歩に行きましょう。",
    "私はコーヒーが好きです。でも、紅茶も飲みます。",
    "カタカナとひらがなと漢字を混ぜて書きます。",
    "東京タワーは高さ333メートルです。",
    "「こんにちは」と彼女は言った。",
    "ﾊﾝｶｸｶﾀｶﾅもあります。ｱｲｳｴｵ",
    "強化学習（きょうかがくしゅう）は機械学習の一種です。",
    "ゔ が ぎ ぐ げ ご ぱ ぴ ぷ ぺ ぽ",
]

KOREAN = [
    "안녕하세요. 오늘 날씨가 좋네요.",
    "강화 학습은 에이전트가 보상을 최대화하도록 학습하는 방법입니다.",
    "서울특별시는 대한민국의 수도입니다.",
    "한국어 문장과 English 문장을 섞어 봅니다.",
    "ㄱㄴㄷㄹ ㅏㅑㅓㅕ 한글 자모",
]

ARABIC = [
    "مرحبا بالعالم. كيف حالك اليوم؟",
    "التعلم المعزز هو فرع من فروع تعلم الآلة.",
    "العدد ١٢٣٤٥ مكتوب بالأرقام العربية الشرقية.",
    "اللُّغَةُ العَرَبِيَّةُ جَمِيلَةٌ",
    "שלום עולם, זה משפט בעברית.",
    "سلام دنیا. این یک جمله فارسی است ۱۲۳.",
]

CYRILLIC = [
    "Привет, мир! Как дела?",
    "Обучение с подкреплением — это раздел машинного обучения.",
    "Москва — столица России. Население: 13 010 112 человек.",
    "ЁЛКА ёлка Ёжик ЁЖИК",
    "Слава Україні! Ґанок, їжак, єнот.",
    "Здравейте! Това е изречение на български.",
    "Γειά σου κόσμε! Ελληνικά: αβγδε ΑΒΓΔΕ.",
    "Hindi: नमस्ते दुनिया। यह एक वाक्य है।",
    "Thai: สวัสดีชาวโลก นี่คือประโยคภาษาไทย",
    "Tamil: வணக்கம் உலகம்",
    "Georgian: გამარჯობა სამყარო",
    "Armenian: Բարեւ աշխարհ",
    "Vietnamese: Xin chào thế giới. Tiếng Việt có nhiều dấu.",
    "Turkish: İstanbul ıiIİ ğüşöç",
    "Polish: Zażółć gęślą jaźń.",
    "German: Straße, Größe, Übermaß, ẞ",
]

CODE = [
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "import numpy as np\nx = np.arange(10, dtype=np.float32)\nprint(x.mean())",
    "for i in range(10):\n\tprint(i ** 2, end=' ')\n",
    "class Foo:\n    def __init__(self):\n        self._x = {}\n\n    @property\n    def x(self):\n        return self._x\n",
    "#include <iostream>\nint main() {\n  std::cout << \"Hello\" << std::endl;\n  return 0;\n}\n",
    "template <typename T>\nstd::vector<T> Sorted(std::vector<T> v) {\n  std::sort(v.begin(), v.end());\n  return v;\n}",
    "absl::StatusOr<std::string> Read(const std::string& path) {\n  ASSIGN_OR_RETURN(auto f, Open(path));\n}",
    "fn main() {\n    let v: Vec<i32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n",
    "const add = (a, b) => a + b;\nconsole.log(`sum: ${add(1, 2)}`);\n",
    "function f() { return [1, 2, 3].map(x => x * 2).filter(x => x > 2); }",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
    "<html>\n  <body>\n    <div class=\"main\">Hello &amp; welcome</div>\n  </body>\n</html>",
    "{\"key\": \"value\", \"list\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": {}}}",
    "key: value\nlist:\n  - one\n  - two\nnested:\n  a: 1\n",
    "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do\n  echo \"$f\"\ndone\n",
    "public static void main(String[] args) {\n    System.out.println(\"Hi\");\n}",
    "if (x != nullptr && *x >= 0x7fffffff) { x->y = ~0u; }",
    "a += b; c -= d; e *= f; g /= h; i %= j; k <<= 2; l >>= 3; m &&= n; o ||= p;",
    "    indented with four spaces\n        eight spaces\n\t\ttwo tabs\n",
    "x = [i for i in range(100) if i % 3 == 0]  # comment",
    "\"\"\"Docstring with 'quotes' and \\\"escapes\\\".\"\"\"",
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))",
    "regex = r'^(?:[a-z0-9!#$%&*+/=?^_`{|}~-]+)@example\\.com$'",
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
    "diff --git a/x.cc b/x.cc\n@@ -1,3 +1,4 @@\n-old line\n+new line\n",
    "     0\t1\t2\n    10\t11\t12\n",
    "__init__ __main__ ____ _private __dunder__",
    "matrix[i][j] = matrix[i - 1][j - 1] + 1;",
    "let s = 'it''s'; // Pascal-style quote doubling",
]

LATEX = [
    "$\\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}$",
    "\\begin{equation}\n  E = mc^2\n\\end{equation}",
    "$$\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}$$",
    "\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}",
    "Let $f(x) = x^2 - 4x + 4$. Then $f(x) = (x-2)^2 \\geq 0$ for all $x \\in \\mathbb{R}$.",
    "\\boxed{\\dfrac{3\\sqrt{2}}{4}}",
    "\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}^{-1} = \\frac{1}{ad-bc}\\begin{pmatrix} d & -b \\\\ -c & a \\end{pmatrix}",
    "\\lim_{n \\to \\infty} \\left(1 + \\frac{1}{n}\\right)^n = e",
    "\\alpha\\beta\\gamma \\Delta \\Omega \\varepsilon_{ij}",
    "\\text{if } x > 0 \\text{ then } |x| = x",
    "The probability is $P(A \\cap B) = P(A)P(B|A) = 0.3 \\times 0.5 = 0.15$.",
    "\\(\\nabla \\cdot \\mathbf{E} = \\frac{\\rho}{\\varepsilon_0}\\)",
]

EMOJI = [
    "I love this! 😀😂🥲🤖🚀",
    "Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍💋‍👨 technologist: 👩🏽‍💻",
    "Flags: 🇨🇳 🇯🇵 🇰🇷 🇺🇸 🇩🇪 🇫🇷 🇧🇷 🏴‍☠️ 🏳️‍🌈 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "Skin tones: 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿",
    "Keycaps: 1️⃣ 2️⃣ #️⃣ *️⃣",
    "Hearts ❤️ 🧡 💛 💚 💙 💜 🖤 and ☺️ ☀️",
    "Math alphanumerics: 𝐀𝐁𝐂 𝑥𝑦𝑧 𝔸𝔹ℂ 𝟙𝟚𝟛",
    "Old scripts: 𐌰𐌱𐌲 𓀀𓀁 𒀀",
    "Rare CJK: 𠀀𠀁𠮷野家",
]

ZERO_WIDTH = [
    "zero\u200bwidth\u200bspace",
    "zero\u200cwidth\u200dnon\u2060joiner",
    "\ufeffbyte order mark at start",
    "soft\u00adhyphen",
    "non\u00a0breaking\u00a0space and narrow\u202fno-break",
    "ideographic\u3000space\u3000here",
    "em\u2003space en\u2002space thin\u2009space hair\u200aspace",
    "line\u2028separator paragraph\u2029separator",
    "next\u0085line vertical\u000btab form\u000cfeed",
    "right-to-left \u202eoverride\u202c and \u200fmark\u200e",
    "variation selector: \u2764\ufe0f \u2764\ufe0e",
    "combining grapheme joiner: a\u034fb",
    "control chars: \u0001\u0002\u001f\u007f",
]

DECOMPOSED = [
    "e\u0301 a\u0300 o\u0302 u\u0308 n\u0303 c\u0327",
    "Cafe\u0301 re\u0301sume\u0301 nai\u0308ve",
    "A\u030a \u212b \u00c5",
    "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af",
    "q\u0307\u0323 s\u0323\u0307 \u1e0b\u0323",
    "\u0041\u0301\u0302\u0303\u0304",
    "o\u0328\u0304 \u01eb\u0304",
    "\u0915\u093c \u0958",
    "\u2126 \u212a \u1fbe \u0374",
    "Vie\u0323\u0302t Nam",
    "\u30ab\u3099 \u304b\u3099",
    "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd",
]

# Characters from newer Unicode versions: the reference's regex knows Unicode 16.0, its NFC
# only 9.0 (see gen_unicode_tables.py).
UNICODE_VERSIONS = [
    "Kawi \U00011f04\U00011f05 CJK-H \U00031350 CJK-I \U0002ebf0 Todhri \U000105c0 Garay \U00010d50",
    "Unicode 17: \U00010940 \U000323b0 \U00011db0 digits \U0001e4f0\U0001e4f1 \U00016d70",
    "marks after 9.0: a\u1df6\u0323 a\U00010d24\u0323 a\u0898\u0323 a\U0001e4ec\u0323 a\u0897\u0323",
    "marks up to 9.0: a\U0001e944\u0323 a\u1ab0\u0323 a\u08e4\u0323",
    "compositions: \U00011935\U00011930 \U00011347\U0001133e \U000114b9\U000114ba \U00016d63\U00016d67",
    "emoji 15-16: \U0001fae8 \U0001f6dc \U0001fac6 \U0001fadf \U0001fa89",
]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>",
            "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
            "<|vision_start|>", "<|image_pad|>", "<tool_response>", "<|file_sep|>", "<|repo_name|>"]

SPECIAL_LINES = [
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>assistant\n<think>\nLet me compute 2+2.\n</think>\n\nThe answer is 4.<|im_end|>",
    "text before<|endoftext|>text after",
    "<|im_end|><|im_end|><|im_end|>",
    "<|im_end|",
    "<|im_end |>",
    "< |im_end|>",
    "<<|im_end|>>",
    "<|im_start|><|im_end|>",
    "partial <|im_sta and <thin and </think",
    "<think></think>",
    "<|fim_prefix|>def f(x):<|fim_suffix|>    return x<|fim_middle|>",
    "<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 1}}\n</tool_call>",
    "  <|im_end|>  ",
    "\n<|im_end|>\n",
    "word<|endoftext|>word",
    "123<|im_end|>456",
    "中文<|im_end|>中文",
]


def numbers():
    out = []
    for _ in range(180):
        kind = R.randrange(14)
        if kind == 0:
            out.append(str(R.randrange(10 ** R.randrange(1, 20))))
        elif kind == 1:
            out.append(f"{R.uniform(-1e6, 1e6):.{R.randrange(0, 9)}f}")
        elif kind == 2:
            out.append(f"{R.uniform(-1, 1) * 10 ** R.randrange(-30, 30):e}")
        elif kind == 3:
            out.append(f"{R.randrange(10 ** 9):,}")
        elif kind == 4:
            out.append(f"{R.randrange(10 ** 7):_}")
        elif kind == 5:
            out.append(hex(R.randrange(2 ** 64)))
        elif kind == 6:
            out.append(f"0b{R.randrange(2 ** 16):b}")
        elif kind == 7:
            out.append(f"{R.randrange(1, 100)}/{R.randrange(1, 100)}")
        elif kind == 8:
            out.append(f"{R.randrange(1900, 2100)}-{R.randrange(1, 13):02d}-{R.randrange(1, 29):02d}T{R.randrange(24):02d}:{R.randrange(60):02d}:{R.randrange(60):02d}Z")
        elif kind == 9:
            out.append(f"+{R.randrange(1, 99)} ({R.randrange(100, 999)}) {R.randrange(100, 999)}-{R.randrange(1000, 9999)}")
        elif kind == 10:
            out.append(f"{R.randrange(1, 255)}.{R.randrange(256)}.{R.randrange(256)}.{R.randrange(256)}:{R.randrange(65536)}")
        elif kind == 11:
            out.append(f"{R.uniform(0, 100):.2f}% ± {R.uniform(0, 5):.1f}")
        elif kind == 12:
            digits = "٠١٢٣٤٥٦٧٨٩" if R.random() < 0.5 else "०१२३४५६७८९"
            out.append("".join(R.choice(digits) for _ in range(R.randrange(1, 12))))
        else:
            fw = "０１２３４５６７８９"
            out.append("".join(R.choice(fw) for _ in range(R.randrange(1, 8))) + "円")
    lines = []
    for i in range(0, len(out), 3):
        sep = R.choice([" ", ", ", "\t", "\n", " = ", "; ", "  "])
        lines.append(sep.join(out[i:i + 3]))
    return lines


WS = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "   \n", "\u00a0", "\u3000", "\u2003", "\u200b", "\t\t", " \t "]


def whitespace_lines():
    lines = []
    words = ["alpha", "beta", "中文", "123", "!!", "x", "'s", "é", "Ωmega", "😀", "<|im_end|>"]
    for _ in range(220):
        parts = []
        for _ in range(R.randrange(2, 8)):
            n = R.choice([1, 1, 2, 3, 5, 8, 17, 40])
            ws = R.choice(WS)
            parts.append(ws * n if R.random() < 0.7 else "".join(R.choice(WS) for _ in range(n)))
            parts.append(R.choice(words))
        if R.random() < 0.5:
            parts.append(R.choice(WS) * R.randrange(1, 30))
        lines.append("".join(parts))
    lines.append(" " * 1000)
    lines.append("\n" * 300)
    lines.append("\r\n" * 200)
    lines.append(" " * 257 + "x" + "\t" * 129)
    lines.append("a" + " \n" * 50 + "b")
    return lines


POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789",
    " \t\n\r",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "强化学习是一种机器方法今天天气很好我们去公园",
    "ひらがなカタカナ漢字ー",
    "안녕하세요오늘날씨",
    "مرحبابالعالم١٢٣",
    "ПриветмирЁё",
    "éèêëàâäôöûüçñ",
    "\u0301\u0300\u0308\u0327\u0323\u0307",
    "😀🚀👍🏽❤️‍🔥👨‍👩‍👧🇯🇵",
    "\u200b\u200c\u200d\u2060\ufeff\u00ad",
    "\u00a0\u3000\u2003\u2028\u0085\u000b\u000c",
    "½²³¹⁴₀₁ⅠⅡ①②",
    "ſK'sStTrReEvVmMlLdD",
]


def random_lines(n):
    lines = []
    for _ in range(n):
        k = R.randrange(1, 60)
        pools = R.sample(POOLS, R.randrange(1, 5))
        s = []
        for _ in range(k):
            if R.random() < 0.03:
                s.append(R.choice(SPECIALS))
            else:
                s.append(R.choice(R.choice(pools)))
        lines.append("".join(s))
    return lines


def any_code_point_lines(n):
    """Code points from every plane, assigned or not: the Unicode tables' edges."""
    lines = []
    for _ in range(n):
        s = []
        for _ in range(R.randrange(1, 30)):
            r = R.random()
            if r < 0.1:
                s.append(R.choice(["<|im_end|>", "<think>", "'s", "'LL", " ", "\n", "\r\n", "\t"]))
            elif r < 0.3:
                s.append(chr(R.randrange(0x20, 0x7f)))
            elif r < 0.5:
                s.append(chr(R.randrange(0x80, 0x800)))
            elif r < 0.8:
                cp = R.randrange(0x800, 0x10000)
                s.append(chr(0x3000 if 0xD800 <= cp <= 0xDFFF else cp))
            else:
                s.append(chr(R.randrange(0x10000, 0x40000)))
        lines.append("".join(s))
    return lines


def mixed_lines(base, n):
    lines = []
    for _ in range(n):
        picks = R.sample(base, R.randrange(2, 4))
        glue = R.choice([" ", "\n", "\r\n", "\t", "", "\n\n", R.choice(SPECIALS), " " + R.choice(SPECIALS) + " "])
        lines.append(glue.join(picks))
    return lines


def main():
    hand = (ENGLISH + CHINESE + JAPANESE + KOREAN + ARABIC + CYRILLIC + CODE + LATEX + EMOJI +
            ZERO_WIDTH + DECOMPOSED + SPECIAL_LINES + UNICODE_VERSIONS)
    lines = list(hand)
    lines += numbers()
    lines += whitespace_lines()
    lines += mixed_lines(hand, 700)
    lines += random_lines(900)
    lines += any_code_point_lines(300)
    # Special tokens dropped into the middle of hand-written lines.
    for line in R.sample(hand, 120):
        cut = R.randrange(len(line) + 1)
        lines.append(line[:cut] + R.choice(SPECIALS) + line[cut:])
    lines.append("x" * 5000)
    lines.append("中" * 2000)
    lines.append("!" * 3000)
    lines.append("😀" * 500)
    for line in lines:
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"make_corpus: {len(lines)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
