"""``scoring plugins``: every measure with its plugin, the tables and columns it reads, its parameters."""

from __future__ import annotations

def cmd(a) -> int:
    from ..registry import make_registry

    reg = make_registry(list(a.plugin))
    print(f"共 {len(reg.measures)} 个测量项：")
    for m in sorted(reg.measures.values(), key=lambda m: (m.plugin, m.id)):
        inputs = "；".join(f"{reg.tables[t].sheet}（{'、'.join(reg.tables[t].column(c).header for c in cols)}）"
                          for t, cols in m.inputs.items())
        print(f"\n{m.id}  {m.name}  [插件：{m.plugin}]")
        print(f"  说明：{m.description}")
        print(f"  单位：{m.unit or '—'}  读取：{inputs}")
        if m.params:
            for k, p in m.params.items():
                print(f"  参数 {k}（默认 {p.default!r}）：{p.description}")
        else:
            print("  参数：无")
    return 0


