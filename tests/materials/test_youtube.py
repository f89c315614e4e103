"""YouTube links and captions (materials/pipeline/youtube.py).

YouTube is never called: the `responses` library answers at the HTTP boundary
with the responses YouTube really served, recorded by youtube-transcript-api's
own test suite and kept in ../shared/corpus/youtube. Tests that need them skip
when that folder is absent (a fresh clone has no shared/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import youtube_transcript_api as yta
from responses import matchers

from materials.errors import ProcessingError
from materials.links import canonical_url, watch_url
from materials.pipeline.youtube import (
    ERROR_TABLE,
    REQUEST_TIMEOUT,
    classify_error,
    fetch_transcript,
    parse_video_id,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT_ROOT / ".." / "shared" / "corpus" / "youtube"

PLAYER_URL = "https://www.youtube.com/youtubei/v1/player"
WATCH_URL = "https://www.youtube.com/watch"
TIMEDTEXT_URL = "https://www.youtube.com/api/timedtext"

VIDEO_ID = "GJLlxj_dtq8"  # the video of the recorded happy-path responses
HTML = "text/html; charset=utf-8"


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


def _player_json(corpus: Path, name: str = "youtube.innertube.json.static") -> dict[str, Any]:
    return json.loads((corpus / name).read_bytes())


def _serve_player(rsps: responses.RequestsMock, data: dict[str, Any]) -> None:
    rsps.replace(responses.POST, PLAYER_URL, json=data)


def _caption_request(rsps: responses.RequestsMock) -> dict[str, list[str]]:
    """Query of the captions request that was made, to see which track was picked."""
    urls = [call.request.url for call in rsps.calls if call.request.url.startswith(TIMEDTEXT_URL)]
    assert len(urls) == 1
    return parse_qs(urlsplit(urls[0]).query)


# --------------------------------------------------------------------------
# Links
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=GJLlxj_dtq8",
        "https://www.youtube.com/watch?v=GJLlxj_dtq8&t=42s",
        "https://www.youtube.com/watch?v=GJLlxj_dtq8&list=PLx0sYbCqOb8TBPRdm&index=2",
        "https://www.youtube.com/watch?v=GJLlxj_dtq8&feature=youtu.be",
        "https://www.youtube.com/watch?feature=share&v=GJLlxj_dtq8",
        "https://www.youtube.com/watch?v=GJLlxj_dtq8#t=30",
        "http://youtube.com/watch?v=GJLlxj_dtq8",
        "https://m.youtube.com/watch?v=GJLlxj_dtq8",
        "https://music.youtube.com/watch?v=GJLlxj_dtq8&feature=share",
        "https://www.youtube-nocookie.com/embed/GJLlxj_dtq8",
        "https://youtu.be/GJLlxj_dtq8",
        "https://youtu.be/GJLlxj_dtq8?t=10",
        "https://youtu.be/GJLlxj_dtq8?si=AbCdEfGh12345",
        "https://www.youtube.com/shorts/GJLlxj_dtq8",
        "https://youtube.com/shorts/GJLlxj_dtq8?feature=share",
        "https://www.youtube.com/embed/GJLlxj_dtq8?start=30",
        "https://www.youtube.com/live/GJLlxj_dtq8?si=xyz",
        "https://www.youtube.com/v/GJLlxj_dtq8?version=3",
        "https://www.youtube.com/e/GJLlxj_dtq8",
        "www.youtube.com/watch?v=GJLlxj_dtq8",
        "youtube.com/shorts/GJLlxj_dtq8",
        "youtu.be/GJLlxj_dtq8",
        "HTTPS://WWW.YOUTUBE.COM/watch?v=GJLlxj_dtq8",
        "https://YouTu.Be/GJLlxj_dtq8",
        "  https://youtu.be/GJLlxj_dtq8\n",
    ],
)
def test_parse_video_id_accepts_usual_link_form(url: str) -> None:
    assert parse_video_id(url) == VIDEO_ID


@pytest.mark.parametrize("video_id", ["dQw4w9WgXcQ", "a-b_c-d_e-f", "___________", "-----------"])
def test_parse_video_id_accepts_every_id_character(video_id: str) -> None:
    assert parse_video_id(f"https://youtu.be/{video_id}") == video_id


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "random text",
        "https://vimeo.com/123456789",
        "https://www.youtube.com/watch?v=GJLlxj_dtq",  # 10 characters
        "https://www.youtube.com/watch?v=GJLlxj_dtq8x",  # 12 characters
        "https://www.youtube.com/watch?v=GJLlxj+dtq8",  # a character ids never have
        "https://www.youtube.com/watch",
        "https://www.youtube.com/",
        "https://www.youtube.com/channel/UCBJycsmduvYEL83R_U4JriQ",
        "https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdm",
        "https://www.youtube.com/embed/videoseries?list=PLx0sYbCqOb8TBPRdm",
        "https://youtube.com.evil.example/watch?v=GJLlxj_dtq8",
        "https://youtube.com@evil.example/watch?v=GJLlxj_dtq8",
        "https://evil.example/youtu.be/GJLlxj_dtq8",
        "ftp://www.youtube.com/watch?v=GJLlxj_dtq8",
        "https://youtu.be/",
        "GJLlxj_dtq8",  # a bare id is not a link
    ],
)
def test_parse_video_id_rejects_non_video_link(url: str) -> None:
    with pytest.raises(ProcessingError) as caught:
        parse_video_id(url)
    assert caught.value.code == "yt_invalid_url"
    assert caught.value.permanent is True


def test_canonical_url_is_the_plain_watch_link() -> None:
    assert canonical_url(VIDEO_ID) == "https://www.youtube.com/watch?v=GJLlxj_dtq8"


def test_watch_url_floors_seconds() -> None:
    assert watch_url(VIDEO_ID, 42.9) == "https://www.youtube.com/watch?v=GJLlxj_dtq8&t=42s"


def test_watch_url_without_seconds_is_the_canonical_link() -> None:
    assert watch_url(VIDEO_ID, None) == canonical_url(VIDEO_ID)


# --------------------------------------------------------------------------
# Fetching captions: happy path
# --------------------------------------------------------------------------


def test_fetch_transcript_returns_recorded_segments(
    youtube: responses.RequestsMock,
) -> None:
    transcript = fetch_transcript(VIDEO_ID)

    assert transcript.video_id == VIDEO_ID
    assert transcript.segments == [
        (0.0, 1.54, "Hey, this is just a test"),
        (1.54, 5.7, "this is not the original transcript"),
        (5.7, 8.939, "just something shorter, I made up for testing"),
    ]


def test_fetch_transcript_reads_title_and_length_from_player_json(
    youtube: responses.RequestsMock,
) -> None:
    transcript = fetch_transcript(VIDEO_ID)

    # videoDetails of youtube.innertube.json.static
    assert transcript.title == "Surface Go Review - It\u2019s Awesome"
    assert transcript.duration_seconds == 316


def test_fetch_transcript_makes_no_request_beyond_the_librarys(
    youtube: responses.RequestsMock,
) -> None:
    fetch_transcript(VIDEO_ID)

    assert [(c.request.method, c.request.url.split("?")[0]) for c in youtube.calls] == [
        ("GET", WATCH_URL),
        ("POST", PLAYER_URL),
        ("GET", TIMEDTEXT_URL),
    ]


def test_fetch_transcript_falls_back_to_watch_page_for_title_and_length(
    youtube: responses.RequestsMock, corpus: Path
) -> None:
    player = _player_json(corpus)
    del player["videoDetails"]
    _serve_player(youtube, player)

    transcript = fetch_transcript(VIDEO_ID)

    # the page's <title>Surface Go Review - It\u2019s Awesome - YouTube</title>
    # and its first "lengthSeconds":"316"
    assert transcript.title == "Surface Go Review - It\u2019s Awesome"
    assert transcript.duration_seconds == 316


def test_fetch_transcript_falls_back_to_last_caption_end_without_metadata(
    youtube: responses.RequestsMock, corpus: Path
) -> None:
    player = _player_json(corpus)
    del player["videoDetails"]
    _serve_player(youtube, player)
    page = (corpus / "youtube.html.static").read_text(encoding="utf-8")
    page = re.sub(r"<title>.*?</title>", "", page, flags=re.DOTALL)
    page = re.sub(r'"lengthSeconds":"\d+"', "", page)
    youtube.replace(responses.GET, WATCH_URL, body=page.encode("utf-8"), content_type=HTML)

    transcript = fetch_transcript(VIDEO_ID)

    assert transcript.title == ""
    assert transcript.duration_seconds == 9  # last caption ends at 8.939 s


def test_fetch_transcript_leaves_callers_session_without_its_hook(
    youtube: responses.RequestsMock,
) -> None:
    session = requests.Session()

    transcript = fetch_transcript(VIDEO_ID, http_client=session)

    assert transcript.title == "Surface Go Review - It\u2019s Awesome"
    assert session.hooks["response"] == []


def test_fetch_transcript_sets_a_timeout_on_its_own_session(
    youtube: responses.RequestsMock, corpus: Path
) -> None:
    youtube.replace(
        responses.GET,
        WATCH_URL,
        body=(corpus / "youtube.html.static").read_bytes(),
        content_type=HTML,
        match=[matchers.request_kwargs_matcher({"timeout": REQUEST_TIMEOUT})],
    )

    assert fetch_transcript(VIDEO_ID).segments


def test_fetch_transcript_refuses_a_url_without_asking_youtube(
    youtube: responses.RequestsMock,
) -> None:
    with pytest.raises(ProcessingError) as caught:
        fetch_transcript("https://www.youtube.com/watch?v=GJLlxj_dtq8")

    assert caught.value.code == "yt_invalid_url"
    assert caught.value.permanent is True
    assert len(youtube.calls) == 0


# --------------------------------------------------------------------------
# Fetching captions: which track. The recorded player JSON has manually
# created zh, cs, en, de, hi, ja, ko, es, a generated (asr) en, and all are
# translatable to 18 languages including ru (but not, say, "xx").
# --------------------------------------------------------------------------


def test_ru_en_preference_picks_manual_english(youtube: responses.RequestsMock) -> None:
    transcript = fetch_transcript(VIDEO_ID, preferred=("ru", "en"))

    assert (transcript.language, transcript.is_generated) == ("en", False)
    query = _caption_request(youtube)
    assert query["lang"] == ["en"]
    assert "kind" not in query
    assert "tlang" not in query


def test_en_preference_picks_manual_english(youtube: responses.RequestsMock) -> None:
    transcript = fetch_transcript(VIDEO_ID, preferred=("en",))

    assert (transcript.language, transcript.is_generated) == ("en", False)
    assert "kind" not in _caption_request(youtube)


def test_preference_order_is_followed_among_manual_tracks(
    youtube: responses.RequestsMock,
) -> None:
    transcript = fetch_transcript(VIDEO_ID, preferred=("de", "en"))

    assert (transcript.language, transcript.is_generated) == ("de", False)
    assert _caption_request(youtube)["lang"] == ["de"]


def test_generated_track_is_preferred_over_a_translation(
    youtube: responses.RequestsMock, corpus: Path
) -> None:
    player = _player_json(corpus)
    renderer = player["captions"]["playerCaptionsTracklistRenderer"]
    renderer["captionTracks"] = [
        t for t in renderer["captionTracks"] if not (t["languageCode"] == "en" and "kind" not in t)
    ]
    _serve_player(youtube, player)

    transcript = fetch_transcript(VIDEO_ID, preferred=("ru", "en"))

    assert (transcript.language, transcript.is_generated) == ("en", True)
    query = _caption_request(youtube)
    assert (query["lang"], query["kind"]) == (["en"], ["asr"])
    assert "tlang" not in query


def test_translation_is_used_when_no_track_is_in_a_preferred_language(
    youtube: responses.RequestsMock,
) -> None:
    transcript = fetch_transcript(VIDEO_ID, preferred=("ru",))

    assert (transcript.language, transcript.is_generated) == ("ru", True)
    query = _caption_request(youtube)
    # Translated from the human track in the spoken language (that of the asr track).
    assert (query["lang"], query["tlang"]) == (["en"], ["ru"])
    assert "kind" not in query


def test_any_track_is_used_when_nothing_matches_or_translates(
    youtube: responses.RequestsMock,
) -> None:
    transcript = fetch_transcript(VIDEO_ID, preferred=("xx",))

    assert (transcript.language, transcript.is_generated) == ("en", False)
    assert "tlang" not in _caption_request(youtube)


def test_video_with_no_caption_tracks_is_permanent_no_transcript(
    youtube: responses.RequestsMock, corpus: Path
) -> None:
    player = _player_json(corpus)
    player["captions"]["playerCaptionsTracklistRenderer"]["captionTracks"] = []
    _serve_player(youtube, player)

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == ("yt_no_transcript", True)


# --------------------------------------------------------------------------
# Fetching captions: failures
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "asset", "code", "permanent"),
    [
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_transcripts_disabled.innertube.json.static",
            "yt_transcripts_disabled",
            True,
            id="transcripts_disabled",
        ),
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_transcripts_disabled2.innertube.json.static",
            "yt_transcripts_disabled",
            True,
            id="transcripts_disabled2",
        ),
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_video_unavailable.innertube.json.static",
            "yt_unavailable",
            True,
            id="video_unavailable",
        ),
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_unplayable.innertube.json.static",
            "yt_unavailable",
            True,
            id="unplayable",
        ),
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_age_restricted.innertube.json.static",
            "yt_age_restricted",
            True,
            id="age_restricted",
        ),
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_request_blocked.innertube.json.static",
            "yt_blocked",
            False,
            id="request_blocked",
        ),
        pytest.param(
            responses.POST,
            PLAYER_URL,
            "youtube_po_token_required.innertube.json.static",
            "yt_blocked",
            False,
            id="po_token_required",
        ),
        pytest.param(
            responses.GET,
            WATCH_URL,
            "youtube_too_many_requests.html.static",
            "yt_blocked",
            False,
            id="too_many_requests",
        ),
        pytest.param(
            responses.GET,
            WATCH_URL,
            "youtube_consent_page_invalid.html.static",
            "yt_blocked",
            False,
            id="consent_page_invalid",
        ),
        pytest.param(
            responses.GET,
            WATCH_URL,
            "youtube_consent_page.html.static",  # consent asked again after the cookie
            "yt_blocked",
            False,
            id="consent_page_repeated",
        ),
    ],
)
def test_recorded_error_response_maps_to_code_and_permanence(
    youtube: responses.RequestsMock,
    corpus: Path,
    method: str,
    url: str,
    asset: str,
    code: str,
    permanent: bool,
) -> None:
    content_type = "application/json" if url == PLAYER_URL else HTML
    youtube.replace(method, url, body=(corpus / asset).read_bytes(), content_type=content_type)

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == (code, permanent)


def test_error_detail_keeps_the_librarys_text_for_logs(
    youtube: responses.RequestsMock, corpus: Path
) -> None:
    youtube.replace(
        responses.POST,
        PLAYER_URL,
        body=(corpus / "youtube_transcripts_disabled.innertube.json.static").read_bytes(),
        content_type="application/json",
    )

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert caught.value.detail.startswith("TranscriptsDisabled: ")
    assert "Subtitles are disabled for this video" in caught.value.detail
    assert isinstance(caught.value.__cause__, yta.TranscriptsDisabled)


def test_http_500_from_player_is_a_retryable_failure(
    youtube: responses.RequestsMock,
) -> None:
    youtube.replace(responses.POST, PLAYER_URL, status=500)

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == ("yt_failed", False)


def test_http_429_on_captions_is_a_retryable_block(
    youtube: responses.RequestsMock,
) -> None:
    youtube.replace(responses.GET, TIMEDTEXT_URL, status=429)

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == ("yt_blocked", False)


def test_connection_error_is_a_retryable_failure(
    youtube: responses.RequestsMock,
) -> None:
    youtube.replace(responses.GET, WATCH_URL, body=requests.ConnectionError("connection reset"))

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == ("yt_failed", False)


def test_timeout_is_a_retryable_failure(youtube: responses.RequestsMock) -> None:
    youtube.replace(responses.POST, PLAYER_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == ("yt_failed", False)


def test_garbled_captions_xml_is_a_retryable_failure(
    youtube: responses.RequestsMock,
) -> None:
    youtube.replace(responses.GET, TIMEDTEXT_URL, body=b"<transcript><text start=", status=200)

    with pytest.raises(ProcessingError) as caught:
        fetch_transcript(VIDEO_ID)

    assert (caught.value.code, caught.value.permanent) == ("yt_failed", False)


def test_every_library_exception_has_a_row_in_the_table() -> None:
    exported = [getattr(yta, name) for name in yta.__all__]
    exceptions = [obj for obj in exported if isinstance(obj, type) and issubclass(obj, Exception)]

    assert exceptions  # the library still exports its exceptions
    assert [e.__name__ for e in exceptions if e not in ERROR_TABLE] == []


def test_subclass_row_wins_over_its_base_row() -> None:
    assert classify_error(yta.IpBlocked("x")) == ("yt_blocked", False)
    assert classify_error(yta.TranscriptsDisabled("x")) == (
        "yt_transcripts_disabled",
        True,
    )


def test_unknown_library_exception_falls_back_to_its_nearest_base() -> None:
    class FutureBlock(yta.RequestBlocked):
        pass

    class FutureFailure(yta.CouldNotRetrieveTranscript):
        pass

    assert classify_error(FutureBlock("x")) == ("yt_blocked", False)
    assert classify_error(FutureFailure("x")) == ("yt_failed", False)
    assert classify_error(KeyError("not ours")) is None
