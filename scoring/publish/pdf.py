"""PDF by LibreOffice (headless), so that the PDF is the Word document as printed, fonts embedded.

All documents of a run are converted in one ``soffice --convert-to pdf`` call (LibreOffice's start-up is
most of the cost), with a fresh private profile so a LibreOffice the user has open does not swallow the
request and two conversions can run at once.

Fonts: the templates name the fonts a Chinese Windows office has (宋体, 仿宋, 黑体, 方正小标宋简体). Where
they are missing (Linux), a fontconfig file given to LibreOffice maps them to Noto CJK SC (Debian package
fonts-noto-cjk): serif faces to Noto Serif CJK SC, 黑体 to Noto Sans CJK SC. Without the mapping,
LibreOffice falls back glyph by glyph, often to the Japanese Noto face, whose forms differ from the
mainland standard for some characters. LibreOffice embeds (subsets of) every font it uses.

Install on Debian/Ubuntu: ``apt-get install libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk
poppler-utils`` (Calc for printing workbooks, poppler for checking PDFs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from scoring.errors import UsageError

INSTALL_HINT = ("请安装 LibreOffice 和中文字体（Debian/Ubuntu：apt-get install libreoffice-writer-nogui "
                "libreoffice-calc-nogui fonts-noto-cjk），或加 --no-pdf 只生成 Word 文档")
SERIF = "Noto Serif CJK SC"
SANS = "Noto Sans CJK SC"
# font a template names -> Noto face used in the PDF; the 小标宋 title faces are heavy, so their Noto
# stand-in is the bold weight
FONT_MAP = {
    "宋体": SERIF, "SimSun": SERIF, "新宋体": SERIF, "NSimSun": SERIF,
    "仿宋": SERIF, "FangSong": SERIF, "仿宋_GB2312": SERIF, "FangSong_GB2312": SERIF,
    "楷体": SERIF, "KaiTi": SERIF, "楷体_GB2312": SERIF, "KaiTi_GB2312": SERIF,
    "方正小标宋简体": SERIF, "方正小标宋_GBK": SERIF, "华文中宋": SERIF, "STZhongsong": SERIF,
    "黑体": SANS, "SimHei": SANS, "微软雅黑": SANS, "Microsoft YaHei": SANS, "等线": SANS, "DengXian": SANS,
}
HEAVY = {"方正小标宋简体", "方正小标宋_GBK", "华文中宋", "STZhongsong"}
SYSTEM_FONTS_CONF = Path("/etc/fonts/fonts.conf")
TIMEOUT = 900


def soffice() -> str | None:
    """The LibreOffice executable, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def cjk_fonts() -> list[str]:
    """Installed font families covering simplified Chinese (fontconfig), empty when none or no fc-list."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return []
    try:
        out = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()})


def check_available() -> str:
    """The soffice path; a usage error (with the install line) when LibreOffice or a Chinese font is missing."""
    exe = soffice()
    if exe is None:
        raise UsageError(f"未找到 LibreOffice（soffice），无法生成 PDF。{INSTALL_HINT}")
    if not cjk_fonts():
        raise UsageError(f"未找到中文字体，PDF 中的中文将无法显示。{INSTALL_HINT}")
    return exe


def fonts_conf() -> str | None:
    """A fontconfig file: the system configuration plus the mapping above, or None when the system
    configuration is not at the usual place or Noto CJK is not installed (then LibreOffice's own
    fallback applies)."""
    if not SYSTEM_FONTS_CONF.exists():
        return None
    installed = set(cjk_fonts())
    rules = []
    for name, target in FONT_MAP.items():
        if target in installed:
            weight = ('<edit name="weight" mode="assign" binding="strong"><const>bold</const></edit>'
                      if name in HEAVY else "")
            rules.append(f'  <match target="pattern"><test name="family"><string>{name}</string></test>'
                         f'<edit name="family" mode="assign" binding="strong"><string>{target}</string></edit>'
                         f'{weight}</match>')
    if not rules:
        return None
    return ('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
            f'  <include ignore_missing="yes">{SYSTEM_FONTS_CONF}</include>\n' + "\n".join(rules) + "\n</fontconfig>\n")


def convert(paths: list[Path], outdir: Path, timeout: int = TIMEOUT) -> list[Path]:
    """Convert documents or workbooks to PDF in ``outdir`` (one LibreOffice call); the PDFs in order.
    A usage error when LibreOffice is missing, fails or does not write every PDF."""
    exe = check_available()
    if not paths:
        return []
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scoring-lo-") as profile:
        env = dict(os.environ)
        conf = fonts_conf()
        if conf is not None:
            conf_path = Path(profile) / "fonts.conf"
            conf_path.write_text(conf, encoding="utf-8")
            env["FONTCONFIG_FILE"] = str(conf_path)
        env.setdefault("HOME", profile)
        cmd = [exe, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
               f"-env:UserInstallation={Path(profile, 'user').as_uri()}",
               "--convert-to", "pdf", "--outdir", str(outdir), *[str(p) for p in paths]]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UsageError(f"LibreOffice 转换 PDF 超时（{timeout} 秒）") from None
        except OSError as e:
            raise UsageError(f"无法启动 LibreOffice（{exe}）：{e}") from None
    pdfs = [outdir / (Path(p).stem + ".pdf") for p in paths]
    missing = [p for p in pdfs if not p.exists()]
    if missing:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise UsageError("LibreOffice 未能生成 PDF：" + "、".join(p.name for p in missing)
                         + (f"（{' '.join(detail)}）" if detail else ""))
    return pdfs
