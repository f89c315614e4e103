"""The layering of docs/architecture.md, held by reading the imports (nothing is run).

Every import counts, at the top of a module or inside a function, under
TYPE_CHECKING or not: a lazy import is still a dependency. Jobs are queued by
dotted path (eduplatform.queue.enqueue_on_commit), which is no import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "materials", "tutor", "courses")
PACKAGES = ("eduplatform", *APPS)
# eduplatform's configuration: it names the apps' views and routes. The rest of
# eduplatform is the shared layer under the apps.
CONFIGURATION = {"eduplatform.settings", "eduplatform.urls", "eduplatform.wsgi"}
# The parts of materials (its packages and top-level modules), from the top
# down: a part imports only parts on a lower line, never one above or beside
# it. A new part goes on a line here, or the test names it.
MATERIALS_LAYERS = (
    ("urls", "apps", "admin", "cron", "management", "templatetags", "migrations"),  # wiring
    ("views", "apis", "jobs", "signals"),  # pages, REST, RQ entry points, model signals
    ("dashboard",),  # the home page's figures
    ("ingest",),  # runs one material's stages in order
    ("study",),  # study content, reviews, quizzes, exports
    ("search", "services"),  # hybrid search; uploads, reprocess, queueing, the sweep
    ("pipeline",),  # extraction and passages
    ("index",),  # vectors and the multilingual index
    ("forms", "links", "progress", "selectors", "serializers"),  # what the layers above share
    ("text",),  # sentences, language, the one splitter and stemmer
    ("models",),
    ("errors",),
)
MAX_MODULE_LINES = 600

Imports = dict[str, dict[str, int]]  # module -> {imported module: line}


def _modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(root: Path, packages: tuple[str, ...]) -> Imports:
    """Each project module and the project modules it imports, with the first line of each."""
    modules = _modules(root, packages)

    def known(name: str) -> str | None:
        # "materials.models.Material" is the module materials.models.
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: Imports = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")[: None if is_package else -1]
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from materials.study import jobs` imports the module materials.study.jobs.
                names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            for name in names:
                target = known(name)
                if target and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def _cycles(graph: Imports) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return groups


def _describe(graph: Imports, group: list[str]) -> str:
    members = set(group)
    return "\n".join(
        f"  {module}:{line} imports {target}"
        for module in group
        for target, line in graph[module].items()
        if target in members
    )


def test_no_module_imports_itself_through_others():
    graph = _imports(ROOT, PACKAGES)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n\n".join(_describe(graph, c) for c in cycles)


def test_shared_layer_imports_no_app():
    graph = _imports(ROOT, PACKAGES)
    offending = [
        f"{module}:{line} imports {target}"
        for module, edges in graph.items()
        if module.split(".")[0] == "eduplatform" and module not in CONFIGURATION
        for target, line in edges.items()
        if target.split(".")[0] in APPS
    ]
    assert not offending, "eduplatform's shared modules import apps:\n" + "\n".join(offending)


def _part(module: str) -> str | None:
    """materials.study.views -> "study"; None outside materials and for the package itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "materials" and len(parts) > 1 else None


def _upward_imports(graph: Imports) -> list[str]:
    level = {part: depth for depth, line in enumerate(MATERIALS_LAYERS) for part in line}
    return [
        f"{module}:{line} imports {target} ({_part(module)} may not use {_part(target)})"
        for module, edges in graph.items()
        if _part(module) in level
        for target, line in edges.items()
        if _part(target) in level
        and _part(target) != _part(module)
        and level[_part(target)] <= level[_part(module)]
    ]


def test_every_part_of_materials_has_its_layer():
    graph = _imports(ROOT, PACKAGES)
    placed = {part for line in MATERIALS_LAYERS for part in line}
    parts = {_part(module) for module in graph} - {None}
    assert sorted(parts - placed) == [], "add these to MATERIALS_LAYERS"


def test_materials_parts_import_only_the_layers_below():
    upward = _upward_imports(_imports(ROOT, PACKAGES))
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_no_app_module_is_over_600_lines():
    too_long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in _modules(ROOT, PACKAGES).values()
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not too_long, "make these packages with a small public face:\n" + "\n".join(too_long)


def test_an_import_from_a_lower_layer_to_a_higher_one_is_named():
    graph = {
        "materials.text.words": {"materials.study.summary": 3},
        "materials.study.summary": {"materials.text.words": 5},
    }

    assert _upward_imports(graph) == [
        "materials.text.words:3 imports materials.study.summary (text may not use study)"
    ]


def test_a_lazy_import_inside_a_function_closes_a_cycle(tmp_path):
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "orders.py").write_text("from shop.billing import charge\n")
    (package / "billing.py").write_text("def charge():\n    from . import orders\n")

    graph = _imports(tmp_path, ("shop",))

    assert _cycles(graph) == [["shop.billing", "shop.orders"]]


def test_tests_and_bench_import_helpers_from_tests_support_only():
    """A helper a test needs lives in tests/support/, never in a conftest or a test module.

    So a test can move or go without breaking another, and bench/ builds its
    documents with the same makers the tests use.
    """
    offending = []
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                offending += [
                    f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                    for name in names
                    if name.split(".")[0] == "tests" and not name.startswith("tests.support")
                ]
    assert not offending, "import helpers from tests.support:\n" + "\n".join(offending)
