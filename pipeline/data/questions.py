"""Question writing for the generated QA set: clozes, cloze-to-question translation, docstring templates.

Every writer returns (question, answer_start, answer_text, kind) tuples whose answer is an exact span of
the passage it was written for, so a caller only adds ids and titles.

* Clozes follow the "unsupervised QA by cloze" recipe: one span of a prose sentence (a number, a
  capitalised name, or else a long content word) is replaced by a question word.
* Translation (Lewis et al. 2019, "identity/noisy cloze" -> rule-based questions) fronts the wh-word and
  inserts the auxiliary: "The queen lays 2,000 eggs a day." (answer 2,000) -> "How many eggs does the queen
  lay a day?". Subject answers are replaced in place; is/are/was/can/will/... invert; a main verb ending
  in -s/-ed gets does/did and a base form by suffix rules. Where no rule applies cleanly, the cloze stays.
* Docstring templates use the corpus's own structure ("Return ...", "Raises X if ...", "defaults to ...",
  "If True, ...", Args/Parameters entries) with the function name taken from the doc_id.
"""
from __future__ import annotations

import random
import re

# --------------------------------------------------------------------------- clozes

SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"^[A-Za-z][A-Za-z'-]*[,;:.]?$")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_NAME = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+){0,3}\b")
_CONTENT = re.compile(r"\b[a-z]{7,}\b")
MARKUP = re.compile(r"[`*_\[\]{}<>|=\\#@]|::|https?:")  # reST/Markdown/code left in docstrings
_STOP = {"because", "between", "through", "without", "however", "whether", "another", "therefore",
         "otherwise", "although", "instead", "usually", "already", "including", "possible"}


def is_prose(text: str, min_words: int, share: float = 0.8) -> bool:
    words = text.split()
    return len(words) >= min_words and sum(bool(_WORD.match(w)) for w in words) >= share * len(words)


