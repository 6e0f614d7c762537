"""The annual self-evaluation, item by item (the plan's 柒): the year's items and their points
(items.py), the evidence the collector measured for each (evidence.py), each unit's narrative,
attachments and submission (submission.py), and the consolidated document (document.py)."""
