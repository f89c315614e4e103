"""The docs a newcomer reads first stay short, whole and linked.

The README opens with the two commands, stays short enough to read in
five minutes, and maps every package; every setting read from the
environment is documented; no link between the docs points nowhere.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
APPS = ("eduplatform", "accounts", "materials", "tutor", "courses")


def _folder_map() -> str:
    text = README.read_text()
    section = text.split("## Folder map", 1)[1]
    return section.split("```", 2)[1]


def test_readme_opens_with_the_two_commands_and_reads_in_five_minutes():
    text = README.read_text()
    first_block = text.split("```", 2)[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:]]

    assert [command for command in commands if command] == ["make run", "make test"]
    assert text.index("```") < text.index("\n## ")
    assert len(text.splitlines()) <= 200


def test_folder_map_names_every_app_and_every_package_of_materials():
    folder_map = _folder_map()
    packages = [path.parent.name for path in (ROOT / "materials").glob("*/__init__.py")]

    missing = [f"{app}/" for app in APPS if f"{app}/" not in folder_map]
    missing += [f"materials/{name}/" for name in packages if f"{name}/" not in folder_map]
    assert missing == []


def _settings_from_the_environment() -> set[str]:
    names = set(
        re.findall(
            r"env(?:\.\w+)?\(\s*\"([A-Z_]+)\"", (ROOT / "eduplatform/settings.py").read_text()
        )
    )
    for module in (ROOT / "eduplatform").glob("*.py"):
        names |= set(re.findall(r"os\.environ\.get\(\s*\"([A-Z_]+)\"", module.read_text()))
    return names


def test_every_setting_from_the_environment_is_documented():
    documented = (ROOT / "docs/configuration.md").read_text()
    names = _settings_from_the_environment()

    assert "OPENAI_API_KEY" in names
    assert sorted(name for name in names if f"`{name}`" not in documented) == []


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_docs_lead_somewhere():
    anchors = {
        doc: {_slug(heading) for heading in re.findall(r"^#+ (.*)$", doc.read_text(), re.M)}
        for doc in DOCS
    }
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)|src=\"([^\"]+)\"", doc.read_text()):
            link = target[0] or target[1]
            if link.startswith(("http://", "https://")):
                continue
            path, _, anchor = link.partition("#")
            resolved = (doc.parent / path).resolve() if path else doc
            if not resolved.exists() or (anchor and anchor not in anchors.get(resolved, set())):
                broken.append(f"{doc.relative_to(ROOT)}: {link}")
    assert broken == []
