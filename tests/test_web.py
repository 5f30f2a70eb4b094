"""``scoring serve``: the self-check page and the committee view, in a real server and a real browser.

One ``scoring serve`` subprocess (uvicorn) per module on a free localhost port (``--port 0``), a headless
Debian Chromium driven by selenium. The server's rubric is tests/golden/selfcheck_rubric.toml and the
records are the hand-built branches of tests/selfcheck_data.py, whose points are worked by hand there
(东岗村党支部 ONE: 79.5, 三星, one 支委会 short of 四星). Under ``CI=true`` a missing browser fails the
browser tests; elsewhere it skips them. The last part runs the application in uvicorn on a thread, for
what needs no browser (settings other than the subprocess's, a failure injected into the engine).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import anyio
import openpyxl
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from selfcheck_data import RUBRIC, BranchSpec, committee_empty, county_specs, dataset, tables
from scoring.cli import _parser
from scoring.cli import main as cli_main
from scoring.engine import build_meta, load, needed_tables, read_for, score
from scoring.errors import DataError, UsageError
from scoring.output.jsonout import write_json
from scoring.output.selfcheck_xlsx import SHEET_NAMES
from scoring.output.template import fill_template, write_template
from scoring.web import _bind
from scoring.web.app import Settings, create_app, load_runs, safe_name

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}
LIMIT_MB = 1
XSS = "<script>alert('x')</script>村党支部"
PUBLISHED = "关于2025年度党支部星级评定结果的公示_东岗镇党委.pdf"
WAIT = 60


# --------------------------------------------------------------------------------------------------
# data: the workbooks a secretary uploads, the committee's results


@pytest.fixture(scope="module")
def five_small():
    return load(RUBRIC)


def _spec(branch_id: str) -> BranchSpec:
    return next(s for s in county_specs() if s.branch_id == branch_id)


@pytest.fixture(scope="module")
def committee_files(five_small, tmp_path_factory):
    """The committee's results JSON (the hand-built county, scored and written as ``scoring run --json``
    does) and a folder of 公示 documents."""
    rubric, reg, _ = five_small
    d = tmp_path_factory.mktemp("committee")
    data = dataset(county_specs())
    result = score(rubric, reg, data, 2025, build_meta(rubric, reg, data, 2025, "test", "东岗县2025年度党支部考核结果"))
    results = d / "results.json"
    write_json(result, results)
    publish = d / "公示"
    publish.mkdir()
    (publish / PUBLISHED).write_bytes(b"%PDF-1.4\n% test notice\n")
    return {"results": results, "publish": publish}


@pytest.fixture(scope="module")
def files(five_small, committee_files, tmp_path_factory):
    """Every file the tests upload, written once."""
    rubric, reg, _ = five_small
    d = tmp_path_factory.mktemp("web_files")
    need = needed_tables(rubric, reg)
    template = d / "模板.xlsx"
    write_template(rubric, reg, template)

    def branch_book(specs, name):
        return fill_template(template, {t: f for t, f in tables(specs).items() if t in need}, d / name, reg.tables)

    one = branch_book([_spec("ONE")], "东岗村党支部2025年度数据.xlsx")
    several = branch_book([BranchSpec("XSS", XSS, committee=10), _spec("TOP")], "两个支部.xlsx")
    # the branch's own workbook as the template asks: the committee's sheets left empty
    own = branch_book([committee_empty(BranchSpec("SELF", "东岗村党支部", self_score=95, committee=11, lectures=3,
                                                  income=10))], "东岗村党支部自填.xlsx")

    located = d / "有错的数据.xlsx"
    wb = openpyxl.load_workbook(one)
    ws = wb["组织生活记录"]
    ws["B3"] = "2025年13月5日"  # not a date
    ws["E4"] = "九"  # 实到人数 not a number
    wb["支部信息"]["C2"] = "农场"  # not a category
    wb.save(located)

    broken = d / "坏了的工作簿.xlsx"
    broken.write_bytes(b"PK\x03\x04" + os.urandom(3000))  # a zip header and no zip
    renamed = d / "照片.xlsx"
    renamed.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(2000))  # a JPEG renamed
    big = d / "很大的工作簿.xlsx"
    big.write_bytes(b"PK\x03\x04" + b"\0" * (LIMIT_MB * 1024 * 1024 + 200_000))
    return {"one": one, "several": several, "own": own, "located": located, "broken": broken, "renamed": renamed, "big": big,
            "template": template, "dir": d, **committee_files}


# --------------------------------------------------------------------------------------------------
# the server and the browser


class Served(dict):
    """``scoring serve`` started in the background; ``["url"]`` waits until it listens."""

    def __getitem__(self, key):
        if key in ("url", "banner") and not dict.__contains__(self, "url"):
            proc = dict.__getitem__(self, "proc")
            first = proc.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
            if not match:
                proc.kill()
                pytest.fail(f"scoring serve did not start: {first}{proc.stdout.read()}")
            self.update(url=match.group(0), banner=first)
        return dict.__getitem__(self, key)


@pytest.fixture(scope="module")
def server(committee_files, tmp_path_factory):
    """``scoring serve`` as the county office starts it, on a free port (``--port 0``); TMPDIR is a
    folder of its own so that the tests see that nothing of an upload is left behind."""
    tmp = tmp_path_factory.mktemp("server_tmp")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scoring", "serve", "-r", str(RUBRIC), "--data", str(committee_files["results"]),
         "--publish-dir", str(committee_files["publish"]), "--port", "0", "--max-upload-mb", str(LIMIT_MB)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**ENV, "TMPDIR": str(tmp)}, cwd=ROOT)
    yield Served(proc=proc, tmp=tmp)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _browser_paths() -> tuple[str, str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary and driver:
        return binary, driver
    message = "headless Chromium not found: apt-get install chromium chromium-driver (see .ci/run)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """Headless Chromium, started while the server starts."""
    binary, driver_path = _browser_paths()
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path_factory.mktemp('chromium_profile')}",
                 "--window-size=1280,900"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=opts, service=Service(driver_path))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _upload(browser, server, *paths: Path) -> None:
    browser.get(server["url"])
    browser.find_element(By.ID, "files").send_keys("\n".join(str(p) for p in paths))
    browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()


def _wait(browser, css: str):
    return WebDriverWait(browser, WAIT).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def _texts(browser, css: str) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, css)]


def _no_upload_left(server) -> None:
    assert sorted(p.name for p in server["tmp"].iterdir()) == []


def _no_alert(browser) -> None:
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


# --------------------------------------------------------------------------------------------------
# 1. the upload page and the template


def test_upload_page_offers_the_template_of_the_servers_rubric(browser, server, files):
    browser.get(server["url"])
    assert browser.title == "上传自检 · 党支部年度考核自检"
    assert "自检测试用评分标准" in browser.find_element(By.CSS_SELECTOR, "p.lead").text
    link = browser.find_element(By.LINK_TEXT, "下载数据采集模板（.xlsx）")
    with urllib.request.urlopen(link.get_attribute("href")) as r:
        content, disposition = r.read(), r.headers["Content-Disposition"]
    assert "filename*=UTF-8''" + urllib.parse.quote("数据采集模板_selfcheck_test.xlsx") in disposition
    served = openpyxl.load_workbook(io.BytesIO(content))
    assert served.sheetnames == openpyxl.load_workbook(files["template"]).sheetnames


def test_server_banner_says_where_and_that_only_this_machine_can_open_it(server):
    assert server["banner"].startswith("自检网页已启动：http://127.0.0.1:")
    assert _parser().parse_args(["serve"]).host == "127.0.0.1"


# --------------------------------------------------------------------------------------------------
# 2. one branch's workbook: the result page


@pytest.fixture(scope="module")
def one_result(browser, server, files):
    """Upload 东岗村党支部's filled template once; the result page's address."""
    _upload(browser, server, files["one"])
    _wait(browser, "#total")
    return browser.current_url


def test_one_branch_workbook_shows_the_score_the_losses_and_the_next_level(browser, server, one_result):
    browser.get(one_result)
    assert browser.find_element(By.ID, "branch-name").text == "东岗村党支部"
    assert browser.find_element(By.ID, "total").text == "79.5"
    assert browser.find_element(By.ID, "level").text == "三星"
    head = browser.find_element(By.CSS_SELECTOR, ".score-parts").text
    assert "自评分85分，比计算得分高5.5分" in head
    # lost points, biggest first (hand-worked: 满意率 -9, 村集体经济 -5, 纪律处分 -2, 党课 -1, 支委会 -0.5)
    assert _texts(browser, "#lost .item-name") == ["群众满意率", "村集体经济", "负面事项", "党课", "支委会"]
    assert _texts(browser, "#lost .item-lost") == ["−9分", "−5分", "−2分", "−1分", "−0.5分"]
    lost = browser.find_element(By.ID, "lost").text
    assert "支委会全年召开11次，要求12次，少1次" in lost
    assert "满意率85%" in lost
    assert "已发生的负面事项本年度无法挽回" in lost
    # the committee's inspection score is its own section, not a lost point
    assert _texts(browser, "#committee .item-name") == ["现场检查评分"]
    assert "现场检查评分" not in lost
    # the path to the next level
    nxt = browser.find_element(By.ID, "next").text
    assert "下一等级：四星（80分），还差 0.5 分" in nxt and "可以达到" in nxt
    assert _texts(browser, "#next .path li") == ["再召开1次支委会总分 +0.5分"]
    assert "数据中只有本支部，无法按全县排名确定名额" in nxt
    # every indicator once: 5 lost + 1 committee + the rest of the rubric's 9
    assert len(_texts(browser, "#others tbody tr")) == 9 - 5 - 1
    _no_upload_left(server)


def test_the_selfcheck_workbook_downloads_with_the_same_numbers(browser, one_result):
    browser.get(one_result)
    before = set(browser.downloads.iterdir())
    browser.find_element(By.ID, "download").click()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        new = [p for p in set(browser.downloads.iterdir()) - before if not p.name.endswith(".crdownload")]
        if new:
            break
        time.sleep(0.1)
    assert [p.name for p in new] == ["东岗村党支部_2025年度考核自检.xlsx"]
    wb = openpyxl.load_workbook(new[0])
    assert wb.sheetnames == list(SHEET_NAMES)
    summary = {r[0]: r[1] for r in wb["自检结果"].iter_rows(min_row=4, values_only=True)}
    assert summary["总分"].startswith("79.5分") and summary["评定等级"] == "三星"
    assert summary["自检结论"] == "再召开1次支委会（+0.5分）即可达到四星"


def test_committee_sheets_left_empty_are_pending_on_the_page_as_in_the_terminal(browser, server, files):
    """The same 待评定 items as the terminal and the workbook (tests/test_selfcheck_pending.py): 43.5 known
    points; 现场检查评分 0-10, 群众满意率 0-30, 负面事项 0-10 and the bonus 0-5 wait for the committee."""
    _upload(browser, server, files["own"])
    _wait(browser, "#total")
    assert browser.find_element(By.ID, "total").text == "43.5～98.5"
    assert browser.find_element(By.ID, "level").text == "一星～五星"
    head = browser.find_element(By.CSS_SELECTOR, ".score-parts").text
    assert "自评分95分，在委员会评定后可能的范围（43.5～98.5分）内" in head
    waiting = browser.find_elements(By.CSS_SELECTOR, "#committee .item.pending")
    assert [(e.get_attribute("data-indicator"), e.find_element(By.CSS_SELECTOR, ".item-range").text) for e in waiting] == [
        ("inspection", "待评定：可得0～10 / 10分"), ("satisfaction", "待评定：可得0～30 / 30分"),
        ("negative_events", "待评定：可得0～10 / 10分")]
    # the lost points are the branch's own, and the path to the next level has none of the pending items
    assert _texts(browser, "#lost .item-name") == ["村集体经济", "党课", "支委会"]
    assert "加分项：待审核" in browser.find_element(By.ID, "pending-notes").text
    nxt = browser.find_element(By.CSS_SELECTOR, "section.next").text
    assert "取决于考评委员会评定" in nxt and "群众满意率" not in nxt and "现场检查" not in nxt
    _no_upload_left(server)


def test_the_result_page_prints_on_one_or_two_a4_pages(browser, one_result):
    browser.get(one_result)
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF")
    assert 1 <= _pdf_pages(pdf) <= 2


def test_the_result_page_fits_a_phone_screen(browser, one_result):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True})
    try:
        browser.get(one_result)
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1] == 375
        # tables turn into labelled lines: no header row shown, each cell says what it is
        assert not browser.find_element(By.CSS_SELECTOR, "#others thead").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "#others tbody td").text in {"组织生活会", "党费足额按时交纳", "会议出勤率"}
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# --------------------------------------------------------------------------------------------------
# 3. several branches: the picker; a branch named <script> stays text


def test_a_workbook_with_several_branches_asks_which_and_escapes_names(browser, server, files):
    _upload(browser, server, files["several"])
    _wait(browser, "#pick-table")
    assert _texts(browser, "#pick-table tbody td:nth-child(2)") == [XSS, "西岭村党支部"]
    _no_alert(browser)
    assert XSS not in browser.page_source and "&lt;script&gt;" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, "input[value=XSS]").click()
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    _wait(browser, "#total")
    _no_alert(browser)
    assert browser.find_element(By.ID, "branch-name").text == XSS
    assert browser.title == f"{XSS}自检结果 · 党支部年度考核自检"
    assert browser.execute_script("return [...document.scripts].map(s => s.getAttribute('src'))") == ["/static/app.js"]
    # 支委会 10 of 12 (-1), everything else full: 99, ranked among the two branches of the workbook
    assert browser.find_element(By.ID, "total").text == "99"
    assert "第2名（数据中共2个支部）" in browser.find_element(By.CSS_SELECTOR, ".score-parts").text
    _no_upload_left(server)


# --------------------------------------------------------------------------------------------------
# 4. bad uploads: located Chinese errors, never a traceback


def test_a_broken_workbook_is_named_with_the_readers_reason(browser, server, files):
    _upload(browser, server, files["broken"], files["renamed"])
    _wait(browser, "#problems")
    assert browser.find_element(By.TAG_NAME, "h1").text == "数据有误，未能完成自检"
    items = _texts(browser, "#problems li")
    assert items[0].startswith("坏了的工作簿.xlsx：无法打开工作簿：文件已损坏或不完整，请用 Excel 打开后重新保存（")
    assert items[-1] == "照片.xlsx：无法打开工作簿：文件内容不是 .xlsx 工作簿（可能是改了扩展名的其他文件），请用 Excel 另存为 .xlsx"
    assert "坏了的工作簿.xlsx、照片.xlsx：缺少工作表「支部信息」" in items
    source = browser.page_source
    assert "Traceback" not in source and str(server["tmp"]) not in source and "scoring-upload" not in source
    _no_upload_left(server)


def test_data_errors_are_the_readers_located_list(browser, server, files, five_small):
    rubric, reg, _ = five_small
    with pytest.raises(DataError) as e:
        read_for([files["located"]], (rubric, reg), year=rubric.year)
    expected = [str(p).replace(str(files["dir"]) + os.sep, "") for p in e.value.problems]
    assert len(expected) >= 3
    _upload(browser, server, files["located"])
    _wait(browser, "#problems")
    items = _texts(browser, "#problems li")
    assert items == expected
    assert any(i.startswith("有错的数据.xlsx 工作表「组织生活记录」第3行「日期") for i in items)
    assert any(i.startswith("有错的数据.xlsx 工作表「组织生活记录」第4行「实到人数") for i in items)
    assert any(i.startswith("有错的数据.xlsx 工作表「支部信息」第2行「类别") for i in items)
    assert browser.find_element(By.ID, "error-message").text == f"数据有 {len(expected)} 处问题，请在工作簿中改正后重新上传："
    _no_upload_left(server)


def test_an_oversized_upload_is_refused_in_the_page_and_by_the_server(browser, server, files):
    # in the page, before anything is sent
    browser.get(server["url"])
    browser.find_element(By.ID, "files").send_keys(str(files["big"]))
    message = browser.find_element(By.ID, "upload-error")
    assert message.is_displayed() and message.text.startswith("上传的文件超过了 1 MB 的上限（所选文件共 1.2 MB）")
    browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    assert browser.current_url == server["url"]
    # the server refuses it on its own, whatever the page does
    browser.execute_script("document.querySelector('form.upload').removeAttribute('data-max-bytes')")
    browser.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]").click()
    _wait(browser, "#error-message")
    assert browser.find_element(By.TAG_NAME, "h1").text == "文件过大"
    assert browser.find_element(By.ID, "error-message").text.startswith("上传的文件超过了 1 MB 的上限")
    # the status is 413
    body, boundary = _multipart([("files", files["big"].name, files["big"].read_bytes())])
    request = urllib.request.Request(server["url"] + "check", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request)
    assert e.value.code == 413
    assert "文件过大" in e.value.read().decode("utf-8")
    _no_upload_left(server)


def _multipart(parts: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for field, name, content in parts:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode("utf-8") + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), boundary


# --------------------------------------------------------------------------------------------------
# 5. the committee view


def test_committee_view_ranks_by_township_and_opens_a_branch(browser, server, files):
    browser.get(server["url"] + "committee")
    assert browser.current_url == server["url"] + "committee/1"
    assert browser.find_element(By.TAG_NAME, "h1").text == "东岗县2025年度党支部考核结果"
    assert _texts(browser, "section.township h2") and [h.split(" ")[0] for h in _texts(browser, "section.township h2")] \
        == ["东岗镇党委", "城关镇党委"]
    first = browser.find_elements(By.CSS_SELECTOR, "section.township")[0]
    names = [a.text for a in first.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(3) a")]
    # hand-worked totals: TOP 101, VETO 94 (不评星), DUES 92.75, NEAR5 89, ONE 79.5, CAP 70
    assert names == ["西岭村党支部", "北沟村党支部", "柳河村党支部", "南坪村党支部", "东岗村党支部", "石桥村党支部"]
    ranks = [td.text for td in first.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(2)")]
    assert ranks == ["1", "3", "4", "5", "6", "7"]  # 幸福社区 (城关镇) is second in the county
    assert [td.text for td in first.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(5)")] == \
        ["101", "94", "92.75", "89", "79.5", "70"]
    row = first.find_elements(By.CSS_SELECTOR, "tbody tr")[5]
    assert "软弱涣散候选" in row.text and "群众满意率低于60%" in row.text
    # the 公示 documents of the publish folder
    link = browser.find_element(By.LINK_TEXT, PUBLISHED)
    with urllib.request.urlopen(link.get_attribute("href")) as r:
        assert r.read() == (files["publish"] / PUBLISHED).read_bytes()
    # a branch's page
    first.find_element(By.LINK_TEXT, "东岗村党支部").click()
    _wait(browser, "#total")
    assert browser.find_element(By.ID, "total").text == "79.5"
    assert "全县第6名（共7个支部）" in browser.find_element(By.CSS_SELECTOR, ".meta").text
    assert _texts(browser, "#lost .item-name") == ["群众满意率", "村集体经济", "现场检查评分", "负面事项", "党课", "支委会"]


# --------------------------------------------------------------------------------------------------
# 6. the application in a server thread: what needs no browser


class Local:
    """The application of :func:`scoring.web.app.create_app` in uvicorn on a thread, on a free port."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + WAIT
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(WAIT)
        self.sock.close()

    def get(self, path: str):
        return self.send(urllib.request.Request(self.url + path))

    def post(self, path: str, parts: list[tuple[str, str, bytes]]):
        body, boundary = _multipart(parts)
        return self.send(urllib.request.Request(self.url + path, data=body, method="POST",
                                                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}))

    @staticmethod
    def send(request):
        """(status, headers, text), following redirects; HTTP errors are answers too."""
        try:
            with urllib.request.urlopen(request) as r:
                return r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def engine(five_small):
    from scoring.web.service import Engine

    return Engine(*five_small)


