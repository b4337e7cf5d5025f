from __future__ import annotations

import json

import pytest

from components.aws.scheduler import MAX_RECEIVES, ScheduledTasks, ScheduledTasksArgs


@pytest.fixture
def tasks(run_component):
    return run_component(lambda: ScheduledTasks("tasks", ScheduledTasksArgs(kms_key_arn="arn:kms:messaging", tags={})))


def test_schedule_group(tasks):
    assert tasks.one("aws:scheduler/scheduleGroup:ScheduleGroup")["name"] == "tasks"


def test_queue_and_dead_letter_queue_are_encrypted(tasks):
    queues = {q["name"]: q for q in tasks.of_type("aws:sqs/queue:Queue")}
    assert set(queues) == {"tasks-tasks", "tasks-dlq"}
    assert all(q["kmsMasterKeyId"] == "arn:kms:messaging" for q in queues.values())


def test_failed_messages_move_to_the_dead_letter_queue(tasks):
    queue = next(q for q in tasks.of_type("aws:sqs/queue:Queue") if q["name"] == "tasks-tasks")
    dead_letters = next(q for q in tasks.of_type("aws:sqs/queue:Queue") if q["name"] == "tasks-dlq")
    assert json.loads(queue["redrivePolicy"]) == {"deadLetterTargetArn": dead_letters.output("arn"), "maxReceiveCount": MAX_RECEIVES}


def test_scheduler_role_is_assumed_by_eventbridge_scheduler(tasks):
    statement = json.loads(tasks.one("aws:iam/role:Role")["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012"


def test_scheduler_role_is_assumable_only_for_its_schedule_group(tasks):
    group = tasks.one("aws:scheduler/scheduleGroup:ScheduleGroup")
    statement = json.loads(tasks.one("aws:iam/role:Role")["assumeRolePolicy"])["Statement"][0]
    assert statement["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": "123456789012",
            "aws:SourceArn": group.output("arn"),
        }
    }


def test_scheduler_role_may_only_send_to_its_queue(tasks):
    statements = json.loads(tasks.one("aws:iam/rolePolicy:RolePolicy")["policy"])["Statement"]
    queue = next(q for q in tasks.of_type("aws:sqs/queue:Queue") if q["name"] == "tasks-tasks")
    assert statements[0] == {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue.output("arn")}
    assert statements[1]["Resource"] == "arn:kms:messaging" and len(statements) == 2
