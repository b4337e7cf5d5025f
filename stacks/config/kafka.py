"""The Kafka topics the platform creates for the application (crm:platform.kafkaTopics), on MSK and on Strimzi.

The application may read, write and describe these topics and nothing else: it can neither create,
delete nor alter topics (docs/data-stores.md), so every topic it uses is listed here.
"""
from __future__ import annotations

import re

from .reader import Problems, Section

APP_TOPIC_PREFIX = "crm."
DEFAULT_TOPICS = ["crm.scheduled-tasks", "crm.messages"]
# Kafka's legal topic names (letters, digits, '.', '_', '-'; at most 249 characters).
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def parse_topics(problems: Problems, section: Section) -> tuple[list[str], int]:
    """crm:platform.kafkaTopics and crm:platform.kafkaTopicPartitions, checked."""
    topics = section.strings("kafkaTopics", list(DEFAULT_TOPICS))
    partitions = section.integer("kafkaTopicPartitions", 6, minimum=1, maximum=1000)
    for i, topic in enumerate(topics):
        if not _TOPIC.match(topic) or topic in (".", ".."):
            problems.add(f"crm:platform.kafkaTopics[{i}]", f"'{topic}' is not a Kafka topic name (letters, digits, . _ -; at most 249)")
        elif not topic.startswith(APP_TOPIC_PREFIX):
            problems.add(f"crm:platform.kafkaTopics[{i}]", f"'{topic}' must start with '{APP_TOPIC_PREFIX}', the prefix the application's permissions cover")
    if len(set(topics)) != len(topics):
        problems.add("crm:platform.kafkaTopics", "lists a topic twice")
    return topics, partitions
