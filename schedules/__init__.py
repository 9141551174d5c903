"""The broadcast programme's timing rules: when a play is staged, when it airs, when it expires.

Pure functions over explicit instants (the clock is always passed in), so the
controller's dispatcher and the tests agree on timing without sleeping. Depends only on
the standard library, pydantic and `protocol` (for the Priority levels), so the agent
could import it too. Modules, importable one by one (this file imports none of them):

* `rules` — the announcement API's "schedule" shapes (once, daily, weekly, monthly, cron);
* `cron` — a small five-field cron parser;
* `occurrences` — a rule expanded into UTC plays with stable keys, DST-safe;
* `priority` — normal < priority < emergency, conflicts, a zone's resolved timeline;
* `staging` — lead and expiry of a "play now" announcement.

See docs/schedules.md.
"""
