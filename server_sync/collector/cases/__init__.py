"""Cases at the collector: validation, import, revisions, privacy, and the delta the kiosks pull.

Modules: ``record`` (a case and its field rules), ``codes`` (code strength and generated
codes), ``parsing`` (CSV and JSON into cases), ``storing`` (revisions, hashing, hiding closed
cases), ``retention`` (purging, no plain codes, wiping what was dropped), ``served`` (which
units' cases a kiosk gets), ``pull`` (the delta kiosks pull), ``routes`` (the HTTP
endpoints). The verifier format and number normalisation are shared with the kiosk in
``server_sync.wire.cases``.

What the collector keeps: every field of the CSV or the admin API but the plain
verification code (only its salted scrypt hash, unless ``cases.keep_plain_codes``), until
the case is purged ``cases.purge_closed_days`` after closing. What leaves it
(``GET /api/v1/cases``): for the cases of the kiosk's own unit, the masked name and the
salted hash, never the name, the code, an ID number or a phone number (validation
refuses rows that carry one in any field).

Every change to a case (added, changed, removed, hidden after closing, shown
again, purged) takes the next number of one revision counter; a kiosk asks for the
changes after the last revision it holds.
"""
