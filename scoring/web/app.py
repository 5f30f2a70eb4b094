"""``scoring serve``: the self-check page for branch secretaries and the committee view, on the intranet.

Starlette with Jinja2 pages rendered on the server (autoescaped), CSS and a little JS shipped in this
package (``static/``), nothing fetched from outside. The rubric and plugins are fixed by the operator at
start (:class:`scoring.web.service.Engine`); an upload is records only, never a rubric or code.

Uploads: the request body is counted as it arrives and refused over the limit (413, in Chinese; the
rest of the body is read and dropped so that the browser shows the message); file names are reduced to
a plain name; the files are written to a fresh temporary folder, read by the engine's reader (its magic,
zip and size checks), and the folder is deleted when the request ends, unless the operator started the
server with ``--keep DIR``. Between the upload and the branch choice (a workbook with several branches)
and for the result page and its workbook download, the server holds the files and results in memory
only, for :data:`TTL_SECONDS`, under an unguessable token.

Every error is a Chinese page: a data error lists the located problems as ``scoring self-check`` does;
an unexpected failure is logged on the server's console and shown as a short Chinese message, never as
a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from scoring.errors import DataError, ScoringError, UsageError

from . import service

log = logging.getLogger("scoring.web")

TTL_SECONDS = 3600
MAX_ENTRIES = 500
MAX_FILES = 20
FORM_OVERHEAD = 64 * 1024  # multipart headers and the small fields, on top of the file bytes
DRAIN_FACTOR = 8  # an oversized body is read and dropped up to this many limits, then the connection is cut
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PUBLISH_SUFFIXES = (".pdf", ".docx", ".xlsx")
HERE = Path(__file__).parent


# --------------------------------------------------------------------------------------------------
# settings and the in-memory store


@dataclass
class Settings:
    max_upload: int = 20 * 1024 * 1024  # bytes of file parts per request
    keep: Path | None = None  # keep uploads and self-check workbooks here (--keep)
    publish_dir: Path | None = None  # 公示 documents written by ``scoring publish`` (--publish-dir)
    tmp_root: Path | None = None  # where upload folders are made (default: the system's temp folder)
    workers: int = 1  # self-checks computed at the same time

    @property
    def max_upload_text(self) -> str:
        return _size_text(self.max_upload)


class Store:
    """Tokens -> values, in memory, for ``ttl`` seconds, at most ``size`` entries (oldest dropped)."""

    def __init__(self, ttl: float = TTL_SECONDS, size: int = MAX_ENTRIES):
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, value) -> str:
        token = secrets.token_urlsafe(18)
        with self._lock:
            self._expire()
            self._items[token] = (time.monotonic(), value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return token

    def get(self, token: str):
        with self._lock:
            self._expire()
            item = self._items.get(token)
        return None if item is None else item[1]

    def _expire(self) -> None:
        now = time.monotonic()
        while self._items:
            token, (at, _) = next(iter(self._items.items()))
            if now - at <= self.ttl:
                break
            self._items.popitem(last=False)


def _size_text(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{service.num(n / 1024 / 1024, 1)} MB"
    return f"{service.num(n / 1024, 0)} KB"


# --------------------------------------------------------------------------------------------------
# uploads


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def safe_name(filename: str | None, taken: set[str]) -> str:
    """The uploaded file's own name, reduced to a plain file name (no folders, no control characters, not
    hidden), unique among ``taken``."""
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().lstrip(". ") or "上传文件"
    stem, suffix = os.path.splitext(name)
    if len(name) > 120:
        stem = stem[: 120 - len(suffix)]
        name = stem + suffix
    n = 2
    while name.lower() in taken:
        name = f"{stem}({n}){suffix}"
        n += 1
    taken.add(name.lower())
    return name


@dataclass
class Upload:
    """The uploaded files (name, bytes), held in memory; written to disk only inside :meth:`folder`."""

    files: list[tuple[str, bytes]]
    branches: list[dict] = field(default_factory=list)

    @contextlib.contextmanager
    def folder(self, settings: Settings):
        """A fresh folder holding the files, removed on exit unless ``--keep``. Yields (paths, shown)."""
        if settings.keep is not None:
            settings.keep.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            where = Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=settings.keep))
        else:
            where = Path(tempfile.mkdtemp(prefix="scoring-upload-", dir=settings.tmp_root))
        prefix = str(where) + os.sep
        try:
            paths = []
            for name, content in self.files:
                p = where / name
                p.write_bytes(content)
                paths.append(p)
            yield paths, (lambda text: str(text).replace(prefix, "").replace(str(where), ""))
        finally:
            if settings.keep is None:
                shutil.rmtree(where, ignore_errors=True)


class TooLarge(Exception):
    def __init__(self, seen: int):
        self.seen = seen


class _Counted:
    """The request's receive channel, counting body bytes; raises :class:`TooLarge` past ``limit``."""

    def __init__(self, receive, limit: int):
        self.receive, self.limit, self.seen, self.done = receive, limit, 0, False

    async def __call__(self):
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            self.done = not message.get("more_body", False)
            if self.seen > self.limit:
                raise TooLarge(self.seen)
        return message

    async def drain(self, cap: int) -> bool:
        """Read and drop the rest of the body, up to ``cap`` bytes; True when it all arrived."""
        while not self.done and self.seen <= cap:
            message = await self.receive()
            if message["type"] != "http.request":
                return False
            self.seen += len(message.get("body", b""))
            self.done = not message.get("more_body", False)
        return self.done