def test_nothing_of_an_upload_is_kept_unless_told_and_then_it_is(engine, files, tmp_path):
    work = tmp_path / "tmp"
    work.mkdir()
    broken = files["broken"].read_bytes()
    with Local(create_app(engine, [], Settings(tmp_root=work))) as app:
        status, _, text = app.post("/check", [("files", "坏了的工作簿.xlsx", broken)])
    assert status == 422 and "文件已损坏或不完整" in text
    assert list(work.iterdir()) == []
    keep = tmp_path / "keep"
    with Local(create_app(engine, [], Settings(tmp_root=work, keep=keep))) as app:
        status, _, _ = app.post("/check", [("files", "../../坏了的工作簿.xlsx", broken)])
    assert status == 422
    kept = list(keep.glob("*/*"))
    assert [p.name for p in kept] == ["坏了的工作簿.xlsx"] and kept[0].read_bytes() == broken
    assert list(work.iterdir()) == []


def test_no_file_a_wrong_kind_of_file_and_unknown_pages_are_chinese_pages(engine):
    with Local(create_app(engine, [], Settings())) as app:
        status, _, text = app.post("/check", [("files", "", b"")])
        assert status == 400 and "没有选择文件" in text
        status, _, text = app.post("/check", [("files", "说明.docx", b"PK\x03\x04 word")])
        assert status == 400 and "「说明.docx」不是可读取的数据文件" in text
        status, _, text = app.get("/result/not-a-token")
        assert status == 404 and "页面已过期" in text
        status, _, text = app.get("/nowhere")
        assert status == 404 and "找不到页面" in text
        status, _, text = app.get("/check")
        assert status == 405 and "请从首页开始" in text
        status, _, text = app.get("/committee")
        assert status == 404 and "没有可查看的评分结果" in text
        assert app.get("/publish/" + urllib.parse.quote(PUBLISHED))[0] == 404
        status, headers, text = app.get("/")
    assert status == 200 and "委员会查看" not in text
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"


