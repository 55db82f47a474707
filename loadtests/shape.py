"""A realistic, deterministic data shape for seeding: who talks, how long, how much.

Same (scale, seed) -> same shape. Conversation lengths are heavy-tailed (log-normal, median 8
messages), owners follow a Zipf-like law (a few power users), and every scale has "anchor"
conversations of fixed lengths (~100, 10k, 100k+) so reads can be compared across lengths.
Turns alternate user/assistant, some conversations open with a system prompt, and assistants
sometimes call a tool (a tool message followed by another assistant message). Content sizes are
log-normal per role (user ~60 chars, assistant ~500, system ~300, tool ~800 median).
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
MESSAGE_STEP = timedelta(seconds=7)
# role -> (median characters, sigma of log size, cap)
CONTENT_SIZES: dict[str, tuple[int, float, int]] = {
    "user": (60, 1.0, 4_000),
    "assistant": (500, 0.9, 16_000),
    "system": (300, 0.6, 4_000),
    "tool": (800, 1.0, 16_000),
}
SYSTEM_OPENING = 0.15
TOOL_CALL = 0.05
LENGTH_MEDIAN = 8
LENGTH_SIGMA = 1.2
LENGTH_CAP = 5_000
_WORD_TEXT = (
    "the a to of and in is it you that for on with as are this be can your not or have "
    "message conversation history user assistant model answer question context token stream "
    "database index query latency schema table row order page turn reply prompt system tool "
    "result json value error retry cache plan scan sort limit offset key time zone"
)
_WORDS = _WORD_TEXT.split()


@dataclass(frozen=True)
class Scale:
    """How much data: users, ordinary conversations, and fixed-length anchor conversations."""

    name: str
    users: int
    conversations: int
    anchors: tuple[int, ...]

    @property
    def approx_messages(self) -> int:
        mean = LENGTH_MEDIAN * math.exp(LENGTH_SIGMA**2 / 2)
        return int(self.conversations * mean) + sum(self.anchors)


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("tiny", 20, 120, (100, 1_000, 4_000)),  # tests: seconds
        Scale("small", 500, 6_000, (100, 10_000, 100_000)),  # ~200k messages
        Scale("medium", 5_000, 36_000, (100, 10_000, 100_000, 300_000)),  # ~1M
        Scale("large", 50_000, 540_000, (100, 10_000, 100_000, 1_000_000)),  # ~10M
    )
}


def get_scale(name: str) -> Scale:
    """The named scale (tiny, small, medium, large)."""
    try:
        return SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; use one of {', '.join(SCALES)}") from None


@dataclass(frozen=True)
class ConversationPlan:
    """One conversation to seed: index, owner index, message count, start time, title."""

    index: int
    user: int
    length: int
    started_at: datetime
    title: str
    anchor: bool = False

    @property
    def last_at(self) -> datetime:
        return self.started_at + MESSAGE_STEP * max(self.length - 1, 0)


@dataclass(frozen=True)
class MessagePlan:
    """One message: 1-based position, role, content text, timestamp."""

    seq: int
    role: str
    content: str
    created_at: datetime


def corpus(size: int = 65_536, seed: int = 0) -> str:
    """Deterministic pseudo-prose (no quotes or backslashes) that content is cut from."""
    rnd = random.Random(seed)
    words: list[str] = []
    total = 0
    while total < size:
        w = rnd.choice(_WORDS)
        words.append(w)
        total += len(w) + 1
    return " ".join(words)[:size]


def conversations(scale: Scale, seed: int = 0) -> list[ConversationPlan]:
    """The scale's conversations: anchors first (each its own user's only one), then the rest."""
    rnd = random.Random(f"conversations-{seed}")
    span = timedelta(days=180)
    out: list[ConversationPlan] = []
    owners = scale.users - len(scale.anchors)  # anchor owners own nothing else
    for i, length in enumerate(scale.anchors):
        start = BASE_TIME - MESSAGE_STEP * length - timedelta(hours=i)
        out.append(ConversationPlan(i, owners + i, length, start, f"anchor {length}", True))
    for i in range(len(out), len(out) + scale.conversations):
        length = min(
            LENGTH_CAP, max(1, round(rnd.lognormvariate(math.log(LENGTH_MEDIAN), LENGTH_SIGMA)))
        )
        user = min(int(rnd.paretovariate(1.1)) - 1, owners - 1)
        user = user if rnd.random() < 0.3 else rnd.randrange(owners)
        start = BASE_TIME - span * rnd.random() - MESSAGE_STEP * length
        title = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(2, 6)))
        out.append(ConversationPlan(i, user, length, start, title))
    return out


def roles(length: int, rnd: random.Random) -> list[str]:
    """A plausible role sequence of exactly `length` messages."""
    out: list[str] = []
    if length > 2 and rnd.random() < SYSTEM_OPENING:
        out.append("system")
    while len(out) < length:
        out.append("user")
        if len(out) < length:
            out.append("assistant")
        if len(out) < length - 1 and rnd.random() < TOOL_CALL:
            out += ["tool", "assistant"]
    return out[:length]


class ContentMaker:
    """Cuts message texts of realistic sizes from the corpus, deterministically."""

    def __init__(self, seed: int = 0) -> None:
        self.text = corpus(seed=seed) * 2
        self.half = len(self.text) // 2

    def size(self, role: str, rnd: random.Random) -> int:
        median, sigma, cap = CONTENT_SIZES.get(role, CONTENT_SIZES["user"])
        return min(cap, max(1, int(rnd.lognormvariate(math.log(median), sigma))))

    def make(self, role: str, rnd: random.Random) -> str:
        n = self.size(role, rnd)
        start = rnd.randrange(self.half)
        if n <= self.half:
            return self.text[start : start + n]
        return (self.text * (n // len(self.text) + 1))[:n]


def messages(
    conv: ConversationPlan, seed: int = 0, maker: ContentMaker | None = None
) -> Iterator[MessagePlan]:
    """The conversation's messages, oldest first (seq 1..length)."""
    rnd = random.Random(f"messages-{seed}-{conv.index}")
    maker = maker or ContentMaker(seed)
    t = conv.started_at
    for seq, role in enumerate(roles(conv.length, rnd), start=1):
        yield MessagePlan(seq, role, maker.make(role, rnd), t)
        t += MESSAGE_STEP


def total_messages(plans: list[ConversationPlan]) -> int:
    """How many messages the plans hold."""
    return sum(p.length for p in plans)
