"""Render the screenshots of ``scoring serve`` in docs/: upload, result (desktop and phone), committee.

    python docs/web_screenshots.py            # needs the web extra, selenium, Debian chromium + chromium-driver

Scores the bundled sample county (``scoring run --json``), starts ``scoring serve`` with it as the
committee's run, fills the default rubric's template with one branch's records (西河镇龙屯村党支部,
XZ03-004; its committee rows included, as if the township had passed them on), uploads it in a headless
Chromium and saves docs/web_upload.png, docs/web_result.png, docs/web_result_phone.png and
docs/web_committee.png. Also prints how many A4 pages the result page prints on.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BRANCH = "XZ03-004"
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def branch_workbook(work: Path) -> Path:
    from scoring.engine import load, needed_tables
    from scoring.output.template import fill_template, write_template
    from scoring.reader import read_dataset

    rubric, reg, _ = load(None)
    data = read_dataset([ROOT / "sample_data" / "county_2025.xlsx"], reg.tables, needed_tables(rubric, reg))
    template = work / "template.xlsx"
    write_template(rubric, reg, template)
    need = needed_tables(rubric, reg)
    part = {t: df[df["branch_id"] == BRANCH] for t, df in data.tables.items() if t in need and "branch_id" in df.columns}
    return fill_template(template, part, work / "龙屯村党支部2025年度数据.xlsx", reg.tables)


def start_server(results: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "serve", "--data", str(results), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    line = proc.stdout.readline()
    match = re.search(r"http://[\d.]+:\d+/", line)
    if not match:
        proc.kill()
        raise SystemExit(f"server did not start: {line}{proc.stdout.read()}")
    return proc, match.group(0)


def browser(profile: Path, downloads: Path) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--lang=zh-CN", f"--user-data-dir={profile}", "--hide-scrollbars"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "intl.accept_languages": "zh-CN"})
    return webdriver.Chrome(options=opts, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver",
                                                              env={**os.environ, "LANGUAGE": "zh_CN", "LANG": "C.UTF-8"}))


def full_page(driver, path: Path, width: int, mobile: bool = False, max_height: int | None = None) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": mobile})
    time.sleep(0.3)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if max_height:
        height = min(height, max_height)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    print(f"wrote {path} ({width}x{height})")


def pdf_pages(driver) -> int:
    pdf = driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "preferCSSPageSize": True})
    return len(re.findall(rb"/Type\s*/Page(?!s)", base64.b64decode(pdf["data"])))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = work / "county_2025.json"
        subprocess.run([sys.executable, "-m", "scoring", "run", str(ROOT / "sample_data" / "county_2025.xlsx"),
                        "-o", str(work / "county_2025.xlsx"), "--json", str(results), "-q"], check=True, env=ENV)
        book = branch_workbook(work)
        proc, url = start_server(results)
        driver = browser(work / "profile", work / "downloads")
        try:
            driver.get(url)
            full_page(driver, DOCS / "web_upload.png", 1280)
            driver.find_element(By.ID, "files").send_keys(str(book))
            driver.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
            WebDriverWait(driver, 120).until(EC.presence_of_element_located((By.ID, "total")))
            full_page(driver, DOCS / "web_result.png", 1280)
            full_page(driver, DOCS / "web_result_phone.png", 390, mobile=True)
            print(f"the result page prints on {pdf_pages(driver)} A4 page(s)")
            driver.get(url + "committee/1")
            full_page(driver, DOCS / "web_committee.png", 1280, max_height=1800)
        finally:
            driver.quit()
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
