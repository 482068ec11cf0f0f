"""A deterministic prompt cache for engines without one of their own (the scripted model).

Bedrock caches the prefix before each `cachePoint`; a later request whose prefix matches reads it
(`cacheReadInputTokens`) instead of processing it again; a new prefix is written
(`cacheWriteInputTokens`). Entries live for the cache point's TTL (5 minutes by default, 1 hour with
`ttl: "1h"`), refreshed on each hit. Source:
https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from local_stack.bedrock_runtime.prompt import CachePoint


@dataclass(frozen=True)
class CacheUsage:
    read_tokens: int
    write_tokens: int


class PrefixCache:
    """Prefix keys -> token counts, least recently used evicted past `max_entries`."""

    def __init__(self, max_entries: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, float] = OrderedDict()  # key -> expiry time
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()

    def use(
        self,
        points: Sequence[CachePoint],
        tokens_of: Callable[[CachePoint], int],
        lookback: Sequence[CachePoint] = (),
    ) -> CacheUsage:
        """Account one request: the longest cached prefix (at a cache point, or at an earlier
        message end in `lookback`) is read, the rest up to the last cache point written; each cache
        point's prefix is cached from now on (a hit refreshes its TTL)."""
        if not points:
            return CacheUsage(0, 0)
        now = self._clock()
        # Every point is a prefix of one prompt, so the longest prefix has the most tokens: count
        # tokens once for the longest hit and once for the longest point, not for each (counting
        # is linear in the prefix, and a long conversation has a lookback point per message).
        with self._lock:
            longest_hit: CachePoint | None = None
            for point in [*points, *lookback]:
                expiry = self._entries.get(point.key)
                if expiry is not None and expiry > now:
                    if longest_hit is None or len(point.prefix_text) > len(longest_hit.prefix_text):
                        longest_hit = point
                    if point not in points:
                        self._entries[point.key] = now + 300
            read = tokens_of(longest_hit) if longest_hit is not None else 0
            longest = max(points, key=lambda p: len(p.prefix_text))
            written = max(0, tokens_of(longest) - read)
            for point in points:
                self._entries[point.key] = now + point.ttl_seconds
                self._entries.move_to_end(point.key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return CacheUsage(read, written)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
