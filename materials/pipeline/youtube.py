"""YouTube links, captions and uploaded subtitle files turned into timed text.

Kept free of Django models so the pipeline worker and the tests can use it on
its own; every failure leaves as a `ProcessingError` whose code the student
reads in their language, while the library's own text goes to `detail` for
logs and the admin.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import ParseError

import requests
import youtube_transcript_api as yta
from defusedxml import DefusedXmlException
from requests.adapters import HTTPAdapter
from webvtt import WebVTT
from webvtt.errors import MalformedCaptionError, MalformedFileError
from youtube_transcript_api import Transcript as _LibTranscript
from youtube_transcript_api import TranscriptList, YouTubeTranscriptApi

from materials.errors import ProcessingError

Segment = tuple[float, float, str]

# --------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------

_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_WATCH_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "music.youtube.com",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    }
)
_SHORT_HOSTS = frozenset({"youtu.be", "www.youtu.be"})
# /shorts/ID, /embed/ID, /live/ID, /v/ID, /e/ID
_ID_PATH_PREFIXES = frozenset({"shorts", "embed", "live", "v", "e"})
# Path words that happen to be 11 characters long but are not videos
# (/embed/videoseries?list=... embeds a playlist).
_NOT_VIDEO_IDS = frozenset({"videoseries"})


def _invalid_url(url: object) -> ProcessingError:
    """The one error for every link we cannot read a video id from."""
    return ProcessingError(
        "yt_invalid_url",
        permanent=True,
        detail=f"not a YouTube video link: {str(url)[:200]!r}",
    )


def parse_video_id(url: str) -> str:
    """Return the 11-character video id of any usual YouTube link.

    Students paste whatever their browser or app shows (watch, youtu.be,
    shorts, embed, live, mobile, music, without scheme), so all are accepted;
    anything else (another site, a playlist, a bare word) is refused up front
    rather than sent to YouTube.
    """
    if not isinstance(url, str):
        raise _invalid_url(url)
    raw = url.strip()
    if not raw:
        raise _invalid_url(url)
    if "://" not in raw:
        raw = "https://" + raw.lstrip("/")
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").rstrip(".")
    except ValueError as exc:  # e.g. a malformed IPv6 host or port
        raise _invalid_url(url) from exc
    if parts.scheme not in ("http", "https"):
        raise _invalid_url(url)

    segments = [s for s in parts.path.split("/") if s]
    candidate: str | None = None
    if host in _SHORT_HOSTS:
        if len(segments) == 1:
            candidate = segments[0]
    elif host in _WATCH_HOSTS:
        if len(segments) == 1 and segments[0].lower() == "watch":
            values = parse_qs(parts.query).get("v", [])
            candidate = values[0] if values else None
        elif len(segments) == 2 and segments[0].lower() in _ID_PATH_PREFIXES:
            candidate = segments[1]

    if candidate is not None and candidate not in _NOT_VIDEO_IDS and _VIDEO_ID.fullmatch(candidate):
        return candidate
    raise _invalid_url(url)


# --------------------------------------------------------------------------
# Text cleaning shared by YouTube captions and uploaded subtitles
# --------------------------------------------------------------------------

# ASS/SSA override blocks that some .srt exporters leave in: {\an8}, {\i1}. A block
# ends before the next "{": otherwise every unclosed "{\" reads the rest of the file.
_ASS_TAGS = re.compile(r"\{\\[^{}]*\}")
# Leftover markup, should a caption carry any after the parsers ran.
_HTML_TAGS = re.compile(r"</?[A-Za-z][^<>]*>")
# A segment that is nothing but sound cues: "[Music]", "[Музыка] [Аплодисменты]", "♪♪"
_CUE_ONLY = re.compile(r"(?:\[[^\[\]]*\]|[♪♫]|\s)+")


def _clean_text(text: str) -> str:
    """Plain, single-spaced text: tags and entities are noise for the AI."""
    text = _ASS_TAGS.sub("", text)
    text = _HTML_TAGS.sub("", text)
    text = html.unescape(text)
    return " ".join(text.split())


def _is_cue_only(text: str) -> bool:
    """Whether a whole segment is a sound cue, carrying no lecture words."""
    return bool(_CUE_ONLY.fullmatch(text))


# --------------------------------------------------------------------------
# Transcripts from YouTube
# --------------------------------------------------------------------------


@dataclass
class Transcript:
    """A video's captions as timed segments, with what the player told us about it."""

    video_id: str
    language: str
    is_generated: bool
    title: str
    duration_seconds: int | None
    segments: list[Segment] = field(default_factory=list)


