"""What the operator, the gateway and the runner share: the resource models and CRDs, names,
label keys, conditions, schedules, git safety rules, `filter.conf` and the task-id counter.

It imports none of the three parts (import-linter checks this).
"""
