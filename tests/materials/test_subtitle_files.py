"""Uploaded subtitle files (.srt, .vtt) read into timed text (materials/pipeline/youtube.py).

A YouTube lecture may come with a subtitle file of the student's own; these
tests hold what the parser makes of real-world files: encodings, tags,
rolling captions, sound cues, and what it refuses.
"""

from __future__ import annotations

import time

import pytest

from materials.errors import ProcessingError
from materials.pipeline.youtube import (
    _CUE_ONLY,
    MAX_SUBTITLE_BYTES,
    parse_subtitles,
)

SRT = """1
00:00:01,000 --> 00:00:03,500
Welcome to the <i>lecture</i>.

2
00:00:04,000 --> 00:00:06,250
{\\an8}Today: graphs &amp; trees,
<font color="#ffffff">two lines</font>

"""

VTT = """WEBVTT
Kind: captions
Language: en

NOTE made by hand

intro
00:00:01.000 --> 00:00:03.500 line:0 align:start
<v Lecturer>Welcome to the <b>lecture</b>.</v>

00:04.000 --> 00:06.250
<c.colorE5E5E5>Today:</c> graphs &amp; trees
"""

EXPECTED = [
    (1.0, 3.5, "Welcome to the lecture."),
    (4.0, 6.25, "Today: graphs & trees, two lines"),
]

# What YouTube's auto-captions look like as .vtt: two lines on screen, each
# cue repeating the line above, plus 10 ms cues repeating it alone.
# ("\x20" lines are YouTube's blank upper line: a space, so not a cue end.)
ROLLING_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.030 --> 00:00:02.750 align:start position:0%
\x20
welcome<00:00:00.480><c> to</c><00:00:00.780><c> the</c><00:00:01.050><c> lecture</c>

00:00:02.750 --> 00:00:02.760 align:start position:0%
welcome to the lecture
\x20

00:00:02.760 --> 00:00:05.120 align:start position:0%
welcome to the lecture
today<00:00:03.300><c> we</c><00:00:03.600><c> study</c><00:00:04.000><c> graphs</c>

00:00:05.120 --> 00:00:05.130 align:start position:0%
today we study graphs
\x20

00:00:05.130 --> 00:00:07.000 align:start position:0%
today we study graphs
[Music]

00:00:07.000 --> 00:00:09.000 align:start position:0%
[Music]
and<00:00:07.500><c> trees</c>
"""


def test_parse_srt_returns_timed_text() -> None:
    segments = parse_subtitles(
        b"1\n00:00:01,000 --> 00:00:03,500\nWelcome.\n\n2\n00:01:04,000 --> 00:01:06,250\nBye.\n"
    )

    assert segments == [(1.0, 3.5, "Welcome."), (64.0, 66.25, "Bye.")]


def test_parse_srt_strips_tags_entities_and_position_codes() -> None:
    assert parse_subtitles(SRT.encode(), "lecture.srt") == EXPECTED


def test_parse_srt_with_bom_and_crlf() -> None:
    data = b"\xef\xbb\xbf" + SRT.replace("\n", "\r\n").encode()

    assert parse_subtitles(data, "lecture.srt") == EXPECTED


def test_parse_russian_srt_in_cp1251() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:03,500\nДобро пожаловать на лекцию.\n\n"
        "2\n00:00:04,000 --> 00:00:06,000\nСегодня — графы и деревья.\n"
    )

    segments = parse_subtitles(text.encode("cp1251"), "лекция.srt")

    assert segments == [
        (1.0, 3.5, "Добро пожаловать на лекцию."),
        (4.0, 6.0, "Сегодня — графы и деревья."),
    ]


def test_parse_russian_srt_in_utf8_is_not_taken_for_cp1251() -> None:
    text = "1\n00:00:01,000 --> 00:00:02,000\nПривет, студенты!\n"

    assert parse_subtitles(text.encode("utf-8")) == [(1.0, 2.0, "Привет, студенты!")]


def test_parse_vtt_strips_voice_class_and_style_tags() -> None:
    assert parse_subtitles(VTT.encode(), "lecture.vtt") == [
        (1.0, 3.5, "Welcome to the lecture."),
        (4.0, 6.25, "Today: graphs & trees"),
    ]


def test_parse_youtube_rolling_vtt_keeps_each_line_once() -> None:
    assert parse_subtitles(ROLLING_VTT.encode(), "auto.en.vtt") == [
        (0.03, 2.76, "welcome to the lecture"),
        (2.76, 5.13, "today we study graphs"),
        (7.0, 9.0, "and trees"),
    ]


def test_parse_subtitles_drops_segments_that_are_only_sound_cues() -> None:
    data = (
        "1\n00:00:01,000 --> 00:00:02,000\n[Музыка]\n\n"
        "2\n00:00:02,000 --> 00:00:03,000\n♪♪\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\n[Music] So, let us start.\n"
    ).encode()

    assert parse_subtitles(data) == [(3.0, 4.0, "[Music] So, let us start.")]


def test_a_cue_of_many_notes_and_a_letter_is_read_in_linear_time() -> None:
    """Nested repeats ("[♪♫]+" inside "(...)+") doubled the time per note: 40 notes
    and a letter would hold the worker for days. Each note is now one step."""

    notes = "♪" * 40 + "a"
    data = f"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{notes}\n".encode()
    started = time.perf_counter()
    assert parse_subtitles(data, "cue.vtt") == [(1.0, 2.0, notes)]
    long_cue = "[" + "♪" * 50_000 + "]" + "♪ " * 25_000 + "x"
    assert not _CUE_ONLY.fullmatch(long_cue)
    assert time.perf_counter() - started < 0.1


def test_parse_subtitles_detects_srt_by_content_whatever_the_extension() -> None:
    assert parse_subtitles(SRT.encode(), "lecture.vtt") == EXPECTED


def test_parse_subtitles_detects_vtt_by_content_whatever_the_extension() -> None:
    assert parse_subtitles(VTT.encode(), "lecture.srt")[0] == (
        1.0,
        3.5,
        "Welcome to the lecture.",
    )


def test_parse_vtt_without_its_header() -> None:
    data = b"00:00:01.000 --> 00:00:02.000\nNo header here.\n"

    assert parse_subtitles(data, "lecture.vtt") == [(1.0, 2.0, "No header here.")]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \r\n\n", id="blank"),
        pytest.param(b"This is a lecture summary, not subtitles.", id="plain_text"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", id="binary"),
        pytest.param(b"WEBVTT\n\nNOTE nothing else\n", id="vtt_without_cues"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\n\n", id="srt_without_text"),
        pytest.param(b"1\nabc --> def\nHello\n", id="broken_timings"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\n\x98\x98\n", id="undecodable_bytes"),
    ],
)
def test_parse_subtitles_rejects_unreadable_input(data: bytes) -> None:
    with pytest.raises(ProcessingError) as caught:
        parse_subtitles(data, "upload.srt")

    assert (caught.value.code, caught.value.permanent) == ("subtitles_invalid", True)


def test_parse_subtitles_rejects_files_over_5_mb() -> None:
    cue = b"1\n00:00:01,000 --> 00:00:02,000\nHello.\n\n"
    data = cue * (MAX_SUBTITLE_BYTES // len(cue) + 1)
    assert len(data) > MAX_SUBTITLE_BYTES

    with pytest.raises(ProcessingError) as caught:
        parse_subtitles(data, "huge.srt")

    assert caught.value.code == "subtitles_invalid"