def candidates(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, question word) answer spans in a sentence, best kinds first."""
    found = [(m.start(), m.end(), "when") for m in _YEAR.finditer(sentence)]
    found += [(m.start(), m.end(), "how many") for m in _NUMBER.finditer(sentence)
              if not _YEAR.fullmatch(m.group())]
    # Capitalised words at the very start of a sentence are just sentence case.
    found += [(m.start(), m.end(), "what") for m in _NAME.finditer(sentence) if m.start() > 0]
    if found:
        return found
    return [(m.start(), m.end(), "what") for m in _CONTENT.finditer(sentence) if m.group() not in _STOP]


def cloze(sentence: str, a: int, b: int, wh: str) -> str:
    question = (sentence[:a] + wh + sentence[b:]).rstrip(".").strip() + "?"
    return question[0].upper() + question[1:]


def passages(text: str, min_words: int = 40, max_words: int = 100) -> list[str]:
    """Prose passages of a document: paragraphs (blank-line separated, re-flowed) merged up to ~max_words."""
    out, cur = [], []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if not is_prose(para, 4):
            if len(" ".join(cur).split()) >= min_words:
                out.append(" ".join(cur))
            cur = []
            continue
        if cur and len(" ".join(cur + [para]).split()) > max_words:
            if len(" ".join(cur).split()) >= min_words:
                out.append(" ".join(cur))
            cur = []
        cur.append(para)
    if len(" ".join(cur).split()) >= min_words:
        out.append(" ".join(cur))
    return [p for p in out if len(p.split()) <= 2 * max_words]


# --------------------------------------------------------------------------- translation

AUX = {"is", "are", "was", "were", "can", "could", "will", "would", "may", "might", "must", "should",
       "shall", "has", "have", "had", "does", "do", "did"}
_NOT_VERB = {"is", "was", "has", "this", "its", "his", "hers", "us", "thus", "always", "sometimes", "perhaps",
             "series", "species", "news", "less", "unless", "across", "towards", "besides", "various",
             "famous", "previous", "red", "bed", "need", "speed", "seed", "feed", "hundred", "indeed", "bread"}
_DETERMINERS = {"the", "a", "an", "its", "their", "his", "her", "our", "this", "these", "those", "that", "of",
                "some", "many", "each", "every", "most", "all", "to", "and", "or", "in", "on", "at", "for",
                "with", "by", "from", "very", "more", "than", "as", "two", "three", "few", "several"}
_LOWER_START = {"the", "a", "an", "it", "this", "these", "those", "they", "each", "every", "some", "many",
                "most", "its", "their", "our", "we", "you", "he", "she", "there", "today", "one", "all", "both",
                "in", "on", "at", "after", "before", "during", "when", "later", "since", "by", "for", "from"}
_SUBORDINATE = {"if", "when", "to", "although", "while", "as", "for", "in", "since", "because", "unless", "after",
                "before", "note", "only", "once", "where", "whether", "any", "with", "by", "on", "at", "from", "then"}
_PREPS = {"of", "to", "in", "on", "at", "for", "with", "by", "from", "and", "or", "than", "as"}
_TIME_PREPS = {"in", "on", "during", "around", "circa"}
_KEEP_E = ("at", "iz", "is", "ov", "ur", "ud", "id", "iv", "uc", "ag", "ac", "ar", "ib", "ir", "in", "as", "ut")


def base_form(verb: str) -> str | None:
    """Base form of a regular -s/-ed verb ('lays' -> 'lay', 'created' -> 'create'); None if not one."""
    w = verb.lower()
    if w in _NOT_VERB or len(w) < 4 or not w.isalpha():
        return None
    if w.endswith("ied"):
        return w[:-3] + "y"
    if w.endswith("ed"):
        stem = w[:-2]
        if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
            return stem[:-1]  # stopped -> stop
        return stem + "e" if stem.endswith(_KEEP_E) else stem
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("shes", "ches", "sses", "xes", "zes", "oes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return None


def _lower_first(words: list[str]) -> list[str]:
    if words and words[0].lower() in _LOWER_START:
        words = [words[0].lower()] + words[1:]
    return words


def _find_verb(pre: list[str]) -> tuple[int, str] | None:
    """(index, kind) of the finite verb among the words before the answer: 'aux', 's' or 'ed'."""
    for i, w in enumerate(pre):
        low = w.lower().strip(",;:")
        if low != w.lower() or (i and not w.islower()) or i == 0:
            continue  # punctuation-attached words end a clause; the first word is the subject
        if low in AUX:
            return i, "aux"
        if pre[i - 1].lower() in _DETERMINERS:
            continue  # "the results" is a noun phrase, not a verb
        if low.endswith("ed") and base_form(low):
            return i, "ed"
        if low.endswith("s") and base_form(low):
            return i, "s"
    return None


_NEXT_OK = {"of", "in", "for", "to", "with", "on", "at", "by", "from", "and", "or", "that", "which", "who", "is", "are",
            "was", "were", "as", "into", "when", "if", "because", "before", "after", "during", "than"}


def _head_noun(pre: list[str], post: list[str]) -> bool:
    """A 'what' answer should be a whole noun phrase: after a determiner or verb, before a function word."""
    before_ok = bool(pre) and (pre[-1].lower() in _DETERMINERS | _PREPS | {"near", "into", "about", "under"}
                               or base_form(pre[-1]) is not None
                               or pre[-1].lower() in AUX)
    after_ok = not post or post[0].lower() in _NEXT_OK or not post[0][0].isalnum()
    return before_ok and after_ok


def translate(sentence: str, a: int, b: int, wh: str) -> str | None:
    """A wh-question for answer sentence[a:b], or None where the rules do not make a clean one."""
    pre, post = sentence[:a].split(), sentence[b:].rstrip(".").split()
    if (a and not sentence[a - 1].isspace()) or post[:1] in (["and"], ["or"]) \
            or any(w.endswith((",", ";", ":")) for w in pre[-1:]) or (post and post[0][0] in "'-"):
        return None  # inside a token, a list item, or a possessive: the question would keep half the phrase
    if wh == "how many":
        if not (post and post[0].isalpha() and post[0].islower()):
            return None  # no counted noun to front with "how many"
        wh, post = f"how many {post[0]}", post[1:]
    answer = sentence[a:b]
    if wh == "what" and (not _head_noun(pre, post) or (answer.islower() and answer.endswith(("ed", "ing", "ly")))):
        return None  # participles and adverbs make "What is this layout from ...?" questions
    if wh == "what" and pre and pre[-1].lower() in _DETERMINERS - _PREPS:
        pre = pre[:-1]  # "the" belongs to the answer's noun phrase
    found = _find_verb(pre)
    if found is None:  # the answer is the subject: "The queen lays eggs" -> "Who/What lays eggs?"
        if any(w.lower() not in _DETERMINERS for w in pre) or wh == "when" or not _find_verb(["x"] + post):
            return None
        words = [wh] + post
    else:
        v, kind = found
        subject, middle = _lower_first(pre[:v]), pre[v + 1:]
        imperative = subject and subject[0][0].isupper() and subject[0].lower() not in _LOWER_START \
            and not subject[0].endswith("s") and (len(subject) == 1 or subject[1].islower())
        if not subject or imperative or len(subject) > 6 or subject[0].lower() in _SUBORDINATE \
                or any(not w[-1].isalnum() for w in subject) \
                or any(w.lower() in AUX for w in middle + post):
            return None  # a leading clause, or a second finite verb: the rules would scramble the sentence
        if wh == "when" and middle and middle[-1].lower() in _TIME_PREPS:
            middle = middle[:-1]
        elif middle and middle[-1].lower() in {"about", "over", "nearly", "almost", "than", "up", "to"}:
            return None  # "more than 50" / "up to 2,000": the modifier belongs to the answer
        if kind == "aux":
            words = [wh, pre[v].lower()] + subject + middle + post
        else:
            words = [wh, "did" if kind == "ed" else "does"] + subject + [base_form(pre[v])] + middle + post
    question = " ".join(words).strip(" ,;") + "?"
    if len(words) < 3 or sentence[a:b] in question or " ," in question or not question.replace("?", "").strip():
        return None
    return question[0].upper() + question[1:]


def sentence_questions(passage: str, rng: random.Random, mode: str = "wh") -> list[tuple[int, str, int, str, str]]:
    """(sentence index, question, answer_start, answer, kind) - at most one per prose sentence."""
    out, pos = [], 0
    for si, sent in enumerate(SENT_END.split(passage)):
        offset = passage.index(sent, pos)
        pos = offset + len(sent)
        if not (6 <= len(sent.split()) <= 40) or not sent.endswith(".") or MARKUP.search(sent) \
                or not is_prose(sent, 6, 0.9):
            continue
        cands = candidates(sent)
        if not cands:
            continue
        a, b, wh = rng.choice(cands)
        q = translate(sent, a, b, wh) if mode == "wh" else None
        kind = "wh" if q else "cloze"
        out.append((si, q or cloze(sent, a, b, wh), offset + a, sent[a:b], kind))
    return out


# --------------------------------------------------------------------------- docstring templates

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Other Parameters|Returns?|Yields?|Raises|"
                      r"Notes?|Examples?|See Also|References|Attributes|Warnings?)\s*:?$")
_ENTRY_GOOGLE = re.compile(r"^\*{0,2}([A-Za-z_]\w*)\*{0,2} \(([^)]*)\):\s*(.*)$")
_ENTRY_NUMPY = re.compile(r"^([A-Za-z_]\w*) : (.+)$")
_DEFAULT_IN_TYPE = re.compile(r"defaults? to `?([^`,)]+)`?")
_RETURN_SENT = re.compile(r"(?:^|(?<=[.:] ))Returns? (?:an? |the )?")
_RAISES_SENT = re.compile(r"\bRaises? (?:an? )?`*([A-Z]\w*)`* (?:if|when) ")
_RAISED_SENT = re.compile(r"`*([A-Z]\w*(?:Error|Exception|Warning))`* is raised (?:if|when) ")
_SENTENCE_TAIL = re.compile(r"[^.]*?(?=\.(?:\s|$)|$)")
MAX_PASSAGE_CHARS = 1500
MAX_ANSWER_WORDS = 25


def doc_name(doc_id: str) -> str | None:
    """The function or class a docstring documents: 'matplotlib:table.py:set_fontsize:551' -> 'set_fontsize'."""
    parts = doc_id.split(":")
    return parts[2] if len(parts) >= 4 and re.fullmatch(r"[A-Za-z_]\w*", parts[2]) else None


def docstring_passage(text: str) -> str:
    """The docstring with stripped lines, cut at a line end near MAX_PASSAGE_CHARS (long ones exceed a window)."""
    lines = [ln.strip() for ln in text.strip().splitlines()]
    out, size = [], 0
    for ln in lines:
        if size + len(ln) > MAX_PASSAGE_CHARS and out:
            break
        out.append(ln)
        size += len(ln) + 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _tail(passage: str, start: int) -> tuple[int, str] | None:
    """(start, text) of the rest of the sentence from `start` (to the period or line end), if short enough."""
    line_end = passage.find("\n", start)
    seg = passage[start:line_end if line_end >= 0 else len(passage)]
    m = _SENTENCE_TAIL.match(seg)
    text = m.group().rstrip(" ,;:") if m else ""
    if not text or not 1 <= len(text.split()) <= MAX_ANSWER_WORDS:
        return None
    return start, text


def _entries(passage: str):
    """(section, name, type text, description start, description) for each Args/Parameters/Raises entry."""
    section, offset, lines = None, 0, passage.split("\n")
    for i, ln in enumerate(lines):
        start, offset = offset, offset + len(ln) + 1
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        head = _SECTION.match(ln)
        if head and (ln.endswith(":") or re.fullmatch(r"-{3,}", nxt)):
            section = head.group(1).lower()
            continue
        # A description is the next line, unless that starts a new entry or section.
        has_desc = bool(nxt) and not (_SECTION.match(nxt) or _ENTRY_GOOGLE.match(nxt) or _ENTRY_NUMPY.match(nxt))
        if section is None or re.fullmatch(r"-{3,}", ln):
            continue
        if section.startswith(("arg", "param", "keyword", "other")):
            m = _ENTRY_GOOGLE.match(ln) or _ENTRY_NUMPY.match(ln)
            if m and has_desc:
                yield "param", m.group(1), m.group(2), start + len(ln) + 1, nxt
        elif section == "raises":
            m = re.fullmatch(r"`*([A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Iteration))`*:?\s*(.*)", ln)
            if m and m.group(2):
                yield "raises", m.group(1), "", start + m.start(2), m.group(2)
            elif m and has_desc:
                yield "raises", m.group(1), "", start + len(ln) + 1, nxt
        elif section in ("returns", "return") and not _ENTRY_NUMPY.match(ln) and i and lines[i - 1] in ("-------", "Returns:", "Return:"):
            yield "returns", "", "", start, ln


def _param_question(name: str, param: str, desc: str) -> str:
    first = desc.split()[0].lower() if desc.split() else ""
    if first in ("whether", "if"):
        return f"What does the {param} argument of {name} control?"
    if first in ("the", "a", "an", "number", "list", "name", "path", "size", "optional"):
        return f"What is the {param} argument of {name}?"
    return f"What does the {param} argument of {name} do?"


def _entry_questions(name: str, passage: str) -> list[tuple[str, int, str, str]]:
    out = []
    for kind, ident, typ, dstart, desc in _entries(passage):
        if kind == "param":
            dm = _DEFAULT_IN_TYPE.search(typ)
            if dm:
                at = passage.rfind(dm.group(1), 0, dstart)
                out.append((f"What is the default of {ident} in {name}?", at, dm.group(1).strip(), "doc_default"))
            tail = _tail(passage, dstart)
            if tail:
                out.append((_param_question(name, ident, desc), *tail, "doc_param"))
            for m in re.finditer(r"(?:Defaults? to|[Dd]efault(?: is|:)) `*", desc):
                t = _tail(passage, dstart + m.end())
                if t:
                    out.append((f"What is the default of {ident} in {name}?", t[0], t[1].rstrip("`"), "doc_default"))
            for m in re.finditer(r"If (True|False),? ", desc):
                t = _tail(passage, dstart + m.end())
                if t:
                    out.append((f"What happens if {ident} of {name} is {m.group(1)}?", *t, "doc_if"))
        elif kind == "raises":
            t = _tail(passage, dstart + (len(m.group()) if (m := re.match(r"(?:Raised |raised )?(?:If|When|if|when) ", desc)) else 0))
            if t:
                out.append((f"When does {name} raise {ident}?", *t, "doc_raises"))
        elif kind == "returns":
            t = _tail(passage, dstart)
            if t:
                out.append((f"What does {name} return?", *t, "doc_returns"))
    return out


def docstring_questions(doc_id: str, passage: str) -> list[tuple[str, int, str, str]]:
    """(question, answer_start, answer, kind) from a docstring's own structure; [] for other documents."""
    name = doc_name(doc_id)
    if name is None or name.startswith("_"):
        return []
    out = []
    first = _tail(passage, 0)
    if first and _RETURN_SENT.match(passage):
        m = _RETURN_SENT.match(passage)
        t = _tail(passage, m.end())
        if t:
            out.append((f"What does {name} return?", *t, "doc_returns"))
    elif first and len(first[1].split()) >= 4 and not passage.startswith(("..", ">>>")):
        what = f"What is {name}?" if name[0].isupper() else f"What does {name} do?"
        out.append((what, *first, "doc_summary"))
    for m in _RETURN_SENT.finditer(passage):
        if m.start() > 0:
            t = _tail(passage, m.end())
            if t:
                out.append((f"What does {name} return?", *t, "doc_returns"))
    for m in list(_RAISES_SENT.finditer(passage)) + list(_RAISED_SENT.finditer(passage)):
        t = _tail(passage, m.end())
        if t:
            out.append((f"When does {name} raise {m.group(1)}?", *t, "doc_raises"))
    out += _entry_questions(name, passage)
    seen, kept = set(), []
    for q in out:  # one answer per question text; the first (most specific) wins
        if q[0] not in seen and q[1] >= 0 and passage[q[1]:q[1] + len(q[2])] == q[2] and q[2].strip() == q[2]:
            seen.add(q[0])
            kept.append(q)
    return kept
