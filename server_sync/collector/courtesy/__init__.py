"""Telephone-courtesy tests (電話禮貌測試): the sheet, the tests testers record, their scores."""
