"""``scoring serve``: the self-check web page (extra ``web``: ``pip install ".[web]"``).

:func:`main_serve` loads the rubric and plugins once, scores or loads the committee's runs, binds the
socket (127.0.0.1 unless told otherwise) and runs uvicorn. The pages are :mod:`scoring.web.app`; every
engine call is in :mod:`scoring.web.service`.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

from scoring.errors import UsageError

__all__ = ["main_serve"]


EXTRA_MODULES = ("starlette", "jinja2", "python_multipart", "uvicorn")


def require_extra() -> None:
    """The ``web`` extra is installed, or a UsageError saying how to install it."""
    import importlib.util

    def present(module: str) -> bool:
        if module in sys.modules:
            return sys.modules[module] is not None
        try:
            return importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            return False

    missing = [m for m in EXTRA_MODULES if not present(m)]
    if missing:
        raise UsageError("自检网页需要先安装网页组件：pip install \"branch-scoring[web]\"（在源码目录中：pip install \".[web]\"）；"
                         f"缺少：{'、'.join(missing)}")


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise UsageError(f"无法识别的地址 --host {host}（本机使用请用 127.0.0.1；局域网开放请用本机的局域网 IP 或 0.0.0.0）") from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        if e.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise UsageError(f"端口 {port} 已被占用（可能已有一个 scoring serve 在运行），请用 --port 指定其他端口") from None
        raise UsageError(f"无法在 {host}:{port} 上启动（{e.strerror or e}）；端口小于 1024 需要管理员权限") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _lan_address() -> str | None:
    """This machine's address on the local network (the route a UDP socket would take; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed, no packet leaves for connect()
            return s.getsockname()[0]
        except OSError:
            return None


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def main_serve(rubric=None, plugins: list[Path] = (), year: int | None = None, data: list[Path] = (),
               publish_dir: Path | None = None, host: str = "127.0.0.1", port: int = 8000,
               max_upload_mb: float = 20, keep: Path | None = None, out=None) -> int:
    """Start the server and serve until interrupted (Ctrl+C). User mistakes raise UsageError (exit 2),
    a data error in the committee's records DataError (exit 1), before anything listens."""
    require_extra()
    import uvicorn

    from .app import Settings, create_app, load_runs
    from .service import Engine

    out = out or sys.stdout
    if max_upload_mb <= 0:
        raise UsageError("--max-upload-mb 必须大于 0")
    if publish_dir is not None and not Path(publish_dir).is_dir():
        raise UsageError(f"--publish-dir 指定的文件夹不存在：{publish_dir}")
    if keep is not None and Path(keep).exists() and not Path(keep).is_dir():
        raise UsageError(f"--keep 应为文件夹：{keep}")
    engine = Engine.start(rubric, plugins, year)
    runs = load_runs(engine, list(data))
    settings = Settings(max_upload=int(max_upload_mb * 1024 * 1024), keep=Path(keep) if keep else None,
                        publish_dir=Path(publish_dir) if publish_dir else None)
    app = create_app(engine, runs, settings)
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    r = engine.rubric
    lines = [f"自检网页已启动：{_url(host, port)}",
             f"评分标准：{r.name}（{engine.shown}，版本 {r.version}），考核年度 {engine.assessment_year}；"
             f"上传上限 {settings.max_upload_text}"]
    for run in runs:
        lines.append(f"委员会查看：{_url(host, port)}committee/{run['id']}（{run['view']['count']}个支部，来自 {run['source']}）")
    if host in ("127.0.0.1", "localhost", "::1"):
        lines.append("只有本机可以访问；要让局域网内的电脑和手机访问，请加 --host 0.0.0.0（或本机的局域网 IP）")
    elif host in ("0.0.0.0", "::"):
        lan = _lan_address()
        lines.append(f"局域网内的电脑和手机请打开：{_url(lan, port)}" if lan else "局域网内请用本机的 IP 地址和端口打开")
    if keep is not None:
        lines.append(f"上传的文件和自检工作簿将保存在：{keep}")
    lines.append("按 Ctrl+C 停止")
    print("\n".join(lines), file=out, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    print("自检网页已停止", file=out, flush=True)
    return 0
