"""Cases at the collector: validation, import, revisions, privacy, and the delta the kiosks pull.

Modules: ``record`` (a case and its field rules), ``parsing`` (CSV and JSON into cases),
``storing`` (revisions, hashing, hiding closed cases), ``pull`` (the delta kiosks pull), ``routes``
(the HTTP endpoints). The verifier format and number normalisation are shared with the
kiosk in ``server_sync.wire.cases``.

What the collector keeps: every field of the CSV or the admin API, including the
applicant's full name and the plain verification secret. It needs them: masking
rules or hash costs may change later, and only the plain values can be masked or
hashed again. What leaves it (``GET /api/v1/cases``): the masked name and a salted
scrypt hash of the secret, never the name, the secret, an ID number or a phone
number (validation refuses rows that carry one in any field).

Every change to a case (added, changed, removed, hidden after closing, shown
again) takes the next number of one revision counter; a kiosk asks for the
changes after the last revision it holds.
"""