# Library (and network) exception -> (error code, permanent). Looked up along
# the raised exception's MRO, so the most specific class always wins whatever
# the order here, and an exception class added to the library later falls
# back to its nearest listed base (CouldNotRetrieveTranscript, then
# YouTubeTranscriptApiException).
ERROR_TABLE: dict[type[BaseException], tuple[str, bool]] = {
    # The video itself rules captions out: retrying will not help.
    yta.TranscriptsDisabled: ("yt_transcripts_disabled", True),
    yta.NoTranscriptFound: ("yt_no_transcript", True),
    yta.NotTranslatable: ("yt_no_transcript", True),
    yta.TranslationLanguageNotAvailable: ("yt_no_transcript", True),
    yta.VideoUnavailable: ("yt_unavailable", True),
    yta.VideoUnplayable: ("yt_unavailable", True),
    yta.AgeRestricted: ("yt_age_restricted", True),
    yta.InvalidVideoId: ("yt_invalid_url", True),
    # YouTube refuses us for now: retry later.
    yta.IpBlocked: ("yt_blocked", False),
    yta.RequestBlocked: ("yt_blocked", False),
    yta.PoTokenRequired: ("yt_blocked", False),
    yta.FailedToCreateConsentCookie: ("yt_blocked", False),
    # Something failed on the way (HTTP 5xx, odd page): retry later.
    yta.YouTubeRequestFailed: ("yt_failed", False),
    yta.YouTubeDataUnparsable: ("yt_failed", False),
    yta.CouldNotRetrieveTranscript: ("yt_failed", False),
    # Cookie files are our configuration, not the video: retrying will not fix them.
    yta.CookiePathInvalid: ("yt_failed", True),
    yta.CookieInvalid: ("yt_failed", True),
    yta.CookieError: ("yt_failed", True),
    yta.YouTubeTranscriptApiException: ("yt_failed", False),
    # The network or a garbled answer, below the library.
    requests.Timeout: ("yt_failed", False),
    requests.ConnectionError: ("yt_failed", False),
    requests.RequestException: ("yt_failed", False),
    ParseError: ("yt_failed", False),
    DefusedXmlException: ("yt_failed", False),
}

_MAPPED_EXCEPTIONS: tuple[type[BaseException], ...] = tuple(ERROR_TABLE)


def classify_error(exc: BaseException) -> tuple[str, bool] | None:
    """(code, permanent) for an exception, or None when it is not ours to map.

    Walks the exception's MRO, so a subclass (IpBlocked) finds its own row
    before its base's (RequestBlocked, CouldNotRetrieveTranscript).
    """
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return None


def _to_processing_error(exc: BaseException) -> ProcessingError:
    """Wrap a library/network exception, keeping its text only for the logs."""
    mapped = classify_error(exc)
    code, permanent = mapped if mapped is not None else ("yt_failed", False)
    detail = f"{type(exc).__name__}: {str(exc).strip()}"
    return ProcessingError(code, permanent=permanent, detail=detail)


# Connect and read timeouts for the session we create: the library passes
# none, and a worker must not hang on a stalled socket.
REQUEST_TIMEOUT: tuple[float, float] = (10.0, 30.0)


