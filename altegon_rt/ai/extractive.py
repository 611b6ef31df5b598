"""The embedded summariser: extractive, deterministic, no network and no model.

Sentences are scored by the frequency of their content words across the whole transcript (stopwords
removed, normalised by the square root of the sentence length so long sentences do not win by length
alone); ties go to the earlier sentence. From that:

- highlights: the top sentences (3-6), in transcript order; chapters: fixed time windows (at least five
  minutes, at most six chapters) stamped ``MM:SS`` from the first line, titled by their top words;
- decisions, actions and questions by cue phrases ("we decided", "I will", a "?" answered by the next
  speaker); ambiguities: sentences with "maybe", "not sure", "unclear" and the like;
- participants: distinct speakers in order of appearance, the meeting's host marked "Host";
- keywords and topics: the most frequent content words and repeated word pairs.

Same input, same output: every ordering has an explicit tie-break.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from altegon_rt.ai.notes import NOT_SPECIFIED, UNASSIGNED, Line, mmss

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_STOPWORDS_TEXT = """a about above after again against all also am an and any are aren't as at be because
    been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
    each few for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    just let's like me more most mustn't my myself no nor not now of off ok okay on once only or other ought our
    ours ourselves out over own really right same shan't she she'd she'll she's should shouldn't so some such
    than that that's the their theirs them themselves then there there's these they they'd they'll they're
    they've this those through to too under until up us very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's will with won't would wouldn't
    yeah yes you you'd you'll you're you've your yours yourself yourselves um uh hmm oh well think going want
    know one two thing things gonna mean sure maybe done next another enough good great"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
DECISION = re.compile(r"\b(we (have |had )?decided|decided to|we agreed|agreed (to|on|that)|decision is|let's go with"
                      r"|we will go with|we'll go with|final decision)\b", re.IGNORECASE)  # fmt: skip
ACTION = re.compile(r"\b(i will|i'll|we will|we'll|you will|you'll|will take care|action item|to-?do|"
                    r"is going to|am going to|needs? to|assign(ed)? to)\b", re.IGNORECASE)  # fmt: skip
DUE = re.compile(r"\b(?:by|before|until|on) ((?:next |this )?(?:monday|tuesday|wednesday|thursday|friday|saturday|"
                 r"sunday|week|month|tomorrow|tonight)|end of (?:the )?(?:day|week|month|quarter)|"
                 r"\d{1,2}(?:st|nd|rd|th)?(?: of)? [a-z]+)\b", re.IGNORECASE)  # fmt: skip
AMBIGUOUS = re.compile(r"\b(maybe|not sure|unclear|perhaps|might|tbd|to be decided|i guess|no idea)\b", re.IGNORECASE)
CHAPTER_MIN_S = 300.0
MAX_CHAPTERS = 6


def words(text: str) -> list[str]:
    """Content words of ``text``, lower-cased, stopwords and one- and two-letter words removed."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 2 and w not in STOPWORDS]


def _sentences(lines: Sequence[Line]) -> list[tuple[int, str]]:
    """(line index, sentence) for every non-empty sentence of the transcript."""
    out = []
    for index, line in enumerate(lines):
        for part in _SENTENCE_END.split(line.text.strip()):
            part = " ".join(part.split())
            if part:
                out.append((index, part))
    return out


class _Analysis:
    """Term frequencies and sentence scores of one transcript."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = lines
        self.sentences = _sentences(lines)
        self.terms = [words(s) for _, s in self.sentences]
        self.freq: Counter[str] = Counter(w for terms in self.terms for w in terms)
        self.scores = [self._score(terms) for terms in self.terms]

    def _score(self, terms: list[str]) -> float:
        if not terms:
            return 0.0
        return sum(self.freq[t] for t in set(terms)) / math.sqrt(len(terms))

    def top(self, indexes: Sequence[int], count: int) -> list[int]:
        """The ``count`` best sentence indexes among ``indexes``, back in transcript order."""
        return sorted(heapq.nsmallest(count, indexes, key=lambda i: (-self.scores[i], i)))

    def keywords(self, count: int, indexes: Sequence[int] | None = None) -> list[str]:
        freq = self.freq if indexes is None else Counter(w for i in indexes for w in self.terms[i])
        return [w for w, _ in heapq.nsmallest(count, freq.items(), key=lambda kv: (-kv[1], kv[0]))]

    def said(self, i: int) -> str:
        return self.sentences[i][1]

    def speaker(self, i: int) -> str:
        return self.lines[self.sentences[i][0]].speaker


def _topics(analysis: _Analysis) -> list[str]:
    pairs: Counter[str] = Counter()
    for terms in analysis.terms:
        pairs.update(f"{a} {b}" for a, b in itertools.pairwise(terms) if a != b)
    repeated = [p for p, n in heapq.nsmallest(5, pairs.items(), key=lambda kv: (-kv[1], kv[0])) if n >= 2]
    topics = [p.capitalize() for p in repeated]
    for word in analysis.keywords(8):
        if len(topics) >= 5:
            break
        if not any(word in t.lower().split() for t in topics):
            topics.append(word.capitalize())
    return topics