def test_an_unexpected_failure_is_a_chinese_page_without_a_traceback(engine, files, monkeypatch, caplog):
    def crash(*args, **kwargs):
        raise RuntimeError("boom in the engine")

    monkeypatch.setattr(engine, "read_branches", crash)
    with Local(create_app(engine, [], Settings())) as app:
        status, _, text = app.post("/check", [("files", "a.xlsx", files["one"].read_bytes())])
    assert status == 500
    assert "服务器出错" in text and "boom" not in text and "Traceback" not in text
    assert "boom in the engine" in caplog.text  # logged on the server's console


def test_committee_runs_without_a_publish_folder_have_no_links(engine, files):
    runs = load_runs(engine, [files["results"]])
    with Local(create_app(engine, runs, Settings())) as app:
        status, _, text = app.get("/committee/1")
        assert status == 200 and "东岗县2025年度党支部考核结果" in text and "id=\"publish\"" not in text
        assert app.get("/committee/1/branch/NOPE")[0] == 404
        assert app.get("/committee/2")[0] == 404


def test_committee_records_are_scored_at_start_like_scoring_run(engine, files):
    run = load_runs(engine, [files["results"], files["several"]])
    assert [r["id"] for r in run] == ["1", "2"] and run[1]["source"] == str(files["several"])
    # 西岭村 TOP: 100 + 1 (县级 honor) = 101; XSS: 支委会 10 of 12 (-1) = 99; a county run applies the
    # quota: five stars for 20% of 2 branches (floor) is no place, so TOP drops to four stars
    branches = run[1]["results"]["branches"]
    assert [(b["rank"], b["branch_id"], b["total"], b["level"]) for b in branches] == \
        [(1, "TOP", 101.0, "四星"), (2, "XSS", 99.0, "四星")]
    assert "名额" in branches[0]["quota_note"]
    assert run[1]["view"]["townships"][0]["name"] == "东岗镇党委" and run[1]["view"]["count"] == 2


