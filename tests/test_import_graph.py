"""The import graph of kiosk and server_sync has no cycles.

grimp reads every import statement, including those inside functions and under
``TYPE_CHECKING``, so a cycle cannot hide in a deferred import.
"""

from __future__ import annotations

from collections.abc import Iterable

import grimp

PACKAGES = ("kiosk", "server_sync")


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """The graph's groups of two or more modules that all reach one another (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """One shortest cycle through each module that is on a cycle, as a chain ending where it starts."""
    found: dict[frozenset[tuple[str, str]], tuple[str, ...]] = {}
    for group in strongly_connected(graph):
        for module in sorted(group):
            best: tuple[str, ...] | None = None
            for imported in sorted(graph.find_modules_directly_imported_by(module) & group):
                back = graph.find_shortest_chain(importer=imported, imported=module)
                if back is not None and (best is None or len(back) + 1 < len(best)):
                    best = (module, *back)
            if best is not None:
                found.setdefault(frozenset(zip(best, best[1:])), best)
    return sorted(found.values(), key=lambda chain: (len(chain), chain))


def describe(graph: grimp.ImportGraph, chains: Iterable[tuple[str, ...]]) -> str:
    lines = []
    for chain in chains:
        lines.append(" -> ".join(chain))
        for importer, imported in zip(chain, chain[1:]):
            for detail in graph.get_import_details(importer=importer, imported=imported):
                lines.append(f"    {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def test_kiosk_and_server_sync_have_no_import_cycles():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    found = cycles(graph)
    print(describe(graph, found))
    assert not found, f"{len(found)} import cycle(s):\n{describe(graph, found)}"


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path, monkeypatch):
    package = tmp_path / "cycle_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cycle_probe import b\n")
    (package / "b.py").write_text("def later():\n    from cycle_probe.c import value\n    return value\n")
    (package / "c.py").write_text("import cycle_probe.a\n\nvalue = 1\n")
    (package / "d.py").write_text("from cycle_probe import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    graph = grimp.build_graph("cycle_probe", cache_dir=None)

    assert cycles(graph) == [("cycle_probe.a", "cycle_probe.b", "cycle_probe.c", "cycle_probe.a")]
    assert "cycle_probe.b:2: from cycle_probe.c import value" in describe(graph, cycles(graph))