def _chapters(analysis: _Analysis) -> list[dict[str, Any]]:
    lines = analysis.lines
    span = max(line.offset_s for line in lines)
    window = max(CHAPTER_MIN_S, math.ceil(span / MAX_CHAPTERS))
    groups: dict[int, list[int]] = {}
    for i, (line_index, _) in enumerate(analysis.sentences):
        groups.setdefault(min(int(lines[line_index].offset_s // window), MAX_CHAPTERS - 1), []).append(i)
    chapters = []
    for members in groups.values():
        start = lines[analysis.sentences[members[0]][0]].offset_s
        title = ", ".join(w.capitalize() for w in analysis.keywords(3, members)) or "Discussion"
        bullets = [analysis.said(i) for i in analysis.top(members, 3)]
        chapters.append({"timestamp": mmss(start), "title": title, "bullets": bullets})
    return chapters


def _assignee(analysis: _Analysis, i: int, names: list[str]) -> str:
    sentence = analysis.said(i)
    if re.match(r"\s*(i will|i'll|i am going to|i'm going to)\b", sentence, re.IGNORECASE):
        return analysis.speaker(i)
    lowered = sentence.lower()
    for name in names:
        first = name.split()[0].lower() if name.split() else ""
        if first and re.search(rf"\b{re.escape(first)}\b", lowered):
            return name
    return UNASSIGNED


def _actions(analysis: _Analysis, names: list[str]) -> list[dict[str, str]]:
    out = []
    firsts = sorted({re.escape(n.split()[0]) for n in names if n.split()})
    named = re.compile(rf"\s*({'|'.join(firsts)}) will\b", re.IGNORECASE) if firsts else None
    for i, (_, sentence) in enumerate(analysis.sentences):
        if sentence.endswith("?") or not (ACTION.search(sentence) or (named and named.match(sentence))):
            continue
        due = DUE.search(sentence)
        out.append({"action": sentence, "assignee": _assignee(analysis, i, names),
                    "due_date": due.group(1) if due else NOT_SPECIFIED})  # fmt: skip
    return out[:20]


def _qna(analysis: _Analysis) -> list[dict[str, str]]:
    out = []
    sentences = analysis.sentences
    for i, (line_index, sentence) in enumerate(sentences):
        if not sentence.endswith("?"):
            continue
        answer = NOT_SPECIFIED
        asker = analysis.lines[line_index].speaker
        for j in range(i + 1, min(i + 6, len(sentences))):
            other = analysis.speaker(j)
            if other != asker and not sentences[j][1].endswith("?"):
                answer = f"{sentences[j][1]} ({other})"
                break
        out.append({"question": sentence, "answer": answer})
    return out[:20]


def _participants(lines: Sequence[Line]) -> list[dict[str, str]]:
    seen: dict[str, bool] = {}
    for line in lines:
        seen[line.speaker] = seen.get(line.speaker, False) or line.is_host
    return [{"name": name, "role": "Host" if host else "Participant"} for name, host in seen.items()]


def summary_paragraph(analysis: _Analysis, names: list[str], count: int = 3) -> str:
    if not analysis.sentences:
        return ""
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    topics = ", ".join(analysis.keywords(3))
    lead = f"{who} discussed {topics}." if topics else f"{who} spoke."
    best = " ".join(analysis.said(i) for i in analysis.top(range(len(analysis.sentences)), count))
    return f"{lead} {best}".strip()


def meeting_notes(lines: Sequence[Line]) -> dict[str, Any]:
    """The Meeting Notes JSON for ``lines`` (oldest first), deterministically."""
    analysis = _Analysis(lines)
    participants = _participants(lines)
    names = [p["name"] for p in participants]
    every = range(len(analysis.sentences))
    keywords = analysis.keywords(8)
    decisions = [f"{analysis.said(i)} ({analysis.speaker(i)})" for i in every if DECISION.search(analysis.said(i))]
    ambiguities = [f"{analysis.speaker(i)}: {analysis.said(i)}" for i in every if AMBIGUOUS.search(analysis.said(i))]
    return {
        "title": " / ".join(w.capitalize() for w in keywords[:3]) or "Meeting",
        "summary": summary_paragraph(analysis, names),
        "highlights": [analysis.said(i) for i in analysis.top(every, min(6, max(3, len(analysis.sentences) // 10)))],
        "chapters": _chapters(analysis) if lines else [],
        "decisions": decisions[:20],
        "actions": _actions(analysis, names),
        "qna": _qna(analysis),
        "participants": participants,
        "topics": _topics(analysis),
        "keywords": keywords,
        "ambiguities": ambiguities[:20],
    }


def chat_summary(lines: Sequence[Line]) -> str:
    """One paragraph: who took part, about what, and the most representative sentences."""
    analysis = _Analysis(lines)
    return summary_paragraph(analysis, [p["name"] for p in _participants(lines)])