def test_a_results_file_that_is_not_one_is_refused(engine, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"branches": "no"}), encoding="utf-8")
    with pytest.raises(UsageError, match="不是 scoring run --json 写出的结果文件"):
        load_runs(engine, [bad])
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(UsageError, match="不是有效的 JSON 结果文件"):
        load_runs(engine, [bad])


def test_uploaded_file_names_are_plain_names():
    taken: set[str] = set()
    assert safe_name("../../etc/passwd.xlsx", taken) == "passwd.xlsx"
    assert safe_name("C:\\Users\\书记\\数据.xlsx", taken) == "数据.xlsx"
    assert safe_name("数据.XLSX", taken) == "数据(2).XLSX"
    assert safe_name(".隐藏.xlsx", taken) == "隐藏.xlsx"
    assert safe_name("a\x00b<>.xlsx", taken) == "a_b_.xlsx"
    assert safe_name("", taken) == "上传文件"


def test_serve_without_the_web_extra_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert cli_main(["serve"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "branch-scoring[web]"' in err and "uvicorn" in err


def test_the_body_is_refused_as_it_arrives_past_the_limit():
    from scoring.web.app import TooLarge, _Counted

    chunks = [{"type": "http.request", "body": b"x" * 400, "more_body": True} for _ in range(9)]
    chunks.append({"type": "http.request", "body": b"", "more_body": False})
    sent = iter(chunks)

    async def receive():
        return next(sent)

    async def read_all(counted):
        while True:
            message = await counted()
            if not message.get("more_body"):
                return counted.seen

    counted = _Counted(receive, 1000)
    with pytest.raises(TooLarge) as e:
        anyio.run(read_all, counted)
    assert e.value.seen == 1200  # the third chunk crosses the limit: nothing further is read
    assert anyio.run(counted.drain, 10_000) is True and counted.seen == 3600  # the rest is read and dropped


def test_a_port_in_use_is_said_in_chinese():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"端口 {port} 已被占用"):
            _bind("127.0.0.1", port)
