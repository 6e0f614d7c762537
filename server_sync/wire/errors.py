"""The bilingual error base: every refusal either end reports carries zh-TW and English text."""

from __future__ import annotations


class BilingualError(ValueError):
    """A refusal with its zh-TW and English text; ``str()`` is ``"zh / en"``."""

    def __init__(self, zh: str, en: str):
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} / {en}")