class _TimeoutAdapter(HTTPAdapter):
    """An adapter that adds our timeout to requests that came without one."""

    def __init__(self, timeout: tuple[float, float], **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def _new_session() -> requests.Session:
    """A session with timeouts, used when the caller brings none."""
    session = requests.Session()
    adapter = _TimeoutAdapter(REQUEST_TIMEOUT)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _PageRecorder:
    """A `requests` response hook keeping the player JSON and the watch page.

    The library fetches both to find the captions but returns neither; they
    hold the title and length, so we read them from there instead of making
    more requests.
    """

    def __init__(self) -> None:
        self.player_response: requests.Response | None = None
        self.watch_response: requests.Response | None = None

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        path = urlsplit(response.url or "").path
        if path.endswith("/youtubei/v1/player"):
            self.player_response = response
        elif path == "/watch":
            self.watch_response = response  # the last one wins (consent retry)

    def player_details(self) -> dict[str, Any]:
        """`videoDetails` of the player JSON, or {} when absent or unreadable."""
        if self.player_response is None or not self.player_response.ok:
            return {}
        try:
            # Bytes, not .text: the charset header may be missing or wrong.
            data = json.loads(self.player_response.content)
        except ValueError:
            return {}
        details = data.get("videoDetails") if isinstance(data, dict) else None
        return details if isinstance(details, dict) else {}

    def watch_html(self) -> str:
        """The watch page as text ("" if none); YouTube always serves UTF-8."""
        if self.watch_response is None or not self.watch_response.ok:
            return ""
        return self.watch_response.content.decode("utf-8", errors="replace")


# A title holds no "<" (HTML escapes it): each unclosed "<title>" reads to the next tag only.
_HTML_TITLE = re.compile(r"<title[^<>]*>([^<]*)</title>", re.IGNORECASE)
_HTML_LENGTH = re.compile(r'"lengthSeconds"\s*:\s*"(\d+)"')


def _positive_int(value: object) -> int | None:
    """A length in seconds, or None for missing/zero (live streams report 0)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _title_and_duration(
    recorder: _PageRecorder, segments: Sequence[Segment]
) -> tuple[str, int | None]:
    """Title and length from the player JSON, else the watch page, else the captions."""
    details = recorder.player_details()
    title = str(details.get("title") or "").strip()
    duration = _positive_int(details.get("lengthSeconds"))

    if not title or duration is None:
        page = recorder.watch_html()
        if not title:
            match = _HTML_TITLE.search(page)
            if match:
                title = " ".join(html.unescape(match.group(1)).split())
                title = title.removesuffix(" - YouTube")
                if title == "YouTube":
                    title = ""
        if duration is None:
            match = _HTML_LENGTH.search(page)
            duration = _positive_int(match.group(1)) if match else None

    if duration is None and segments:
        duration = round(segments[-1][1])
    return title, duration


def _by_closeness_to_original(candidates: list[_LibTranscript]) -> list[_LibTranscript]:
    """Order fallbacks so the captions nearest the spoken words come first.

    YouTube generates captions in the language spoken, so a human transcript
    in that language goes first (translating it is one step, not two), then
    the other human ones, then the generated ones; the library's order
    otherwise stays.
    """
    spoken = {t.language_code for t in candidates if t.is_generated}

    def rank(transcript: _LibTranscript) -> int:
        if transcript.is_generated:
            return 2
        return 0 if transcript.language_code in spoken else 1

    return sorted(candidates, key=rank)


def _choose_transcript(
    transcripts: TranscriptList, video_id: str, preferred: Sequence[str]
) -> _LibTranscript:
    """Pick the most trustworthy captions we can read.

    Human captions beat YouTube's speech recognition, either beats a machine
    translation, and any captions at all beat none (the AI reads many
    languages; the student can still upload a file).
    """
    wanted = list(preferred)
    if wanted:
        for finder in (
            transcripts.find_manually_created_transcript,
            transcripts.find_generated_transcript,
        ):
            try:
                return finder(wanted)
            except yta.NoTranscriptFound:
                pass

    available = _by_closeness_to_original(list(transcripts))
    if not available:
        raise yta.NoTranscriptFound(video_id, wanted, transcripts)
    for language in wanted:
        for candidate in available:
            codes = {lang.language_code for lang in candidate.translation_languages}
            if language in codes:
                return candidate.translate(language)
    return available[0]


def _segments_from(snippets: Sequence[yta.FetchedTranscriptSnippet]) -> list[Segment]:
    """(start, end, text) with cleaned text; empty and cue-only snippets dropped."""
    segments: list[Segment] = []
    for snippet in snippets:
        text = _clean_text(snippet.text)
        if not text or _is_cue_only(text):
            continue
        start = float(snippet.start)
        segments.append((start, round(start + max(0.0, float(snippet.duration)), 3), text))
    return segments


def fetch_transcript(
    video_id: str,
    *,
    preferred: Sequence[str] = ("ru", "en"),
    http_client: requests.Session | None = None,
) -> Transcript:
    """Fetch a video's captions in the best language we can get.

    Order: a manually created transcript in a preferred language (in the
    order given), then a generated one, then any transcript translated to
    the first preferred language it can be translated to, then any at all
    (for the last two, a human transcript in the spoken language first).
    Raises `ProcessingError`: permanent when the video rules captions out,
    not permanent when YouTube or the network should be retried.
    """
    if not isinstance(video_id, str) or not _VIDEO_ID.fullmatch(video_id):
        raise ProcessingError(
            "yt_invalid_url",
            permanent=True,
            detail=f"not a video id: {str(video_id)[:200]!r}",
        )

    own_session = http_client is None
    session = _new_session() if http_client is None else http_client
    recorder = _PageRecorder()
    session.hooks.setdefault("response", []).append(recorder)
    try:
        api = YouTubeTranscriptApi(http_client=session)
        chosen = _choose_transcript(api.list(video_id), video_id, preferred)
        fetched = chosen.fetch()
    except _MAPPED_EXCEPTIONS as exc:
        raise _to_processing_error(exc) from exc
    finally:
        hooks = session.hooks.get("response", [])
        if recorder in hooks:
            hooks.remove(recorder)
        if own_session:
            session.close()

    segments = _segments_from(fetched.snippets)
    title, duration = _title_and_duration(recorder, segments)
    return Transcript(
        video_id=video_id,
        language=fetched.language_code,
        is_generated=fetched.is_generated,
        title=title,
        duration_seconds=duration,
        segments=segments,
    )


# --------------------------------------------------------------------------
# Uploaded subtitle files
# --------------------------------------------------------------------------

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024

# "00:00:01,000 -->": the comma marks SubRip (WebVTT only allows a dot). The indent
# stays on its line: "^\s*" would read every following blank line from each line start.
_SRT_TIMING = re.compile(r"^[^\S\n]*\d+:\d{1,2}:\d{1,2},\d+\s*-->", re.MULTILINE)
# How many recently emitted lines a rolling caption may repeat.
_ROLLING_HISTORY = 3


def _invalid_subtitles(detail: str) -> ProcessingError:
    """The one error for every upload we cannot read as subtitles."""
    return ProcessingError("subtitles_invalid", permanent=True, detail=detail)


def _decode_subtitles(data: bytes) -> str:
    """Text of an upload: BOMs honoured, else UTF-8, else Windows-1251.

    Russian subtitles made on Windows are often cp1251; UTF-8 is tried first
    because cp1251 would "decode" UTF-8 bytes into mojibake.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding, body = "utf-8", data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        encoding, body = "", data
    try:
        if encoding:
            return body.decode(encoding)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise _invalid_subtitles(f"undecodable text: {exc}") from exc


def _detect_format(text: str) -> str:
    """'vtt' or 'srt' from the content: upload names and extensions lie."""
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    if first.startswith("WEBVTT"):
        return "vtt"
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if (len(lines) > 1 and lines[0].isdigit() and "-->" in lines[1]) or _SRT_TIMING.search(text):
        return "srt"
    if "-->" in text:
        return "vtt-headerless"
    raise _invalid_subtitles("no cue timings (-->) found")


def _remove_rolling_repeats(
    cues: Sequence[tuple[float, float, list[str]]],
) -> list[Segment]:
    """Keep each line once, where it first appears.

    YouTube's auto-generated VTT shows two lines at a time: every cue repeats
    the line already shown above the new one, and 10 ms cues repeat it alone.
    Lines a cue starts with that end what we already emitted are dropped; a
    cue left with nothing new only stretches the previous segment.
    """
    segments: list[Segment] = []
    history: list[str] = []
    for start, end, lines in cues:
        for overlap in range(min(len(lines), len(history)), 0, -1):
            if lines[:overlap] == history[-overlap:]:
                lines = lines[overlap:]
                break
        if not lines:
            if segments:
                prev_start, prev_end, prev_text = segments[-1]
                segments[-1] = (prev_start, max(prev_end, end), prev_text)
            continue
        history = (history + lines)[-_ROLLING_HISTORY:]
        text = " ".join(lines)
        if not _is_cue_only(text):
            segments.append((start, end, text))
    return segments


def parse_subtitles(data: bytes, filename: str = "") -> list[Segment]:
    """Read an uploaded .srt or .vtt into (start, end, text) segments.

    The fallback when YouTube captions are off or blocked, so it accepts
    what people really upload: either format whatever the extension, BOM,
    CRLF, cp1251, styling tags and YouTube's rolling auto-captions.
    Raises ProcessingError("subtitles_invalid") for anything else.
    """
    name = f" ({filename[:100]})" if filename else ""
    if len(data) > MAX_SUBTITLE_BYTES:
        raise _invalid_subtitles(f"file larger than {MAX_SUBTITLE_BYTES} bytes{name}")
    text = _decode_subtitles(bytes(data))
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff\n \t")
    if "\x00" in text:
        raise _invalid_subtitles(f"binary data, not subtitles{name}")

    fmt = _detect_format(text)
    try:
        if fmt == "srt":
            captions = WebVTT.from_buffer([text], format="srt").captions
        else:
            if fmt == "vtt-headerless":
                text = "WEBVTT\n\n" + text
            captions = WebVTT.from_buffer([text], format="vtt").captions
    except (MalformedFileError, MalformedCaptionError, ValueError) as exc:
        raise _invalid_subtitles(f"{type(exc).__name__}: {exc}{name}") from exc

    cues: list[tuple[float, float, list[str]]] = []
    for caption in captions:
        lines = [_clean_text(line) for line in caption.text.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        start = caption.start_time.in_milliseconds() / 1000
        end = max(start, caption.end_time.in_milliseconds() / 1000)
        cues.append((start, end, lines))

    segments = _remove_rolling_repeats(cues)
    if not segments:
        raise _invalid_subtitles(f"no caption text found{name}")
    return segments
