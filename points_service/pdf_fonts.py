"""The one font registration for every PDF the service draws (certificates, honor roll posters).

Chinese text uses an embedded TrueType font (WenQuanYi Zen Hei from Debian's
``fonts-wqy-zenhei``) so that the PDF shows and copies as real text everywhere; where
that file is missing, reportlab's built-in STSong-Light CID font is used instead.
"""

import os

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",)
_font_name = None


def cjk_font():
    """The registered font's name, registering it on first use."""
    global _font_name
    if _font_name is None:
        for path in FONT_FILES:
            if os.path.exists(path):
                pdfmetrics.registerFont(TTFont("WenQuanYiZenHei", path, subfontIndex=0))
                _font_name = "WenQuanYiZenHei"
                break
        else:
            pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
            _font_name = "STSong-Light"
    return _font_name
