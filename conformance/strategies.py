"""Hypothesis strategies for chat data that fits a Design: users, conversations, turns.

Text is any Unicode the database can store (emoji included; never NUL, never lone surrogates),
from empty to the column's length limit. Roles come only from the allowed set.
"""

from dataclasses import dataclass

from hypothesis import strategies as st

from conformance.access import NewMessage
from conformance.design import Design
from conformance.shape import DEFAULT_ROLES

LONG_TEXT = 5_000  # the "very long" size for unlimited text columns
EMOJI = "😀🙂🚀👩‍💻🇫🇷🧪"


def characters() -> st.SearchStrategy[str]:
    """Any storable character: no NUL, no surrogates."""
    return st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")


def text_for(limit: int | None, *, typical: int = 40, empty: bool = True) -> st.SearchStrategy[str]:
    """Empty (when `empty`), typical, emoji-rich and very long strings within `limit` chars."""
    cap = limit if limit is not None else LONG_TEXT
    small = min(typical, cap)
    low = 0 if empty else 1
    long = st.builds(
        lambda c, n: (c * n)[:cap],
        st.sampled_from(["a", "é", "😀", "ab c"]),
        st.integers(max(cap - 8, 1), cap),
    )
    options = [
        st.text(characters(), min_size=low, max_size=small),
        st.text(st.sampled_from(EMOJI + "ab \n"), min_size=low, max_size=small),
        long,
    ]
    return st.one_of(st.just(""), *options) if empty else st.one_of(*options)


@dataclass(frozen=True)
class Limits:
    """What generated values must respect in one design."""

    roles: tuple[str, ...]
    content: int | None
    title: int | None
    empty_content: bool = True  # False when the schema rejects '' (a CHECK, found by probing)

    @classmethod
    def of(cls, design: Design, *, empty_content: bool = True) -> "Limits":
        content = design.col("messages", "content")
        title = design.col("conversations", "title")
        return cls(
            roles=design.roles or DEFAULT_ROLES,
            content=content.max_length if content else None,
            title=title.max_length if title else None,
            empty_content=empty_content,
        )


def roles(limits: Limits) -> st.SearchStrategy[str]:
    allowed: list[str] = list(limits.roles)
    usual = [r for r in allowed if r in ("user", "assistant")] or allowed
    return st.one_of(st.sampled_from(usual), st.sampled_from(allowed))


def messages(limits: Limits) -> st.SearchStrategy[NewMessage]:
    return st.builds(
        NewMessage, roles(limits), text_for(limits.content, empty=limits.empty_content)
    )


def turns(limits: Limits, *, max_messages: int = 4) -> st.SearchStrategy[list[NewMessage]]:
    """One turn: one to `max_messages` messages written in one transaction."""
    return st.lists(messages(limits), min_size=1, max_size=max_messages)


def titles(limits: Limits) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), text_for(limits.title, typical=20))


@dataclass(frozen=True)
class ConversationSpec:
    """A conversation to create: its owner (index into the users) and its turns."""

    owner: int
    title: str | None
    turns: tuple[tuple[NewMessage, ...], ...]


def conversations(
    limits: Limits, *, users: int, max_turns: int = 4
) -> st.SearchStrategy[ConversationSpec]:
    return st.builds(
        ConversationSpec,
        st.integers(0, users - 1),
        titles(limits),
        st.lists(turns(limits).map(tuple), max_size=max_turns).map(tuple),
    )