# --------------------------------------------------------------------------------------------------
# the application


class Pages:
    """The routes, over one engine, its committee runs and the settings."""

    def __init__(self, engine: service.Engine, runs: list[dict], settings: Settings):
        self.engine, self.runs, self.settings = engine, runs, settings
        self.uploads, self.results = Store(), Store()
        self.limiter = anyio.CapacityLimiter(max(1, settings.workers))
        self._template: bytes | None = None
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,  # every page, every value: a branch named <script> stays text
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["num"] = service.num
        self.env.filters["size"] = _size_text
        self.env.globals.update(rubric=engine.describe(), has_committee=bool(runs), settings=settings)

    # ---------------------------------------------------------------- helpers
    def page(self, name: str, status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def error(self, status: int, title: str, message: str = "", problems: dict | None = None, **extra) -> HTMLResponse:
        return self.page("error.html", status=status, title=title, message=message, problems=problems, **extra)

    async def work(self, fn, *args):
        return await anyio.to_thread.run_sync(lambda: fn(*args), limiter=self.limiter)

    def too_large(self, seen: int | None) -> HTMLResponse:
        size = f"（本次上传约 {_size_text(seen)}）" if seen else ""
        return self.error(413, "文件过大", f"上传的文件超过了 {self.settings.max_upload_text} 的上限{size}。"
                          "请只上传本支部填好的数据采集模板；如工作簿中插入了照片或扫描件，请删除后再上传。")

    def _failed(self, e: Exception, shown, again: str = "/") -> HTMLResponse:
        if isinstance(e, DataError):
            problems = service.problem_list(e, shown)
            return self.error(422, "数据有误，未能完成自检",
                              f"数据有 {problems['count']} 处问题，请在工作簿中改正后重新上传：", problems, again=again)
        if isinstance(e, UsageError):
            return self.error(400, "无法完成自检", shown(str(e)), again=again)
        if isinstance(e, ScoringError):  # a plugin failed: the operator's side
            log.error("self-check failed: %s", e)
            return self.error(500, "评分出错", shown(str(e)) + "。请联系县委组织部（系统管理员）。", again=again)
        raise e

    # ---------------------------------------------------------------- self-check
    async def home(self, request: Request) -> Response:
        return self.page("upload.html")

    async def template(self, request: Request) -> Response:
        if self._template is None:
            self._template = await self.work(self.engine.template_bytes)
        name = f"数据采集模板_{self.engine.rubric.id}.xlsx"
        return Response(self._template, media_type=XLSX_TYPE, headers=_attachment(name, "template.xlsx"))

    async def check(self, request: Request) -> Response:
        s = self.settings
        limit = s.max_upload + FORM_OVERHEAD
        declared = request.headers.get("content-length", "")
        declared = int(declared) if declared.isdigit() else None
        if declared is not None and declared > limit * DRAIN_FACTOR:
            response = self.too_large(declared)
            response.headers["Connection"] = "close"
            return response
        counted = _Counted(request.receive, limit)
        try:
            form = await Request(request.scope, counted).form(max_files=MAX_FILES, max_fields=20)
        except TooLarge as e:
            complete = await counted.drain(limit * DRAIN_FACTOR)
            response = self.too_large(declared or e.seen)
            if not complete:
                response.headers["Connection"] = "close"
            return response
        except Exception as e:  # a malformed body (MultiPartException, or Starlette's 400 for it)
            log.info("unreadable upload: %s", e)
            return self.error(400, "上传内容无法读取", "请在页面上选择工作簿后点击「开始自检」；"
                              f"一次最多上传 {MAX_FILES} 个文件。")
        try:
            taken: set[str] = set()
            files = []
            for part in form.getlist("files"):
                if not isinstance(part, UploadFile) or (not part.filename and not part.size):
                    continue
                content = await part.read()
                if len(content) > s.max_upload:
                    return self.too_large(len(content))
                files.append((safe_name(part.filename, taken), content))
        finally:
            await form.close()
        if not files:
            return self.error(400, "没有选择文件", "请先点击「选择工作簿……」，选中本支部填好的数据采集模板，再点击「开始自检」。")
        if sum(len(c) for _, c in files) > s.max_upload:
            return self.too_large(sum(len(c) for _, c in files))
        for name, _ in files:
            if Path(name).suffix.lower() not in service.DATA_SUFFIXES:
                return self.error(400, "文件类型不对", str(service.unsupported_file(name)))
        upload = Upload(files)
        return await self.work_upload(upload)

    def _read(self, upload: Upload):
        """In a worker thread: read the records; one branch -> its self-check, several -> the choice."""
        with upload.folder(self.settings) as (paths, shown):
            try:
                upload.branches = self.engine.read_branches(paths, shown)
                if len(upload.branches) > 1:
                    return ("pick", None)
                return ("result", self._selfcheck(paths, shown, upload.branches[0]["branch_id"]))
            except ScoringError as e:
                return ("error", self._failed(e, shown))

    def _selfcheck(self, paths, shown, branch_id: str) -> dict:
        book = paths[0].parent / f".selfcheck-{secrets.token_hex(4)}.xlsx"
        view = self.engine.selfcheck(paths, branch_id, book, shown)
        content = book.read_bytes()
        if self.settings.keep is None:
            book.unlink()
        else:
            book.rename(book.with_name(_file_safe(f"自检_{branch_id}.xlsx")))
        return {"view": view, "workbook": content}

    async def work_upload(self, upload: Upload) -> Response:
        kind, value = await self.work(self._read, upload)
        if kind == "error":
            return value
        if kind == "pick":
            return RedirectResponse(f"/pick/{self.uploads.put(upload)}", status_code=303)
        return RedirectResponse(f"/result/{self.results.put(value)}", status_code=303)

    async def pick(self, request: Request) -> Response:
        upload = self.uploads.get(request.path_params["token"])
        if upload is None:
            return self.expired()
        if request.method == "GET":
            return self.page("pick.html", upload=upload, token=request.path_params["token"],
                             names=[n for n, _ in upload.files])
        form = await request.form(max_files=0, max_fields=5)
        branch_id = str(form.get("branch_id") or "").strip()
        if branch_id not in {b["branch_id"] for b in upload.branches}:
            return self.error(400, "请选择支部", "请在列表中点选一个支部后再点击「开始自检」。",
                              again=f"/pick/{request.path_params['token']}")

        def run():
            with upload.folder(self.settings) as (paths, shown):
                try:
                    return ("result", self._selfcheck(paths, shown, branch_id))
                except ScoringError as e:
                    return ("error", self._failed(e, shown, again=f"/pick/{request.path_params['token']}"))

        kind, value = await self.work(run)
        if kind == "error":
            return value
        return RedirectResponse(f"/result/{self.results.put(value)}", status_code=303)

    async def result(self, request: Request) -> Response:
        item = self.results.get(request.path_params["token"])
        if item is None:
            return self.expired()
        return self.page("result.html", r=item["view"], token=request.path_params["token"])

    async def workbook(self, request: Request) -> Response:
        item = self.results.get(request.path_params["token"])
        if item is None:
            return self.expired()
        b = item["view"]["branch"]
        name = f"{b['name']}_{item['view']['year']}年度考核自检.xlsx"
        return Response(item["workbook"], media_type=XLSX_TYPE,
                        headers=_attachment(name, f"selfcheck_{_ascii(b['id'])}.xlsx"))

    def expired(self) -> HTMLResponse:
        hours = service.num(TTL_SECONDS / 3600, 1)
        return self.error(404, "页面已过期", f"自检结果只在服务器上保留{hours}小时，且服务器重启后清空（上传的文件不会长期保存）。"
                          "请重新上传工作簿。")

    # ---------------------------------------------------------------- committee
    def _run(self, request: Request) -> dict:
        rid = request.path_params["run"]
        run = next((r for r in self.runs if r["id"] == rid), None)
        if run is None:
            raise HTTPException(404)
        return run

    async def committee(self, request: Request) -> Response:
        if not self.runs:
            return self.error(404, "没有可查看的评分结果",
                              "服务器启动时没有指定评分结果。县委组织部可用 scoring serve --data 结果.json（或数据文件夹）启动。")
        if len(self.runs) == 1:
            return RedirectResponse(f"/committee/{self.runs[0]['id']}", status_code=303)
        return self.page("committee_index.html", runs=self.runs)

    async def committee_run(self, request: Request) -> Response:
        run = self._run(request)
        return self.page("committee_run.html", run=run, view=run["view"], publish=self.publish_files())

    async def committee_branch(self, request: Request) -> Response:
        run = self._run(request)
        view = service.branch_view(run["results"], request.path_params["branch_id"])
        if view is None:
            raise HTTPException(404)
        return self.page("committee_branch.html", run=run, r=view)

    def publish_files(self) -> list[dict]:
        d = self.settings.publish_dir
        if d is None or not d.is_dir():
            return []
        return [{"name": p.name, "size": p.stat().st_size} for p in sorted(d.iterdir(), key=lambda p: p.name)
                if p.is_file() and p.suffix.lower() in PUBLISH_SUFFIXES and not p.name.startswith((".", "~$"))]

    async def publish(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in {f["name"] for f in self.publish_files()}:
            raise HTTPException(404)
        path = self.settings.publish_dir / name
        return FileResponse(path, headers=_attachment(name, "publish" + path.suffix.lower()))

    # ---------------------------------------------------------------- errors
    async def not_found(self, request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 404)
        if code == 405:
            return self.error(405, "请从首页开始", "此地址不能直接打开，请回到首页上传工作簿。")
        if code == 400:
            return self.error(400, "请求无法处理", "请回到首页重新操作。")
        return self.error(code if code >= 400 else 404, "找不到页面", "地址可能输错了，或页面已过期。")

    async def server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        return self.error(500, "服务器出错", "处理时发生了意外错误，已记录在服务器日志中。请稍后重试；"
                          "如仍不行，请把工作簿交县委组织部（系统管理员）处理。")


def _ascii(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)) or "file"


def _file_safe(text: str) -> str:
    return _UNSAFE.sub("_", text)


def _attachment(name: str, fallback: str) -> dict:
    """A download under its Chinese name (RFC 6266 ``filename*``), with an ASCII fallback."""
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(_file_safe(name))}",
            "Cache-Control": "no-store"}


SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                 b"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class _Secure:
    """Adds the security headers to every response (pages and files)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secure(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + SECURITY_HEADERS}
            await send(message)

        return await self.app(scope, receive, send_secure)


def create_app(engine: service.Engine, runs: list[dict] | None = None, settings: Settings | None = None):
    """The ASGI application. ``runs``: committee runs, each ``{"id", "source", "results", "view"}``
    (see :func:`load_runs`)."""
    pages = Pages(engine, runs or [], settings or Settings())
    routes = [
        Route("/", pages.home),
        Route("/template.xlsx", pages.template),
        Route("/check", pages.check, methods=["POST"]),
        Route("/pick/{token}", pages.pick, methods=["GET", "POST"]),
        Route("/result/{token}", pages.result),
        Route("/result/{token}/selfcheck.xlsx", pages.workbook),
        Route("/committee", pages.committee),
        Route("/committee/{run}", pages.committee_run),
        Route("/committee/{run}/branch/{branch_id:path}", pages.committee_branch),
        Route("/publish/{name}", pages.publish),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: pages.not_found, Exception: pages.server_error})
    app.state.pages = pages
    return _Secure(app)


def load_runs(engine: service.Engine, data: list[Path]) -> list[dict]:
    """The committee runs of ``--data``: each results JSON is one run; the other paths together are the
    records of one run, scored now with the server's rubric (as ``scoring run`` would)."""
    runs: list[dict] = []
    jsons = [Path(p) for p in data if Path(p).suffix.lower() == ".json"]
    records = [Path(p) for p in data if Path(p).suffix.lower() != ".json"]
    for p in jsons:
        runs.append({"source": str(p), "results": service.load_results_json(p)})
    if records:
        for p in records:
            if not p.exists():
                raise UsageError(f"找不到输入：{p}")
        runs.append({"source": "、".join(str(p) for p in records), "results": engine.committee_run(records)})
    for i, run in enumerate(runs, 1):
        run["id"] = str(i)
        run["view"] = service.run_view(run["results"], run["source"])
    return runs
