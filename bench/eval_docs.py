"""The documents `make eval` asks about, and where each comes from.

Two are the corpus books whose questions the ranking was tuned on
(../shared/corpus/pdf/books). The others are manuals from Debian's own
packages that no ranking change was ever tried on: fetched with
`apt-get download` at an exact package version, cached under
DATA_DIR/eval-docs, and checked by their SHA-256 so the question sets'
page numbers hold. A document that cannot be fetched is skipped, and said so.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS_BOOKS = ROOT.parent / "shared" / "corpus" / "pdf" / "books"


@dataclass(frozen=True)
class Document:
    key: str
    language: str  # "en" or "ru"
    sha256: str
    corpus_name: str = ""  # a file of ../shared/corpus/pdf/books
    package: str = ""  # a Debian package=version
    member: str = ""  # the file inside the package (.gz is unpacked)


DOCUMENTS = {
    doc.key: doc
    for doc in (
        Document(
            "R-data",
            "en",
            "",
            corpus_name="R-data.pdf",
        ),
        Document(
            "mpman-ru",
            "ru",
            "",
            corpus_name="mpman-ru.pdf",
        ),
        Document(
            "R-intro",
            "en",
            "337ccd0b490b1e66f7e783b45f4588d0599730b4206c0c051edfe1419c568c51",
            package="r-doc-pdf=4.2.2.20221110-2",
            member="./usr/share/R/doc/manual/R-intro.pdf",
        ),
        Document(
            "R-admin",
            "en",
            "50e256b5f873bbee4c8482df3754fa8654f02ef693409fe5e30b2f114e3efe9f",
            package="r-doc-pdf=4.2.2.20221110-2",
            member="./usr/share/R/doc/manual/R-admin.pdf",
        ),
        Document(
            "install.en",
            "en",
            "bf81d9e4142399afb730f1b93d0e761ed1c9992b52de3ca4c65336274a6c5bfb",
            package="installation-guide-amd64=20230508+deb12u1",
            member="./usr/share/doc/installation-guide-amd64/en/install.en.pdf.gz",
        ),
        Document(
            "install.ru",
            "ru",
            "5ba84da105c6e548e951c6e011557afa2fafdef07a16d3f43ca753e17e36e5d3",
            package="installation-guide-amd64=20230508+deb12u1",
            member="./usr/share/doc/installation-guide-amd64/ru/install.ru.pdf.gz",
        ),
        Document(
            "maint-guide.ru",
            "ru",
            "5e15ad39186549e49ee6dd1ce09873f0c90fc36e865410272b3f02ae358629ad",
            package="maint-guide-ru=1.2.53",
            member="./usr/share/doc/maint-guide-ru/maint-guide.ru.pdf",
        ),
        Document(
            "eskdx",
            "ru",
            "f1f45f554b9bc64e3f5f9fe7dba8c8f556b509e4881fb71017c41438d47debd3",
            package="texlive-lang-cyrillic=2022.20230122-1",
            member="./usr/share/doc/texlive-doc/latex/eskdx/manual/eskdx.pdf",
        ),
        Document(
            "lshortru",
            "ru",
            "01b7b54490843bd5e389c1ca41aaf89e2b2b6ddc2cc66308ed4b6b2816ef680d",
            package="texlive-lang-cyrillic=2022.20230122-1",
            member="./usr/share/doc/texlive-doc/latex/lshort-russian/lshortru.pdf",
        ),
        Document(
            "russ",
            "ru",
            "695867ffd57013070febd99b19f3c9aa7b301b2876a999bf1eaa69576594fb85",
            package="texlive-lang-cyrillic=2022.20230122-1",
            member="./usr/share/doc/texlive-doc/latex/russ/russ_doc.pdf",
        ),
        Document(
            "eskd",
            "ru",
            "bb59ecda97d1c60ed358ad0d04edf606c2d27900277c075027edd20d7f950013",
            package="texlive-lang-cyrillic=2022.20230122-1",
            member="./usr/share/doc/texlive-doc/latex/eskd/eskd.pdf",
        ),
        Document(
            "texlive-ru",
            "ru",
            "cb063b7975e2aca4f8f6803614a1e71d25bae433f1ab10ef404080f0897ddb69",
            package="texlive-lang-cyrillic=2022.20230122-1",
            member="./usr/share/doc/texlive-doc/texlive/texlive-ru/texlive-ru.pdf",
        ),
        Document(
            "debian-faq.ru",
            "ru",
            "51b8f0aa5b70c6ea7c70547489edf4297579d35cec9300cfe2e1aaa70d8efacb",
            package="debian-faq-ru=11.1",
            member="./usr/share/doc/debian/FAQ/debian-faq.ru.pdf.gz",
        ),
        Document(
            "packaging-guide.ru",
            "ru",
            "d13d07130b0741362744a98365ac52e7ad8a007e7b4a057c14c085aa75f61d6e",
            package="ubuntu-packaging-guide-pdf-ru=1.0.4",
            member="./usr/share/doc/ubuntu-packaging-guide-pdf-ru/ubuntu-packaging-guide.pdf.gz",
        ),
        Document(
            "debian-faq.en",
            "en",
            "ea67ca925863324d97a30b5c926aed95efc687c689aa16788c9bed54525c0b47",
            package="debian-faq=11.1",
            member="./usr/share/doc/debian/FAQ/debian-faq.en.pdf.gz",
        ),
    )
}


def _package_members(deb: Path) -> tarfile.TarFile:
    data = subprocess.run(
        ["dpkg-deb", "--fsys-tarfile", str(deb)],
        check=True,
        capture_output=True,
    ).stdout
    return tarfile.open(fileobj=io.BytesIO(data))


def _download(package: str, folder: Path) -> Path | None:
    name = package.split("=")[0]
    found = sorted(folder.glob(f"{name}_*.deb"))
    if found:
        return found[0]
    if shutil.which("apt-get") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["apt-get", "download", package],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
        debs = list(Path(tmp).glob("*.deb"))
        if done.returncode or not debs:
            return None
        target = folder / debs[0].name
        shutil.move(debs[0], target)
        return target


def document_path(doc: Document, cache: Path) -> tuple[Path | None, str]:
    """The document's PDF, or None and why it is missing."""
    if doc.corpus_name:
        path = CORPUS_BOOKS / doc.corpus_name
        return (path, "") if path.exists() else (None, "../shared/corpus is absent")
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{doc.key}.pdf"
    if not target.exists():
        deb = _download(doc.package, cache)
        if deb is None:
            return None, f"apt-get download {doc.package} failed"
        with _package_members(deb) as archive:
            member = archive.extractfile(doc.member)
            if member is None:
                return None, f"{doc.member} is not in {deb.name}"
            data = member.read()
        if doc.member.endswith(".gz"):
            data = gzip.decompress(data)
        target.write_bytes(data)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != doc.sha256:
        return None, f"{target.name} is not the file its questions were written on ({digest[:12]}…)"
    return target, ""
