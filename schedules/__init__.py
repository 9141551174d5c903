"""The broadcast programme's timing rules: when a play is staged, when it airs, when it expires.

Pure functions over explicit instants (the clock is always passed in), so the
controller's dispatcher and the tests agree on timing without sleeping. Recurrence,
priority and preemption rules grow here (issue 4); the controller imports them, the
agent does not need to.
"""
